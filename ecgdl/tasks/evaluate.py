"""Evaluation task: score a digitizer (or a folder of predictions) with the Kaggle SNR and friends.

``python evaluate.py model=<name> data=kaggle data.root=<Kaggle train-layout root>`` or
``python evaluate.py model=<name> data=synth data.aug=photo`` runs the model over every image; and
``python evaluate.py data.root=<truth root> predictions_dir=<dir> output_dir=<dir>`` scores CSVs that predict.py
wrote, without a model. Writes ``metrics.json`` (snr_db, rmse_mv, n_images, n_failed, per_type, ...),
``per_image.csv``, ``per_lead.csv``, ``per_type.csv`` and overlays of the worst and best images.
Failed images count as all-zero predictions in ``snr_db`` (what a fallback submission would score); the score
over the images that did not fail is ``snr_db_ok``.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import cv2
import hydra
import numpy as np
import pandas as pd
from omegaconf import DictConfig
from tqdm.auto import tqdm

from ecgdl.constants import LEADS
from ecgdl.metrics.kaggle import per_type_db, score_folder
from ecgdl.metrics.signal import dtw_distance, pearson_r, rpeak_metrics
from ecgdl.metrics.snr import fill_undefined, snr_kaggle
from ecgdl.signals.record import EcgRecord
from ecgdl.tasks.batch import shard_suffix, time_limit, write_table_atomic
from ecgdl.tasks.common import (
    hydra_choice,
    log,
    provenance,
    report_failures,
    resolve_output_dir,
    write_metrics,
)
from ecgdl.tasks.predict import build_digitizer, self_checked


def _extra_metrics(truth: np.ndarray, pred: np.ndarray, fs: float) -> dict[str, float]:
    """Lead-II figures beside the SNR: Pearson r, DTW (0.1 s band), R-peak F1 / timing / heart-rate error."""
    k = LEADS.index("II")
    rows = np.isfinite(truth[:, k])
    t, p = truth[rows, k], pred[rows, k]
    out = {"pearson_ii": float(pearson_r(t, p)) if t.std() > 0 and p.std() > 0 else float("nan")}
    step = max(1, round(fs / 100))  # DTW on a 100 Hz copy keeps it fast; the band is 0.1 s
    out["dtw_ii"] = float(dtw_distance(t[::step], p[::step], window=10))
    rp = rpeak_metrics(t, p, fs)
    out.update(rpeak_f1=rp.f1, rpeak_error_ms=rp.timing_error_ms, hr_error_bpm=rp.hr_error_bpm)
    return out


def _save_overlays(
    items_by_id, preds, frame: pd.DataFrame, lead_db: pd.DataFrame, out_dir: Path, k: int
) -> None:
    from ecgdl.models.selfcheck import turn_image
    from ecgdl.viz.overlay import overlay_prediction, plot_leads
    from ecgdl.viz.segments import segments_from_meta, segments_from_truth

    ranked = frame[frame["status"] == "ok"].sort_values("snr_db")
    chosen = [("worst", r) for r in ranked.head(k).itertuples()] + [
        ("best", r) for r in ranked.tail(k).itertuples()
    ]
    for tag, row in chosen:
        item = items_by_id[row.image_id]
        pred: EcgRecord = preds[row.image_id]
        per_lead = dict(zip(lead_db.columns, lead_db.loc[row.image_id], strict=True))
        stem = f"{tag}-{row.image_id}"
        plot_leads(
            item.truth,
            pred,
            per_lead,
            out_dir / f"{stem}-leads.png",
            title=f"{row.image_id}: {row.snr_db:.1f} dB",
        )
        segments = segments_from_meta(pred.meta)
        if not segments and "truth" in item.extra:
            segments = segments_from_truth(item.extra["truth"])
        image = item.image if item.image is not None or item.path is None else item.load()
        if image is not None:  # the segments are in the pixels of the page as it was read
            image = turn_image(image, int((pred.meta or {}).get("turned_deg", 0)))
        if segments and image is not None:
            page = overlay_prediction(image, pred, segments)
            cv2.imwrite(str(out_dir / f"{stem}-overlay.png"), cv2.cvtColor(page, cv2.COLOR_RGB2BGR))


def _score_predictions_dir(cfg: DictConfig, out_dir: Path) -> dict[str, Any]:
    score = score_folder(cfg.data.root, cfg.predictions_dir, image_types=cfg.data.get("image_types"))
    score.per_image.to_csv(out_dir / "per_image.csv", index=False)
    metrics = {
        **score.to_metrics(),
        "predictions_dir": str(cfg.predictions_dir),
        "data_root": str(cfg.data.root),
    }
    pd.Series(metrics["per_type"], name="snr_db").rename_axis("image_type").to_csv(out_dir / "per_type.csv")
    if score.result is not None:
        lead_db = pd.DataFrame(score.result.lead_db, index=list(score.result.image_ids), columns=list(LEADS))
        lead_db.rename_axis("image_id").to_csv(out_dir / "per_lead.csv")
    report_failures([(f, "missing or unreadable prediction") for f in score.failed], "predictions")
    write_metrics(out_dir / "metrics.json", metrics)
    log.info(
        "SNR %.2f dB over %d images (%d failed)", metrics["snr_db"], metrics["n_images"], metrics["n_failed"]
    )
    return metrics


def _render_columns(truth: Any) -> dict[str, Any]:
    """How a rendered page was drawn (from its RenderTruth), so per_image.csv can be broken down by condition;
    empty for images without one (Kaggle folders)."""
    if truth is None or not hasattr(truth, "speed_mm_per_s"):
        return {}
    return {
        "true_layout": truth.layout,
        "speed_mm_per_s": truth.speed_mm_per_s,
        "gain_mm_per_mv": truth.gain_mm_per_mv,
        "dpi": truth.dpi,
        "pulse": truth.meta.get("pulse"),
        "has_grid": truth.grid is not None or truth.meta.get("grid_before_aug") is not None,
        **_style_columns(truth.meta.get("style") or {}),
    }


def _style_columns(style: dict[str, Any]) -> dict[str, Any]:
    """The page style a renderer recorded (``truth.meta["style"]``), as categories for breakdowns."""
    if not style:
        return {}
    trace = style.get("trace_rgb") or [0, 0, 0]
    return {
        "grid_colour": style.get("grid_colour"),
        "grid_style": style.get("grid_style"),
        "font": style.get("font"),
        "separators": style.get("separators"),
        "leads_from_edge": float(style.get("left_mm", 10.0)) < 3.0,
        "trace": "black" if max(trace) < 60 else "coloured",
        "text_blocks": bool(style.get("header_lines") or style.get("footer_lines")),
        "pulse_width_s": style.get("pulse_width_s", 0.2),
    }


#: per_image.csv columns that say how a page was drawn or degraded (rendered pages only)
CONDITIONS = (
    "image_type",
    "true_layout",
    "speed_mm_per_s",
    "gain_mm_per_mv",
    "dpi",
    "pulse",
    "has_grid",
    "grid_colour",
    "grid_style",
    "font",
    "separators",
    "leads_from_edge",
    "trace",
    "text_blocks",
    "pulse_width_s",
)


def _n_low_confidence(frame: pd.DataFrame, confidence) -> int | None:
    """How many readings fell under the confidence threshold (None without a confidence model)."""
    if confidence is None or "confidence" not in frame:
        return None
    return int(frame["confidence"].lt(confidence.threshold).sum())


def per_condition_table(frame: pd.DataFrame) -> pd.DataFrame:
    """The dataset score (dB) of the pages of each value of each condition column (degradation preset, layout,
    speed, gain, dpi, pulse position, grid): columns condition, value, n_images, snr_db."""
    rows = []
    for col in CONDITIONS:
        if col not in frame or frame[col].isna().all():
            continue
        for value, db in per_type_db(frame.assign(_v=frame[col].astype(str)), "_v").items():
            rows.append(
                {
                    "condition": col,
                    "value": value,
                    "n_images": int((frame[col].astype(str) == value).sum()),
                    "snr_db": db,
                }
            )
    return pd.DataFrame(rows, columns=["condition", "value", "n_images", "snr_db"])


#: per_image.csv columns whose mean over the read pages is a dataset figure
EXTRA_COLUMNS = ("pearson_ii", "dtw_ii", "rpeak_f1", "rpeak_error_ms", "hr_error_bpm")


def dataset_metrics(frame: pd.DataFrame) -> dict[str, Any]:
    """The dataset figures of a per_image table (one run's, or shards' joined by :mod:`ecgdl.merge`): the Kaggle
    score ``10*log10(mean ratio)`` over every image (failed ones scored as all zeros) and over the read ones, the
    pooled aligned RMSE, counts, per image type, seconds per image and the lead-II extras' means."""
    ok = frame["status"] == "ok"
    mean_ratio = float(frame["ratio"].mean())
    n_scored = float(frame["n_scored"].sum())
    noise = float(frame["noise"].sum())
    out: dict[str, Any] = {
        "snr_db": 10 * math.log10(mean_ratio) if mean_ratio > 0 else float("-inf"),
        "snr_db_ok": 10 * math.log10(frame.loc[ok, "ratio"].mean()) if ok.any() else float("nan"),
        "rmse_mv": math.sqrt(noise / max(n_scored, 1.0)),
        "n_images": len(frame),
        "n_failed": int((~ok).sum()),
        "per_type": per_type_db(frame, "image_type"),
        "seconds_per_image": float(frame.loc[ok, "seconds"].mean()) if ok.any() else float("nan"),
    }
    for col in EXTRA_COLUMNS:
        if col in frame:
            out[col] = float(np.nanmean(frame.loc[ok, col])) if ok.any() else float("nan")
    return out


