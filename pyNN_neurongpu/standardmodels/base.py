"""Build a PyNN standard cell type from an engine model declaration.

The engine declares its models in PyNN's names and units, so translations are
identities; this module checks that PyNN's declaration and the engine's agree,
so a mismatch fails at import rather than as a wrong simulation.
"""

from __future__ import annotations

import numpy as np
from pyNN.parameters import ParameterSpace
from pyNN.standardmodels import build_translations

from ..engine import get_model
from ..errors import magnitude_in


def without_units(celltype, values: dict) -> dict:
    """PyNN parameter or initial values with any quantities.Quantity converted to the
    unit the engine declares for it (e.g. tau_m = 0.01 s -> 10.0 ms)."""
    units = get_model(celltype.engine_model).units()
    names = getattr(celltype, "engine_names", {})
    return {name: magnitude_in(value, units.get(names.get(name, name), ""), name)
            if name in units or names.get(name, name) in units else value
            for name, value in values.items()}


def _init_without_units(pynn_class):
    def __init__(self, **parameters):
        pynn_class.__init__(self, **without_units(self, parameters))
    __init__.__doc__ = pynn_class.__init__.__doc__
    return __init__


def engine_state_name(celltype, variable: str) -> str:
    """The engine's name of a cell type's state variable (PyNN's name unless the cell
    type renames it, e.g. EIF_cond_exp_isfa_ista's gsyn_exc -> excitatory.gsyn)."""
    return getattr(celltype, "engine_names", {}).get(variable, variable)


def _reverse_translate(self, native_parameters):
    """Engine -> PyNN names; all translations are renames (engine names may contain dots,
    which PyNN's generic version would evaluate as expressions)."""
    values = {name: native_parameters[d["translated_name"]]
              for name, d in self.translations.items()
              if d["translated_name"] in native_parameters.keys()}
    return ParameterSpace(values, schema=self.get_schema(), shape=native_parameters.shape)


def _unit(unit) -> str:
    return "" if unit in (None, "dimensionless") else str(unit)


def check_declarations(pynn_class, model, names: dict, pynn_defaults=()) -> None:
    """Raise TypeError where the engine declares a PyNN parameter or state variable of
    `pynn_class` with another unit or default value. `pynn_defaults` lists the PyNN
    names whose default the PyNN class sets for a family shared with other cell types
    (e.g. the inhibitory reversal potential of EIF_cond_exp_isfa_ista)."""
    declared = {**model.parameters, **model.state}
    defaults = {**pynn_class.default_parameters, **pynn_class.default_initial_values}
    for name, default in defaults.items():
        if name in model.sequence_parameters:   # e.g. a receptor's locations
            continue
        var = declared[names.get(name, name)]
        unit = pynn_class.units.get(name)
        if unit is not None and _unit(unit) != _unit(var.unit):
            raise TypeError(f"{pynn_class.__name__}.{name} is in {unit}, the engine's "
                            f"{names.get(name, name)} in {var.unit or 'no unit'}")
        if name in pynn_defaults or names.get(name, name) in model.sequence_parameters:
            continue
        if not (np.isscalar(default) and float(default) == float(var.default)):
            raise TypeError(f"{pynn_class.__name__}.{name} defaults to {default!r}, the "
                            f"engine's {names.get(name, name)} to {var.default!r}")


def engine_family(celltype, spike_precision: str, on_gpu: bool = False) -> str:
    """The engine family a population of `celltype` runs on: the precise-spike-timing
    variant (NEST's _ps model) where setup(spike_precision='off_grid') asks for it and the
    cell type has one, as pyNN.nest picks ``nest_name[spike_precision]``. On a GPU there is
    none yet: every family is the on-grid one there (setup() logs a warning that says so;
    SpikeSourceArray's times are still recorded exactly)."""
    precise = getattr(celltype, "precise_engine_model", None)
    if spike_precision != "off_grid" or precise is None or on_gpu:
        return celltype.engine_model
    return precise


def engine_cell_type(pynn_class, engine_model: str, names=None, pynn_defaults=(),
                     precise: str | None = None, **attributes):
    """Return a subclass of `pynn_class` that runs on engine family `engine_model`.

    Every PyNN parameter maps to the engine parameter of the same name; state
    variables (initial values) likewise, except where `names` (PyNN name -> engine
    name) renames them. Units and defaults must agree with PyNN's (see
    :func:`check_declarations`). `precise` names the family of the precise-spike-timing
    variant (setup(spike_precision='off_grid')), which must declare the same parameters
    and state. Extra class attributes may be given.
    """
    if precise is not None:
        p_model, model = get_model(precise), get_model(engine_model)
        if (p_model.units() != model.units()
                or p_model.default_parameters() != model.default_parameters()
                or p_model.default_state() != model.default_state()):
            raise TypeError(f"{precise} does not declare what {engine_model} declares")
    model = get_model(engine_model)
    names = dict(names or {})
    missing = {names.get(n, n) for n in pynn_class.default_parameters} - set(model.parameters)
    if missing:
        raise TypeError(f"engine model {engine_model} lacks PyNN parameters {sorted(missing)} "
                        f"of {pynn_class.__name__}")
    missing_state = ({names.get(n, n) for n in pynn_class.default_initial_values}
                     - set(model.state))
    if missing_state:
        raise TypeError(f"engine model {engine_model} lacks state variables "
                        f"{sorted(missing_state)} of {pynn_class.__name__}")
    if model.receptors and pynn_class.conductance_based != model.conductance_based:
        def kind(flag):
            return "conductance-based" if flag else "current-based"
        raise TypeError(f"{pynn_class.__name__} is {kind(pynn_class.conductance_based)}, "
                        f"engine model {engine_model} is {kind(model.conductance_based)}")
    check_declarations(pynn_class, model, names, pynn_defaults)
    pynn_names = {engine: pynn for pynn, engine in names.items()}
    namespace = {
        "__doc__": pynn_class.__doc__,
        "__module__": attributes.pop("__module__", __name__),
        "engine_model": engine_model,
        "precise_engine_model": precise,
        "translations": build_translations(*[(name, names.get(name, name))
                                             for name in pynn_class.default_parameters]),
        "engine_names": names,
        "reverse_translate": _reverse_translate,
        "__init__": _init_without_units(pynn_class),
        "recordable": [pynn for pynn in (pynn_names.get(r, r) for r in model.recordable)
                       if pynn == "spikes" or pynn in pynn_class.default_initial_values
                       or pynn in pynn_class.recordable],
        "receptor_types": tuple(model.receptors),
    }
    namespace.update(attributes)
    return type(pynn_class.__name__, (pynn_class,), namespace)
