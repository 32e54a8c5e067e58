"""Projection: a PyNN projection backed by one engine synapse group.

Connectors either hand over all connections at once (``_add_connections``, the
bulk path of connectors.py) or, for PyNN's generic connectors, call
``_convergent_connect`` once per target cell; those calls are buffered and
committed in one go. Connections are kept sorted by presynaptic cell (stable),
the order in which pyNN.nest lists them.
"""

from __future__ import annotations

import numpy as np
from pyNN import common, errors
from pyNN.core import ezip
from pyNN.parameters import LazyArray
from pyNN.random import RandomDistribution
from pyNN.space import Space

from . import simulator
from .standardmodels.synapses import StaticSynapse


def gids_of(cells) -> np.ndarray:
    """Engine indices of the cells of a Population, PopulationView or Assembly, in order."""
    if isinstance(cells, common.Assembly):
        parts = [gids_of(p) for p in cells.populations]
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
    return cells._gids()


class IndexMap:
    """Inverse of a gid array: gid -> position (index within pre or post)."""

    def __init__(self, gids):
        self.gids = gids
        self.order = np.argsort(gids, kind="stable")
        self.sorted = gids[self.order]
        self.contiguous = gids.size > 0 and np.array_equal(
            gids, np.arange(gids[0], gids[0] + gids.size))

    def __call__(self, g):
        if self.contiguous:
            return g - self.gids[0]
        return self.order[np.searchsorted(self.sorted, g)]


class Connection(common.Connection):
    """One connection of a projection, by position in the projection's arrays."""

    def __init__(self, projection, index):
        self.projection = projection
        self.index = index

    @property
    def presynaptic_index(self):
        return int(self.projection._pre_index()[self.index])

    @property
    def postsynaptic_index(self):
        return int(self.projection._post_index()[self.index])

    def _get(self, name):
        return float(self.projection._attribute(name)[self.index])

    def _set(self, name, value):
        self.projection._set_native(name, np.array([self.index]), np.array([value], float))

    weight = property(lambda self: self._get("weight"), lambda self, v: self._set("weight", v))
    delay = property(lambda self: self._get("delay"), lambda self, v: self._set("delay", v))

    def as_tuple(self, *attribute_names):
        return tuple(getattr(self, name) for name in attribute_names)


