"""CUDA kernels: generation from model declarations, compilation (cupy.RawModule) and
launch code, in one place.

A neuron family's update kernel is generated from its declaration: the kernel loads the
neuron's parameters, derived quantities and state into local variables named as declared,
reads this step's synaptic input per receptor port from the ring buffer, pastes the model's
update fragment from ``cuda/<model>.cu``, stores the state back and appends spikes to the
step's spike list. Nothing here runs on the CPU engine.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

import numpy as np

_HERE = Path(__file__).resolve().parent


def cuda_dir() -> Path:
    """Directory of the CUDA sources: inside the installed package, or the checkout's cuda/."""
    for candidate in (_HERE.parent / "cuda", _HERE.parent.parent / "cuda"):
        if (candidate / "neurongpu_common.cuh").exists():
            return candidate
    raise FileNotFoundError("cannot find the CUDA sources (cuda/neurongpu_common.cuh)")


def read_source(name: str) -> str:
    return (cuda_dir() / name).read_text()


def c_type(dtype) -> str:
    dtype = np.dtype(dtype)
    return {np.dtype(np.float64): "double", np.dtype(np.float32): "float",
            np.dtype(np.int32): "int", np.dtype(np.int64): "long long",
            np.dtype(np.int8): "signed char", np.dtype(np.uint8): "unsigned char",
            np.dtype(np.uint16): "unsigned short", np.dtype(np.bool_): "bool"}[dtype]


# ---------------------------------------------------------------------------------------
# generation

def kernel_fields(xp, group):
    """The per-neuron arrays a family's kernel reads and writes, with their names.

    Returns (fields, arrays): fields are (name, dtype, writable) in pointer-table order:
    parameters, derived quantities (a derived name shadows a parameter of the same
    name), then state. Scalars among the derived quantities are broadcast.
    """
    model = group.model
    n = group.size
    fields, arrays = [], []
    for name in model.parameters:
        if name in model.sequence_parameters or name in group.derived:
            continue
        fields.append((name, group.params[name].dtype, False))
        arrays.append(group.params[name])
    for name, value in group.derived.items():
        arr = xp.ascontiguousarray(xp.broadcast_to(xp.asarray(value), (n,)))
        fields.append((name, arr.dtype, False))
        arrays.append(arr)
    for name, arr in group.state.items():
        fields.append((name, arr.dtype, True))
        arrays.append(arr)
    return fields, arrays


# Per-family launch arguments, read by the fused update kernel from device memory. All
# fields are 8 bytes wide, so the C struct and this NumPy dtype share one layout.
FAMILY_ARGS_FIELDS = ("P", "n", "ring", "n_slots", "stim", "gids", "recorded", "rec_count",
                      "rec_step", "rec_local", "rec_mult", "rec_capacity", "stream",
                      "first_block", "bg_lam", "bg_weight", "bg_port", "bg_delay", "bg_first",
                      "bg_last", "bg_gid", "bg_stream")
_POINTER_FIELDS = {"P", "ring", "stim", "gids", "recorded", "rec_count", "rec_step",
                   "rec_local", "rec_mult", "bg_lam", "bg_weight", "bg_port", "bg_delay",
                   "bg_first", "bg_last", "bg_gid"}
FAMILY_ARGS_DTYPE = np.dtype([(name, np.uint64 if name in _POINTER_FIELDS else np.int64)
                              for name in FAMILY_ARGS_FIELDS])
_FAMILY_ARGS_STRUCT = "struct FamilyArgs {\n" + "".join(
    f"    {'unsigned long long' if name in _POINTER_FIELDS else 'long long'} {name};\n"
    for name in FAMILY_ARGS_FIELDS) + "};"


