"""IF_curr_exp, IF_cond_exp and IF_cond_alpha (families iaf_psc_exp, iaf_cond_exp,
iaf_cond_alpha) reproduce, bit for bit, the spikes and float64/float32 traces recorded in
tests/data/iaf_reference.json from their earlier hand-written models: DC, step current,
excitatory and inhibitory spike input (coincident spikes, a multiplicity of 2, several
delays), refractory periods of 0, one step, a non-multiple of the step and long, the
propagators' singular case (tau_syn == tau_m), strong conductance input (rejected RKF45
sub-steps) and the defaults, on the reference step and on the compiled CPU step.

Traces are compared by SHA-256 of their bytes, per step (the compiled step's RKF45 control
takes the C library's pow, the reference NumPy's: their conductance traces differ in the
last bits). The propagators come from NumPy's exp and expm1: where these or pow round
differently than on the machine that recorded the data (the probe below), the test is
skipped.

Record anew (only with the models whose results these are): python -m
tests.engine.test_iaf_reference
"""

import ctypes
import ctypes.util
import hashlib
import json
import pathlib
import shutil

import numpy as np
import pytest

from pyNN_neurongpu.engine import Backend, Network, PiecewiseConstantCurrent
from pyNN_neurongpu.engine.models import MODELS

DATA = pathlib.Path(__file__).parent.parent / "data" / "iaf_reference.json"

VARIED = dict(i_offset=[0.0, 0.9, 0.3, 0.0, 1.2, 0.5], tau_refrac=[2.0, 0.1, 5.0, 0.25, 0.0, 1.0],
              tau_m=[10.0, 20.0, 10.0, 10.0, 20.0, 7.0], cm=[1.0, 0.5, 1.0, 0.25, 1.0, 0.8],
              v_reset=[-70.0, -65.0, -60.0, -65.0, -65.0, -68.0],
              v_thresh=[-50.0, -50.0, -52.0, -50.0, -48.0, -55.0])
CURRENT_SYN = dict(tau_syn_E=[0.5, 3.0, 10.0, 10.0 + 1e-9, 2.0, 7.0],
                   tau_syn_I=[2.0, 10.0, 1.0, 10.0, 20.0, 7.0])
COND_SYN = dict(tau_syn_E=[0.5, 3.0, 0.2, 10.0, 2.0, 1.0],
                tau_syn_I=[2.0, 10.0, 1.0, 10.0, 20.0, 5.0],
                e_rev_E=[0.0, 0.0, 10.0, 0.0, -5.0, 0.0],
                e_rev_I=[-70.0, -75.0, -80.0, -70.0, -70.0, -90.0])
# the defaults but for the DC
DC = dict(i_offset=[0.0, 0.2, 0.5, 0.8, 1.0, 1.5])
# (family, precision, dt, steps, parameters, (excitatory, inhibitory) weight)
CASES = {
    "psc_exp-varied": ("iaf_psc_exp", "float64", 0.1, 600, dict(VARIED, **CURRENT_SYN),
                       (2.0, -1.0)),
    "psc_exp-varied-float32": ("iaf_psc_exp", "float32", 0.1, 600,
                               dict(VARIED, **CURRENT_SYN), (2.0, -1.0)),
    "psc_exp-defaults-dt0.05": ("iaf_psc_exp", "float64", 0.05, 800, DC, (1.5, -0.7)),
    "cond_exp-varied": ("iaf_cond_exp", "float64", 0.1, 600, dict(VARIED, **COND_SYN),
                        (0.15, 0.1)),
    "cond_exp-varied-float32": ("iaf_cond_exp", "float32", 0.1, 600,
                                dict(VARIED, **COND_SYN), (0.15, 0.1)),
    "cond_exp-strong": ("iaf_cond_exp", "float64", 0.1, 600, dict(VARIED, **COND_SYN),
                        (1.5, 2.0)),
    "cond_exp-defaults-dt0.05": ("iaf_cond_exp", "float64", 0.05, 800, DC, (0.02, 0.05)),
    "cond_alpha-varied": ("iaf_cond_alpha", "float64", 0.1, 600, dict(VARIED, **COND_SYN),
                          (0.12, 0.08)),
    "cond_alpha-varied-float32": ("iaf_cond_alpha", "float32", 0.1, 600,
                                  dict(VARIED, **COND_SYN), (0.12, 0.08)),
    "cond_alpha-strong": ("iaf_cond_alpha", "float64", 0.1, 600, dict(VARIED, **COND_SYN),
                          (1.0, 2.0)),
    "cond_alpha-defaults-dt0.05": ("iaf_cond_alpha", "float64", 0.05, 800, DC,
                                   (0.02, 0.05)),
}
EXC_TIMES = [[1.0, 5.0, 5.3, 10.0, 10.02, 10.07, 12.0, 12.0, 30.0, 30.1, 30.2, 30.3, 45.0],
             [5.0, 9.0, 10.0, 22.0, 31.0, 31.05, 50.0]]
