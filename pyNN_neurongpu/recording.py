"""Recorder: engine spike and state buffers -> the data PyNN turns into Neo."""

from __future__ import annotations

import numpy as np
from pyNN import errors, recording

from . import simulator
from .standardmodels.base import engine_state_name


def _gather_blocks_everywhere(data):
    """PyNN's gather_blocks with an allgather: every rank gets the merged Block."""
    comm, _ = recording.get_mpi_comm()
    blocks = comm.allgather(data)
    merged = blocks[0]
    for seg in merged.segments:
        for sig in seg.analogsignals:
            sig.segment = seg  # Neo's merge needs it (as in PyNN's gather_blocks)
    for block in blocks[1:]:
        for seg, mseg in zip(block.segments, merged.segments):
            for sig in seg.analogsignals:
                sig.segment = mseg
        merged.merge(block)
    for segment in merged.segments:
        segment.spiketrains = sorted(segment.spiketrains,
                                     key=lambda s: s.annotations["channel_id"])
    return merged


class Recorder(recording.Recorder):
    """Records spikes and state variables of one population."""
    _simulator = simulator

    def __init__(self, population, file=None):
        self._state_recorders = {}   # variable name -> engine StateRecorder
        recording.Recorder.__init__(self, population, file)

    # -- gathering (MPI) --------------------------------------------------------------
    def get(self, variables, gather=False, filter_ids=None, clear=False,
            annotations=None, locations=None):
        """The recorded data as a Neo Block; under MPI with `gather`, every cell's data on
        every rank (PyNN gives it to rank 0 only), so a script may use it anywhere."""
        parallel = gather and self._simulator.state.num_processes > 1
        data = recording.Recorder.get(self, variables, gather and not parallel, filter_ids,
                                      clear, annotations, locations)
        return _gather_blocks_everywhere(data) if parallel else data

    def count(self, variable, gather=True, filter_ids=None):
        counts = recording.Recorder.count(self, variable, False, filter_ids)
        if gather and self._simulator.state.num_processes > 1:
            counts = recording.gather_dict(counts, all=True)
        return counts

    # -- PyNN hooks ---------------------------------------------------------------------
    def record(self, variables, ids, sampling_interval=None, locations=None):
        if sampling_interval is not None:
            dt = self._simulator.state.dt
            steps = sampling_interval / dt
            if not sampling_interval >= dt:
                raise ValueError(f"sampling_interval = {sampling_interval} ms: the sampling "
                                 f"interval must be at least the time step dt = {dt} ms")
            if abs(steps - round(steps)) > 1e-6:
                raise ValueError(f"sampling_interval = {sampling_interval} ms: the sampling "
                                 f"interval must be a multiple of the time step dt = {dt} ms")
        self._check_sampling_interval(sampling_interval)
        ids = set(ids)
        if self._simulator.state.num_processes > 1:  # record the cells this rank owns
            gids = np.fromiter((int(i) for i in ids), dtype=np.int64, count=len(ids))
            ids = set(np.asarray(sorted(ids), dtype=object)[
                self._network.owned(np.sort(gids))].tolist())
        for variable in self._localize_variables(variables, locations):
            if not self.population.can_record(variable.name, variable.location):
                raise errors.RecordingError(variable, self.population.celltype)
            new_ids = ids.difference(self.recorded[variable])
            self.recorded[variable] = self.recorded[variable].union(ids)
            self._record(variable, new_ids, sampling_interval)
        if sampling_interval is not None:
            self.sampling_interval = sampling_interval

    def _record(self, variable, new_ids, sampling_interval=None):
        if not new_ids:
            return
        pop = self.population
        gids = np.sort(np.fromiter((int(i) for i in new_ids), dtype=np.int64, count=len(new_ids)))
        _, local = self._network.group_of(gids)
        group = pop._slice_info.group
        if variable.name == "spikes":
            self._network.record_spikes(group, local)
            return
        interval = sampling_interval or self.sampling_interval
        steps = int(round(interval / self._simulator.state.dt))
        rec = self._state_recorders.get(variable.name)
        if rec is None:
            self._state_recorders[variable.name] = self._network.record_state(
                group, engine_state_name(pop.celltype, variable.name), local, steps)
        else:
            rec.add(local)

    @property
    def _network(self):
        return self._simulator.state.network

    def _local_of(self, ids):
        gids = np.fromiter((int(i) for i in ids), dtype=np.int64, count=len(ids))
        return self._network.group_of(gids)[1]

    def _spike_events(self, ids):
        """(gid per spike, time per spike) for the cells `ids`, spikes repeated by
        their multiplicity."""
        group = self.population._slice_info.group
        steps, local, counts = group.spike_recorder.events()
        wanted = np.sort(self._local_of(ids))
        mask = np.isin(local, wanted)
        steps, local, counts = steps[mask], local[mask], counts[mask]
        if counts.size and counts.max() > 1:
            steps = np.repeat(steps, counts)
            local = np.repeat(local, counts)
        gids = group.gids[local]
        times = None
        if self._simulator.state.spike_precision == "off_grid":
            times = group.exact_spike_times(steps, local)
        if times is None:
            times = self._simulator.state.spike_times_of(steps + 1)
        return gids, times

    def _get_spiketimes(self, ids, clear=False):
        gids, times = self._spike_events(ids)
        if clear:
            self.population._slice_info.group.spike_recorder.clear(self._local_of(ids))
        return gids, times

    def _get_all_signals(self, variable, ids, clear=False):
        """Samples of `variable` (rows: t_start, t_start + interval, ... up to now;
        columns: `ids`); rows from before a cell or variable was recorded are NaN."""
        rec = self._state_recorders.get(variable.name)
        if rec is None or len(ids) == 0:
            return np.array([]), None
        steps, values = rec.data()
        cols = np.searchsorted(rec.local, self._local_of(ids))
        state = self._simulator.state
        start = int(round(float(self._recording_start_time.rescale("ms").magnitude) / state.dt))
        first = -(-start // rec.interval) * rec.interval
        expected = np.arange(first, self._network.step + 1, rec.interval)
        signals = np.full((expected.size, cols.size), np.nan)
        row = np.searchsorted(expected, steps)
        valid = (row < expected.size) & (expected[np.minimum(row, expected.size - 1)] == steps)
        signals[row[valid]] = values[np.ix_(valid, cols)]
        if clear:
            rec.clear(keep_last=True)
        return signals, None

    def _local_count(self, variable, filter_ids=None):
        ids = sorted(self.filter_recorded(variable, filter_ids))
        gids, _ = self._spike_events(ids)
        counts = dict.fromkeys((int(i) for i in ids), 0)
        uniq, n = np.unique(gids, return_counts=True)
        counts.update(zip(uniq.tolist(), n.tolist()))
        return counts

    def _clear_simulator(self):
        pop = self.population
        pop._slice_info.group.spike_recorder.clear(pop._local())
        for rec in self._state_recorders.values():
            rec.clear(keep_last=True)

    def _reset(self):
        pop = self.population
        pop._slice_info.group.spike_recorder.clear(pop._local())
        recorded = pop._slice_info.group.spike_recorder.local
        keep = recorded[~np.isin(recorded, pop._local())]
        pop._slice_info.group.spike_recorder.remove_all()
        if keep.size:
            pop._slice_info.group.spike_recorder.add(keep)
        for rec in self._state_recorders.values():
            self._network.remove_state_recorder(rec)
        self._state_recorders = {}
