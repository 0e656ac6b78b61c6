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

Checkpoints keep only plain hyperparameters (the optimizer/scheduler factories are not stored), so they load with
``torch.load(path, weights_only=True)``; :func:`load_net_weights` does that for a bare network. They also keep the
network's registry spec under ``"network"`` (:func:`~ecgdl.models.registry.network_spec`): ``load_weights``
rebuilds the network from it when the config built another architecture.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import cv2
import lightning as L
import numpy as np
import torch
from torch import nn
from torchmetrics.classification import BinaryF1Score, BinaryJaccardIndex

from ecgdl.data.targets import CropSpec
from ecgdl.metrics.torchmetrics import KaggleSNR
from ecgdl.models.autoencoder import trace_from_clean
from ecgdl.models.crop_digitizer import CropFusion, digitize_with_crops
from ecgdl.models.decode import crops_to_signal, fill_nan_columns
from ecgdl.models.losses import heatmap_loss, mask_loss, masked_mae, regression_loss
from ecgdl.models.registry import KINDS, build_network, network_kind, network_spec
from ecgdl.signals.limb import limb_weights
from ecgdl.signals.record import EcgRecord

__all__ = ["DigitizerModule", "export_weights", "load_net_weights"]

_SPLITS = ("val", "test")
#: trained weights that ship with the package (``weights=cnn`` or ``ckpt_path=cnn``)
ASSETS = Path(__file__).resolve().parents[1] / "assets"


def _metric_names(kind: str) -> set[str]:
    per_split = ("loss", "iou", "f1") if kind == "page" else ("loss", "snr_db", "mae_px")
    return {"train/loss"} | {f"{s}/{m}" for s in _SPLITS for m in per_split}