class Projection(common.Projection):
    __doc__ = common.Projection.__doc__
    _simulator = simulator
    _static_synapse_class = StaticSynapse

    def __init__(self, presynaptic_population, postsynaptic_population, connector,
                 synapse_type=None, source=None, receptor_type=None, space=Space(),
                 label=None):
        common.Projection.__init__(self, presynaptic_population, postsynaptic_population,
                                   connector, synapse_type, source, receptor_type, space, label)
        self._pre_gids = gids_of(self.pre)
        self._post_gids = gids_of(self.post)
        self._pre_map = IndexMap(self._pre_gids)
        self._post_map = IndexMap(self._post_gids)
        self._pending = []
        self._sg = None
        try:
            connector.connect(self)
            self._commit_pending()
        except BaseException:
            self._discard()
            raise
        simulator.state.projections.append(self)

    # -- building -----------------------------------------------------------------------
    @property
    def _network(self):
        return simulator.state.network

    def _discard(self):
        if self._sg is not None:
            self._network.remove_synapses(self._sg)
            self._sg = None
        self._pending = []

    def _convergent_connect(self, presynaptic_indices, postsynaptic_index,
                            location_selector=None, **connection_parameters):
        """Buffer the connections of one target cell (PyNN's generic connector path)."""
        if location_selector is not None:
            raise NotImplementedError("pyNN.neurongpu has no multicompartment neurons")
        pre = np.atleast_1d(np.asarray(presynaptic_indices))
        if pre.dtype == object:
            pre = self.pre.id_to_index(pre)
        pre = pre.astype(np.int64)
        if isinstance(postsynaptic_index, common.IDMixin):
            postsynaptic_index = self.post.id_to_index(postsynaptic_index)
        post = np.full(pre.size, int(postsynaptic_index), dtype=np.int64)
        params = {name: np.broadcast_to(np.asarray(value, dtype=float), pre.shape)
                  for name, value in connection_parameters.items()}
        self._pending.append((pre, post, params))

    def _commit_pending(self):
        if not self._pending:
            return
        pre = np.concatenate([p[0] for p in self._pending])
        post = np.concatenate([p[1] for p in self._pending])
        names = self._pending[0][2].keys()
        params = {n: np.concatenate([p[2][n] for p in self._pending]) for n in names}
        self._pending = []
        self._add_connections(pre, post, params)

    def _add_connections(self, pre_index, post_index, params):
        """Create connections from indices within pre/post and native parameter values
        (scalars or arrays of the same length)."""
        state = simulator.state
        pre_index = np.asarray(pre_index, dtype=np.int64)
        post_index = np.asarray(post_index, dtype=np.int64)
        n = pre_index.size
        if n and (pre_index.min() < 0 or pre_index.max() >= self.pre.size):
            raise errors.ConnectionError("presynaptic index out of range")
        if n and (post_index.min() < 0 or post_index.max() >= self.post.size):
            raise errors.ConnectionError("postsynaptic index out of range")
        weight = np.broadcast_to(np.asarray(params.get("weight", 0.0), dtype=float), (n,))
        delay = params.get("delay")
        if delay is None:
            delay = state.min_delay
        delay = np.broadcast_to(np.asarray(delay, dtype=float), (n,))
        self._check_delays(delay)
        if np.any(~np.isfinite(weight)):
            raise errors.ConnectionError("synaptic weights must be finite numbers")
        order = np.argsort(pre_index, kind="stable")
        pre_index, post_index = pre_index[order], post_index[order]
        weight, delay = weight[order], delay[order]
        steps = state.delay_steps(delay)
        pre_g = self._pre_gids[pre_index]
        post_g = self._post_gids[post_index]
        if self._sg is None:
            self._sg = self._network.connect(pre_g, post_g, weight, steps, self.receptor_type,
                                             label=self.label or "")
        else:
            self._network.extend_synapses(self._sg, pre_g, post_g, weight, steps)
        self._index_cache = None

    def _check_delays(self, delay):
        state = simulator.state
        if delay.size == 0:
            return
        eps = 1e-9
        low, high = float(delay.min()), float(delay.max())
        if low < state.min_delay_limit - eps:
            raise errors.ConnectionError(
                f"delay ({low} ms) is below the minimum delay ({state.min_delay_limit} ms)")
        if high > state.max_delay_limit + eps:
            raise errors.ConnectionError(
                f"delay ({high} ms) is above the maximum delay ({state.max_delay_limit} ms)")

    # -- reading ------------------------------------------------------------------------
    def __len__(self):
        return 0 if self._sg is None else self._sg.size

    def _pre_index(self):
        self._fill_index_cache()
        return self._index_cache[0]

    def _post_index(self):
        self._fill_index_cache()
        return self._index_cache[1]

    def _fill_index_cache(self):
        if getattr(self, "_index_cache", None) is None:
            backend = self._network.backend
            if self._sg is None:
                z = np.zeros(0, dtype=np.int64)
                self._index_cache = (z, z)
            else:
                self._index_cache = (self._pre_map(backend.to_host(self._sg.pre)),
                                     self._post_map(backend.to_host(self._sg.post)))

    def _attribute(self, name):
        """Host array of a native attribute for every connection (PyNN units)."""
        if name in ("presynaptic_index", "postsynaptic_index"):
            return (self._pre_index() if name[:3] == "pre" else self._post_index()).astype(float)
        if self._sg is None:
            return np.zeros(0)
        backend = self._network.backend
        if name == "weight":
            return backend.to_host(self._sg.weight).astype(float)
        if name == "delay":
            return backend.to_host(self._sg.delay).astype(float) * simulator.state.dt
        raise errors.NonExistentParameterError(name, self.synapse_type.__class__.__name__,
                                               self.synapse_type.get_parameter_names())

    @property
    def connections(self):
        """The local connections, as :class:`Connection` objects."""
        return [Connection(self, i) for i in range(len(self))]

    def __getitem__(self, i):
        if not -len(self) <= i < len(self):
            raise IndexError(i)
        return Connection(self, i % len(self))

    def _get_attributes_as_list(self, names):
        columns = [self._attribute(name) for name in names]
        return list(zip(*[c.tolist() for c in columns]))

    def _get_attributes_as_arrays(self, names, multiple_synapses="sum"):
        pre, post = self._pre_index(), self._post_index()
        result = []
        for name in names:
            if name[-1] == "s" and name[:-1] in ("weight", "delay"):
                name = name[:-1]
            values = self._attribute(name)
            arr = np.full((self.pre.size, self.post.size), np.nan)
            flat = pre * self.post.size + post
            if flat.size and np.unique(flat).size != flat.size:
                arr = self._combine(arr, flat, values, multiple_synapses)
            else:
                arr.reshape(-1)[flat] = values
            result.append(arr)
        return result

    @staticmethod
    def _combine(arr, flat, values, how):
        out = arr.reshape(-1)
        if how == "sum":
            out[np.unique(flat)] = 0.0
            np.add.at(out, flat, values)
        elif how in ("min", "max"):
            out[np.unique(flat)] = np.inf if how == "min" else -np.inf
            (np.minimum if how == "min" else np.maximum).at(out, flat, values)
        elif how == "first":
            uniq, first = np.unique(flat, return_index=True)
            out[uniq] = values[first]
        elif how == "last":
            uniq, last = np.unique(flat[::-1], return_index=True)
            out[uniq] = values[::-1][last]
        return arr

    # -- writing ------------------------------------------------------------------------
    def _set_native(self, name, index, values):
        """Write native attribute `name` of connections `index` (host arrays)."""
        backend = self._network.backend
        if name == "weight":
            if np.any(~np.isfinite(values)):
                raise errors.InvalidParameterValueError("weights must be finite numbers")
            self._sg.weight[backend.asarray(index)] = backend.asarray(values, dtype=backend.float)
        elif name == "delay":
            self._check_delays(np.asarray(values, dtype=float))
            self._sg.delay[backend.asarray(index)] = backend.asarray(
                simulator.state.delay_steps(values))
        else:
            raise errors.NonExistentParameterError(name, self.synapse_type.__class__.__name__,
                                                   self.synapse_type.get_parameter_names())
        self._network.synapses_changed()

    def _set_attributes(self, parameter_space):
        """Set attributes from a native ParameterSpace of shape (pre.size, post.size).

        Values are evaluated as pyNN.nest evaluates them: a random distribution draws
        one number per (pre, post) pair, row by row, so the same seed gives the same
        weights; connections between the same pair get the same value.
        """
        pre, post = self._pre_index(), self._post_index()
        for name, value in parameter_space.items():
            values = _evaluate_at(value, pre, post, self.pre.size, self.post.size)
            if self.synapse_type.parameter_checks.get(name) and np.size(values):
                self.synapse_type.parameter_checks[name](np.asarray(values), self)
            self._set_native(name, np.arange(len(self)), np.broadcast_to(values, pre.shape))

    def _set_initial_value_array(self, variable, value):
        raise errors.NonExistentParameterError(variable, self.synapse_type.__class__.__name__,
                                               [])


