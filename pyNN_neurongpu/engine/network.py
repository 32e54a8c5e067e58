"""The engine's network: neuron families, synapse groups, stimuli and recorders.

Usable without PyNN::

    net = Network(Backend("cpu"), dt=0.1)
    src = net.add_neurons("spike_source_array", 1, {"spike_times": [[1.0, 5.0]]})
    nrn = net.add_neurons("iaf_psc_exp", 1)
    net.connect(src.gids, nrn.gids, weight=[0.5], delay_steps=[10], receptor="excitatory")
    net.record_spikes(nrn.group, nrn.local)
    net.run(1000)

A run goes to the fused GPU step (engine/gpu) where the network is on a GPU and every
family has a kernel, else to the reference step in array code (engine/reference_step.py),
which on a GPU runs on the device's arrays: so do networks with an array-code-only family
(kernel_kind None: the precise _ps families, gif_cond_exp).
"""

from __future__ import annotations

import logging

import numpy as np

from . import construction, delivery, memory, parallel
from .backend import Backend
from .construction import SynapseGroup, build_incoming
from .groups import NeuronGroup, Slice
from .growth import Growing
from .models import get_model
from .options import OPTIONS
from .plasticity import PlasticGroup
from .procedural import ProceduralGroup
from .recording import StateRecorder
from .reference_step import run_reference
from .stimuli import CurrentStimulus
from .synapses import get_synapse_model

logger = logging.getLogger("pyNN_neurongpu")
_FALLBACKS_SAID: set[str] = set()  # reasons for the reference step already given