class DigitizerModule(L.LightningModule):
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
        edge_margin_mm, edge_dilate_s, edge_agree_mv, edge_agree_within_s, pulse_edge_s, boundary_edge_s,
        blend_weight, blend_tol_mv, clean_max_noise, crowded_fallback,
        thin_width_scale, thin_max_stroke_mm, thin_max_noise, steep_slope_mv_per_s, steep_tol_mv, steep_max_noise:
            how a crop network's reading is fused with the classical one at inference, the fields of
            :class:`ecgdl.models.crop_digitizer.CropFusion` (kept as ``self.fusion``).
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
        edge_margin_mm: float = CropFusion.edge_margin_mm,
        edge_dilate_s: float = CropFusion.edge_dilate_s,
        pulse_edge_s: float = CropFusion.pulse_edge_s,
        boundary_edge_s: float = CropFusion.boundary_edge_s,
        blend_weight: float = CropFusion.blend_weight,
        blend_tol_mv: float = CropFusion.blend_tol_mv,
        clean_max_noise: float = CropFusion.clean_max_noise,
        crowded_fallback: bool = CropFusion.crowded_fallback,
        steep_slope_mv_per_s: float = CropFusion.steep_slope_mv_per_s,
        steep_tol_mv: float = CropFusion.steep_tol_mv,
        steep_max_noise: float = CropFusion.steep_max_noise,
        edge_agree_mv: float = CropFusion.edge_agree_mv,
        edge_agree_within_s: float = CropFusion.edge_agree_within_s,
        thin_width_scale: float = CropFusion.thin_width_scale,
        thin_max_stroke_mm: float = CropFusion.thin_max_stroke_mm,
        thin_max_noise: float = CropFusion.thin_max_noise,
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
        self.save_hyperparameters(ignore=["net", "optimizer", "scheduler"], logger=False)
        self.net = net
        self.kind = kind
        self.optimizer_factory = optimizer
        self.scheduler_factory = scheduler
        self.monitor = monitor
        self.crop_spec = CropSpec(**(crop or {}))
        self.geometry_kwargs = dict(geometry or {})
        self.fusion = CropFusion(
            edge_margin_mm=edge_margin_mm,
            edge_dilate_s=edge_dilate_s,
            edge_agree_mv=edge_agree_mv,
            edge_agree_within_s=edge_agree_within_s,
            pulse_edge_s=pulse_edge_s,
            boundary_edge_s=boundary_edge_s,
            blend_weight=blend_weight,
            blend_tol_mv=blend_tol_mv,
            clean_max_noise=clean_max_noise,
            crowded_fallback=crowded_fallback,
            thin_width_scale=thin_width_scale,
            thin_max_stroke_mm=thin_max_stroke_mm,
            thin_max_noise=thin_max_noise,
            steep_slope_mv_per_s=steep_slope_mv_per_s,
            steep_tol_mv=steep_tol_mv,
            steep_max_noise=steep_max_noise,
        )
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

    # ------------------------------------------------------------------ inference
    @contextmanager
    def _eval_mode(self) -> Iterator[None]:
        """Inference in eval mode (BatchNorm statistics frozen), leaving the module in the mode it was in."""
        was_training = self.training
        self.eval()
        try:
            yield
        finally:
            self.train(was_training)

    @torch.inference_mode()
    def predict_crops(
        self, images: torch.Tensor | np.ndarray, batch_size: int = 64, fallback_row: float | None = None
    ) -> torch.Tensor:
        """Trace row per column (N, W), crop pixels, for crops (N, 3, H, W) in [0, 1] (tensor or array).

        Always finite: autoencoder columns without a trace are interpolated from their neighbours, and a crop
        with none at all reads ``fallback_row`` (default: the middle row, where crops put the baseline).
        """
        if self.kind == "page":
            raise ValueError(
                "predict_crops needs a crop network ('column' or 'autoencoder'), not a page network"
            )
        x = torch.as_tensor(images, dtype=torch.float32)
        if x.dim() != 4:
            raise ValueError(f"images must be (N, C, H, W), got shape {tuple(x.shape)}")
        rows = []
        with self._eval_mode():
            for chunk in x.split(batch_size):
                out = self.net(chunk.to(self.device))
                if self.kind == "column":
                    rows.append(out["y"].float().cpu())
                else:
                    y = trace_from_clean(torch.sigmoid(out)).cpu().numpy()
                    fb = (x.shape[2] - 1) / 2 if fallback_row is None else fallback_row
                    rows.append(torch.from_numpy(fill_nan_columns(y, fb)).float())
        return torch.cat(rows) if rows else torch.empty(0, x.shape[-1])

    @torch.inference_mode()
    def predict_page(self, page_rgb: np.ndarray) -> np.ndarray:
        """Trace probability (H, W) float32 in [0, 1] of a page (H, W, 3) uint8 RGB, from a page network: the page
        is resized as in training (``page_size_hw``, keeping the training scale for other page shapes), and the
        probability is resized back."""
        if self.kind != "page":
            raise ValueError(f"predict_page needs a page network, not a {self.kind!r} one")
        h, w = page_rgb.shape[:2]
        small = page_rgb
        if self.page_size_hw is not None:
            scale = min(self.page_size_hw[0] / h, self.page_size_hw[1] / w)
            size = (max(8, round(w * scale)), max(8, round(h * scale)))
            small = cv2.resize(page_rgb, size, interpolation=cv2.INTER_AREA)
        x = torch.from_numpy(np.ascontiguousarray(small)).permute(2, 0, 1)[None].float().div_(255.0)
        with self._eval_mode():
            prob = torch.sigmoid(self.net(x.to(self.device)))[0, 0].float().cpu().numpy()
        if prob.shape != (h, w):
            prob = cv2.resize(prob, (w, h), interpolation=cv2.INTER_LINEAR)
        return prob.astype(np.float32)

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        spec = network_spec(self.net)
        if spec is not None:
            checkpoint["network"] = spec

    # ------------------------------------------------------------------ the Digitizer protocol
    def load_weights(self, ckpt_path: str | Path) -> DigitizerModule:
        """Load network weights from a Lightning checkpoint or an exported file (``weights_only=True``).

        A checkpoint that records its network (``"network"``, see :func:`export_weights`) replaces ``self.net`` by
        that architecture when it differs from the one built here; without that record the weights must fit.
        """
        path = resolve_weights(ckpt_path)
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
        spec = ckpt.get("network")
        if spec and spec != network_spec(self.net):
            kind = network_kind(spec["name"])
            if kind != self.kind:
                raise ValueError(
                    f"{path}: holds a {spec['name']!r} network (kind {kind!r}); this module reads {self.kind!r}"
                )
            self.net = build_network(**spec)
        _load_net_state(self.net, ckpt, path)
        # read crops the way the network was trained to see them
        trained = ckpt.get("hyper_parameters", {})
        if trained.get("crop"):
            fields = CropSpec.__dataclass_fields__
            self.crop_spec = CropSpec(**{k: v for k, v in trained["crop"].items() if k in fields})
        if trained.get("page_size_hw"):
            self.page_size_hw = (int(trained["page_size_hw"][0]), int(trained["page_size_hw"][1]))
        self.weights_loaded = True
        return self

    def digitize(self, image_rgb: np.ndarray, fs_hz: float, n_samples: int) -> EcgRecord:
        """Image -> 12-lead record: classical page geometry, then this network on every lead crop; a page network's
        trace probability instead replaces the classical ink, which the classical stages lay out and trace."""
        if self.kind == "page":
            from ecgdl.classical import ClassicalDigitizer

            limb = {"limb_fit": self.limb_fit, "limb_fit_weights": self.limb_fit_weights}
            reader = ClassicalDigitizer(**{**self.geometry_kwargs, **limb}, ink_model=self.predict_page)
            return reader.digitize(image_rgb, fs_hz, n_samples)
        if self._geometry is None:
            from ecgdl.classical import ClassicalDigitizer

            self._geometry = ClassicalDigitizer(**self.geometry_kwargs)
        return digitize_with_crops(
            self.predict_crops,
            self._geometry,
            image_rgb,
            fs_hz,
            n_samples,
            self.crop_spec,
            self.fusion,
            limb_fit_weights=self.limb_fit_weights if self.limb_fit else None,
        )


