"""Recorded data as Neo: layout like pyNN.nest's, multiple runs, reset, clear,
record(None), sampling intervals, and writing/reading files through Neo IO."""

import numpy as np
import pytest
import quantities as pq
from neo.io import PickleIO


def build(sim, **setup_kw):
    """Two spike sources driving four IF_curr_exp cells (deterministic)."""
    sim.setup(timestep=0.1, min_delay=0.1, **setup_kw)
    src = sim.Population(2, sim.SpikeSourceArray(spike_times=[[1.0, 5.0, 11.0], [2.0, 30.0]]),
                         label="src")
    cells = sim.Population(4, sim.IF_curr_exp(i_offset=[0.0, 0.5, 1.0, 2.0]), label="cells")
    sim.Projection(src, cells, sim.AllToAllConnector(), sim.StaticSynapse(weight=2.0, delay=1.0))
    cells.record("spikes")
    cells[1:3].record("v")
    src.record("spikes")
    return src, cells


def layout(block, population):
    """Everything about a block except values that depend on the simulator's ids."""
    out = [("block", block.name, sorted((k, v) for k, v in block.annotations.items()
                                        if k not in ("first_id", "last_id", "simulator")))]
    for seg in block.segments:
        out.append(("segment", seg.name, sorted(seg.annotations.items())))
        for sig in seg.analogsignals:
            out.append(("signal", sig.name, sig.shape, str(sig.units), float(sig.t_start),
                        float(sig.t_stop), float(sig.sampling_period),
                        sig.array_annotations["channel_index"].tolist(),
                        population.id_to_index(sig.annotations["channel_ids"]).tolist(),
                        sig.annotations["source_population"]))
        for st in seg.spiketrains:
            out.append(("spiketrain", str(st.units), float(st.t_start), float(st.t_stop),
                        st.magnitude.tolist(), st.annotations["source_index"],
                        population.id_to_index(st.annotations["channel_id"]),
                        st.annotations["source_population"]))
    return out


def session(sim, **setup_kw):
    src, cells = build(sim, **setup_kw)
    sim.run(20.0)
    blocks = [cells.get_data()]
    sim.run(20.0)
    blocks.append(cells.get_data())
    blocks.append(cells[0:2].get_data("v"))
    blocks.append(src.get_data())
    sim.reset(annotations={"trial": 0})
    blocks.append(cells.get_data())
    sim.end()
    return [(layout(b, src if b.name == "src" else cells),
             [s.filter(name="v")[0].magnitude.copy() for s in b.segments
              if s.filter(name="v")]) for b in blocks]


@pytest.mark.nest
def test_neo_layout_and_values_match_nest(sim, nest_sim):
    ours = session(sim, backend=sim.test_backend)
    theirs = session(nest_sim, spike_precision="on_grid", t_flush=100.0)
    assert len(ours) == len(theirs) == 5
    n_spikes = 0
    for (our_layout, our_v), (their_layout, their_v) in zip(ours, theirs):
        assert our_layout == their_layout   # spike times compared bit for bit
        n_spikes += sum(len(item[4]) for item in our_layout if item[0] == "spiketrain")
        for a, b in zip(our_v, their_v):
            np.testing.assert_allclose(a, b, atol=1e-9)
    assert n_spikes > 20


def test_segments_over_runs_and_resets(sim):
    _, cells = build(sim, backend=sim.test_backend)
    for trial in range(3):
        sim.run(10.0)
        sim.run(5.0)
        sim.reset(annotations={"trial": trial})
    block = cells.get_data()
    assert [s.name for s in block.segments] == ["segment000", "segment001", "segment002"]
    assert [s.annotations["trial"] for s in block.segments] == [0, 1, 2]
    first = block.segments[0]
    v = first.filter(name="v")[0]
    assert v.shape == (151, 2)
    assert float(v.t_stop) == pytest.approx(15.1)
    for seg in block.segments[1:]:   # a reset repeats the simulation exactly
        np.testing.assert_array_equal(seg.filter(name="v")[0].magnitude, v.magnitude)
        for a, b in zip(seg.spiketrains, first.spiketrains):
            np.testing.assert_array_equal(a.magnitude, b.magnitude)
            assert a.t_stop == 15.0 * pq.ms


