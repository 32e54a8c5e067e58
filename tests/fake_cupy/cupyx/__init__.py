"""cupyx's scatter operations for tests/fake_cupy's CuPy (NumPy's unbuffered ufuncs)."""

import numpy as _np


def scatter_add(a, index, values):
    _np.add.at(a, index, values)


def scatter_min(a, index, values):
    _np.minimum.at(a, index, values)


def scatter_max(a, index, values):
    _np.maximum.at(a, index, values)
