"""The engine's network: neuron families, synapse groups, stimuli and recorders.

Usable without PyNN::

    net = Network(Backend("cpu"), dt=0.1)
    src = net.add_neurons("spike_source_array", 1, {"spike_times": [[1.0, 5.0]]})
    nrn = net.add_neurons("iaf_psc_exp", 1)
    net.connect(src.gids, nrn.gids, weight=[0.5], delay_steps=[10], receptor="excitatory")
    net.record_spikes(nrn.group, nrn.local)
    net.run(1000)

One time step (DESIGN.md): each family takes this step's slot of its input
ring buffer and updates all its neurons in one call; spikes and sampled state
are recorded; spikes are propagated into the ring buffers of their targets.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from . import construction, delivery, memory
from .backend import Backend
from .construction import SynapseGroup, build_incoming
from .kernels import env_flag
from .models import MODELS, StepContext, get_model
from .plasticity import PlasticGroup
from .procedural import ProceduralGroup
from .recording import SpikeRecorder, StateRecorder
from .stimuli import CurrentStimulus
from .synapses import get_synapse_model

logger = logging.getLogger("pyNN_neurongpu")

RUN_BLOCK = 1024  # steps whose stimulus currents are prepared at once
STIM_BLOCK_VALUES = 1 << 22  # cap on per-target stimulus values prepared at once


class NeuronGroup:
    """All neurons of one model family: structure-of-arrays state and parameters."""

    def __init__(self, backend: Backend, model, index: int, dt: float):
        self.backend = backend
        self.model = model
        self.index = index
        self.dt = dt
        self.size = 0
        xp = backend.xp
        self.params = {name: backend.zeros(0) for name in model.parameters
                       if name not in model.sequence_parameters}
        self.sequences = {name: [] for name in model.sequence_parameters}
        self.state = {name: backend.zeros(0) for name in model.state}
        for name, dtype in model.internal.items():
            self.state[name] = xp.zeros(0, dtype=backend.float if dtype == "float" else dtype)
        self.gids = np.zeros(0, dtype=np.int64)
        self.derived = None
        self.extra = {}
        self.ring = None
        self.spike_recorder = SpikeRecorder(backend, self)
        self._emitted = []   # (step, local, exact time) of scheduled spikes already emitted

    # -- structure -------------------------------------------------------------------
    def append(self, n: int, gid_start: int, params: dict, initial: dict) -> int:
        """Add `n` neurons; returns the local index of the first one."""
        xp = self.backend.xp
        offset = self.size
        # build and check the new neurons' values before anything changes
        columns = {name: self._column(params.get(name, self.model.parameters[name].default),
                                      n, self.backend.float)
                   for name in self.params}
        sequences = {}
        for name in self.sequences:
            value = params.get(name)
            seqs = [np.zeros(0)] * n if value is None else [np.asarray(v, float) for v in value]
            if len(seqs) != n:
                raise ValueError(f"{name} needs one sequence per neuron")
            sequences[name] = seqs
        self.model.check_sequences(sequences)
        self._check(columns)
        for name, column in columns.items():
            self.params[name] = xp.concatenate([self.params[name], column])
        for name, seqs in sequences.items():
            self.sequences[name].extend(seqs)
        for name, var in self.model.state.items():
            value = initial.get(name, var.default)
            self.state[name] = xp.concatenate(
                [self.state[name], self._column(value, n, self.backend.float)])
        for name, dtype in self.model.internal.items():
            dt = self.backend.float if dtype == "float" else np.dtype(dtype)
            self.state[name] = xp.concatenate([self.state[name], xp.zeros(n, dtype=dt)])
        self.gids = np.concatenate([self.gids, np.arange(gid_start, gid_start + n)])
        self.gids_dev = self.backend.asarray(self.gids)
        self.size += n
        self.derived = None
        return offset

    def _column(self, value, n, dtype):
        xp = self.backend.xp
        if np.isscalar(value) or (hasattr(value, "ndim") and value.ndim == 0):
            return xp.full(n, float(value), dtype=dtype)
        arr = xp.asarray(value, dtype=dtype)
        if arr.shape != (n,):
            raise ValueError(f"expected {n} values, got shape {arr.shape}")
        return arr

    # -- parameters and state --------------------------------------------------------
    def set_param(self, name: str, local, values):
        if name in self.sequences:
            seqs = self.sequences[name]
            local = np.atleast_1d(np.asarray(local))
            if len(values) == 1 and local.size != 1:
                values = list(values) * local.size
            self.model.check_sequences({name: values})
            for i, v in zip(local.tolist(), values):
                seqs[i] = np.asarray(v, dtype=float)
            self.extra = {}
        elif name in self.params:
            new = self.params[name].copy()
            new[self.backend.asarray(local)] = self.backend.asarray(values,
                                                                    dtype=self.backend.float)
            trial = dict(self.params)
            trial[name] = new
            self._check(trial)
            self.params[name] = new
        else:
            raise KeyError(f"{self.model.name} has no parameter {name!r}")
        self.derived = None

    def set_params(self, local, updates: dict):
        """Set several parameters of the neurons `local` at once: all values are
        checked first, and nothing changes if any is invalid."""
        unknown = [name for name in updates
                   if name not in self.params and name not in self.sequences]
        if unknown:
            raise KeyError(f"{self.model.name} has no parameter {unknown[0]!r}")
        trial = dict(self.params)
        index = self.backend.asarray(local)
        for name, values in updates.items():
            if name in self.params:
                new = self.params[name].copy()
                new[index] = self.backend.asarray(values, dtype=self.backend.float)
                trial[name] = new
        self._check(trial)
        for name, values in updates.items():
            if name in self.sequences:
                self.set_param(name, local, values)
        self.params = trial
        self.derived = None

    def get_param(self, name: str, local):
        if name in self.sequences:
            return [self.sequences[name][i] for i in np.atleast_1d(local).tolist()]
        return self.backend.to_host(self.params[name][self.backend.asarray(local)])

    def set_state(self, name: str, local, values):
        if name not in self.state:
            raise KeyError(f"{self.model.name} has no state variable {name!r}")
        self.state[name][self.backend.asarray(local)] = self.backend.asarray(
            values, dtype=self.state[name].dtype)

    def get_state(self, name: str, local):
        return self.backend.to_host(self.state[name][self.backend.asarray(local)])

    def log_emitted(self, first_step: int, end_step: int):
        """Remember the exact times of the scheduled spikes emitted in
        [first_step, end_step) (families that replay a schedule)."""
        steps = self.extra.get("steps")
        if steps is None or not len(steps):
            return
        hi = int(np.searchsorted(steps, end_step))
        lo = int(np.searchsorted(steps, first_step))
        if hi > lo:
            self._emitted.append((steps[lo:hi], self.extra["local_host"][lo:hi],
                                  self.extra["times"][lo:hi]))

    def exact_spike_times(self, steps, local):
        """Exact times of recorded spikes (step, local index; one entry per spike, sorted
        by step then local), for families that replay a schedule; None otherwise."""
        if not self._emitted:
            return None if steps.size else np.zeros(0)
        log_steps, log_local, log_times = (np.concatenate(a) for a in zip(*self._emitted))
        self._emitted = [(log_steps, log_local, log_times)]
        n = max(self.size, 1)
        log_keys = log_steps * n + log_local
        order = np.lexsort((log_times, log_keys))
        log_keys, log_times = log_keys[order], log_times[order]
        keys = steps * n + local
        first_of_key = np.searchsorted(keys, keys, side="left")
        position = np.searchsorted(log_keys, keys, side="left") + (np.arange(keys.size)
                                                                    - first_of_key)
        if position.size and (position.max() >= log_keys.size
                              or np.any(log_keys[position] != keys)):
            return None
        return log_times[position]

    def _check(self, params):
        """Run the model's parameter checks on host copies (models use NumPy there)."""
        self.model.check({k: self.backend.to_host(v) for k, v in params.items()})

    def prepare(self):
        """Compute the model's derived quantities (in float64, stored in the backend's
        precision) if parameters changed since the last call."""
        if self.derived is None:
            self._check(self.params)
            xp = self.backend.xp
            wide = {k: v.astype(np.float64) for k, v in self.params.items()}
            derived = self.model.prepare(xp, wide, self.dt)
            self.derived = {k: (v.astype(self.backend.float)
                                if getattr(v, "dtype", None) == np.float64 else v)
                            for k, v in derived.items()}


