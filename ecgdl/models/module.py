"""LightningModule that trains any registered network and scores it with the Kaggle SNR on decoded signals.

``kind`` says what the network learns (see :data:`ecgdl.models.registry.KINDS`):

- ``'column'``: crop -> trace row per column (:class:`~ecgdl.models.networks.ColumnHeatmapNet`; heatmap or
  regression head, chosen by the network's output);
- ``'autoencoder'``: crop -> clean trace image, read out with :func:`~ecgdl.models.autoencoder.trace_from_clean`;
- ``'page'``: page -> trace mask; validated with pixel IoU/F1 (training targets carry no signals). At inference
  the mask is the ink the classical pipeline lays out and traces (``ClassicalDigitizer(ink_model=...)``).

Validation and test decode the per-column rows of every crop into page signals
(:func:`~ecgdl.models.decode.crops_to_signal`) and accumulate :class:`~ecgdl.metrics.torchmetrics.KaggleSNR`
against the batch's ``signal_mv``. Logged: ``train/loss``, ``{val,test}/loss``, ``{val,test}/snr_db``,
``{val,test}/mae_px`` (column and autoencoder kinds) or ``{val,test}/iou`` and ``{val,test}/f1`` (page kind).

Inference (the :class:`~ecgdl.digitizer.Digitizer` interface, weight loading) comes from
:class:`~ecgdl.models.inference.NetworkDigitizerMixin`; checkpoint files from :mod:`ecgdl.models.checkpoints`.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping
from typing import Any

import lightning as L
import numpy as np
import torch
from torch import nn
from torchmetrics.classification import BinaryF1Score, BinaryJaccardIndex

from ecgdl.data.targets import CropSpec
from ecgdl.fusion import FusionConfig
from ecgdl.metrics.torchmetrics import KaggleSNR
from ecgdl.models.autoencoder import trace_from_clean
from ecgdl.models.decode import crops_to_signal, fill_nan_columns
from ecgdl.models.inference import NetworkDigitizerMixin
from ecgdl.models.losses import heatmap_loss, mask_loss, masked_mae, regression_loss
from ecgdl.models.registry import KINDS, network_spec
from ecgdl.signals.limb import limb_weights

__all__ = ["DigitizerModule"]

_SPLITS = ("val", "test")


def _metric_names(kind: str) -> set[str]:
    per_split = ("loss", "iou", "f1") if kind == "page" else ("loss", "snr_db", "mae_px")
    return {"train/loss"} | {f"{s}/{m}" for s in _SPLITS for m in per_split}


class DigitizerModule(NetworkDigitizerMixin, L.LightningModule):
    """Trains ``net`` as a ``kind`` network (see module docstring).

    Args:
        net: the network (built by :func:`ecgdl.models.registry.build_network` or Hydra).
        kind: ``'column'``, ``'autoencoder'`` or ``'page'``.
        optimizer: factory ``optimizer(params=...)`` (Hydra ``_partial_: true``); None: AdamW(lr=1e-3).
        scheduler: factory ``scheduler(optimizer=...)`` or None; stepped per epoch on ``monitor``.
        monitor: the metric a scheduler watches (one this kind logs, e.g. ``val/snr_db`` or ``val/iou``).
        sigma_px: width of the heatmap target; l1_weight / l2_weight: weights of the soft-argmax L1 (pixels)
            and squared (pixels^2) error terms.
        l2_start_frac: the squared term counts from epoch ``ceil(l2_start_frac * max_epochs)`` of a fit on (0:
            from the start). It is the metric's own penalty, but from random weights its pixels^2 swamp the
            heatmap loss. ``train/loss`` and ``val/loss`` include it from that epoch on (they jump there);
            ``val/snr_db`` does not depend on it.
        dice_weight: weight of soft Dice in the mask loss; pos_weight: BCE weight of trace pixels (None: 1).
        crop: the :class:`~ecgdl.data.targets.CropSpec` fields (replaced by the trained ones from ``weights``).
        geometry: keyword arguments of the :class:`~ecgdl.classical.ClassicalDigitizer` that finds the page
            geometry at inference.
        weights: a checkpoint (or the name of a shipped one) to load the network weights from.
        fusion: how a crop network's reading is fused with the classical one at inference: the fields of
            :class:`ecgdl.fusion.FusionConfig` (both readers' error models, ...; kept as
            ``self.fusion``).
        thin_width_scale / thin_max_stroke_mm / thin_max_noise: at inference, crops of clean pages (quality
            figure at most ``thin_max_noise``) whose trace the classical stage measured at most
            ``thin_max_stroke_mm`` thick are cut ``thin_width_scale`` times wider for the same time window (1: off;
            see :func:`ecgdl.models.crop_digitizer.read_with_crops`).
        page_size_hw: page networks: the (height, width) pages were resized to in training; at inference a
            page is resized to the same scale (None: read at full resolution).
        limb_fit / limb_fit_weights: at inference, fit the limb leads read at the same instants to the Einthoven /
            Goldberger identities, weighing each lead (lead -> weight, default 1; see
            :func:`ecgdl.signals.limb.fit_limb_leads`). Off by default; the model configs turn it on.
        channels_last: train in the channels-last memory layout (NHWC), which oneDNN's and cuDNN's convolutions
            run faster (on the 2-core development CPU 1.1-1.2 times a step, benchmarks/bench_train_step.py);
            the weights and results are the same.
    """

    def __init__(
        self,
        net: nn.Module,
        kind: str = "column",
        optimizer: Callable[..., torch.optim.Optimizer] | None = None,
        scheduler: Callable[..., Any] | None = None,
        monitor: str = "val/snr_db",
        sigma_px: float = 1.5,
        l1_weight: float = 0.1,
        l2_weight: float = 0.0,
        l2_start_frac: float = 0.0,
        dice_weight: float = 1.0,
        pos_weight: float | None = None,
        crop: dict | None = None,
        geometry: dict | None = None,
        weights: str | None = None,
        fusion: FusionConfig | Mapping[str, Any] | None = None,
        thin_width_scale: float = 1.0,
        thin_max_stroke_mm: float = 0.0,
        thin_max_noise: float = 0.005,
        page_size_hw: tuple[int, int] | list[int] | None = None,
        limb_fit: bool = False,
        limb_fit_weights: dict[str, float] | None = None,
        channels_last: bool = True,
    ) -> None:
        super().__init__()
        if kind not in KINDS:
            raise ValueError(f"unknown kind {kind!r}; valid: {', '.join(KINDS)}")
        if monitor not in _metric_names(kind):
            raise ValueError(
                f"monitor {monitor!r} is not logged by a {kind!r} module; valid: {', '.join(sorted(_metric_names(kind)))}"
            )
        # The factories are not stored: they would make checkpoints unloadable with weights_only=True.
        self.save_hyperparameters(ignore=["net", "optimizer", "scheduler", "fusion"], logger=False)
        self.net = net
        self.kind = kind
        self.optimizer_factory = optimizer
        self.scheduler_factory = scheduler
        self.monitor = monitor
        self.crop_spec = CropSpec(**(crop or {}))
        self.geometry_kwargs = dict(geometry or {})
        self.fusion = fusion if isinstance(fusion, FusionConfig) else FusionConfig(**dict(fusion or {}))
        self.hparams["fusion"] = dataclasses.asdict(
            self.fusion
        )  # plain values: checkpoints load weights_only
        self.thin_width_scale = float(thin_width_scale)
        if not 0.25 <= self.thin_width_scale <= 4.0:
            raise ValueError(f"thin_width_scale must be within 0.25-4, got {thin_width_scale}")
        self.thin_max_stroke_mm = float(thin_max_stroke_mm)
        self.thin_max_noise = float(thin_max_noise)
        self.page_size_hw = None if page_size_hw is None else (int(page_size_hw[0]), int(page_size_hw[1]))
        self.limb_fit = bool(limb_fit)
        self.limb_fit_weights = {str(k): float(v) for k, v in (limb_fit_weights or {}).items()}
        limb_weights(self.limb_fit_weights)  # bad weights fail here, not on every page
        self._geometry = None
        self.weights_loaded = False
        self.example: dict | None = None
        if weights is not None:
            self.load_weights(weights)
        if kind == "page":
            self.iou = nn.ModuleDict({s: BinaryJaccardIndex() for s in _SPLITS})
            self.f1 = nn.ModuleDict({s: BinaryF1Score() for s in _SPLITS})
        else:
            self.snr = nn.ModuleDict({s: KaggleSNR() for s in _SPLITS})

    # ------------------------------------------------------------------ forward and losses
    def forward(self, x: torch.Tensor) -> Any:
        return self.net(x)

    def on_fit_start(self) -> None:
        if self.hparams.channels_last:
            self.net.to(memory_format=torch.channels_last)

    def l2_weight_now(self) -> float:
        """``l2_weight`` once the fit has reached ``l2_start_frac`` of its epochs (always, outside a fit)."""
        frac, trainer = self.hparams.l2_start_frac, self._trainer
        if frac <= 0 or trainer is None or trainer.max_epochs is None or trainer.max_epochs < 0:
            return self.hparams.l2_weight
        return self.hparams.l2_weight if self.current_epoch >= math.ceil(frac * trainer.max_epochs) else 0.0

    def _loss_and_rows(
        self, batch: dict, need_rows: bool = True
    ) -> tuple[torch.Tensor, torch.Tensor | None, Any]:
        """(loss, predicted rows (N, W) or None for pages / when not needed, raw network output)."""
        image = batch["image"]
        if self.hparams.channels_last:
            image = image.contiguous(memory_format=torch.channels_last)
        out = self.net(image)
        if self.kind == "column":
            if "logits" in out:
                loss = heatmap_loss(
                    out["logits"],
                    batch["trace_y"],
                    self.hparams.sigma_px,
                    self.hparams.l1_weight,
                    self.l2_weight_now(),
                )
            else:
                loss = regression_loss(out["y"], batch["trace_y"])
            return loss, out["y"], out
        target = batch["mask"] if self.kind == "page" else batch["clean"]
        loss = mask_loss(out, target, self.hparams.dice_weight, self.hparams.pos_weight)
        if self.kind == "page" or not need_rows:
            return loss, None, out
        rows = trace_from_clean(torch.sigmoid(out.detach()))
        rows = torch.from_numpy(fill_nan_columns(rows.cpu().numpy(), batch["baseline_y"].cpu().numpy()))
        return loss, rows.to(out.device, torch.float32), out

    # ------------------------------------------------------------------ Lightning hooks
    def training_step(self, batch: dict, batch_idx: int) -> torch.Tensor:
        loss, _, _ = self._loss_and_rows(batch, need_rows=False)
        self.log(
            "train/loss", loss, on_step=True, on_epoch=True, prog_bar=True, batch_size=len(batch["image"])
        )
        return loss

    def _eval_step(self, batch: dict, split: str) -> torch.Tensor:
        loss, rows, out = self._loss_and_rows(batch)
        n = len(batch["image"])
        self.log(f"{split}/loss", loss, on_epoch=True, batch_size=n)
        if self.kind == "page":
            prob = torch.sigmoid(out.detach())
            target = batch["mask"] > 0.5
            self.iou[split].update(prob, target)
            self.f1[split].update(prob, target)
            self.log(f"{split}/iou", self.iou[split], on_epoch=True, batch_size=n, prog_bar=split == "val")
            self.log(f"{split}/f1", self.f1[split], on_epoch=True, batch_size=n)
            return loss
        self.log(f"{split}/mae_px", masked_mae(rows.detach(), batch["trace_y"]), on_epoch=True, batch_size=n)
        signal = crops_to_signal(
            rows,
            batch["px_per_mv"],
            batch["baseline_y"],
            batch["lead_index"],
            batch["t0_s"],
            batch["s_per_col"],
            batch["page"],
            batch["fs_hz"],
            batch["n_samples"],
            max_n=batch["signal_mv"].shape[1],
        )
        # Samples no crop covered count as 0 mV (the metric rejects NaN where the truth is defined).
        preds = torch.from_numpy(np.nan_to_num(signal, nan=0.0)).to(batch["signal_mv"].device)
        self.snr[split].update(preds, batch["signal_mv"], batch["fs_hz"])
        if split == "val" and self.example is None:  # one page per epoch for the overlay logger
            n0 = int(batch["n_samples"][0])
            self.example = {
                "truth_mv": batch["signal_mv"][0, :n0].detach().cpu().numpy().astype(np.float64),
                "pred_mv": signal[0, :n0],
                "fs_hz": float(batch["fs_hz"][0]),
            }
        pages = len(batch["signal_mv"])
        self.log(f"{split}/snr_db", self.snr[split], on_epoch=True, batch_size=pages, prog_bar=split == "val")
        return loss

    def on_validation_epoch_start(self) -> None:
        self.example = None

    def validation_step(self, batch: dict, batch_idx: int) -> torch.Tensor:
        return self._eval_step(batch, "val")

    def test_step(self, batch: dict, batch_idx: int) -> torch.Tensor:
        return self._eval_step(batch, "test")

    def predict_step(self, batch: dict, batch_idx: int) -> torch.Tensor:
        return self.predict_crops(batch["image"])

    def configure_optimizers(self) -> Any:
        factory = self.optimizer_factory or (lambda params: torch.optim.AdamW(params, lr=1e-3))
        optimizer = factory(params=self.parameters())
        if self.scheduler_factory is None:
            return optimizer
        scheduler = self.scheduler_factory(optimizer=optimizer)
        return {
            "optimizer": optimizer,
            "lr_scheduler": {
                "scheduler": scheduler,
                "monitor": self.monitor,
                "interval": "epoch",
                "frequency": 1,
            },
        }

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        spec = network_spec(self.net)
        if spec is not None:
            checkpoint["network"] = spec
