"""Detection of non-finite or out-of-bounds neuron state during a run.

NEST stops a simulation with NumericalInstability when an aeif neuron's state leaves
its bounds (V_m < -1000 mV, |w| > 10^6 pA); a NaN or infinity anywhere makes every
later result meaningless. :func:`check` reduces each family's state variables on the
device and copies one flag to the host: the reference step calls it every step (so the
step is exact), the GPU step once per chunk (no extra per-step synchronisation).
"""

from __future__ import annotations

import numpy as np


class NumericalInstability(ArithmeticError):
    """A neuron's state became NaN or infinite, or left its model's bounds.

    Attributes: `model` (family name), `local` (index in the family), `gid`,
    `variable`, `value`, and `first_step`, `last_step`: the steps between which it
    happened (equal when the step is known exactly)."""

    def __init__(self, message, model=None, local=None, gid=None, variable=None, value=None,
                 first_step=None, last_step=None, rule=""):
        super().__init__(message)
        self.rule = rule
        self.model, self.local, self.gid = model, local, gid
        self.variable, self.value = variable, value
        self.first_step, self.last_step = first_step, last_step


def checked_variables(model) -> list[tuple[str, float, float]]:
    """(state variable, lower bound, upper bound) of a family: every float state
    variable, bounded by the model's ``state_bounds`` where it declares them."""
    bounds = getattr(model, "state_bounds", {})
    return [(name, *bounds.get(name, (-np.inf, np.inf))) for name in model.state]


def _bad(xp, x, lo, hi):
    ok = xp.isfinite(x)
    if lo > -np.inf:
        ok &= x >= lo
    if hi < np.inf:
        ok &= x <= hi
    return ~ok


def check(network, groups, first_step: int, last_step: int) -> None:
    """Raise NumericalInstability if a neuron of `groups` has a non-finite or
    out-of-bounds state variable (after steps first_step..last_step)."""
    if not getattr(network, "check_numerics", True):
        return
    xp = network.backend.xp
    flags = []
    for g in groups:
        for name, lo, hi in checked_variables(g.model):
            x = g.state[name]
            if lo == -np.inf and hi == np.inf:
                # a sum is NaN or infinite when any term is (or, rarely, when it
                # overflows: the exact test below then finds nothing)
                flags.append(~xp.isfinite(x.sum()))
            else:
                flags.append(~((x.min() >= lo) & (x.max() <= hi)))
    if not flags or not bool(xp.stack(flags).any()):
        return
    for g in groups:
        for name, lo, hi in checked_variables(g.model):
            x = g.state[name]
            bad = _bad(xp, x, lo, hi)
            if not bool(bad.any()):
                continue
            local = int(xp.argmax(bad))
            value = float(x[local])
            rule = "must be finite"
            if lo > -np.inf and hi < np.inf:
                rule += f" and within [{lo:g}, {hi:g}]"
            elif lo > -np.inf:
                rule += f" and at least {lo:g}"
            elif hi < np.inf:
                rule += f" and at most {hi:g}"
            raise NumericalInstability(
                f"{g.model.name} neuron {local} (of {g.size}): {name} = {value:g} {rule}",
                model=g.model.name, local=local, gid=int(g.gids[local]), variable=name,
                value=value, first_step=first_step, last_step=last_step, rule=rule)


def raise_on_every_rank(comm, failure, first_step: int, last_step: int) -> None:
    """Under MPI, after each rank's check of an interval: a rank whose neurons became
    unstable raises its `failure`, and the others raise too (none waits for it in the
    exchange)."""
    failed = comm.allgather(failure is not None) if comm.distributed else [failure is not None]
    if failure is not None:
        raise failure
    if any(failed):
        rank = failed.index(True)
        raise NumericalInstability(
            f"numerical instability on rank {rank} between steps {first_step} and "
            f"{last_step}", first_step=first_step, last_step=last_step,
            rule="was reported by another rank")
