"""A stand-in for ``neo.io.PyNNTextIO`` (removed from neo) for PyNN's Potjans2014 example.

``PyNNTextIO(filename).write_segment(segment)`` writes the segment's spikes as lines
``time id`` (ms, index of the neuron in its population), or its first analog signal as
lines ``value id``, the two-column layout the example's plotting code reads.
"""

from __future__ import annotations

import numpy as np

ROWS_PER_WRITE = 1 << 20


class PyNNTextIO:
    """Writes one neo Segment to a two-column text file."""

    def __init__(self, filename: str):
        self.filename = filename

    def write_segment(self, segment) -> None:
        if segment.spiketrains:
            values, ids = _spikes(segment.spiketrains)
            header = "time (ms), id"
        elif segment.analogsignals:
            signal = segment.analogsignals[0]
            data = np.asarray(signal.magnitude)
            channels = signal.array_annotations.get("channel_index", np.arange(data.shape[1]))
            values = data.T.ravel()
            ids = np.repeat(np.asarray(channels), data.shape[0])
            header = f"{signal.name} ({signal.units.dimensionality}), id"
        else:
            values, ids, header = np.zeros(0), np.zeros(0), "empty segment"
        with open(self.filename, "w") as f:
            f.write(f"# {header}\n")
            for k in range(0, values.size, ROWS_PER_WRITE):
                v = values[k:k + ROWS_PER_WRITE]
                rows = np.column_stack([v, ids[k:k + ROWS_PER_WRITE]]).ravel().tolist()
                f.write(("%.10g %d\n" * v.size) % tuple(rows))


def _spikes(spiketrains):
    """(times in ms, index in the population) of all spikes of a SpikeTrainList."""
    multiplexed = getattr(spiketrains, "_spike_time_array", None) is not None
    if multiplexed:
        channels, times = spiketrains.multiplexed
        all_channels = np.asarray(spiketrains._all_channel_ids)
        order = np.argsort(all_channels, kind="stable")
        index = order[np.searchsorted(all_channels[order], channels)]
        return np.asarray(times.rescale("ms").magnitude), index
    parts = [(np.asarray(st.rescale("ms").magnitude),
              np.full(len(st), st.annotations.get("source_index", k)))
             for k, st in enumerate(spiketrains)]
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
