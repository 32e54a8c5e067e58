"""Values of synapse parameters (PyNN lazy arrays of shape pre x post) at given
connections, computed in bulk.

Random values follow PyNN's order of evaluation exactly when drawn from a
NumpyRNG: a connector's generic code draws, column after column (target after
target), one value per connection of that column; pyNN.nest's
``Projection.set`` draws the whole pre x post matrix row by row. Values that
are functions of distance are computed with the projection's space, on column
blocks, as PyNN computes them.
"""

from __future__ import annotations

import numpy as np
from lazyarray import larray
from pyNN.random import RandomDistribution

from . import numpy_streams
from .random import native_for

BLOCK_ELEMENTS = 1 << 22


def is_distance_map(value) -> bool:
    """True for the distance function PyNN's Space builds (evaluated on index grids)."""
    return getattr(value, "__qualname__", "").startswith("Space.distance_generator")


class Connections:
    """Index pairs of connections (host NumPy or device arrays).

    `column_ordered`: sorted by post index, and within a column in the order in
    which PyNN's generic connector lists that column's sources.
    """

    def __init__(self, pre, post, n_pre, n_post, backend, column_ordered=True):
        self.pre = pre
        self.post = post
        self.n_pre = n_pre
        self.n_post = n_post
        self.backend = backend
        self.column_ordered = column_ordered
        self.size = int(pre.shape[0])
        self._host = None

    @property
    def on_host(self) -> bool:
        return isinstance(self.pre, np.ndarray)

    def host(self):
        """(pre, post) as NumPy arrays."""
        if self._host is None:
            self._host = (self.backend.to_host(self.pre).astype(np.int64),
                          self.backend.to_host(self.post).astype(np.int64))
        return self._host

    def column_counts(self) -> np.ndarray:
        """Number of connections of each column, for successive columns with any."""
        post = self.host()[1]
        if post.size == 0:
            return np.zeros(0, dtype=np.int64)
        starts = np.flatnonzero(np.r_[True, post[1:] != post[:-1]])
        return np.diff(np.r_[starts, post.size])


def column_draws(connections: Connections):
    """The `draw` of :func:`values_at` for a connector: per column, one value per
    connection, as PyNN's generic connectors draw them."""
    def draw(distribution):
        n = connections.size
        native = native_for(distribution.rng)
        if native is not None:
            return native.draw(distribution.name, distribution.parameters, n,
                               connections.backend)
        if connections.column_ordered:
            return numpy_streams.draws_by_column(distribution, connections.column_counts())
        return np.asarray(distribution.next(n)) if n else np.zeros(0)
    return draw


def matrix_draws(connections: Connections):
    """The `draw` of :func:`values_at` for ``Projection.set``: the value of a pair
    is its element of a pre x post matrix drawn row by row (as pyNN.nest draws it);
    several connections of one pair share it."""
    def draw(distribution):
        native = native_for(distribution.rng)
        if native is not None:
            return native.draw(distribution.name, distribution.parameters,
                               connections.size, connections.backend)
        pre, post = connections.host()
        n_pre, n_post = connections.n_pre, connections.n_post
        if not numpy_streams.splittable(distribution):
            full = np.asarray(distribution.next(n_pre * n_post)).reshape(n_pre, n_post)
            return full[pre, post]
        out = np.empty(pre.size)
        if pre.size == 0:
            return out
        order = np.argsort(pre, kind="stable")
        sorted_pre = pre[order]
        rows = max(1, BLOCK_ELEMENTS // max(n_post, 1))
        # rows after the last one used are never needed: the distribution is a copy
        for r0 in range(0, int(sorted_pre[-1]) + 1, rows):
            r1 = min(n_pre, r0 + rows)
            block = np.asarray(distribution.next((r1 - r0) * n_post)).reshape(r1 - r0, n_post)
            lo, hi = np.searchsorted(sorted_pre, [r0, r1])
            sel = order[lo:hi]
            out[sel] = block[pre[sel] - r0, post[sel]]
        return out
    return draw


def distances_at(distance_map, connections: Connections) -> np.ndarray:
    """PyNN's distance function at the connections, evaluated on column blocks."""
    pre, post = connections.host()
    out = np.empty(pre.size)
    if pre.size == 0:
        return out
    if connections.column_ordered:
        order = None
        sorted_post = post
    else:
        order = np.argsort(post, kind="stable")
        sorted_post = post[order]
    columns = np.unique(sorted_post)
    per_block = max(1, BLOCK_ELEMENTS // max(connections.n_pre, 1))
    rows = np.arange(connections.n_pre)[:, None]
    for c0 in range(0, columns.size, per_block):
        cols = columns[c0:c0 + per_block]
        block = np.asarray(distance_map(rows, cols[None, :])).reshape(rows.size, cols.size)
        lo, hi = np.searchsorted(sorted_post, [cols[0], cols[-1] + 1])
        sel = np.arange(lo, hi) if order is None else order[lo:hi]
        out[sel] = block[pre[sel], np.searchsorted(cols, post[sel])]
    return out


def values_at(value, connections: Connections, draw):
    """Value of lazy array `value` at each connection: a number when homogeneous,
    else an array (NumPy, or a device array when drawn by a NativeRNG).

    `draw(distribution)` returns the random values of a RandomDistribution base.
    """
    if value.is_homogeneous:
        return value.evaluate(simplify=True)
    base = value.base_value
    if isinstance(base, RandomDistribution):
        x = draw(base)
    elif isinstance(base, np.ndarray):
        pre, post = connections.host()
        x = base[pre, post]
    elif isinstance(base, (bool, int, float, np.number)):
        x = np.full(connections.size, base)
    elif is_distance_map(base):
        x = distances_at(base, connections)
    elif callable(base):
        pre, post = connections.host()
        x = np.broadcast_to(np.asarray(base(pre, post)), pre.shape)
    else:
        raise TypeError(f"cannot evaluate a synapse parameter given as {type(base).__name__}")
    for f, arg in value.operations:
        if arg is None:
            x = f(x)
        else:
            if isinstance(arg, larray):
                arg = values_at(arg, connections, draw)
            x = _binary(f, x, arg, connections.backend)
    return x


def _binary(f, x, y, backend):
    """f(x, y), with a host array moved to the device when the other operand is there."""
    if isinstance(x, np.ndarray) != isinstance(y, np.ndarray) and all(
            hasattr(a, "shape") and np.ndim(a) > 0 for a in (x, y)):
        x, y = backend.asarray(x), backend.asarray(y)
    return f(x, y)


def connection_values(parameter_space, connections: Connections, draw) -> dict:
    """Native parameter values (numbers or arrays) at `connections`."""
    return {name: values_at(value, connections, draw)
            for name, value in parameter_space.items()}
