"""Random connectivity generated on the engine's device (array code for NumPy or CuPy).

Every function returns ``(pre, post)``: int64 device arrays of indices within
the source and target sets, one entry per connection. Nothing here builds a
dense source x target matrix except in chunks of at most ``CHUNK`` elements.

`exclude` arguments give, per target (or per source), the index of the one
partner that must not be chosen (a cell never connects to itself), or -1.
"""

from __future__ import annotations

import math

import numpy as np

CHUNK = 1 << 23


def repeat_counts(xp, values, counts):
    """``numpy.repeat(values, counts)`` for a counts array, on either device."""
    if xp is np:
        return np.repeat(values, counts)
    total = int(counts.sum())
    if total == 0:
        return values[:0]
    ends = xp.cumsum(counts)
    owner = xp.searchsorted(ends, xp.arange(total), side="right")
    return values[owner]


def _empty(xp):
    z = xp.zeros(0, dtype=np.int64)
    return z, z.copy()


def bernoulli(stream, n_pre: int, n_post: int, p: float):
    """Each (pre, post) pair independently with probability `p`, in column order
    (sorted by post, then pre).

    Draws geometric gaps between kept pairs of the flattened post-major index,
    so the work is proportional to the number of connections, not of pairs.
    """
    xp = stream.xp
    total = n_pre * n_post
    if p <= 0 or total == 0:
        return _empty(xp)
    if p >= 1:
        flat = xp.arange(total, dtype=np.int64)
        return flat % n_pre, flat // n_pre
    log_q = math.log1p(-p)
    parts = []
    last = -1
    while last < total - 1:
        expected = (total - 1 - last) * p
        m = int(min(CHUNK, max(1024, expected + 6 * math.sqrt(expected) + 16)))
        gaps = xp.floor(xp.log1p(-stream.uniform(m)) / log_q).astype(np.int64) + 1
        flat = xp.cumsum(gaps) + last
        end = int(flat[-1])
        if end >= total:
            flat = flat[: int((flat < total).sum())]
        parts.append(flat)
        last = end
    flat = xp.concatenate(parts) if len(parts) > 1 else parts[0]
    return flat % n_pre, flat // n_pre


def _per_target(stream, n_src: int, counts, replace: bool, exclude):
    """For each target j, `counts[j]` sources out of `n_src` (never `exclude[j]`).

    Returns (source, target) sorted by target. Without replacement, a target
    needing more sources than allowed gets every allowed source as many whole
    times as fit, then a random subset for the rest.
    """
    xp = stream.xp
    n_tgt = counts.shape[0]
    counts = counts.astype(np.int64)
    targets = xp.arange(n_tgt, dtype=np.int64)
    has_ex = exclude >= 0
    allowed = n_src - has_ex.astype(np.int64)
    if bool(xp.any((allowed == 0) & (counts > 0))):
        raise ValueError("no allowed source to choose from")
    if replace:
        tgt = repeat_counts(xp, targets, counts)
        m = allowed[tgt]
        src = xp.minimum(xp.floor(stream.uniform(tgt.shape[0]) * m).astype(np.int64), m - 1)
        ex = exclude[tgt]
        src += (ex >= 0) & (src >= ex)
        return src, tgt
    safe_allowed = xp.maximum(allowed, 1)
    full = counts // safe_allowed
    rest = counts % safe_allowed
    src_parts, tgt_parts = [], []
    if bool(xp.any(full > 0)):
        # whole copies of the allowed set: n_src candidates per copy, the excluded one dropped
        reps = full * n_src
        tgt = repeat_counts(xp, targets, reps)
        first = xp.cumsum(reps) - reps
        src = xp.arange(tgt.shape[0], dtype=np.int64) - repeat_counts(xp, first, reps)
        src %= n_src
        keep = src != exclude[tgt]
        src_parts.append(src[keep])
        tgt_parts.append(tgt[keep])
    with_rest = xp.nonzero(rest > 0)[0]
    rows = max(1, CHUNK // max(n_src, 1))
    for r0 in range(0, int(with_rest.shape[0]), rows):
        cols = with_rest[r0:r0 + rows]
        k = rest[cols]
        kmax = int(k.max())
        # the k smallest of independent uniform keys form a uniform random k-subset
        keys = stream.uniform((cols.shape[0], n_src))
        ex = exclude[cols]
        ex_rows = xp.nonzero(ex >= 0)[0]
        keys[ex_rows, ex[ex_rows]] = 2.0
        idx = xp.argpartition(keys, kmax - 1, axis=1)[:, :kmax]
        if bool(xp.any(k != kmax)):
            order = xp.argsort(xp.take_along_axis(keys, idx, axis=1), axis=1)
            idx = xp.take_along_axis(idx, order, axis=1)
        chosen = xp.arange(kmax)[None, :] < k[:, None]
        src_parts.append(idx[chosen].astype(np.int64))
        tgt_parts.append(xp.broadcast_to(cols[:, None], idx.shape)[chosen].astype(np.int64))
    if not src_parts:
        return _empty(xp)
    src = xp.concatenate(src_parts)
    tgt = xp.concatenate(tgt_parts)
    if bool(xp.any(full > 0)) and with_rest.shape[0]:
        # whole copies and random remainders were made apart: merge them by target
        order = xp.argsort(tgt, kind="stable") if xp is np else xp.argsort(tgt)
        src, tgt = src[order], tgt[order]
    return src, tgt


def fixed_in_degree(stream, n_pre: int, counts, replace: bool, exclude):
    """`counts[j]` sources for each target j; returns (pre, post) sorted by post."""
    return _per_target(stream, n_pre, counts, replace, exclude)


def fixed_out_degree(stream, n_post: int, counts, replace: bool, exclude):
    """`counts[i]` targets for each source i; returns (pre, post) sorted by pre."""
    post, pre = _per_target(stream, n_post, counts, replace, exclude)
    return pre, post


def fixed_total(stream, n_pre: int, n_post: int, n: int, replace: bool, forbidden=None):
    """`n` connections drawn uniformly among the pre x post pairs.

    `forbidden(pre, post)` (optional) marks pairs that may not be drawn; without
    replacement no pair is drawn twice. Returns (pre, post) in no particular order.
    """
    xp = stream.xp
    total = n_pre * n_post
    if n == 0:
        return _empty(xp)
    if total == 0 or (not replace and n > total):
        raise ValueError(f"cannot draw {n} connections among {total} pairs of cells")

    def draw(m):
        flat = stream.integers(0, total, m).astype(np.int64)
        if forbidden is not None:
            flat = flat[~forbidden(flat % n_pre, flat // n_pre)]
        return flat

    if replace:
        parts, have = [], 0
        for _ in range(1000):
            if have >= n:
                break
            more = draw(n - have)
            parts.append(more)
            have += int(more.shape[0])
        else:
            raise ValueError("could not draw enough allowed connections")
        flat = xp.concatenate(parts)[:n]
        return flat % n_pre, flat // n_pre
    chosen = xp.zeros(0, dtype=np.int64)
    for _ in range(1000):
        missing = n - int(chosen.shape[0])
        if missing <= 0:
            break
        chosen = xp.unique(xp.concatenate([chosen, draw(missing + missing // 8 + 16)]))
    else:
        raise ValueError(f"cannot draw {n} distinct allowed connections")
    # a random n-subset of the distinct pairs drawn is a uniform n-subset of all pairs
    if chosen.shape[0] > n:
        keys = stream.uniform(chosen.shape[0])
        chosen = chosen[xp.argsort(keys)[:n]]
    return chosen % n_pre, chosen // n_pre
