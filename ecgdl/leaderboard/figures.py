"""The leaderboard's fixed figures (the SNR heatmap and the per-page SNR boxes), drawn by matplotlib as inline SVG.

They are drawn once, when the page is built, rather than in the browser: a browser plotting library costs more
to parse than the page's whole 2-s budget for 500 runs (plotly.js alone took 2.3 s on a 2-core machine), while
an inline SVG costs the browser next to nothing and stays readable offline, in print and in any viewer.
"""

from __future__ import annotations

import html
import io
import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = ["heatmap_svg", "page_box_svg", "svg_markup"]


def svg_markup(figure, title: str) -> str:
    """``figure`` as an ``<svg>`` element to inline in HTML (no XML prolog, scales to its container's width),
    with a ``<title>`` for screen readers; the figure is closed."""
    import matplotlib.pyplot as plt

    buffer = io.StringIO()
    try:
        with plt.rc_context({"svg.fonttype": "none", "svg.hashsalt": "ecgdl"}):
            figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    finally:
        plt.close(figure)
    text = buffer.getvalue()
    text = text[text.index("<svg") :]
    # width/height in pt -> let CSS size it; the viewBox keeps the aspect ratio
    text = re.sub(
        r'<svg([^>]*?) width="[^"]*" height="[^"]*"', r'<svg\1 role="img" class="figure"', text, count=1
    )
    end = text.index(">") + 1
    return text[:end] + f"<title>{html.escape(title)}</title>" + text[end:]


def heatmap_svg(table: pd.DataFrame) -> str:
    """Model x (set, image type) SNR table (dB, NaN where no run) as an annotated heatmap."""
    import matplotlib.pyplot as plt

    values = table.to_numpy(dtype=float)
    n_rows, n_cols = values.shape
    fig, ax = plt.subplots(
        figsize=(2.2 + 0.62 * n_cols, 1.6 + 0.32 * n_rows + 0.08 * _longest(table.columns))
    )
    shown = np.ma.masked_invalid(values)
    finite = values[np.isfinite(values)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    image = ax.imshow(shown, cmap="viridis", vmin=lo, vmax=max(hi, lo + 1e-6), aspect="auto")
    ax.set_facecolor("#eeeeee")
    ax.set_xticks(range(n_cols), [str(c) for c in table.columns], rotation=35, ha="right", fontsize=8)
    ax.set_yticks(range(n_rows), [str(i) for i in table.index], fontsize=9)
    middle = (lo + hi) / 2
    for (r, c), value in np.ndenumerate(values):
        if np.isfinite(value):
            colour = "black" if value > middle else "white"
            ax.text(c, r, f"{value:.1f}", ha="center", va="center", fontsize=7.5, color=colour)
    fig.colorbar(image, ax=ax, label="SNR (dB)", fraction=0.04, pad=0.02)
    ax.tick_params(length=0)
    fig.tight_layout()
    return svg_markup(fig, "SNR by model and evaluation set / degradation (best run per cell, dB)")


def _longest(labels: Sequence[object]) -> int:
    return max((len(str(x)) for x in labels), default=0)


def page_box_svg(names: Sequence[str], page_db: Sequence[Sequence[float]], pooled_db: Sequence[float]) -> str:
    """One horizontal box per run of its per-page SNR (quartiles, whiskers at 1.5 IQR, outliers as dots,
    the mean as a triangle) with the run's pooled SNR as a diamond; runs top to bottom in the given order."""
    import matplotlib.pyplot as plt

    n = len(names)
    fig, ax = plt.subplots(figsize=(10, 0.9 + 0.3 * n))
    data = [np.asarray([v for v in values if v is not None and np.isfinite(v)], float) for values in page_db]
    positions = np.arange(n)[::-1]
    ax.boxplot(
        data,
        positions=positions,
        orientation="horizontal",
        widths=0.6,
        showmeans=True,
        flierprops={"marker": ".", "markersize": 3, "markerfacecolor": "#2e6fb5", "markeredgecolor": "none"},
        meanprops={"marker": "^", "markerfacecolor": "#1e7b34", "markeredgecolor": "none", "markersize": 5},
        medianprops={"color": "#2e6fb5"},
        boxprops={"color": "#2e6fb5"},
        whiskerprops={"color": "#2e6fb5"},
        capprops={"color": "#2e6fb5"},
    )
    pooled = np.asarray([np.nan if v is None else v for v in pooled_db], float)
    ax.scatter(pooled, positions, marker="D", s=22, color="#e6862e", zorder=3, label="run's pooled SNR")
    ax.plot([], [], "^", color="#1e7b34", markersize=5, label="mean of pages")
    ax.set_yticks(positions, list(names), fontsize=8)
    ax.set_ylim(-0.7, n - 0.3)
    ax.set_xlabel("SNR per page (dB); box: quartiles and median")
    ax.grid(axis="x", color="#e4e4e4")
    ax.legend(loc="lower left", bbox_to_anchor=(0, 1.0), ncol=2, frameon=False, fontsize=8)
    fig.tight_layout()
    return svg_markup(fig, "Per-page SNR of the top runs")
