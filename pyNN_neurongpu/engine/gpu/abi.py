"""The records the host writes to device memory for the kernels to read: one NumPy dtype
per C struct, with the same field order. Every field is 8 bytes wide, so both sides share
one layout without padding rules."""

from __future__ import annotations

import numpy as np

# Per-family launch arguments of the fused update kernel (generated as C, see
# FAMILY_ARGS_STRUCT; read in engine/gpu/codegen.py's device functions)
FAMILY_ARGS_FIELDS = ("P", "n", "ring", "n_slots", "stim", "gids", "recorded", "rec_count",
                      "rec_step", "rec_local", "rec_mult", "rec_capacity", "stream",
                      "first_block", "per_block")
_FAMILY_POINTERS = {"P", "ring", "stim", "gids", "recorded", "rec_count", "rec_step",
                    "rec_local", "rec_mult"}
FAMILY_ARGS_DTYPE = np.dtype([(name, np.uint64 if name in _FAMILY_POINTERS else np.int64)
                              for name in FAMILY_ARGS_FIELDS])
FAMILY_ARGS_STRUCT = "struct FamilyArgs {\n" + "".join(
    f"    {'unsigned long long' if name in _FAMILY_POINTERS else 'long long'} {name};\n"
    for name in FAMILY_ARGS_FIELDS) + "};"

# Arguments shared by every family's update in a step: the spike list and the table of
# direct delivery (cuda/step_args.cuh)
STEP_ARGS_FIELDS = ("spk_gid", "spk_mult", "spk_count", "d_offsets", "d_meta", "d_target",
                    "d_weight", "d_delay", "d_port", "d_ring", "d_slots", "d_ports", "d_n",
                    "d_max_degree", "d_tbits", "d_pbits")
_STEP_ARGS_INTS = ("d_slots", "d_ports", "d_n", "d_max_degree", "d_tbits", "d_pbits")
STEP_ARGS_DTYPE = np.dtype([(name, np.int64 if name in _STEP_ARGS_INTS else np.uint64)
                            for name in STEP_ARGS_FIELDS])

# One target family's table and ring buffer, for the pipelined step's delivery kernel
# (cuda/propagation.cuh PropTable)
PROP_TABLE_DTYPE = np.dtype([(name, np.uint64) for name in
                             ("offsets", "meta", "target", "weight", "delay", "port", "ring")]
                            + [(name, np.int64) for name in
                               ("tbits", "pbits", "n_slots", "n_ports", "n")])

# One state array the GPU step checks after each chunk (cuda/numerics.cu CheckedArray)
CHECKED_ARRAY_DTYPE = np.dtype([("values", np.uint64), ("n", np.int64), ("low", np.float64),
                                ("high", np.float64)])

# A plastic group's synapses and target ring, and an STDP group's post-synaptic history
# (cuda/plastic_synapses.cu GroupArgs, History)
_U64, _I64, _F64 = np.uint64, np.int64, np.float64
GROUP_ARGS_DTYPE = np.dtype([("offsets", _U64), ("order", _U64), ("target", _U64),
                             ("delay", _U64), ("weight", _U64), ("ring", _U64),
                             ("n_slots", _I64), ("n_ports", _I64), ("port", _I64),
                             ("n", _I64)])
HISTORY_DTYPE = np.dtype([("times", _U64), ("kminus", _U64), ("count", _U64),
                          ("trace", _U64), ("last", _U64), ("evicted", _U64),
                          ("overflow", _U64), ("capacity", _I64), ("tau_minus", _F64)])

# A procedural projection's rule (cuda/procedural.cu RuleArgs, ValueSpec)
VALUE_OPS = 4
VALUE_SPEC_DTYPE = np.dtype([("kind", _I64), ("a", _F64), ("b", _F64), ("low", _F64),
                             ("high", _F64), ("n_ops", _I64), ("op", _I64, (VALUE_OPS,)),
                             ("arg", _F64, (VALUE_OPS,))])
PROCEDURAL_RULE_DTYPE = np.dtype([("kind", _I64), ("n_post", _I64), ("n", _I64),
                                  ("replace", _I64), ("log_q", _F64), ("key0", _I64),
                                  ("key1", _I64), ("steps_per_ms", _F64),
                                  ("weight", VALUE_SPEC_DTYPE), ("delay", VALUE_SPEC_DTYPE)])
# One (procedural projection, target family) of the step's single procedural launch
# (cuda/procedural.cu ProceduralEntry)
PROCEDURAL_ENTRY_DTYPE = np.dtype([("rule", PROCEDURAL_RULE_DTYPE), ("counts", _U64),
                                   ("exclude", _U64), ("source_of", _U64),
                                   ("post_local", _U64), ("ring", _U64), ("pre_first", _I64),
                                   ("post_base", _I64), ("n_slots", _I64), ("n_ports", _I64),
                                   ("n_local", _I64), ("port", _I64), ("bits_half", _I64)])


def record(xp, dtype, values: dict):
    """One struct of `dtype` with `values` (missing fields 0), as a device byte array."""
    rec = np.zeros(1, dtype=dtype)
    for name, value in values.items():
        rec[name] = value
    return xp.asarray(rec.view(np.uint8))


def records(xp, dtype, rows):
    """An array of structs of `dtype` from tuples in field order (one zero record where
    there are none), as a device byte array."""
    return xp.asarray(np.array(rows or [(0,) * len(dtype.names)], dtype=dtype).view(np.uint8))
