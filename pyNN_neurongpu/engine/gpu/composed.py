"""CUDA update fragment of a composed family (engine/models/composed.py), generated from
its declaration: the device twin of ComposedNeuron.update (same equations, same order of
operations). The integrators are cuda/rkf45.cuh's; the generated kernel around the
fragment provides the declared names as local variables (dots as double underscores),
``in_<receptor>``, ``stim_now``, ``dt`` and ``n_spikes``."""

from __future__ import annotations

import numpy as np

from ..models.composed import (
    _LIF_COND_TOLERANCE,
    _NEST_SCALE,
    ADEXP,
    ADEXP_FIRST_SUBSTEP,
    EXP_ARG_CAP,
    c_name,
)


def _lit(x: float) -> str:
    return f"(real){float(x)!r}"


def _reciprocals(model) -> list[tuple[str, str, str]]:
    """(name, expression, parameter) of the reciprocals taken once a neuron-step, as
    ComposedNeuron.reciprocals."""
    out = [("inv_cm", "(real)1 / cm", "cm")]
    for port, kind in model.ports:
        P = c_name(port)
        names = ("tau_rise", "tau_decay") if kind.name == "cond_beta" else ("tau_syn",)
        out += [(f"{P}__inv_{name}", f"(real)1 / {P}__{name}", f"{P}__{name}")
                for name in names]
    if model.membrane is ADEXP:
        out += [("inv_tau_w", "(real)1 / tau_w", "tau_w"),
                ("inv_delta_T", "(real)1 / (delta_T > 0 ? delta_T : (real)1)", "delta_T")]
    return out


def _rhs(model) -> list[str]:
    """The right-hand side as a lambda (declared once; it reads the neuron's variables by
    reference)."""
    adexp = model.membrane is ADEXP
    cap = "v_spike" if adexp else "v_thresh"

    def mad(a, b, c):
        # AdEx: fused where the kernel takes the fast RKF45 forms (rkf45.cuh); mad<false>
        # and the plain expression round the same
        return f"mad<NEURONGPU_FAST_RK>({a}, {b}, {c})" if adexp else f"{c} + {a} * {b}"

    lines = [
        "auto rhs = [&](const real* y, real* f) {",
        "    const bool refractory = r > 0;",
        f"    const real vm = refractory ? v_reset : fmin(y[0], {cap});",
        "    real i_syn = 0;",
    ]
    row = len(model.membrane.components)
    for port, kind in model.ports:
        P = c_name(port)
        if kind.name == "cond_exp":
            lines.append(f"    f[{row}] = -y[{row}] * {P}__inv_tau_syn;")
            g = row
        else:
            rise, decay = ((f"{P}__inv_tau_syn", f"{P}__inv_tau_syn")
                           if kind.name == "cond_alpha"
                           else (f"{P}__inv_tau_rise", f"{P}__inv_tau_decay"))
            lines.append(f"    f[{row}] = -y[{row}] * {rise};")
            lines.append(f"    f[{row + 1}] = {mad(f'-y[{row + 1}]', decay, f'y[{row}]')};")
            g = row + 1
        lines.append(f"    i_syn = {mad(f'y[{g}]', f'({P}__e_syn - vm)', 'i_syn')};")
        row += len(kind.components)
    if not adexp:
        lines.append("    real dv = -g_leak * (vm - v_rest);")
    if adexp:
        cap32, cap64 = EXP_ARG_CAP[np.dtype(np.float32)], EXP_ARG_CAP[np.dtype(np.float64)]
        lines += [
            f"    const real cap = sizeof(real) == 4 ? {_lit(cap32)} : {_lit(cap64)};",
            "    const bool has_exp = delta_T > 0;",
            "    const real arg = fmin((vm - v_thresh) * inv_delta_T, cap);",
            "    const real i_spike = has_exp ? g_leak * delta_T * exp(arg) : (real)0;",
            f"    const real dv = {mad('-g_leak', '(vm - v_rest)', 'i_spike')} + i_syn - y[1]"
            " + i_offset + i_stim;",
            f"    f[1] = {mad('a_uS', '(vm - v_rest)', '-y[1]')} * inv_tau_w;",
        ]
    else:
        lines.append("    dv = dv + i_syn + i_offset + i_stim;")
    lines += ["    f[0] = refractory ? (real)0 : dv * inv_cm;", "};"]
    return lines


def _inputs(model) -> list[str]:
    lines = []
    for port, kind in model.ports:
        P = c_name(port)
        target = f"{P}__{kind.input_to}"
        if kind.input_to == "dgsyn":
            lines.append(f"{target} = {target} + in_{P} * {P}__g0;")
        else:
            lines.append(f"{target} = {target} + in_{P};")
    return lines


