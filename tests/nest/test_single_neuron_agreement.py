"""tools/single_neuron_agreement.py: cell types found at run time, one neuron per type on
both simulators, and its markdown table."""

import importlib.util
from pathlib import Path

import pytest

pytestmark = pytest.mark.nest

TOOL = Path(__file__).resolve().parents[2] / "tools" / "single_neuron_agreement.py"


@pytest.fixture(scope="module")
def tool():
    spec = importlib.util.spec_from_file_location("single_neuron_agreement", TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_common_cell_types(tool, nest_module):
    import pyNN.neurongpu as ours

    names = tool.common_cell_types(ours, nest_module)
    assert {"IF_curr_exp", "IF_cond_exp", "IF_curr_delta"} <= set(names)
    assert not any(name.startswith("SpikeSource") for name in names)


@pytest.mark.parametrize("name", ["IF_curr_exp", "IF_curr_delta"])
def test_one_cell_type_agrees(tool, nest_module, name):
    """IF_curr_delta's v goes through a NEST multimeter (pyNN.nest does not map it)."""
    import pyNN.neurongpu as ours

    row = tool.compare_cell_type(ours, nest_module, name, "cpu", "float64")
    n_ours, n_nest = row["spikes"]
    assert n_ours == n_nest > 3
    assert row["max spike-time diff"] == 0.0 and row["max V diff"] < 1e-9
    table = tool.markdown_table([row, {"cell type": "X", "error": "boom"}])
    assert f"| {name} | {n_ours} / {n_nest} | +0 | 0 |" in table
    assert "| X | error: boom |" in table