def resolve_weights(name_or_path: str | Path) -> Path:
    """A checkpoint path, or the name of one shipped in ``ecgdl/assets`` (e.g. ``cnn``)."""
    path = Path(name_or_path).expanduser()
    if path.is_file():
        return path
    shipped = ASSETS / f"{name_or_path}.pt"
    if shipped.is_file():
        return shipped
    available = sorted(p.stem for p in ASSETS.glob("*.pt"))
    raise FileNotFoundError(
        f"{name_or_path}: no such checkpoint file, nor a shipped one (shipped: {available})"
    )


def export_weights(ckpt_path: str | Path, out_path: str | Path, network: dict | None = None) -> Path:
    """Strip a training checkpoint down to the network weights and the facts needed to use them (what ships in
    ``ecgdl/assets``): hyperparameters (crop geometry) and the network spec (``network``, default: the
    checkpoint's own record; give it for checkpoints written before specs were recorded)."""
    ckpt = torch.load(ckpt_path, map_location="cpu", weights_only=True)
    state = {k: v for k, v in ckpt.get("state_dict", ckpt).items() if k.startswith("net.")}
    if not state:
        raise ValueError(f"{ckpt_path}: no network weights (net.*) in this checkpoint")
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    exported = {"state_dict": state, "hyper_parameters": dict(ckpt.get("hyper_parameters", {}))}
    network = network or ckpt.get("network")
    if network:
        net = build_network(**network)  # the spec must rebuild a network the weights fit
        _load_net_state(net, {"state_dict": state}, ckpt_path)
        exported["network"] = dict(network)
    torch.save(exported, out)
    return out


def load_net_weights(net: nn.Module, ckpt_path: str | Path, strict: bool = True) -> nn.Module:
    """Load the ``net.*`` weights of a :class:`DigitizerModule` checkpoint (or a bare state dict) into ``net``."""
    return _load_net_state(
        net, torch.load(ckpt_path, map_location="cpu", weights_only=True), ckpt_path, strict
    )


def _load_net_state(net: nn.Module, ckpt: dict, ckpt_path: str | Path, strict: bool = True) -> nn.Module:
    """Load the network weights of an already loaded checkpoint ``ckpt`` (read from ``ckpt_path``) into ``net``."""
    state = ckpt.get("state_dict", ckpt)
    prefix = "net."
    if any(k.startswith(prefix) for k in state):
        state = {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}
    try:
        net.load_state_dict(state, strict=strict)
    except RuntimeError as exc:
        raise RuntimeError(
            f"{ckpt_path}: these weights do not fit the {type(net).__name__} built from the config; the checkpoint"
            f" was trained with another architecture (e.g. model.net.stem_stride / base_channels / depth): {exc}"
        ) from exc
    return net
