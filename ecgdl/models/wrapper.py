"""Any digitizer (classical, oracle, ...) as a LightningModule, so it is validated, logged, swept and ranked
through the same training loop as the learned models. It has no trainable parameters: ``train.py`` only
validates and tests it, on full-resolution pages (DataModule target ``raw``).
"""

from __future__ import annotations

import lightning as L
import numpy as np
import torch

from ecgdl.metrics.snr import fill_undefined
from ecgdl.metrics.torchmetrics import KaggleSNR
from ecgdl.signals.record import EcgRecord

_SPLITS = ("val", "test")


class DigitizerEvalModule(L.LightningModule):
    """Wraps ``digitizer`` (anything with ``digitize(image_rgb, fs_hz, n_samples)``); logs ``{val,test}/snr_db``
    and ``{val,test}/failed`` (fraction of pages it could not read; they score as all-zero predictions)."""

    data_target = "raw"

    def __init__(self, digitizer) -> None:
        super().__init__()
        if not hasattr(digitizer, "digitize"):
            raise TypeError(f"{type(digitizer).__name__} has no digitize(image_rgb, fs_hz, n_samples)")
        self.digitizer = digitizer
        self.snr = torch.nn.ModuleDict({s: KaggleSNR() for s in _SPLITS})

    @property
    def needs_truth(self) -> bool:
        """Whether the wrapped digitizer reads from the truth (the oracle), which callers then hand over."""
        return bool(getattr(self.digitizer, "needs_truth", False))

    def digitize(self, image_rgb: np.ndarray, fs_hz: float, n_samples: int, **kwargs) -> EcgRecord:
        return self.digitizer.digitize(image_rgb, fs_hz, n_samples, **kwargs)

    def _eval_step(self, batch: dict, split: str) -> None:
        truth = batch["signal_mv"]
        preds = torch.zeros_like(truth)
        failed = 0
        needs_truth = self.needs_truth
        for k, image in enumerate(batch["image"]):
            n, fs = int(batch["n_samples"][k]), float(batch["fs_hz"][k])
            t = truth[k, :n].cpu().numpy().astype(np.float64)
            try:
                kwargs = {"truth": EcgRecord(t, fs)} if needs_truth else {}
                record = self.digitizer.digitize(np.asarray(image), fs, n, **kwargs)
                filled, _ = fill_undefined(record.signal_mv, t)
                preds[k, :n] = torch.from_numpy(np.nan_to_num(filled)).to(preds)
            except Exception:  # an unreadable page scores as all zeros, like a fallback submission
                failed += 1
        self.snr[split].update(preds, truth, batch["fs_hz"])
        pages = len(batch["image"])
        self.log(f"{split}/snr_db", self.snr[split], on_epoch=True, batch_size=pages, prog_bar=split == "val")
        self.log(f"{split}/failed", failed / pages, on_epoch=True, batch_size=pages)

    def validation_step(self, batch: dict, batch_idx: int) -> None:
        self._eval_step(batch, "val")

    def test_step(self, batch: dict, batch_idx: int) -> None:
        self._eval_step(batch, "test")

    def configure_optimizers(self):
        return None
