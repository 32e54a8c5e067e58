"""Plastic and stochastic synapse groups in the GPU step (cuda/plastic_synapses.cu).

Each group's kernels run after the neuron update of a step, on its spike list, with no
host synchronisation, so they are captured into the step's CUDA graph like the static
propagation. The post-synaptic history of an STDP group cannot grow inside a graph: before
each chunk of steps the host makes its capacity at least the entries that synapses can
still read plus one per step of the chunk (a neuron spikes at most once a step).

On by default; with OPTIONS.plastic_kernels off (PYNN_NEURONGPU_PLASTIC_KERNELS=0),
networks with plastic groups run in the array-code step on the device instead (the
reference, slower).
"""

from __future__ import annotations

import numpy as np

from ..options import OPTIONS
from .abi import GROUP_ARGS_DTYPE, HISTORY_DTYPE, record
from .compiler import THREADS, pointer_table

# parameters in the kernel's order (P[0], P[1], ...) and the kernel of each model
PARAM_ORDER = {
    "tsodyks_markram": ("U", "tau_rec", "tau_facil", "tau_psc"),
    "simple_stochastic": ("p",),
    "stdp": ("tau_plus", "tau_minus", "A_plus", "A_minus", "w_min", "w_max", "mu_plus",
             "mu_minus"),
    "vogels_sprekeler": ("tau", "eta", "rho", "w_min", "w_max"),
}
STDP_MODE = {"stdp": 0, "vogels_sprekeler": 1}

def supported(network) -> bool:
    """True if the fused GPU step can run the network's plastic groups."""
    if not network.plastic_groups:
        return True
    if not OPTIONS.plastic_kernels:
        return False
    for pg in network.plastic_groups:
        if pg.model.name not in PARAM_ORDER or pg._index is None or len(pg._index[3]) > 1:
            return False
    return True


def parameter_columns(xp, params: dict, names) -> tuple[list, np.ndarray]:
    """The kernel's parameter arrays (float64, contiguous) in `names` order and their
    strides: 0 for one value shared by all synapses (a 0-d column), else 1."""
    strides = np.array([0 if params[name].ndim == 0 else 1 for name in names], dtype=np.int32)
    # ascontiguousarray makes 0-d arrays 1-d: take the strides from the columns first
    arrays = [xp.ascontiguousarray(params[name], dtype=np.float64) for name in names]
    return arrays, strides


class PlasticLaunch:
    """The launches of one plastic group in the fused step."""

    def __init__(self, runner, pg):
        backend = runner.backend
        xp = backend.xp
        self.pg = pg
        self.model = pg.model.name
        order, offsets, _, families, local, ports = pg._index
        self.empty = pg.size == 0 or not families
        if self.empty:
            return
        fam = runner.by_group[families[0]]
        self.order, self.offsets = order.astype(np.int64), offsets
        self.target = local.astype(np.int32)
        self.delay = pg.delay.astype(np.int32)
        self.args = record(xp, GROUP_ARGS_DTYPE, {
            "offsets": self.offsets.data.ptr, "order": self.order.data.ptr,
            "target": self.target.data.ptr, "delay": self.delay.data.ptr,
            "weight": pg.weight.data.ptr, "ring": fam.ring.data.ptr,
            "n_slots": fam.n_slots, "n_ports": len(fam.group.model.receptors),
            "port": ports[families[0]], "n": fam.n})
        self.params, strides = parameter_columns(xp, pg.params, PARAM_ORDER[self.model])
        self.P = pointer_table(backend, self.params)
        self.S = xp.asarray(strides)
        self.tics = np.int64(round(runner.dt * 1000.0))
        self.stream = np.uint32(runner.stream_id(pg.stream))
        self.history = pg.post_history
        if self.history is not None:
            self.slot_of = xp.full(runner.net.n_neurons, -1, dtype=np.int32)
            self.slot_of[self.history.post_gids] = xp.arange(self.history.n, dtype=np.int32)
            self.post_slot = pg.post_slot.astype(np.int32)
            self._history_args()

    def _history_args(self):
        h = self.history
        self.hist = record(self.pg.backend.xp, HISTORY_DTYPE, {
            "times": h.times.data.ptr, "kminus": h.kminus.data.ptr, "count": h.count.data.ptr,
            "trace": h.trace.data.ptr, "last": h.last.data.ptr, "evicted": h.evicted.data.ptr,
            "overflow": h.overflow.data.ptr, "capacity": h.capacity,
            "tau_minus": h.tau_minus})
        self.hist_capacity = h.capacity

    def begin_chunk(self, start: int, n_steps: int) -> bool:
        """Make the history hold a chunk's spikes without losing what synapses can read;
        True if its arrays were reallocated (the graph must be captured anew)."""
        if self.empty or self.history is None:
            return False
        if self.pg.reserve_history(start, n_steps):
            self._history_args()
            return True
        return False

    def end_run(self):
        """Leave the history's bounds as the array-code step expects them."""
        h = self.history
        if not self.empty and h is not None and h.n:
            h.need[...] = self.pg._exact_need(self.pg.backend.xp.arange(h.n))

    def launch(self, runner):
        if self.empty:
            return
        fn = runner.static_kernel
        spikes = (runner.clock, runner.spk_count, runner.spk_gid, runner.spk_mult)
        grid = (runner.propagate_blocks,), (THREADS,)
        pg = self.pg
        if self.model == "tsodyks_markram":
            st = pg.state
            fn("plastic_synapses.cu", "tsodyks_markram_propagate")(
                *grid, spikes + (self.args, self.P, self.S, st["u"], st["x"], st["y"],
                                 st["t_last"], self.tics))
        elif self.model == "simple_stochastic":
            fn("plastic_synapses.cu", "bernoulli_propagate")(
                *grid, spikes + (self.args, self.P, self.S, np.uint64(runner.seed),
                                 self.stream))
        else:
            fn("plastic_synapses.cu", "stdp_record_post")(
                *grid, spikes + (self.slot_of, self.hist, self.tics))
            fn("plastic_synapses.cu", "stdp_propagate")(
                *grid, spikes + (self.args, self.P, self.S, pg.state["Kplus"],
                                 pg.state["t_last"], self.post_slot, self.hist, self.tics,
                                 np.float64(runner.dt), np.int32(STDP_MODE[self.model])))