def family_function_source(model, fields: list[tuple[str, object, bool]], fn_name: str) -> str:
    """A device function that advances neuron `i` of a family `model` by one step.

    `fields` lists (name, dtype, writable) of every per-neuron array the fragment uses, in
    the order of the family's pointer table. The fragment (cuda/<model>.cu) sees its fields
    as local variables, plus `step`, `dt`, `rng` (a RandomSeq for this neuron and step),
    and, for families with receptor ports, `in_<port>` and `stim_now`; it sets `n_spikes`.
    """
    ports = list(model.receptors)
    loads, stores = [], []
    for k, (name, dtype, writable) in enumerate(fields):
        ctype = c_type(dtype)
        qualifier = "" if writable else "const "
        loads.append(f"    {qualifier}{ctype} {name} = (({qualifier}{ctype}*)P[{k}])[i];")
        if writable:
            stores.append(f"    (({ctype}*)P[{k}])[i] = {name};")
    inputs = []
    if ports:
        inputs.append(f"    real* in = (real*)f.ring + (size_t)(step % f.n_slots) * {len(ports)}"
                      " * f.n;")
        for p, port in enumerate(ports):
            inputs.append(f"    real in_{port} = in[(size_t){p} * f.n + i];")
            inputs.append(f"    in[(size_t){p} * f.n + i] = 0;")
        inputs += _background_source(ports)
        inputs.append("    real* stim = (real*)f.stim;")
        inputs.append("    const real stim_now = stim[i];")
        inputs.append("    stim[i] = 0;")
    fragment = read_source(f"{model.name}.cu")
    lines = [
        f"__device__ __forceinline__ void {fn_name}(const FamilyArgs& f, const int i,",
        "    const long long step, const double dt, const unsigned long long seed,",
        "    const StepArgs& step_args)",
        "{",
        "    const unsigned long long* P = (const unsigned long long*)f.P;",
        "    const int* gids = (const int*)f.gids;",
        "    RandomSeq rng(seed, (unsigned int)f.stream, (unsigned int)gids[i],",
        "                  (unsigned long long)step);",
        *inputs,
        *loads,
        "    int n_spikes = 0;",
        "    {",
        fragment,
        "    }",
        *stores,
        "    if (n_spikes > 0) finish_spike(f, step_args, i, gids[i], n_spikes, step);",
        "}",
    ]
    return "\n".join(lines)


def _background_source(ports) -> list[str]:
    """Code adding an absorbed Poisson source's input (FamilyArgs.bg_*; gpu_step.py): the
    count the source would have drawn at emission step ``step - delay``, from the same
    random sequence (its family's stream, its gid, that step), times the weight."""
    cases = " ".join(f"case {p}: in_{port} += add; break;" for p, port in enumerate(ports))
    return [
        "    if (f.bg_lam != 0) {",
        "        const double bg_lam = (double)((const real*)f.bg_lam)[i];",
        "        const long long bg_step = step - ((const int*)f.bg_delay)[i];",
        "        if (bg_lam > 0 && bg_step >= ((const long long*)f.bg_first)[i]",
        "                && bg_step <= ((const long long*)f.bg_last)[i]) {",
        "            RandomSeq bg(seed, (unsigned int)f.bg_stream,",
        "                         (unsigned int)((const int*)f.bg_gid)[i],",
        "                         (unsigned long long)bg_step);",
        "            const int bg_count = poisson_count(bg, bg_lam);",
        "            if (bg_count > 0) {",
        "                const real add = ((const real*)f.bg_weight)[i] * (real)bg_count;",
        f"                switch (((const signed char*)f.bg_port)[i]) {{ {cases} }}",
        "            }",
        "        }",
        "    }",
    ]


STEP_ARGS_FIELDS = ("spk_gid", "spk_mult", "spk_count", "d_offsets", "d_meta", "d_target",
                    "d_weight", "d_delay", "d_port", "d_ring", "d_slots", "d_ports", "d_n",
                    "d_max_degree", "d_tbits", "d_pbits")
_STEP_ARGS_INTS = ("d_slots", "d_ports", "d_n", "d_max_degree", "d_tbits", "d_pbits")
STEP_ARGS_DTYPE = np.dtype([(name, np.int64 if name in _STEP_ARGS_INTS else np.uint64)
                            for name in STEP_ARGS_FIELDS])

FUSED_KERNEL = "update_families"


def _family_functions(families):
    """The per-family device functions and the dispatch on family index `k`."""
    functions, dispatch = [], []
    for k, (model, fields) in enumerate(families):
        fn = f"update_{k}_{model.name}"
        functions.append(family_function_source(model, fields, fn))
        keyword = "if" if k == 0 else "else if"
        dispatch.append(f"    {keyword} (k == {k}) {fn}(f, i, step, dt, seed, a);")
    return functions, dispatch


def _prelude(real: str) -> list[str]:
    return [f"#define NEURONGPU_REAL {real}", '#include "neurongpu_common.cuh"',
            '#include "rkf45.cuh"', _FAMILY_ARGS_STRUCT, '#include "step_args.cuh"']