def test_spike_times_are_nest_time_stamps(sim):
    sim.setup(timestep=0.1, backend=sim.test_backend)
    p = sim.Population(1, sim.SpikeSourceArray(spike_times=[8.2, 17.9, 31.9]))
    p.record("spikes")
    sim.run(40.0)
    times = p.get_data().segments[0].spiketrains[0].magnitude
    # NEST: integer tics (1 us) times 0.001 ms
    assert times.tolist() == [82 * 100 * 0.001, 179 * 100 * 0.001, 319 * 100 * 0.001]
    assert sim.get_current_time() == 40.0


def test_clear_starts_a_new_aligned_signal(sim):
    _, cells = build(sim, backend=sim.test_backend)
    sim.run(20.0)
    before = cells.get_data(clear=True).segments[0]
    sim.run(10.0)
    after = cells.get_data().segments[0]
    v_before, v_after = before.filter(name="v")[0], after.filter(name="v")[0]
    assert v_after.t_start == 20.0 * pq.ms
    assert v_after.shape == (101, 2)   # samples at 20.0, 20.1, ..., 30.0
    np.testing.assert_array_equal(v_after.magnitude[0], v_before.magnitude[-1])
    for st in after.spiketrains:
        assert st.t_start == 20.0 * pq.ms and st.t_stop == 30.0 * pq.ms
        assert np.all(st.magnitude > 20.0)
    # spikes before the clear are gone
    assert sum(len(st) for st in after.spiketrains) < sum(
        len(st) for st in cells.get_data().segments[0].spiketrains) + 1


def test_recording_started_mid_run_is_nan_before(sim):
    sim.setup(timestep=0.1, backend=sim.test_backend)
    p = sim.Population(3, sim.IF_curr_exp(i_offset=1.0))
    p[0:1].record("v")
    sim.run(5.0)
    p[2:3].record("v")
    sim.run(5.0)
    v = p.get_data().segments[0].filter(name="v")[0]
    assert v.shape == (101, 2)
    assert v.array_annotations["channel_index"].tolist() == [0, 2]
    assert not np.isnan(v.magnitude[:, 0]).any()
    assert np.isnan(v.magnitude[:50, 1]).all()
    assert not np.isnan(v.magnitude[50:, 1]).any()
    # the two identical cells agree once both are recorded
    np.testing.assert_array_equal(v.magnitude[50:, 0], v.magnitude[50:, 1])


def test_record_none_stops_recording(sim):
    sim.setup(timestep=0.1, backend=sim.test_backend)
    p = sim.Population(5, sim.IF_curr_exp(i_offset=[0.0, 0.0, 0.0, 0.1, 0.2]))
    p[3:4].record(["v", "spikes"])
    sim.run(10.0)
    sim.reset()
    p.record(None)
    p[4:5].record("v")
    sim.run(10.0)
    block = p.get_data()
    seg0, seg1 = block.segments
    assert seg0.analogsignals[0].array_annotations["channel_index"].tolist() == [3]
    assert seg1.analogsignals[0].array_annotations["channel_index"].tolist() == [4]
    assert len(seg0.spiketrains) == 1 and len(seg1.spiketrains) == 0
    assert seg0.analogsignals[0].shape == seg1.analogsignals[0].shape == (101, 1)


