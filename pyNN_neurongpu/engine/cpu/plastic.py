"""Plastic synapse groups in the compiled CPU step: the GPU's kernels (cuda/plastic_synapses.cu,
compiled as host C++, one block of one thread) run after each step's static delivery, in
the network's group order, on the step's spike list, as the reference's
``PlasticGroup.deliver`` does. Stochastic groups run the reference's update in C++
(cuda/host_stochastic.h), drawing from the group's NumPy stream, whose PCG64 state goes
to the library before each block and back after it: the draws per step depend on the
spikes and the synaptic state, so the C++ continues the stream itself.

As in the GPU step (engine/gpu/plastic.py), the kernels cannot grow an STDP group's
post-synaptic history: before each block of steps its capacity is made at least the entries
synapses can still read plus one per step of the block (``PlasticGroup.reserve_history``).
A group whose synapses reach several target families runs its kernel once per family, on
the family's synapses in the group's order, so each ring buffer receives its additions in
the reference's order.
"""

from __future__ import annotations

import numpy as np

from ..gpu.abi import GROUP_ARGS_DTYPE, HISTORY_DTYPE
from ..gpu.plastic import PARAM_ORDER, STDP_MODE, parameter_columns

STOCHASTIC = {"simple_stochastic": 2, "stochastic_tsodyks_markram": 3, "multi_quantal": 4}
KINDS = {"tsodyks_markram": 0, "stdp": 1, "vogels_sprekeler": 1, **STOCHASTIC}
STATE = {0: ("u", "x", "y", "t_last"), 1: ("Kplus", "t_last"), 2: (),
         3: ("u", "R", "t_surv", "t_last"), 4: ("u", "a", "t_last")}
# parameters in the order of P (cuda/plastic_synapses.cu, host_stochastic.h)
PARAMS = {**PARAM_ORDER, "stochastic_tsodyks_markram": ("U", "tau_rec", "tau_facil"),
          "multi_quantal": ("U", "n", "tau_rec", "tau_facil")}
_U64, _I64 = np.uint64, np.int64
HOST_PLASTIC_DTYPE = np.dtype([(n, _U64) for n in ("group", "P", "S", "s0", "s1", "s2", "s3",
                                                   "slot_of", "post_slot", "history", "rng",
                                                   "fam_of")]
                              + [(n, _I64) for n in ("kind", "mode", "record_post", "tics")])
# post-synaptic history entries (all STDP groups) a block may reserve: caps the block length
HISTORY_BLOCK_ENTRIES = 1 << 21


def _ptr(a) -> int:
    return a.ctypes.data


def _contiguous(a, dtype):
    if a.dtype != dtype or not a.flags.c_contiguous:
        raise ValueError("plastic synapse arrays must be contiguous")  # not expected
    return a


def unsupported(net) -> str | None:
    """Why the compiled step cannot run the network's plastic groups (None: it can)."""
    names = sorted({pg.model.name for pg in net.plastic_groups
                    if pg.model.name not in KINDS})
    if names:
        return f"it has {', '.join(names)} synapses, a model the compiled step does not run"
    return None