def fused_update_source(families: list[tuple[object, list]], real: str) -> str:
    """CUDA source of the one kernel that updates every family of a network.

    `families` is a list of (model, fields). Blocks are dealt out to families in order
    (FamilyArgs.first_block); each block updates blockDim.x neurons of its family.
    """
    functions, dispatch = _family_functions(families)
    lines = [
        *_prelude(real),
        *functions,
        f'extern "C" __global__ void {FUSED_KERNEL}(const FamilyArgs* __restrict__ fams,',
        "    const int n_fams, const long long* __restrict__ clock, const double dt,",
        "    const unsigned long long seed, const StepArgs* __restrict__ step_args)",
        "{",
        "    const StepArgs a = *step_args;",
        "    int k = 0;",
        "    while (k + 1 < n_fams && (long long)blockIdx.x >= fams[k + 1].first_block) ++k;",
        "    const FamilyArgs f = fams[k];",
        "    const int i = (int)((blockIdx.x - f.first_block) * blockDim.x + threadIdx.x);",
        "    if (i >= f.n) return;",
        "    const long long step = clock[0];",
        *dispatch,
        "}",
    ]
    return "\n".join(lines)


PERSISTENT_KERNEL = "run_chunk"
# the persistent kernel's per-table and per-sampler records (cuda/persistent.cuh)
PROP_TABLE_DTYPE = np.dtype([(name, np.uint64) for name in
                             ("offsets", "meta", "target", "weight", "delay", "port", "ring")]
                            + [(name, np.int64) for name in
                               ("tbits", "pbits", "n_slots", "n_ports", "n")])
SAMPLER_DTYPE = np.dtype([(name, np.uint64) for name in
                          ("variable", "local", "buffer", "first_row")]
                         + [(name, np.int64) for name in ("n_rec", "interval")])


def persistent_source(families: list[tuple[object, list]], real: str) -> str:
    """CUDA source of the persistent kernel that runs a chunk of whole steps in one launch
    (cuda/persistent.cuh): update phase, grid barrier, sampling and propagation phase, grid
    barrier. Virtual blocks are dealt out to families as in the fused update kernel."""
    functions, dispatch = _family_functions(families)
    lines = [
        *_prelude(real),
        '#include "persistent.cuh"',
        *functions,
        f'extern "C" __global__ void {PERSISTENT_KERNEL}(const FamilyArgs* __restrict__ fams,',
        "    const int n_fams, const long long n_vblocks, long long* __restrict__ clock,",
        "    const double dt, const unsigned long long seed,",
        "    const StepArgs* __restrict__ step_args, const PropTable* __restrict__ tables,",
        "    const int n_tables, const SamplerArgs* __restrict__ samplers,",
        "    const int n_samplers, const int n_steps, unsigned int* __restrict__ bar)",
        "{",
        "    const long long first = clock[0];",
        "    for (int s = 0; s < n_steps; ++s) {",
        "    const long long step = first + s;",
        "    const StepArgs a = step_args[step & 1];",
        "    for (long long vb = blockIdx.x; vb < n_vblocks; vb += gridDim.x) {",
        "    int k = 0;",
        "    while (k + 1 < n_fams && vb >= fams[k + 1].first_block) ++k;",
        "    const FamilyArgs f = fams[k];",
        "    const int i = (int)((vb - f.first_block) * blockDim.x + threadIdx.x);",
        "    if (i < f.n) {",
        *dispatch,
        "    }",
        "    }",
        "    grid_barrier(bar, gridDim.x);",
        "    sample_phase(samplers, n_samplers, step);",
        "    propagate_phase(tables, n_tables, a, step);",
        "    if (blockIdx.x == 0 && threadIdx.x == 0)",
        "        *(int*)step_args[(step + 1) & 1].spk_count = 0;",
        "    grid_barrier(bar, gridDim.x);",
        "    }",
        "    if (blockIdx.x == 0 && threadIdx.x == 0) clock[0] = first + n_steps;",
        "}",
    ]
    return "\n".join(lines)


@functools.cache
def compile_module(source: str):
    """Compile CUDA source with NVRTC (cached per source text)."""
    import cupy
    options = ("-std=c++17", "--fmad=false", f"-I{cuda_dir()}")
    return cupy.RawModule(code=source, options=options)


def static_source(name: str, real: str) -> str:
    return f"#define NEURONGPU_REAL {real}\n" + read_source(name)


# ---------------------------------------------------------------------------------------
# launch helpers

THREADS = 256


def blocks_for(n: int, threads: int = THREADS) -> int:
    return max(1, (n + threads - 1) // threads)


def pointer_table(backend, arrays) -> object:
    """Device array of the raw device pointers of `arrays`."""
    return backend.xp.asarray(np.array([a.data.ptr for a in arrays], dtype=np.uint64))


def env_flag(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.lower() not in ("0", "false", "no", "off")
