"""torchmetrics wrapper of the Kaggle SNR for Lightning loops (DDP-safe: per-image ratios are gathered by 'cat').

The arithmetic is :func:`ecgdl.metrics.snr.snr_kaggle` on CPU numpy copies; only the per-image linear ratios are
kept as state, so the epoch value is ``10 * log10(mean ratio)`` over every image seen on every process.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torchmetrics import Metric
from torchmetrics.utilities import dim_zero_cat

from ecgdl.constants import MAX_LAG_S, SNR_CAP_LINEAR
from ecgdl.metrics.snr import snr_kaggle

__all__ = ["KaggleSNR"]


class KaggleSNR(Metric):
    """Kaggle SNR in dB, accumulated over batches and processes.

    ``update(preds, target, fs_hz=None)``: ``preds`` and ``target`` are (B, T, 12) tensors in ``LEADS`` order,
    NaN in ``target`` marks rows without truth; ``fs_hz`` is a number, a (B,) tensor/sequence, or ``None`` to
    use the constructor's ``fs_hz``. ``compute()`` returns a float64 scalar tensor (NaN before any update).
    """

    is_differentiable = False
    higher_is_better = True
    full_state_update = False

    ratios: list[torch.Tensor]

    def __init__(
        self,
        fs_hz: float | None = None,
        *,
        cap: float = SNR_CAP_LINEAR,
        max_lag_s: float = MAX_LAG_S,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.fs_hz = fs_hz
        self.cap = float(cap)
        self.max_lag_s = float(max_lag_s)
        self.add_state("ratios", default=[], dist_reduce_fx="cat")

    def update(
        self,
        preds: torch.Tensor,
        target: torch.Tensor,
        fs_hz: float | Sequence[float] | torch.Tensor | None = None,
    ) -> None:
        if preds.shape != target.shape or preds.ndim != 3:
            raise ValueError(
                f"preds and target must both be (B, T, 12); got {tuple(preds.shape)} and {tuple(target.shape)}"
            )
        fs = self.fs_hz if fs_hz is None else fs_hz
        if fs is None:
            raise ValueError("KaggleSNR needs fs_hz (in the constructor or in update)")
        if isinstance(fs, torch.Tensor):
            fs = fs.detach().cpu().double().numpy()
        p = preds.detach().to("cpu", torch.float64).numpy()
        t = target.detach().to("cpu", torch.float64).numpy()
        result = snr_kaggle(list(t), list(p), fs, cap=self.cap, max_lag_s=self.max_lag_s)
        self.ratios.append(
            torch.as_tensor(np.asarray(result.image_ratio), dtype=torch.float64, device=self.device)
        )

    def compute(self) -> torch.Tensor:
        if isinstance(self.ratios, list) and not self.ratios:
            return torch.tensor(float("nan"), dtype=torch.float64, device=self.device)
        ratios = dim_zero_cat(self.ratios)
        if ratios.numel() == 0:
            return torch.tensor(float("nan"), dtype=torch.float64, device=self.device)
        db = 10.0 * torch.log10(ratios.mean())
        return torch.clamp(db, min=-self.cap)
