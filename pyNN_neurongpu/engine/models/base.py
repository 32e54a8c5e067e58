"""The declaration every neuron-model family is made of.

A model declares its parameters, state variables, receptor ports and recordables
once, in PyNN's names and units (ms, mV, nA, nF, uS, Hz). The PyNN translation
layer, the reference update in array code and the CUDA kernel all read this
declaration.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

# NEST's default time resolution of its internal clock (tics per millisecond)
TICS_PER_MS = 1000.0


@dataclass(frozen=True)
class Var:
    """A parameter or state variable: default value, unit and one line of meaning."""
    default: float
    unit: str
    doc: str = ""


@dataclass
class StepContext:
    """What a model's reference update sees in one time step.

    ``inputs`` has shape (n_ports, n): the synaptic input that arrives in this
    step for each receptor port, already multiplied by spike multiplicity.
    ``i_stim`` is the injected current (nA) that acts in this step.
    """
    xp: object
    dt: float
    step: int
    params: dict
    derived: dict
    state: dict
    inputs: object
    i_stim: object
    rng: object = None
    extra: dict = field(default_factory=dict)
    # counter-based draws (engine/counter_rng.py) keyed by the neurons' global indices
    # `gids`: the same numbers on CPU and GPU
    counter: object = None
    gids: object = None


MODELS: dict[str, NeuronModel] = {}


def register(model_class):
    """Class decorator: add a model family (one instance) to :data:`MODELS` by name."""
    if model_class.name in MODELS:
        raise ValueError(f"a neuron model family {model_class.name!r} is registered already")
    MODELS[model_class.name] = model_class()
    return model_class


class NeuronModel:
    """Base class of a model family. Subclasses fill in the class attributes."""

    name: str = ""
    parameters: dict[str, Var] = {}
    state: dict[str, Var] = {}
    # hidden per-neuron state that is not a PyNN initial value: name -> dtype
    internal: dict[str, str] = {}
    # receptor port name -> unit of the synaptic weight on that port
    receptors: dict[str, str] = {}
    recordable: tuple[str, ...] = ("spikes",)
    # parameters that hold one array per neuron (e.g. spike times)
    sequence_parameters: tuple[str, ...] = ()
    spike_source: bool = False
    conductance_based: bool = False
    # how the GPU step updates the family: "fragment" (its update in the fused kernel:
    # ``fragment()``, else cuda/<name>.cu), "schedule" (a dedicated kernel replays a spike
    # schedule) or None (the array-code step only)
    kernel_kind: str | None = "fragment"
    # state variable -> (lower, upper) bound beyond which the run stops with
    # NumericalInstability, as NEST's model does (every state must be finite anyway)
    state_bounds: dict[str, tuple[float, float]] = {}
    # precise spike timing (NEST's ``_ps`` models, setup(spike_precision="off_grid")):
    # the family's input (ctx.inputs) is the step's spikes with their offsets (local
    # target, offset, weight), and update() returns (counts, local, offset): the spike
    # counts and one (local index, offset in ms before the step's end) per spike
    precise: bool = False

    # -- helpers shared by all models -------------------------------------------
    @classmethod
    def port_index(cls, receptor: str) -> int:
        try:
            return list(cls.receptors).index(receptor)
        except ValueError:
            raise KeyError(f"{cls.name} has no receptor port {receptor!r}; "
                           f"ports are {list(cls.receptors)}") from None

    @classmethod
    def default_parameters(cls) -> dict[str, float]:
        return {k: v.default for k, v in cls.parameters.items()}

    @classmethod
    def default_state(cls) -> dict[str, float]:
        return {k: v.default for k, v in cls.state.items()}

    @classmethod
    def units(cls) -> dict[str, str]:
        u = {k: v.unit for k, v in cls.parameters.items()}
        u.update({k: v.unit for k, v in cls.state.items()})
        return u

    @staticmethod
    def refractory_steps(xp, t_ref, dt):
        """Refractory period in whole steps, as NEST counts it.

        NEST converts t_ref to tics (1 tic = 1 us, rounded half up) and then to
        steps, rounding up: t_ref = 0.25 ms with dt = 0.1 ms gives 3 steps.
        """
        tics_per_step = int(round(dt * TICS_PER_MS))
        tics = xp.floor(xp.asarray(t_ref, dtype=np.float64) * TICS_PER_MS + 0.5)
        return ((tics.astype(np.int64) + tics_per_step - 1) // tics_per_step).astype(np.int32)

    # -- to be provided by each family --------------------------------------------
    def check(self, params: dict) -> None:
        """Raise ValueError for parameter values the model cannot use."""

    def check_step(self, params: dict, dt: float) -> None:
        """Raise ValueError for parameter values the model cannot use with time step `dt`."""

    def check_state(self, state: dict) -> None:
        """Raise ValueError for state values the model cannot start from (NEST's State_
        rules); `state` holds some of the state variables."""

    def check_sequences(self, sequences: dict) -> None:
        """Raise ValueError for per-neuron sequences (e.g. spike times) the model cannot use."""

    def prepare(self, xp, params: dict, dt: float) -> dict:
        """Quantities derived from parameters (propagators, step counts)."""
        return {}

    def prepare_run(self, backend, group, first_step: int) -> dict:
        """Per-run data (e.g. a spike schedule), passed to update as ``ctx.extra``."""
        return {}

    def integrate_components(self, ctx: StepContext, args: dict) -> None:
        """Advance the ODE state (``self.components``) over one step with the model's
        adaptive integrator (``self.integrator``, ``self.rhs``), in place in ctx.state."""
        xp, s = ctx.xp, ctx.state
        y = xp.stack([s[name] for name in self.components])
        y, s["h_int"] = self.integrator.integrate(
            xp, lambda yy, a: self.rhs(xp, yy, a), y, s["h_int"], ctx.dt, args)
        for k, name in enumerate(self.components):
            s[name] = y[k]

    def update(self, ctx: StepContext):
        """Advance all neurons of the family by one step; return spike counts
        (bool or integer array of length n)."""
        raise NotImplementedError


def _offending(value, mask) -> str:
    """The first offending value (and how many there are) for an error message."""
    values = np.atleast_1d(np.asarray(value, dtype=float))
    bad = np.atleast_1d(np.asarray(mask))
    first = values[np.argmax(bad)] if values.size > 1 else values.reshape(-1)[0]
    count = int(bad.sum())
    return f"{first:g}" + (f" (and {count - 1} more)" if count > 1 else "")


def require_positive(params: dict, *names: str) -> None:
    """Raise ValueError unless every value of the named parameters is > 0."""
    for name in names:
        value = _array(params[name])
        bad = ~(value > 0)
        if _any(bad):
            raise ValueError(f"{name} = {_offending(value, bad)}: {name} must be "
                             "strictly positive (> 0)")


def require_non_negative(params: dict, *names: str) -> None:
    """Raise ValueError unless every value of the named parameters is >= 0."""
    for name in names:
        value = _array(params[name])
        bad = ~(value >= 0)
        if _any(bad):
            raise ValueError(f"{name} = {_offending(value, bad)}: {name} must not be "
                             "negative (>= 0)")


def require_below(params: dict, low: str, high: str, strict: bool = True) -> None:
    """Raise ValueError unless params[low] < params[high] (<= if not strict) everywhere,
    e.g. NEST's "Reset potential must be smaller than threshold"."""
    a, b = _array(params[low]), _array(params[high])
    bad = ~(a < b) if strict else ~(a <= b)
    if _any(bad):
        a_b, b_b = np.broadcast_arrays(np.asarray(a, float), np.asarray(b, float))
        i = int(np.argmax(np.atleast_1d(np.asarray(bad)))) if np.ndim(bad) else 0
        count = int(np.asarray(bad).sum())
        more = f" (and {count - 1} more)" if count > 1 else ""
        raise ValueError(f"{low} = {np.atleast_1d(a_b)[i]:g}, {high} = "
                         f"{np.atleast_1d(b_b)[i]:g}{more}: {low} must be "
                         f"{'smaller than' if strict else 'at most'} {high}")


def require_finite(params: dict, *names: str) -> None:
    """Raise ValueError for NaN or infinite values of the named parameters."""
    for name in names:
        value = _array(params[name])
        bad = ~np.isfinite(value)
        if _any(bad):
            raise ValueError(f"{name} = {_offending(value, bad)}: {name} must be finite")


def _array(value):
    # numbers and host sequences become NumPy arrays; device arrays stay where they are
    return value if hasattr(value, "__array_namespace__") or hasattr(value, "device") \
        else np.asarray(value, dtype=float)


def _any(mask) -> bool:
    return bool(mask.any())
