"""The compiled CPU engine's source: the GPU's generated per-family device functions
(engine/gpu/codegen.py, from the same model declarations and cuda/<family>.cu fragments),
its plastic synapses' kernels (cuda/plastic_synapses.cu) and its procedural delivery
(cuda/procedural.cu), compiled as host C++ around the loop over a chunk of steps in
cuda/host_step.h.

Nothing here restates a model: a family's fields come from ``kernel_fields``, its update
from ``family_function_source``, its checked state from ``numerics.checked_variables``.
A fragment's ``rng`` is cuda/host_step.h's HostRandom: it hands out what the model's
``draws`` took from the reference's NumPy stream for the block, in the reference's order.
"""

from __future__ import annotations

import functools

import numpy as np

from ..gpu import codegen
from ..gpu.abi import FAMILY_ARGS_STRUCT
from ..gpu.compiler import c_type
from ..numerics import checked_variables

# a fragment's draws on the host: the numbers array code drew from the reference's stream
HOST_RNG = "    HostRandom rng(step_args_->draws, i);"


def host_fields(group):
    """A family's fields (name, dtype, writable, uniform) and arrays, in the GPU kernel's
    pointer-table order; no field is baked in as uniform, so the source depends only on
    the families and dtypes of a network (one compiled library serves many networks)."""
    fields, arrays = codegen.kernel_fields(np, group)
    return [(name, dtype, writable, False) for name, dtype, writable, _ in fields], arrays


def _check_function(k: int, model, fields) -> str:
    """check_family's case for family k: every checked state variable finite and within
    its model's bounds (numerics.check, per neuron)."""
    names = [f[0] for f in fields]
    lines = []
    for name, lo, hi in checked_variables(model):
        p = names.index(name)
        ctype = c_type(fields[p][1])
        cond = ["std::isfinite((double)x)"]
        if lo > -np.inf:
            cond.append(f"x >= {float(lo)!r}")
        if hi < np.inf:
            cond.append(f"x <= {float(hi)!r}")
        lines += [f"        {{ const {ctype}* a = (const {ctype}*)P[{p}];",
                  "          for (long long i = 0; i < f.n; ++i) { const double x = a[i];",
                  f"              if (!({' && '.join(cond)})) return false; }} }}"]
    return "\n".join([f"    case {k}: {{", *lines, "        return true; }"])


@functools.lru_cache(maxsize=64)   # a script's many short runs generate one source
def library_source(families: tuple, real: str) -> str:
    """C++ source of the library that runs a network whose families are `families`, a tuple
    of (model, fields or None for a family whose spikes are drawn in array code)."""
    functions, updates, checks = [], [], []
    for k, (model, fields) in enumerate(families):
        if fields is None:
            continue
        fn = f"update_{k}_{model.name}"
        functions.append(codegen.family_function_source(model, fields, fn, HOST_RNG))
        updates.append(f"    case {k}: for (int i = 0; i < (int)f.n; ++i) "
                       f"{fn}(f, i, step, dt, 0ull, a); break;")
        checks.append(_check_function(k, model, fields))
    lines = [
        f"#define NEURONGPU_REAL {real}",
        "#define NEURONGPU_FAST_RK false",  # the reference engine's arithmetic
        '#include "host_prelude.h"',
        '#include "neurongpu_common.cuh"',
        '#include "rkf45.cuh"',
        '#include "plastic_synapses.cu"',
        '#include "procedural.cu"',
        FAMILY_ARGS_STRUCT,
        '#include "host_step.h"',
        *functions,
        "static void update_family(int k, const FamilyArgs& f, long long step, double dt,",
        "                          const StepArgs* a)",
        "{",
        "    switch (k) {",
        *updates,
        "    default: break;",
        "    }",
        "}",
        "static bool check_family(int k, const FamilyArgs& f)",
        "{",
        "    const unsigned long long* P = (const unsigned long long*)f.P;",
        "    (void)P;",
        "    switch (k) {",
        *checks,
        "    default: return true;",
        "    }",
        "}",
    ]
    return "\n".join(lines) + "\n"
