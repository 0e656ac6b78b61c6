"""Prediction task: digitize every image under ``input`` with the configured model and write one CSV per image.

``python predict.py model=classical input=<image | folder | Kaggle root> output_dir=<dir>`` writes
``<output_dir>/<image stem>.csv`` (columns I..V6, 10*fs rows, mV, NaN where a lead is not printed), optional
``<stem>-overlay.png``, and ``report.csv`` (status, seconds, layout, px_per_mm, gain, confidence, error per
image). A failing image is reported and the batch goes on; existing outputs are kept unless ``overwrite=true`` (so
a killed job resumes where it stopped: each finished page's report row is journalled as it is written).

Large batches: ``workers=N`` reads pages in N processes; ``shard_index=i num_shards=n`` reads the i-th block of
the inputs (a SLURM array runs the blocks with ``hydra/launcher=slurm``) into report.shard-00i-of-00n.csv, and
``python -m ecgdl.merge <output_dir>`` joins the shards' reports; ``page_timeout_s`` stops a pathological page.

Every reading gets a confidence (``confidence:``, :class:`~ecgdl.metrics.confidence.ConfidenceModel`): a reading
under its threshold is tried again with the page turned by ``turns`` and then with the learned ink
(``fallback_ink``; :class:`~ecgdl.models.selfcheck.SelfCheckedDigitizer`), and one that stays under it is written
with status ``low_confidence`` instead of ``ok``.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2
import hydra
import numpy as np
import pandas as pd
from omegaconf import DictConfig, OmegaConf
from tqdm.auto import tqdm

from ecgdl.data.inputs import InputImage, discover_inputs
from ecgdl.metrics.einthoven import einthoven_consistency_db
from ecgdl.models.selfcheck import SelfCheckedDigitizer, turn_image
from ecgdl.signals.record import EcgRecord
from ecgdl.signals.writers import check_formats, output_paths, write_outputs
from ecgdl.tasks.batch import (
    RowJournal,
    map_pages,
    shard_items,
    shard_suffix,
    time_limit,
    write_table_atomic,
)
from ecgdl.tasks.common import hydra_choice, log, report_failures, resolve_output_dir, write_metrics

REPORT_COLUMNS = [
    "stem",
    "image",
    "status",
    "seconds",
    "layout",
    "px_per_mm",
    "gain_mm_per_mv",
    "speed_mm_per_s",
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


#: the config keys :func:`self_checked` reads
SELF_CHECK_KEYS = ("confidence", "turns", "turn_min_confidence", "fallback_ink", "orientation")


def self_checked(digitizer, cfg: DictConfig):
    """``digitizer`` with its readings' confidence, turned pages tried (``cfg.confidence``, ``cfg.turns``; the turn
    the ``cfg.orientation`` classifier is sure of first) and,
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
    orientation = None
    if cfg.get("orientation") and cfg.get("turns"):
        from ecgdl.models.orientation import OrientationClassifier

        orientation = OrientationClassifier(cfg.orientation)
    return SelfCheckedDigitizer(
        digitizer,
        confidence,
        tuple(cfg.get("turns") or ()),
        fallback,
        turn_min_confidence=float(cfg.get("turn_min_confidence", 0.9)),
        orientation=orientation,
    )


def _fix_length(record: EcgRecord, item: InputImage) -> np.ndarray:
    sig = np.asarray(record.signal_mv, np.float64)
    if sig.shape != (item.n_samples, 12):
        raise ValueError(f"{item.path}: digitizer returned {sig.shape}, expected ({item.n_samples}, 12)")
    if np.isinf(sig).any():
        raise ValueError(f"{item.path}: digitizer returned inf values")
    return sig


