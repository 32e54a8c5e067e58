"""Write the multi-area model's tables (this folder's JSON files) from the outputs of the
published model's own data pipeline; see PROVENANCE.md for the steps before this one.

Usage::

    python derive_tables.py MAM_CHECKOUT

where MAM_CHECKOUT is a checkout of INM-6/multi-area-model in which
``compute_Model_params(mode='default')`` has written
``multiarea_model/data_multiarea/default_Data_Model_.json``. Reads that file, the
stabilised in-degree matrix ``figures/SchueckerSchmidt2017/K_prime_original.npy`` and
``tests/fullscale_rates.json``; writes neuron_numbers.json, indegrees.json,
external_indegrees.json, distances.json and fullscale_rates.json beside this script.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def _write(name, payload):
    with open(HERE / name, "w") as f:
        json.dump(payload, f, indent=None, separators=(",", ":"))
        f.write("\n")


def main(checkout):
    checkout = Path(checkout)
    model = json.loads((checkout / "multiarea_model/data_multiarea/"
                        "default_Data_Model_.json").read_text())
    areas = model["area_list"]
    populations = model["population_list"]
    structure = model["structure"]  # populations with neurons, per area (TH has no L4)
    labels = [(a, p) for a in areas for p in structure[a]]
    n = {a: {p: model["neuron_numbers"][a][p] for p in structure[a]} for a in areas}
    n_vec = np.array([n[a][p] for a, p in labels])
    # the stabilised in-degrees replace the computed ones (the model's default,
    # connection_params['K_stable']); rows and columns follow `labels`
    k = np.load(checkout / "figures/SchueckerSchmidt2017/K_prime_original.npy")
    if k.shape != (len(labels), len(labels)):
        raise SystemExit(f"K_prime has shape {k.shape}, expected {len(labels)} square")
    k_ext = {a: {p: model["synapses"][a][p]["external"]["external"] / n[a][p]
                 for p in structure[a]} for a in areas}
    distances = {t: {s: float(model["distances"][t][s]) for s in areas} for t in areas}
    rates = json.loads((checkout / "tests/fullscale_rates.json").read_text())
    rates = {a: {p: float(rates[a][p]) for p in structure[a]} for a in areas}

    _write("neuron_numbers.json", {"areas": areas, "populations": populations,
                                   "structure": structure, "neuron_numbers": n})
    _write("indegrees.json", {
        "description": "K[target][source]: mean number of synapses a neuron of the target "
                       "population receives from the source population (stabilised "
                       "in-degrees, K_prime_original); rows and columns as in 'labels'",
        "labels": [f"{a}/{p}" for a, p in labels],
        "K": [[float(x) for x in row] for row in k]})
    _write("external_indegrees.json", k_ext)
    _write("distances.json", distances)
    _write("fullscale_rates.json", rates)
    print(f"{len(areas)} areas, {len(labels)} populations, {n_vec.sum():.6g} neurons, "
          f"{(k * n_vec[:, None]).sum():.6g} synapses")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    main(sys.argv[1])
