"""Counter-based connectivity: a projection's synapses as a pure function of (key, source).

A :class:`ConnectivityRule` gives, for any set of source indices, their targets, weights and
delays, drawn from a per-source counter-based stream, so the same source always gets the same
synapses: a stored build materialises them once (in chunks of sources), a procedural build
regenerates a spiking source's synapses every time it spikes. Both give the same synapses in
the same order. Array code (NumPy or CuPy) with uint32 arithmetic throughout, so a CUDA kernel
(cuda/procedural.cu) computes the same integers.

The stream
----------
Philox4x32-10 (Salmon et al. 2011, as in cuda/neurongpu_common.cuh) with key (k0, k1) from
(seed, projection ordinal) and counter (c0, c1, c2, c3) = (source, purpose, draw, attempt):
source is the index in the projection's presynaptic cells (global: never a rank or a count of
processes), purpose 0 connectivity, 1 weight, 2 delay, 3 permutation keys; draw is the ordinal
of the draw within the source (the ordinal that produced a synapse indexes its values). A
uniform in (0, 1] takes words 0 and 1: ``((w0 >> 5) * 2^26 + (w1 >> 6) + 1) / 2^53``.

Connectivity
------------
- ``all``: every target; draw ordinal = target index.
- ``bernoulli(p)``: the targets in segments of SEGMENT = 4096 (segment g holds targets
  [g * SEGMENT, (g + 1) * SEGMENT)), each by geometric skipping from its own counter:
  t_k = t_{k-1} + 1 + floor(log(u_k) / log1p(-p)), t_0 = -1, while t_k < the segment's length,
  u_k from counter (source, 0, k, g); the draw ordinal of its synapse is g * 2^13 + k
  (log1p(-p) computed once, in float64, on the host). Segments are independent, so a GPU
  spreads one source's row over many warps. p >= 1 is ``all``.
- ``fixed_out(n, replace)`` (or ``counts[i]`` targets for source i): with replacement
  t_j = (w0(j) * allowed) >> 32 (Lemire's product,
  bias below allowed / 2^32); without, t_j = perm(j mod allowed) with perm a 4-round Feistel
  permutation of [0, 2^(2h)) (h = ceil(bits(n_post - 1) / 2)), cycle-walked into
  [0, allowed), round keys the four words of Philox(source, 3, 0, 0), round function
  ``F(r, k) = mix((r ^ k) * 0x9E3779B1)`` (mix: ``x ^= x >> 16; x *= 0x85EBCA6B; x ^= x >> 13``,
  all mod 2^32), masked to h bits.
`exclude[i]` (or -1) is the one target source i may not reach (self connections): dropped
from ``all`` and ``bernoulli``, skipped over (t += t >= exclude) by ``fixed_out``.

A fixed total number of synapses (:func:`total_counts`) is ``fixed_out`` with per-source
counts: how many of the `n` synapses each source has is drawn once, at build time, from a
NumPy Philox generator keyed by the rule (a multinomial with replacement, a multivariate
hypergeometric without), and stored (4 B per source); each source's targets are then drawn
as above.

Values: a constant, or one of uniform, uniform_int, normal, normal_clipped,
normal_clipped_to_boundary, lognormal, exponential from Philox(source, purpose, draw, attempt)
(normal: Box-Muller on words (0, 1) and (2, 3); normal_clipped redraws with attempt + 1).
The only floating-point functions are log, sqrt, cos and exp, so a CUDA build agrees with
NumPy to the last bit of those (a geometric gap changes only when the quotient lies within an
ulp of an integer).
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field

import numpy as np

M0, M1 = 0xD2511F53, 0xCD9E8D57
W0, W1 = 0x9E3779B9, 0xBB67AE85
MASK32 = 0xFFFFFFFF
CONNECT, WEIGHT, DELAY, PERMUTATION = 0, 1, 2, 3
CHUNK = 1 << 16          # candidate synapses generated at once (bounds the transient)
CHUNK_GPU = 1 << 24      # on a GPU: fewer, larger chunks (each costs launches and syncs)
SEGMENT_BITS = 12        # bernoulli rows are drawn in independent segments of 2^12 targets
SEGMENT = 1 << SEGMENT_BITS
ORDINAL_BITS = 13        # draw ordinal = segment << 13 | draw within the segment (< 2^13)
MAX_REDRAWS = 1000
DISTRIBUTIONS = ("uniform", "uniform_int", "normal", "normal_clipped",
                 "normal_clipped_to_boundary", "lognormal", "exponential")
BOUNDED = {"uniform": ("low", "high"), "uniform_int": ("low", "high"),
           "normal_clipped": ("low", "high"), "normal_clipped_to_boundary": ("low", "high")}


def philox4x32_10(xp, c0, c1, c2, c3, k0: int, k1: int):
    """Philox4x32-10 of counter arrays (broadcast, any integer type < 2^32) and a key."""
    c = [xp.asarray(a).astype(np.uint64) & MASK32 for a in (c0, c1, c2, c3)]
    c = list(xp.broadcast_arrays(*c))
    k0, k1 = int(k0) & MASK32, int(k1) & MASK32
    for _ in range(10):
        p0 = c[0] * np.uint64(M0)
        p1 = c[2] * np.uint64(M1)
        n0 = (p1 >> np.uint64(32)) ^ c[1] ^ np.uint64(k0)
        n2 = (p0 >> np.uint64(32)) ^ c[3] ^ np.uint64(k1)
        c = [n0, p1 & np.uint64(MASK32), n2, p0 & np.uint64(MASK32)]
        k0, k1 = (k0 + W0) & MASK32, (k1 + W1) & MASK32
    return [a.astype(np.uint32) for a in c]


def uniform_from(xp, a, b):
    """Uniform float64 in (0, 1] from two uint32 words (53 random bits)."""
    return ((a >> np.uint32(5)).astype(np.float64) * 67108864.0
            + (b >> np.uint32(6)).astype(np.float64) + 1.0) * (1.0 / 9007199254740992.0)


def rule_key(seed: int, ordinal: int) -> tuple[int, int]:
    """Philox key of the `ordinal`-th counter-based projection of a network seeded `seed`."""
    digest = hashlib.blake2b(f"{int(seed)}:{int(ordinal)}".encode(), digest_size=8,
                             person=b"procedural").digest()
    word = int.from_bytes(digest, "little")
    return word & MASK32, word >> 32


def _mix(xp, x):
    x = x ^ (x >> np.uint64(16))
    x = (x * np.uint64(0x85EBCA6B)) & np.uint64(MASK32)
    return x ^ (x >> np.uint64(13))


def feistel(xp, x, keys, half: int):
    """The 4-round Feistel permutation of [0, 2^(2 half)) (uint64 arrays; keys per element)."""
    mask = np.uint64((1 << half) - 1)
    h = np.uint64(half)
    left, right = x >> h, x & mask
    for k in keys:
        f = _mix(xp, ((right ^ k) * np.uint64(0x9E3779B1)) & np.uint64(MASK32)) & mask
        left, right = right, left ^ f
    return (left << h) | right


@dataclass
class ValueSpec:
    """A constant (`value`) or a distribution (`name`, `params`) of PyNN's, then `ops`
    (lazyarray operations with scalar arguments, as a translation adds them)."""
    value: float | None = None
    name: str | None = None
    params: dict = field(default_factory=dict)
    ops: list = field(default_factory=list)

    def bounds(self):
        """(low, high) of the values, or None where unbounded."""
        if self.name is None:
            low = high = float(self.value)
        elif self.name in BOUNDED:
            low, high = (float(self.params[k]) for k in BOUNDED[self.name])
            if self.name == "uniform_int":
                high -= 1
        else:
            return None
        x = np.array([low, high])
        for f, arg in self.ops:
            x = f(x) if arg is None else f(x, arg)
        return float(np.min(x)), float(np.max(x))

    def draw(self, xp, key, purpose, source, ordinal):
        """Values at synapses (source, draw ordinal): float64 arrays (or a number)."""
        if self.name is None:
            return float(self.value)
        src = source.astype(np.uint64)
        ordinal = ordinal.astype(np.uint64)
        p = self.params

        def words(attempt=0):
            return philox4x32_10(xp, src, purpose, ordinal & np.uint64(MASK32),
                                 (ordinal >> np.uint64(32)) + np.uint64(attempt), *key)

        def normal(w):
            u1, u2 = uniform_from(xp, w[0], w[1]), uniform_from(xp, w[2], w[3])
            return xp.sqrt(-2.0 * xp.log(u1)) * xp.cos(2.0 * math.pi * u2)

        w = words()
        name = self.name
        if name == "uniform":
            x = p["low"] + (p["high"] - p["low"]) * uniform_from(xp, w[0], w[1])
        elif name == "uniform_int":
            low, span = int(p["low"]), int(p["high"]) - int(p["low"])
            x = (low + ((w[0].astype(np.uint64) * np.uint64(span)) >> np.uint64(32))
                 .astype(np.int64)).astype(np.float64)
        elif name in ("normal", "normal_clipped_to_boundary"):
            x = p["mu"] + p["sigma"] * normal(w)
            if name == "normal_clipped_to_boundary":
                x = xp.clip(x, p["low"], p["high"])
        elif name == "normal_clipped":
            low, high = p["low"], p["high"]
            if low > high:
                raise ValueError(f"normal_clipped: low ({low}) is above high ({high})")
            x = p["mu"] + p["sigma"] * normal(w)
            bad = xp.nonzero((x < low) | (x > high))[0]
            for attempt in range(1, MAX_REDRAWS + 1):
                if bad.shape[0] == 0:
                    break
                wb = philox4x32_10(xp, src[bad], purpose, ordinal[bad] & np.uint64(MASK32),
                                   (ordinal[bad] >> np.uint64(32)) + np.uint64(attempt), *key)
                redrawn = p["mu"] + p["sigma"] * normal(wb)
                x[bad] = redrawn
                bad = bad[(redrawn < low) | (redrawn > high)]
            else:
                raise ValueError("normal_clipped: too many redraws; check mu, sigma, low, high")
        elif name == "lognormal":
            x = xp.exp(p["mu"] + p["sigma"] * normal(w))
        elif name == "exponential":
            x = -p["beta"] * xp.log(uniform_from(xp, w[0], w[1]))
        else:
            raise NotImplementedError(f"no counter-based sampler for {name!r}")
        for f, arg in self.ops:
            x = f(x) if arg is None else f(x, arg)
        return x


@dataclass
class ConnectivityRule:
    """The synapses of one projection as a function of the source index (module docstring).

    `n`: out-degree (``fixed_out``); `counts`: per-source out-degrees instead (host int32
    array, or None); `p`: probability (``bernoulli``); `exclude`: per source, the target
    index it may not reach, or -1 (host int64 array, or None); `dt`: ms per step (delays are
    rounded half up to steps, as projections round them).
    """
    kind: str
    n_pre: int
    n_post: int
    key: tuple[int, int]
    weight: ValueSpec
    delay: ValueSpec
    dt: float
    p: float = 0.0
    n: int = 0
    replace: bool = True
    exclude: object = None
    counts: object = None

    def expected_size(self) -> float:
        if self.kind == "all":
            return float(self.n_pre * self.n_post)
        if self.kind == "bernoulli":
            return min(1.0, max(0.0, self.p)) * self.n_pre * self.n_post
        if self.counts is not None:
            return float(np.sum(self.counts, dtype=np.int64))
        return float(self.n_pre * self.n)

    def exact_size(self) -> int | None:
        """The number of synapses where it is known without drawing them, else None."""
        if self.kind == "bernoulli" and 0 < self.p < 1:
            return None
        if self.kind == "all" and self.exclude is not None:
            return None
        return int(self.expected_size())

    def out_degree_bound(self) -> int:
        """Candidates per source generated at most (sizes chunks of sources)."""
        if self.kind == "all":
            return self.n_post
        if self.kind == "bernoulli":
            e = min(1.0, max(0.0, self.p)) * self.n_post
            return int(min(self.n_post, e + 6 * math.sqrt(e) + 16))
        if self.counts is not None:
            return int(np.max(self.counts)) if len(self.counts) else 0
        return self.n

    def source_chunks(self, n_sources: int, chunk: int = CHUNK):
        """Slices of a list of `n_sources` sources whose candidates fit in `chunk`."""
        per = max(1, chunk // max(self.out_degree_bound(), 1))
        return [slice(s, min(n_sources, s + per)) for s in range(0, n_sources, per)]

    def _excluded(self, xp, sources):
        if self.exclude is None:
            return None
        return xp.asarray(self.exclude)[sources]

    def connections(self, xp, sources):
        """(row, target, ordinal) int64 arrays: the synapses of ``sources[row]`` (int64 source
        indices), by source in the order of `sources`, each source's in draw order."""
        sources = xp.asarray(sources, dtype=np.int64)
        if self.kind == "all":
            row, target = _grid(xp, sources.shape[0], self.n_post)
            ordinal = target
        elif self.kind == "bernoulli":
            row, target, ordinal = self._bernoulli(xp, sources)
        elif self.kind == "fixed_out":
            return self._fixed_out(xp, sources)
        else:
            raise ValueError(f"unknown connectivity rule {self.kind!r}")
        ex = self._excluded(xp, sources)
        if ex is not None:
            keep = target != ex[row]
            row, target, ordinal = row[keep], target[keep], ordinal[keep]
        return row, target, ordinal

    def _bernoulli(self, xp, sources):
        z = xp.zeros(0, dtype=np.int64)
        n_src = sources.shape[0]
        if self.p <= 0 or n_src == 0 or self.n_post == 0:
            return z, z, z
        if self.p >= 1:
            row, target = _grid(xp, n_src, self.n_post)
            return row, target, target
        log_q = math.log1p(-self.p)
        n_seg = -(-self.n_post // SEGMENT)
        # one row of draws per (source, segment)
        rows = xp.arange(n_src * n_seg, dtype=np.int64)
        segment = rows % n_seg
        length = xp.minimum(SEGMENT, self.n_post - segment * SEGMENT)
        last = xp.full(rows.shape[0], -1, dtype=np.int64)
        widest = min(SEGMENT, self.n_post)
        e = self.p * widest
        m = int(min(widest, e + 6 * math.sqrt(e) + 16))
        drawn = 0
        parts = []
        while rows.shape[0]:
            k = drawn + xp.arange(m, dtype=np.uint64)[None, :]
            w = philox4x32_10(xp, sources[rows // n_seg].astype(np.uint64)[:, None], CONNECT,
                              k, (rows % n_seg).astype(np.uint64)[:, None], *self.key)
            gap = xp.floor(xp.log(uniform_from(xp, w[0], w[1])) / log_q)
            gap = xp.minimum(gap, float(SEGMENT)).astype(np.int64) + 1
            pos = xp.cumsum(gap, axis=1) + last[rows][:, None]
            inside = pos < length[rows][:, None]
            r, c = xp.nonzero(inside)
            g = rows[r] % n_seg
            parts.append((rows[r] // n_seg, g * SEGMENT + pos[r, c],
                          (g << ORDINAL_BITS) + drawn + c.astype(np.int64)))
            more = inside[:, -1]
            last[rows[more]] = pos[more, -1]
            rows = rows[more]
            drawn += m
        row, target, ordinal = (xp.concatenate(a) for a in zip(*parts))
        order = xp.argsort(row * self.n_post + target)
        return row[order], target[order], ordinal[order]

    def _fixed_out(self, xp, sources):
        n_src = sources.shape[0]
        ex = self._excluded(xp, sources)
        allowed = xp.full(n_src, self.n_post, dtype=np.int64)
        if ex is not None:
            allowed -= (ex >= 0).astype(np.int64)
        if self.counts is None:
            if self.n and bool(xp.any(allowed == 0)):
                raise ValueError("no allowed target to choose from")
            row, ordinal = _grid(xp, n_src, self.n)
        else:
            counts = xp.asarray(self.counts)[sources].astype(np.int64)
            if bool(xp.any((allowed == 0) & (counts > 0))):
                raise ValueError("no allowed target to choose from")
            row, ordinal = _ragged(xp, counts)
        src = sources[row].astype(np.uint64)
        m = allowed[row].astype(np.uint64)
        if self.replace:
            w = philox4x32_10(xp, src, CONNECT, ordinal.astype(np.uint64), 0, *self.key)
            target = ((w[0].astype(np.uint64) * m) >> np.uint64(32)).astype(np.int64)
        else:
            target = self._permuted(xp, sources, row, ordinal % allowed[row], allowed)
        if ex is not None:
            e = ex[row]
            target += ((e >= 0) & (target >= e)).astype(np.int64)
        return row, target, ordinal

    def _permuted(self, xp, sources, row, index, allowed):
        keys = philox4x32_10(xp, sources.astype(np.uint64), PERMUTATION, 0, 0, *self.key)
        keys = [k.astype(np.uint64)[row] for k in keys]
        # the width depends on n_post only, never on which sources share a chunk
        half = (max(1, int(self.n_post - 1).bit_length()) + 1) // 2
        x = feistel(xp, index.astype(np.uint64), keys, half)
        limit = allowed[row].astype(np.uint64)
        out = x >= limit
        while bool(out.any()):  # cycle-walking: expected < 4 rounds
            idx = xp.nonzero(out)[0]
            x[idx] = feistel(xp, x[idx], [k[idx] for k in keys], half)
            out[idx] = x[idx] >= limit[idx]
        return x.astype(np.int64)

    def values(self, xp, source, ordinal):
        """(weight float64, delay steps int32) at synapses (source, ordinal)."""
        weight = self.weight.draw(xp, self.key, WEIGHT, source, ordinal)
        delay = self.delay.draw(xp, self.key, DELAY, source, ordinal)
        delay = xp.floor(xp.asarray(delay, dtype=np.float64) * (1.0 / self.dt) + 0.5)
        shape = ordinal.shape
        return (xp.broadcast_to(xp.asarray(weight, dtype=np.float64), shape),
                xp.broadcast_to(delay.astype(np.int32), shape))

    def delay_step_bounds(self) -> tuple[int, int]:
        low, high = self.delay.bounds()
        steps = np.floor(np.array([low, high]) * (1.0 / self.dt) + 0.5).astype(np.int64)
        return int(steps[0]), int(steps[1])


def _grid(xp, rows: int, cols: int):
    flat = xp.arange(rows * cols, dtype=np.int64)
    return flat // max(cols, 1), flat % max(cols, 1)


def _ragged(xp, counts):
    """(row, index within row) of rows of `counts` (int64 device array) elements."""
    if counts.shape[0] == 0:
        z = xp.zeros(0, dtype=np.int64)
        return z, z
    ends = xp.cumsum(counts)
    position = xp.arange(int(ends[-1]), dtype=np.int64)
    row = xp.searchsorted(ends, position, side="right")
    return row, position - (ends - counts)[row]


def total_counts(key: tuple[int, int], n: int, allowed, replace: bool) -> np.ndarray:
    """How many of `n` synapses drawn uniformly among all allowed (source, target) pairs
    each source has (host int32): `allowed[i]` targets for source i; with replacement a
    multinomial, without a multivariate hypergeometric. Drawn from a NumPy Philox generator
    keyed by the rule's key, so every process draws the same numbers."""
    allowed = np.asarray(allowed, dtype=np.int64)
    pairs = int(allowed.sum())
    if n < 0:
        raise ValueError(f"cannot draw {n} connections")
    if n and pairs == 0 or (not replace and n > pairs):
        raise ValueError(f"cannot draw {n} connections among {pairs} pairs of cells")
    generator = np.random.Generator(np.random.Philox(key=key[0] | (key[1] << 32)))
    if n == 0:
        counts = np.zeros(allowed.size, dtype=np.int64)
    elif replace:
        counts = generator.multinomial(n, allowed / pairs)
    else:
        counts = generator.multivariate_hypergeometric(allowed, n, method="marginals")
    if int(counts.max(initial=0)) >= 2**31:
        raise ValueError("more than 2^31 synapses from one source")
    return counts.astype(np.int32)


class ProceduralGroup:
    """Synapses of one projection that are never stored: regenerated per spike from `rule`.

    `pre_gids`/`post_gids`: global indices of the projection's cells (host int64).
    """

    def __init__(self, backend, rule: ConnectivityRule, pre_gids, post_gids, receptor: str,
                 label: str = ""):
        self.backend = backend
        self.rule = rule
        self.pre_gids = np.asarray(pre_gids, dtype=np.int64)
        self.post_gids = np.asarray(post_gids, dtype=np.int64)
        self.receptor = receptor
        self.label = label
        self.min_delay, self.max_delay = rule.delay_step_bounds()
        self._prepared = None
        self.chunk = CHUNK_GPU if backend.is_gpu else CHUNK

    def pre_range(self):
        """(first, stop) where the presynaptic cells are the gids first, first + 1, ...,
        stop - 1 in that order (a Population, a slice of one), else None."""
        gids = self.pre_gids
        if gids.size == 0:
            return None
        first = int(gids[0])
        if np.array_equal(gids, np.arange(first, first + gids.size)):
            return first, first + gids.size
        return None

    def prepare(self, network):
        """Device lookups: gid -> source index (a range needs none), target -> (family,
        local index, port)."""
        xp = self.backend.xp
        span = self.pre_range()
        if span is None:
            lookup = np.full(network.n_neurons, -1, dtype=np.int64)
            lookup[self.pre_gids] = np.arange(self.pre_gids.size)
            lookup = (0, xp.asarray(lookup))
        else:
            lookup = span
        family, local = network.group_of(self.post_gids)
        families = []
        for gi in np.unique(family):
            g = network._group_by_index(gi)
            families.append((g, g.model.port_index(self.receptor)))
        self._prepared = (lookup, xp.asarray(family), xp.asarray(local), families)

    def deliverable_on_gpu(self) -> bool:
        """True if the GPU step's kernel (engine/gpu/procedural.py) can regenerate these
        synapses."""
        from .gpu.procedural import kernel_can_deliver
        return kernel_can_deliver(self.rule)

    def materialise(self, sources=None):
        """(source, target, weight, delay steps) of all synapses of `sources` (default all),
        one chunk of sources after another (generator)."""
        xp = self.backend.xp
        if sources is None:
            sources = xp.arange(self.rule.n_pre, dtype=np.int64)
        for part in self.rule.source_chunks(int(sources.shape[0]), self.chunk):
            chunk = sources[part]
            row, target, ordinal = self.rule.connections(xp, chunk)
            source = chunk[row]
            weight, delay = self.rule.values(xp, source, ordinal)
            yield source, target, weight, delay

    def deliver(self, network, step: int, sources, mult):
        """Add the input of this step's spikes (global `sources`, multiplicities `mult`) to
        the targets' ring buffers, regenerating the spiking sources' synapses."""
        backend = self.backend
        xp = backend.xp
        if self._prepared is None:
            self.prepare(network)
        lookup, family, local, families = self._prepared
        if isinstance(lookup[1], int):
            index = sources.astype(np.int64) - lookup[0]
            index = xp.where(index < lookup[1] - lookup[0], index, -1)
        else:
            index = lookup[1][sources]
        hit = xp.nonzero(index >= 0)[0]
        if hit.shape[0] == 0:
            return
        index, mult = index[hit], mult[hit]
        for part in self.rule.source_chunks(int(index.shape[0]), self.chunk):
            chunk = index[part]
            row, target, ordinal = self.rule.connections(xp, chunk)
            if row.shape[0] == 0:
                continue
            weight, delay = self.rule.values(xp, chunk[row], ordinal)
            value = weight.astype(backend.float) * mult[part][row].astype(backend.float)
            for g, port in families:
                sel = None if len(families) == 1 else xp.nonzero(family[target] == g.index)[0]
                t = local[target] if sel is None else local[target[sel]]
                d = delay if sel is None else delay[sel]
                ring = g.ring
                slot = (step + d.astype(np.int64)) % ring.n_slots
                flat = (slot * ring.n_ports + port) * ring.n + t
                backend.scatter_add(ring.data.reshape(-1), flat,
                                    value if sel is None else value[sel])