INH_TIMES = [[3.0, 5.0, 7.0, 20.0, 20.04, 21.0, 40.0, 52.0]]


def run_case(name, engine="cpu"):
    """Spike events (steps, local, counts) and {variable: samples} of one case."""
    family, precision, dt, n_steps, params, (w_exc, w_inh) = CASES[name]
    net = Network(Backend(engine, precision, seed=1), dt=dt)
    exc = net.add_neurons("spike_source_array", 2, {"spike_times": EXC_TIMES})
    inh = net.add_neurons("spike_source_array", 1, {"spike_times": INH_TIMES})
    n = 6
    cells = net.add_neurons(family, n, params)
    for pre, port, weight, delay in ((exc, "excitatory", w_exc, 10),
                                     (exc, "excitatory", 0.5 * w_exc, 23),
                                     (inh, "inhibitory", w_inh, 1),
                                     (exc, "inhibitory", 0.7 * w_inh, 10)):
        if MODELS[family].conductance_based:
            weight = abs(weight)
        net.connect(np.repeat(pre.gids, n), np.tile(cells.gids, pre.gids.size), weight,
                    delay, port)
    net.add_stimulus(PiecewiseConstantCurrent([50, 200, 350], [0.8, -0.3, 0.4],
                                              targets=cells.gids[::2]))
    net.record_spikes(cells.group, cells.local)
    recorders = {v: net.record_state(cells.group, v, cells.local)
                 for v in MODELS[family].recordable if v != "spikes"}
    net.run(n_steps)
    return (cells.group.spike_recorder.events(),
            {v: r.data()[1] for v, r in recorders.items()})


def digest(values) -> str:
    return hashlib.sha256(np.ascontiguousarray(values).tobytes()).hexdigest()


def probe() -> str:
    """What the propagators and the step control take from NumPy's and the C library's
    exp, expm1 and pow (the compiled step's)."""
    x = np.linspace(-3.0, -1e-4, 4097)
    libm = ctypes.CDLL(ctypes.util.find_library("m"))
    libm.pow.restype, libm.pow.argtypes = ctypes.c_double, (ctypes.c_double, ctypes.c_double)
    c_pow = [libm.pow(float(a), e) for e in (0.2, 1 / 6) for a in -x]
    return digest(np.concatenate([np.exp(x), np.expm1(-x), np.power(-x, 0.2),
                                  np.power(-x, 1 / 6), c_pow]))


def summary(result) -> tuple[list, dict]:
    (steps, local, counts), traces = result
    return ([[int(s), int(i), int(c)] for s, i, c in zip(steps, local, counts)],
            {v: digest(values) for v, values in traces.items()})


ENGINES = ["cpu", pytest.param("cpu-compiled", marks=pytest.mark.skipif(
    shutil.which("g++") is None, reason="no host C++ compiler"))]


@pytest.fixture(scope="module")
def reference():
    data = json.loads(DATA.read_text())
    if data["probe"] != probe():
        pytest.skip("exp, expm1 or pow round differently here than where the reference "
                    "was recorded")
    return data["cases"]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("case", sorted(CASES))
def test_reproduces_the_recorded_results(reference, case, engine):
    spikes, traces = summary(run_case(case, engine))
    assert len(reference[case]["spikes"]) > 3
    assert spikes == reference[case]["spikes"]
    assert traces == reference[case]["traces"][engine]


if __name__ == "__main__":
    lines = [f'{{"probe": "{probe()}", "cases": {{']
    for k, case in enumerate(sorted(CASES)):
        results = {engine: summary(run_case(case, engine)) for engine in ("cpu", "cpu-compiled")}
        assert results["cpu"][0] == results["cpu-compiled"][0], case
        entry = {"spikes": results["cpu"][0],
                 "traces": {engine: r[1] for engine, r in results.items()}}
        lines.append(f'"{case}": {json.dumps(entry)}' + ("," if k + 1 < len(CASES) else ""))
    DATA.write_text("\n".join(lines + ["}}"]) + "\n")
    print(f"wrote {DATA}")
