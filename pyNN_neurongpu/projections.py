"""Projection: a PyNN projection backed by one engine synapse group.

Connectors hand over all connections at once through ``_add_connections``
(the bulk connectors of connectors.py); PyNN's generic connectors call
``_convergent_connect`` once per target cell, and those calls are buffered and
committed in one go. A projection whose connector fails leaves nothing in the
engine.

Connections are stored in the order the connector made them; they are listed
(``get``, ``connections``, ``save``) sorted by presynaptic cell, stably, which
is the order in which pyNN.nest lists them.
"""

from __future__ import annotations

import logging

import numpy as np
from pyNN import common, errors
from pyNN.core import ezip
from pyNN.space import Space

from . import console, simulator
from .engine import ProceduralGroup, SynapseGroup, get_synapse_model, memory
from .random import resolve_connector_rng
from .standardmodels.synapses import StaticSynapse
from .synapse_values import Connections, matrix_draws, values_at

logger = logging.getLogger("PyNN")

PROCEDURAL_SUPPORT = (
    "only static synapses of FixedProbabilityConnector, FixedNumberPostConnector (n an int) or "
    "FixedTotalNumberConnector "
    "with a NativeRNG, or of AllToAllConnector, with weights and delays that are constants or "
    "NativeRNG draws (uniform, uniform_int, normal, normal_clipped, normal_clipped_to_boundary, "
    "lognormal, exponential; delays bounded) can be procedural")


def gids_of(cells) -> np.ndarray:
    """Engine indices of the cells of a Population, PopulationView or Assembly, in order."""
    if isinstance(cells, common.Assembly):
        parts = [gids_of(p) for p in cells.populations]
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
    return np.asarray(cells._gids(), dtype=np.int64)


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


def _array_module(a, backend):
    """NumPy for host arrays and numbers, the backend's module for device arrays."""
    return np if isinstance(a, (np.ndarray, np.generic, float, int)) else backend.xp


