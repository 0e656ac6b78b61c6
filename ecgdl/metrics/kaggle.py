"""Kaggle I/O around the SNR metric: the submission writer and a local scorer for a train-layout folder.

Submission (``write_submission``): one row per (test.csv row, sample), ``id = <image id>_<row>_<lead>`` with
the row restarting at 0 for every lead and the row count taken from ``number_of_rows`` (never from 2.5 * fs).
Which ``number_of_rows`` rows of a (T, 12) prediction are written for a lead:

* the whole column when ``T == number_of_rows``;
* a NaN-outside-window column (Kaggle train-CSV style): ``number_of_rows`` rows starting at its first finite row;
* a full-length finite column: ``number_of_rows`` rows starting at the lead's column of the standard 3x4 page
  (``int(start_s * fs)``, ``start_s`` = 0, 2.5, 5 or 7.5 s; override with ``lead_start_s``).

Both ends are clipped to the record. Missing values inside the chosen rows are filled by linear interpolation
from the column's finite values (edges held) with ``nan_policy="interp"`` (default) or raise with ``"error"``.

Local scorer (``score_folder``): truth ``<root>/train/<id>/<id>.csv`` with fs from ``<root>/train.csv``;
predictions ``<predictions_dir>/<image stem>.csv`` (12 lead columns, 10 * fs rows, NaN where not printed). A
full-length prediction is compared *only where the truth is defined* (for a short lead, its 2.5 s window),
which is exactly what the Kaggle solution file contains. Missing or unreadable predictions are failures: they
are listed, counted in ``n_failed``, and by default scored as an all-zero prediction (``failed_as="zeros"``,
what a fallback submission would get); ``failed_as="skip"`` leaves them out of the score.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from ecgdl.constants import KAGGLE_IMAGE_TYPES, LEAD_INDEX, LEADS, N_LEADS
from ecgdl.metrics.snr import SnrResult, snr_kaggle
from ecgdl.signals.record import EcgRecord

__all__ = [
    "LEAD_START_3X4_S",
    "FolderScore",
    "per_type_db",
    "read_lead_csv",
    "score_folder",
    "submission_rows",
    "write_submission",
]

#: Start time (s) of each lead's 2.5 s window on the standard 3x4 page (lead II's rhythm strip starts at 0).
LEAD_START_3X4_S: dict[str, float] = {
    "I": 0.0,
    "II": 0.0,
    "III": 0.0,
    "aVR": 2.5,
    "aVL": 2.5,
    "aVF": 2.5,
    "V1": 5.0,
    "V2": 5.0,
    "V3": 5.0,
    "V4": 7.5,
    "V5": 7.5,
    "V6": 7.5,
}
_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")
NanPolicy = Literal["interp", "error"]


def _fill_nonfinite(values: np.ndarray, positions: np.ndarray, column: np.ndarray, what: str, policy: str):
    """Replace non-finite ``values`` (taken at ``positions`` of ``column``) by interpolation over the column."""
    bad = ~np.isfinite(values)
    if not bad.any():
        return values, 0
    if policy == "error":
        raise ValueError(f"{what}: {int(bad.sum())} NaN/inf value(s) in the rows to submit")
    if policy != "interp":
        raise ValueError(f"nan_policy must be 'interp' or 'error', got {policy!r}")
    finite = np.flatnonzero(np.isfinite(column))
    if finite.size == 0:
        raise ValueError(f"{what}: the prediction has no finite value at all")
    out = values.copy()
    out[bad] = np.interp(positions[bad], finite, column[finite])
    return out, int(bad.sum())


def submission_rows(
    signal_mv: np.ndarray,
    lead: str,
    n_rows: int,
    fs_hz: float,
    *,
    lead_start_s: Mapping[str, float] | None = None,
    nan_policy: NanPolicy = "interp",
    what: str = "prediction",
) -> tuple[np.ndarray, int]:
    """The ``n_rows`` values of ``lead`` to submit from a (T, 12) prediction, and how many were filled."""
    if lead not in LEAD_INDEX:
        raise ValueError(f"{what}: unknown lead {lead!r}; expected one of {list(LEADS)}")
    if n_rows <= 0:
        raise ValueError(f"{what}, lead {lead}: number_of_rows must be positive, got {n_rows}")
    x = np.asarray(signal_mv, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != N_LEADS:
        raise ValueError(f"{what}: prediction must have shape (T, {N_LEADS}), got {x.shape}")
    column = x[:, LEAD_INDEX[lead]]
    total = column.shape[0]
    finite = np.isfinite(column)
    if total <= n_rows:
        start = 0
    elif not finite.all() and finite.any():
        start = int(np.flatnonzero(finite)[0])
    else:
        starts = LEAD_START_3X4_S if lead_start_s is None else lead_start_s
        start = int(float(starts.get(lead, 0.0)) * float(fs_hz))
    start = max(0, min(start, total - n_rows)) if total >= n_rows else 0
    positions = np.arange(start, start + n_rows)
    values = np.full(n_rows, np.nan)
    inside = positions < total
    values[inside] = column[positions[inside]]
    return _fill_nonfinite(values, positions.astype(np.float64), column, f"{what}, lead {lead}", nan_policy)


def write_submission(
    predictions: Mapping[str, EcgRecord | np.ndarray],
    test_csv_path: str | Path,
    out_path: str | Path,
    *,
    missing: Literal["error", "zeros"] = "error",
    nan_policy: NanPolicy = "interp",
    lead_start_s: Mapping[str, float] | None = None,
    float_format: str = "%.6g",
) -> pd.DataFrame:
    """Write the Kaggle ``id,value`` submission for every (id, lead) row of ``test.csv``.

    Args:
        predictions: ``{image id: EcgRecord or (T, 12) array}`` (keys compared as strings).
        test_csv_path: Kaggle ``test.csv`` with columns id, lead, fs, number_of_rows.
        out_path: the CSV to write (parent folders are created).
        missing: an image absent from ``predictions`` raises (``"error"``) or is submitted as zeros.
        nan_policy: see the module docstring.
        lead_start_s: window start per lead for full-length predictions (default: standard 3x4 columns).
        float_format: value format.

    Returns:
        A per-(id, lead) summary: rows written and values filled.
    """
    test = pd.read_csv(test_csv_path, dtype={"id": str})
    required = {"id", "lead", "fs", "number_of_rows"}
    if not required.issubset(test.columns):
        raise ValueError(
            f"{test_csv_path}: test.csv needs columns {sorted(required)}, got {list(test.columns)}"
        )
    preds = {str(k): v for k, v in predictions.items()}
    absent = sorted(set(test["id"]) - set(preds))
    if absent and missing == "error":
        raise ValueError(f"no prediction for {len(absent)} test image(s): {absent[:10]}")
    if missing not in ("error", "zeros"):
        raise ValueError(f"missing must be 'error' or 'zeros', got {missing!r}")

    ids: list[str] = []
    chunks: list[np.ndarray] = []
    summary = []
    for row in test.itertuples(index=False):
        image_id, lead = str(row.id), str(row.lead)
        n_rows = int(row.number_of_rows)
        if n_rows <= 0 or n_rows != row.number_of_rows:
            raise ValueError(
                f"test.csv: image {image_id} lead {lead}: bad number_of_rows {row.number_of_rows!r}"
            )
        if image_id in preds:
            item = preds[image_id]
            signal = item.signal_mv if isinstance(item, EcgRecord) else np.asarray(item, dtype=np.float64)
            values, n_filled = submission_rows(
                signal,
                lead,
                n_rows,
                float(row.fs),
                lead_start_s=lead_start_s,
                nan_policy=nan_policy,
                what=f"image {image_id}",
            )
        else:
            if lead not in LEAD_INDEX:
                raise ValueError(f"test.csv: image {image_id}: unknown lead {lead!r}")
            values, n_filled = np.zeros(n_rows), n_rows
        ids.extend(f"{image_id}_{k}_{lead}" for k in range(n_rows))
        chunks.append(values)
        summary.append(
            {
                "id": image_id,
                "lead": lead,
                "rows": n_rows,
                "filled": n_filled,
                "missing": image_id not in preds,
            }
        )
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    values_all = np.concatenate(chunks) if chunks else np.zeros(0)
    pd.DataFrame({"id": ids, "value": values_all}).to_csv(out, index=False, float_format=float_format)
    report = pd.DataFrame(summary, columns=["id", "lead", "rows", "filled", "missing"])
    n_filled = int(report.loc[~report["missing"], "filled"].sum())
    if n_filled:
        warnings.warn(f"write_submission: interpolated {n_filled} non-finite value(s)", stacklevel=2)
    if absent:
        warnings.warn(
            f"write_submission: {len(absent)} image(s) submitted as zeros: {absent[:5]}", stacklevel=2
        )
    return report


def read_lead_csv(path: str | Path) -> np.ndarray:
    """Read a CSV with the 12 lead columns (any extra columns ignored) as a (T, 12) float array in LEADS order."""
    frame = pd.read_csv(path)
    absent = [lead for lead in LEADS if lead not in frame.columns]
    if absent:
        raise ValueError(f"{path}: missing lead column(s) {absent}")
    return frame[list(LEADS)].to_numpy(dtype=np.float64)


def per_type_db(frame: pd.DataFrame, type_column: str) -> dict[str, float]:
    """``{type: 10*log10(mean ratio)}`` over the rows of each image type (the dataset score, per type)."""
    out = {}
    for name, group in frame.groupby(type_column, sort=True):
        mean = float(group["ratio"].mean())
        out[str(name)] = 10.0 * math.log10(mean) if mean > 0 else float("-inf")
    return out


@dataclass
class FolderScore:
    """Outcome of :func:`score_folder`.

    ``per_image`` has one row per expected image: image (stem), record_id, image_type (suffix), type_name,
    fs_hz, status (``ok``, ``missing`` or ``error: ...``), n_filled, ratio, snr_db, worst_lead.
    """

    result: SnrResult | None
    per_image: pd.DataFrame
    failed: list[str] = field(default_factory=list)

    @property
    def snr_db(self) -> float:
        return float(self.result.snr_db) if self.result is not None else float("nan")

    @property
    def n_images(self) -> int:
        return len(self.per_image)

    @property
    def n_failed(self) -> int:
        return len(self.failed)

    def per_type(self) -> dict[str, float]:
        """``{type name: 10*log10(mean ratio)}`` over the scored images of each image type."""
        return per_type_db(self.per_image.dropna(subset=["ratio"]), "type_name")

    def to_metrics(self) -> dict[str, Any]:
        """A ``metrics.json``-style dict (the keys :mod:`ecgdl.leaderboard` reads)."""
        return {
            "snr_db": self.snr_db,
            "rmse_mv": self.result.aligned_rmse_mv if self.result is not None else float("nan"),
            "n_images": self.n_images,
            "n_failed": self.n_failed,
            "per_type": self.per_type(),
        }


def _expected_images(truth_root: Path, record_ids: list[str], pred_files: dict[str, Path], types) -> list:
    """(stem, record id) pairs to score: images under train/<id>/, plus prediction files of known ids."""
    pairs = []
    for rid in record_ids:
        stems = set()
        folder = truth_root / "train" / rid
        if folder.is_dir():
            stems.update(
                p.stem
                for p in folder.iterdir()
                if p.suffix.lower() in _IMAGE_SUFFIXES and p.stem.startswith(f"{rid}-")
            )
        stems.update(s for s in pred_files if s == rid or s.startswith(f"{rid}-"))
        if types is not None:
            stems = {s for s in stems if s.rpartition("-")[2] in types}
        if not stems and types is None:
            stems = {rid}
        pairs.extend((stem, rid) for stem in sorted(stems))
    return pairs


def score_folder(
    truth_root: str | Path,
    predictions_dir: str | Path,
    *,
    failed_as: Literal["zeros", "skip"] = "zeros",
    nan_policy: NanPolicy = "interp",
    image_types: list[str] | None = None,
) -> FolderScore:
    """Score ``<predictions_dir>/<image stem>.csv`` files against a Kaggle train-layout folder.

    Args:
        truth_root: folder with ``train.csv`` (id, fs, sig_len) and ``train/<id>/<id>.csv``.
        predictions_dir: one CSV per image stem (e.g. ``841-0001.csv``), 12 lead columns, truth-length rows.
        failed_as: score failed images as all-zero predictions (``"zeros"``) or leave them out (``"skip"``).
        nan_policy: a prediction NaN where the truth is defined is interpolated (``"interp"``) or makes the
            image a failure (``"error"``).
        image_types: restrict to these 4-digit suffixes (e.g. ``["0001"]``).
    """
    root = Path(truth_root)
    pred_dir = Path(predictions_dir)
    meta_path = root / "train.csv"
    if not meta_path.is_file():
        raise ValueError(f"{meta_path} not found (expected a Kaggle train-layout folder)")
    if failed_as not in ("zeros", "skip"):
        raise ValueError(f"failed_as must be 'zeros' or 'skip', got {failed_as!r}")
    meta = pd.read_csv(meta_path, dtype={"id": str})
    if not {"id", "fs"}.issubset(meta.columns):
        raise ValueError(f"{meta_path}: needs columns id and fs, got {list(meta.columns)}")
    fs_by_id = dict(zip(meta["id"], meta["fs"].astype(float), strict=True))
    pred_files = {p.stem: p for p in pred_dir.glob("*.csv")} if pred_dir.is_dir() else {}
    types = set(image_types) if image_types is not None else None

    truths: dict[str, np.ndarray] = {}
    rows, t_list, p_list, fs_list, stems = [], [], [], [], []
    for stem, rid in _expected_images(root, list(fs_by_id), pred_files, types):
        if rid not in truths:
            truths[rid] = read_lead_csv(root / "train" / rid / f"{rid}.csv")
        truth = truths[rid]
        suffix = stem.rpartition("-")[2] if "-" in stem else ""
        info = {
            "image": stem,
            "record_id": rid,
            "image_type": suffix,
            "type_name": KAGGLE_IMAGE_TYPES.get(suffix, suffix or "unknown"),
            "fs_hz": fs_by_id[rid],
            "status": "ok",
            "n_filled": 0,
        }
        pred = None
        if stem not in pred_files:
            info["status"] = "missing"
        else:
            try:
                pred = read_lead_csv(pred_files[stem])
                if pred.shape != truth.shape:
                    raise ValueError(f"{pred.shape[0]} rows, truth has {truth.shape[0]}")
                bad = ~np.isnan(truth) & ~np.isfinite(pred)
                if bad.any():
                    if nan_policy == "error":
                        raise ValueError(f"{int(bad.sum())} NaN/inf where the truth is defined")
                    pred = pred.copy()
                    for col in np.flatnonzero(bad.any(axis=0)):
                        filled, _ = _fill_nonfinite(
                            pred[:, col],
                            np.arange(pred.shape[0], dtype=np.float64),
                            pred[:, col],
                            stem,
                            "interp",
                        )
                        pred[:, col] = filled
                    info["n_filled"] = int(bad.sum())
            except (ValueError, OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
                info["status"] = f"error: {exc}"
                pred = None
        if pred is None and failed_as == "zeros":
            pred = np.zeros_like(truth)
        if pred is not None:
            t_list.append(truth)
            p_list.append(pred)
            fs_list.append(fs_by_id[rid])
            stems.append(stem)
        rows.append(info)

    per_image = pd.DataFrame(
        rows, columns=["image", "record_id", "image_type", "type_name", "fs_hz", "status", "n_filled"]
    )
    failed = [r["image"] for r in rows if r["status"] != "ok"]
    result = snr_kaggle(t_list, p_list, fs_list, image_ids=stems) if t_list else None
    if result is not None:
        scored = result.per_image().set_index("image_id")[["ratio", "snr_db", "worst_lead"]]
        per_image = per_image.join(scored, on="image")
    else:
        per_image = per_image.assign(ratio=np.nan, snr_db=np.nan, worst_lead=None)
    if failed:
        warnings.warn(f"score_folder: {len(failed)} image(s) failed: {failed[:5]}", stacklevel=2)
    return FolderScore(result=result, per_image=per_image, failed=failed)