def test_sampling_interval(sim):
    sim.setup(timestep=0.1, backend=sim.test_backend)
    p1 = sim.Population(3, sim.IF_curr_exp(i_offset=0.5))
    p2 = sim.Population(2, sim.IF_curr_exp(i_offset=0.5))
    p1.record("v", sampling_interval=1.0)
    p2.record("v")
    sim.run(10.0)
    v1 = p1.get_data().segments[0].analogsignals[0]
    v2 = p2.get_data().segments[0].analogsignals[0]
    assert v1.sampling_period == 1.0 * pq.ms and v1.shape == (11, 3)
    np.testing.assert_array_equal(v1.magnitude[:, 0], v2.magnitude[::10, 0])
    with pytest.raises(ValueError):
        p2.record("spikes", sampling_interval=0.25)


def test_write_data_pickle_roundtrip(sim, tmp_path):
    _, cells = build(sim, backend=sim.test_backend)
    sim.run(25.0)
    filename = str(tmp_path / "cells.pkl")
    cells.write_data(filename, annotations={"experiment": "roundtrip"})
    expected = cells.get_data()
    expected.annotate(experiment="roundtrip")
    block = PickleIO(filename).read_block()
    assert block.annotations["experiment"] == "roundtrip"
    assert layout(block, cells) == layout(expected, cells)
    np.testing.assert_array_equal(block.segments[0].analogsignals[0].magnitude,
                                  expected.segments[0].analogsignals[0].magnitude)


def test_procedural_record_writes_on_end(sim, tmp_path):
    sim.setup(timestep=0.1, backend=sim.test_backend)
    cells = sim.Population(2, sim.IF_curr_exp(i_offset=[0.0, 2.0]))
    filename = str(tmp_path / "proc.pkl")
    sim.record(["spikes", "v"], cells, filename, annotations={"script_name": "x"})
    sim.run(20.0)
    assert not (tmp_path / "proc.pkl").exists()
    sim.end()
    block = PickleIO(filename).read_block()
    seg = block.segments[0]
    assert block.annotations["script_name"] == "x"
    assert seg.analogsignals[0].shape == (201, 2)
    assert len(seg.spiketrains[0]) == 0 and len(seg.spiketrains[1]) > 0


def test_nixio_roundtrip(sim, tmp_path):
    pytest.importorskip("nixio")
    from neo.io import NixIO
    _, cells = build(sim, backend=sim.test_backend)
    sim.run(25.0)
    sim.reset()
    sim.run(10.0)
    filename = str(tmp_path / "cells.nix")
    cells.write_data(NixIO(filename, mode="ow"))
    expected = cells.get_data()
    io = NixIO(filename, mode="ro")
    try:
        block = io.read_block()
    finally:
        io.close()
    assert [s.name for s in block.segments] == ["segment000", "segment001"]
    for seg, exp in zip(block.segments, expected.segments):
        assert len(seg.spiketrains) == len(exp.spiketrains)
        for st, st_exp in zip(seg.spiketrains, exp.spiketrains):
            np.testing.assert_array_equal(st.magnitude, st_exp.magnitude)
            assert st.annotations["source_index"] == st_exp.annotations["source_index"]
        sig, sig_exp = seg.analogsignals[0], exp.analogsignals[0]
        assert sig.name == "v" and sig.units == sig_exp.units
        assert sig.t_start == sig_exp.t_start
        np.testing.assert_array_equal(sig.magnitude, sig_exp.magnitude)
        np.testing.assert_array_equal(sig.array_annotations["channel_index"],
                                      sig_exp.array_annotations["channel_index"])


def test_run_zero_records_the_initial_values(sim):
    """run(0) samples the state at t = 0 (the initial values), and a later run goes on
    from there without sampling t = 0 twice."""
    cells = sim.Population(2, sim.IF_curr_exp(i_offset=0.5), initial_values={"v": -60.0})
    cells.record("v")
    sim.run(0.0)
    v = cells.get_data().segments[0].filter(name="v")[0]
    assert v.shape == (1, 2) and np.all(v.magnitude == -60.0)
    sim.run(0.3)
    v = cells.get_data().segments[0].filter(name="v")[0]
    assert v.shape == (4, 2) and np.all(v.magnitude[0] == -60.0)
    assert np.all(np.diff(v.magnitude[:, 0]) > 0)