def predict_one(
    digitizer,
    item: InputImage,
    out_dir: Path,
    save_overlay: bool,
    formats: Sequence[str] = ("csv",),
    overwrite: bool = False,
) -> dict[str, Any]:
    t0 = time.perf_counter()
    image = item.load()
    record = digitizer.digitize(image, item.fs_hz, item.n_samples)
    sig = _fix_length(record, item)
    sidecar = {
        "image": str(item.path),
        "page": None if item.page is None else item.page + 1,
        **(record.meta or {}),
    }
    # a format whose files a previous run wrote is kept as it is (a rerun asking for one more format adds it)
    missing = [
        f for f in formats if overwrite or not all(p.exists() for p in output_paths([f], out_dir, item.stem))
    ]
    write_outputs(missing, out_dir, item.stem, sig, item.fs_hz, sidecar, overwrite=overwrite)
    if save_overlay:
        from ecgdl.classical.meta import page_to_input
        from ecgdl.viz.overlay import overlay_prediction
        from ecgdl.viz.segments import segments_from_meta

        segments = segments_from_meta(record.meta)
        # drawn on the picture as it was read (turned the right way up); a rectified page's segments mapped back
        if segments:
            page = turn_image(image, int((record.meta or {}).get("turned_deg", 0)))
            over = overlay_prediction(
                page, EcgRecord(sig, item.fs_hz), segments, to_image=page_to_input(record.meta)
            )
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
        "speed_mm_per_s": meta.get("speed_mm_per_s"),
    }


class PageReader:
    """Reads one :class:`InputImage` into ``out_dir`` and returns its report row (a failure becomes a row with
    status ``failed``): what each page worker of :func:`run` holds (built once per process)."""

    def __init__(
        self,
        reader_cfg: dict[str, Any],
        model_name: str | None,
        out_dir: str,
        save_overlay: bool,
        page_timeout_s: float | None,
        formats: Sequence[str] = ("csv",),
        overwrite: bool = False,
    ) -> None:
        cfg = OmegaConf.create(reader_cfg)
        self.digitizer = self_checked(build_digitizer(cfg.model, cfg.get("ckpt_path"), model_name), cfg)
        self.out_dir = Path(out_dir)
        self.save_overlay = save_overlay
        self.page_timeout_s = page_timeout_s
        self.formats = tuple(formats)
        self.overwrite = overwrite

    def __call__(self, item: InputImage) -> dict[str, Any]:
        row = {"stem": item.stem, "image": str(item.path), "fs_hz": item.fs_hz, "error": ""}
        t0 = time.perf_counter()
        try:
            with time_limit(self.page_timeout_s):
                row.update(
                    predict_one(
                        self.digitizer, item, self.out_dir, self.save_overlay, self.formats, self.overwrite
                    )
                )
        except Exception as exc:  # one bad image never stops the batch; every failure is reported
            row.update(
                status="failed",
                seconds=round(time.perf_counter() - t0, 3),
                error=f"{type(exc).__name__}: {exc}",
            )
        return row


#: the keys of a predict config that build the digitizer (resolved into plain values for page workers)
READER_KEYS = ("model", "ckpt_path", *SELF_CHECK_KEYS)


def reader_config(cfg: DictConfig) -> dict[str, Any]:
    """The part of ``cfg`` a :class:`PageReader` needs, resolved into plain values (it pickles to workers)."""
    out = {}
    for key in READER_KEYS:
        value = cfg.get(key)
        out[key] = OmegaConf.to_container(value, resolve=True) if OmegaConf.is_config(value) else value
    return out


