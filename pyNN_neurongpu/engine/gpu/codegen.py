"""Generation of the fused update kernel from the model declarations.

A neuron family's update is generated from its declaration: the kernel loads the neuron's
parameters, derived quantities and state into local variables named as declared, reads
this step's synaptic input per receptor port from the ring buffer, pastes the model's
update fragment (``fragment()``, or ``cuda/<model>.cu``), stores the state back and
appends spikes to the step's spike list. One kernel updates every family of a network.
"""

from __future__ import annotations

from ..models.composed import ComposedNeuron
from ..options import OPTIONS
from . import composed
from .abi import FAMILY_ARGS_STRUCT
from .compiler import THREADS, c_type, read_source


def kernel_fields(xp, group):
    """The per-neuron arrays a family's kernel reads and writes, with their names.

    Returns (fields, arrays): fields are (name, dtype, writable, uniform) in pointer-table
    order: parameters, derived quantities (a derived name shadows a parameter of the same
    name), then state. Scalars among the derived quantities are broadcast. `uniform`
    marks a read-only array with one value for the whole family: the kernel reads its
    first element (one cached load per warp instead of a stream through memory).
    """
    model = group.model
    n = group.size
    fields, arrays = [], []
    for name in model.parameters:
        if name in model.sequence_parameters or name in group.derived:
            continue
        arr = group.params[name]
        fields.append((name, arr.dtype, False, _uniform(xp, arr)))
        arrays.append(arr)
    for name, value in group.derived.items():
        arr = xp.ascontiguousarray(xp.broadcast_to(xp.asarray(value), (n,)))
        fields.append((name, arr.dtype, False, _uniform(xp, arr)))
        arrays.append(arr)
    for name, arr in group.state.items():
        fields.append((name, arr.dtype, True, False))
        arrays.append(arr)
    return fields, arrays


def _uniform(xp, arr) -> bool:
    """True if every element equals the first (NaN never does)."""
    return arr.ndim == 1 and arr.shape[0] > 0 and bool(xp.all(arr == arr[0]))


def fragment_source(model) -> str:
    """A family's update fragment: generated from a composed family's declaration
    (engine/gpu/composed.py), else read from cuda/<model>.cu."""
    if isinstance(model, ComposedNeuron):
        return composed.fragment(model)
    return read_source(f"{model.name}.cu")


def fragment_parts(model) -> dict[str, str] | None:
    """A composed family's update in pieces, one RKF45 attempt at a time (None for
    families integrated exactly, and for the others)."""
    return composed.fragment_parts(model) if isinstance(model, ComposedNeuron) else None


def _field_pointer(k: int, name: str, dtype, writable: bool):
    """A field's C name (per-receptor names such as AMPA.gsyn as identifiers), C type,
    const qualifier, and the declaration of its pointer _p<k> from the table P."""
    ctype = c_type(dtype)
    qualifier = "" if writable else "const "
    return (name.replace(".", "__"), ctype, qualifier,
            f"    {qualifier}{ctype}* const _p{k} = ({qualifier}{ctype}*)P[{k}];")


GPU_RNG = ("    RandomSeq rng(seed, (unsigned int)f.stream, (unsigned int)gid,\n"
           "                  (unsigned long long)step);")


