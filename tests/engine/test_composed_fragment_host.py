"""The generated CUDA update of composed families, compiled as host C++ and run on the
CPU, reproduces the reference update (float64; bit for bit where the dynamics have no
exp): the GPU code's logic is checked in CI, where there is no GPU. The fragment and
cuda/rkf45.cuh are used as the GPU kernel uses them; only CUDA's function qualifiers are
defined away."""

import math
import shutil
import subprocess

import numpy as np
import pytest

from pyNN_neurongpu.engine import Backend, Network
from pyNN_neurongpu.engine.gpu import codegen
from pyNN_neurongpu.engine.gpu.abi import FAMILY_ARGS_STRUCT
from pyNN_neurongpu.engine.gpu.compiler import c_type, read_source
from pyNN_neurongpu.engine.models import MODELS, StepContext, composed_family

CXX = shutil.which("g++")
pytestmark = pytest.mark.skipif(CXX is None, reason="no host C++ compiler")

COMPOSITIONS = {
    "eif-cond-exp": ("adexp", [("excitatory", "cond_exp"), ("inhibitory", "cond_exp")]),
    "adexp-alpha-beta": ("adexp", [("AMPA", "cond_alpha"), ("GABA", "cond_beta")]),
    "lif-cond": ("lif", [("AMPA", "cond_exp"), ("GABA", "cond_alpha"), ("NMDA", "cond_beta")]),
    "lif-curr": ("lif", [("AMPA", "curr_exp"), ("GABA", "curr_exp")]),
    # compositions in other NEST models' order of operations (engine/models/iaf.py)
    "iaf_psc_exp": "iaf_psc_exp",
    "iaf_cond_exp": "iaf_cond_exp",
    "iaf_cond_alpha": "iaf_cond_alpha",
}
N, STEPS, DT = 6, 300, 0.1

STUB = """#pragma once
#include <cmath>
typedef double real;
using std::exp; using std::fabs; using std::fmax; using std::fmin; using std::pow;
#define __device__
#define __forceinline__ inline
"""


# a pooled family's device function (codegen._pooled_function_source) on the host: one
# "thread" (threadIdx.x = 0, blockDim.x = 1) takes every neuron from the pool in turn
POOLED_STUB = """struct Dim { unsigned int x; };
static const Dim threadIdx = {0}, blockDim = {1};
static int atomicAdd(int* p, int v) { const int old = *p; *p += v; return old; }
struct StepArgs {};
#define SPIKE_LIST(args, step) (*(args))
static int* g_spikes;
static void finish_spike(const FamilyArgs&, const StepArgs&, const int i, const int,
                         const int n_spikes, const long long) { g_spikes[i] = n_spikes; }
"""


def _pooled_program(model, fields):
    source = codegen._pooled_function_source(model, fields, "update_pooled")
    sizes = ", ".join(str(np.dtype(d).itemsize) for _, d, _, _ in fields)
    n_ports = len(model.receptors)
    v = [f[0] for f in fields].index("v")
    return "\n".join([
        '#include "neurongpu_common.cuh"', '#include "rkf45.cuh"', "#include <cstdio>",
        "#include <cstdlib>", "#include <vector>", FAMILY_ARGS_STRUCT, POOLED_STUB,
        source,
        f"const int N = {N};",
        "int main(int argc, char** argv) {",
        f"    const int n_fields = {len(fields)}, n_ports = {n_ports}, steps = {STEPS};",
        f"    const int sizes[] = {{{sizes}}};",
        "    FILE* f = fopen(argv[1], \"rb\");",
        "    std::vector<void*> P(n_fields);",
        "    std::vector<unsigned long long> table(n_fields);",
        "    for (int k = 0; k < n_fields; ++k) {",
        "        P[k] = malloc(sizes[k] * N);",
        "        if (fread(P[k], sizes[k], N, f) != (size_t)N) return 1;",
        "        table[k] = (unsigned long long)P[k];",
        "    }",
        "    std::vector<real> in((size_t)steps * n_ports * N), stim((size_t)steps * N);",
        "    if (fread(in.data(), sizeof(real), in.size(), f) != in.size()) return 1;",
        "    if (fread(stim.data(), sizeof(real), stim.size(), f) != stim.size()) return 1;",
        "    fclose(f);",
        "    std::vector<real> ring((size_t)n_ports * N), stim_now(N);",
        "    std::vector<int> gids(N), spikes(N);",
        "    g_spikes = spikes.data();",
        "    FamilyArgs fa = {};",
        "    fa.P = (unsigned long long)table.data();",
        "    fa.n = N;",
        "    fa.ring = (unsigned long long)ring.data();",
        "    fa.n_slots = 1;",
        "    fa.stim = (unsigned long long)stim_now.data();",
        "    fa.gids = (unsigned long long)gids.data();",
        "    const StepArgs args;",
        "    FILE* out = fopen(argv[2], \"wb\");",
        "    for (int s = 0; s < steps; ++s) {",
        "        for (size_t k = 0; k < ring.size(); ++k)",
        "            ring[k] = in[(size_t)s * n_ports * N + k];",
        "        for (int i = 0; i < N; ++i) {",
        "            stim_now[i] = stim[(size_t)s * N + i];",
        "            spikes[i] = 0;",
        "        }",
        "        int pool = blockDim.x;",
        f"        update_pooled(fa, 0, N, s, {DT!r}, 0ull, &args, &pool);",
        "        for (size_t k = 0; k < ring.size(); ++k) if (ring[k] != 0) return 2;  // cleared",
        "        fwrite(spikes.data(), sizeof(int), N, out);",
        f"        fwrite(P[{v}], sizeof(real), N, out);",
        "    }",
        "    fclose(out);",
        "    return 0;",
        "}",
    ])


