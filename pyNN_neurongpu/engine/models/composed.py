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

The exponential term of ``adexp`` has its argument capped (700 in float64, which NEST's
own parameter check makes unreachable; 40 in float32), so a neuron that blows up
reaches v_spike, spikes and is reset instead of turning into NaN.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

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
@dataclass(frozen=True)
class MembraneKind:
    """The neuron part of a composition: parameters, state, ODE components."""
    name: str
    parameters: dict
    state: dict
    components: tuple          # ODE state in integration order (v first)
    units: tuple               # unit of each component


@dataclass(frozen=True)
class ReceptorKind:
    """A post-synaptic response: its parameters and state per receptor (base names)."""
    name: str
    parameters: dict
    state: dict                # the PyNN state variable (gsyn or isyn)
    internal: tuple = ()       # hidden float state (e.g. dgsyn)
    components: tuple = ()     # ODE components (conductances), in order
    units: tuple = ()
    conductance: bool = True
    input_to: str = "gsyn"     # the state variable a spike increments


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
)

LIF = MembraneKind("lif", parameters=dict(lif.MEMBRANE), state=dict(lif.V),
                   components=("v",), units=("mV",))

MEMBRANES = {m.name: m for m in (ADEXP, LIF)}

_GSYN = {"gsyn": Var(0.0, "uS", "synaptic conductance")}
RECEPTORS = {r.name: r for r in (
    ReceptorKind("cond_exp",
                 {"tau_syn": Var(5.0, "ms", "decay time of the conductance"),
                  "e_syn": Var(0.0, "mV", "reversal potential")},
                 _GSYN, components=("gsyn",), units=("uS",)),
    ReceptorKind("cond_alpha",
                 {"tau_syn": Var(5.0, "ms", "time to peak of the alpha conductance"),
                  "e_syn": Var(0.0, "mV", "reversal potential")},
                 _GSYN, internal=("dgsyn",), components=("dgsyn", "gsyn"),
                 units=("uS/ms", "uS"), input_to="dgsyn"),
    ReceptorKind("cond_beta",
                 {"tau_rise": Var(0.2, "ms", "rise time of the conductance"),
                  "tau_decay": Var(1.7, "ms", "decay time of the conductance"),
                  "e_syn": Var(0.0, "mV", "reversal potential")},
                 _GSYN, internal=("dgsyn",), components=("dgsyn", "gsyn"),
                 units=("uS/ms", "uS"), input_to="dgsyn"),
    ReceptorKind("curr_exp",
                 {"tau_syn": Var(5.0, "ms", "decay time of the current")},
                 {"isyn": Var(0.0, "nA", "synaptic current")},
                 conductance=False, input_to="isyn"),
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

    @classmethod
    def declare(cls, membrane: MembraneKind, ports) -> dict:
        """Class attributes of the composition (membrane, ((name, kind), ...))."""
        parameters = dict(membrane.parameters)
        state = dict(membrane.state)
        internal = {"refrac": "int32", "i_stim": "float"}
        components, units = list(membrane.components), list(membrane.units)
        for port, kind in ports:
            parameters.update({f"{port}.{k}": v for k, v in kind.parameters.items()})
            state.update({f"{port}.{k}": v for k, v in kind.state.items()})
            internal.update({f"{port}.{k}": "float" for k in kind.internal})
            components += [f"{port}.{k}" for k in kind.components]
            units += list(kind.units)
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
        recordable = ("spikes", *membrane.state,
                      *[f"{port}.{k}" for port, kind in ports for k in kind.state])
        return dict(
            name=family_name(membrane.name, [(p, k.name) for p, k in ports]),
            membrane=membrane, ports=tuple(ports), parameters=parameters, state=state,
            internal=internal, receptors={p: ("uS" if k.conductance else "nA")
                                          for p, k in ports},
            recordable=recordable, conductance_based=conductance_based,
            # NEST's aeif_*: V_m < -1000 mV or |w| > 10^6 pA is a NumericalInstability
            state_bounds={"v": (-1e3, np.inf), "w": (-1e3, 1e3)} if membrane is ADEXP
            else {},
            components=tuple(components), component_units=tuple(units),
            exact=exact,
            # exp in the dynamics: the device's exp differs from NumPy's in the last bit
            # now and then, which AdEx's step control and spike timing can amplify
            libm_sensitive=membrane is ADEXP)

    # -- checks and derived quantities ----------------------------------------------
    def check_state(self, s):
        if self.membrane is ADEXP:  # NEST's aeif_*: "Conductances must not be negative."
            require_non_negative(s, *[f"{port}.gsyn" for port, kind in self.ports
                                      if kind.conductance and f"{port}.gsyn" in s])

    def check(self, p):
        require_positive(p, "cm", "tau_m")
        require_non_negative(p, "tau_refrac")
        if self.membrane is LIF:
            require_below(p, "v_reset", "v_thresh")  # NEST's iaf_*: reset below threshold
        for port, kind in self.ports:
            require_positive(p, *[f"{port}.{k}" for k in kind.parameters
                                  if k.startswith("tau")])
            if kind.name == "cond_beta" and np.any(p[f"{port}.tau_rise"]
                                                   > p[f"{port}.tau_decay"]):
                raise ValueError(f"{port}.tau_rise must not exceed {port}.tau_decay")
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
            for port, _ in self.ports:
                tau = p[f"{port}.tau_syn"]
                d[f"{port}.P11"] = xp.exp(-dt / tau)
                d[f"{port}.P21"] = propagator_32(xp, tau, p["tau_m"], p["cm"], dt)
            return d
        d["g_leak"] = p["cm"] / p["tau_m"]
        if self.membrane is ADEXP:
            d["ref_init"] = xp.where(ref_steps > 0, ref_steps + 1, 0).astype(np.int32)
            d["v_peak"] = xp.where(p["delta_T"] > 0, p["v_spike"], p["v_thresh"])
            d["a_uS"] = p["a"] * 1e-3
        for port, kind in self.ports:
            if kind.name == "cond_alpha":
                d[f"{port}.g0"] = math.e / p[f"{port}.tau_syn"]
            elif kind.name == "cond_beta":
                d[f"{port}.g0"] = beta_normalisation(xp, p[f"{port}.tau_rise"],
                                                     p[f"{port}.tau_decay"])
        return d

    # -- reference update ---------------------------------------------------------------
    def integrator(self):
        scales = [_NEST_SCALE[u] for u in self.component_units]
        if self.membrane is ADEXP:
            return RKF45(scales)
        return RKF45([_LIF_COND_TOLERANCE * s for s in scales])

    def reciprocals(self, xp, a) -> dict:
        """The reciprocals the right-hand side multiplies by, taken once a step (the
        CUDA fragment divides the same way): a division is several instructions on a
        GPU, and the right-hand side runs six times per RKF45 sub-step."""
        r = {"inv_cm": 1.0 / a["cm"]}
        for port, kind in self.ports:
            names = ("tau_rise", "tau_decay") if kind.name == "cond_beta" else ("tau_syn",)
            for name in names:
                r[f"{port}.inv_{name}"] = 1.0 / a[f"{port}.{name}"]
        if self.membrane is ADEXP:
            r["inv_tau_w"] = 1.0 / a["tau_w"]
            r["inv_delta_T"] = 1.0 / xp.where(a["delta_T"] > 0, a["delta_T"], 1.0)
        return r

    def rhs(self, xp, y, a):
        """dy/dt of the ODE components (rows of y, in ``components`` order)."""
        refractory = a["refractory"]
        adexp = self.membrane is ADEXP
        cap = a["v_spike"] if adexp else a["v_thresh"]
        v = xp.where(refractory, a["v_reset"], xp.minimum(y[0], cap))
        f = xp.empty_like(y)
        i_syn = 0.0
        row = len(self.membrane.components)
        for port, kind in self.ports:
            if kind.name == "cond_exp":
                f[row] = -y[row] * a[f"{port}.inv_tau_syn"]
                g = y[row]
            else:
                rise, decay = ((f"{port}.inv_tau_syn", f"{port}.inv_tau_syn")
                               if kind.name == "cond_alpha"
                               else (f"{port}.inv_tau_rise", f"{port}.inv_tau_decay"))
                f[row] = -y[row] * a[rise]
                f[row + 1] = y[row] - y[row + 1] * a[decay]
                g = y[row + 1]
            i_syn = i_syn + g * (a[f"{port}.e_syn"] - v)
            row += len(kind.components)
        dv = -a["g_leak"] * (v - a["v_rest"])
        if adexp:
            delta_t = a["delta_T"]
            has_exp = delta_t > 0
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                arg = xp.minimum((v - a["v_thresh"]) * a["inv_delta_T"],
                                 EXP_ARG_CAP[np.dtype(y.dtype)])
                i_spike = xp.where(has_exp, a["g_leak"] * delta_t * xp.exp(arg), 0.0)
            dv = dv + i_spike + i_syn - y[1] + a["i_offset"] + a["i_stim"]
            f[1] = (a["a_uS"] * (v - a["v_rest"]) - y[1]) * a["inv_tau_w"]
        else:
            dv = dv + i_syn + a["i_offset"] + a["i_stim"]
        f[0] = xp.where(refractory, 0.0, dv * a["inv_cm"])
        return f

    def _args(self, ctx):
        a = dict(ctx.params)
        a.update(ctx.derived)
        a.update(self.reciprocals(ctx.xp, a))
        a["i_stim"] = ctx.state["i_stim"]
        a["refractory"] = ctx.state["refrac"] > 0
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
            A["refractory"] = A["refrac"] > 0
            return spike
        return event

    def _add_inputs(self, ctx):
        s = ctx.state
        for k, (port, kind) in enumerate(self.ports):
            name = f"{port}.{kind.input_to}"
            if kind.input_to == "dgsyn":
                s[name] = s[name] + ctx.inputs[k] * ctx.derived[f"{port}.g0"]
            else:
                s[name] = s[name] + ctx.inputs[k]

    def update(self, ctx: StepContext):
        if self.exact:
            return self._update_exact(ctx)
        xp, s = ctx.xp, ctx.state
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
            for k, name in enumerate(self.components):
                s[name] = y[k]
            s["refrac"] = xp.where(a["refrac"] > 0, a["refrac"] - 1, a["refrac"])
            self._add_inputs(ctx)
            s["i_stim"] = ctx.i_stim
            return a["n_spikes"]
        y, s["h_int"] = self.integrator().integrate(xp, rhs, y, s["h_int"], ctx.dt, a)
        for k, name in enumerate(self.components):
            s[name] = y[k]
        p = ctx.params
        refractory = s["refrac"] > 0
        spiked = ~refractory & (s["v"] >= p["v_thresh"])
        s["refrac"] = xp.where(refractory, s["refrac"] - 1,
                               xp.where(spiked, ctx.derived["ref_steps"], s["refrac"]))
        s["v"] = xp.where(refractory | spiked, p["v_reset"], s["v"])
        self._add_inputs(ctx)
        s["i_stim"] = ctx.i_stim
        return spiked

    def _update_exact(self, ctx):
        xp, p, d, s = ctx.xp, ctx.params, ctx.derived, ctx.state
        free = s["refrac"] == 0
        v_rel = (s["v"] - p["v_rest"]) * d["P22"] + (p["i_offset"] + s["i_stim"]) * d["P20"]
        for port, _ in self.ports:
            v_rel = v_rel + d[f"{port}.P21"] * s[f"{port}.isyn"]
        s["v"] = xp.where(free, v_rel + p["v_rest"], s["v"])
        s["refrac"] = xp.where(free, s["refrac"], s["refrac"] - 1)
        for k, (port, _) in enumerate(self.ports):
            name = f"{port}.isyn"
            s[name] = s[name] * d[f"{port}.P11"] + ctx.inputs[k]
        spiked = s["v"] >= p["v_thresh"]
        s["refrac"] = xp.where(spiked, d["ref_steps"], s["refrac"])
        s["v"] = xp.where(spiked, p["v_reset"], s["v"])
        s["i_stim"] = ctx.i_stim
        return spiked


def composed_family(membrane: str, receptors) -> str:
    """Register (once) the family of a composition and return its name.

    `receptors`: ordered (receptor name, kind) pairs, kinds from :data:`RECEPTORS`.
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
    attributes = ComposedNeuron.declare(MEMBRANES[membrane], ports)
    name = attributes["name"]
    if name not in MODELS:
        register(type(f"Composed_{name}", (ComposedNeuron,), attributes))
    return name
