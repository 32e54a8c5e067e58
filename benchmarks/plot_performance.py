"""Plot the real-time factor of each measured version of the GPU engine (full-scale
microcircuit: the runs labelled *_full_v* in benchmarks/results/microcircuit.json)
against the field's anchors.

    python benchmarks/plot_performance.py    # writes docs/images/performance.png
"""

import json
import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"

# published or measured reference points: (label, real-time factor)
ANCHORS = [
    ("NEST 3.10, 16 threads (issue #3, same host)", 12.9),
    ("NEST GPU, RTX 2080 Ti (Golosio et al. 2021)", 0.47),
    ("GeNN, RTX 4090", 0.27),
    ("neuroAIx, 35 FPGAs", 0.05),
]

VERSIONS = [
    ("v1", "h200_full_v1", "per-family kernels + graphs (H200, 1 s)"),
    ("v2", "h100_full_v2", "fused family kernel, direct delivery"),
    ("v3", "h100_full_v3", "packed recording drain"),
    ("v4", "h100_full_v4", "8-byte synapses, counting-sort build"),
    ("v5", "h100_full_v5", "loads before stores, 64 registers"),
]


def main():
    fig, ax = plt.subplots(figsize=(9, 5))
    series = {(p, rec): [] for p in ("float64", "float32") for rec in (True, False)}
    runs = {run["label"]: run for run in
            json.loads((RESULTS / "microcircuit.json").read_text())["runs"]}
    for k, (_tag, label, _) in enumerate(VERSIONS):
        for r in runs[label]["results"]:
            series[(r["precision"], r["record"])].append((k, r["rtf"]))
    styles = {("float64", True): ("o-", "float64, spikes recorded"),
              ("float64", False): ("o--", "float64, no recording"),
              ("float32", True): ("s-", "float32, spikes recorded"),
              ("float32", False): ("s--", "float32, no recording")}
    for key, points in series.items():
        if points:
            x, y = zip(*points)
            style, label = styles[key]
            ax.plot(x, y, style, label=label)
    for label, rtf in ANCHORS:
        ax.axhline(rtf, color="grey", lw=0.8, ls=":")
        ax.text(len(VERSIONS) - 0.55, rtf * 1.05, label, fontsize=7, color="dimgrey",
                ha="right", va="bottom")
    ax.set_yscale("log")
    ax.set_xticks(range(len(VERSIONS)))
    ax.set_xticklabels([f"{tag}\n{textwrap.fill(desc, 24)}" for tag, _, desc in VERSIONS],
                       fontsize=7)
    ax.set_xlim(-0.3, len(VERSIONS) - 0.5)
    ax.set_ylabel("real-time factor (wall / biological time)")
    ax.set_title("Full-scale PD14 microcircuit on one GPU (H100 unless noted)")
    ax.legend(fontsize=7, loc="center left")
    fig.tight_layout()
    out = ROOT / "docs" / "images" / "performance.png"
    fig.savefig(out, dpi=130)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
