"""Population, PopulationView and Assembly: slices of engine neuron families."""

from __future__ import annotations

import numpy as np
from pyNN import common, errors
from pyNN.parameters import ArrayParameter, LazyArray, ParameterSpace, Sequence, simplify
from pyNN.random import RandomDistribution
from pyNN.standardmodels import StandardCellType

from . import simulator
from .recording import Recorder
from .standardmodels.base import engine_state_name, without_units


class Assembly(common.Assembly):
    __doc__ = common.Assembly.__doc__
    _simulator = simulator


def _evaluate(value, size):
    """A LazyArray, array or number -> float array of length `size`."""
    if isinstance(value, LazyArray):
        value = value.evaluate(simplify=False) if value.shape else value.evaluate(simplify=True)
    return np.broadcast_to(np.asarray(value, dtype=float), (size,))


def _to_engine_values(name, values, model):
    """Evaluated PyNN values -> what the engine stores (floats, or arrays of times)."""
    if name in model.sequence_parameters:
        values = np.atleast_1d(values)
        return [np.asarray(v.value if isinstance(v, ArrayParameter) else v, dtype=float)
                for v in values]
    return np.asarray(values, dtype=float)


def _reject_nan(updates: dict, model) -> None:
    """NaN is no parameter value (NEST refuses it too)."""
    for name, value in updates.items():
        if name in model.sequence_parameters:
            continue
        value = np.asarray(value, dtype=float)
        if np.isnan(value).any():
            raise errors.InvalidParameterValueError(f"{name} = nan: {name} must be a number")
def _select(values, sel):
    """The values of the cells `sel` (a number stays as it is)."""
    if np.ndim(values) == 1 and len(values) == sel.size and not sel.all():
        return np.asarray(values)[sel]
    return values


class PopulationMixin:
    """What Population and PopulationView share: parameter and state access."""

    def set(self, **parameters):
        simulator.state.require_current(self, type(self).__name__)
        if hasattr(self.celltype, "engine_model"):
            parameters = without_units(self.celltype, parameters)
        super().set(**parameters)

    def record(self, variables, to_file=None, sampling_interval=None, locations=None):
        simulator.state.require_current(self, type(self).__name__)
        super().record(variables, to_file, sampling_interval, locations)

    @property
    def _group(self):
        return self._slice_info.group

    @property
    def _engine_model(self):
        return self._slice_info.group.model

    def _gids(self) -> np.ndarray:
        """Global (engine) indices of the cells, in order."""
        raise NotImplementedError

    def _local(self) -> np.ndarray:
        """Indices inside their engine family of the cells this rank owns (all cells
        on one rank)."""
        return self._slice_info.local_of(self._grand_index()[self._mask_local])

    def _grand_index(self) -> np.ndarray:
        """Index of each cell in its population."""
        raise NotImplementedError

    def _stored(self):
        """(selection of the cells this rank stores, their indices in the engine family):
        under MPI a rank stores its own block, or every cell of a spike source."""
        index = self._grand_index()
        info = self._slice_info
        sel = (index >= info.first) & (index < info.first + info.stored)
        return sel, info.local_of(index[sel])

    def _get_parameters(self, *names):
        if isinstance(self.celltype, StandardCellType):
            if any(name in self.celltype.computed_parameters() for name in names):
                native_names = self.celltype.get_native_names()
            else:
                native_names = self.celltype.get_native_names(*names)
            return self.celltype.reverse_translate(self._get_native_parameters(*native_names))
        return self._get_native_parameters(*names)

    def _get_native_parameters(self, *names):
        group = self._group
        values = {}
        for name in names:
            raw = group.get_param(name, self._local())
            if name in group.model.sequence_parameters:
                # PyNN's own type: Sequence (spike times) or ArrayParameter (GIF kernels)
                kind = type(self.celltype.default_parameters.get(name))
                if not issubclass(kind, ArrayParameter):
                    kind = Sequence
                arr = np.empty(len(raw), dtype=object)
                arr[:] = [kind(v) for v in raw]
                values[name] = arr
            else:
                values[name] = simplify(raw) if len(raw) else np.asarray(raw, dtype=float)
        return ParameterSpace(values, shape=(int(self._mask_local.sum()),))

    def _set_parameters(self, parameter_space):
        """`parameter_space` holds native (engine) names."""
        parameter_space.evaluate(simplify=False)  # every cell: the same draws on all ranks
        group = self._group
        sel, local = self._stored()
        updates = {name: _to_engine_values(name, _select(value, sel), group.model)
                   for name, value in parameter_space.items()}
        _reject_nan(updates, group.model)
        try:
            group.set_params(local, updates)
        except ValueError as err:
            raise errors.InvalidParameterValueError(str(err)) from None

    def _set_initial_value_array(self, variable, initial_values):
        group = self._group
        name = engine_state_name(self.celltype, variable)
        if name not in group.model.state:
            raise errors.NonExistentParameterError(variable, self.celltype.__class__.__name__,
                                                   list(self.celltype.default_initial_values))
        values = _evaluate(initial_values, self.size)
        if np.isnan(values).any():
            raise errors.InvalidParameterValueError(
                f"initial value {variable} = nan: {variable} must be a number")
        try:
            group.model.check_state({name: values})
        except ValueError as err:
            message = str(err).replace(name, variable)  # the PyNN name, e.g. gsyn_inh
            raise errors.InvalidParameterValueError(f"initial value {message}") from None
        sel, local = self._stored()
        group.set_state(name, local, values[sel])

    def _get_cell_initial_value(self, id, variable):
        index = self.id_to_index(id)
        return self.initial_values[variable][index]

    def _set_cell_initial_value(self, id, variable, value):
        """``population[i].set_initial_value(variable, value)``: one cell, in the engine
        too (PyNN's generic version only edits the stored initial values)."""
        values = _evaluate(self.initial_values[variable], self.size).copy()
        values[self.id_to_index(id)] = value
        self.initialize(**{variable: values})


