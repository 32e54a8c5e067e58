"""Connectors of the neurongpu backend: PyNN's connectors, built in bulk.

Each connector computes all the connections of a projection (pre index, post
index, weight, delay) as arrays and hands them to the projection in one call;
no dense pre x post matrix is built except in blocks of columns.

Random numbers
--------------
With a :class:`~pyNN.random.NumpyRNG` (or no rng: PyNN's default
``NumpyRNG(seed=151985012)``), connectivity and parameter values are the very
numbers PyNN's generic connectors draw, in the same order, so pyNN.nest and
pyNN.neurongpu build the same network from the same seed. Like PyNN, the
probabilistic map connectors draw from a copy of the rng (PyNN's lazy arrays
copy it), and random weights and delays come from copies made when the
connector starts, one value per connection, column after column.

Drawn in bulk: the uniform numbers of FixedProbability, DistanceDependent-,
DisplacementDependent- and IndexBasedProbability; FixedNumberPre and
FixedNumberPost with replacement (n an int, or a RandomDistribution on another
rng); FixedTotalNumber (an exact emulation of NumPy's alternating integer
draws); every weight and delay distribution except ``normal_clipped``.
Drawn per column with PyNN's own calls (NumPy cannot split those streams):
FixedNumberPre/Post without replacement (``permutation``) or without self
connections, FixedNumberPost whose `n` shares the connector's rng, and
``normal_clipped`` values.

With a :class:`~pyNN_neurongpu.random.NativeRNG` the same connectors draw on
the engine's device (see engine/connectivity.py); the statistics are right, the
numbers are the engine's own.

Other rngs (GSLRNG, user classes), ArrayConnector with a non-boolean array,
CSAConnector and multi-compartment `location_selector` use PyNN's generic code
(buffered by ``Projection._convergent_connect``).
"""

from __future__ import annotations

import copy
import inspect
import logging

import numpy as np
from lazyarray import larray
from pyNN import connectors as base
from pyNN import errors
from pyNN.common import Population
from pyNN.random import RandomDistribution
from pyNN.standardmodels import StandardSynapseType
from pyNN.standardmodels.base import check_weights

from . import numpy_streams, simulator
from .engine import connectivity, memory, procedural
from .random import DefaultConnectorRNG, is_native, native_for
from .synapse_values import Connections, column_draws, connection_values

BLOCK_ELEMENTS = 1 << 22
HOST_BLOCK_ELEMENTS = 1 << 18
# connections handed to the projection at once (bounds the transient of storing them);
# larger on a GPU, where each chunk costs kernel launches and synchronisations
ADD_CHUNK = 1 << 16
ADD_CHUNK_GPU = 1 << 24
# temporary bytes per connection while a connector builds a projection, beyond what is
# stored (benchmarks/capacity.py, growth from 10^6 to 4*10^6 synapses): none for AllToAll,
# FixedProbability, FixedNumberPre (NumpyRNG), distance-dependent and counter-based rules;
# 8-16 B for FromList, FixedTotalNumber and FixedNumberPre (NativeRNG), 32 B for
# FixedNumberPost (NumpyRNG), 78 B for FixedTotalNumber (NumpyRNG); random values add 8 B
BUILD_BYTES = 32
BUILD_BYTES_TOTAL_NUMBER = 80

logger = logging.getLogger("PyNN")

Connector = base.Connector
CSAConnector = base.CSAConnector
SmallWorldConnector = base.SmallWorldConnector


def _backend():
    return simulator.state.backend


def _device_gids(projection):
    xp = _backend().xp
    return xp.asarray(projection._pre_gids), xp.asarray(projection._post_gids)


def _same_index_in(cells_gids, other_gids):
    """For each gid of `other_gids`, its position in `cells_gids`, or -1."""
    order = np.argsort(cells_gids, kind="stable")
    pos = np.searchsorted(cells_gids[order], other_gids)
    pos = np.minimum(pos, max(cells_gids.size - 1, 0))
    found = cells_gids[order][pos] == other_gids
    return np.where(found, order[pos], -1)