class Connection(common.Connection):
    """One connection of a projection, by its position in the projection's listing."""

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
        for side, pop in (("presynaptic", presynaptic_population),
                          ("postsynaptic", postsynaptic_population)):
            simulator.state.require_current(pop, f"the {side} population")
        common.Projection.__init__(self, presynaptic_population, postsynaptic_population,
                                   connector, synapse_type, source, receptor_type, space, label)
        self._pre_gids = gids_of(self.pre)
        self._post_gids = gids_of(self.post)
        self._pre_map = IndexMap(self._pre_gids)
        self._post_map = IndexMap(self._post_gids)
        self._pending = []
        self._sg = None
        self._procedural = None   # a ProceduralGroup: synapses regenerated, never stored
        self._size = None
        self._rule_build = False
        self._forget_caches()
        resolve_connector_rng(connector, simulator.state.backend)
        try:
            with console.build_progress(connector, self.label, simulator.state.progress):
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
        if self._procedural is not None:
            self._network.remove_synapses(self._procedural)
            self._procedural = None
        self._pending = []
        self._forget_caches()

    def _forget_caches(self):
        self._index_cache = None
        self._listing_cache = None
        self._listed_cache = {}

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
        """Create connections from indices within pre/post (host or device arrays) and
        native parameter values (numbers, or arrays with one value per connection).

        Everything is checked before the engine is touched, so a bad value raises
        :class:`pyNN.errors.ConnectionError` and creates nothing.
        """
        state = simulator.state
        if state.connectivity == "procedural" and not self._rule_build:
            raise errors.ConnectionError(
                f"setup(connectivity='procedural'): this projection ("
                f"{type(self._connector).__name__}, {type(self.synapse_type).__name__}) cannot "
                f"be procedural: {PROCEDURAL_SUPPORT}. Use connectivity='auto' to store it.")
        backend = self._network.backend
        xp = _array_module(pre_index, backend)
        n = int(pre_index.shape[0])
        if int(post_index.shape[0]) != n:
            raise errors.ConnectionError("as many presynaptic as postsynaptic indices needed")
        if n == 0:
            return
        for index, size, side in ((pre_index, self.pre.size, "presynaptic"),
                                  (post_index, self.post.size, "postsynaptic")):
            if int(index.min()) < 0 or int(index.max()) >= size:
                raise errors.ConnectionError(f"{side} index out of range (size {size})")
        weight = params.get("weight", 0.0)
        delay = params.get("delay")
        if delay is None:
            delay = state.min_delay
        for name, value in (("weight", weight), ("delay", delay)):
            if np.ndim(value) == 1 and int(value.shape[0]) != n:
                raise errors.ConnectionError(f"{n} connections but {value.shape[0]} {name}s")
        self._check_weights(weight)
        self._check_delays(delay)
        steps = self._delay_steps(delay)
        if xp is np:
            pre_g, post_g = self._pre_gids[pre_index], self._post_gids[post_index]
        else:
            pre_g = xp.asarray(self._pre_gids)[pre_index]
            post_g = xp.asarray(self._post_gids)[post_index]
        model = getattr(self.synapse_type, "engine_model", None)
        extra = {}
        if model is not None:
            extra = {"params": self._model_parameters(model, params),
                     "initial": dict(self.synapse_type.default_initial_values)}
        try:
            if self._sg is None:
                self._sg = self._network.connect(pre_g, post_g, weight, steps,
                                                 self.receptor_type, label=self.label or "",
                                                 model=model, **extra)
            else:
                self._network.extend_synapses(self._sg, pre_g, post_g, weight, steps,
                                              **extra)
        except (KeyError, ValueError) as err:
            raise errors.ConnectionError(str(err)) from None
        self._forget_caches()

    @property
    def procedural(self) -> bool:
        """True when this projection's synapses are regenerated per spike, not stored."""
        return self._procedural is not None

    def _connect_rule(self, rule, safe=True):
        """Create the connections of a counter-based rule (engine/procedural.py): kept as the
        rule where connectivity is procedural, else materialised chunk by chunk of sources."""
        state = simulator.state
        backend = self._network.backend
        group = ProceduralGroup(backend, rule, self._pre_gids, self._post_gids,
                                self.receptor_type, self.label or "")
        self._check_delays(np.array(rule.delay.bounds()))
        # under MPI every rank stores its part of the rule's connections
        wanted = (state.connectivity in ("procedural", "auto")
                  and not self._network.comm.distributed)
        if wanted and backend.is_gpu and not group.deliverable_on_gpu():
            logger.warning("procedural connectivity on the GPU cannot apply these weights or "
                           "delays: projection %r is stored (the same connections)",
                           self.label)
            wanted = False
        if wanted:
            bounds = rule.weight.bounds()
            if bounds is not None or not safe:
                # nothing drawn now: the weights' bounds are checked, the size (where a
                # draw decides it) counted when asked for
                self._size = rule.exact_size()
                if safe and self._size != 0:
                    self._check_rule_weights(np.array(bounds), safe, finite=False)
            else:
                self._size = self._scan_rule(group, safe)
            try:
                self._network.add_procedural(group)
            except (KeyError, ValueError) as err:
                raise errors.ConnectionError(str(err)) from None
            self._procedural = group
            self._forget_caches()
            return
        memory.check_new_synapses(self._network, int(rule.expected_size()))
        self._rule_build = True
        try:
            for source, target, weight, delay in group.materialise():
                self._check_rule_weights(weight, safe)
                self._add_connections(source, target, {"weight": weight,
                                                       "delay": delay * state.dt})
                if self._sg is not None and self._sg.capacity == self._sg.size:
                    # room for the rest: later chunks copy nothing already stored
                    bound = rule.expected_size()
                    if rule.kind == "bernoulli":
                        bound += 6 * np.sqrt(bound) + 16
                    self._sg.reserve(backend.xp, int(min(bound, rule.n_pre * rule.n_post)))
        finally:
            self._rule_build = False

    def _scan_rule(self, group, safe):
        """Number of synapses of a procedural rule (one pass over all sources, in chunks);
        with `safe`, the synapse type's weight checks on every regenerated weight."""
        n = 0
        for _, _, weight, _ in group.materialise():
            n += int(weight.shape[0])
            self._check_rule_weights(weight, safe)
        return n

    def _check_rule_weights(self, weight, safe, finite=True):
        """Finite weights; with `safe`, the synapse type's weight check (signs) on them
        (on their bounds, which may be infinite, with `finite` False)."""
        if weight.shape[0] == 0:
            return
        if finite:
            self._check_weights(weight)
        check = getattr(self.synapse_type, "parameter_checks", {}).get("weight")
        if safe and check is not None:
            extremes = np.array([float(weight.min()), float(weight.max())])
            big = np.finfo(np.float64).max
            check(np.clip(extremes, -big, big), self)

    def _regenerated(self):
        """The synapses of a procedural projection, regenerated (as a SynapseGroup)."""
        backend = self._network.backend
        xp = backend.xp
        parts = list(self._procedural.materialise())
        if not parts:
            z = xp.zeros(0, dtype=np.int32)
            return SynapseGroup(z, z, xp.zeros(0, dtype=backend.float), z, self.receptor_type)
        pre_g, post_g = xp.asarray(self._pre_gids), xp.asarray(self._post_gids)
        source, target, weight, delay = (xp.concatenate(a) for a in zip(*parts))
        return SynapseGroup(pre_g[source].astype(np.int32), post_g[target].astype(np.int32),
                            weight.astype(backend.float), delay.astype(np.int32),
                            self.receptor_type)

    def _store(self):
        """The SynapseGroup the projection reads (regenerated where procedural), or None."""
        return self._regenerated() if self._procedural is not None else self._sg

    @staticmethod
    def _model_parameters(model, params):
        """The native parameters that engine synapse model `model` declares."""
        declared = get_synapse_model(model).parameters
        return {name: value for name, value in params.items() if name in declared}

    @property
    def _plastic(self) -> bool:
        return getattr(self.synapse_type, "engine_model", None) is not None

    def _check_weights(self, weight):
        mod = _array_module(weight, self._network.backend)
        if not bool(mod.all(mod.isfinite(weight))):
            raise errors.ConnectionError("synaptic weights must be finite numbers")

    def _check_delays(self, delay):
        """Delays (ms), once rounded to the time grid, must lie within [max(dt, min_delay),
        max_delay]. Like NEST, which checks the delay in steps, a delay from half a step
        up to one step is accepted as one step; below half a step it is an error."""
        state = simulator.state
        if np.size(delay) == 0:
            return
        mod = _array_module(delay, self._network.backend)
        low, high = float(mod.min(delay)), float(mod.max(delay))
        eps = 1e-9
        if not (np.isfinite(low) and np.isfinite(high)):
            raise errors.ConnectionError("synaptic delays must be finite numbers")
        # rounding is monotonic: the extreme delays give the extreme step counts
        low_grid, high_grid = state.time_of(self._delay_steps(np.array([low, high])))
        if low_grid < state.min_delay_limit - eps:
            raise errors.ConnectionError(
                f"delay ({low} ms, {low_grid} ms on the time grid) is below the minimum "
                f"delay ({state.min_delay_limit} ms)")
        if high_grid > state.max_delay_limit + eps:
            raise errors.ConnectionError(
                f"delay ({high} ms, {high_grid} ms on the time grid) is above the maximum "
                f"delay ({state.max_delay_limit} ms)")

    def _delay_steps(self, delay):
        """Delays in steps, rounded half up as NEST rounds them (ms times steps per ms)."""
        mod = _array_module(delay, self._network.backend)
        steps_per_ms = 1.0 / simulator.state.dt
        return mod.floor(mod.asarray(delay, dtype=float) * steps_per_ms + 0.5).astype(np.int32)

    # -- reading ------------------------------------------------------------------------
    def __len__(self):
        if self._procedural is not None:
            if self._size is None:
                self._size = self._scan_rule(self._procedural, False)
            return self._size
        return 0 if self._sg is None else self._sg.size

    def _storage_indices(self):
        """(pre, post) host index arrays in storage order."""
        if self._index_cache is None:
            backend = self._network.backend
            sg = self._store()
            if sg is None:
                z = np.zeros(0, dtype=np.int64)
                self._index_cache = (z, z)
            else:
                self._index_cache = (self._pre_map(backend.to_host(sg.pre)),
                                     self._post_map(backend.to_host(sg.post)))
        return self._index_cache

    def _listing(self):
        """Storage position of each listed connection (None: storage order is listing order)."""
        if self._listing_cache is None:
            pre = self._storage_indices()[0]
            if pre.size < 2 or bool(np.all(pre[1:] >= pre[:-1])):
                self._listing_cache = (None,)
            else:
                self._listing_cache = (np.argsort(pre, kind="stable"),)
        return self._listing_cache[0]

    def _listed(self, storage_values):
        order = self._listing()
        return storage_values if order is None else storage_values[order]

    def _pre_index(self):
        return self._cached("pre")

    def _post_index(self):
        return self._cached("post")

    def _cached(self, key):
        """Host array, in listing order, of 'pre', 'post', 'weight' or 'delay'."""
        values = self._listed_cache.get(key)
        if values is None:
            sg = None if key in ("pre", "post") else self._store()
            if key in ("pre", "post"):
                values = self._storage_indices()[0 if key == "pre" else 1]
            elif sg is None:
                values = np.zeros(0)
            elif key == "weight":
                values = self._network.backend.to_host(sg.weight).astype(float)
                if self._plastic and sg.model.learns_weight:
                    return self._listed(values)  # changes as the network runs
            else:
                steps = self._network.backend.to_host(sg.delay).astype(np.int64)
                values = steps * simulator.state.dt
            values = self._listed_cache[key] = self._listed(values)
        return values

    def _attribute(self, name):
        """Host array of a native attribute for every connection (listing order)."""
        if name in ("presynaptic_index", "postsynaptic_index"):
            return self._cached("pre" if name.startswith("pre") else "post").astype(float)
        if name in ("weight", "delay"):
            return self._cached(name)
        if self._plastic:
            model = get_synapse_model(self.synapse_type.engine_model)
            if name in model.parameters or name in model.state:
                return np.zeros(0) if self._sg is None else self._listed(self._sg.get(name))
            if name == "dendritic_delay_fraction":
                return np.full(len(self), float(self.synapse_type.dendritic_delay_fraction))
        raise errors.NonExistentParameterError(name, self.synapse_type.__class__.__name__,
                                               self.synapse_type.get_parameter_names())

    @property
    def connections(self):
        """An iterator over the local connections, as :class:`Connection` objects."""
        return (Connection(self, i) for i in range(len(self)))

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [Connection(self, j) for j in range(*i.indices(len(self)))]
        if not -len(self) <= i < len(self):
            raise IndexError(i)
        return Connection(self, i % len(self))

    def _get_attributes_as_list(self, names):
        columns = [self._attribute(name) for name in names]
        return list(zip(*[c.tolist() for c in columns]))

    def _get_attributes_as_arrays(self, names, multiple_synapses="sum"):
        pre, post = self._pre_index(), self._post_index()
        flat = pre * self.post.size + post
        repeated = flat.size > 0 and np.unique(flat).size != flat.size
        result = []
        for name in names:
            if name[-1] == "s" and name[:-1] in ("weight", "delay"):
                name = name[:-1]
            values = self._attribute(name)
            arr = np.full((self.pre.size, self.post.size), np.nan)
            if repeated:
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
    def _write(self, name, storage_index, values):
        """Write native attribute `name` at storage positions (None: all connections)."""
        backend = self._network.backend
        if self._procedural is not None:
            raise NotImplementedError(
                "the connections of a procedural projection are regenerated from their rule "
                "and cannot be changed; use setup(connectivity='stored') to set them")
        target = {"weight": "weight", "delay": "delay"}.get(name)
        if target is None and self._plastic and self._sg is not None:
            self._write_model_value(name, storage_index, values)
            return
        if target is None or self._sg is None:
            if target is None:
                raise errors.NonExistentParameterError(
                    name, self.synapse_type.__class__.__name__,
                    self.synapse_type.get_parameter_names())
            return
        if name == "weight":
            mod = _array_module(values, backend)
            if not bool(mod.all(mod.isfinite(values))):
                raise errors.InvalidParameterValueError("weights must be finite numbers")
            new = backend.asarray(values, dtype=backend.float)
        else:
            self._check_delays(values)
            new = backend.asarray(self._delay_steps(values))
        array = getattr(self._sg, target)
        if storage_index is None:
            array[...] = new
        else:
            array[backend.asarray(storage_index)] = new
        self._listed_cache.pop(name, None)
        self._network.synapses_changed()

    def _write_model_value(self, name, storage_index, values):
        """Write a parameter or state variable of the engine synapse model."""
        sg = self._sg
        try:
            if name in sg.params:
                sg.set_params(storage_index, {name: values})
            elif name in sg.state and name in sg.initial:
                sg.set_state(name, storage_index, values)
            elif name == "dendritic_delay_fraction":
                if not bool(np.all(np.asarray(values) == 1)):
                    raise ValueError("dendritic_delay_fraction must be 1")
            else:
                raise errors.NonExistentParameterError(
                    name, self.synapse_type.__class__.__name__,
                    self.synapse_type.get_parameter_names())
        except ValueError as err:
            raise errors.InvalidParameterValueError(str(err)) from None

    def _set_native(self, name, index, values):
        """Write native attribute `name` of listed connections `index` (host arrays)."""
        order = self._listing()
        storage = np.asarray(index) if order is None else order[np.asarray(index)]
        self._write(name, storage, np.asarray(values, dtype=float))

    def _value_list_to_array(self, attributes):
        # PyNN's version always builds the dense connection mask; do so only when needed
        if any(isinstance(v, list) or (isinstance(v, np.ndarray) and v.ndim == 1)
               for v in attributes.values()):
            return super()._value_list_to_array(attributes)
        return attributes

    def _set_attributes(self, parameter_space):
        """Set attributes from a native ParameterSpace of shape (pre.size, post.size).

        Values are evaluated as pyNN.nest evaluates them: a random distribution
        draws the pre x post matrix row by row, so the same seed gives the same
        values, and connections between the same pair get the same value.
        """
        if len(self) == 0:
            return
        pre, post = self._storage_indices()
        connections = Connections(pre, post, self.pre.size, self.post.size,
                                  self._network.backend, column_ordered=False)
        draw = matrix_draws(connections)
        checks = getattr(self.synapse_type, "parameter_checks", {})
        translations = getattr(self.synapse_type, "translations", {})
        native_checks = {translations[name]["translated_name"]: check
                         for name, check in checks.items() if name in translations}
        updates = {}
        for name, value in parameter_space.items():
            values = values_at(value, connections, draw)
            if name in native_checks:
                native_checks[name](self._network.backend.to_host(values), self)
            updates[name] = values
        for name, values in updates.items():
            if np.ndim(values) == 0:
                values = np.full(len(self), float(values))
            self._write(name, None, values)

    def _set_initial_value_array(self, variable, value):
        """Initial value of a synapse state variable: one number, or one value per
        connection in listing order (reset() restores it)."""
        sg = self._sg
        if not self._plastic or (sg is not None and variable not in sg.initial) or (
                sg is None and variable not in self.synapse_type.default_initial_values):
            raise errors.NonExistentParameterError(
                variable, self.synapse_type.__class__.__name__,
                list(getattr(self.synapse_type, "default_initial_values", {})))
        if sg is None or len(self) == 0:
            return
        if not isinstance(value.base_value, np.ndarray):
            value.shape = (len(self),)  # PyNN passes the bound method self.size
        values = value.evaluate(simplify=True)
        if np.ndim(values) == 0:
            storage, values = None, float(values)
        else:
            order = self._listing()
            storage = np.arange(len(self)) if order is None else order
            values = np.asarray(values, dtype=float)
        try:
            sg.set_state(variable, storage, values)
        except ValueError as err:
            raise errors.InvalidParameterValueError(str(err)) from None


__all__ = ["Connection", "Projection", "ezip", "gids_of"]