def _exact(model) -> str:
    lines = ["if (refrac == 0) {",
             "    real v_rel = (v - v_rest) * P22 + (i_offset + i_stim) * P20;"]
    for port, _ in model.ports:
        P = c_name(port)
        lines.append(f"    v_rel = v_rel + {P}__P21 * {P}__isyn;")
    lines += ["    v = v_rel + v_rest;", "} else {", "    refrac -= 1;", "}"]
    for port, _ in model.ports:
        P = c_name(port)
        lines.append(f"{P}__isyn = {P}__isyn * {P}__P11 + in_{P};")
    lines += ["if (v >= v_thresh) {", "    refrac = ref_steps;", "    v = v_reset;",
              "    n_spikes = 1;", "}", "i_stim = stim_now;"]
    return "\n".join(lines)


def fragment_parts(model) -> dict[str, str] | None:
    """The update of one neuron as pieces, for kernels that step a neuron one RKF45
    attempt at a time (engine/gpu/codegen.py, pooled families): ``declare`` (once per thread),
    ``begin`` (a neuron's step starts), ``attempt`` (one attempted sub-step), ``done`` (an
    expression: the step is complete), ``end`` (the step's bookkeeping), and
    ``reciprocals``: (name, expression, parameter) of values every piece may use, to be
    computed before ``declare`` (once, where the parameter has one value for the family)
    or each time a neuron starts. None for the exactly integrated families (no
    sub-steps)."""
    if model.exact:
        return None
    n = len(model.components)
    names = [c_name(c) for c in model.components]
    scales = [_NEST_SCALE[u] for u in model.component_units]
    adexp = model.membrane is ADEXP
    reciprocals = _reciprocals(model)
    declare = [f"// {model.name}: generated from engine/models/composed.py",
               "int r;", f"real y[{n}];", f"Rkf45Run<{n}> run;"]
    declare += _rhs(model)
    begin = ["r = refrac;"] + [f"y[{k}] = {name};" for k, name in enumerate(names)]
    if adexp:
        declare += [
            "int spikes;",
            "auto event = [&](real* y) -> bool {",
            "    if (r > 0) {",
            "        y[0] = v_reset;",
            "        return false;",
            "    }",
            "    if (y[0] >= v_peak) {",
            "        y[0] = v_reset;",
            "        y[1] = y[1] + b;",
            "        r = ref_init;",
            "        spikes += 1;",
            "        return true;",
            "    }",
            "    return false;",
            "};",
            f"const real scale[{n}] = {{{', '.join(_lit(s) for s in scales)}}};",
        ]
        first = _lit(ADEXP_FIRST_SUBSTEP)
        begin += ["spikes = 0;",
                  f"rkf45_begin<{n}>(rhs, y, h_int, {first} < (real)dt ? {first} : (real)dt,"
                  " run);"]
        attempt = (f"rkf45_attempt_events<{n}, NEURONGPU_FAST_RK>(rhs, event, y, h_int,"
                   " (real)dt, scale, integration_tolerance, run);")
        end = [f"{name} = y[{k}];" for k, name in enumerate(names)]
        end += ["if (r > 0) r -= 1;", "refrac = r;"]
        end += _inputs(model)
        end += ["i_stim = stim_now;", "n_spikes = spikes;"]
    else:
        atol = [_LIF_COND_TOLERANCE * s for s in scales]
        declare.append(f"const real atol[{n}] = {{{', '.join(_lit(a) for a in atol)}}};")
        begin.append(f"rkf45_begin<{n}>(rhs, y, h_int, (real)dt, run);")
        attempt = f"rkf45_attempt_atol<{n}>(rhs, y, h_int, (real)dt, atol, run);"
        end = [f"{name} = y[{k}];" for k, name in enumerate(names)]
        end += ["if (r > 0) {", "    refrac -= 1;", "    v = v_reset;",
                "} else if (v >= v_thresh) {", "    refrac = ref_steps;", "    v = v_reset;",
                "    n_spikes = 1;", "}"]
        end += _inputs(model)
        end.append("i_stim = stim_now;")
    return {"declare": "\n".join(declare), "begin": "\n".join(begin), "attempt": attempt,
            "done": "run.done((real)dt)", "end": "\n".join(end), "reciprocals": reciprocals}


def fragment(model) -> str:
    """CUDA statements that advance one neuron of `model` by one step."""
    if model.exact:
        return _exact(model)
    parts = fragment_parts(model)
    reciprocals = [f"const real {name} = {expr};" for name, expr, _ in parts["reciprocals"]]
    return "\n".join([*reciprocals, parts["declare"], parts["begin"],
                      f"while (!({parts['done']})) {{", parts["attempt"], "}", parts["end"]])
