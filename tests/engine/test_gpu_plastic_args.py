"""The plastic kernels' parameter tables (engine/gpu/plastic.py), built with NumPy: a value
shared by all synapses must be read with stride 0, a per-synapse column with stride 1."""

import numpy as np

from pyNN_neurongpu.engine.backend import Backend
from pyNN_neurongpu.engine.gpu.plastic import PARAM_ORDER, parameter_columns
from pyNN_neurongpu.engine.plasticity import PlasticGroup


def test_shared_values_get_stride_zero():
    params = {"U": np.asarray(0.5), "tau_rec": np.array([100.0, 200.0, 300.0]),
              "tau_facil": np.asarray(0.0), "tau_psc": np.asarray(3.0)}
    arrays, strides = parameter_columns(np, params, PARAM_ORDER["tsodyks_markram"])
    assert strides.tolist() == [0, 1, 0, 0]
    assert strides.dtype == np.int32
    assert [a.dtype for a in arrays] == [np.float64] * 4
    # what the kernel reads for synapse j: arrays[i][j * strides[i]]
    for j in range(3):
        read = [float(a.reshape(-1)[j * s]) for a, s in zip(arrays, strides)]
        assert read == [0.5, 100.0 * (j + 1), 0.0, 3.0]


def test_strides_of_a_plastic_group():
    backend = Backend("cpu", "float64")
    n = 4
    pg = PlasticGroup(backend, "stdp", np.arange(n), np.arange(n), np.full(n, 0.1),
                      np.ones(n, dtype=np.int64), "excitatory",
                      {"tau_plus": np.array([10.0, 20.0, 30.0, 40.0]), "A_plus": 0.02}, {})
    arrays, strides = parameter_columns(np, pg.params, PARAM_ORDER["stdp"])
    names = PARAM_ORDER["stdp"]
    assert strides[names.index("tau_plus")] == 1
    assert strides[names.index("A_plus")] == 0
    assert arrays[names.index("A_plus")].reshape(-1)[0] == 0.02
    assert sum(strides) == 1
