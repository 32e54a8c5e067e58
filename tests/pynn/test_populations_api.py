"""Populations, views and assemblies: parameters, initial values, positions,
annotations, id lookup and description, as a PyNN script uses them."""

import numpy as np
import pytest
from pyNN import errors
from pyNN.space import Grid2D


def test_parameters_get_and_set(sim):
    sim.setup(timestep=0.1, backend=sim.test_backend)
    p = sim.Population(6, sim.IF_curr_exp(tau_m=lambda i: 10.0 + i, i_offset=0.5))
    np.testing.assert_array_equal(p.get("tau_m"), 10.0 + np.arange(6))
    assert p.get("i_offset") == 0.5   # homogeneous values come back as a number
    p[::2].set(v_thresh=-55.0)
    np.testing.assert_array_equal(p.get("v_thresh"), [-55.0, -50.0] * 3)
    p[1:5][::2].set(cm=[2.0, 3.0])     # a view of a view
    np.testing.assert_array_equal(p.get("cm"), [1.0, 2.0, 1.0, 3.0, 1.0, 1.0])
    p[2].tau_refrac = 3.0
    assert p[2].tau_refrac == 3.0
    p.set(tau_syn_E=sim.RandomDistribution("uniform", low=1.0, high=2.0,
                                           rng=sim.NumpyRNG(seed=1)))
    tau = p.get("tau_syn_E")
    assert tau.shape == (6,) and np.all((tau >= 1.0) & (tau < 2.0)) and np.unique(tau).size == 6
    tau_m, v_rest = p[3:5].get(["tau_m", "v_rest"])
    np.testing.assert_array_equal(tau_m, [13.0, 14.0])
    assert v_rest == -65.0
    q = sim.Population(2, sim.IF_curr_exp(tau_m=30.0))
    np.testing.assert_array_equal((p + q).get("tau_m"), [10, 11, 12, 13, 14, 15, 30, 30])
    with pytest.raises(errors.NonExistentParameterError):
        p.set(tau_x=1.0)
    with pytest.raises(errors.InvalidParameterValueError):
        p.set(tau_m=-1.0)
    assert p.get("tau_m")[0] == 10.0   # the bad value left nothing half-set


def test_parameter_changes_act_on_the_simulation(sim):
    sim.setup(timestep=0.1, backend=sim.test_backend)
    p = sim.Population(2, sim.IF_curr_exp(i_offset=0.0))
    p.record("spikes")
    sim.run(20.0)
    p[1:2].set(i_offset=2.0)
    sim.run(20.0)
    trains = p.get_data().segments[0].spiketrains
    assert len(trains[0]) == 0
    assert len(trains[1]) > 0 and trains[1].magnitude.min() > 20.0


def test_initialize_forms(sim):
    sim.setup(timestep=0.1, backend=sim.test_backend)
    p = sim.Population(5, sim.IF_curr_exp())
    p.initialize(v=lambda i: -70.0 + i)
    np.testing.assert_array_equal(p.initial_values["v"].evaluate(), -70.0 + np.arange(5))
    p[1:3].initialize(v=-60.0)
    np.testing.assert_array_equal(p.initial_values["v"].evaluate(),
                                  [-70.0, -60.0, -60.0, -67.0, -66.0])
    np.testing.assert_array_equal(p[1:3].initial_values["v"].evaluate(), [-60.0, -60.0])
    p[4].set_initial_value("v", -50.5)
    assert p[4].get_initial_value("v") == -50.5
    with pytest.deprecated_call():
        sim.initialize(p[0:1], v=-80.0)
    p.record("v")
    sim.run(0.1)
    v0 = p.get_data().segments[0].analogsignals[0].magnitude[0]
    np.testing.assert_array_equal(v0, [-80.0, -60.0, -60.0, -67.0, -50.5])
    with pytest.raises(errors.NonExistentParameterError):
        p.initialize(w=1.0)


def test_homogeneous_initial_value_stays_a_number(sim):
    sim.setup(timestep=0.1, backend=sim.test_backend)
    p = sim.Population(3, sim.IF_curr_exp())
    assert p.initial_values["v"].evaluate(simplify=True) == -65.0
    p.initialize(v=-61.0)
    assert p.initial_values["v"].evaluate(simplify=True) == -61.0


def test_positions_and_structure(sim):
    sim.setup(timestep=0.1, backend=sim.test_backend)
    p = sim.Population(6, sim.IF_curr_exp(), structure=Grid2D(aspect_ratio=1.5, dx=2.0))
    assert p.positions.shape == (3, 6)
    assert p.id_to_index(p.nearest((2.0, 0.0, 0.0))) == 2
    p[1].position = (7.0, 8.0, 9.0)
    np.testing.assert_array_equal(p.positions[:, 1], [7.0, 8.0, 9.0])
    np.testing.assert_array_equal(p[0:2].positions[:, 1], [7.0, 8.0, 9.0])


def test_ids_views_and_lookup(sim):
    sim.setup(timestep=0.1, backend=sim.test_backend)
    a = sim.Population(4, sim.SpikeSourceArray(), label="a")
    b = sim.Population(5, sim.IF_curr_exp(), label="b")
    cell = b[3]
    assert cell.parent is b and b.id_to_index(cell) == 3
    assert cell in b and cell not in a
    np.testing.assert_array_equal(b.id_to_index(b[[1, 4]].all_cells), [1, 4])
    with pytest.raises(IndexError):
        b.id_to_index(a[0])
    view = b[[0, 2, 4]]
    assert view.parent is b and [int(c) for c in view] == [int(b[0]), int(b[2]), int(b[4])]
    assert view.id_to_index(b[4]) == 2
    asm = a + b
    assert asm.size == 9 and asm.id_to_index(b[1]) == 5
    assert b.first_id == b[0] and b.last_id == b[4]
    assert b.local_size == 5 and all(b._mask_local)
    assert (b.can_record("v"), b.can_record("spikes"), a.can_record("v")) == (True, True, False)
    with pytest.raises(errors.RecordingError):
        a.record("v")


def test_annotations_and_description(sim):
    sim.setup(timestep=0.1, backend=sim.test_backend)
    p = sim.Population(3, sim.IF_curr_exp(tau_m=12.0), label="exc")
    p.annotate(layer="L2/3", kind="excitatory")
    p.record("spikes")
    sim.run(1.0)
    block = p.get_data()
    assert block.annotations["layer"] == "L2/3" and block.annotations["kind"] == "excitatory"
    assert block.annotations["label"] == "exc" and block.annotations["simulator"] == "neurongpu"
    text = p.describe()
    assert 'Population "exc"' in text and "IF_curr_exp" in text
    assert f"ID range    : {int(p.first_id)}-{int(p.last_id)}" in text
    info = p.describe(template=None)
    assert info["size"] == 3 and info["label"] == "exc" and info["layer"] == "L2/3"
    assert info["celltype"]["parameters"]["tau_m"] == 12.0
    assert "IF_curr_exp" in sim.list_standard_models()
