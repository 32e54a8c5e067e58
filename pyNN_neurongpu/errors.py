"""Errors of the neurongpu backend beyond PyNN's own, and the checks of time arguments
and quantities that raise them.

``NumericalInstability`` is raised by ``run()`` when a neuron's state becomes NaN,
infinite or leaves the bounds its NEST model allows (NEST raises NumericalInstability
there too); ``setup(check_numerics=False)`` turns the check off.
"""

from __future__ import annotations

import math

import numpy as np
from pyNN import errors

# a time is on the grid when it is within this fraction of a step of a grid point
GRID_TOLERANCE = 1e-6


class StaleObjectError(RuntimeError):
    """An object (population, projection, current source) made before the latest
    setup(), whose network no longer exists."""


class NumericalInstability(ArithmeticError):
    """A neuron's state became non-finite or left its model's bounds during run().

    Attributes: `population` (label), `index` (cell index in it), `variable`, `value`,
    `t_min`, `t_max` (ms, the interval in which it happened; equal if the exact step is
    known)."""

    def __init__(self, message, population=None, index=None, variable=None, value=None,
                 t_min=None, t_max=None):
        super().__init__(message)
        self.population, self.index, self.variable, self.value = (population, index,
                                                                  variable, value)
        self.t_min, self.t_max = t_min, t_max


class InvalidTimeError(ValueError):
    """A time argument (run length, stop time, timestep, interval) that is NaN,
    infinite, negative or not a multiple of the time step."""


def time_steps(value, dt: float, what: str, allow_zero: bool = True) -> int:
    """`value` (ms) as a whole number of steps of `dt`; InvalidTimeError if it is not
    finite, negative (or zero, unless `allow_zero`) or off the grid of `dt`."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise InvalidTimeError(f"{what} = {value!r}: {what} must be a number (ms)") from None
    if not math.isfinite(value):
        raise InvalidTimeError(f"{what} = {value}: {what} must be a finite time (ms)")
    if value < 0 or (value == 0 and not allow_zero):
        rule = "must not be negative" if allow_zero else "must be positive"
        raise InvalidTimeError(f"{what} = {value} ms: {what} {rule}")
    steps = value / dt
    whole = round(steps)
    if abs(steps - whole) > GRID_TOLERANCE * max(1.0, abs(steps)):
        raise InvalidTimeError(
            f"{what} = {value} ms is not a multiple of the time step dt = {dt} ms "
            f"(NEST: the simulation time must be a multiple of the simulation resolution); "
            f"the nearest multiples are {math.floor(steps) * dt:g} and "
            f"{math.ceil(steps) * dt:g} ms")
    return int(whole)


def magnitude_in(value, unit: str, name: str):
    """`value` without its unit: a quantities.Quantity is converted to `unit` (PyNN's
    unit of the parameter); one of another dimension raises InvalidParameterValueError.
    Anything else is returned unchanged."""
    import quantities as pq

    if not isinstance(value, pq.Quantity):
        return value
    if not unit:
        if value.dimensionality.simplified != pq.dimensionless.dimensionality:
            raise errors.InvalidParameterValueError(
                f"{name} = {value}: {name} is dimensionless, got a quantity in "
                f"{value.dimensionality}")
        return np.asarray(value.simplified.magnitude, dtype=float)
    try:
        converted = value.rescale(unit)
    except ValueError:
        raise errors.InvalidParameterValueError(
            f"{name} = {value}: {name} is in {unit}, and {value.dimensionality} cannot be "
            f"converted to {unit}") from None
    return np.asarray(converted.magnitude, dtype=float)

