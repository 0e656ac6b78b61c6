"""Lightning callback that shows what a model reads: truth vs prediction of one validation page per epoch,
saved under ``<output>/overlays/`` and sent to W&B (``log_image``) when a WandbLogger is attached."""

from __future__ import annotations

from pathlib import Path

import lightning as L
from lightning.pytorch.loggers import WandbLogger

from ecgdl.metrics.snr import fill_undefined, snr_kaggle
from ecgdl.signals.record import EcgRecord
from ecgdl.viz.overlay import plot_leads


class ValidationPlots(L.Callback):
    """After each validation epoch, plot the module's ``example`` page (``truth_mv``, ``pred_mv``, ``fs_hz``)."""

    def __init__(self, dirpath: str, every_n_epochs: int = 1) -> None:
        self.dirpath = Path(dirpath)
        self.every_n_epochs = max(1, int(every_n_epochs))

    def on_validation_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        example = getattr(pl_module, "example", None)
        if example is None or trainer.sanity_checking or not trainer.is_global_zero:
            return
        if trainer.current_epoch % self.every_n_epochs:
            return
        truth = EcgRecord(example["truth_mv"], example["fs_hz"])
        pred = EcgRecord(example["pred_mv"], example["fs_hz"])
        filled, _ = fill_undefined(pred.signal_mv, truth.signal_mv)
        result = snr_kaggle(truth.signal_mv, filled, truth.fs_hz)
        path = plot_leads(
            truth,
            pred,
            result.lead_db_dict(0),
            self.dirpath / f"val_epoch{trainer.current_epoch:03d}.png",
            title=f"epoch {trainer.current_epoch}: {result.snr_db:.1f} dB",
        )
        for logger in trainer.loggers:
            if isinstance(logger, WandbLogger):
                logger.log_image("val/example", [str(path)], step=trainer.global_step)
