"""Collect evaluation runs: one row per ``metrics.json`` under a folder, ranked by ``snr_db``; the model x
(set, degradation) results table; and what the dashboard shows of each run (:func:`run_details`: its per-page
and per-lead SNR, configuration, overrides, commit, date and best / worst page overlays).

A run is a single Hydra run or a multirun sweep job, labelled by the Hydra overrides found in
``.hydra/overrides.yaml`` next to its ``metrics.json`` or in a parent folder (up to the root), else by its
relative path.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from ecgdl.constants import LEADS

__all__ = ["RunDetails", "collect_runs", "results_table", "run_details"]

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
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the C loader when PyYAML has it


def _nearest_hydra_file(metrics_dir: Path, root: Path, name: str) -> Path | None:
    """The nearest ``.hydra/<name>`` from ``metrics_dir`` up to ``root`` (None when there is none)."""
    here = metrics_dir
    while True:
        candidate = here / ".hydra" / name
        if candidate.is_file():
            return candidate
        if here == root or root not in here.parents:
            return None
        here = here.parent


def _read_overrides(metrics_dir: Path, root: Path) -> list[str] | None:
    """Overrides of the nearest ``.hydra/overrides.yaml`` from ``metrics_dir`` up to ``root``."""
    candidate = _nearest_hydra_file(metrics_dir, root, "overrides.yaml")
    if candidate is None:
        return None
    try:
        data = yaml.load(candidate.read_text(), Loader=_YAML_LOADER)
    except yaml.YAMLError as exc:
        warnings.warn(f"{candidate}: unreadable overrides ({exc})", stacklevel=3)
        return None
    return [str(item) for item in data] if isinstance(data, list) else []


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


@dataclass
class RunDetails:
    """What the dashboard shows of one run beyond its ``metrics.json`` figures."""

    overrides: list[str] = field(default_factory=list)
    config: dict[str, str] = field(default_factory=dict)  # dotted key -> value as YAML / JSON text
    commit: str | None = None
    date: str | None = None  # of the metrics.json (local time) unless metrics.json names one
    page_ids: list[str] = field(default_factory=list)
    page_db: list[float] = field(default_factory=list)  # per-page SNR (dB), as per_image.csv gives it
    lead_db: list[float] = field(default_factory=list)  # mean over pages of each lead's SNR, in LEADS order
    overlays: list[tuple[str, str, float, Path]] = field(default_factory=list)  # (best|worst, page, dB, png)


def _flatten(node: Any, prefix: str = "") -> dict[str, str]:
    """``{"a.b.c": value text}`` of a nested config; lists stay one value (JSON text)."""
    if isinstance(node, dict):
        if not node and prefix:
            return {prefix: "{}"}
        out: dict[str, str] = {}
        for key, value in node.items():
            out.update(_flatten(value, f"{prefix}.{key}" if prefix else str(key)))
        return out
    return {prefix: node if isinstance(node, str) else json.dumps(node, default=str)}


def _read_config(run_dir: Path, root: Path) -> dict[str, str]:
    candidate = _nearest_hydra_file(run_dir, root, "config.yaml")
    if candidate is None:
        return {}
    try:
        data = yaml.load(candidate.read_text(), Loader=_YAML_LOADER)
    except yaml.YAMLError as exc:
        warnings.warn(f"{candidate}: unreadable config ({exc})", stacklevel=3)
        return {}
    return _flatten(data) if isinstance(data, dict) else {}


def _read_pages(run_dir: Path) -> tuple[list[str], list[float]]:
    path = run_dir / "per_image.csv"
    if not path.is_file():
        return [], []
    try:
        frame = pd.read_csv(path, usecols=lambda c: c in ("image_id", "snr_db"), dtype={"image_id": str})
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        warnings.warn(f"{path}: skipped ({exc})", stacklevel=3)
        return [], []
    if "image_id" not in frame or "snr_db" not in frame:
        return [], []
    db = pd.to_numeric(frame["snr_db"], errors="coerce")
    return frame["image_id"].astype(str).tolist(), db.astype(float).tolist()


def _read_leads(run_dir: Path) -> list[float]:
    path = run_dir / "per_lead.csv"
    if not path.is_file():
        return []
    try:
        frame = pd.read_csv(path, index_col=0)
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        warnings.warn(f"{path}: skipped ({exc})", stacklevel=3)
        return []
    out = []
    for lead in LEADS:
        values = (
            pd.to_numeric(frame[lead], errors="coerce").to_numpy(float) if lead in frame else np.array([])
        )
        values = values[np.isfinite(values)]
        out.append(float(values.mean()) if values.size else float("nan"))
    return out


def _pick_overlays(run_dir: Path, db_by_page: dict[str, float], k: int) -> list[tuple[str, str, float, Path]]:
    """The ``k`` best and ``k`` worst page overlays that evaluate.py wrote (``overlays/<tag>-<page>-overlay.png``)."""
    found: dict[str, list[tuple[str, str, float, Path]]] = {"best": [], "worst": []}
    folder = run_dir / "overlays"
    if k <= 0 or not folder.is_dir():
        return []
    for path in folder.glob("*-overlay.png"):
        tag, _, rest = path.name.partition("-")
        if tag not in found:
            continue
        page = rest[: -len("-overlay.png")]
        found[tag].append((tag, page, db_by_page.get(page, float("nan")), path))
    key = lambda item: (item[2] if math.isfinite(item[2]) else -math.inf, item[1])  # noqa: E731
    best = sorted(found["best"], key=key, reverse=True)[:k]
    worst = sorted(found["worst"], key=key)[:k]
    return worst + best


def run_details(root: str | Path, rel_path: str, *, overlays_per_tag: int = 3) -> RunDetails:
    """Details of the run whose ``metrics.json`` lies in ``root/rel_path`` (as :func:`collect_runs` lists it)."""
    base = Path(root).resolve()
    run_dir = base / rel_path
    details = RunDetails(overrides=_read_overrides(run_dir, base) or [], config=_read_config(run_dir, base))
    metrics_path = run_dir / METRICS_FILE
    try:
        metrics = json.loads(metrics_path.read_text())
    except (OSError, json.JSONDecodeError):
        metrics = {}
    metrics = metrics if isinstance(metrics, dict) else {}
    commit = metrics.get("commit") or metrics.get("git_commit")
    details.commit = str(commit) if commit else None
    date = metrics.get("date")
    if not date and metrics_path.is_file():
        date = dt.datetime.fromtimestamp(metrics_path.stat().st_mtime).strftime("%Y-%m-%d %H:%M")
    details.date = str(date) if date else None
    details.page_ids, details.page_db = _read_pages(run_dir)
    details.lead_db = _read_leads(run_dir)
    db_by_page = dict(zip(details.page_ids, details.page_db, strict=True))
    details.overlays = _pick_overlays(run_dir, db_by_page, overlays_per_tag)
    return details
