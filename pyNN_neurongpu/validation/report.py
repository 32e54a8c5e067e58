"""A self-contained HTML report of a Comparison (figures embedded as base64 PNGs)."""

from __future__ import annotations

import base64
import html
import io
import math

from .plots import distributions_figure, ks_figure, raster_figure
from .statistics import METRICS


def figure_png(fig, dpi=90):
    """PNG bytes of a matplotlib figure (which is closed)."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    plt.close(fig)
    return buffer.getvalue()


def _img(png, alt):
    data = base64.b64encode(png).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def _fmt(value, spec=".3f"):
    return "&ndash;" if value is None or math.isnan(value) else format(value, spec)


def _table(comparison):
    a, b = (html.escape(x) for x in comparison.labels)
    head = (f"<tr><th>population</th><th>metric</th><th>{a} mean</th><th>{b} mean</th>"
            "<th>KS</th><th>seed spread</th><th>verdict</th><th>p</th></tr>")
    rows = []
    for name, metrics in comparison.distances.items():
        for metric in METRICS:
            comp = metrics[metric]
            means = comparison.means(name, metric)
            rows.append(f'<tr class="{comp.verdict}"><td>{html.escape(name)}</td>'
                        f"<td>{metric}</td><td>{_fmt(means[0], '.4g')}</td>"
                        f"<td>{_fmt(means[1], '.4g')}</td><td>{_fmt(comp.ks)}</td>"
                        f"<td>{_fmt(comp.spread)}</td><td>{comp.verdict}</td>"
                        f"<td>{_fmt(comp.p_value, '.2f')}</td></tr>")
    return f"<table>{head}{''.join(rows)}</table>"


STYLE = """body{font-family:sans-serif;max-width:1100px;margin:auto;padding:1em}
table{border-collapse:collapse;font-size:90%}td,th{border:1px solid #ccc;padding:2px 8px;
text-align:right}tr.outside td{background:#fde2e2}tr.within td{background:#e6f4e6}
img{max-width:100%}code{background:#f4f4f4}"""


def write_html(comparison, filename, title=None):
    """Write the report (table, options, distributions, rasters, KS figure) to `filename`."""
    a, b = comparison.labels
    title = title or f"{a} vs {b}"
    opts = ", ".join(f"{k}={v}" for k, v in comparison.options.as_dict().items())
    runs = "".join(f"<li>{html.escape(label)}: {len(r)} run(s): "
                   f"{html.escape(', '.join(x.label for x in r))}</li>"
                   for label, r in zip(comparison.labels, comparison.runs))
    body = [
        f"<h1>{html.escape(title)}</h1>",
        f"<ul>{runs}</ul><p>Options: <code>{html.escape(opts)}</code></p>",
        "<h2>KS distances</h2>",
        "<p>KS: mean two-sample Kolmogorov&ndash;Smirnov distance over all pairs (run of "
        f"{html.escape(a)}, run of {html.escape(b)}). Seed spread: the largest distance "
        f"between two runs of {html.escape(comparison.spread_label())}. <em>within</em>: "
        "KS &le; spread. p: "
        "permutation test over the runs' labels (the fraction of ways to split all runs "
        "into two groups of these sizes that separate them at least as well as the "
        "simulators do); small p: the simulators differ more than their seeds.</p>",
        _table(comparison),
        _img(figure_png(ks_figure(comparison)), "KS distances"),
        "<h2>Distributions</h2>",
        _img(figure_png(distributions_figure(comparison)), "distributions"),
        "<h2>Raster excerpts</h2>",
        _img(figure_png(raster_figure(comparison)), "rasters"),
    ]
    with open(filename, "w") as f:
        f.write(f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>"
                f"{html.escape(title)}</title><style>{STYLE}</style></head><body>"
                + "\n".join(body) + "</body></html>\n")
    return filename
