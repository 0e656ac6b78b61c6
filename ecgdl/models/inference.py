"""The inference half of the learned digitizers: a network behind the :class:`~ecgdl.digitizer.Digitizer`
interface (image in, 12-lead record out) and the loading of its weights.

:class:`NetworkDigitizerMixin` is mixed into :class:`~ecgdl.models.module.DigitizerModule`: crop networks
(``kind`` ``'column'`` / ``'autoencoder'``) read the lead crops that the classical page-geometry stage cuts
(:func:`~ecgdl.models.crop_digitizer.read_with_crops`, fused with the classical reading by
:mod:`ecgdl.fusion`); a page network's trace probability replaces the classical ink map, which the classical
stages lay out and trace.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import cv2
import numpy as np
import torch

from ecgdl.data.targets import CropSpec
from ecgdl.models.autoencoder import trace_from_clean
from ecgdl.models.checkpoints import load_net_state, resolve_weights
from ecgdl.models.crop_digitizer import fused_record, read_with_crops
from ecgdl.models.decode import fill_nan_columns
from ecgdl.models.networks import heatmap_off_peak
from ecgdl.models.registry import build_network, network_kind, network_spec
from ecgdl.signals.record import EcgRecord

__all__ = ["NetworkDigitizerMixin"]


class NetworkDigitizerMixin:
    """Inference for a module holding ``net`` (a ``kind`` network), ``crop_spec``, ``page_size_hw``,
    ``geometry_kwargs`` (the classical page-geometry stage), ``fusion`` (:class:`~ecgdl.fusion.FusionConfig`),
    ``thin_width_scale`` / ``thin_max_stroke_mm`` / ``thin_max_noise`` and ``limb_fit`` / ``limb_fit_weights``."""

    @contextmanager
    def _eval_mode(self) -> Iterator[None]:
        """Inference in eval mode (BatchNorm statistics frozen), leaving the module in the mode it was in."""
        was_training = self.training
        self.eval()
        try:
            yield
        finally:
            self.train(was_training)

    def predict_crops(
        self, images: torch.Tensor | np.ndarray, batch_size: int = 64, fallback_row: float | None = None
    ) -> torch.Tensor:
        """Trace row per column (N, W), crop pixels, for crops (N, 3, H, W) in [0, 1] (tensor or array).

        Always finite: autoencoder columns without a trace are interpolated from their neighbours, and a crop
        with none at all reads ``fallback_row`` (default: the middle row, where crops put the baseline).
        """
        return self.predict_crops_with_doubt(images, batch_size, fallback_row)[0]

    @torch.inference_mode()
    def predict_crops_with_doubt(
        self, images: torch.Tensor | np.ndarray, batch_size: int = 64, fallback_row: float | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(rows, off_peak): :meth:`predict_crops`'s rows and, for heatmap networks, the share of each column's
        height distribution away from its read-out (:func:`~ecgdl.models.networks.heatmap_off_peak`), the
        network's own doubt (None for other networks)."""
        if self.kind == "page":
            raise ValueError(
                "predict_crops needs a crop network ('column' or 'autoencoder'), not a page network"
            )
        x = torch.as_tensor(images, dtype=torch.float32)
        if x.dim() != 4:
            raise ValueError(f"images must be (N, C, H, W), got shape {tuple(x.shape)}")
        rows, doubts = [], []
        with self._eval_mode():
            for chunk in x.split(batch_size):
                out = self.net(chunk.to(self.device))
                if self.kind == "column":
                    rows.append(out["y"].float().cpu())
                    if "logits" in out:
                        doubts.append(heatmap_off_peak(out["logits"], out["y"]).cpu())
                else:
                    y = trace_from_clean(torch.sigmoid(out)).cpu().numpy()
                    fb = (x.shape[2] - 1) / 2 if fallback_row is None else fallback_row
                    rows.append(torch.from_numpy(fill_nan_columns(y, fb)).float())
        if not rows:
            return torch.empty(0, x.shape[-1]), None
        return torch.cat(rows), (torch.cat(doubts) if len(doubts) == len(rows) else None)

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

    def load_weights(self, ckpt_path: str | Path) -> NetworkDigitizerMixin:
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
        load_net_state(self.net, ckpt, path)
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
        readings = read_with_crops(
            self.predict_crops_with_doubt,
            self._geometry,
            image_rgb,
            fs_hz,
            n_samples,
            self.crop_spec,
            self.fusion,
            thin_width_scale=self.thin_width_scale,
            thin_max_stroke_mm=self.thin_max_stroke_mm,
            thin_max_noise=self.thin_max_noise,
        )
        return fused_record(readings, self.fusion, fs_hz, self.limb_fit_weights if self.limb_fit else None)
