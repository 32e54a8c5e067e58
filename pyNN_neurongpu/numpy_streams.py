"""Bulk draws that reproduce, number for number, what PyNN's generic code draws
from a :class:`pyNN.random.NumpyRNG`.

NumPy's legacy ``RandomState`` samples one value at a time from one Mersenne
Twister stream, so for most distributions ``next(a)`` then ``next(b)`` gives the
same numbers as ``next(a + b)``; :data:`SPLITTABLE` lists those. PyNN's
``normal_clipped`` is not among them (it redraws after each call), nor are
``permutation`` or draws that alternate between ranges; for alternating
integer draws :func:`alternating_randint` emulates the stream exactly.
"""

from __future__ import annotations

import numpy as np
from pyNN.random import NumpyRNG, WrappedRNG

SPLITTABLE = frozenset({
    "uniform", "uniform_int", "normal", "normal_clipped_to_boundary", "lognormal",
    "exponential", "gamma", "poisson", "binomial", "vonmises",
})

RAW_BLOCK = 1 << 22


def is_numpy_rng(rng) -> bool:
    """True for PyNN's NumpyRNG (not a subclass that changes how it draws)."""
    return (isinstance(rng, NumpyRNG) and type(rng)._next is NumpyRNG._next
            and type(rng).next is WrappedRNG.next)


def splittable(distribution) -> bool:
    """True when one bulk draw from `distribution` equals PyNN's successive draws."""
    return is_numpy_rng(distribution.rng) and distribution.name in SPLITTABLE


def draws_by_column(distribution, counts) -> np.ndarray:
    """The values of ``distribution.next(c)`` for each c > 0 of `counts`, concatenated."""
    counts = np.asarray(counts, dtype=np.int64)
    total = int(counts.sum())
    if total == 0:
        return np.zeros(0)
    if splittable(distribution):
        return np.asarray(distribution.next(total))
    return np.concatenate([np.asarray(distribution.next(int(c))) for c in counts if c > 0])


def _raw(rs: np.random.RandomState, n: int) -> np.ndarray:
    """`n` raw 32-bit outputs of the Mersenne Twister (as RandomState.randint consumes them)."""
    return rs.randint(0, 2**32, size=n, dtype=np.uint64)


def _states_before(accept: np.ndarray, start: int) -> np.ndarray:
    """State before each raw value of a cyclic automaton: in state s, a raw value
    with ``accept[t, s]`` moves it to s + 1 (mod k), otherwise it stays."""
    t, k = accept.shape
    before = np.empty(t, dtype=np.int8)
    before[0] = start
    if k == 1:
        before[:] = 0
        return before
    if k == 2:
        # each value acts as identity, swap, or a constant (accepted in one state only);
        # the state after t is the last constant's value flipped once per later swap
        swap = accept[:, 0] & accept[:, 1]
        const = accept[:, 0] ^ accept[:, 1]
        flips = np.cumsum(swap, dtype=np.int64)
        index = np.arange(t)
        last = np.maximum.accumulate(np.where(const, index, -1))
        has = last >= 0
        base = np.where(has, accept[np.maximum(last, 0), 0], start).astype(np.int64)
        since = flips - np.where(has, flips[np.maximum(last, 0)], 0)
        before[1:] = ((base + since) & 1)[:-1]
        return before
    states = np.arange(k, dtype=np.int8)
    maps = np.where(accept, (states + 1) % k, states).astype(np.int8)
    span = 1
    while span < t:  # prefix composition of the transition maps, doubling the span
        maps[span:] = np.take_along_axis(maps[span:], maps[:-span].astype(np.intp), axis=1)
        span *= 2
    before[1:] = maps[:-1, start]
    return before


def alternating_randint(rng: NumpyRNG, highs, n: int) -> np.ndarray:
    """Emulate ``n`` rounds of ``for h in highs: rng.next(1, 'uniform_int', {low: 0, high: h})``.

    Returns an (n, len(highs)) int64 array and leaves `rng` in the state those
    calls leave it in. NumPy's legacy bounded integers mask each raw 32-bit value
    to the next power of two and reject values above the range.
    """
    rs = rng.rng
    highs = [int(h) for h in highs]
    if any(h < 1 or h > 2**32 - 1 for h in highs):
        raise ValueError("ranges must hold between 1 and 2**32 - 1 values")
    out = np.zeros((n, len(highs)), dtype=np.int64)
    roles = [i for i, h in enumerate(highs) if h > 1]  # a range of one value draws nothing
    if n == 0 or not roles:
        return out
    limits = np.array([highs[i] - 1 for i in roles], dtype=np.uint64)
    masks = np.array([(1 << int(lim).bit_length()) - 1 for lim in limits], dtype=np.uint64)
    k = len(roles)
    wanted = n * k
    saved = rs.get_state()
    values = []
    got, consumed, state = 0, 0, 0
    per_round = float(np.sum((masks + 1.0) / (limits + 1.0)))  # expected raw values per round
    while got < wanted:
        expected = (wanted - got) / k * per_round
        raw = _raw(rs, int(min(RAW_BLOCK, expected * 1.02 + 8 * np.sqrt(expected) + 64)))
        masked = raw[:, None] & masks[None, :]
        accept = masked <= limits[None, :]
        before = _states_before(accept, state)
        rows = np.arange(raw.size)
        hit = np.nonzero(accept[rows, before])[0]
        take = hit[: wanted - got]
        values.append(masked[take, before[take]].astype(np.int64))
        got += take.size
        if got == wanted:
            consumed += int(take[-1]) + 1
        else:
            consumed += raw.size
            last = raw.size - 1
            state = int((before[last] + accept[last, before[last]]) % k)
    rs.set_state(saved)
    for start in range(0, consumed, RAW_BLOCK):
        _raw(rs, min(RAW_BLOCK, consumed - start))
    out[:, roles] = np.concatenate(values).reshape(n, k)
    return out
