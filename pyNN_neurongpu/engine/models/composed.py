"""Point neurons composed of a membrane and any number of named synaptic receptors.

A family is one composition: a membrane kind (``adexp`` or ``lif``) and an ordered list
of (receptor name, receptor kind). Its parameters, state, receptor ports, recordables,
reference update and CUDA fragment are all generated from the declarations below.
Per-receptor names are ``<receptor>.<name>`` (``AMPA.tau_syn``, ``AMPA.gsyn``); in CUDA
the dot becomes a double underscore.

Semantics (NEST 3.10):

* ``adexp`` with conductance receptors: ``aeif_cond_alpha_multisynapse`` /
  ``aeif_cond_beta_multisynapse`` (and ``aeif_cond_exp`` for exponential conductances).
  GSL's RKF45 with ``control_yp`` error bounds (``gsl_error_tol``, here the
  per-neuron parameter ``integration_tolerance``), first sub-step min(0.01 ms, dt);
  in the right-hand side V is V_reset while refractory, else min(V, v_spike); after
  every accepted sub-step a refractory neuron is clamped to V_reset, and a free one
  at V >= v_spike (v_thresh if delta_T = 0) spikes: V = V_reset, w += b, refractory
  for round-up(tau_refrac/dt) + 1 counts (0 if that is 0), so a neuron may spike
  several times in one step. After the step the count goes down by one, then this
  step's input is added (to g, or to dg times the normalisation), then the injected
  current that arrived is taken on.
* ``lif`` with conductance receptors: ``iaf_cond_exp`` / ``iaf_cond_alpha`` /
  ``iaf_cond_beta``: RKF45 over the whole step (absolute tolerance 1e-3 in NEST's
  units), V capped at v_thresh in the right-hand side, then threshold and reset.
* ``lif`` with current receptors: ``iaf_psc_exp_multisynapse`` (exact integration).

The LIF membrane's sums follow its :class:`Arithmetic` (NEST's order differs per model);
iaf.py builds ``iaf_psc_exp``, ``iaf_cond_exp`` and ``iaf_cond_alpha`` in theirs.

The exponential term of ``adexp`` has its argument capped (700 in float64, which NEST's
own parameter check makes unreachable; 40 in float32), so a neuron that blows up
reaches v_spike, spikes and is reset instead of turning into NaN.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace
from functools import cached_property

import numpy as np

from . import lif
from .base import (
    NeuronModel,
    StepContext,
    Var,
    require_below,
    require_non_negative,
    require_positive,
)
from .expressions import (
    Assign,
    Bin,
    Deriv,
    Expr,
    If,
    Input,
    Let,
    Lit,
    Mad,
    Name,
    Neg,
    PerPrecision,
    Spike,
    XpRenderer,
    compile_xp,
    eq,
    exp,
    fmin,
    ge,
    gt,
    mad,
    select,
)
from .integrators import RKF45
from .propagators import propagator_32

# NEST's default gsl_error_tol of the aeif_* models
DEFAULT_TOLERANCE = 1e-6
# NEST's first sub-step of the aeif_* models (ms)
ADEXP_FIRST_SUBSTEP = 0.01
EXP_ARG_CAP = {np.dtype(np.float64): 700.0, np.dtype(np.float32): 40.0}
# scale of the engine's units (mV, uS, nA) relative to NEST's (mV, nS, pA)
_NEST_SCALE = {"mV": 1.0, "uS": 1e-3, "uS/ms": 1e-3, "nA": 1e-3}
# iaf_cond_*: absolute tolerance 1e-3 in NEST's units
_LIF_COND_TOLERANCE = 1e-3


# -- declarations ------------------------------------------------------------------------
# The dynamics are expressions (expressions.py) over declared names: a membrane's own
# names as they are (``v``, ``g_leak``), a receptor's as ``<receptor>.<name>`` through
# the scope its functions receive (``r.gsyn`` is ``AMPA.gsyn``, or the name the family
# declares for it, e.g. ``gsyn_exc``). In a right-hand side
# the ODE components stand for the integrator's current values; ``r`` is the neuron's
# refractory count, ``vm`` the membrane potential the currents see (``refractory``: r > 0).
ZERO_INT = Lit(0, c="0")
ZERO = Lit(0.0, c="(real)0")
ONE = Lit(1.0, c="(real)1")


class Scope:
    """A receptor's names: ``scope.gsyn`` is ``Name("<receptor>.gsyn")``, or the name
    ``names`` gives ``<receptor>.gsyn``."""

    def __init__(self, port: str, names=None):
        self._port = port
        self._names = names or {}

    def __getattr__(self, name):
        full = f"{self._port}.{name}"
        return Name(self._names.get(full, full))


@dataclass(frozen=True)
class Arithmetic:
    """The order of operations of the LIF membrane's sums, which NEST writes differently
    per model (a composition in a model's order reproduces it bit for bit).

    ``current``: the terms of C dV/dt in order of summation: ``leak`` (-g_leak (V -
    v_rest)), ``synaptic`` (the receptors' currents summed first) or ``receptors`` (each
    in turn), ``i_offset``, ``i_stim``. ``propagated``: the terms of the exactly
    propagated V - v_rest: ``leak`` (P22 (V - v_rest)), ``drive`` (P20 (i_offset +
    i_stim)), ``receptors``. ``divide``: the right-hand side divides by cm and the time
    constants, as NEST does, instead of multiplying by reciprocals taken once a step."""
    current: tuple = ("leak", "synaptic", "i_offset", "i_stim")
    propagated: tuple = ("leak", "drive", "receptors")
    divide: bool = False

    def __post_init__(self):
        if sorted(self.current) not in (sorted(("leak", "synaptic", "i_offset", "i_stim")),
                                        sorted(("leak", "receptors", "i_offset", "i_stim"))):
            raise ValueError(f"current terms {self.current!r}: each of leak, i_offset, "
                             "i_stim and one of synaptic, receptors")
        if sorted(self.propagated) != sorted(("leak", "drive", "receptors")):
            raise ValueError(f"propagated terms {self.propagated!r}: each of leak, drive, "
                             "receptors")


@dataclass(frozen=True)
class MembraneKind:
    """The neuron part of a composition: parameters, state, ODE components, and its
    terms: ``cap`` (the name V is capped at in the right-hand side), ``fused`` (``mad``
    fused on the GPU), ``reciprocals`` ((name, expression, parameter), taken once a
    step), ``currents(i_syn)`` (statements after the receptors' currents: a local
    ``dv``, the derivatives of the components after v; membranes without it sum their
    currents in the order of ``arithmetic``), ``after`` (statements after an integrated
    step, before the inputs are taken on)."""
    name: str
    parameters: dict
    state: dict
    components: tuple          # ODE state in integration order (v first)
    units: tuple               # unit of each component
    cap: str = "v_thresh"
    fused: bool = False
    reciprocals: tuple = ()
    currents: object = None
    after: tuple = ()
    arithmetic: Arithmetic | None = None


@dataclass(frozen=True)
class ReceptorKind:
    """A post-synaptic response: its parameters and state per receptor (base names) and
    its terms, functions of its :class:`Scope` ``r``: ``derivatives(r)`` (dy/dt of its
    components, in order), ``current(r, vm)`` ((factor, driving force) of its current),
    ``on_input(r, x)`` (the new value of ``input_to`` given this step's input x),
    ``exact(r)`` (current-based kinds, exact integration: the propagator's term of v
    and the new current given x), ``derived(xp, q, p, dt)`` (values computed once per
    parameter change; ``q(name)`` its parameters, ``p`` the family's) and
    ``check(p, q)`` (``q(name)``: the declared name of its parameter)."""
    name: str
    parameters: dict
    state: dict                # the PyNN state variable (gsyn or isyn)
    internal: tuple = ()       # hidden float state (e.g. dgsyn)
    components: tuple = ()     # ODE components (conductances), in order
    units: tuple = ()
    conductance: bool = True
    input_to: str = "gsyn"     # the state variable a spike increments
    reciprocals: tuple = ("tau_syn",)
    derivatives: object = None
    current: object = None
    on_input: object = None
    exact: object = None
    derived: object = None
    check: object = None


def _adexp_currents(i_syn):
    vm, v_rest = Name("vm"), Name("v_rest")
    return (
        Let("cap", PerPrecision(EXP_ARG_CAP[np.dtype(np.float32)],
                                EXP_ARG_CAP[np.dtype(np.float64)])),
        Let("has_exp", gt("delta_T", ZERO_INT), ctype="bool"),
        Let("arg", fmin((vm - Name("v_thresh")) * Name("inv_delta_T"), "cap")),
        Let("i_spike", select("has_exp", Name("g_leak") * Name("delta_T") * exp("arg"),
                              ZERO)),
        Let("dv", mad(-Name("g_leak"), vm - v_rest, "i_spike") + i_syn - Name("w")
            + Name("i_offset") + Name("i_stim")),
        Deriv(1, mad("a_uS", vm - v_rest, -Name("w")) * Name("inv_tau_w")),
    )


ADEXP = MembraneKind(
    "adexp",
    parameters={
        "cm": Var(0.281, "nF", "membrane capacitance"),
        "tau_refrac": Var(0.1, "ms", "refractory period"),
        "v_spike": Var(-40.0, "mV", "spike detection threshold"),
        "v_reset": Var(-70.6, "mV", "reset potential after a spike"),
        "v_rest": Var(-70.6, "mV", "resting (leak reversal) potential"),
        "tau_m": Var(9.3667, "ms", "membrane time constant"),
        "i_offset": Var(0.0, "nA", "constant injected current"),
        "a": Var(4.0, "nS", "subthreshold adaptation conductance"),
        "b": Var(0.0805, "nA", "spike-triggered adaptation"),
        "delta_T": Var(2.0, "mV", "slope factor"),
        "tau_w": Var(144.0, "ms", "adaptation time constant"),
        "v_thresh": Var(-50.4, "mV", "spike initiation threshold"),
    },
    state={"v": Var(-70.6, "mV", "membrane potential"),
           "w": Var(0.0, "nA", "adaptation current")},
    components=("v", "w"),
    units=("mV", "nA"),
    cap="v_spike",
    # AdEx: fused where the kernel takes the fast RKF45 forms (rkf45.cuh); mad<false>
    # and the plain expression round the same
    fused=True,
    reciprocals=(("inv_tau_w", ONE / Name("tau_w"), "tau_w"),
                 ("inv_delta_T", ONE / select(gt("delta_T", ZERO_INT), "delta_T", ONE),
                  "delta_T")),
    currents=_adexp_currents,
    # the refractory count goes down after the step (the events set it)
    after=(If(gt("r", ZERO_INT), (Assign("r", Lit(1, c="1"), op="-"),), braces=False),
           Assign("refrac", Name("r"))),
)

LIF = MembraneKind(
    "lif", parameters=dict(lif.MEMBRANE), state=dict(lif.V), components=("v",),
    # NEST's iaf_psc_exp_multisynapse order (other iaf_* models: iaf.py)
    units=("mV",), cap="v_thresh", arithmetic=Arithmetic(),
    # threshold and reset after the integrated step
    after=(If(gt("r", ZERO_INT),
              (Assign("refrac", Lit(1, c="1"), op="-"), Assign("v", Name("v_reset"))),
              (If(ge("v", "v_thresh"),
                  (Assign("refrac", Name("ref_steps")), Assign("v", Name("v_reset")),
                   Spike())),)),),
)

MEMBRANES = {m.name: m for m in (ADEXP, LIF)}


def _conductance(r, vm):
    return r.gsyn, r.e_syn - vm


def _check_beta(p, q):
    if np.any(p[q("tau_rise")] > p[q("tau_decay")]):
        raise ValueError(f"{q('tau_rise')} must not exceed {q('tau_decay')}")


_GSYN = {"gsyn": Var(0.0, "uS", "synaptic conductance")}
RECEPTORS = {r.name: r for r in (
    ReceptorKind("cond_exp",
                 {"tau_syn": Var(5.0, "ms", "decay time of the conductance"),
                  "e_syn": Var(0.0, "mV", "reversal potential")},
                 _GSYN, components=("gsyn",), units=("uS",),
                 derivatives=lambda r: (-r.gsyn * r.inv_tau_syn,),
                 current=_conductance,
                 on_input=lambda r, x: r.gsyn + x),
    ReceptorKind("cond_alpha",
                 {"tau_syn": Var(5.0, "ms", "time to peak of the alpha conductance"),
                  "e_syn": Var(0.0, "mV", "reversal potential")},
                 _GSYN, internal=("dgsyn",), components=("dgsyn", "gsyn"),
                 units=("uS/ms", "uS"), input_to="dgsyn",
                 derivatives=lambda r: (-r.dgsyn * r.inv_tau_syn,
                                        mad(-r.gsyn, r.inv_tau_syn, r.dgsyn)),
                 current=_conductance,
                 on_input=lambda r, x: r.dgsyn + x * r.g0,
                 derived=lambda xp, q, p, dt: {"g0": math.e / q("tau_syn")}),
    ReceptorKind("cond_beta",
                 {"tau_rise": Var(0.2, "ms", "rise time of the conductance"),
                  "tau_decay": Var(1.7, "ms", "decay time of the conductance"),
                  "e_syn": Var(0.0, "mV", "reversal potential")},
                 _GSYN, internal=("dgsyn",), components=("dgsyn", "gsyn"),
                 units=("uS/ms", "uS"), input_to="dgsyn",
                 reciprocals=("tau_rise", "tau_decay"),
                 derivatives=lambda r: (-r.dgsyn * r.inv_tau_rise,
                                        mad(-r.gsyn, r.inv_tau_decay, r.dgsyn)),
                 current=_conductance,
                 on_input=lambda r, x: r.dgsyn + x * r.g0,
                 derived=lambda xp, q, p, dt: {
                     "g0": beta_normalisation(xp, q("tau_rise"), q("tau_decay"))},
                 check=_check_beta),
    ReceptorKind("curr_exp",
                 {"tau_syn": Var(5.0, "ms", "decay time of the current")},
                 {"isyn": Var(0.0, "nA", "synaptic current")},
                 conductance=False, input_to="isyn",
                 exact=lambda r, x: (r.P21 * r.isyn, r.isyn * r.P11 + x),
                 derived=lambda xp, q, p, dt: {
                     "P11": xp.exp(-dt / q("tau_syn")),
                     "P21": propagator_32(xp, q("tau_syn"), p["tau_m"], p["cm"], dt)}),
)}

def beta_normalisation(xp, tau_rise, tau_decay):
    """NEST's factor that makes a unit input give a beta conductance peaking at 1
    (the alpha function's e/tau where the two times are equal)."""
    diff = tau_decay - tau_rise
    with np.errstate(divide="ignore", invalid="ignore"):
        t_peak = tau_decay * tau_rise * xp.log(tau_decay / tau_rise) / diff
        peak = xp.exp(-t_peak / tau_decay) - xp.exp(-t_peak / tau_rise)
        beta = (1.0 / tau_rise - 1.0 / tau_decay) / peak
    eps = np.finfo(np.float64).eps
    peak = xp.where(xp.abs(diff) > eps, peak, 0.0)
    return xp.where(xp.abs(peak) < eps, math.e / tau_decay, beta)


def _ordered(order, terms) -> list:
    """The named terms in `order` (a list of terms stands for each of them in turn)."""
    out = []
    for name in order:
        term = terms[name]
        out += term if isinstance(term, list) else [term]
    return out


def _sum(first, rest):
    """first + rest[0] + rest[1] + ..., added left to right."""
    for term in rest:
        first = first + term
    return first


def _divided(e, denominators: dict):
    """`e` with each product by a reciprocal (``x * inv_p``, ``mad(x, inv_p, c)``) the
    division by its denominator (``x / p``, ``c + x / p``; ``c - x / p`` for ``-x``)."""
    if isinstance(e, Mad) and isinstance(e.b, Name) and e.b.name in denominators:
        d, c = denominators[e.b.name], _divided(e.c, denominators)
        if isinstance(e.a, Neg):
            return Bin("-", c, Bin("/", _divided(e.a.a, denominators), d))
        return Bin("+", c, Bin("/", _divided(e.a, denominators), d))
    if isinstance(e, Bin) and e.op == "*" and isinstance(e.b, Name) \
            and e.b.name in denominators:
        return Bin("/", _divided(e.a, denominators), denominators[e.b.name])
    if not isinstance(e, Expr):
        return e
    changes = {}
    for f in fields(e):
        value = getattr(e, f.name)
        if isinstance(value, Expr):
            changes[f.name] = _divided(value, denominators)
        elif isinstance(value, tuple):
            changes[f.name] = tuple(_divided(x, denominators) for x in value)
    return replace(e, **changes)


def c_name(name: str) -> str:
    """The C identifier of a declared name (``AMPA.gsyn`` -> ``AMPA__gsyn``)."""
    return name.replace(".", "__")


def family_name(membrane: str, receptors) -> str:
    """Registry name (a C identifier) of a composition."""
    return "__".join([membrane] + [f"{port}_{kind}" for port, kind in receptors])


# -- the family --------------------------------------------------------------------------
class ComposedNeuron(NeuronModel):
    """Base of the generated families; see :func:`composed_family`."""

    membrane: MembraneKind = ADEXP
    ports: tuple = ()          # ((receptor name, ReceptorKind), ...)
    components: tuple = ()     # ODE state names (full names)
    component_units: tuple = ()
    conductance_based = True
    exact = False              # LIF with current receptors: exact integration
    libm_sensitive = False     # see declare()
    arithmetic = None          # the LIF membrane's order of operations (Arithmetic)
    names: dict = {}           # a receptor's names declared otherwise (AMPA.gsyn -> ...)
    pool = True                # GPU: stepped from a block-wide pool (engine/gpu/codegen.py)

    @classmethod
    def full_name(cls, port: str, name: str) -> str:
        """The declared name of receptor `port`'s `name` (``<port>.<name>`` unless the
        family names it otherwise)."""
        full = f"{port}.{name}"
        return cls.names.get(full, full)

    @classmethod
    def declare(cls, membrane: MembraneKind, ports, arithmetic=None, name=None, names=None,
                declarations=None, pool=True) -> dict:
        """Class attributes of the composition (membrane, ((name, kind), ...)); see
        :func:`composed_family` for the others."""
        names, declarations = dict(names or {}), dict(declarations or {})

        def full(port, k):
            return names.get(f"{port}.{k}", f"{port}.{k}")
        parameters = dict(membrane.parameters)
        state = dict(membrane.state)
        internal = {"refrac": "int32", "i_stim": "float"}
        components, units = list(membrane.components), list(membrane.units)
        for port, kind in ports:
            parameters.update({full(port, k): v for k, v in kind.parameters.items()})
            state.update({full(port, k): v for k, v in kind.state.items()})
            internal.update({full(port, k): "float" for k in kind.internal})
            components += [full(port, k) for k in kind.components]
            units += list(kind.units)
        for table in (parameters, state):
            table.update({k: v for k, v in declarations.items() if k in table})
        conductance = {kind.conductance for _, kind in ports}
        if len(conductance) > 1:
            raise ValueError("cannot mix conductance-based and current-based receptors")
        conductance_based = conductance != {False}
        exact = membrane is LIF and not conductance_based
        if membrane is ADEXP:
            if not conductance_based:
                raise ValueError("AdExp is available with conductance-based receptors only "
                                 "(as in NEST's aeif_cond_*_multisynapse)")
            parameters["integration_tolerance"] = Var(
                DEFAULT_TOLERANCE, "", "error tolerance of the RKF45 integration "
                "(NEST's gsl_error_tol)")
        if not exact:
            internal["h_int"] = "float"  # each neuron's adaptive sub-step size (ms)
        if arithmetic is not None and membrane.arithmetic is None:
            raise ValueError(f"{membrane.name} sums its currents in its own order")
        recordable = ("spikes", *membrane.state,
                      *[full(port, k) for port, kind in ports for k in kind.state])
        return dict(
            name=name or family_name(membrane.name, [(p, k.name) for p, k in ports]),
            membrane=membrane, ports=tuple(ports), parameters=parameters, state=state,
            internal=internal, receptors={p: ("uS" if k.conductance else "nA")
                                          for p, k in ports},
            recordable=recordable, conductance_based=conductance_based,
            # NEST's aeif_*: V_m < -1000 mV or |w| > 10^6 pA is a NumericalInstability
            state_bounds={"v": (-1e3, np.inf), "w": (-1e3, 1e3)} if membrane is ADEXP
            else {},
            components=tuple(components), component_units=tuple(units),
            exact=exact, arithmetic=arithmetic or membrane.arithmetic, names=names, pool=pool,
            # exp in the dynamics: the device's exp differs from NumPy's in the last bit
            # now and then, which AdEx's step control and spike timing can amplify
            libm_sensitive=membrane is ADEXP)

    # -- the dynamics as statements (rendered here to array code, by engine/gpu/composed.py
    # to CUDA) --------------------------------------------------------------------------
    def reciprocal_terms(self) -> list[tuple[str, object, str]]:
        """(name, expression, parameter) of the reciprocals the right-hand side
        multiplies by, taken once a step: a division is several instructions on a GPU,
        and the right-hand side runs six times per RKF45 sub-step (none where the
        family divides, as NEST does)."""
        if self.arithmetic is not None and self.arithmetic.divide:
            return []
        return self._reciprocals()

    def _reciprocals(self) -> list[tuple[str, object, str]]:
        out = [("inv_cm", ONE / Name("cm"), "cm")]
        for port, kind in self.ports:
            out += [(self.full_name(port, f"inv_{name}"), ONE / Name(self.full_name(port, name)),
                     self.full_name(port, name)) for name in kind.reciprocals]
        return out + list(self.membrane.reciprocals)

    def scope(self, port: str) -> Scope:
        return Scope(port, self.names)

    def rhs_statements(self) -> list:
        """dy/dt of the ODE components (``Deriv`` rows in ``components`` order)."""
        membrane, arithmetic = self.membrane, self.arithmetic
        summed = arithmetic is None or "synaptic" in arithmetic.current
        out = [Let("refractory", gt("r", ZERO_INT), ctype="bool"),
               Let("vm", select("refractory", "v_reset", fmin("v", membrane.cap)))]
        if summed:
            out.append(Let("i_syn", Lit(0.0, c="0"), const=False))
        currents = []
        for port, kind in self.ports:
            r = self.scope(port)
            for name, term in zip(kind.components, kind.derivatives(r)):
                out.append(Deriv(self.components.index(self.full_name(port, name)), term))
            g, drive = kind.current(r, Name("vm"))
            if summed:
                out.append(Assign("i_syn", mad(g, drive, "i_syn")))
            currents.append(g * drive)
        if arithmetic is None:
            out += membrane.currents(Name("i_syn"))
        else:
            terms = _ordered(arithmetic.current, {
                "leak": -Name("g_leak") * (Name("vm") - Name("v_rest")),
                "synaptic": Name("i_syn"), "receptors": currents,
                "i_offset": Name("i_offset"), "i_stim": Name("i_stim")})
            out += [Let("dv", terms[0], const=False),
                    Assign("dv", _sum(Name("dv"), terms[1:]))]
        dv_dt = Name("dv") * Name("inv_cm")
        if arithmetic is not None and arithmetic.divide:
            # the division before the select, not in a branch (fewer registers on a GPU)
            out.append(Let("dv_dt", dv_dt))
            dv_dt = Name("dv_dt")
        out.append(Deriv(0, select("refractory", ZERO, dv_dt)))
        if arithmetic is not None and arithmetic.divide:
            denominators = {n: e.b for n, e, _ in self._reciprocals()
                            if isinstance(e, Bin) and e.op == "/" and e.a == ONE}
            out = [replace(st, expr=_divided(st.expr, denominators)) if hasattr(st, "expr")
                   else st for st in out]
        return out

    def input_statements(self) -> list:
        """This step's inputs taken on (integrated families, after the step)."""
        return [Assign(self.full_name(port, kind.input_to),
                       kind.on_input(self.scope(port), Input(port, k)))
                for k, (port, kind) in enumerate(self.ports)]

    def end_statements(self) -> list:
        """After an integrated step (the components stored back): the membrane's
        bookkeeping, the inputs, the injected current that arrived."""
        return [*self.membrane.after, *self.input_statements(),
                Assign("i_stim", Name("stim_now"))]

    def exact_statements(self) -> list:
        """The whole step of an exactly integrated family (LIF, current receptors): V -
        v_rest propagated in the order of ``arithmetic.propagated`` (the terms before
        the first receptor's in one expression, then one addition each)."""
        terms = [(port, kind.exact(self.scope(port), Input(port, k)))
                 for k, (port, kind) in enumerate(self.ports)]
        v, v_rel = Name("v"), Name("v_rel")
        order = self.arithmetic.propagated
        first = order.index("receptors")
        leading = _ordered(order[:first], {
            "leak": (v - Name("v_rest")) * Name("P22"),
            "drive": (Name("i_offset") + Name("i_stim")) * Name("P20")})
        rest = _ordered(order[first:], {
            "receptors": [term for _, (term, _) in terms],
            "drive": (Name("i_offset") + Name("i_stim")) * Name("P20")})
        free = [Let("v_rel", _sum(leading[0], leading[1:]), const=False)]
        free += [Assign("v_rel", v_rel + term) for term in rest]
        free.append(Assign("v", v_rel + Name("v_rest")))
        return [
            If(eq("refrac", ZERO_INT), tuple(free), (Assign("refrac", Lit(1, c="1"), op="-"),)),
            *[Assign(self.full_name(port, "isyn"), new) for port, (_, new) in terms],
            If(ge("v", "v_thresh"), (Assign("refrac", Name("ref_steps")),
                                     Assign("v", Name("v_reset")), Spike())),
            Assign("i_stim", Name("stim_now")),
        ]

    # -- the array code rendered from them ----------------------------------------------
    def _xp_state(self, name: str) -> str:
        if name == "r":
            return 'a["refrac"]'
        if name == "stim_now":
            return "stim_now"
        if name in self.state or name in self.internal:
            return f"s[{name!r}]"
        return f"a[{name!r}]"

    @cached_property
    def _xp_rhs(self):
        rows = {c: k for k, c in enumerate(self.components)}

        def resolve(name):
            if name in rows:
                return f"y[{rows[name]}]"
            return 'a["refrac"]' if name == "r" else f"a[{name!r}]"
        body = XpRenderer(resolve).lines(self.rhs_statements())
        return compile_xp("rhs", "xp, y, a", body,
                          prologue=["f = xp.empty_like(y)",
                                    "real32 = y.dtype == np.float32"],
                          epilogue=["return f"], errstate=True)

    @cached_property
    def _xp_reciprocals(self):
        renderer = XpRenderer(lambda name: f"a[{name!r}]")
        body = [f"r[{name!r}] = {renderer.expr(e)}"
                for name, e, _ in self.reciprocal_terms()]
        return compile_xp("reciprocals", "xp, a", body, prologue=["r = {}"],
                          epilogue=["return r"])

    @cached_property
    def _xp_end(self):
        statements = self.exact_statements() if self.exact else self.end_statements()
        body = XpRenderer(self._xp_state).lines(statements)
        return compile_xp("end", "xp, s, a, inputs, stim_now", body,
                          prologue=["spiked = None"], epilogue=["return spiked"])

    # -- checks and derived quantities ----------------------------------------------
    def check_state(self, s):
        if self.membrane is ADEXP:  # NEST's aeif_*: "Conductances must not be negative."
            require_non_negative(s, *[self.full_name(port, "gsyn") for port, kind in self.ports
                                      if kind.conductance and self.full_name(port, "gsyn") in s])

    def check(self, p):
        require_positive(p, "cm", "tau_m")
        require_non_negative(p, "tau_refrac")
        if self.membrane is LIF:
            require_below(p, "v_reset", "v_thresh")  # NEST's iaf_*: reset below threshold
        for port, kind in self.ports:
            require_positive(p, *[self.full_name(port, k) for k in kind.parameters
                                  if k.startswith("tau")])
            if kind.check is not None:
                kind.check(p, lambda name, port=port: self.full_name(port, name))
        if self.membrane is ADEXP:
            require_positive(p, "tau_w", "integration_tolerance")
            require_non_negative(p, "delta_T")
            require_below(p, "v_reset", "v_spike")
            require_below(p, "v_thresh", "v_spike", strict=False)
            with np.errstate(divide="ignore", invalid="ignore"):
                arg = (p["v_spike"] - p["v_thresh"]) / p["delta_T"]
            # NEST's guard against overflow of the exponential at spike time
            if np.any((p["delta_T"] > 0) & (arg >= math.log(np.finfo(float).max / 1e20))):
                raise ValueError("v_spike, v_thresh and delta_T would overflow the "
                                 "exponential at spike time; raise delta_T or lower v_spike")

    def prepare(self, xp, p, dt):
        ref_steps = self.refractory_steps(xp, p["tau_refrac"], dt)
        d = {"ref_steps": ref_steps}
        if self.exact:
            p22 = xp.exp(-dt / p["tau_m"])
            d["P22"] = p22
            d["P20"] = p["tau_m"] / p["cm"] * (1.0 - p22)
        else:
            d["g_leak"] = p["cm"] / p["tau_m"]
            if self.membrane is ADEXP:
                d["ref_init"] = xp.where(ref_steps > 0, ref_steps + 1, 0).astype(np.int32)
                d["v_peak"] = xp.where(p["delta_T"] > 0, p["v_spike"], p["v_thresh"])
                d["a_uS"] = p["a"] * 1e-3
        for port, kind in self.ports:
            if kind.derived is not None:
                values = kind.derived(xp, lambda name, port=port: p[self.full_name(port, name)],
                                      p, dt)
                d.update({self.full_name(port, k): v for k, v in values.items()})
        return d

    # -- reference update ---------------------------------------------------------------
    def integrator(self):
        scales = [_NEST_SCALE[u] for u in self.component_units]
        if self.membrane is ADEXP:
            return RKF45(scales)
        return RKF45([_LIF_COND_TOLERANCE * s for s in scales])

    def reciprocals(self, xp, a) -> dict:
        """The values of :meth:`reciprocal_terms`."""
        return self._xp_reciprocals(xp, a)

    def rhs(self, xp, y, a):
        """dy/dt of the ODE components (rows of y, in ``components`` order)."""
        return self._xp_rhs(xp, y, a)

    def _args(self, ctx):
        a = dict(ctx.params)
        a.update(ctx.derived)
        a.update(self.reciprocals(ctx.xp, a))
        a["i_stim"] = ctx.state["i_stim"]
        a["refrac"] = ctx.state["refrac"]
        return a

    def _adexp_event(self, xp):
        def event(Y, A, accepted):
            r = A["refrac"]
            clamp = accepted & (r > 0)
            spike = accepted & (r <= 0) & (Y[0] >= A["v_peak"])
            Y[0] = xp.where(clamp | spike, A["v_reset"], Y[0])
            Y[1] = xp.where(spike, Y[1] + A["b"], Y[1])
            A["refrac"] = xp.where(spike, A["ref_init"], r)
            A["n_spikes"] = A["n_spikes"] + spike
            return spike
        return event

    def update(self, ctx: StepContext):
        xp, s = ctx.xp, ctx.state
        if self.exact:
            a = dict(ctx.params)
            a.update(ctx.derived)
            return self._xp_end(xp, s, a, ctx.inputs, ctx.i_stim)
        a = self._args(ctx)
        y = xp.stack([s[name] for name in self.components])
        rhs = lambda yy, aa: self.rhs(xp, yy, aa)  # noqa: E731
        if self.membrane is ADEXP:
            a["refrac"] = s["refrac"].copy()
            a["n_spikes"] = xp.zeros(s["refrac"].shape, dtype=np.int32)
            y, s["h_int"] = self.integrator().integrate(
                xp, rhs, y, s["h_int"], ctx.dt, a, h_init=ADEXP_FIRST_SUBSTEP,
                event=self._adexp_event(xp), carry=("refrac", "n_spikes"),
                tolerance=ctx.params["integration_tolerance"])
        else:
            y, s["h_int"] = self.integrator().integrate(xp, rhs, y, s["h_int"], ctx.dt, a)
        for k, name in enumerate(self.components):
            s[name] = y[k]
        spiked = self._xp_end(xp, s, a, ctx.inputs, ctx.i_stim)
        return a["n_spikes"] if self.membrane is ADEXP else spiked


def composed_family(membrane: str, receptors, arithmetic: Arithmetic | None = None,
                    name: str | None = None, names: dict | None = None,
                    declarations: dict | None = None, pool: bool = True) -> str:
    """Register (once) the family of a composition and return its name.

    `receptors`: ordered (receptor name, kind) pairs, kinds from :data:`RECEPTORS`.
    A family in another NEST model's order of operations (iaf.py) gives its
    `arithmetic` (the LIF membrane's), its registry `name`, `names` for receptor names
    (``excitatory.tau_syn`` -> ``tau_syn_E``), `declarations` (Vars replacing those of
    its parameters and state variables) and `pool` (False: one neuron per GPU thread).
    Raises ValueError for unknown kinds or invalid combinations.
    """
    from .base import MODELS, register
    if membrane not in MEMBRANES:
        raise ValueError(f"unknown membrane kind {membrane!r}; known: {sorted(MEMBRANES)}")
    ports = []
    for port, kind in receptors:
        if kind not in RECEPTORS:
            raise ValueError(f"unknown receptor kind {kind!r}; known: {sorted(RECEPTORS)}")
        if not str(port).isidentifier():
            raise ValueError(f"receptor name {port!r} is not an identifier")
        ports.append((str(port), RECEPTORS[kind]))
    if not ports:
        raise ValueError("a composed neuron needs at least one receptor")
    if len({p for p, _ in ports}) != len(ports):
        raise ValueError("receptor names must be unique")
    attributes = ComposedNeuron.declare(MEMBRANES[membrane], ports, arithmetic, name, names,
                                        declarations, pool)
    name = attributes["name"]
    if name not in MODELS:
        register(type(f"Composed_{name}", (ComposedNeuron,), attributes))
    return name
