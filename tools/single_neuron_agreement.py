"""Single-neuron agreement with NEST for every cell type that both pyNN.neurongpu and
pyNN.nest provide (found at run time, so models added later appear by themselves).

One neuron per cell type (default parameters) gets the same input on both simulators:
excitatory and inhibitory spikes from a SpikeSourceArray and a step current. The table
gives the spike counts, the largest spike-time difference (over the spikes both emit)
and the largest membrane-potential difference.

Usage::

    python tools/single_neuron_agreement.py [--backend cpu] [--precision float64]
        [--output table.md]
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import traceback

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import pynn_neurongpu_alias  # noqa: E402

pynn_neurongpu_alias.install()

DT = 0.1
T_STOP = 400.0
EXC_TIMES = [20.0, 22.0, 24.0, 26.0, 28.0, 30.0, 32.0, 34.0, 60.0, 61.0, 62.0, 63.0, 64.0,
             65.0, 66.0, 67.0, 68.0, 69.0, 250.0, 330.0, 331.0, 332.0, 333.0, 334.0]
INH_TIMES = [150.0, 152.0, 154.0, 200.0, 201.0, 202.0, 350.0]
STEP_TIMES, STEP_AMPLITUDES = [100.0, 300.0], [1.0, 0.0]  # ms, nA
WEIGHTS = {False: (0.8, 0.8), True: (0.02, 0.05)}  # nA or uS by conductance_based: exc, inh
# cell types whose defaults want other input scales: {name: {"step": nA, "weights": (e, i)}}
OVERRIDES = {"Izhikevich": {"step": 0.02, "weights": (0.01, 0.01)}}


def common_cell_types(ours, nest):
    """Names of the point-neuron cell types (injectable, with 'v') both simulators have."""
    names = set(ours.list_standard_models()) & set(nest.list_standard_models())
    result = []
    for name in sorted(names):
        cls = getattr(ours, name)
        if getattr(cls, "injectable", False) and "v" in getattr(cls, "recordable", ()):
            result.append(name)
    return result


def simulate(sim, name, extra_setup):
    """Spike times (ms) and the v trace (mV) of one neuron of cell type `name`."""
    sim.setup(timestep=DT, min_delay=DT, **extra_setup)
    cell_type = getattr(sim, name)()
    override = OVERRIDES.get(name, {})
    w_exc, w_inh = override.get("weights", WEIGHTS[bool(getattr(cell_type, "conductance_based",
                                                                False))])
    if not getattr(cell_type, "conductance_based", False):
        w_inh = -w_inh  # current-based inhibition: negative weights
    cell = sim.Population(1, cell_type)
    # pyNN.nest maps v to V_m for most models; where it does not (IF_curr_delta in PyNN
    # 0.13), set and record V_m natively (a NEST multimeter)
    native_v = hasattr(cell, "node_collection") and "v" not in getattr(
        cell_type, "variable_map", {})
    if native_v:
        v_init = float(cell_type.default_initial_values["v"])
        cell.node_collection.V_m = v_init
        multimeter = _nest_v_multimeter(cell)
    for times, weight, receptor in ((EXC_TIMES, w_exc, "excitatory"),
                                    (INH_TIMES, w_inh, "inhibitory")):
        source = sim.Population(1, sim.SpikeSourceArray(spike_times=times))
        sim.Projection(source, cell, sim.AllToAllConnector(),
                       sim.StaticSynapse(weight=weight, delay=1.0), receptor_type=receptor)
    amplitudes = [a * override.get("step", 1.0) for a in STEP_AMPLITUDES]
    sim.StepCurrentSource(times=STEP_TIMES, amplitudes=amplitudes).inject_into(cell)
    cell.record(["spikes"] if native_v else ["spikes", "v"])
    sim.run(T_STOP)
    segment = cell.get_data().segments[0]
    spikes = np.asarray(segment.spiketrains[0].rescale("ms").magnitude, dtype=float)
    if native_v:
        events = multimeter.get("events")
        order = np.argsort(events["times"], kind="stable")
        v = np.concatenate([[v_init], np.asarray(events["V_m"], dtype=float)[order]])
    else:
        v = np.asarray(segment.filter(name="v")[0].rescale("mV").magnitude, dtype=float)[:, 0]
    sim.end()
    return spikes, v


def _nest_v_multimeter(cell):
    import nest

    multimeter = nest.Create("multimeter", params={"record_from": ["V_m"], "interval": DT})
    nest.Connect(multimeter, cell.node_collection)
    return multimeter


def compare_cell_type(ours, nest, name, backend, precision):
    """One row: spike counts, max spike-time difference (ms), max v difference (mV)."""
    s_ours, v_ours = simulate(ours, name, {"backend": backend, "precision": precision})
    s_nest, v_nest = simulate(nest, name, {"spike_precision": "on_grid",
                                          "verbosity": "error"})
    n = min(s_ours.size, s_nest.size)
    dt_max = float(np.max(np.abs(s_ours[:n] - s_nest[:n]))) if n else float("nan")
    if v_ours.size != v_nest.size:
        raise ValueError(f"v traces of {v_ours.size} and {v_nest.size} samples")
    dv_max = float(np.max(np.abs(v_ours - v_nest)))
    return {"cell type": name, "spikes": (int(s_ours.size), int(s_nest.size)),
            "max spike-time diff": dt_max, "max V diff": dv_max}


def markdown_table(rows):
    """The rows as a markdown table."""
    lines = ["| cell type | spikes (ours / NEST) | count difference | max spike-time "
             "difference (ms) | max V_m difference (mV) |", "|---|---|---|---|---|"]
    for row in rows:
        if "error" in row:
            message = " ".join(str(row["error"]).split()).replace("|", "\\|")
            lines.append(f"| {row['cell type']} | error: {message} | | | |")
            continue
        a, b = row["spikes"]
        dt = "–" if np.isnan(row["max spike-time diff"]) else f"{row['max spike-time diff']:.3g}"
        lines.append(f"| {row['cell type']} | {a} / {b} | {a - b:+d} | {dt} | "
                     f"{row['max V diff']:.3g} |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", default="cpu", help="pyNN.neurongpu device (default cpu)")
    parser.add_argument("--precision", default="float64", help="float64 (default) or float32")
    parser.add_argument("--output", default=None, help="write the markdown table here too")
    args = parser.parse_args(argv)
    ours = importlib.import_module("pyNN.neurongpu")
    nest = importlib.import_module("pyNN.nest")
    rows = []
    for name in common_cell_types(ours, nest):
        try:
            rows.append(compare_cell_type(ours, nest, name, args.backend, args.precision))
        except Exception as error:  # one failing model must not hide the others
            traceback.print_exc()
            rows.append({"cell type": name, "error": f"{type(error).__name__}: {error}"})
    table = markdown_table(rows)
    print(f"dt = {DT} ms, {T_STOP:g} ms, pyNN.neurongpu backend={args.backend} "
          f"precision={args.precision} vs pyNN.nest (spike_precision='on_grid')\n")
    print(table)
    if args.output:
        with open(args.output, "w") as f:
            f.write(table + "\n")
    return rows


if __name__ == "__main__":
    main()