class Network:
    """A spiking network on one backend, advanced in fixed steps of `dt` ms."""

    def __init__(self, backend: Backend, dt: float, comm: parallel.Communicator | None = None):
        self.backend = backend
        # the ranks sharing this network (engine/parallel.py); one rank: no exchange
        self.comm = comm if comm is not None else parallel.Communicator()
        self.exchange = None
        self.last_gpu_step = None  # the GpuStep of the latest run, where one ran
        self._gid_owned = np.zeros(0, dtype=bool)
        self._growing = Growing()
        self.dt = float(dt)
        self.step = 0
        self.groups: dict[str, NeuronGroup] = {}
        self.n_neurons = 0
        self._gid_group = np.zeros(0, dtype=np.int32)
        self._gid_local = np.zeros(0, dtype=np.int64)
        self.synapse_groups: list[SynapseGroup] = []
        self.static_synapses = 0  # the synapses in synapse_groups (kept, not summed)
        self.plastic_groups: list[PlasticGroup] = []
        self.procedural_groups: list[ProceduralGroup] = []  # regenerated per spike, not stored
        self.stdp_history_capacity = 16  # initial post-synaptic spikes kept per neuron
        self._n_plastic = 0  # plastic groups made so far (names their random streams)
        self.stimuli: list[CurrentStimulus] = []
        self.state_recorders: list[StateRecorder] = []
        self._tables = None
        self._n_slots = 1
        self._by_index: dict[int, NeuronGroup] = {}
        # counts resets: counter-based random draws (GPU) key on it, so a run after
        # reset() is a new realisation, as with the CPU's continuing streams
        self.epoch = 0
        # the fused CUDA step (GPU only); the array-code step is the reference
        self.use_kernels = OPTIONS.kernels
        self.use_graphs = OPTIONS.graphs
        self.check_numerics = True  # stop a run on NaN/inf or out-of-bounds state
        # where a line for the user goes (the PyNN layer's console; else the log)
        self.notify = None

    # -- building ----------------------------------------------------------------------
    def add_neurons(self, model: str, n: int, params: dict | None = None,
                    initial: dict | None = None) -> Slice:
        """Create `n` neurons of model family `model`; global indices are contiguous."""
        if n < 1:
            raise ValueError("a population needs at least one neuron")
        spec = get_model(model)
        per_neuron = 8 * (len(spec.parameters) + len(spec.state) + len(spec.internal) + 4)
        memory.require(self.backend, n * per_neuron, f"{n:,} {model} neurons",
                       [("neurons", n, per_neuron)])
        group = self.groups.get(model)
        if group is None:
            group = NeuronGroup(self.backend, spec, len(self.groups), self.dt)
        gid_start = self.n_neurons
        lo, hi = parallel.block(n, self.comm.size, self.comm.rank)
        first, stored = (0, n) if self.replicated(spec) else (lo, hi - lo)
        if stored != n:
            params, initial = (_take_block(values, n, lo, hi) for values in (params, initial))
        # append checks the new values before it changes anything; the derived quantities
        # are computed once, before the next run (prepare), not once per population
        offset = group.append(stored, gid_start + first, params or {}, initial or {})
        self.groups[model] = group
        self._by_index = {g.index: g for g in self.groups.values()}
        grow = self._growing.extend
        self._gid_group = grow(np, "group", self._gid_group, np.full(n, group.index, np.int32))
        local = np.full(n, -1, dtype=np.int64)
        local[first:first + stored] = np.arange(offset, offset + stored)
        self._gid_local = grow(np, "local", self._gid_local, local)
        owned = np.zeros(n, dtype=bool)
        owned[lo:hi] = True
        self._gid_owned = grow(np, "owned", self._gid_owned, owned)
        self.n_neurons += n
        self._tables = None
        return Slice(group, offset, n, gid_start, first, stored, (lo, hi))

    def replicated(self, spec) -> bool:
        """Whether every rank holds all neurons of family `spec` (spike sources)."""
        return self.comm.distributed and not spec.receptors

    def owned(self, gids):
        """Whether this rank owns (records, reports) each global index of `gids`."""
        return self._gid_owned[np.asarray(gids, dtype=np.int64)]

    def group_of(self, gids):
        """(group index, local index) host arrays for global indices."""
        gids = np.asarray(gids, dtype=np.int64)
        return self._gid_group[gids], self._gid_local[gids]

    def connect(self, pre, post, weight, delay_steps, receptor: str,
                label: str = "", model: str | None = None, params: dict | None = None,
                initial: dict | None = None):
        """Add synapses from global indices `pre` to `post` on receptor port `receptor`.

        Without `model` they are static (a :class:`SynapseGroup`); with the name
        of a synapse model (engine/synapses) they form a :class:`PlasticGroup`
        with that model's parameters `params` and initial state `initial`
        (numbers, or one value per synapse).
        """
        xp = self.backend.xp
        if self.comm.distributed:  # each rank keeps the synapses onto the neurons it holds
            pre, post, weight, delay_steps, params, initial = self._onto_stored(
                pre, post, weight, delay_steps, params, initial)
        memory.check_new_synapses(self, len(pre), indices_allocated=all(
            isinstance(a, xp.ndarray) and a.dtype == np.int32 for a in (pre, post)))
        pre = xp.asarray(pre, dtype=np.int32)
        post = xp.asarray(post, dtype=np.int32)
        n = pre.shape[0]
        weight = xp.broadcast_to(xp.asarray(weight, dtype=self.backend.float), (n,)).copy()
        delay = xp.broadcast_to(xp.asarray(delay_steps, dtype=np.int32), (n,)).copy()
        if n and int(delay.min()) < 1:
            raise ValueError("synaptic delays must be at least one time step")
        # the families receiving these synapses, found on the device (no host copy of post)
        targets = []
        if n:
            family = self._gid_group_device()[post]
            lo, hi = int(family.min()), int(family.max())
            targets = [lo] if lo == hi else np.nonzero(self.backend.to_host(
                xp.bincount(family, minlength=len(self.groups))))[0]
            del family
        for g in targets:
            self._group_by_index(g).model.port_index(receptor)
        if model is not None:
            spec_params = dict(params or {})
            implicit = get_synapse_model(model).implicit_parameters(self, post, receptor)
            for name, value in implicit.items():
                spec_params.setdefault(name, value)
            sg = PlasticGroup(self.backend, model, pre, post, weight, delay, receptor,
                              spec_params, initial or {}, label)
            self._n_plastic += 1
            sg.stream = f"synapses:{self._n_plastic}"  # creation order, not labels
            self.plastic_groups.append(sg)
        else:
            sg = SynapseGroup(pre, post, weight, delay, receptor, label)
            self.synapse_groups.append(sg)
            self.static_synapses += n
        self._tables = None
        return sg

    def _onto_stored(self, pre, post, weight, delay_steps, params, initial):
        """The synapses (and per-synapse values) whose target this rank holds."""
        xp = self.backend.xp
        n = int(post.shape[0])
        keep = self._gid_local_device()[xp.asarray(post, dtype=np.int64)] >= 0
        if bool(keep.all()):
            return pre, post, weight, delay_steps, params, initial
        sel = xp.nonzero(keep)[0]

        def take(value):
            arr = value if isinstance(value, (np.ndarray, xp.ndarray)) else np.asarray(value)
            if arr.ndim == 1 and arr.shape[0] == n:
                return xp.asarray(arr)[sel]
            return value
        return (take(pre), take(post), take(weight), take(delay_steps),
                {k: take(v) for k, v in (params or {}).items()},
                {k: take(v) for k, v in (initial or {}).items()})

    def neuron_parameter(self, gids, name: str, default: float):
        """Device array of parameter `name` of the neurons `gids` (`default` for
        neurons whose family lacks it); None if no family of them has it."""
        xp = self.backend.xp
        gids = xp.asarray(gids, dtype=np.int64)
        out = xp.full(gids.shape[0], float(default), dtype=np.float64)
        found = False
        family = self._gid_group_device()[gids]
        local = self._gid_local_device()[gids]
        for g in self.groups.values():
            if name not in g.params:
                continue
            sel = xp.nonzero(family == g.index)[0]
            if sel.shape[0]:
                out[sel] = g.params[name][local[sel]].astype(np.float64)
                found = True
        return out if found else None

    def _gid_local_device(self):
        cached = getattr(self, "_gid_local_dev", None)
        if cached is None or cached.shape[0] != self.n_neurons:
            cached = self._gid_local_dev = self.backend.asarray(self._gid_local)
        return cached

    def _gid_group_device(self):
        cached = getattr(self, "_gid_group_dev", None)
        if cached is None or cached.shape[0] != self.n_neurons:
            cached = self._gid_group_dev = self.backend.asarray(self._gid_group)
        return cached

    def extend_synapses(self, sg, pre, post, weight, delay_steps, params: dict | None = None,
                        initial: dict | None = None):
        """Append synapses to an existing group (same receptor and model)."""
        xp = self.backend.xp
        if isinstance(sg, PlasticGroup):
            more = self.connect(pre, post, weight, delay_steps, sg.receptor,
                                model=sg.model.name, params=params, initial=initial)
            self.plastic_groups.remove(more)
            sg.extend(more.pre, more.post, more.weight, more.delay, dict(more.params),
                      dict(more.initial))
            self._tables = None
            return
        more = self.connect(pre, post, weight, delay_steps, sg.receptor)
        self.synapse_groups.pop()  # more, just appended by connect
        sg.append(xp, more.pre, more.post, more.weight, more.delay)
        self._tables = None

    def add_procedural(self, group: ProceduralGroup):
        """Add synapses that are regenerated from their rule whenever a source spikes."""
        if group.min_delay < 1:
            raise ValueError("synaptic delays must be at least one time step")
        family = np.unique(self._gid_group[group.post_gids])
        for g in family:
            self._group_by_index(g).model.port_index(group.receptor)
        self.procedural_groups.append(group)
        self._tables = None

    def remove_synapses(self, sg):
        if isinstance(sg, ProceduralGroup):
            self.procedural_groups.remove(sg)
        elif isinstance(sg, PlasticGroup):
            self.plastic_groups.remove(sg)
        else:
            self.synapse_groups.remove(sg)
            self.static_synapses -= sg.size
        self._tables = None

    def synapses_changed(self):
        """Call after editing a synapse group's weights or delays in place."""
        self._tables = None

    def add_stimulus(self, stim: CurrentStimulus):
        if stim not in self.stimuli:
            self.stimuli.append(stim)

    def _group_by_index(self, index) -> NeuronGroup:
        return self._by_index[int(index)]

    # -- recording -----------------------------------------------------------------------
    def record_spikes(self, group: NeuronGroup, local):
        group.spike_recorder.add(local)

    def record_state(self, group: NeuronGroup, variable: str, local, interval_steps: int = 1
                     ) -> StateRecorder:
        if variable not in group.state or variable not in group.model.recordable:
            raise KeyError(f"{group.model.name} cannot record {variable!r}")
        rec = StateRecorder(self.backend, group, variable, local, interval_steps)
        self.state_recorders.append(rec)
        return rec

    def remove_state_recorder(self, rec: StateRecorder):
        if rec in self.state_recorders:
            self.state_recorders.remove(rec)

    # -- running -------------------------------------------------------------------------
    def _finalise(self):
        if self._tables is not None:
            return
        n_syn = sum(sg.size for sg in self.synapse_groups)
        per_syn = (construction.table_bytes_per_synapse(self.backend.float.itemsize)
                   + memory.FINALISE_TRANSIENT)
        memory.require(self.backend, n_syn * per_syn, "the synapses' delivery tables",
                       [("synapses", n_syn, per_syn)])
        host_group = self._gid_group
        gid_group = self.backend.asarray(host_group)
        gid_local = self.backend.asarray(self._gid_local)
        tables = {}
        max_delay = 1
        for g in self.groups.values():
            if not g.model.receptors:
                continue
            table = build_incoming(self.backend, gid_group, gid_local, self.n_neurons,
                                   self.synapse_groups, g.index, g.size,
                                   len(g.model.receptors), g.model.port_index)
            if table is not None:
                tables[g.index] = table
                max_delay = max(max_delay, table.max_delay)
        for pg in self.plastic_groups:
            pg.finalise(self)
            max_delay = max(max_delay, pg.max_delay)
        for proc in self.procedural_groups:
            proc._prepared = None   # its lookups are remade where first needed
            max_delay = max(max_delay, proc.max_delay)
        self._check_precise()
        self._tables = tables
        n_slots = max_delay + 1
        for g in self.groups.values():
            if not g.model.receptors:
                continue
            if g.ring is None:
                ring = delivery.EventRing if g.model.precise else delivery.RingBuffer
                g.ring = ring(self.backend, n_slots, len(g.model.receptors), g.size)
            elif g.ring.n_slots < n_slots or g.ring.n != g.size:
                g.ring = g.ring.resized(max(n_slots, g.ring.n_slots), g.size, self.step)
        self._n_slots = n_slots
        self.exchange = None
        if self.comm.distributed:
            self.exchange = self._make_exchange(tables)

    def _check_precise(self):
        """Refuse what precise spike timing (NEST's _ps families) cannot run yet."""
        precise = [g for g in self.groups.values() if g.model.precise and g.size]
        if not precise:
            return
        names = sorted({g.model.name for g in precise})
        timed = {g.index for g in precise if g.model.receptors}
        if not timed:
            return   # precise sources only: no target reads offsets (MPI exchanges steps)
        if self.comm.distributed:
            names = sorted({g.model.name for g in precise if g.index in timed})
            raise NotImplementedError(
                f"precise spike timing ({', '.join(names)}) is not available under MPI yet")
        for pg in [*self.plastic_groups, *self.procedural_groups]:
            post = getattr(pg, "post_gids", None)
            if post is None:
                post = self.backend.to_host(pg.post)
            if np.isin(self._gid_group[np.asarray(post, dtype=np.int64)], list(timed)).any():
                raise NotImplementedError(
                    "plastic or procedural synapses onto neurons with precise spike timing "
                    f"({', '.join(names)}) are not available yet; use "
                    "setup(spike_precision='on_grid')")

    def _make_exchange(self, tables):
        """The spike exchange: which sources this rank needs, and the interval (the
        smallest delay on any rank)."""
        needed = np.zeros(self.n_neurons, dtype=bool)
        low = 1 << 30
        for table in tables.values():
            needed |= self.backend.to_host(table.offsets[1:] > table.offsets[:-1])
            low = min(low, table.min_delay)
        for pg in self.plastic_groups:
            if pg.size:
                needed[self.backend.to_host(pg.pre)] = True
                low = min(low, int(self.backend.to_host(pg.delay.min())))
        order = np.lexsort((np.arange(self.n_neurons), self._gid_group))
        position = np.empty(self.n_neurons, dtype=np.int64)
        position[order] = np.arange(self.n_neurons)
        return parallel.SpikeExchange(self.comm, needed, self.comm.allreduce_min(low),
                                      position)

    def run(self, n_steps: int):
        """Advance the network by `n_steps` time steps."""
        if n_steps <= 0:   # run(0): the samples due now (the initial values at t = 0)
            for rec in self.state_recorders:
                if rec.due(self.step):
                    rec.sample(self.step)
                rec.flush()
            return
        if self.backend.is_gpu:   # compile in worker threads while the tables are built
            from .gpu import prefetch_modules
            prefetch_modules(self)
        self._finalise()
        memory.check_recording(self.backend, sum(
            rec.local.size * (n_steps // rec.interval + 1) for rec in self.state_recorders))
        groups = [g for g in self.groups.values() if g.size]
        for g in groups:
            g.prepare()
            g.extra = g.model.prepare_run(self.backend, g, self.step)
        for rec in self.state_recorders:
            if rec.due(self.step):
                rec.sample(self.step)
        for g in groups:
            g.log_emitted(self.step, self.step + n_steps)
        if self._gpu_step_possible():
            from .gpu import GpuStep
            runner = self.last_gpu_step = GpuStep(self, n_steps, use_graphs=self.use_graphs)
            runner.run()
            for launch in runner.plastic:
                launch.end_run()
            for pg in self.plastic_groups:
                pg.check_history()
            return
        compiled = self._compiled_cpu_step(groups)
        if compiled is not None:
            compiled.run(n_steps)
        else:
            run_reference(self, groups, n_steps)
        for g in groups:
            g.spike_recorder.flush()
        for rec in self.state_recorders:
            rec.flush()
        for pg in self.plastic_groups:
            pg.check_history()

    def _compiled_cpu_step(self, groups):
        """The compiled CPU step for this run (engine/cpu), or None: the backend asks for
        the reference step, or the compiled step cannot run this network (said once per
        reason, through `notify`)."""
        if self.backend.is_gpu or self.backend.cpu_engine != "compiled":
            return None
        from . import cpu
        reason = cpu.unsupported(self)
        if reason is None:
            try:
                return cpu.CpuStep(self, groups)
            except cpu.compiler.CompilerMissing as err:
                reason = str(err)
        if reason not in _FALLBACKS_SAID:
            _FALLBACKS_SAID.add(reason)
            (self.notify or logger.info)(
                f"this network runs on the reference CPU step (NumPy), not the compiled "
                f"one: {reason}")
        return None

    def _gpu_step_possible(self) -> bool:
        if not (self.backend.is_gpu and self.use_kernels):
            return False
        if self.exchange is not None and self.plastic_groups:
            # remote spikes reach plastic synapses at their own step only in the array-code
            # step (which runs on the device's arrays)
            return False
        from .gpu import GpuStep
        return GpuStep.supports(self)

    def reset(self):
        """Return to t = 0: clear pending input and recorders' progress.

        State variables are re-initialised by the caller (it knows the initial values).
        """
        self.step = 0
        self.epoch += 1
        if self.exchange is not None:
            self.exchange.clear()
        for g in self.groups.values():
            if g.ring is not None:
                g.ring.clear()
            g.extra = {}
            g._emitted = []
            for name in g.model.internal:
                g.state[name][...] = 0
            g.spike_recorder.clear()
        for rec in self.state_recorders:
            rec.restart()
        for stim in self.stimuli:
            stim.reset()
        for pg in self.plastic_groups:
            pg.restart()


def _take_block(values, n, lo, hi):
    """Per-neuron values of neurons lo..hi-1 out of `n` (numbers stay as they are)."""
    if not values:
        return values
    out = {}
    for name, value in values.items():
        if isinstance(value, list) and len(value) == n:
            out[name] = value[lo:hi]
        elif np.ndim(value) == 1 and len(value) == n:
            out[name] = value[lo:hi]
        else:
            out[name] = value
    return out


__all__ = ["Network", "NeuronGroup", "PlasticGroup", "Slice"]