class PopulationView(PopulationMixin, common.PopulationView):
    __doc__ = common.PopulationView.__doc__
    _assembly_class = Assembly
    _simulator = simulator

    @property
    def _slice_info(self):
        return self.grandparent._slice_info

    def _grand_index(self):
        return self.index_in_grandparent(np.arange(self.size))

    def _gids(self):
        start = self.grandparent._slice_info.gid_start
        return start + self.index_in_grandparent(np.arange(self.size))

    @property
    def initial_values(self):
        """Initial values of the cells of this view (read-only LazyArrays)."""
        index = self.index_in_grandparent(np.arange(self.size))
        parent = self.grandparent
        return {name: LazyArray(_evaluate(value, parent.size)[index])
                for name, value in parent.initial_values.items()}

    def initialize(self, **initial_values):
        """Set initial values of state variables for the cells of this view."""
        simulator.state.require_current(self, "PopulationView")
        initial_values = without_units(self.celltype, initial_values)
        index = self.index_in_grandparent(np.arange(self.size))
        parent = self.grandparent
        for variable, value in initial_values.items():
            values = _evaluate(LazyArray(value, shape=(self.size,), dtype=float), self.size)
            self._set_initial_value_array(variable, values)
            full = _evaluate(parent.initial_values.get(variable, 0.0), parent.size).copy()
            full[index] = values
            parent.initial_values[variable] = LazyArray(full, shape=full.shape)

    def _get_view(self, selector, label=None):
        return PopulationView(self, selector, label)


class Population(PopulationMixin, common.Population):
    __doc__ = common.Population.__doc__
    _simulator = simulator
    _recorder_class = Recorder
    _assembly_class = Assembly

    def _create_cells(self):
        state = simulator.state
        if not (isinstance(self.celltype, StandardCellType)
                and hasattr(self.celltype, "engine_model")):
            raise errors.InvalidModelError(
                f"{type(self.celltype).__name__} is not available in pyNN.neurongpu")
        parameter_space = self.celltype.native_parameters
        parameter_space.shape = (self.size,)
        parameter_space.evaluate(simplify=False)
        from .engine import get_model
        from .standardmodels.base import engine_family
        family = engine_family(self.celltype, state.spike_precision, state.backend.is_gpu)
        model = get_model(family)
        params = {name: _to_engine_values(name, value, model)
                  for name, value in parameter_space.items()}
        if "integration_tolerance" in model.parameters:
            params["integration_tolerance"] = state.integration_tolerance
        _reject_nan(params, model)
        try:
            self._slice_info = state.network.add_neurons(family, self.size, params)
        except ValueError as err:
            raise errors.InvalidParameterValueError(str(err)) from None
        first = self._slice_info.gid_start
        assert first == state.id_counter
        self.all_cells = simulator.make_ids(first, self.size)
        lo, hi = self._slice_info.owned
        self._mask_local = np.zeros(self.size, dtype=bool)
        self._mask_local[lo:hi] = True
        state.id_counter += self.size
        self.first_id = self.all_cells[0]
        self._generation = state.generation
        state.register_population(self)

    def _grand_index(self):
        return np.arange(self.size)

    def _gids(self):
        return np.arange(self._slice_info.gid_start, self._slice_info.gid_start + self.size)

    def id_to_index(self, id):
        if isinstance(id, (int, np.integer)):
            index = int(id) - self._slice_info.gid_start
            if not 0 <= index < self.size:
                raise IndexError(f"ID {id} is not in {self.label}")
            return index
        ids = np.asarray(id, dtype=np.int64)
        index = ids - self._slice_info.gid_start
        if ids.size and (index.min() < 0 or index.max() >= self.size):
            raise IndexError(f"some IDs are not in {self.label}")
        return index

    def _get_view(self, selector, label=None):
        return PopulationView(self, selector, label)

    def initialize(self, **initial_values):
        """Set initial values of state variables (numbers, arrays, RandomDistributions or
        functions of the cell index). Random values are drawn once: reset() restores them."""
        simulator.state.require_current(self, "Population")
        initial_values = without_units(self.celltype, initial_values)
        for variable, value in initial_values.items():
            lazy = LazyArray(value, shape=(self.size,), dtype=float)
            values = _evaluate(lazy, self.size).copy()
            self._set_initial_value_array(variable, values)
            if isinstance(lazy.base_value, RandomDistribution):
                lazy = LazyArray(values, shape=(self.size,), dtype=float)
            self.initial_values[variable] = lazy
