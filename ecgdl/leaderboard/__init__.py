"""Leaderboard of evaluation runs: collect every ``metrics.json`` under a folder, rank by ``snr_db``, and write
``leaderboard.csv``, ``leaderboard.md`` and a self-contained, offline ``leaderboard.html`` dashboard (heatmap of
SNR by model and set, per-page and per-lead SNR, page galleries, two runs compared: see
:mod:`ecgdl.leaderboard.dashboard`), and, when runs name their model and evaluation set, ``results.md`` /
``results.csv``: the model x (set, degradation) table of SNR in dB (:func:`results_table`; the best run per cell).

Runs are single Hydra runs or multirun sweep jobs, labelled by their Hydra overrides (:func:`collect_runs`).

Usage: ``python -m ecgdl.leaderboard outputs/ --out reports/``
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from ecgdl.leaderboard.runs import BASE_COLUMNS, METRICS_FILE, collect_runs, results_table, run_details
from ecgdl.leaderboard.tables import markdown

__all__ = ["collect_runs", "main", "results_table", "run_details", "write_leaderboard"]


def write_leaderboard(
    frame: pd.DataFrame,
    out_dir: str | Path,
    *,
    title: str = "ecgdl leaderboard",
    runs_root: str | Path | None = None,
    shown_rows: int = 100,
) -> dict[str, Path]:
    """Write ``leaderboard.csv``, ``leaderboard.md`` and ``leaderboard.html`` (and ``results.csv`` / ``.md``) into
    ``out_dir``; returns their paths. ``runs_root`` is the folder :func:`collect_runs` searched: with it the
    dashboard shows each run's pages, leads, configuration and overlays. The dashboard's tables show their first
    ``shown_rows`` rows and the rest on demand (a button, or sorting)."""
    from ecgdl.leaderboard.dashboard import dashboard_html

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"csv": out / "leaderboard.csv", "md": out / "leaderboard.md", "html": out / "leaderboard.html"}
    frame.to_csv(paths["csv"], index=False)
    paths["md"].write_text(f"# {title}\n\n" + markdown(frame))
    page = dashboard_html(
        frame,
        out,
        runs_root=Path(runs_root) if runs_root is not None else None,
        title=title,
        shown_rows=shown_rows,
    )
    paths["html"].write_text(page, encoding="utf-8")
    table = results_table(frame)
    if not table.empty:
        paths["results_csv"] = out / "results.csv"
        paths["results_md"] = out / "results.md"
        table.to_csv(paths["results_csv"])
        paths["results_md"].write_text(
            f"# {title}: SNR (dB) by model and evaluation set / degradation\n\n"
            + markdown(table.reset_index())
        )
    return paths


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ecgdl.leaderboard",
        description="Rank every metrics.json under a runs folder by snr_db and write csv/md leaderboards and an "
        "offline HTML dashboard.",
    )
    parser.add_argument("runs_dir", type=Path, help="folder to search (single runs and multirun sweeps)")
    parser.add_argument("--out", type=Path, default=None, help="output folder (default: the runs folder)")
    parser.add_argument("--title", default="ecgdl leaderboard", help="heading of the md/html pages")
    args = parser.parse_args(argv)
    try:
        frame = collect_runs(args.runs_dir)
    except ValueError as exc:
        parser.error(str(exc))
    if frame.empty:
        print(f"no {METRICS_FILE} found under {args.runs_dir}", file=sys.stderr)
        return 1
    paths = write_leaderboard(frame, args.out or args.runs_dir, title=args.title, runs_root=args.runs_dir)
    print(markdown(frame[[c for c in BASE_COLUMNS if c in frame.columns]]), end="")
    print(f"wrote {', '.join(str(p) for p in paths.values())}")
    return 0
