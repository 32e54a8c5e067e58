"""The vectorised adaptive RKF45 integrator (engine/models/integrators.py)."""

import ctypes
import glob
import importlib.util
import os

import numpy as np
import pytest

from pyNN_neurongpu.engine.backend import Backend
from pyNN_neurongpu.engine.models.integrators import RKF45

DT = 0.1


def cond_alpha_rhs(xp, y, a):
    """iaf_cond_alpha's equations (NEST's units: mV, nS, pF, pA) with y = (V, dg_ex,
    g_ex, dg_in, g_in)."""
    v = xp.minimum(y[0], a["v_th"])
    i_syn = y[2] * (v - 0.0) + y[4] * (v + 80.0)
    f = xp.empty_like(y)
    f[0] = (-a["g_l"] * (v + 70.0) - i_syn + a["i_e"]) / a["c_m"]
    f[1] = -y[1] / a["tau_ex"]
    f[2] = y[1] - y[2] / a["tau_ex"]
    f[3] = -y[3] / a["tau_in"]
    f[4] = y[3] - y[4] / a["tau_in"]
    return f


def random_population(xp, n, seed=1):
    """Parameters and initial states spanning smooth to strongly driven cells."""
    rng = np.random.default_rng(seed)
    args = {"v_th": np.full(n, -55.0), "g_l": rng.uniform(5, 30, n),
            "c_m": rng.uniform(100, 300, n), "i_e": rng.uniform(0, 400, n),
            "tau_ex": rng.uniform(0.1, 3, n), "tau_in": rng.uniform(0.2, 5, n)}
    y0 = np.stack([rng.uniform(-75, -56, n), rng.uniform(0, 3000, n), np.zeros(n),
                   rng.uniform(0, 800, n), np.zeros(n)])
    return {k: xp.asarray(v) for k, v in args.items()}, xp.asarray(y0)


def run_steps(xp, y, args, n_steps, dtype=np.float64):
    integrator = RKF45([1e-3] * 5)
    y = xp.asarray(y, dtype=dtype)
    args = {k: xp.asarray(v, dtype=dtype) for k, v in args.items()}
    h = xp.zeros(y.shape[1], dtype=dtype)
    ys, hs = [], []
    for _ in range(n_steps):
        y, h = integrator.integrate(xp, lambda yy, a: cond_alpha_rhs(xp, yy, a), y, h, DT, args)
        ys.append(y)
        hs.append(h)
    return xp.stack(ys), xp.stack(hs)


# -- against GSL ----------------------------------------------------------------------

class _System(ctypes.Structure):
    _fields_ = [("function", ctypes.c_void_p), ("jacobian", ctypes.c_void_p),
                ("dimension", ctypes.c_size_t), ("params", ctypes.c_void_p)]


def _load_gsl():
    """The GSL library NEST's wheel bundles (what NEST's models integrate with)."""
    spec = importlib.util.find_spec("nest")
    if spec is None or spec.origin is None:
        return None
    importlib.import_module("nest")    # loads the libraries GSL depends on
    libs = os.path.join(os.path.dirname(spec.origin), os.pardir, "nest_simulator.libs")
    gsl = glob.glob(os.path.join(libs, "libgsl-*.so*"))
    cblas = glob.glob(os.path.join(libs, "libgslcblas-*.so*"))
    if not gsl or not cblas:
        return None
    ctypes.CDLL(cblas[0], mode=ctypes.RTLD_GLOBAL)
    lib = ctypes.CDLL(gsl[0])
    lib.gsl_odeiv_step_alloc.restype = ctypes.c_void_p
    lib.gsl_odeiv_step_alloc.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    lib.gsl_odeiv_control_y_new.restype = ctypes.c_void_p
    lib.gsl_odeiv_control_y_new.argtypes = [ctypes.c_double, ctypes.c_double]
    lib.gsl_odeiv_evolve_alloc.restype = ctypes.c_void_p
    lib.gsl_odeiv_evolve_alloc.argtypes = [ctypes.c_size_t]
    lib.gsl_odeiv_evolve_apply.argtypes = [
        ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.POINTER(_System),
        ctypes.POINTER(ctypes.c_double), ctypes.c_double, ctypes.POINTER(ctypes.c_double),
        ctypes.POINTER(ctypes.c_double)]
    return lib