def run(cfg: DictConfig) -> dict[str, Any]:
    if cfg.get("input") is None:
        raise ValueError("predict needs input=<image | folder | Kaggle root>")
    out_dir = resolve_output_dir(cfg)
    out_dir.mkdir(parents=True, exist_ok=True)
    shard_index, num_shards = int(cfg.get("shard_index", 0)), int(cfg.get("num_shards", 1))
    formats = check_formats(cfg.get("format", "csv"))  # an unknown name lists the valid ones
    found = discover_inputs(cfg.input, float(cfg.default_fs_hz), pdf_dpi=float(cfg.get("pdf_dpi", 200)))
    items = shard_items(found, shard_index, num_shards)
    report_path = out_dir / f"report{shard_suffix(shard_index, num_shards)}.csv"
    previous = pd.read_csv(report_path, dtype={"stem": str}) if report_path.is_file() else None
    rows: dict[str, dict] = {} if previous is None else {r["stem"]: r for r in previous.to_dict("records")}
    # rows of pages a killed run finished after it last wrote the report
    journal = RowJournal(out_dir / f".report{shard_suffix(shard_index, num_shards)}.journal.jsonl")
    rows.update({str(r["stem"]): r for r in journal.load()})
    # a page is done when every requested file exists (a killed job resumes; overwrite=true redoes all)
    todo = [
        item
        for item in items
        if cfg.overwrite or not all(p.exists() for p in output_paths(formats, out_dir, item.stem))
    ]
    n_skipped = len(items) - len(todo)
    failures: list[tuple[str, str]] = []
    n_done = 0
    timeout = cfg.get("page_timeout_s")
    reader_args = (
        reader_config(cfg),
        hydra_choice("model"),
        str(out_dir),
        bool(cfg.save_overlay or cfg.get("report_html")),  # the review page shows the overlays
        None if timeout is None else float(timeout),
        formats,
        bool(cfg.overwrite),
    )
    pages = map_pages(PageReader, reader_args, todo, workers=int(cfg.get("workers", 1)))
    for row in tqdm(pages, total=len(todo), desc=f"predict -> {out_dir}", unit="img"):
        if row["status"] == "failed":
            failures.append((row["image"], row["error"]))
        else:
            n_done += 1
        rows[row["stem"]] = row
        journal.append(row)  # a killed job keeps the row of every page it wrote
    # the inputs' order (as one uninterrupted run writes it), then rows of earlier runs' other inputs
    order = [item.stem for item in items if item.stem in rows]
    ordered = set(order)
    order += [stem for stem in rows if stem not in ordered]
    table = pd.DataFrame([rows[stem] for stem in order], columns=REPORT_COLUMNS)
    write_table_atomic(table, report_path)  # every image
    journal.remove()
    report_failures(failures, "images")
    if n_skipped:
        log.info(
            "%d images already had outputs in %s: kept (overwrite=true to redo them)", n_skipped, out_dir
        )
    metrics = {
        **report_metrics(table),
        "n_images": len(items),
        "n_predicted": n_done,
        "n_skipped": n_skipped,
        "n_failed": len(failures),
        "report": str(report_path),
    }
    if num_shards > 1:
        metrics.update(shard_index=shard_index, num_shards=num_shards)
    elif cfg.get("report_html"):  # a sharded job's page comes after the merge: python -m ecgdl.review <dir>
        from ecgdl.review import write_review

        metrics["review"] = str(write_review(out_dir))
    write_metrics(out_dir / f"predict_metrics{shard_suffix(shard_index, num_shards)}.json", metrics)
    return metrics


def report_metrics(table: pd.DataFrame) -> dict[str, Any]:
    """Batch figures of a report table: median Einthoven / Goldberger consistency of the written readings and
    the number of low-confidence ones (logged as a warning)."""
    ok = table[table["status"].isin(READ_STATUSES)]
    n_low = int((table["status"] == "low_confidence").sum())
    if n_low:
        log.warning("%d of %d readings have low confidence (status low_confidence)", n_low, len(table))
    return {
        "einthoven_db_median": float(ok["einthoven_db"].median()) if len(ok) else None,
        "goldberger_db_median": float(ok["goldberger_db"].median()) if len(ok) else None,
        "n_low_confidence": n_low,
    }


def exit_status(metrics: dict[str, Any]) -> int:
    """The command's exit status: 1 when any image failed (report.csv lists them), else 0; always 0 inside a
    multirun, where exiting would stop the sweep's other jobs (e.g. the other shards of a batch)."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    if HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN:
        return 0
    return 1 if metrics["n_failed"] else 0


def job(cfg: DictConfig) -> None:
    """What ``predict.py`` and ``ecgdl predict`` run: :func:`run`, then exit with :func:`exit_status` (1 when an
    image failed; report.csv and the log list why)."""
    status = exit_status(run(cfg))
    if status:
        sys.exit(status)