@dataclass
class Slice:
    """The neurons of one population inside a family."""
    group: NeuronGroup
    offset: int
    size: int
    gid_start: int

    @property
    def local(self):
        return np.arange(self.offset, self.offset + self.size)

    @property
    def gids(self):
        return np.arange(self.gid_start, self.gid_start + self.size)


class Network:
    """A spiking network on one backend, advanced in fixed steps of `dt` ms."""

    def __init__(self, backend: Backend, dt: float):
        self.backend = backend
        self.dt = float(dt)
        self.step = 0
        self.groups: dict[str, NeuronGroup] = {}
        self.n_neurons = 0
        self._gid_group = np.zeros(0, dtype=np.int32)
        self._gid_local = np.zeros(0, dtype=np.int64)
        self.synapse_groups: list[SynapseGroup] = []
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
        self.use_kernels = env_flag("PYNN_NEURONGPU_KERNELS", True)
        self.use_graphs = env_flag("PYNN_NEURONGPU_GRAPHS", True)

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
        offset = group.append(n, gid_start, params or {}, initial or {})
        group.prepare()  # validates parameters before anything else changes
        self.groups[model] = group
        self._by_index = {g.index: g for g in self.groups.values()}
        self._gid_group = np.concatenate([self._gid_group, np.full(n, group.index, np.int32)])
        self._gid_local = np.concatenate([self._gid_local, np.arange(offset, offset + n)])
        self.n_neurons += n
        self._tables = None
        return Slice(group, offset, n, gid_start)

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
        self._tables = None
        return sg

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
        self.synapse_groups.remove(more)
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
            proc.prepare(self)
            max_delay = max(max_delay, proc.max_delay)
        self._tables = tables
        n_slots = max_delay + 1
        for g in self.groups.values():
            if not g.model.receptors:
                continue
            if g.ring is None:
                g.ring = delivery.RingBuffer(self.backend, n_slots, len(g.model.receptors), g.size)
            elif g.ring.n_slots < n_slots or g.ring.n != g.size:
                g.ring = g.ring.resized(max(n_slots, g.ring.n_slots), g.size, self.step)
        self._n_slots = n_slots

    def _stimulus_block(self, first_step: int, n_steps: int):
        """Per family: at most two (local indices, currents (n_steps, n_columns), column
        of each target or None) entries, so each step costs one or two scatter-adds
        however many stimuli there are. Currents common to all targets of a stimulus
        take one column per stimulus; per-target currents one column per target."""
        backend = self.backend
        common, own = {}, {}
        for stim in self.stimuli:
            if not stim.begin_block(first_step):
                continue
            values = stim.values(backend, first_step, n_steps, self.dt)
            if stim.targets.size == 0:
                continue
            gidx, local = self.group_of(stim.targets)
            for gi in np.unique(gidx):
                sel = gidx == gi
                if values.ndim == 1:
                    common.setdefault(int(gi), []).append((local[sel], values))
                else:
                    columns = values[:, backend.asarray(np.nonzero(sel)[0])]
                    own.setdefault(int(gi), []).append((local[sel], columns))
        block = {}
        for gi, parts in common.items():
            which = np.repeat(np.arange(len(parts)), [local.size for local, _ in parts])
            block[gi] = [(backend.asarray(np.concatenate([local for local, _ in parts])),
                          backend.xp.stack([v for _, v in parts], axis=1),
                          backend.asarray(which))]
        for gi, parts in own.items():
            block.setdefault(gi, []).append(
                (backend.asarray(np.concatenate([local for local, _ in parts])),
                 backend.xp.concatenate([v for _, v in parts], axis=1), None))
        return block

    def run(self, n_steps: int):
        """Advance the network by `n_steps` time steps."""
        if n_steps <= 0:
            return
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
            from .gpu_step import GpuStep
            runner = self.last_gpu_step = GpuStep(self, n_steps, use_graphs=self.use_graphs)
            runner.run()
            for launch in runner.plastic:
                launch.end_run()
            for pg in self.plastic_groups:
                pg.check_history()
            return
        self._run_reference(groups, n_steps)
        for g in groups:
            g.spike_recorder.flush()
        for rec in self.state_recorders:
            rec.flush()
        for pg in self.plastic_groups:
            pg.check_history()

    def _run_reference(self, groups, n_steps: int):
        end = self.step + n_steps
        width = sum(s.n_targets for s in self.stimuli if s.per_target)
        max_block = max(1, min(RUN_BLOCK, STIM_BLOCK_VALUES // max(width, 1)))
        while self.step < end:
            block_len = min(max_block, end - self.step)
            for s in self.stimuli:  # targets join a stimulus only at a block's start
                joins = s.next_target_step(self.step)
                if joins is not None:
                    block_len = min(block_len, joins - self.step)
            stim = self._stimulus_block(self.step, block_len)
            for k in range(block_len):
                self._advance(groups, stim, k)

    def _gpu_step_possible(self) -> bool:
        if not (self.backend.is_gpu and self.use_kernels) or self.procedural_groups:
            return False
        from .gpu_step import GpuStep
        return GpuStep.supports(self)

    def _advance(self, groups, stim, k):
        xp = self.backend.xp
        step = self.step
        fired = []
        for g in groups:
            inputs = g.ring.take(step) if g.ring is not None else None
            i_stim = xp.zeros(g.size, dtype=self.backend.float)
            for local, values, which in stim.get(g.index, ()):
                row = values[k]
                self.backend.scatter_add(i_stim, local, row if which is None else row[which])
            ctx = StepContext(xp=xp, dt=self.dt, step=step, params=g.params,
                              derived=g.derived, state=g.state, inputs=inputs,
                              i_stim=i_stim, rng=self.backend.rng(f"neurons:{g.model.name}"),
                              extra=g.extra)
            counts = g.model.update(ctx)
            g.spike_recorder.record(step, counts)
            fired.append((g, counts))
        self.step = step + 1
        for rec in self.state_recorders:
            if rec.due(self.step):
                rec.sample(self.step)
        if not self._tables and not self.plastic_groups and not self.procedural_groups:
            return
        sources, mult = [], []
        for g, counts in fired:
            local = xp.nonzero(counts)[0]
            if local.shape[0]:
                sources.append(g.gids_dev[local])
                mult.append(counts[local])
        if sources:
            sources = xp.concatenate(sources)
            mult = xp.concatenate(mult)
            for gi, table in self._tables.items():
                g = self._group_by_index(gi)
                delivery.propagate(self.backend, table, g.ring, step, sources, mult)
            for proc in self.procedural_groups:
                proc.deliver(self, step, sources, mult)
        else:
            sources = mult = None
        if self.plastic_groups:
            self._deliver_plastic(step, fired, sources, mult)

    def _deliver_plastic(self, step, fired, sources, mult):
        spike_counts = None
        if any(pg.post_history is not None for pg in self.plastic_groups):
            spike_counts = self.backend.xp.zeros(self.n_neurons, dtype=np.int64)
            for g, counts in fired:
                spike_counts[g.gids_dev] = counts
        for pg in self.plastic_groups:
            pg.deliver(self, step, sources, mult, spike_counts)

    def reset(self):
        """Return to t = 0: clear pending input and recorders' progress.

        State variables are re-initialised by the caller (it knows the initial values).
        """
        self.step = 0
        self.epoch += 1
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


__all__ = ["MODELS", "Network", "NeuronGroup", "PlasticGroup", "Slice"]
