"""A stand-in for ``neo.io.PyNNTextIO`` (removed from neo) for PyNN's Potjans2014 example.

``PyNNTextIO(filename).write_segment(segment)`` writes the segment's spikes as lines
``time id`` (ms, index of the neuron in its population), or its first analog signal as
lines ``value id``, the two-column layout the example's plotting code reads.
"""

from __future__ import annotations

import numpy as np


class PyNNTextIO:
    """Writes one neo Segment to a two-column text file."""

    def __init__(self, filename: str):
        self.filename = filename

    def write_segment(self, segment) -> None:
        if segment.spiketrains:
            columns = [(np.asarray(st.rescale("ms").magnitude),
                        np.full(len(st), st.annotations.get("source_index", k)))
                       for k, st in enumerate(segment.spiketrains)]
            header = "time (ms), id"
        elif segment.analogsignals:
            signal = segment.analogsignals[0]
            values = np.asarray(signal.magnitude)
            ids = signal.array_annotations.get("channel_index", np.arange(values.shape[1]))
            columns = [(values[:, k], np.full(values.shape[0], ids[k]))
                       for k in range(values.shape[1])]
            header = f"{signal.name} ({signal.units.dimensionality}), id"
        else:
            columns = []
            header = "empty segment"
        data = (np.column_stack([np.concatenate([c[0] for c in columns]),
                                 np.concatenate([c[1] for c in columns])])
                if columns else np.zeros((0, 2)))
        np.savetxt(self.filename, data, fmt=["%.10g", "%d"], header=header)
