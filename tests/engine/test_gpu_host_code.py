"""The GPU step's host code, run without a GPU against tests/fake_cupy: kernels are
compiled (as source text) and launched (recorded, not run), so what is checked is the
order of launches per step, graph capture and replay per chunk, and the kernels chosen
for each kind of network. On a GPU the GPU-marked tests check the results."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parents[1]   # tests/


def trace_of(network: str) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(HERE / "fake_cupy"), str(HERE.parent),
                                         env.get("PYTHONPATH", "")])
    env.pop("PYNN_NEURONGPU_BACKEND", None)
    result = subprocess.run([sys.executable, str(HERE / "gpu_host_networks.py"), network],
                            capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout)


def steps_of(trace: list) -> tuple[list, list]:
    """The kernel names launched inside the first captured graph, and outside any."""
    captured, direct, inside = [], [], False
    for entry in trace:
        if entry[0] == "begin_capture":
            inside = not captured
        elif entry[0] == "end_capture":
            inside = False
        elif entry[0] == "launch":
            (captured if entry[5] and inside else direct if not entry[5] else []).append(
                entry[1])
    return captured, direct


def count(trace, kind):
    return sum(1 for entry in trace if entry[0] == kind)


@pytest.fixture(scope="module")
def traces():
    return {name: trace_of(name) for name in ("pipelined", "lif", "stdp", "exchanged",
                                                 "procedural")}


def test_pipelined_steps_deliver_beside_the_update(traces):
    run = traces["pipelined"]
    assert run["pipelined"]
    captured, direct = steps_of(run["trace"])
    step = ["deliver_previous_step", "update_families", "sample_state", "end_pipelined_step"]
    assert captured == step * 100          # one chunk of 100 steps in the graph
    assert count(run["trace"], "begin_capture") == 1
    assert count(run["trace"], "graph_launch") == 2   # 250 steps: two whole chunks
    # the last 50 steps launched one by one, then the last step's spikes delivered
    simulated = [name for name in direct
                 if name not in ("count_sources", "place_synapses", "flag_bad_state")]
    assert simulated == step * 50 + ["propagate"]
    # the state is checked once per chunk, by one launch after the chunk's steps
    chunk_ends = [i for i, name in enumerate(direct) if name == "flag_bad_state"]
    assert len(chunk_ends) == 3
    assert direct[chunk_ends[-1] - 1] == "end_pipelined_step"
    fused = [code for code in run["sources"] if "update_families" in code]
    assert len(fused) == 1 and "(args)[(step) & 1]" in fused[0]   # two spike lists


def test_unpipelined_steps_propagate_after_the_update(traces):
    run = traces["lif"]
    assert not run["pipelined"]          # one-step delays
    captured, direct = steps_of(run["trace"])
    step = ["add_stimulus", "spike_source_array_update", "update_families", "sample_state",
            "propagate"]                 # the last propagation block ends the step
    assert captured == step * 100
    assert count(run["trace"], "graph_launch") == 1
    assert [name for name in direct if name in step] == step * 50


def test_plastic_groups_run_in_the_fused_step(traces):
    captured, _ = steps_of(traces["stdp"]["trace"])
    step = ["spike_source_array_update", "update_families", "stdp_record_post",
            "stdp_propagate", "end_step"]
    assert captured == step * 100


def test_under_mpi_chunks_end_at_every_exchange(traces):
    run = traces["exchanged"]
    assert run["chunk"] == 4                # the minimum delay, in steps
    assert run["intervals"] == 8            # 7 whole intervals and the run's last 2 steps
    assert count(run["trace"], "begin_capture") == 1
    assert count(run["trace"], "graph_launch") == 7
    launches = [e[1] for e in run["trace"] if e[0] == "launch"]
    assert launches.count("flag_bad_state") == 8   # the state checked once per chunk


def test_procedural_projections_are_delivered_in_the_fused_step(traces):
    run = traces["procedural"]
    assert not run["pipelined"]   # the regenerated synapses are delivered in the step
    captured, _ = steps_of(run["trace"])
    assert captured == ["update_families", "procedural_deliver",
                        "end_step"] * 100
    # no synapse was stored: nothing was sorted into a table
    assert not [e for e in run["trace"] if e[0] == "launch" and e[1] == "place_synapses"]


def test_procedural_kernel_takes_the_scalar_operations_it_knows():
    import operator

    from lazyarray import larray
    from pyNN.random import NativeRNG, RandomDistribution

    from pyNN_neurongpu.engine import procedural as rules
    from pyNN_neurongpu.engine.gpu.procedural import kernel_can_deliver, rule_record

    w = -(2.0 - larray(RandomDistribution("uniform", (0.0, 1.0), rng=NativeRNG(1))) * 3.0)
    spec = rules.ValueSpec(name="uniform", params={"low": 0.0, "high": 1.0},
                           ops=list(w.operations))

    def rule(weight):
        return rules.ConnectivityRule(kind="all", n_pre=3, n_post=4, key=(1, 2), dt=0.1,
                                      weight=weight, delay=rules.ValueSpec(value=1.0))

    assert kernel_can_deliver(rule(spec))
    record = rule_record(rule(spec))[0]["weight"]
    assert list(record["op"][:3]) == [3, 2, 6] and record["n_ops"] == 3   # mul, rsub, neg
    assert list(record["arg"][:2]) == [3.0, 2.0]
    odd = rules.ValueSpec(name="uniform", params={"low": 0.0, "high": 1.0},
                          ops=[(operator.pow, 2.0)])
    assert not kernel_can_deliver(rule(odd))


def test_procedural_kernel_segments_as_the_array_code():
    """cuda/procedural.cu's row segments are engine/procedural.py's."""
    import re
    from pathlib import Path

    from pyNN_neurongpu.engine import procedural as rules

    source = (Path(rules.__file__).parents[2] / "cuda" / "procedural.cu").read_text()
    assert int(re.search(r"#define SEGMENT (\d+)", source).group(1)) == rules.SEGMENT
    assert int(re.search(r"#define ORDINAL_BITS (\d+)", source).group(1)) == rules.ORDINAL_BITS
