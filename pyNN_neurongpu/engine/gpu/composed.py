"""CUDA update fragment of a composed family (engine/models/composed.py): the model's
statements (its right-hand side, end of step, exact update, reciprocals) rendered with
expressions.CudaRenderer, the same statements ComposedNeuron.update renders to array code,
wrapped in the integrator calls. The integrators are cuda/rkf45.cuh's; the generated kernel
around the fragment provides the declared names as local variables (dots as double underscores),
``in_<receptor>``, ``stim_now``, ``dt`` and ``n_spikes``."""

from __future__ import annotations

from ..models.composed import (
    _LIF_COND_TOLERANCE,
    _NEST_SCALE,
    ADEXP,
    ADEXP_FIRST_SUBSTEP,
    c_name,
)
from ..models.expressions import CudaRenderer


def _lit(x: float) -> str:
    return f"(real){float(x)!r}"


def _renderer(model, resolve=c_name) -> CudaRenderer:
    return CudaRenderer(resolve, fused=model.membrane.fused)


def _reciprocals(model) -> list[tuple[str, str, str]]:
    """(name, expression, parameter) of the reciprocals taken once a neuron-step
    (ComposedNeuron.reciprocal_terms)."""
    render = _renderer(model)
    return [(c_name(name), render.expr(e), c_name(parameter))
            for name, e, parameter in model.reciprocal_terms()]


def _rhs(model) -> list[str]:
    """The right-hand side as a lambda (declared once; it reads the neuron's variables by
    reference)."""
    rows = {c: k for k, c in enumerate(model.components)}
    render = _renderer(model, lambda name: f"y[{rows[name]}]" if name in rows
                       else c_name(name))
    return ["auto rhs = [&](const real* y, real* f) {",
            *render.lines(model.rhs_statements(), depth=1), "};"]


def _inputs(model) -> list[str]:
    return _renderer(model).lines(model.input_statements())


def _exact(model) -> str:
    return "\n".join(_renderer(model).lines(model.exact_statements()))


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
        end += _renderer(model).lines(model.end_statements())
        end.append("n_spikes = spikes;")
    else:
        atol = [_LIF_COND_TOLERANCE * s for s in scales]
        declare.append(f"const real atol[{n}] = {{{', '.join(_lit(a) for a in atol)}}};")
        begin.append(f"rkf45_begin<{n}>(rhs, y, h_int, (real)dt, run);")
        attempt = f"rkf45_attempt_atol<{n}>(rhs, y, h_int, (real)dt, atol, run);"
        end = [f"{name} = y[{k}];" for k, name in enumerate(names)]
        end += _renderer(model).lines(model.end_statements())
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
