"""Leaderboard of evaluation runs: collect every ``metrics.json`` under a folder and rank by ``snr_db``.

Runs are single Hydra runs or multirun sweep jobs; a run is labelled by the Hydra overrides found in
``.hydra/overrides.yaml`` next to its ``metrics.json`` or in a parent folder (up to the root), else by its
relative path. Writes ``leaderboard.csv``, ``leaderboard.md`` and a self-contained ``leaderboard.html``
(click-to-sort table, pure-CSS bars of per-image-type SNR when ``metrics.json`` has ``per_type``), and, when runs
name their model and evaluation set, ``results.md`` / ``results.csv``: the model x (set, degradation) table of
SNR in dB (:func:`results_table`; the best run per cell).

Usage: ``python -m ecgdl.leaderboard outputs/ --out reports/``
"""

from __future__ import annotations

import argparse
import html
import json
import math
import numbers
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

__all__ = ["collect_runs", "main", "results_table", "write_leaderboard"]

METRICS_FILE = "metrics.json"
BASE_COLUMNS = [
    "rank",
    "run",
    "snr_db",
    "rmse_mv",
    "n_images",
    "n_failed",
    "model",
    "aug",
    "eval_set",
    "path",
]
TYPE_PREFIX = "per_type/"


def _read_overrides(metrics_dir: Path, root: Path) -> list[str] | None:
    """Overrides of the nearest ``.hydra/overrides.yaml`` from ``metrics_dir`` up to ``root``."""
    here = metrics_dir
    while True:
        candidate = here / ".hydra" / "overrides.yaml"
        if candidate.is_file():
            try:
                data = yaml.safe_load(candidate.read_text())
            except yaml.YAMLError as exc:
                warnings.warn(f"{candidate}: unreadable overrides ({exc})", stacklevel=3)
                return None
            return [str(item) for item in data] if isinstance(data, list) else []
        if here == root or root not in here.parents:
            return None
        here = here.parent


def _number(value: Any) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return float("nan")
    return out


def _override_value(overrides: list[str], key: str) -> str | None:
    for item in overrides:
        name, sep, value = item.lstrip("+~").partition("=")
        if sep and name == key:
            return value
    return None


