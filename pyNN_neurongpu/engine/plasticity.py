"""Synapse groups with per-synapse dynamics (plastic or stochastic synapses).

They are kept out of the merged static tables of construction.py, so the static
path (and its GPU kernels) is untouched. A :class:`PlasticGroup` holds the
synapses of one projection in creation order with their weight, delay,
parameters (one value for all, or one per synapse) and state; at finalisation
it is indexed by source (a permutation and 64-bit offsets). In each step the
synapses of the sources that spiked are updated by their model, vectorised, and
what they deliver goes into the same ring buffers as static input.
"""

from __future__ import annotations

import numpy as np

from .delivery import expand_ranges
from .synapses import SpikeContext, get_synapse_model
from .synapses.post_history import DEFAULT_CAPACITY, EPS, PostHistory


class PlasticGroup:
    """The synapses of one projection whose model has per-synapse dynamics.

    ``pre``/``post`` are global neuron indices, ``delay`` in steps (>= 1),
    ``weight`` in the unit of the target port; ``params[name]`` is a 0-d array
    (one value for all) or one value per synapse; ``state[name]`` one per synapse.
    """

    def __init__(self, backend, model: str, pre, post, weight, delay, receptor: str,
                 params: dict, initial: dict, label: str = ""):
        self.backend = backend
        self.model = get_synapse_model(model)
        self.receptor = receptor
        self.label = label
        self.pre, self.post, self.weight, self.delay = pre, post, weight, delay
        n = self.size
        unknown = set(params) - set(self.model.parameters)
        if unknown:
            raise KeyError(f"synapse model {self.model.name} has no parameter "
                           f"{sorted(unknown)[0]!r}")
        unknown = set(initial) - set(self.model.state)
        if unknown:
            raise KeyError(f"synapse model {self.model.name} has no state variable "
                           f"{sorted(unknown)[0]!r}")
        self.params = {name: self._column(params.get(name, var.default), n, name)
                       for name, var in self.model.parameters.items()}
        self.initial = {name: self._column(initial.get(name, var.default), n, name)
                        for name, var in self.model.state.items()}
        self._check_params(self.params)
        self._check_state(self.initial)
        self.model.check_weights(weight)
        self.state = {}
        self.post_history = None
        self.post_slot = None
        self._index = None
        self._max_delay = int(delay.max()) if self.size else 1
        self.restart()
        self.stream = "synapses"  # name of its random stream (the network makes it unique)

    @property
    def size(self) -> int:
        return int(self.pre.shape[0])

    # -- values ----------------------------------------------------------------------------
    def _column(self, value, n, name):
        """A 0-d device array for one value, else a device array of n values."""
        xp = self.backend.xp
        arr = xp.asarray(value, dtype=np.float64)
        if arr.ndim == 0:
            return arr
        if arr.shape != (n,):
            raise ValueError(f"{name}: expected {n} values, got shape {arr.shape}")
        if name in self.model.homogeneous:
            if n and bool(xp.any(arr != arr[0])):
                raise ValueError(f"{name} must have the same value for all connections "
                                 f"of a projection")
            return arr[0] if n else xp.asarray(self.model.parameters[name].default)
        return arr

    def _host(self, columns):
        return {k: self.backend.to_host(v) for k, v in columns.items()}

    def _check_params(self, params):
        self.model.check(self._host(params))

    def _check_state(self, state):
        self.model.check_state(self._host(state))

    def restart(self):
        """Set the state to its initial values (and hidden state to its defaults)."""
        xp = self.backend.xp
        n = self.size
        for name, value in self.initial.items():
            self.state[name] = xp.broadcast_to(value, (n,)).astype(np.float64)
        for name, var in self.model.internal.items():
            self.state[name] = xp.full(n, var.default, dtype=np.float64)
        if self.post_history is not None:
            self.post_history.clear()

    def set_params(self, index, updates: dict):
        """Set parameters of the synapses at storage positions `index` (None: all)
        after checking all new values; nothing changes if any is invalid."""
        trial = dict(self.params)
        for name, values in updates.items():
            if name not in self.params:
                raise KeyError(f"synapse model {self.model.name} has no parameter {name!r}")
            trial[name] = self._updated(self.params[name], index, values, name)
        self._check_params(trial)
        self.params = trial
        if self.post_history is not None:
            self.post_history.tau_minus = float(self.params[self.model.trace_time_constant])

    def set_state(self, name, index, values):
        """Set the value (and the initial value, restored by reset) of a state variable."""
        if name not in self.initial:
            raise KeyError(f"synapse model {self.model.name} has no state variable {name!r}")
        initial = self._updated(self.initial[name], index, values, name)
        current = self._updated(self.state[name], index, values, name)
        trial = {k: self.state[k] for k in self.initial}
        trial[name] = current
        self._check_state(trial)
        self.initial[name] = initial
        self.state[name] = self.backend.xp.broadcast_to(current, (self.size,)).astype(np.float64)

    def _updated(self, column, index, values, name):
        xp = self.backend.xp
        n = self.size
        values = xp.asarray(values, dtype=np.float64)
        if index is None:
            return self._column(values, n, name)
        full = xp.broadcast_to(column, (n,)).copy()
        full[xp.asarray(index)] = values
        return self._column(full, n, name)

    def get(self, name):
        """Host array of a parameter or state variable, one value per synapse."""
        source = self.params.get(name)
        if source is None:
            source = self.state.get(name)
        if source is None:
            raise KeyError(name)
        return self.backend.to_host(self.backend.xp.broadcast_to(source, (self.size,)))

    # -- structure ---------------------------------------------------------------------------
    def extend(self, pre, post, weight, delay, params: dict, initial: dict):
        """Append synapses (parameters and initial state as in the constructor)."""
        xp = self.backend.xp
        more = PlasticGroup(self.backend, self.model.name, pre, post, weight, delay,
                            self.receptor, params, initial)
        n_old, n_new = self.size, more.size

        def joined(a, b, name):
            if a.ndim == 0 and b.ndim == 0 and bool(a == b):
                return a
            return self._column(xp.concatenate([xp.broadcast_to(a, (n_old,)),
                                                xp.broadcast_to(b, (n_new,))]),
                                n_old + n_new, name)

        params = {k: joined(v, more.params[k], k) for k, v in self.params.items()}
        initial = {k: joined(v, more.initial[k], k) for k, v in self.initial.items()}
        for name in ("pre", "post", "weight", "delay"):
            setattr(self, name, xp.concatenate([getattr(self, name), getattr(more, name)]))
        self.params, self.initial = params, initial
        for name, values in self.state.items():
            self.state[name] = xp.concatenate([values, more.state[name]])
        self._index = None
        self.post_history = None

    def finalise(self, network):
        """Index the synapses by source and locate their targets (after any change)."""
        xp = self.backend.xp
        group_of = network._gid_group_device()
        order = xp.argsort(self.pre, kind="stable") if xp is np else xp.argsort(self.pre)
        counts = xp.bincount(self.pre, minlength=network.n_neurons)
        offsets = xp.zeros(network.n_neurons + 1, dtype=np.int64)
        xp.cumsum(counts, out=offsets[1:])
        family = group_of[self.post]
        families = [int(f) for f in np.unique(self.backend.to_host(family))]
        local = network._gid_local_device()[self.post]
        ports = {f: network._group_by_index(f).model.port_index(self.receptor)
                 for f in families}
        self._index = (order, offsets, family, families, local, ports)
        self._dt = network.dt
        self._max_delay = int(self.delay.max()) if self.size else 1
        if self.model.needs_post_history and self.post_history is None:
            posts = xp.unique(self.post)
            self.post_slot = xp.searchsorted(posts, self.post)
            tau = float(self.params[self.model.trace_time_constant])
            self.post_history = PostHistory(self.backend, posts, tau,
                                            getattr(network, "stdp_history_capacity",
                                                    DEFAULT_CAPACITY))
            by_post = xp.argsort(self.post_slot, kind="stable") if xp is np \
                else xp.argsort(self.post_slot)
            per_post = xp.bincount(self.post_slot, minlength=int(posts.shape[0]))
            post_offsets = xp.zeros(int(posts.shape[0]) + 1, dtype=np.int64)
            xp.cumsum(per_post, out=post_offsets[1:])
            self._by_post = (by_post, post_offsets)

    def _exact_need(self, slots):
        """Per post-synaptic neuron of `slots`: the earliest history time any of its
        synapses can still read (last presynaptic spike minus delay, where K+ > 0)."""
        xp = self.backend.xp
        by_post, offsets = self._by_post
        starts = offsets[slots]
        lengths = offsets[slots + 1] - starts
        pos, total = expand_ranges(self.backend, starts, lengths)
        out = xp.full(slots.shape[0], np.inf, dtype=np.float64)
        if total == 0:
            return out
        syn = by_post[pos]
        dt = self._dt
        values = xp.where(self.state["Kplus"][syn] > 0,
                          self.state["t_last"][syn] - self.delay[syn] * dt, np.inf)
        rows = self.backend.repeat(xp.arange(slots.shape[0]), lengths)
        if xp is np:
            np.minimum.at(out, rows, values)
        else:
            import cupyx
            cupyx.scatter_min(out, rows, values)
        return out

    def reserve_history(self, first_step: int, n_steps: int) -> bool:
        """Grow the post-synaptic history so that `n_steps` steps from `first_step` can
        run without making room (the GPU kernels cannot): room for every entry a synapse
        may still read, one before them, and one spike per step. True if it grew."""
        h = self.post_history
        if h is None or h.n == 0:
            return False
        xp = self.backend.xp
        slots = xp.arange(h.n)
        floor = first_step * self._dt - self.max_delay * self._dt
        bound = xp.minimum(self._exact_need(slots), floor)
        # counted on the rings as stored (order does not matter; missing entries are -inf)
        held = xp.sum(h.times >= (bound - EPS)[:, None], axis=1)
        required = int((held + 1).max()) + n_steps
        grown = False
        while h.capacity < required:
            h.grow()
            grown = True
        return grown

    @property
    def max_delay(self) -> int:
        """The longest delay in steps (as of the last finalisation)."""
        return self._max_delay

    # -- one step ----------------------------------------------------------------------------
    def deliver(self, network, step: int, sources, mult, spike_counts):
        """Update the synapses of `sources` (global indices that spiked in `step`,
        with multiplicities `mult`) and add what they deliver to the ring buffers.
        `spike_counts`: every neuron's spike count in this step (for STDP)."""
        backend = self.backend
        xp = backend.xp
        # the stamp in ms as NEST computes it from steps (through integer tics)
        tics_per_step = round(network.dt * 1000.0)
        t_spike = (step + 1) * tics_per_step / 1000.0
        if self.post_history is not None:
            floor = t_spike - self.max_delay * network.dt
            self.post_history.record(spike_counts, t_spike, floor, self._exact_need)
        if sources is None or self.size == 0:
            return
        order, offsets, family, families, local, ports = self._index
        starts = offsets[sources]
        lengths = offsets[sources + 1] - starts
        pos, total = expand_ranges(backend, starts, lengths)
        if total == 0:
            return
        idx = order[pos]
        ctx = SpikeContext(xp=xp, backend=backend, dt=network.dt, step=step, t_spike=t_spike,
                           idx=idx, mult=backend.repeat(mult, lengths).astype(np.int64),
                           group=self, rng=backend.rng(self.stream)
                           if self.model.stochastic else None)
        values = self.model.transmit(ctx)
        delay = self.delay[idx]
        tgt = local[idx]
        for f in families:
            ring = network._group_by_index(f).ring
            if len(families) > 1:
                sel = xp.nonzero(family[idx] == f)[0]
                d, t, v = delay[sel], tgt[sel], values[sel]
            else:
                d, t, v = delay, tgt, values
            slot = ((step + d) % ring.n_slots).astype(np.int64)
            flat = (slot * ring.n_ports + ports[f]) * ring.n + t
            backend.scatter_add(ring.data.reshape(-1), flat, v.astype(ring.data.dtype))

    def check_history(self):
        """Raise RuntimeError if an STDP update needed a spike no longer in the history."""
        h = self.post_history
        if h is not None and int(self.backend.to_host(h.overflow)[0]):
            raise RuntimeError(
                f"STDP post-synaptic spike history of projection {self.label!r} lost a "
                "spike that a weight update needed (an internal error: please report it)")


__all__ = ["PlasticGroup"]
