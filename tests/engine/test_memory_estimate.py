"""A network that will not fit raises MemoryError with an estimate, before allocating."""

import pytest

from pyNN_neurongpu.engine import memory


def test_estimate_names_bytes_per_synapse(sim):
    pre = sim.Population(100_000, sim.SpikeSourcePoisson(rate=1.0))
    post = sim.Population(100_000, sim.IF_curr_exp())
    with pytest.raises(MemoryError, match=r"10,000,000,000 new synapses x \d+ B") as info:
        sim.Projection(pre, post, sim.AllToAllConnector(), sim.StaticSynapse(weight=0.1))
    assert "free" in str(info.value)
    assert sim.simulator.state.projections == []
    assert sim.simulator.state.network.synapse_groups == []


@pytest.mark.parametrize("connector", ["total", "probability", "number_pre"])
def test_native_connectors_check_before_drawing(sim, connector):
    pre = sim.Population(1_000_000, sim.SpikeSourcePoisson(rate=1.0))
    post = sim.Population(1_000_000, sim.IF_curr_exp())
    rng = sim.NativeRNG(1)
    make = {"total": lambda: sim.FixedTotalNumberConnector(10**13, rng=rng),
            "probability": lambda: sim.FixedProbabilityConnector(0.5, rng=rng),
            "number_pre": lambda: sim.FixedNumberPreConnector(10**7, rng=rng)}[connector]
    with pytest.raises(MemoryError, match="will not fit"):
        sim.Projection(pre, post, make(), sim.StaticSynapse(weight=0.1))
    assert len(sim.simulator.state.network.synapse_groups) == 0


def test_recording_that_cannot_fit(sim):
    cells = sim.Population(1000, sim.IF_curr_exp())
    cells.record("v")
    with pytest.raises(MemoryError, match="recorded samples"):
        sim.run(1e12)
    assert sim.get_current_time() == 0.0


def test_per_synapse_bytes():
    """8 bytes per synapse in the delivery table in float32 (12 in float64), plus what the
    projection keeps (indices, weight, delay)."""
    from pyNN_neurongpu.engine import Backend

    assert memory.synapse_bytes(Backend("cpu", "float32")) == 12 + 4 + 8
    assert memory.synapse_bytes(Backend("cpu", "float64")) == 12 + 8 + 12
