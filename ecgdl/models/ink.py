"""The learned ink: a page network's trace probability as a second opinion on the classical ink.

:class:`InkSegmenter` loads a page U-Net (``kind: page``; the shipped ``ecgdl/assets/ink.pt`` was trained with
``python train.py experiment=unet_ink`` on generated pages of every style under every degradation, never on the
development sets) and maps a page (H x W x 3 uint8 RGB) to its trace probability (H x W), read at the scale it
was trained at. :func:`with_learned_ink` gives a digitizer whose page-geometry stage keeps only the colour ink
near that probability (``ink_model_mode="veto"`` of :class:`~ecgdl.classical.ClassicalDigitizer`): shading,
dark grid lines, noise and background that the colours took for trace drop out. The self-check
(:class:`~ecgdl.models.selfcheck.SelfCheckedDigitizer`) reads a page that way when its first reading is not
confident.
"""

from __future__ import annotations

import copy
from pathlib import Path

import cv2
import numpy as np
import torch

from ecgdl.classical import ClassicalDigitizer
from ecgdl.models.checkpoints import load_net_state, resolve_weights
from ecgdl.models.registry import build_network, network_kind

__all__ = ["InkSegmenter", "with_learned_ink"]


class InkSegmenter:
    """A page network's trace probability of a page (module docstring).

    Args:
        weights: a checkpoint or exported weight file, or the name of one shipped in ``ecgdl/assets`` (``ink``);
            it must record its network (``network``) and be a page network.
        page_size_hw: the page size it was trained at (default: the checkpoint's); a page is scaled to fit it.
    """

    def __init__(self, weights: str | Path = "ink", page_size_hw: tuple[int, int] | None = None) -> None:
        path = resolve_weights(weights)
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
        spec = ckpt.get("network")
        if not spec:
            raise ValueError(
                f"{path}: the checkpoint does not record its network; export it with export_weights"
            )
        if network_kind(spec["name"]) != "page":
            raise ValueError(f"{path}: {spec['name']!r} is not a page network")
        self.net = build_network(**spec)
        load_net_state(self.net, ckpt, path)
        self.net.eval()
        trained = ckpt.get("hyper_parameters", {}).get("page_size_hw")
        size = page_size_hw or trained
        if size is None:
            raise ValueError(f"{path}: no page_size_hw recorded; give the size the network was trained at")
        self.page_size_hw = (int(size[0]), int(size[1]))
        self.weights = str(path)

    def __call__(self, page_rgb: np.ndarray) -> np.ndarray:
        h, w = page_rgb.shape[:2]
        scale = min(self.page_size_hw[0] / h, self.page_size_hw[1] / w)
        small = page_rgb
        if scale < 1.0:
            small = cv2.resize(
                page_rgb, (max(8, round(w * scale)), max(8, round(h * scale))), interpolation=cv2.INTER_AREA
            )
        x = torch.from_numpy(np.ascontiguousarray(small)).permute(2, 0, 1)[None].float().div_(255.0)
        with torch.inference_mode():
            prob = torch.sigmoid(self.net(x))[0, 0].numpy()
        if prob.shape != (h, w):
            prob = cv2.resize(prob, (w, h), interpolation=cv2.INTER_LINEAR)
        return prob.astype(np.float32)


def with_learned_ink(digitizer, ink_model: InkSegmenter):
    """A copy of ``digitizer`` (the classical one, or a crop network reading with the classical page geometry)
    whose page-geometry stage vetoes the colour ink with ``ink_model``; the network's weights are shared, not
    copied. A ``TypeError`` for a digitizer without a classical geometry stage."""
    if isinstance(digitizer, ClassicalDigitizer):
        out = copy.copy(digitizer)
        out.ink_model, out.ink_model_mode = ink_model, "veto"
        return out
    kwargs = getattr(digitizer, "geometry_kwargs", None)
    if kwargs is None or getattr(digitizer, "kind", None) == "page":
        raise TypeError(
            f"{type(digitizer).__name__} has no classical page-geometry stage to give a learned ink"
        )
    out = copy.copy(digitizer)
    out._geometry = ClassicalDigitizer(**kwargs, ink_model=ink_model, ink_model_mode="veto")
    return out
