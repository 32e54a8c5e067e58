"""Random numbers from named distributions, drawn on the engine's device.

Distribution names and parameter names are PyNN's (``uniform(low, high)``,
``normal(mu, sigma)``, ...), so a caller passes a distribution's name and
parameters straight through. Draws use a :class:`~.backend.RandomStream`, so
they stay on the device (NumPy or CuPy); only ``binomial`` and ``vonmises``,
which CuPy's generator lacks, are drawn on the host from a seed taken from the
stream.
"""

from __future__ import annotations

import numpy as np

PARAMETERS = {
    "uniform": ("low", "high"),
    "uniform_int": ("low", "high"),
    "normal": ("mu", "sigma"),
    "normal_clipped": ("mu", "sigma", "low", "high"),
    "normal_clipped_to_boundary": ("mu", "sigma", "low", "high"),
    "lognormal": ("mu", "sigma"),
    "exponential": ("beta",),
    "gamma": ("k", "theta"),
    "poisson": ("lambda_",),
    "binomial": ("n", "p"),
    "vonmises": ("mu", "kappa"),
}

MAX_REDRAWS = 1000


def _host_generator(stream):
    """A NumPy generator seeded from `stream` (for distributions CuPy lacks)."""
    seed = stream.integers(0, 2**62, 1)
    return np.random.default_rng(int(seed[0].item()))


def sample(stream, name: str, params: dict, n: int):
    """`n` draws of distribution `name` with PyNN parameters `params`, as a device array."""
    if name not in PARAMETERS:
        raise NotImplementedError(f"no native sampler for the {name!r} distribution")
    missing = set(PARAMETERS[name]) - set(params)
    if missing:
        raise KeyError(f"the {name} distribution needs parameters {sorted(missing)}")
    xp = stream.xp
    p = {k: params[k] for k in PARAMETERS[name]}
    if name == "uniform":
        return p["low"] + (p["high"] - p["low"]) * stream.uniform(n)
    if name == "uniform_int":
        return stream.integers(int(p["low"]), int(p["high"]), n)
    if name == "normal":
        return p["mu"] + p["sigma"] * stream.normal(n)
    if name == "normal_clipped":
        return _normal_clipped(stream, n, **p)
    if name == "normal_clipped_to_boundary":
        x = p["mu"] + p["sigma"] * stream.normal(n)
        return xp.clip(x, p["low"], p["high"])
    if name == "lognormal":
        return xp.exp(p["mu"] + p["sigma"] * stream.normal(n))
    if name == "exponential":
        return p["beta"] * stream.exponential(n)
    if name == "gamma":
        return p["theta"] * stream.gamma(p["k"], n)
    if name == "poisson":
        return stream.poisson(p["lambda_"], n)
    gen = _host_generator(stream)
    if name == "binomial":
        values = gen.binomial(int(p["n"]), p["p"], n)
    else:
        values = gen.vonmises(p["mu"], p["kappa"], n)
    return xp.asarray(values)


def _normal_clipped(stream, n, mu, sigma, low, high):
    """Normal draws, values outside [low, high] redrawn until none is left."""
    xp = stream.xp
    if low > high:
        raise ValueError(f"normal_clipped: low ({low}) is above high ({high})")
    x = mu + sigma * stream.normal(n)
    bad = xp.nonzero((x < low) | (x > high))[0]
    for _ in range(MAX_REDRAWS):
        if bad.shape[0] == 0:
            return x
        redrawn = mu + sigma * stream.normal(bad.shape[0])
        x[bad] = redrawn
        bad = bad[(redrawn < low) | (redrawn > high)]
    raise ValueError("normal_clipped: too many redraws; check mu, sigma, low and high")
