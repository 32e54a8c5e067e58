"""Fixtures shared by the engine tests."""

import pytest

from pyNN_neurongpu.engine import cpu


@pytest.fixture
def compiled_only(monkeypatch):
    """The compiled networks must run every step on the compiled step."""
    from pyNN_neurongpu.engine import network
    ran = []
    original = cpu.CpuStep.run
    monkeypatch.setattr(cpu.CpuStep, "run", lambda self, n: ran.append(n) or original(self, n))
    reference = network.run_reference

    def guarded(net, groups, n_steps):
        assert net.backend.cpu_engine == "reference", "the compiled network fell back"
        return reference(net, groups, n_steps)
    monkeypatch.setattr(network, "run_reference", guarded)
    return ran
