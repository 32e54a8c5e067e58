"""IF_curr_exp against pyNN.nest (iaf_psc_exp), spike for spike."""

import numpy as np
import pytest

pytestmark = pytest.mark.nest


def build_and_run(sim, backend_kw):
    sim.setup(timestep=0.1, min_delay=0.1, **backend_kw)
    exc = sim.Population(1, sim.SpikeSourceArray(spike_times=[1.0, 5.0, 5.3, 10.0, 12.0, 30.0]))
    inh = sim.Population(1, sim.SpikeSourceArray(spike_times=[3.0, 7.0, 20.0, 21.0]))
    cells = sim.Population(3, sim.IF_curr_exp(i_offset=[0.0, 0.8, 0.3], tau_refrac=2.0,
                                              tau_syn_E=3.0, tau_syn_I=10.0,
                                              tau_m=[10.0, 20.0, 3.0]))
    sim.Projection(exc, cells, sim.AllToAllConnector(), sim.StaticSynapse(weight=3.0, delay=1.0))
    sim.Projection(inh, cells, sim.AllToAllConnector(), sim.StaticSynapse(weight=-1.0, delay=2.0),
                   receptor_type="inhibitory")
    cells.record(["spikes", "v"])
    sim.run(60.0)
    seg = cells.get_data().segments[0]
    spikes = [st.times.magnitude.copy() for st in seg.spiketrains]
    v = seg.filter(name="v")[0].magnitude.copy()
    return spikes, v


def test_iaf_psc_exp_matches_nest(sim, nest_sim):
    ours = build_and_run(sim, {"backend": sim.test_backend})
    theirs = build_and_run(nest_sim, {"spike_precision": "on_grid"})
    assert sum(len(s) for s in theirs[0]) > 0
    for a, b in zip(ours[0], theirs[0]):
        np.testing.assert_allclose(a, b, atol=1e-9)
    assert ours[1].shape == theirs[1].shape
    np.testing.assert_allclose(ours[1], theirs[1], atol=1e-6)
