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


def neuron_kernel_source(model, fields: list[tuple[str, object, bool]], real: str) -> str:
    """CUDA source of the update kernel of `model`.

    `fields` lists (name, dtype, writable) of every per-neuron array the fragment uses, in
    the order of the pointer table passed at launch. The fragment sees its fields as local
    variables, plus `step`, `dt`, `rng` (a RandomSeq for this neuron and step), and, for
    families with receptor ports, `in_<port>` and `stim_now`; it sets `n_spikes`.
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
        inputs.append(f"    real* in = ring + (size_t)(step % n_slots) * {len(ports)} * n;")
        for p, port in enumerate(ports):
            inputs.append(f"    const real in_{port} = in[(size_t){p} * n + i];")
            inputs.append(f"    in[(size_t){p} * n + i] = 0;")
        inputs.append("    const real stim_now = stim[i];")
        inputs.append("    stim[i] = 0;")
    fragment = read_source(f"{model.name}.cu")
    lines = [
        f"#define NEURONGPU_REAL {real}",
        '#include "neurongpu_common.cuh"',
        '#include "rkf45.cuh"',
        f'extern "C" __global__ void {model.kernel}(',
        "    const unsigned long long* __restrict__ P, const int n,",
        "    const long long* __restrict__ clock, const double dt,",
        "    const unsigned long long seed, const unsigned int stream,",
        "    real* __restrict__ ring, const int n_slots, real* __restrict__ stim,",
        "    const int* __restrict__ gids,",
        "    int* __restrict__ spk_gid, int* __restrict__ spk_mult, int* __restrict__ spk_count,",
        "    const unsigned char* __restrict__ recorded, int* __restrict__ rec_count,",
        "    int* __restrict__ rec_step, int* __restrict__ rec_local, int* __restrict__ rec_mult,",
        "    const int rec_capacity,",
        "    const long long* __restrict__ d_offsets, const int* __restrict__ d_target,",
        "    const real* __restrict__ d_weight, const int* __restrict__ d_delay,",
        "    const signed char* __restrict__ d_port, real* __restrict__ d_ring,",
        "    const int d_slots, const int d_ports, const int d_n, const int d_max_degree)",
        "{",
        "    const int i = blockIdx.x * blockDim.x + threadIdx.x;",
        "    if (i >= n) return;",
        "    const long long step = clock[0];",
        "    RandomSeq rng(seed, stream, (unsigned int)gids[i], (unsigned long long)step);",
        *inputs,
        *loads,
        "    int n_spikes = 0;",
        "    {",
        fragment,
        "    }",
        *stores,
        "    if (n_spikes > 0) {",
        "        if (!deliver_direct(gids[i], n_spikes, step, d_offsets, d_target, d_weight,",
        "                            d_delay, d_port, d_ring, d_slots, d_ports, d_n,",
        "                            d_max_degree))",
        "            emit_spike(spk_gid, spk_mult, spk_count, gids[i], n_spikes);",
        "        if (recorded[i]) record_spike(rec_count, rec_step, rec_local, rec_mult,",
        "                                      rec_capacity, step, i, n_spikes);",
        "    }",
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