def gsl_run(lib, rhs_one, y0, n_steps):
    """NEST's loop: evolve_apply until the step's end, step size carried over."""
    dim = len(y0)
    func_type = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_double, ctypes.POINTER(ctypes.c_double),
                                 ctypes.POINTER(ctypes.c_double), ctypes.c_void_p)

    def func(t, y, f, params):
        f_arr = np.ctypeslib.as_array(f, (dim,))
        f_arr[:] = rhs_one(np.ctypeslib.as_array(y, (dim,)).copy())
        return 0

    callback = func_type(func)
    system = _System(ctypes.cast(callback, ctypes.c_void_p), None, dim, None)
    stepper = lib.gsl_odeiv_step_alloc(
        ctypes.c_void_p.in_dll(lib, "gsl_odeiv_step_rkf45"), dim)
    control = lib.gsl_odeiv_control_y_new(1e-3, 0.0)
    evolve = lib.gsl_odeiv_evolve_alloc(dim)
    y = (ctypes.c_double * dim)(*y0)
    h = ctypes.c_double(DT)
    ys, hs, n_sub = [], [], 0
    for _ in range(n_steps):
        t = ctypes.c_double(0.0)
        while t.value < DT:
            status = lib.gsl_odeiv_evolve_apply(evolve, control, stepper, ctypes.byref(system),
                                                ctypes.byref(t), DT, ctypes.byref(h), y)
            assert status == 0
            n_sub += 1
        ys.append(list(y))
        hs.append(h.value)
    for free, obj in ((lib.gsl_odeiv_evolve_free, evolve), (lib.gsl_odeiv_control_free, control),
                      (lib.gsl_odeiv_step_free, stepper)):
        free.argtypes = [ctypes.c_void_p]
        free(obj)
    return np.array(ys), np.array(hs), n_sub


def test_matches_gsl_rkf45():
    """Same sub-steps and bitwise the same states as GSL's gsl_odeiv_evolve_apply."""
    lib = _load_gsl()
    if lib is None:
        pytest.skip("NEST's bundled GSL library is not available")
    n, n_steps = 6, 40
    args, y0 = random_population(np, n)
    ys, hs = run_steps(np, y0, args, n_steps)
    total_sub = 0
    for i in range(n):
        own = {k: v[i:i + 1] for k, v in args.items()}
        gsl_y, gsl_h, n_sub = gsl_run(lib, lambda y, a=own: cond_alpha_rhs(np, y[:, None], a)[:, 0],
                                      list(y0[:, i]), n_steps)
        total_sub += n_sub
        np.testing.assert_array_equal(ys[:, :, i], gsl_y)
        # NumPy's vectorised pow may differ from libm's in the last bit; the step
        # sizes then differ by an ulp or so, with no effect on the states above
        np.testing.assert_allclose(hs[:, i], gsl_h, rtol=1e-14)
    assert total_sub > n * n_steps      # some steps needed several sub-steps


# -- on the backend under test ----------------------------------------------------------

def test_neurons_integrate_independently(backend):
    """A neuron's result does not depend on the others in the population (masking and
    shrinking the working set are exact)."""
    xp = Backend(backend).xp
    n = 12
    args, y0 = random_population(xp, n, seed=3)
    ys, hs = run_steps(xp, y0, args, 15)
    for i in (0, 5, 11):
        own = {k: v[i:i + 1] for k, v in args.items()}
        y1, h1 = run_steps(xp, y0[:, i:i + 1], own, 15)
        assert bool(xp.all(ys[:, :, i] == y1[:, :, 0]))
        assert bool(xp.all(hs[:, i] == h1[:, 0]))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_accuracy_and_carried_step_size(backend, dtype):
    """Exponential decays: errors within the tolerance; stiff decays take sub-steps
    smaller than dt, and the step size found is carried to the next step."""
    xp = Backend(backend).xp
    tau = xp.asarray([0.01, 0.05, 1.0, 20.0], dtype=dtype)
    integrator = RKF45([1e-3])
    y = xp.full((1, 4), 50.0, dtype=dtype)
    h = xp.zeros(4, dtype=dtype)
    to_host = Backend(backend).to_host
    for step in range(1, 21):
        y, h = integrator.integrate(xp, lambda yy, a: -yy / a["tau"], y, h, DT, {"tau": tau})
        assert y.dtype == dtype and h.dtype == dtype
        exact = 50.0 * np.exp(-step * DT / to_host(tau).astype(float))
        np.testing.assert_allclose(to_host(y[0]), exact, atol=3e-3)
        if step == 1:
            h_first = to_host(h)
    assert h_first[0] < DT / 2 and h_first[1] < DT   # stiff: several sub-steps per step
    assert h_first[3] > DT                  # smooth: one sub-step, size grown beyond dt
    assert to_host(h)[0] > h_first[0]       # carried over and grown once y has decayed
