"""PyNN's procedural API: create, connect, set, initialize, record, record_v."""

import warnings

import numpy as np
from neo.io import PickleIO


def test_procedural_network(sim, tmp_path):
    sim.setup(timestep=0.1, min_delay=0.1, backend=sim.test_backend)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)   # PyNN deprecates these
        src = sim.create(sim.SpikeSourceArray(spike_times=[2.0, 4.0, 6.0]), n=2)
        cells = sim.create(sim.IF_curr_exp(), n=3)
        prj = sim.connect(src, cells, weight=2.5, delay=0.5, p=1.0)
        sim.set(cells[1:2], tau_m=5.0)
        sim.initialize(cells, v=-65.0)
        sim.record(["spikes"], cells, str(tmp_path / "spikes.pkl"))
        sim.record_v(cells[0:1], str(tmp_path / "v.pkl"))
    assert len(prj) == 6 and set(prj.get("weight", format="list", with_address=False)) == {2.5}
    np.testing.assert_array_equal(cells.get("tau_m"), [20.0, 5.0, 20.0])
    sim.run(20.0)
    sim.end()
    v = PickleIO(str(tmp_path / "v.pkl")).read_block().segments[0].analogsignals[0]
    assert v.shape == (201, 1) and v.magnitude[0, 0] == -65.0
    # two sources x 2.5 nA arrive 0.5 ms after each spike
    assert v.magnitude[25, 0] == -65.0 and v.magnitude[27, 0] > -65.0
    trains = PickleIO(str(tmp_path / "spikes.pkl")).read_block().segments[0].spiketrains
    assert [st.annotations["source_index"] for st in trains] == [0, 1, 2]
