"""Procedural projections in the GPU step (cuda/procedural.cu, engine/procedural.py).

A procedural projection stores no synapses: in every step, after the neuron update, one
launch per (projection, target family) walks the step's spike list and regenerates each
spiking source's targets, weights and delays from its counter-based stream, adding them
to the family's ring buffer. The launches need no host synchronisation (the spike count
and the step are read on the device), so they are captured into the step's graph.

A rule's values may carry scalar operations (a translation's unit factor, a sign); the
kernel applies up to MAX_OPS of add, sub, mul, truediv (either operand order), neg and
abs, in float64 like the array code. A rule with other operations is stored instead
(:func:`kernel_can_deliver`).
"""

from __future__ import annotations

import operator

import numpy as np

from .abi import PROCEDURAL_RULE_DTYPE, VALUE_OPS
from .compiler import THREADS

RULE_KINDS = {"all": 0, "bernoulli": 1, "fixed_out": 2}
VALUE_KINDS = {None: 0, "uniform": 1, "uniform_int": 2, "normal": 3, "normal_clipped": 4,
               "normal_clipped_to_boundary": 5, "lognormal": 6, "exponential": 7}
_BINARY = {operator.add: (0, 0), operator.sub: (1, 2), operator.mul: (3, 3),
           operator.truediv: (4, 5)}   # op: (code, code with reversed operands)
_UNARY = {operator.neg: 6, operator.abs: 7, np.negative: 6, np.absolute: 7}


def _op_code(f, arg):
    """The kernel's code of one lazyarray operation, or None if it has none."""
    if arg is None:
        return _UNARY.get(f)
    if isinstance(arg, bool) or not np.isscalar(arg):
        return None
    inner = getattr(f, "__wrapped__", None)   # lazyarray's reverse(op)
    if inner in _BINARY and f is not inner:
        return _BINARY[inner][1]
    return _BINARY[f][0] if f in _BINARY else None


def _value_fields(spec) -> dict | None:
    """The ValueSpec record's fields of `spec` (engine/procedural.py), or None."""
    if len(spec.ops) > VALUE_OPS:
        return None
    codes = [_op_code(f, arg) for f, arg in spec.ops]
    if any(c is None for c in codes):
        return None
    p = spec.params
    if spec.name is None:
        a, b, low, high = float(spec.value), 0.0, 0.0, 0.0
        codes = []   # a constant's operations are applied already
    elif spec.name in ("uniform", "uniform_int"):
        a, b, low, high = float(p["low"]), float(p["high"]), 0.0, 0.0
    elif spec.name in ("normal", "lognormal"):
        a, b, low, high = float(p["mu"]), float(p["sigma"]), 0.0, 0.0
    elif spec.name in ("normal_clipped", "normal_clipped_to_boundary"):
        a, b, low, high = (float(p[k]) for k in ("mu", "sigma", "low", "high"))
    elif spec.name == "exponential":
        a, b, low, high = float(p["beta"]), 0.0, 0.0, 0.0
    else:
        return None
    ops = codes + [0] * (VALUE_OPS - len(codes))
    args = [0.0 if arg is None else float(arg) for _, arg in spec.ops][:len(codes)]
    args += [0.0] * (VALUE_OPS - len(args))
    return {"kind": VALUE_KINDS[spec.name], "a": a, "b": b, "low": low, "high": high,
            "n_ops": len(codes), "op": ops, "arg": args}


def kernel_can_deliver(rule) -> bool:
    """True if cuda/procedural.cu computes `rule`'s synapses (its kind, its value
    distributions and their operations)."""
    return (rule.kind in RULE_KINDS and _value_fields(rule.weight) is not None
            and _value_fields(rule.delay) is not None and rule.n_post < 2**31
            and rule.n_pre < 2**31)


def _constant_value(spec):
    """A constant ValueSpec's value with its operations applied (as ValueSpec.draw)."""
    x = float(spec.value)
    for f, arg in spec.ops:
        x = f(x) if arg is None else f(x, arg)
    return float(x)


def rule_record(rule) -> np.ndarray:
    """The RuleArgs record of `rule` (host, PROCEDURAL_RULE_DTYPE); the rule must pass
    :func:`kernel_can_deliver`."""
    rec = np.zeros(1, dtype=PROCEDURAL_RULE_DTYPE)
    log_q = float(np.log1p(-rule.p)) if 0 < rule.p < 1 else (-np.inf if rule.p >= 1 else 0.0)
    fields = {"kind": RULE_KINDS[rule.kind], "n_post": rule.n_post, "n": rule.n,
              "replace": int(bool(rule.replace)), "key0": rule.key[0], "key1": rule.key[1],
              "steps_per_ms": 1.0 / rule.dt, "log_q": log_q}
    for name, value in fields.items():
        rec[name] = value
    for name, spec in (("weight", rule.weight), ("delay", rule.delay)):
        values = _value_fields(spec)
        if spec.name is None:
            values["a"] = _constant_value(spec)
        for key, value in values.items():
            rec[name][key] = value
    return rec


class ProceduralLaunch:
    """The device tables and launches of one procedural group in a GpuStep."""

    def __init__(self, runner, group):
        xp = runner.backend.xp
        net = runner.net
        rule = group.rule
        self.group = group
        rec = rule_record(rule)
        self.rule_args = xp.asarray(rec.view(np.uint8))
        # nothing to deliver: no synapse can exist
        self.empty = (rule.kind == "bernoulli" and rule.p <= 0) or rule.n_post == 0 or (
            rule.kind == "fixed_out" and rule.n == 0)
        source_of = np.full(max(net.n_neurons, 1), -1, dtype=np.int32)
        source_of[group.pre_gids] = np.arange(group.pre_gids.size, dtype=np.int32)
        self.source_of = xp.asarray(source_of)
        self.exclude = (None if rule.exclude is None
                        else xp.asarray(np.asarray(rule.exclude, dtype=np.int32)))
        self.bits_half = (max(1, int(rule.n_post - 1).bit_length()) + 1) // 2
        family, local = net.group_of(group.post_gids)
        self.targets = []   # (Family, port, post_local device array)
        for gi in np.unique(family):
            fam = runner.by_group[int(gi)]
            post_local = np.where(family == gi, local, -1).astype(np.int32)
            self.targets.append((fam, fam.group.model.port_index(group.receptor),
                                 xp.asarray(post_local)))
        self.blocks = max(1, runner.propagate_blocks)

    def launch(self, runner):
        """Deliver this step's spikes of the projection (captured into the step's graph)."""
        if self.empty:
            return
        kernel = runner.static_kernel("procedural.cu", "procedural_deliver")
        exclude = self.exclude if self.exclude is not None else np.uint64(0)
        for fam, port, post_local in self.targets:
            kernel((self.blocks,), (THREADS,),
                   (runner.clock, runner.spk_gid, runner.spk_mult, runner.spk_count,
                    self.source_of, self.rule_args, exclude, post_local, fam.ring,
                    np.int32(fam.n_slots), np.int32(len(fam.group.model.receptors)),
                    np.int32(fam.n), np.int32(port), np.int32(self.bits_half)))