def _program(model, fields):
    ports = list(model.receptors)
    loads, stores = [], []
    for k, (name, dtype, writable, _) in enumerate(fields):
        c = name.replace(".", "__")
        ctype = c_type(dtype)
        loads.append(f"    {ctype} {c} = (({ctype}*)P[{k}])[i];")
        if writable:
            stores.append(f"    (({ctype}*)P[{k}])[i] = {c};")
    sizes = ", ".join(str(np.dtype(d).itemsize) for _, d, _, _ in fields)
    inputs = [f"    const real in_{p} = in[{j} * N + i];" for j, p in enumerate(ports)]
    return "\n".join([
        '#include "neurongpu_common.cuh"', '#include "rkf45.cuh"', "#include <cstdio>",
        "#include <vector>",
        f"const int N = {N};",
        "static void update(void** P, const int i, const double dt, const real* in,",
        "                   const real stim_now, int* spikes) {",
        *inputs, *loads, "    int n_spikes = 0;", "    {", codegen.fragment_source(model),
        "    }", *stores, "    spikes[i] = n_spikes;", "}",
        "int main(int argc, char** argv) {",
        f"    const int n_fields = {len(fields)}, n_ports = {len(ports)}, steps = {STEPS};",
        f"    const int sizes[] = {{{sizes}}};",
        "    FILE* f = fopen(argv[1], \"rb\");",
        "    std::vector<void*> P(n_fields);",
        "    for (int k = 0; k < n_fields; ++k) {",
        "        P[k] = malloc(sizes[k] * N);",
        "        if (fread(P[k], sizes[k], N, f) != (size_t)N) return 1;",
        "    }",
        "    std::vector<real> in((size_t)steps * n_ports * N), stim((size_t)steps * N);",
        "    if (fread(in.data(), sizeof(real), in.size(), f) != in.size()) return 1;",
        "    if (fread(stim.data(), sizeof(real), stim.size(), f) != stim.size()) return 1;",
        "    fclose(f);",
        "    FILE* out = fopen(argv[2], \"wb\");",
        "    int spikes[N];",
        "    for (int s = 0; s < steps; ++s) {",
        "        for (int i = 0; i < N; ++i)",
        "            update(P.data(), i, " + repr(DT) + ", &in[(size_t)s * n_ports * N],"
        " stim[(size_t)s * N + i], spikes);",
        "        fwrite(spikes, sizeof(int), N, out);",
        "        fwrite(P[" + str([f[0] for f in fields].index("v")) + "], sizeof(real), N, out);",
        "    }",
        "    fclose(out);",
        "    return 0;",
        "}",
    ])


