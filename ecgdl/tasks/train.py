"""Training task: compose data, model, trainer, loggers and callbacks from the config, fit, test, report.

``run(cfg) -> (metrics, objects)``; ``train.py`` is a thin Hydra shim over it and tests call it directly.
Models without trainable parameters (the classical digitizer) are only validated and tested.

After the trainer's test step (``test/snr_db``: for a crop network, crops cut at the pages' true geometry),
``test_pages`` reads the test split's whole pages end to end with the tested weights, as ``evaluate.py
data=synth`` would, and writes evaluate.py's tables and overlays into the run folder; the run's ``snr_db`` is
then that end-to-end figure, the same for every model, so a multirun's leaderboard compares like with like.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import hydra
import lightning as L
import torch
from lightning.pytorch.loggers import Logger, WandbLogger
from omegaconf import DictConfig, OmegaConf

from ecgdl.models.wrapper import DigitizerEvalModule
from ecgdl.tasks.common import (
    hydra_choice,
    log,
    provenance,
    report_failures,
    resolve_output_dir,
    write_metrics,
)

#: which DataModule target each model kind learns from (data.target=auto)
TARGET_FOR_KIND = {"column": "crops", "autoencoder": "clean", "page": "page"}


def _instantiate_dict(cfg: DictConfig | None) -> list[Any]:
    """Instantiate every entry with a ``_target_`` of a mapping (callbacks, loggers); ``null`` entries are skipped."""
    if not cfg:
        return []
    return [hydra.utils.instantiate(v) for v in cfg.values() if v is not None and "_target_" in v]


def _scalar_metrics(raw: dict[str, Any]) -> dict[str, float]:
    out = {}
    for key, value in raw.items():
        if isinstance(value, torch.Tensor) and value.numel() == 1:
            out[key] = float(value.item())
        elif isinstance(value, int | float):
            out[key] = float(value)
    return out


def _read_test_pages(cfg: DictConfig, model, datamodule, out_dir: Path) -> dict[str, Any]:
    """The test split's pages read end to end by ``model`` (evaluate.py's tables and overlays in ``out_dir``);
    the dataset figures and the set's name, or nothing where the data module has no fixed pages."""
    if not hasattr(datamodule, "eval_items"):
        log.info("data=%s has no fixed test pages: no end-to-end reading", hydra_choice("data"))
        return {}
    from ecgdl.tasks.evaluate import eval_set_name, evaluate_items

    scores, failures = evaluate_items(
        model,
        datamodule.eval_items(split="test"),
        out_dir,
        overlays=int(cfg.get("overlays", 3)),
        extra_metrics=False,
    )
    report_failures(failures, "test pages")
    log.info("test pages read end to end: SNR %.2f dB over %d pages", scores["snr_db"], scores["n_images"])
    return {**scores, "eval_set": eval_set_name(cfg)}


def run(cfg: DictConfig) -> tuple[dict[str, float], dict[str, Any]]:
    started = time.perf_counter()
    if cfg.get("seed") is not None:
        L.seed_everything(int(cfg.seed), workers=True)
    out_dir = resolve_output_dir(cfg, "paths.output_dir")
    log.info("output folder: %s", out_dir)

    datamodule: L.LightningDataModule = hydra.utils.instantiate(cfg.data, _convert_="all")
    if not isinstance(datamodule, L.LightningDataModule):
        raise ValueError(
            f"data={hydra_choice('data') or cfg.data.get('_target_')} is a set of images to evaluate "
            f"({type(datamodule).__name__}), not training data: train with data=synth (pages rendered on the fly)"
        )
    model = hydra.utils.instantiate(cfg.model, _convert_="all")
    if not isinstance(model, L.LightningModule):
        model = DigitizerEvalModule(model)  # a training-free digitizer: validated and tested only
    train_set = getattr(datamodule, "train_set", None)
    if hasattr(model, "crop_spec") and getattr(train_set, "crop", None) is not None:
        # weights loaded to start from bring the crop geometry they were trained on; from here on the network
        # learns (and is validated and exported) on the crops this data module cuts
        model.crop_spec = train_set.crop
    if getattr(datamodule, "target", None) == "auto":
        kind = getattr(model, "kind", None)
        datamodule.set_target(getattr(model, "data_target", None) or TARGET_FOR_KIND.get(kind, "crops"))
    callbacks = _instantiate_dict(cfg.get("callbacks"))
    loggers: list[Logger] = _instantiate_dict(cfg.get("logger"))
    trainer: L.Trainer = hydra.utils.instantiate(cfg.trainer, callbacks=callbacks, logger=loggers or False)
    resolved = OmegaConf.to_container(cfg, resolve=True, throw_on_missing=False)
    for lg in loggers:
        lg.log_hyperparams(resolved)

    trainable = any(p.requires_grad for p in model.parameters())
    metrics: dict[str, float] = {}
    try:
        if cfg.get("train") and trainable:
            trainer.fit(model, datamodule=datamodule, ckpt_path=cfg.get("ckpt_path"), weights_only=True)
            metrics.update(_scalar_metrics(trainer.callback_metrics))
        elif cfg.get("train"):
            log.info("model has no trainable parameters: validating only")
            trainer.validate(model, datamodule=datamodule)
            metrics.update(_scalar_metrics(trainer.callback_metrics))
        if cfg.get("test"):
            ckpt = None
            if trainable and cfg.get("train") and trainer.checkpoint_callback is not None:
                ckpt = trainer.checkpoint_callback.best_model_path or None
            if ckpt is None and trainable and cfg.get("train"):
                log.warning("no best checkpoint found: testing the current weights")
            # the best checkpoint's weights (loaded with weights_only=True), else the weights in memory
            trainer.test(model, datamodule=datamodule, ckpt_path=ckpt, weights_only=True if ckpt else None)
            metrics.update(_scalar_metrics(trainer.callback_metrics))
        pages: dict[str, Any] = {}
        if cfg.get("test") and cfg.get("test_pages") and trainer.is_global_zero:
            pages = _read_test_pages(cfg, model, datamodule, out_dir)
            # the end-to-end figures (snr_db, rmse_mv, n_images, n_failed, ...) are returned too
            metrics.update({k: float(v) for k, v in pages.items() if isinstance(v, int | float)})
        summary = {
            **metrics,
            **pages,
            "snr_db": pages.get("snr_db", metrics.get("test/snr_db", metrics.get(cfg.monitor))),
            "model": hydra_choice("model"),
            "aug": str(cfg.data.get("aug")),
            "seconds": round(time.perf_counter() - started, 2),
            "best_checkpoint": getattr(trainer.checkpoint_callback, "best_model_path", None) or None,
            **provenance(),
        }
        if trainer.is_global_zero:
            write_metrics(out_dir / "metrics.json", summary)
            for lg in loggers:
                if isinstance(lg, WandbLogger):
                    lg.experiment.summary.update({k: v for k, v in summary.items() if v is not None})
    finally:
        for lg in loggers:
            if isinstance(lg, WandbLogger):
                import wandb

                wandb.finish()
    log.info("metrics: %s", json.dumps({k: v for k, v in metrics.items()}, default=float))
    return metrics, {
        "trainer": trainer,
        "model": model,
        "datamodule": datamodule,
        "output_dir": Path(out_dir),
    }


def job(cfg: DictConfig) -> float | None:
    """What ``train.py`` and ``ecgdl train`` run: :func:`run`; returns the monitored metric (what a Hydra
    sweeper such as Optuna optimises)."""
    metrics, _ = run(cfg)
    return metrics.get(cfg.monitor)