def family_function_source(model, fields: list[tuple[str, object, bool, bool]],
                           fn_name: str, rng: str = GPU_RNG) -> str:
    """A device function that advances neuron `i` of a family `model` by one step.

    `fields` lists (name, dtype, writable, uniform) of every per-neuron array the
    fragment uses, in the order of the family's pointer table (see kernel_fields). The
    fragment (cuda/<model>.cu) sees its fields as local variables, plus `step`, `dt`,
    `rng` (declared by `rng`: by default a RandomSeq for this neuron and step), and, for
    families with receptor ports, `in_<port>` and `stim_now`; it sets `n_spikes`.
    """
    ports = list(model.receptors)
    pointers, loads, stores = [], [], []
    for k, (name, dtype, writable, uniform) in enumerate(fields):
        name, ctype, qualifier, pointer = _field_pointer(k, name, dtype, writable)
        index = "0" if uniform else "i"
        pointers.append(pointer)
        loads.append(f"    {qualifier}{ctype} {name} = _p{k}[{index}];")
        if writable:
            stores.append(f"    _p{k}[i] = {name};")
    inputs, clears = [], []
    if ports:
        inputs.append(f"    real* in = (real*)f.ring + (size_t)(step % f.n_slots) * {len(ports)}"
                      " * f.n;")
        for p, port in enumerate(ports):
            inputs.append(f"    real in_{port} = in[(size_t){p} * f.n + i];")
            clears.append(f"    in[(size_t){p} * f.n + i] = 0;")
        inputs.append("    real* stim = (real*)f.stim;")
        inputs.append("    const real stim_now = stim[i];")
        clears.append("    stim[i] = 0;")
    fragment = fragment_source(model)
    # Every load comes before the first store, so the compiler may issue them all at once
    # (a store could alias any later load); the slot of the ring buffer read in this step
    # is cleared at the end (direct delivery never writes to it: delays are >= 1 step).
    lines = [
        f"__device__ __forceinline__ void {fn_name}(const FamilyArgs& f, const int i,",
        "    const long long step, const double dt, const unsigned long long seed,",
        # not `a`: a model may have a parameter a
        "    const StepArgs* __restrict__ step_args_)",
        "{",
        "    const unsigned long long* P = (const unsigned long long*)f.P;",
        *pointers,
        *loads,
        *inputs,
        "    const int gid = ((const int*)f.gids)[i];",
        rng,
        "    int n_spikes = 0;",
        "    {",
        fragment,
        "    }",
        *stores,
        *clears,
        "    if (n_spikes > 0)",
        "        finish_spike(f, SPIKE_LIST(step_args_, step), i, gid, n_spikes, step);",
        "}",
    ]
    return "\n".join(lines)


# Families integrated in RKF45 sub-steps (fragment_parts) are "pooled": the threads of a
# block share a pool of per_block neurons and step one attempted sub-step at a time, each
# taking the pool's next neuron as soon as its own has finished the time step. Neurons
# need different numbers of attempts (AdEx: 4 for most, 10 and more near a spike), and a
# warp of one neuron per thread runs as long as its slowest neuron (docs/performance.md);
# OPTIONS.pool off gives every thread one neuron.


def pooled(model) -> bool:
    """True if the family's kernel steps neurons from a block-wide pool (OPTIONS.pool,
    and the family's ``pool``)."""
    return OPTIONS.pool and fragment_parts(model) is not None and model.pool


def _pooled_function_source(model, fields, fn_name: str) -> str:
    """As family_function_source, for a pooled family: the device function advances the
    neurons first..end-1 with the block's other threads, one attempted sub-step at a time
    (the model's fragment_parts), taking neurons from the shared counter `pool`."""
    parts = fragment_parts(model)
    ports = list(model.receptors)
    pointers, declarations, loads, stores = [], [], [], []
    uniform_names = set()
    for k, (name, dtype, writable, uniform) in enumerate(fields):
        name, ctype, _, pointer = _field_pointer(k, name, dtype, writable)
        pointers.append(pointer)
        if uniform:
            uniform_names.add(name)
            declarations.append(f"    const {ctype} {name} = _p{k}[0];")
            continue
        declarations.append(f"    {ctype} {name};")
        loads.append(f"            {name} = _p{k}[i];")
        if writable:
            stores.append(f"            _p{k}[i] = {name};")
    inputs, clears = [], []
    if ports:
        declarations.append(f"    real* const in = (real*)f.ring + (size_t)(step % f.n_slots) *"
                            f" {len(ports)} * f.n;")
        declarations.append("    real* const stim = (real*)f.stim;")
        declarations += [f"    real in_{port};" for port in ports] + ["    real stim_now;"]
        for p, port in enumerate(ports):
            inputs.append(f"            in_{port} = in[(size_t){p} * f.n + i];")
            clears.append(f"            in[(size_t){p} * f.n + i] = 0;")
        inputs.append("            stim_now = stim[i];")
        clears.append("            stim[i] = 0;")
    # values of the family's uniform parameters once per thread, the others per neuron
    for name, expr, parameter in parts["reciprocals"]:
        if parameter in uniform_names:
            declarations.append(f"    const real {name} = {expr};")
        else:
            declarations.append(f"    real {name};")
            loads.append(f"            {name} = {expr};")
    lines = [
        f"__device__ __forceinline__ void {fn_name}(const FamilyArgs& f, const int first,",
        "    const int end, const long long step, const double dt,",
        "    const unsigned long long seed, const StepArgs* __restrict__ step_args_,",
        "    int* const pool)",
        "{",
        "    const unsigned long long* P = (const unsigned long long*)f.P;",
        *pointers,
        *declarations,
        "    int n_spikes;",
        "    {",
        parts["declare"],
        "    int i = first + (int)threadIdx.x;",
        "    bool fresh = true;",
        "    while (true) {",
        "        if (fresh) {",
        "            if (i >= end) break;",
        *loads,
        *inputs,
        "            n_spikes = 0;",
        parts["begin"],
        "            fresh = false;",
        "        }",
        parts["attempt"],
        f"        if ({parts['done']}) {{",
        parts["end"],
        *stores,
        *clears,
        "            if (n_spikes > 0)",
        "                finish_spike(f, SPIKE_LIST(step_args_, step), i,",
        "                             ((const int*)f.gids)[i], n_spikes, step);",
        "            i = first + atomicAdd(pool, 1);",
        "            fresh = true;",
        "        }",
        "    }",
        "    }",
        "}",
    ]
    return "\n".join(lines)


