"""Debug pictures of the classical digitizer: one PNG per stage (``debug_dir``), for a person to look at.

``<record_id>_1_rectified.png`` (the rectified page), ``_2_ink.png`` (the ink weight, dark = ink) and
``_3_layout.png`` (the lead segments' boxes, zero lines and names, and the traces).
"""

from __future__ import annotations

import time
from pathlib import Path

import cv2
import numpy as np

from ecgdl.classical.page import LeadSegment, RowBand
from ecgdl.classical.trace import RowTrace

__all__ = ["DebugWriter", "draw_layout"]


class DebugWriter:
    """Writes one PNG per stage, ``<directory>/<record_id>_<stage>.png``, when ``directory`` is set."""

    def __init__(self, directory: str | None, record_id: str) -> None:
        self.enabled = directory is not None
        self.dir = Path(directory) if directory else None
        self.stem = record_id or "page"
        if self.dir is not None:
            self.dir.mkdir(parents=True, exist_ok=True)

    def save(self, stage: str, image: np.ndarray) -> None:
        if self.dir is None:
            return
        img = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
        cv2.imwrite(str(self.dir / f"{self.stem}_{stage}.png"), img)


def draw_layout(
    page: np.ndarray, rows: list[RowBand], segs: list[LeadSegment], traces: list[RowTrace]
) -> np.ndarray:
    """The page with each lead segment's box, zero line and name, and the traces, drawn over it."""
    out = page.copy()
    for seg in segs:
        cv2.rectangle(
            out, (int(seg.x0_px), int(seg.y_lo_px)), (int(seg.x1_px), int(seg.y_hi_px) - 1), (0, 160, 255), 1
        )
        cv2.line(
            out,
            (int(seg.x0_px), int(seg.baseline_y_px)),
            (int(seg.x1_px), int(seg.baseline_y_px)),
            (0, 200, 0),
            1,
        )
        cv2.putText(
            out,
            seg.lead,
            (int(seg.x0_px) + 3, int(seg.y_lo_px) + 15),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.5,
            (0, 0, 255),
            1,
        )
    for tr in traces:
        pts = np.round(np.c_[tr.x, tr.y] * 16).astype(np.int32).reshape(-1, 1, 2)
        cv2.polylines(out, [pts], False, (0, 0, 255), 1, cv2.LINE_AA, shift=4)
    return out


class StageClock:
    """Seconds spent per stage: :meth:`lap` charges the time since the previous lap to ``stage``."""

    def __init__(self) -> None:
        self.timings: dict[str, float] = {}
        self._t = time.perf_counter()

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self.timings[stage] = now - self._t
        self._t = now