class PlasticRecords:
    """The HostPlastic records of a network's plastic groups, and their arrays."""

    def __init__(self, net):
        self.keep = []
        self.history = []   # (group, its History record)
        self.streams = []   # (a stochastic group's stream, its PCG64 words)
        rows = []
        for pg in net.plastic_groups:
            order, offsets, family, families, local, ports = pg._index
            if pg.size == 0 or not families:
                continue
            kind = KINDS[pg.model.name]
            params, strides = parameter_columns(np, pg.params, PARAMS[pg.model.name])
            table = np.array([_ptr(a) for a in params], dtype=np.uint64)
            state = [_contiguous(pg.state[s], np.float64) for s in STATE[kind]]
            state += [state[0] if state else np.zeros(1)] * (4 - len(state))
            self.keep += [params, strides, table, state]
            common = (_ptr(table), _ptr(strides), *(_ptr(a) for a in state))
            if kind in STOCHASTIC.values():
                rows.append(self._stochastic(net, pg, common, kind))
            else:
                rows += self._plastic(net, pg, common, kind)
        self.records = np.array(rows or [(0,) * len(HOST_PLASTIC_DTYPE.names)],
                                dtype=HOST_PLASTIC_DTYPE)
        self.n = len(rows)

    def _group_args(self, net, pg, order, offsets, f):
        """The GroupArgs of group `pg`'s synapses `order` (by source: `offsets`) onto
        family `f`."""
        _, _, _, _, local, ports = pg._index
        target = np.ascontiguousarray(local, dtype=np.int32)
        delay = np.ascontiguousarray(pg.delay, dtype=np.int32)
        order = np.ascontiguousarray(order, dtype=np.int64)
        offsets = np.ascontiguousarray(offsets, dtype=np.int64)
        weight = _contiguous(pg.weight, net.backend.float)
        ring = net._group_by_index(f).ring
        args = np.zeros(1, dtype=GROUP_ARGS_DTYPE)
        args[0] = (_ptr(offsets), _ptr(order), _ptr(target), _ptr(delay), _ptr(weight),
                   _ptr(ring.data), ring.n_slots, ring.n_ports, ports[f], ring.n)
        self.keep += [target, delay, order, offsets, args]
        return args

    def _plastic(self, net, pg, common, kind):
        """A GPU kernel's records: one per target family, on the family's synapses in
        the group's order (the first also records the post-synaptic spikes)."""
        order, offsets, family, families, _, _ = pg._index
        slot_of = post_slot = hist = None
        if pg.post_history is not None:
            h = pg.post_history
            slot_of = np.full(net.n_neurons, -1, dtype=np.int32)
            slot_of[h.post_gids] = np.arange(h.n, dtype=np.int32)
            post_slot = np.ascontiguousarray(pg.post_slot, dtype=np.int32)
            hist = np.zeros(1, dtype=HISTORY_DTYPE)
            self.history.append((pg, hist))
            self._point(pg, hist)
            self.keep += [slot_of, post_slot, hist]
        rows = []
        for k, f in enumerate(families):
            if len(families) > 1:   # the family's synapses, still in the group's order
                order_f = order[family[order] == f]
                offsets_f = np.zeros(net.n_neurons + 1, dtype=np.int64)
                np.cumsum(np.bincount(pg.pre[order_f], minlength=net.n_neurons),
                          out=offsets_f[1:])
            else:
                order_f, offsets_f = order, offsets
            args = self._group_args(net, pg, order_f, offsets_f, f)
            rows.append((_ptr(args), *common,
                         0 if slot_of is None else _ptr(slot_of),
                         0 if post_slot is None else _ptr(post_slot),
                         0 if hist is None else _ptr(hist), 0, 0, kind,
                         STDP_MODE.get(pg.model.name, 0), int(k == 0),
                         round(net.dt * 1000.0)))
        return rows

    def _stochastic(self, net, pg, common, kind):
        """A stochastic group's record: all its synapses in the group's order, each
        delivering into its family's ring (the draws are the group's, not a family's)."""
        order, offsets, family, families, _, _ = pg._index
        args = np.concatenate([self._group_args(net, pg, order, offsets, f)
                               for f in families])
        fam_of = None
        if len(families) > 1:
            fam_of = np.searchsorted(np.asarray(families), family).astype(np.int32)
        stream = net.backend.rng(pg.stream)
        words = stream.pcg64_words()
        self.streams.append((stream, words))
        self.keep += [args, fam_of]
        return (_ptr(args), *common, 0, 0, 0, _ptr(words),
                0 if fam_of is None else _ptr(fam_of), kind, 0, 0, round(net.dt * 1000.0))

    @staticmethod
    def _point(pg, hist):
        h = pg.post_history
        arrays = [_contiguous(h.times, np.float64), _contiguous(h.kminus, np.float64),
                  _contiguous(h.count, np.int64), _contiguous(h.trace, np.float64),
                  _contiguous(h.last, np.float64), _contiguous(h.evicted, np.float64),
                  _contiguous(h.overflow, np.int32)]
        hist[0] = (*(_ptr(a) for a in arrays), h.capacity, h.tau_minus)

    def max_block(self) -> int:
        """The longest block the post-synaptic histories' reserve allows."""
        posts = sum(pg.post_history.n for pg, _ in self.history)
        return max(64, HISTORY_BLOCK_ENTRIES // max(posts, 1))

    def begin_block(self, start: int, n_steps: int):
        """Make every history hold the block's spikes without losing what synapses read;
        hand the stochastic groups' streams to the library."""
        for pg, hist in self.history:
            pg.reserve_history(start, n_steps)
            self._point(pg, hist)
        for stream, words in self.streams:
            words[...] = stream.pcg64_words()

    def end_block(self):
        """Take the streams back: the library drew what the reference step draws."""
        for stream, words in self.streams:
            stream.set_pcg64_words(words)

    def end_run(self):
        """Leave the histories' bounds as the reference step expects them."""
        for pg, _ in self.history:
            h = pg.post_history
            if h.n:
                h.need[...] = pg._exact_need(np.arange(h.n))