class _Libm:
    """NumPy, with exp and power from the C library (as the compiled fragment uses them;
    NumPy's own may differ in the last bit)."""

    def __getattr__(self, name):
        return getattr(np, name)

    @staticmethod
    def exp(x):
        return np.vectorize(math.exp, otypes=[np.float64])(x)

    @staticmethod
    def power(x, y):
        return np.vectorize(math.pow, otypes=[np.float64])(x, y)


def _random_params(model, rng):
    p = {}
    if model.membrane.name == "adexp":
        p.update(i_offset=rng.uniform(0.2, 0.9, N), tau_refrac=rng.choice([0.0, 0.1, 2.0], N),
                 delta_T=rng.choice([0.0, 0.5, 2.0], N), a=rng.uniform(0, 8, N))
    else:
        p.update(i_offset=rng.uniform(0.5, 1.5, N), tau_refrac=rng.choice([0.0, 0.1, 2.0], N))
    return p


@pytest.mark.parametrize("pooled", [False, True], ids=["fragment", "pooled"])
@pytest.mark.parametrize("case", sorted(COMPOSITIONS))
def test_generated_fragment_matches_reference(case, pooled, tmp_path):
    """The generated update, as the fused kernel's one-neuron-per-thread code and as a
    pooled family's attempt-at-a-time loop, equals the reference update bit for bit."""
    family = COMPOSITIONS[case]
    family = family if isinstance(family, str) else composed_family(*family)
    rng = np.random.default_rng(5)
    net = Network(Backend("cpu", "float64"), dt=DT)
    group = net.add_neurons(family, N, _random_params(MODELS[family], rng)).group
    group.prepare()
    model = group.model
    n_ports = len(model.receptors)
    unit = 0.05 if model.conductance_based else 1.5
    inputs = rng.uniform(0, unit, (STEPS, n_ports, N)) * (rng.random((STEPS, n_ports, N)) < 0.1)
    stim = rng.uniform(-0.2, 0.5, (STEPS, N)) * (rng.random((STEPS, N)) < 0.05)
    fields, arrays = codegen.kernel_fields(np, group)
    data = tmp_path / "in.bin"
    with open(data, "wb") as f:
        for arr in arrays:
            f.write(np.ascontiguousarray(arr).tobytes())
        f.write(inputs.tobytes())
        f.write(stim.tobytes())
    (tmp_path / "neurongpu_common.cuh").write_text(STUB)
    (tmp_path / "rkf45.cuh").write_text(read_source("rkf45.cuh"))
    if pooled and not codegen.pooled(model):
        pytest.skip("not a pooled family")
    program = _pooled_program(model, fields) if pooled else _program(model, fields)
    (tmp_path / "main.cpp").write_text(program)
    exe = tmp_path / "main"
    build = subprocess.run([CXX, "-std=c++17", "-O0", "-ffp-contract=off", "-o", str(exe),
                            str(tmp_path / "main.cpp")], capture_output=True, text=True)
    assert build.returncode == 0, build.stderr
    run = subprocess.run([str(exe), str(data), str(tmp_path / "out.bin")])
    assert run.returncode == 0
    raw = np.fromfile(tmp_path / "out.bin", dtype=np.uint8).reshape(STEPS, -1)
    host_spikes = raw[:, :4 * N].copy().view(np.int32)
    host_v = raw[:, 4 * N:].copy().view(np.float64)

    # the reference, from the same initial state, with the host's libm (AdEx's step
    # control and spike timing amplify last-bit differences)
    ref_spikes, ref_v = [], []
    for s in range(STEPS):
        ctx = StepContext(xp=_Libm(), dt=DT, step=s, params=group.params, derived=group.derived,
                          state=group.state, inputs=inputs[s], i_stim=stim[s])
        ref_spikes.append(np.asarray(model.update(ctx), dtype=np.int32))
        ref_v.append(group.state["v"].copy())
    ref_spikes, ref_v = np.array(ref_spikes), np.array(ref_v)
    assert ref_spikes.sum() > 5
    np.testing.assert_array_equal(host_spikes, ref_spikes)
    np.testing.assert_allclose(host_v, ref_v, rtol=0, atol=1e-9)
    if not model.libm_sensitive:   # no exp in the dynamics: bit for bit
        np.testing.assert_array_equal(host_v, ref_v)
