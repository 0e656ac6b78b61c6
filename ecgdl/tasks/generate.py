"""Dataset writer: N synthetic records rendered and degraded, in the Kaggle train layout, with full truth.

``python generate.py output_dir=<dir> num_records=<N> data.aug=<preset> seed=<s>`` writes ``train.csv``,
``train/<id>/<id>.csv`` (plotted signal, NaN where not printed), ``train/<id>/<id>-<type>.png`` (type from the
preset: 0001 clean, 0003 scan, 0004 bw_scan, 0005 photo, 0006 screen, 0009 stained, 0010 damaged, 0011 mold)
and ``train/<id>/<id>-<type>.truth.npz`` (:class:`ecgdl.render.RenderTruth`). Items already present are kept
(the job resumes) unless ``overwrite=true``. Work is spread over ``num_workers`` processes.
"""

from __future__ import annotations

import sys
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import cv2
import hydra
from omegaconf import DictConfig
from tqdm.auto import tqdm

from ecgdl.constants import KAGGLE_IMAGE_TYPES
from ecgdl.data.pages import PageFactory
from ecgdl.render.truth import TRUTH_SUFFIX, RenderTruth
from ecgdl.signals.io import KaggleLayout
from ecgdl.tasks.common import log, report_failures, resolve_output_dir, write_metrics

#: degradation preset -> Kaggle image-type suffix
PRESET_TYPES: dict[str, str] = {name: code for code, name in KAGGLE_IMAGE_TYPES.items()}

_FACTORY: PageFactory | None = None


def image_type_for(preset: str) -> str:
    return PRESET_TYPES.get(preset, "0001")


def _init_worker(factory: PageFactory, cv2_threads: int | None = None) -> None:
    """Hands ``factory`` to this process; in a pool process OpenCV also runs on ``cv2_threads`` threads, as in the
    training loader's workers (:func:`ecgdl.data.datamodule._init_worker`): the processes share the cores."""
    global _FACTORY
    _FACTORY = factory
    if cv2_threads is not None:
        cv2.setNumThreads(cv2_threads)


def _make_item(args: tuple[int, str, str]) -> tuple[str, str | None, tuple | None]:
    """Render item ``index`` and write it; returns (id, error message or None, (fs, n_samples))."""
    index, item_id, root = args
    try:
        image, truth, _ = _FACTORY.make("generate", index)
        img_type = image_type_for(str(truth.meta.get("aug", "clean")))
        layout = KaggleLayout(root)
        folder = layout.write_item(item_id, truth.record, {img_type: image})
        truth.save(folder / f"{item_id}-{img_type}{TRUTH_SUFFIX}")
        return item_id, None, (truth.record.fs_hz, truth.record.n_samples)
    except Exception as exc:  # one bad item never stops the batch; reported at the end
        return item_id, f"{type(exc).__name__}: {exc}", None


def _done(layout: KaggleLayout, item_id: str) -> bool:
    return layout.signal_path(item_id).is_file() and any(
        p.name.endswith(TRUTH_SUFFIX) for p in layout.item_dir(item_id).glob(f"{item_id}-*")
    )


def run(cfg: DictConfig) -> dict[str, Any]:
    out = resolve_output_dir(cfg)
    n = int(cfg.num_records)
    if n < 1:
        raise ValueError(f"num_records must be >= 1, got {n}")
    data = hydra.utils.instantiate(cfg.data, _convert_="all")
    factory = PageFactory(data.train_factory.source, data.render, data.train_factory.aug, int(cfg.seed))
    layout = KaggleLayout(out)
    ids = [str(int(cfg.first_id) + i) for i in range(n)]
    todo = [(i, sid, str(out)) for i, sid in enumerate(ids) if cfg.overwrite or not _done(layout, sid)]
    skipped = n - len(todo)
    if skipped:
        log.info("%d of %d items already in %s: kept (overwrite=true to redo them)", skipped, n, out)
    t0 = time.perf_counter()
    failures: list[tuple[str, str]] = []
    written = 0
    workers = max(1, int(cfg.num_workers))
    results = (
        map(_make_item, todo)
        if workers == 1
        else ProcessPoolExecutor(workers, initializer=_init_worker, initargs=(factory, 1)).map(
            _make_item, todo, chunksize=2
        )
    )
    if workers == 1:
        _init_worker(factory)
    for item_id, error, info in tqdm(results, total=len(todo), desc=f"generate -> {out}", unit="rec"):
        if error is None:
            layout.register(item_id, *info)
            written += 1
        else:
            failures.append((item_id, error))
    # The index lists every complete item, also those an earlier (possibly killed) run wrote.
    indexed = set(layout.read_index()["id"]) if layout.index_path.is_file() else set()
    for sid in ids:
        if sid not in layout.pending and sid not in indexed and _done(layout, sid):
            truth_file = next(layout.item_dir(sid).glob(f"{sid}-*{TRUTH_SUFFIX}"))
            truth = RenderTruth.load(truth_file)
            layout.register(sid, truth.record.fs_hz, truth.record.n_samples)
    layout.write_index()
    seconds = time.perf_counter() - t0
    report_failures(failures, "records")
    metrics = {
        "n_requested": n,
        "n_written": written,
        "n_skipped": skipped,
        "n_failed": len(failures),
        "seconds": round(seconds, 3),
        "records_per_s": round(written / seconds, 3) if seconds > 0 else None,
        "output_dir": str(out),
    }
    write_metrics(out / "generate_metrics.json", metrics)
    log.info(
        "wrote %d records to %s in %.1f s (%d skipped, %d failed)",
        written,
        out,
        seconds,
        skipped,
        len(failures),
    )
    return metrics


def job(cfg: DictConfig) -> None:
    """What ``generate.py`` and ``ecgdl generate`` run: :func:`run`, then exit with status 1 when a record
    failed (the log lists why)."""
    if run(cfg)["n_failed"]:
        sys.exit(1)