def collect_runs(root: str | Path) -> pd.DataFrame:
    """One row per ``metrics.json`` under ``root``, ranked by ``snr_db`` (descending, runs without it last).

    Columns: rank, run (label), snr_db, rmse_mv, n_images, n_failed, model, aug, path (folder relative to
    ``root``), then ``per_type/<type>`` (dB) for every image type seen.
    """
    base = Path(root).resolve()
    if not base.is_dir():
        raise ValueError(f"runs folder {root} does not exist or is not a folder")
    rows = []
    for metrics_path in sorted(base.rglob(METRICS_FILE)):
        try:
            metrics = json.loads(metrics_path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            warnings.warn(f"{metrics_path}: skipped, not readable JSON ({exc})", stacklevel=2)
            continue
        if not isinstance(metrics, dict):
            warnings.warn(f"{metrics_path}: skipped, expected a JSON object", stacklevel=2)
            continue
        run_dir = metrics_path.parent
        rel = run_dir.relative_to(base).as_posix() or "."
        overrides = _read_overrides(run_dir, base)
        label = " ".join(overrides) if overrides else rel
        row: dict[str, Any] = {
            "run": label,
            "snr_db": _number(metrics.get("snr_db")),
            "rmse_mv": _number(metrics.get("rmse_mv")),
            "n_images": _number(metrics.get("n_images")),
            "n_failed": _number(metrics.get("n_failed")),
            "model": metrics.get("model") or _override_value(overrides or [], "model"),
            "aug": metrics.get("aug") or _override_value(overrides or [], "aug"),
            "eval_set": metrics.get("eval_set"),
            "path": rel,
        }
        per_type = metrics.get("per_type")
        if isinstance(per_type, dict):
            for name, value in per_type.items():
                row[f"{TYPE_PREFIX}{name}"] = _number(value)
        rows.append(row)
    frame = pd.DataFrame(rows)
    type_cols = sorted(c for c in frame.columns if c.startswith(TYPE_PREFIX))
    if frame.empty:
        return pd.DataFrame(columns=BASE_COLUMNS)
    frame = frame.sort_values(["snr_db", "run"], ascending=[False, True], na_position="last", kind="stable")
    frame = frame.reset_index(drop=True)
    frame.insert(0, "rank", range(1, len(frame) + 1))
    return frame[BASE_COLUMNS + type_cols]


def results_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Model x ``<eval_set> <image type>`` table of SNR (dB) from a :func:`collect_runs` frame.

    Each run contributes its ``per_type/<type>`` values (its ``snr_db`` under ``all`` when it has none) to its
    model's row; a cell several runs fill keeps the best. Rows are ordered by their mean over the filled cells
    (best first), columns by set, then type. Runs without a model or eval_set are left out.
    """
    if frame.empty or "model" not in frame or "eval_set" not in frame:
        return pd.DataFrame()
    type_cols = [c for c in frame.columns if c.startswith(TYPE_PREFIX)]
    cells: dict[tuple[str, str], float] = {}
    for _, run in frame.iterrows():
        model, eval_set = run.get("model"), run.get("eval_set")
        if not isinstance(model, str) or not isinstance(eval_set, str):
            continue
        values = {c[len(TYPE_PREFIX) :]: run[c] for c in type_cols if math.isfinite(_number(run[c]))}
        if not values and math.isfinite(_number(run["snr_db"])):
            values = {"all": run["snr_db"]}
        for image_type, value in values.items():
            key = (model, f"{eval_set} {image_type}")
            cells[key] = max(cells.get(key, -math.inf), float(value))
    if not cells:
        return pd.DataFrame()
    table = pd.Series(cells).unstack()
    table = table[sorted(table.columns)]
    order = table.mean(axis=1, skipna=True).sort_values(ascending=False).index
    return table.loc[order].rename_axis("model").rename_axis(None, axis=1)


def _fmt(value: Any, digits: int = 2) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        if value.is_integer() and digits == 0:
            return str(int(value))
        return f"{value:.{digits}f}"
    return str(value)


_DIGITS = {"rank": 0, "n_images": 0, "n_failed": 0, "rmse_mv": 4}


def _markdown(frame: pd.DataFrame) -> str:
    cols = list(frame.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join(" --- " for _ in cols) + "|"]
    for _, row in frame.iterrows():
        cells = [_fmt(row[c], _DIGITS.get(c, 2)).replace("|", "\\|") for c in cols]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


_HTML_STYLE = """
body{font-family:system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;font-size:14px;margin-bottom:2em}
th,td{border:1px solid #ccc;padding:4px 8px;text-align:left}
th{background:#f0f0f0;cursor:pointer;user-select:none}
th.asc::after{content:" \\25B2"}th.desc::after{content:" \\25BC"}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.cell{position:relative;min-width:90px}
.bar{position:absolute;left:0;top:2px;bottom:2px;background:#7fb3e6;opacity:.55}
.cell span{position:relative}
"""

_HTML_SCRIPT = """
document.querySelectorAll('table.sortable').forEach(function(table){
  table.querySelectorAll('th').forEach(function(th, col){
    th.addEventListener('click', function(){
      var desc = !th.classList.contains('desc');
      table.querySelectorAll('th').forEach(function(h){h.classList.remove('asc','desc');});
      th.classList.add(desc ? 'desc' : 'asc');
      var body = table.tBodies[0];
      var rows = Array.prototype.slice.call(body.rows);
      rows.sort(function(a, b){
        var x = a.cells[col].getAttribute('data-v'), y = b.cells[col].getAttribute('data-v');
        var nx = parseFloat(x), ny = parseFloat(y);
        var ex = x === '' || isNaN(nx), ey = y === '' || isNaN(ny);
        if (ex && ey) { return String(x).localeCompare(String(y)) * (desc ? -1 : 1); }
        if (ex) { return 1; } if (ey) { return -1; }
        return desc ? ny - nx : nx - ny;
      });
      rows.forEach(function(r){body.appendChild(r);});
    });
  });
});
"""


def _bar_cell(value: Any, lo: float, hi: float, digits: int) -> str:
    text = html.escape(_fmt(value, digits))
    data = "" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)
    if data == "" or not isinstance(value, numbers.Real) or hi <= lo:
        return f'<td class="num" data-v="{html.escape(data)}">{text}</td>'
    width = max(0.0, min(100.0, 100.0 * (float(value) - lo) / (hi - lo)))
    return (
        f'<td class="num cell" data-v="{html.escape(data)}"><div class="bar" style="width:{width:.1f}%"></div>'
        f"<span>{text}</span></td>"
    )


def _html_table(frame: pd.DataFrame, bar_cols: Sequence[str], caption: str) -> str:
    """A sortable table; ``bar_cols`` get CSS bars on one common scale (from min(0, lowest) to the highest)."""
    cols = list(frame.columns)
    ranges = {}
    values = (
        pd.concat([pd.to_numeric(frame[c], errors="coerce") for c in bar_cols]).dropna() if bar_cols else []
    )
    if len(values):
        lo = min(0.0, float(values.min()))
        ranges = dict.fromkeys(bar_cols, (lo, max(float(values.max()), lo + 1e-9)))
    head = "".join(f"<th>{html.escape(c)}</th>" for c in cols)
    body = []
    for _, row in frame.iterrows():
        cells = []
        for c in cols:
            value = row[c]
            digits = _DIGITS.get(c, 2)
            if c in ranges:
                cells.append(_bar_cell(value, *ranges[c], digits))
            else:
                is_num = isinstance(value, numbers.Real) and not isinstance(value, bool)
                data = "" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)
                cls = ' class="num"' if is_num else ""
                cells.append(f'<td{cls} data-v="{html.escape(data)}">{html.escape(_fmt(value, digits))}</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (
        f'<table class="sortable"><caption>{html.escape(caption)}</caption><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table>"
    )


def _html(frame: pd.DataFrame, title: str) -> str:
    type_cols = [c for c in frame.columns if c.startswith(TYPE_PREFIX)]
    main_cols = [c for c in frame.columns if c not in type_cols]
    parts = [_html_table(frame[main_cols], ["snr_db"], "Runs ranked by SNR (dB); click a header to sort")]
    if type_cols:
        per_type = frame[["rank", "run", *type_cols]].rename(
            columns={c: c[len(TYPE_PREFIX) :] for c in type_cols}
        )
        bars = [c[len(TYPE_PREFIX) :] for c in type_cols]
        parts.append(_html_table(per_type, bars, "SNR (dB) per image type"))
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{_HTML_STYLE}</style></head><body>"
        f"<h1>{html.escape(title)}</h1>{''.join(parts)}<script>{_HTML_SCRIPT}</script></body></html>\n"
    )


def write_leaderboard(frame: pd.DataFrame, out_dir: str | Path, *, title: str = "ecgdl leaderboard") -> dict:
    """Write ``leaderboard.csv``, ``leaderboard.md`` and ``leaderboard.html`` into ``out_dir``; returns paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"csv": out / "leaderboard.csv", "md": out / "leaderboard.md", "html": out / "leaderboard.html"}
    frame.to_csv(paths["csv"], index=False)
    paths["md"].write_text(f"# {title}\n\n" + _markdown(frame))
    paths["html"].write_text(_html(frame, title))
    table = results_table(frame)
    if not table.empty:
        paths["results_csv"] = out / "results.csv"
        paths["results_md"] = out / "results.md"
        table.to_csv(paths["results_csv"])
        paths["results_md"].write_text(
            f"# {title}: SNR (dB) by model and evaluation set / degradation\n\n"
            + _markdown(table.reset_index())
        )
    return paths


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ecgdl.leaderboard",
        description="Rank every metrics.json under a runs folder by snr_db and write csv/md/html leaderboards.",
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
    paths = write_leaderboard(frame, args.out or args.runs_dir, title=args.title)
    print(_markdown(frame[[c for c in BASE_COLUMNS if c in frame.columns]]), end="")
    print(f"wrote {', '.join(str(p) for p in paths.values())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
