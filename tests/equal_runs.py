"""Helpers of the tests that run one network two ways and require the same results."""

import os
import subprocess
import sys

import numpy as np
import pytest


def run_without_numpy_simd(code: str, root, skip_reason: str) -> None:
    """Run `code` in a fresh interpreter from `root` with NumPy's dispatched SIMD loops off
    (its exp, log, pow... are then the C library's, as the compiled steps'); `code` exits
    with 3 to skip the test (`skip_reason`), any other failure fails it."""
    from numpy._core._multiarray_umath import __cpu_dispatch__, __cpu_features__
    env = dict(os.environ, NPY_DISABLE_CPU_FEATURES=" ".join(
        f for f in __cpu_dispatch__ if __cpu_features__.get(f)), PYTHONPATH=str(root))
    proc = subprocess.run([sys.executable, "-c", code], cwd=root, env=env, text=True,
                          capture_output=True, timeout=600)
    if proc.returncode == 3:
        pytest.skip(skip_reason)
    assert proc.returncode == 0, proc.stderr[-3000:]


def assert_same_runs(a, b, atol=0.0, min_spikes=1000):
    """`a` and `b` are (spikes, traces): per population (steps, local indices,
    multiplicities), per recorder (times, values). Spikes must be identical and at least
    `min_spikes` in all; traces equal within `atol`."""
    (spikes_a, traces_a), (spikes_b, traces_b) = a, b
    total = 0
    for (s1, l1, m1), (s2, l2, m2) in zip(spikes_a, spikes_b, strict=True):
        np.testing.assert_array_equal(s1, s2)
        np.testing.assert_array_equal(l1, l2)
        np.testing.assert_array_equal(m1, m2)
        total += s1.size
    assert total > min_spikes
    for (t1, v1), (t2, v2) in zip(traces_a, traces_b, strict=True):
        np.testing.assert_array_equal(t1, t2)
        np.testing.assert_allclose(v1, v2, rtol=0, atol=atol)


def connect_random(net, rng, n_syn, first_post, first_cond, min_delay=1):
    """`n_syn` random synapses from any neuron onto gids `first_post`..., 80% to the
    excitatory receptor; weights in uS onto gids from `first_cond` on (conductance-based),
    else current- or voltage-based; delays `min_delay`..29 steps. Weights are dyadic, so
    sums into a ring slot are exact in any order of the atomic additions."""
    n = net.n_neurons
    pre = rng.integers(0, n, n_syn)
    post = rng.integers(first_post, n, n_syn)
    is_cond = post >= first_cond
    w = np.where(is_cond, rng.uniform(0.0, 0.002, n_syn), rng.uniform(0.0, 0.6, n_syn))
    w = np.round(w * 2**16) / 2**16
    exc = rng.random(n_syn) < 0.8
    delay = rng.integers(min_delay, 30, n_syn)
    net.connect(pre[exc], post[exc], weight=w[exc], delay_steps=delay[exc],
                receptor="excitatory")
    inh = ~exc
    net.connect(pre[inh], post[inh], weight=np.where(is_cond, 2 * w, -2 * w)[inh],
                delay_steps=delay[inh], receptor="inhibitory")
