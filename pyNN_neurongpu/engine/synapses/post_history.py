"""Post-synaptic spike history for STDP, kept on the device.

NEST updates an STDP weight only when a presynaptic spike reaches the synapse;
it then needs the post-synaptic spikes since the previous presynaptic spike and
the post-synaptic trace K- just before the current one. Each neuron here keeps
its recent spike times with the value of its trace after each spike
(K- <- K- * exp(-(t - t_prev) / tau_minus) + 1, as NEST's archiving node), in a
per-neuron ring of `capacity` entries.

An entry may leave the ring only when no synapse can still need it: the next
entry must be older than every synapse's last presynaptic spike minus its delay
(``need``, a per-neuron lower bound kept up to date as synapses are used and
recomputed exactly where it blocks) and older than now minus the longest delay.
Otherwise the ring grows (doubles), as NEST's history grows until all of a
neuron's synapses have read it. ``overflow`` is a safety net that flags any
update that found a needed entry missing.
"""

from __future__ import annotations

import numpy as np

DEFAULT_CAPACITY = 16
EPS = 1e-6  # ms; NEST's tolerance when comparing spike times (stdp_eps)


class PostHistory:
    """Spike times and K- of the post-synaptic neurons of one STDP group."""

    def __init__(self, backend, post_gids, tau_minus: float, capacity: int = DEFAULT_CAPACITY):
        xp = backend.xp
        self.backend = backend
        self.post_gids = post_gids         # device int64, unique, sorted
        self.tau_minus = float(tau_minus)
        self.capacity = max(2, int(capacity))
        n = int(post_gids.shape[0])
        self.n = n
        self.times = xp.full((n, self.capacity), -np.inf, dtype=np.float64)
        self.kminus = xp.zeros((n, self.capacity), dtype=np.float64)
        self.count = xp.zeros(n, dtype=np.int64)        # spikes ever recorded
        self.trace = xp.zeros(n, dtype=np.float64)      # K- after the last spike
        self.last = xp.zeros(n, dtype=np.float64)       # time of the last spike
        self.evicted = xp.full(n, -np.inf, dtype=np.float64)  # last time pushed out
        self.need = xp.full(n, np.inf, dtype=np.float64)      # lower bound of needed times
        self.overflow = xp.zeros(1, dtype=np.int32)

    def clear(self):
        self.times[...] = -np.inf
        self.kminus[...] = 0.0
        self.count[...] = 0
        self.trace[...] = 0.0
        self.last[...] = 0.0
        self.evicted[...] = -np.inf
        self.need[...] = np.inf
        self.overflow[...] = 0

    def lower_need(self, slots, times):
        """Synapses onto neurons `slots` may need entries after `times`."""
        if self.backend.xp is np:
            np.minimum.at(self.need, slots, times)
        else:
            import cupyx
            cupyx.scatter_min(self.need, slots, times)

    def record(self, spike_counts, t: float, floor: float, exact_need):
        """Add the spikes (global per-neuron counts of this step) stamped `t` (ms).

        `floor`: entries after it may still be needed whatever the synapses say;
        `exact_need(slots)`: the exact need of neurons `slots` (a reduction over
        their synapses), called only where the bound blocks an eviction.
        """
        xp = self.backend.xp
        counts = spike_counts[self.post_gids]
        fired = xp.nonzero(counts)[0]
        if fired.shape[0] == 0:
            return
        self._make_room(fired, floor, exact_need)
        trace = self.trace[fired] * xp.exp((self.last[fired] - t) / self.tau_minus) \
            + counts[fired].astype(np.float64)
        slot = self.count[fired] % self.capacity
        self.evicted[fired] = xp.where(self.count[fired] >= self.capacity,
                                       self.times[fired, slot], self.evicted[fired])
        self.times[fired, slot] = t
        self.kminus[fired, slot] = trace
        self.trace[fired] = trace
        self.last[fired] = t
        self.count[fired] += 1

    def _blocked(self, slots, floor):
        """Which full rings of `slots` cannot drop their oldest entry."""
        xp = self.backend.xp
        second = self.times[slots, (self.count[slots] + 1) % self.capacity]
        bound = xp.minimum(self.need[slots], floor)
        return (self.count[slots] >= self.capacity) & ~(second < bound - EPS)

    def _make_room(self, fired, floor, exact_need):
        xp = self.backend.xp
        blocked = self._blocked(fired, floor)
        if not bool(xp.any(blocked)):
            return
        slots = fired[blocked]
        self.need[slots] = exact_need(slots)
        if bool(xp.any(self._blocked(slots, floor))):
            self.grow()

    def grow(self):
        """Double the capacity, keeping every entry."""
        xp = self.backend.xp
        old = self.capacity
        new = 2 * old
        times, kminus = self.window(xp.arange(self.n))
        j = self.count[:, None] - old + xp.arange(old)[None, :]
        rows = xp.broadcast_to(xp.arange(self.n)[:, None], j.shape)
        valid = j >= 0
        self.times = xp.full((self.n, new), -np.inf, dtype=np.float64)
        self.kminus = xp.zeros((self.n, new), dtype=np.float64)
        self.times[rows[valid], j[valid] % new] = times[valid]
        self.kminus[rows[valid], j[valid] % new] = kminus[valid]
        self.capacity = new

    def window(self, slots):
        """(times, K-) of the neurons `slots` (positions in post_gids), oldest
        first, shape (len(slots), capacity); missing entries have time -inf."""
        xp = self.backend.xp
        h = self.capacity
        count = self.count[slots]
        ring = (count[:, None] - h + xp.arange(h)[None, :]) % h
        rows = slots[:, None]
        return self.times[rows, ring], self.kminus[rows, ring]

    def note_lost(self, slots, times, t_after, t_before, kplus):
        """Flag an overflow where a spike after `t_after` left the ring while the
        synapse's trace K+ (`kplus`) is non-zero, or where the last spike before
        `t_before` did (its K- is then unknown); `times` is the window of `slots`."""
        xp = self.backend.xp
        evicted = self.evicted[slots]
        lost = ((evicted >= t_after + EPS) & (kplus > 0)) | (
            (evicted > -np.inf) & ~xp.any(times < (t_before - EPS)[:, None], axis=1))
        self.overflow |= xp.any(lost).astype(np.int32)
