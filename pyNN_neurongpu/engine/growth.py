"""Arrays that grow by appending: each is handed out as a view of a buffer with room to
spare, so that a family built population by population (the multi-area model appends 254
populations to one family) copies each value a bounded number of times instead of once
per later population."""

from __future__ import annotations

GROWTH = 1.5  # a full buffer is replaced by one this many times larger


class Growing:
    """Buffers behind the arrays of one owner, by name."""

    def __init__(self):
        self._buffers = {}  # name -> (buffer, the view last handed out)

    def extend(self, xp, name: str, current, column):
        """`current` followed by `column` (same dtype). Where `current` is the view this
        object last returned for `name` and its buffer has room, `column` is written into
        the buffer and a longer view returned; else a new buffer is allocated."""
        n0, n = int(current.shape[0]), int(column.shape[0])
        buffer, view = self._buffers.get(name, (None, None))
        if (buffer is None or view is not current or buffer.dtype != column.dtype
                or buffer.shape[0] < n0 + n):
            capacity = n0 + n if n0 == 0 else max(n0 + n, int(n0 * GROWTH))
            buffer = xp.empty(capacity, dtype=column.dtype)
            buffer[:n0] = current
        buffer[n0:n0 + n] = column
        view = buffer[:n0 + n]
        self._buffers[name] = (buffer, view)
        return view
