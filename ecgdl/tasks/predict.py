"""Prediction task: digitize every image under ``input`` with the configured model and write one CSV per image.

``python predict.py model=classical input=<image | folder | Kaggle root> output_dir=<dir>`` writes
``<output_dir>/<image stem>.csv`` (columns I..V6, 10*fs rows, mV, NaN where a lead is not printed), optional
``<stem>-overlay.png``, and ``report.csv`` (status, seconds, layout, px_per_mm, gain, confidence, error per
image). A failing image is reported and the batch goes on; existing outputs are kept unless ``overwrite=true`` (so
a killed job resumes where it stopped).

Every reading gets a confidence (``confidence:``, :class:`~ecgdl.metrics.confidence.ConfidenceModel`): a reading
under its threshold is tried again with the page turned by ``turns`` and then with the learned ink
(``fallback_ink``; :class:`~ecgdl.models.selfcheck.SelfCheckedDigitizer`), and one that stays under it is written
with status ``low_confidence`` instead of ``ok``.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import cv2
import hydra
import numpy as np
import pandas as pd
from omegaconf import DictConfig
from tqdm.auto import tqdm

from ecgdl.data.images import load_image
from ecgdl.data.inputs import InputImage, discover_inputs
from ecgdl.metrics.einthoven import einthoven_consistency_db
from ecgdl.models.selfcheck import SelfCheckedDigitizer, turn_image
from ecgdl.signals.io import write_kaggle_signal_csv
from ecgdl.signals.record import EcgRecord
from ecgdl.tasks.common import hydra_choice, log, report_failures, resolve_output_dir, write_metrics

REPORT_COLUMNS = [
    "stem",
    "image",
    "status",
    "seconds",
    "layout",
    "px_per_mm",
    "gain_mm_per_mv",
    "fs_hz",
    "einthoven_db",
    "goldberger_db",
    "confidence",
    "turned_deg",
    "reader",
    "error",
]
#: statuses of a written reading (a failed image has none)
READ_STATUSES = ("ok", "low_confidence")


def build_digitizer(model_cfg: DictConfig, ckpt_path: str | None = None, model_name: str | None = None):
    """Instantiate ``model_cfg`` and return an object with ``digitize(image_rgb, fs_hz, n_samples)``; a
    learned model without ``ckpt_path`` gets the weights shipped under ``model_name`` (default: the Hydra
    ``model`` choice)."""
    model = hydra.utils.instantiate(model_cfg, _convert_="all")
    if ckpt_path and hasattr(model, "load_weights"):
        model.load_weights(ckpt_path)
    elif hasattr(model, "load_weights") and not getattr(model, "weights_loaded", False):
        # a learned model without a checkpoint: the weights shipped under its name (e.g. ecgdl/assets/cnn.pt)
        model.load_weights(model_name or hydra_choice("model") or "cnn")
    elif ckpt_path:
        raise ValueError(f"model {type(model).__name__} takes no checkpoint (ckpt_path={ckpt_path})")
    if not hasattr(model, "digitize"):
        raise TypeError(
            f"{type(model).__name__} is not a digitizer (it has no digitize(image, fs_hz, n_samples))"
        )
    if hasattr(model, "eval"):
        model.eval()
    return model


def self_checked(digitizer, cfg: DictConfig):
    """``digitizer`` with its readings' confidence, turned pages tried (``cfg.confidence``, ``cfg.turns``) and,
    with ``cfg.fallback_ink`` (weights of a page network, e.g. ``ink``), a second reading with the learned ink
    for pages still not confident; a digitizer that reads from the truth (``needs_truth``) is returned as it
    is, and one without a classical page-geometry stage gets no fallback."""
    if cfg.get("confidence") is None or getattr(digitizer, "needs_truth", False):
        return digitizer
    confidence = hydra.utils.instantiate(cfg.confidence, _convert_="all")
    fallback = None
    if cfg.get("fallback_ink"):
        from ecgdl.models.ink import InkSegmenter, with_learned_ink

        try:
            fallback = with_learned_ink(digitizer, InkSegmenter(cfg.fallback_ink))
        except TypeError as exc:
            log.info("no learned-ink fallback: %s", exc)
    return SelfCheckedDigitizer(
        digitizer,
        confidence,
        tuple(cfg.get("turns") or ()),
        fallback,
        turn_min_confidence=float(cfg.get("turn_min_confidence", 0.9)),
    )


def _fix_length(record: EcgRecord, item: InputImage) -> np.ndarray:
    sig = np.asarray(record.signal_mv, np.float64)
    if sig.shape != (item.n_samples, 12):
        raise ValueError(f"{item.path}: digitizer returned {sig.shape}, expected ({item.n_samples}, 12)")
    if np.isinf(sig).any():
        raise ValueError(f"{item.path}: digitizer returned inf values")
    return sig


def predict_one(digitizer, item: InputImage, out_dir: Path, save_overlay: bool) -> dict[str, Any]:
    t0 = time.perf_counter()
    image = load_image(item.path)
    record = digitizer.digitize(image, item.fs_hz, item.n_samples)
    sig = _fix_length(record, item)
    write_kaggle_signal_csv(EcgRecord(sig, item.fs_hz, item.stem, {}), out_dir / f"{item.stem}.csv")
    if save_overlay:
        from ecgdl.viz.overlay import overlay_prediction
        from ecgdl.viz.segments import segments_from_meta

        segments = segments_from_meta(record.meta)
        if segments:  # in the pixels of the page as it was read (turned the right way up)
            page = turn_image(image, int((record.meta or {}).get("turned_deg", 0)))
            over = overlay_prediction(page, EcgRecord(sig, item.fs_hz), segments)
            cv2.imwrite(str(out_dir / f"{item.stem}-overlay.png"), cv2.cvtColor(over, cv2.COLOR_RGB2BGR))
    meta = record.meta or {}
    # no truth here: how well the limb leads obey Einthoven / Goldberger is the consistency check we have. A
    # digitizer that fits its limb leads to those identities reports the figures of its reading before the fit.
    if "raw_einthoven_db" in meta:
        einthoven_db, goldberger_db = meta["raw_einthoven_db"], meta["raw_goldberger_db"]
    else:
        consistency = einthoven_consistency_db(sig, item.fs_hz)
        einthoven_db, goldberger_db = consistency.einthoven_db, consistency.goldberger_db
    confidence = meta.get("confidence")
    low = confidence is not None and digitizer.confidence.is_low(confidence)
    return {
        "einthoven_db": round(float(einthoven_db), 3),
        "goldberger_db": round(float(goldberger_db), 3),
        "confidence": None if confidence is None else round(float(confidence), 4),
        "turned_deg": meta.get("turned_deg"),
        "reader": meta.get("reader"),
        "status": "low_confidence" if low else "ok",
        "seconds": round(time.perf_counter() - t0, 3),
        "layout": meta.get("layout"),
        "px_per_mm": meta.get("px_per_mm"),
        "gain_mm_per_mv": meta.get("gain_mm_per_mv"),
    }


def run(cfg: DictConfig) -> dict[str, Any]:
    if cfg.get("input") is None:
        raise ValueError("predict needs input=<image | folder | Kaggle root>")
    out_dir = resolve_output_dir(cfg)
    out_dir.mkdir(parents=True, exist_ok=True)
    items = discover_inputs(cfg.input, float(cfg.default_fs_hz))
    digitizer = self_checked(build_digitizer(cfg.model, cfg.get("ckpt_path")), cfg)
    report_path = out_dir / "report.csv"
    previous = pd.read_csv(report_path, dtype={"stem": str}) if report_path.is_file() else None
    rows: dict[str, dict] = {} if previous is None else {r["stem"]: r for r in previous.to_dict("records")}
    failures: list[tuple[str, str]] = []
    n_done = n_skipped = 0
    for item in tqdm(items, desc=f"predict -> {out_dir}", unit="img"):
        target = out_dir / f"{item.stem}.csv"
        if target.exists() and not cfg.overwrite:
            n_skipped += 1
            continue
        row = {"stem": item.stem, "image": str(item.path), "fs_hz": item.fs_hz, "error": ""}
        t0 = time.perf_counter()
        try:
            row.update(predict_one(digitizer, item, out_dir, bool(cfg.save_overlay)))
            n_done += 1
        except Exception as exc:  # one bad image never stops the batch; every failure is reported
            message = f"{type(exc).__name__}: {exc}"
            row.update(status="failed", seconds=round(time.perf_counter() - t0, 3), error=message)
            failures.append((str(item.path), message))
        rows[item.stem] = row
    pd.DataFrame(list(rows.values()), columns=REPORT_COLUMNS).to_csv(report_path, index=False)  # every image
    report_failures(failures, "images")
    if n_skipped:
        log.info(
            "%d images already had outputs in %s: kept (overwrite=true to redo them)", n_skipped, out_dir
        )
    table = pd.DataFrame(list(rows.values()), columns=REPORT_COLUMNS)
    ok = table[table["status"].isin(READ_STATUSES)]
    n_low = int((table["status"] == "low_confidence").sum())
    if n_low:
        log.warning(
            "%d of %d readings have low confidence (status low_confidence in %s)",
            n_low,
            len(table),
            report_path,
        )
    metrics = {
        "einthoven_db_median": float(ok["einthoven_db"].median()) if len(ok) else None,
        "goldberger_db_median": float(ok["goldberger_db"].median()) if len(ok) else None,
        "n_images": len(items),
        "n_predicted": n_done,
        "n_low_confidence": n_low,
        "n_skipped": n_skipped,
        "n_failed": len(failures),
        "report": str(report_path),
    }
    write_metrics(out_dir / "predict_metrics.json", metrics)
    return metrics