FUSED_KERNEL = "update_families"


def _family_functions(families):
    """The per-family device functions and the dispatch on family index `k` of (virtual)
    block `vb` (FamilyArgs.first_block; each block serves per_block neurons)."""
    functions = []
    dispatch = ["    const FamilyArgs& f = fams[k];",
                "    const long long first = (vb - f.first_block) * f.per_block;",
                "    const int end = (int)(first + f.per_block < f.n ? first + f.per_block"
                " : f.n);",
                "    const int i = (int)first + (int)threadIdx.x;"]
    for k, (model, fields) in enumerate(families):
        fn = f"update_{k}_{model.name}"
        keyword = "if" if k == 0 else "else if"
        if pooled(model):
            functions.append(_pooled_function_source(model, fields, fn))
            dispatch.append(f"    {keyword} (k == {k}) {fn}(f, (int)first, end, step, dt, seed,"
                            " step_args, &pool);")
        else:
            functions.append(family_function_source(model, fields, fn))
            dispatch.append(f"    {keyword} (k == {k}) {{ if (i < end) {fn}(f, i, step, dt,"
                            " seed, step_args); }")
    return functions, dispatch


def neurons_per_block(model, per_thread: int) -> int:
    """Neurons a block of the fused kernel updates: THREADS, or THREADS * per_thread for a
    pooled family."""
    return THREADS * max(1, int(per_thread)) if pooled(model) else THREADS


def _prelude(real: str, two_lists: bool) -> list[str]:
    """Definitions and includes of a generated kernel; with `two_lists`, spikes of odd
    steps go to step_args[1] (pipelined steps), else to step_args[0]
    (without computing an index: a register fewer in the neuron loop)."""
    spike_list = "(args)[(step) & 1]" if two_lists else "(*(args))"
    return [f"#define NEURONGPU_REAL {real}",
            f"#define SPIKE_LIST(args, step) {spike_list}",
            f"#define NEURONGPU_FAST_RK {'true' if OPTIONS.fast_rk else 'false'}",
            '#include "neurongpu_common.cuh"', '#include "rkf45.cuh"',
            '#include "propagation.cuh"', FAMILY_ARGS_STRUCT,
            '#include "step_args.cuh"']


def fused_update_source(families: list[tuple[object, list]], real: str,
                        two_lists: bool = False) -> str:
    """CUDA source of the one kernel that updates every family of a network.

    `families` is a list of (model, fields). Blocks are dealt out to families in order
    (FamilyArgs.first_block); each block updates blockDim.x neurons of its family.
    Spikes go to step_args[0], or with `two_lists` (a pipelined run, engine/gpu/step.py)
    to the list of the step's parity.
    """
    functions, dispatch = _family_functions(families)
    lines = [
        *_prelude(real, two_lists=two_lists),
        *functions,
        f'extern "C" __global__ void {FUSED_KERNEL}(const FamilyArgs* __restrict__ fams,',
        "    const int n_fams, const long long* __restrict__ clock, const double dt,",
        "    const unsigned long long seed, const StepArgs* __restrict__ step_args)",
        "{",
        "    const long long step = clock[0];",
        "    __shared__ int pool;  // the next neuron of a pooled family's block",
        "    if (threadIdx.x == 0) pool = blockDim.x;",
        "    __syncthreads();",
        "    const long long vb = blockIdx.x;",
        "    int k = 0;",
        "    while (k + 1 < n_fams && vb >= fams[k + 1].first_block) ++k;",
        *dispatch,
        "}",
    ]
    return "\n".join(lines)