ROW_CHUNK_ELEMENTS = 1 << 22


def _evaluate_at(value: LazyArray, pre, post, n_pre, n_post):
    """Values of a (n_pre, n_post) lazy array at the pairs (pre[k], post[k])."""
    if value.is_homogeneous:
        return np.full(pre.shape, float(value.evaluate(simplify=True)))
    base = value.base_value
    if isinstance(base, RandomDistribution):
        # draw row blocks in order so the random stream matches a full evaluation
        out = np.empty(pre.shape)
        rows = max(1, ROW_CHUNK_ELEMENTS // max(n_post, 1))
        for r0 in range(0, n_pre, rows):
            r1 = min(n_pre, r0 + rows)
            block = value[r0:r1, :] if (r1 - r0) > 1 else value[r0:r1, :].reshape(1, -1)
            block = np.asarray(block, dtype=float).reshape(r1 - r0, n_post)
            sel = (pre >= r0) & (pre < r1)
            out[sel] = block[pre[sel] - r0, post[sel]]
        return out
    full = np.asarray(value.evaluate(simplify=False), dtype=float)
    if full.ndim == 0:
        return np.full(pre.shape, float(full))
    full = np.broadcast_to(full, (n_pre, n_post))
    return full[pre, post]


__all__ = ["Connection", "Projection", "ezip"]