def eval_set_name(cfg: DictConfig) -> str:
    """A short name of the evaluated set for leaderboards: ``set_name`` when given, else the Kaggle folder's name,
    or synth/<render>."""
    if cfg.get("set_name"):
        return str(cfg.set_name)
    root = cfg.data.get("root")
    if root:
        return Path(str(root)).name
    return f"synth/{hydra_choice('render') or 'render'}"


def evaluate_items(
    digitizer,
    items,
    out_dir: Path,
    *,
    overlays: int = 3,
    keep_images: int = 64,
    extra_metrics: bool = True,
    page_timeout_s: float | None = None,
    suffix: str = "",
) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """Read every item (an :class:`~ecgdl.data.evalsets.EvalItem`: a page and its truth) with ``digitizer`` and
    score it; writes ``per_image``, ``per_lead``, ``per_lead_lag``, ``per_type`` and ``per_condition`` tables
    (``<name><suffix>.csv``) and, with ``overlays`` > 0, overlays of the ``overlays`` worst and best pages into
    ``out_dir``. Returns the dataset figures (:func:`dataset_metrics`, ``n_low_confidence``) and the failures
    (image id, message). A page that fails or takes over ``page_timeout_s`` scores as all zeros; the rest go on.
    """
    needs_truth = bool(getattr(digitizer, "needs_truth", False))
    truths, preds, rows, failures, items_by_id = {}, {}, [], [], {}
    for item in tqdm(items, desc="evaluate", unit="img"):
        t0 = time.perf_counter()
        row: dict[str, Any] = {"image_id": item.image_id, "image_type": item.image_type, "fs_hz": item.fs_hz}
        row.update(_render_columns(item.extra.get("truth")))
        try:
            image = item.load()
            kwargs = {"truth": item.truth} if needs_truth else {}
            with time_limit(None if page_timeout_s is None else float(page_timeout_s)):
                pred = digitizer.digitize(image, item.fs_hz, item.n_samples, **kwargs)
            if pred.signal_mv.shape != item.truth.signal_mv.shape:
                raise ValueError(
                    f"prediction shape {pred.signal_mv.shape} != truth {item.truth.signal_mv.shape}"
                )
            sig, filled = fill_undefined(np.asarray(pred.signal_mv, np.float64), item.truth.signal_mv)
            if not np.isfinite(sig[np.isfinite(item.truth.signal_mv)]).all():
                raise ValueError("prediction has inf values")
            meta = pred.meta or {}
            # the classical digitizer's clean-page figure (split-stroke tracing), for per-page breakdowns
            row.update(
                status="ok",
                n_filled=filled,
                layout=meta.get("layout"),
                split_stroke_noise=meta.get("split_stroke_noise"),
                stroke_px=meta.get("stroke_px"),
                px_per_mm=meta.get("px_per_mm"),
                confidence=meta.get("confidence"),
                turned_deg=meta.get("turned_deg"),
                reader=meta.get("reader"),
            )
            preds[item.image_id] = EcgRecord(sig, item.fs_hz, item.image_id, meta)
        except Exception as exc:  # one bad image never stops the batch; it is scored as all zeros
            message = f"{type(exc).__name__}: {exc}"
            failures.append((item.image_id, message))
            row.update(status="failed", error=message)
            preds[item.image_id] = EcgRecord(np.zeros_like(item.truth.signal_mv), item.fs_hz, item.image_id)
        row["seconds"] = round(time.perf_counter() - t0, 4)
        truths[item.image_id] = item.truth
        rows.append(row)
        item.image = item.image if len(items_by_id) < keep_images else None  # bound memory
        items_by_id[item.image_id] = item
    if not rows:
        raise ValueError("no images to evaluate")

    ids = list(truths)
    result = snr_kaggle(
        [truths[i].signal_mv for i in ids],
        [preds[i].signal_mv for i in ids],
        [truths[i].fs_hz for i in ids],
        image_ids=ids,
    )
    frame = pd.DataFrame(rows).merge(result.per_image().drop(columns=["fs_hz"]), on="image_id")
    frame["n_scored"] = result.lead_n_samples.sum(axis=1)
    if extra_metrics:
        extra = [
            _extra_metrics(truths[i].signal_mv, preds[i].signal_mv, truths[i].fs_hz) if s == "ok" else {}
            for i, s in zip(frame["image_id"], frame["status"], strict=True)
        ]
        frame = pd.concat([frame, pd.DataFrame(extra, index=frame.index)], axis=1)
    lead_db = pd.DataFrame(result.lead_db, index=ids, columns=list(LEADS))
    metrics: dict[str, Any] = {
        **dataset_metrics(frame),
        "n_low_confidence": _n_low_confidence(frame, getattr(digitizer, "confidence", None)),
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    write_table_atomic(frame, out_dir / f"per_image{suffix}.csv")
    lead_db.rename_axis("image_id").to_csv(out_dir / f"per_lead{suffix}.csv")
    lags = pd.DataFrame(result.lead_lag, index=ids, columns=list(LEADS))
    lags.rename_axis("image_id").to_csv(out_dir / f"per_lead_lag{suffix}.csv")
    per_type = pd.Series(metrics["per_type"], name="snr_db").rename_axis("image_type")
    per_type.to_csv(out_dir / f"per_type{suffix}.csv")
    per_condition_table(frame).to_csv(out_dir / f"per_condition{suffix}.csv", index=False)
    if overlays > 0:
        _save_overlays(items_by_id, preds, frame, lead_db, out_dir / "overlays", int(overlays))
    return metrics, failures


def run(cfg: DictConfig) -> dict[str, Any]:
    out_dir = resolve_output_dir(cfg)
    out_dir.mkdir(parents=True, exist_ok=True)
    if cfg.get("predictions_dir"):
        return _score_predictions_dir(cfg, out_dir)

    dataset = hydra.utils.instantiate(cfg.data, _convert_="all")
    shard_index, num_shards = int(cfg.get("shard_index", 0)), int(cfg.get("num_shards", 1))
    shard = {"shard_index": shard_index, "num_shards": num_shards}
    items = (
        dataset.eval_items(split=cfg.split, limit=cfg.get("limit"), **shard)
        if hasattr(dataset, "eval_items")
        else dataset.items(**shard)
    )
    digitizer = self_checked(build_digitizer(cfg.model, cfg.get("ckpt_path")), cfg)
    suffix = shard_suffix(shard_index, num_shards)
    scores, failures = evaluate_items(
        digitizer,
        items,
        out_dir,
        overlays=int(cfg.overlays),
        keep_images=int(cfg.keep_images),
        extra_metrics=bool(cfg.extra_metrics),
        page_timeout_s=cfg.get("page_timeout_s"),
        suffix=suffix,
    )
    metrics: dict[str, Any] = {
        **scores,
        "model": hydra_choice("model"),
        "data": hydra_choice("data"),
        "eval_set": eval_set_name(cfg),
        "aug": cfg.data.get("eval_aug") or cfg.data.get("aug"),  # what the scored pages went through
        **provenance(),
    }
    if num_shards > 1:
        metrics.update(shard)
    per_type = metrics["per_type"]
    write_metrics(out_dir / f"metrics{suffix}.json", metrics)
    report_failures(failures, "images")
    log.info(
        "SNR %.2f dB over %d images (%d failed); per type: %s",
        metrics["snr_db"],
        metrics["n_images"],
        metrics["n_failed"],
        per_type,
    )
    return metrics


def job(cfg: DictConfig) -> float:
    """What ``evaluate.py`` and ``ecgdl evaluate`` run: :func:`run`; returns the SNR in dB."""
    return run(cfg)["snr_db"]