def _check_by_column(check, value, connections, projection):
    """Run a PyNN parameter check as the generic code does, once per column, but
    on the values of whole groups of columns (all >= 0, all <= 0, mixed)."""
    if np.ndim(value) == 0:
        check(value, projection)
        return
    if check is check_weights:
        # PyNN's weight check only looks at signs: decide on the device from the extremes
        low, high = float(value.min()), float(value.max())
        if low >= 0 or high <= 0:
            check(np.array([low, high]), projection)
            return
    host = connections.backend.to_host(value)
    if bool(np.all(host >= 0)) or bool(np.all(host <= 0)):
        check(host, projection)
        return
    post = connections.host()[1]
    n_post = connections.n_post
    positive = np.bincount(post[host > 0], minlength=n_post) > 0
    negative = np.bincount(post[host < 0], minlength=n_post) > 0
    groups = [(positive & negative)[post], (positive & ~negative)[post], (~positive)[post]]
    firsts = [int(np.argmax(g)) if g.any() else post.size for g in groups]
    for _, group in sorted(zip(firsts, groups), key=lambda item: item[0]):
        if group.any():
            check(host[group], projection)


class BulkConnector:
    """Mixin: build every connection of a projection in one go."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        base_init = inspect.signature(super().__init__)
        if "rng" in base_init.parameters and base_init.bind(
                *args, **kwargs).arguments.get("rng") is None:
            self.rng = DefaultConnectorRNG()

    def _reproducible_rng(self) -> bool:
        rng = getattr(self, "rng", None)
        return rng is None or is_native(rng) or numpy_streams.is_numpy_rng(rng)

    def _generic(self, projection) -> bool:
        """True where PyNN's generic code must run (rngs we cannot reproduce in bulk)."""
        return self.location_selector is not None or not self._reproducible_rng()

    def _check_memory(self, projection, n_expected, building_bytes=BUILD_BYTES):
        """Raise MemoryError, before drawing anything, if about `n_expected` connections
        (with the temporary arrays of building them) will not fit."""
        memory.check_new_synapses(projection._network, int(n_expected), building_bytes)

    def _value_spec(self, value):
        """A counter-based ValueSpec of a native lazy parameter, or None where the rule
        cannot draw it (another rng, a distribution it lacks, array or distance values)."""
        if value.is_homogeneous:
            number = value.evaluate(simplify=True)
            return procedural.ValueSpec(value=float(number)) if np.ndim(number) == 0 else None
        base_value = value.base_value
        if not (isinstance(base_value, RandomDistribution) and is_native(base_value.rng)
                and base_value.name in procedural.DISTRIBUTIONS):
            return None
        if any(isinstance(arg, larray) or np.ndim(arg) for _, arg in value.operations):
            return None
        return procedural.ValueSpec(name=base_value.name, params=dict(base_value.parameters),
                                    ops=list(value.operations))

    def _counter_rule(self, projection, kind, **kw):
        """The counter-based rule (engine/procedural.py) of this projection, or None where
        its synapse type or values rule it out (then the connector's own path builds it)."""
        if projection._plastic or self.location_selector is not None:
            return None
        parameter_space = self._parameters_from_synapse_type(projection)
        specs = {}
        for name in ("weight", "delay"):
            value = parameter_space[name] if name in parameter_space.keys() else None
            spec = (procedural.ValueSpec(value=simulator.state.min_delay) if value is None
                    and name == "delay" else None if value is None else self._value_spec(value))
            if spec is None or (name == "delay" and not np.all(np.isfinite(
                    spec.bounds() or np.inf))):
                return None   # a procedural ring buffer needs a largest delay
            specs[name] = spec
        if set(parameter_space.keys()) - {"weight", "delay"}:
            return None
        state = simulator.state
        ordinal = state.n_counter_rules = getattr(state, "n_counter_rules", 0) + 1
        rng = getattr(self, "rng", None)
        seed = rng.seed if is_native(rng) and rng.seed is not None else _backend().seed
        return procedural.ConnectivityRule(
            kind=kind, n_pre=projection.pre.size, n_post=projection.post.size,
            key=procedural.rule_key(seed, ordinal), weight=specs["weight"],
            delay=specs["delay"], dt=state.dt, **kw)

    def _self_exclusion(self, projection):
        """Per source, its own index among the targets where self connections are
        forbidden (-1 where it has none), or None."""
        if self.allow_self_connections is not False:
            return None
        exclude = _same_index_in(projection._post_gids, projection._pre_gids)
        return exclude if bool(np.any(exclude >= 0)) else None

    def _progress(self, fraction):
        if self.callback is not None:
            self.callback(fraction)

    def _connect_rule(self, projection, rule):
        """Connections of a counter-based rule, reported to the callback when done."""
        projection._connect_rule(rule, self.safe)
        self._progress(1.0)

    def _finish(self, projection, pre, post, parameter_space, column_ordered=True, values=None):
        """Evaluate parameters at the connections, check them, create the connections."""
        connections = Connections(pre, post, projection.pre.size, projection.post.size,
                                  _backend(), column_ordered)
        if connections.size == 0:
            self._progress(1.0)
            return
        if values is None:
            values = connection_values(parameter_space, connections, column_draws(connections))
        if self.safe:
            syn = projection.synapse_type
            for name, check in getattr(syn, "parameter_checks", {}).items():
                native = syn.translations[name]["translated_name"]
                if native in values:
                    _check_by_column(check, values[native], connections, projection)
        n = connections.size
        # plastic groups concatenate on extension: hand them everything at once
        step = n if projection._plastic else (ADD_CHUNK_GPU if _backend().is_gpu
                                               else ADD_CHUNK)
        for c0 in range(0, n, step):
            c1 = min(n, c0 + step)
            chunk = {name: value[c0:c1] if np.ndim(value) else value
                     for name, value in values.items()}
            projection._add_connections(pre[c0:c1], post[c0:c1], chunk)
            if c0 == 0 and c1 < n:
                projection._sg.reserve(_backend().xp, n)  # later chunks copy nothing stored
        self._progress(1.0)

    def _by_columns(self, projection, block):
        """Connections from boolean column blocks: ``block(c0, c1)`` gives, for targets
        c0..c1-1, a (c1 - c0, pre.size) array (host or device) of which sources connect.
        Returns (pre, post) in column order."""
        n_pre, n_post = projection.pre.size, projection.post.size
        # host blocks stay small (the pairs' uniforms, probabilities and masks are the
        # transient); the numbers drawn do not depend on the block size
        elements = BLOCK_ELEMENTS if _backend().is_gpu else HOST_BLOCK_ELEMENTS
        per_block = max(1, elements // max(n_pre, 1))
        index_type = np.int32 if max(n_pre, n_post) < 2**31 else np.int64
        pres, posts = [], []
        for c0 in range(0, n_post, per_block):
            c1 = min(n_post, c0 + per_block)
            mask = block(c0, c1)
            xp = np if isinstance(mask, np.ndarray) else _backend().xp
            flat = xp.flatnonzero(mask).astype(np.int64)
            # int32 where it fits: the lists and their concatenation are the transient
            pres.append((flat % n_pre).astype(index_type))
            posts.append((flat // n_pre + c0).astype(index_type))
            del flat
            if c1 < n_post:
                self._progress(c1 / n_post)
        xp = np if isinstance(pres[0], np.ndarray) else _backend().xp
        return xp.concatenate(pres), xp.concatenate(posts)


class MapBulkConnector(BulkConnector):
    """Connectors whose connections come from a (lazy) connection map."""

    def _allowed(self, projection, c0, c1, xp):
        """(c1 - c0, pre.size) mask of the pairs allow_self_connections permits, or None."""
        allow = self.allow_self_connections
        if allow is True:
            return None
        if allow == "NoMutual":
            self._check_no_mutual(projection)
            return xp.arange(projection.pre.size)[None, :] > xp.arange(c0, c1)[:, None]
        pre_gids, post_gids = ((projection._pre_gids, projection._post_gids) if xp is np
                               else _device_gids(projection))
        return pre_gids[None, :] != post_gids[c0:c1, None]

    def _allowed_pairs(self, projection, pre, post):
        """Mask of connections (device arrays) that allow_self_connections permits, or None."""
        allow = self.allow_self_connections
        if allow is True:
            return None
        if allow == "NoMutual":
            self._check_no_mutual(projection)
            return pre > post
        pre_gids, post_gids = _device_gids(projection)
        return pre_gids[pre] != post_gids[post]

    @staticmethod
    def _check_no_mutual(projection):
        if not (isinstance(projection.pre, Population) and isinstance(projection.post, Population)
                and projection.pre == projection.post):
            raise NotImplementedError("allow_self_connections='NoMutual' is implemented only "
                                      "between a Population and itself")

    def _uniform_source(self, projection):
        """Uniform numbers column by column: from a copy of a NumpyRNG (PyNN's lazy
        arrays copy the rng, which therefore never advances), or from the engine."""
        n_pre = projection.pre.size
        if is_native(self.rng):
            stream = self.rng.stream()
            return lambda c0, c1: stream.uniform((c1 - c0, n_pre))
        rng = copy.deepcopy(self.rng)
        return lambda c0, c1: np.asarray(
            rng.next((c1 - c0) * n_pre, "uniform", {"low": 0, "high": 1})
        ).reshape(c1 - c0, n_pre)

    def _connect_probability(self, projection, probability_block, distance_map=None):
        """Connect where a uniform number is below the probability of the pair."""
        if self.allow_self_connections == "NoMutual":
            self._check_no_mutual(projection)
        uniform = self._uniform_source(projection)
        parameter_space = self._parameters_from_synapse_type(projection, distance_map)

        def block(c0, c1):
            u = uniform(c0, c1)
            xp = np if isinstance(u, np.ndarray) else _backend().xp
            p = probability_block(c0, c1)
            if isinstance(p, np.ndarray) and xp is not np:
                p = xp.asarray(p)
            mask = u < p
            allowed = self._allowed(projection, c0, c1, xp)
            return mask if allowed is None else mask & allowed

        pre, post = self._by_columns(projection, block)
        self._finish(projection, pre, post, parameter_space)


def _lazy_block(lazy, c0, c1):
    """Columns c0..c1-1 of a lazy (pre x post) array, transposed to (columns, pre)."""
    if not isinstance(lazy, larray):
        return lazy
    value = lazy._partially_evaluate((slice(None), slice(c0, c1)), simplify=True)
    return value.T if isinstance(value, np.ndarray) and value.ndim == 2 else value


class AllToAllConnector(MapBulkConnector, base.AllToAllConnector):
    __doc__ = base.AllToAllConnector.__doc__

    def connect(self, projection):
        if self._generic(projection):
            return super().connect(projection)
        n_pre, n_post = projection.pre.size, projection.post.size
        if self.allow_self_connections in (True, False):
            rule = self._counter_rule(projection, "all",
                                      exclude=self._self_exclusion(projection))
            drawn = rule is not None and any(
                spec.name is not None for spec in (rule.weight, rule.delay))
            if rule is not None and (drawn or simulator.state.connectivity != "stored"):
                return self._connect_rule(projection, rule)
        parameter_space = self._parameters_from_synapse_type(projection)
        self._check_memory(projection, n_pre * n_post)
        if self.allow_self_connections is True:
            index_type = np.int32 if max(n_pre, n_post) < 2**31 else np.int64
            pre = np.tile(np.arange(n_pre, dtype=index_type), n_post)
            post = np.repeat(np.arange(n_post, dtype=index_type), n_pre)
        else:
            ones = np.ones((1, n_pre), dtype=bool)
            pre, post = self._by_columns(projection, lambda c0, c1: np.repeat(
                ones, c1 - c0, axis=0) & self._allowed(projection, c0, c1, np))
        self._finish(projection, pre, post, parameter_space)


class OneToOneConnector(MapBulkConnector, base.OneToOneConnector):
    __doc__ = base.OneToOneConnector.__doc__

    def connect(self, projection):
        if self._generic(projection):
            return super().connect(projection)
        parameter_space = self._parameters_from_synapse_type(projection)
        index = np.arange(min(projection.pre.size, projection.post.size), dtype=np.int64)
        self._finish(projection, index, index.copy(), parameter_space)


class FixedProbabilityConnector(MapBulkConnector, base.FixedProbabilityConnector):
    __doc__ = base.FixedProbabilityConnector.__doc__

    def connect(self, projection):
        if self._generic(projection):
            return super().connect(projection)
        expected = self.p_connect * projection.pre.size * projection.post.size
        if not is_native(self.rng):
            self._check_memory(projection, expected)
            p = self.p_connect
            return self._connect_probability(projection, lambda c0, c1: p)
        if self.allow_self_connections == "NoMutual":
            self._check_no_mutual(projection)
        else:
            rule = self._counter_rule(projection, "bernoulli", p=float(self.p_connect),
                                      exclude=self._self_exclusion(projection))
            if rule is not None:   # checks the memory where it stores the synapses
                return self._connect_rule(projection, rule)
        self._check_memory(projection, expected)
        parameter_space = self._parameters_from_synapse_type(projection)
        pre, post = connectivity.bernoulli(self.rng.stream(), projection.pre.size,
                                           projection.post.size, self.p_connect)
        keep = self._allowed_pairs(projection, pre, post)
        if keep is not None:
            pre, post = pre[keep], post[keep]
        self._finish(projection, pre, post, parameter_space)


class DistanceDependentProbabilityConnector(MapBulkConnector,
                                            base.DistanceDependentProbabilityConnector):
    __doc__ = base.DistanceDependentProbabilityConnector.__doc__

    def connect(self, projection):
        if self._generic(projection):
            return super().connect(projection)
        distance_map = self._generate_distance_map(projection)
        probability_map = self.distance_function(distance_map)
        self._connect_probability(projection,
                                  lambda c0, c1: _lazy_block(probability_map, c0, c1),
                                  distance_map)


class IndexBasedProbabilityConnector(MapBulkConnector, base.IndexBasedProbabilityConnector):
    __doc__ = base.IndexBasedProbabilityConnector.__doc__

    def connect(self, projection):
        if self._generic(projection):
            return super().connect(projection)
        expression = copy.copy(self.index_expression)
        expression.projection = projection
        n_pre = projection.pre.size
        rows = np.arange(n_pre, dtype=np.int64)

        def probability_block(c0, c1):
            # one element per (pre, post) pair, as PyNN evaluates f(pre indices, column)
            i = np.tile(rows, c1 - c0)
            j = np.repeat(np.arange(c0, c1, dtype=np.int64), n_pre)
            p = np.asarray(expression(i, j), dtype=float)
            return np.broadcast_to(p, i.shape).reshape(c1 - c0, n_pre)

        self._connect_probability(projection, probability_block)


class DisplacementDependentProbabilityConnector(IndexBasedProbabilityConnector,
                                                base.DisplacementDependentProbabilityConnector):
    __doc__ = base.DisplacementDependentProbabilityConnector.__doc__


class ArrayConnector(MapBulkConnector, base.ArrayConnector):
    __doc__ = base.ArrayConnector.__doc__

    def connect(self, projection):
        array = np.asarray(self.array)
        if self._generic(projection) or array.dtype != bool or array.shape != projection.shape:
            return super().connect(projection)  # PyNN's behaviour (and errors) for the rest
        parameter_space = self._parameters_from_synapse_type(projection)
        pre, post = self._by_columns(projection, lambda c0, c1: array[:, c0:c1].T)
        self._finish(projection, pre, post, parameter_space)


class CloneConnector(MapBulkConnector, base.CloneConnector):
    __doc__ = base.CloneConnector.__doc__

    def connect(self, projection):
        reference = self.reference_projection
        if (projection.pre != reference.pre or projection.post != reference.post
                or not hasattr(reference, "_storage_indices")):
            return super().connect(projection)  # PyNN's check and error, or another backend
        parameter_space = self._parameters_from_synapse_type(projection)
        n_pre = projection.pre.size
        ref_pre, ref_post = reference._storage_indices()
        pairs = np.unique(ref_post * n_pre + ref_pre)  # one connection per connected pair
        self._finish(projection, pairs % n_pre, pairs // n_pre, parameter_space)


class FromListConnector(BulkConnector, base.FromListConnector):
    __doc__ = base.FromListConnector.__doc__

    def connect(self, projection):
        synapse_parameter_names = projection.synapse_type.get_parameter_names()
        for name in self.column_names:
            if name not in synapse_parameter_names:
                raise ValueError(f"{projection.synapse_type.__class__.__name__} has no "
                                 f"parameter {name!r} (a column of the connection list)")
        if self.conn_list.size == 0:
            return
        conn_list = np.asarray(self.conn_list, dtype=float)
        if conn_list.ndim != 2 or conn_list.shape[1] < 2:
            raise errors.ConnectionError("each connection needs at least (pre, post) indices")
        for column, size, side in ((0, projection.pre.size, "source"),
                                   (1, projection.post.size, "target")):
            index = conn_list[:, column]
            if not np.all(np.isfinite(index)) or index.min() < 0 or index.max() >= size:
                raise errors.ConnectionError(f"{side} index out of range (size {size})")
        if self.location_selector is not None:
            return super().connect(projection)
        # PyNN sorts the list by target (in place, with NumPy's default sort)
        self.conn_list = self.conn_list[np.argsort(self.conn_list[:, 1])]
        conn_list = np.asarray(self.conn_list, dtype=float)
        pre = conn_list[:, 0].astype(np.int64)
        post = conn_list[:, 1].astype(np.int64)
        values = self._list_values(projection, conn_list, post)
        if values is None:
            return base.FromListConnector.connect(self, projection)
        self._finish(projection, pre, post, None, values=values)

    def _list_values(self, projection, conn_list, post):
        """Native parameter values of every listed connection, or None where only
        PyNN's per-target evaluation can reproduce them."""
        synapse_type = projection.synapse_type
        n = post.size
        parameters = copy.deepcopy(synapse_type.parameter_space)
        parameters.shape = (n,)
        for col, name in enumerate(self.column_names, 2):
            parameters.update(**{name: conn_list[:, col]})
        if isinstance(synapse_type, StandardSynapseType):
            parameters = synapse_type.translate(parameters)
        starts = np.flatnonzero(np.r_[True, post[1:] != post[:-1]])
        sizes = np.diff(np.r_[starts, n])
        rank = np.arange(n) - np.repeat(starts, sizes)  # position within its target's group
        values = {}
        for name, value in parameters.items():
            if value.is_homogeneous:
                values[name] = value.evaluate(simplify=True)
            elif isinstance(value.base_value, np.ndarray):
                values[name] = np.asarray(value.evaluate(), dtype=float)
            elif isinstance(value.base_value, RandomDistribution) and not any(
                    isinstance(arg, larray) for _, arg in value.operations):
                values[name] = self._restarting_draws(value, sizes, rank)
            else:
                return None
        return values

    @staticmethod
    def _restarting_draws(value, sizes, rank):
        """PyNN draws each target's values from a fresh copy of the distribution: the
        k-th connection of every target gets the k-th number of the stream."""
        distribution = value.base_value
        native = native_for(distribution.rng)
        if native is not None:
            x = native.draw(distribution.name, distribution.parameters, rank.size)
        elif numpy_streams.splittable(distribution):
            x = np.asarray(copy.deepcopy(distribution).next(int(sizes.max())))[rank]
        else:
            x = np.empty(rank.size)
            group_size = np.repeat(sizes, sizes)
            for size in np.unique(sizes):
                sel = group_size == size
                x[sel] = np.asarray(copy.deepcopy(distribution).next(int(size)))[rank[sel]]
        for f, arg in value.operations:
            x = f(x) if arg is None else f(x, arg)
        return x


class FromFileConnector(FromListConnector, base.FromFileConnector):
    __doc__ = base.FromFileConnector.__doc__

    def connect(self, projection):
        if self.distributed:
            self.file.rename(f"{self.file.name}.{projection._simulator.state.mpi_rank}")
        self.column_names = list(self.file.get_metadata().get("columns", ("weight", "delay")))
        for ignore in "ij":
            if ignore in self.column_names:
                self.column_names.remove(ignore)
        self.conn_list = self.file.read()
        FromListConnector.connect(self, projection)


def _integer_counts(values, what="n"):
    counts = np.asarray(values)
    if counts.size and not np.all(np.mod(counts, 1) == 0):
        raise TypeError(f"{what} must be an integer (or a distribution of integers)")
    counts = counts.astype(np.int64)
    if counts.size and counts.min() < 0:
        raise ValueError("The sample number must be positive")
    return counts


class FixedNumberBulk(BulkConnector):
    """Shared code of FixedNumberPre and FixedNumberPost."""

    def _n_is_reproducible(self) -> bool:
        if isinstance(self.n, int):
            return True
        rng = self.n.rng
        return is_native(rng) or numpy_streams.is_numpy_rng(rng)

    def _generic(self, projection) -> bool:
        return super()._generic(projection) or not self._n_is_reproducible()

    def _draw_counts(self, size):
        """Numbers of partners for `size` cells, drawn as PyNN draws them (host)."""
        if isinstance(self.n, int):
            return np.full(size, self.n, dtype=np.int64)
        if is_native(self.n.rng):
            return _integer_counts(_backend().to_host(
                self.n.rng.draw(self.n.name, self.n.parameters, size)))
        return _integer_counts(self.n.next(size))

    def _excludes_self(self, projection) -> bool:
        """PyNN forbids self connections only when pre and post are the same object."""
        return not (self.allow_self_connections or projection.pre != projection.post)

    def _pick(self, n, size, exclude):
        """PyNN's choice of `n` partners among `size` cells (exact calls on self.rng)."""
        if self.with_replacement:
            chosen = self.rng.next(n, "uniform_int", {"low": 0, "high": size}, mask=None)
            if exclude is not None:
                # redraw the cell itself until it is gone (PyNN's own loop can index
                # out of bounds on a second hit; the draws are the same otherwise)
                hits = np.nonzero(chosen == exclude)[0]
                while hits.size:
                    redrawn = self.rng.next(hits.size, "uniform_int", {"low": 0, "high": size})
                    chosen[hits] = redrawn
                    hits = hits[redrawn == exclude]
            return chosen
        cells = np.arange(size)
        if exclude is not None:
            cells = cells[cells != exclude]
        full_sets, remainder = divmod(n, cells.size) if cells.size else (0, 0)
        sets = [cells] * full_sets
        if remainder > 0:
            sets.append(self.rng.permutation(cells)[:remainder])
        chosen = np.hstack(sets) if sets else np.zeros(0, dtype=np.int64)
        if chosen.size != n:
            raise ValueError(f"cannot choose {n} partners among {cells.size} cells")
        return chosen

    def _native_excludes(self, projection, targets_are_post):
        """Per cell of the side that picks partners, the partner index that is itself."""
        if self.allow_self_connections is not False:
            return None
        if targets_are_post:
            return _same_index_in(projection._pre_gids, projection._post_gids)
        return _same_index_in(projection._post_gids, projection._pre_gids)


class FixedNumberPreConnector(FixedNumberBulk, base.FixedNumberPreConnector):
    __doc__ = base.FixedNumberPreConnector.__doc__

    def connect(self, projection):
        if self._generic(projection):
            return super().connect(projection)
        n_pre, n_post = projection.pre.size, projection.post.size
        # PyNN copies the synapse parameters before drawing anything
        parameter_space = self._parameters_from_synapse_type(projection)
        counts = self._draw_counts(n_post)
        self._check_memory(projection, counts.sum())
        if is_native(self.rng):
            xp = _backend().xp
            exclude = self._native_excludes(projection, True)
            exclude = xp.full(n_post, -1) if exclude is None else xp.asarray(exclude)
            pre, post = connectivity.fixed_in_degree(
                self.rng.stream(), n_pre, xp.asarray(counts), self.with_replacement, exclude)
            return self._finish(projection, pre, post, parameter_space)
        index_type = np.int32 if max(n_pre, n_post) < 2**31 else np.int64
        post = np.repeat(np.arange(n_post, dtype=index_type), counts)
        if self.with_replacement and not self._excludes_self(projection):
            # drawn in chunks (the same numbers as one draw: uniform_int is splittable)
            total = int(counts.sum())
            pre = np.empty(total, dtype=index_type)
            for c0 in range(0, total, ADD_CHUNK):
                c1 = min(total, c0 + ADD_CHUNK)
                pre[c0:c1] = np.asarray(self.rng.next(c1 - c0, "uniform_int",
                                                      {"low": 0, "high": n_pre}))
        else:
            exclude = self._excludes_self(projection)
            parts = []
            for j, n in enumerate(counts.tolist()):
                parts.append(np.asarray(self._pick(n, n_pre, j if exclude else None)))
                if self.callback is not None and j % 256 == 255:
                    self._progress((j + 1) / n_post)
            pre = np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, np.int64)
        self._finish(projection, pre, post, parameter_space)


class FixedNumberPostConnector(FixedNumberBulk, base.FixedNumberPostConnector):
    __doc__ = base.FixedNumberPostConnector.__doc__

    def connect(self, projection):
        if self._generic(projection):
            return super().connect(projection)
        n_pre, n_post = projection.pre.size, projection.post.size
        if is_native(self.rng) and isinstance(self.n, int):
            rule = self._counter_rule(projection, "fixed_out", n=int(self.n),
                                      replace=bool(self.with_replacement),
                                      exclude=self._native_excludes(projection, False))
            if rule is not None:
                if rule.exclude is not None and not bool(np.any(rule.exclude >= 0)):
                    rule.exclude = None
                try:
                    return self._connect_rule(projection, rule)
                except ValueError as err:
                    raise errors.ConnectionError(str(err)) from None
        if is_native(self.rng):
            xp = _backend().xp
            counts = self._draw_counts(n_pre)
            self._check_memory(projection, counts.sum())
            exclude = self._native_excludes(projection, False)
            exclude = xp.full(n_pre, -1) if exclude is None else xp.asarray(exclude)
            pre, post = connectivity.fixed_out_degree(
                self.rng.stream(), n_post, xp.asarray(counts), self.with_replacement, exclude)
            parameter_space = self._parameters_from_synapse_type(projection)
            return self._finish(projection, pre, post, parameter_space, column_ordered=False)
        exclude = self._excludes_self(projection)
        # n drawn per source, between the target draws: bulk only if that interleaving
        # cannot matter (n fixed, or drawn from another rng with splittable draws)
        counts_apart = isinstance(self.n, int) or (
            self.n.rng is not self.rng and (is_native(self.n.rng)
                                            or numpy_streams.splittable(self.n)))
        if counts_apart and self.with_replacement and not exclude:
            counts = self._draw_counts(n_pre)
            total = int(counts.sum())
            post = (np.asarray(self.rng.next(total, "uniform_int", {"low": 0, "high": n_post}))
                    if total else np.zeros(0, dtype=np.int64))
        else:
            counts = self._draw_counts(n_pre) if counts_apart else None
            parts, sizes = [], []
            for i in range(n_pre):
                n = int(counts[i]) if counts is not None else int(
                    _integer_counts(self._get_num_post()))
                parts.append(np.asarray(self._pick(n, n_post, i if exclude else None)))
                sizes.append(n)
                if self.callback is not None and i % 256 == 255:
                    self._progress((i + 1) / n_pre)
            counts = np.asarray(sizes, dtype=np.int64)
            post = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
        pre = np.repeat(np.arange(n_pre, dtype=np.int64), counts)
        post = post.astype(np.int64)
        # PyNN lists each target's sources in source order
        order = np.argsort(post, kind="stable")
        parameter_space = self._parameters_from_synapse_type(projection)
        self._finish(projection, pre[order], post[order], parameter_space)


class FixedTotalNumberConnector(BulkConnector, base.FixedTotalNumberConnector):
    """Connect exactly `n` randomly chosen (pre, post) pairs.

    With a NumpyRNG the connections are those PyNN's generic code draws, which
    ignores `with_replacement` and `allow_self_connections` (always with
    replacement, self connections allowed); with a NativeRNG both are honoured, and the
    static synapses of a NativeRNG projection follow a counter-based rule (so they can be
    procedural).
    """

    def connect(self, projection):
        if self._generic(projection) or not isinstance(self.n, int):
            return super().connect(projection)
        n_pre, n_post = projection.pre.size, projection.post.size
        if is_native(self.rng):
            if simulator.state.connectivity == "stored":
                self._check_memory(projection, self.n)
            rule = self._total_number_rule(projection)
            if rule is not None:
                return self._connect_rule(projection, rule)
        self._check_memory(projection, self.n,
                           BUILD_BYTES if is_native(self.rng) else BUILD_BYTES_TOTAL_NUMBER)
        if is_native(self.rng):
            forbidden = None
            if self.allow_self_connections is False:
                pre_gids, post_gids = _device_gids(projection)

                def forbidden(pre, post):
                    return pre_gids[pre] == post_gids[post]
            try:
                pre, post = connectivity.fixed_total(self.rng.stream(), n_pre, n_post, self.n,
                                                     self.with_replacement, forbidden)
            except ValueError as err:
                raise errors.ConnectionError(str(err)) from None
            parameter_space = self._parameters_from_synapse_type(projection)
            return self._finish(projection, pre, post, parameter_space, column_ordered=False)
        if not self.with_replacement or self.allow_self_connections is not True:
            logger.info("FixedTotalNumberConnector with a NumpyRNG draws as PyNN's generic code "
                        "does: with replacement, self connections allowed (a NativeRNG honours "
                        "with_replacement and allow_self_connections)")
        # as PyNN, on one process: the binomial share of this process (all of them) ...
        share = RandomDistribution("binomial", [self.n, 1.0], rng=self.rng)
        total = int(share.next())
        # ... then, per connection, a source then a target index
        pairs = numpy_streams.alternating_randint(self.rng, (n_pre, n_post), total)
        pre, post = pairs[:, 0], pairs[:, 1]
        order = np.argsort(post, kind="stable")  # each target's sources in draw order
        parameter_space = self._parameters_from_synapse_type(projection)
        self._finish(projection, pre[order], post[order], parameter_space)

    def _total_number_rule(self, projection):
        """The counter-based rule of a NativeRNG projection: per-source counts of the `n`
        synapses, then fixed out-degrees (engine/procedural.py total_counts), or None where
        the rule cannot draw its values (then the connector's own path builds it)."""
        exclude = self._self_exclusion(projection)
        rule = self._counter_rule(projection, "fixed_out", replace=bool(self.with_replacement),
                                  exclude=exclude)
        if rule is None:
            return None
        allowed = np.full(rule.n_pre, rule.n_post, dtype=np.int64)
        if exclude is not None:
            allowed -= (exclude >= 0).astype(np.int64)
        try:
            rule.counts = procedural.total_counts(rule.key, int(self.n), allowed, rule.replace)
        except ValueError as err:
            raise errors.ConnectionError(str(err)) from None
        return rule


__all__ = [
    "AllToAllConnector", "ArrayConnector", "CSAConnector", "CloneConnector", "Connector",
    "DisplacementDependentProbabilityConnector", "DistanceDependentProbabilityConnector",
    "FixedNumberPostConnector", "FixedNumberPreConnector", "FixedProbabilityConnector",
    "FixedTotalNumberConnector", "FromFileConnector", "FromListConnector",
    "IndexBasedProbabilityConnector", "OneToOneConnector", "SmallWorldConnector",
]
