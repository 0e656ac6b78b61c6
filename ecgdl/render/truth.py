"""Ground truth that comes with every rendered page: where each lead was drawn, in pixels, and what it shows, in mV.

Everything a digitizer could be trained or checked against is here: the plotted signal (Kaggle CSV semantics),
the sub-pixel stroke centre line of every lead panel, the per-pixel-column trace position, lead boxes, zero-mV
baselines, calibration-pulse boxes and the grid geometry. ``save``/``load`` round-trip exactly.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import cv2
import numpy as np

from ecgdl.signals.record import EcgRecord

#: Suffix of the file that stores a page's ground truth beside its image (``<stem>.truth.npz``).
TRUTH_SUFFIX = ".truth.npz"


@dataclass
class LeadPanel:
    """One printed lead strip.

    ``points_xy`` (n, 2) float64 is the stroke centre line in page pixels, one point per plotted sample
    ``start_sample .. end_sample-1`` of the record; ``cols_x``/``cols_y`` give the trace's sub-pixel y at every
    integer pixel column it spans (linear interpolation of the polyline, which is what the stroke follows).
    Pixel coordinates put the centre of pixel (0, 0) at (0.0, 0.0). ``polarity`` is -1.0 for a lead printed upside
    down (Cabrera's -aVR), so ``y = baseline_y_px - polarity * value_mv * px_per_mv``; the record keeps the lead's
    own values.
    """

    lead: str
    row: int
    col: int
    start_sample: int
    end_sample: int
    box_xyxy: tuple[float, float, float, float]
    baseline_y_px: float
    points_xy: np.ndarray
    cols_x: np.ndarray
    cols_y: np.ndarray
    polarity: float = 1.0

    @property
    def n_points(self) -> int:
        return int(self.points_xy.shape[0])


@dataclass
class GridGeometry:
    """Where the paper grid lies: line positions are ``origin + k * minor_px`` (every 5th line is major)."""

    origin_x_px: float
    origin_y_px: float
    minor_px: float
    major_every: int
    colour: str
    pattern: str = "solid"  # solid lines, or dots where lines would cross (grid.GRID_PATTERNS)


@dataclass
class RenderTruth:
    """Ground truth of one rendered page (see module docstring)."""

    record: EcgRecord
    layout: str
    width_px: int
    height_px: int
    dpi: float
    px_per_mm: float
    speed_mm_per_s: float
    gain_mm_per_mv: float
    line_width_px: float
    panels: list[LeadPanel]
    row_baselines_y_px: list[float]
    pulse_boxes_xyxy: list[tuple[float, float, float, float]]
    grid: GridGeometry | None
    meta: dict = field(default_factory=dict)

    # ------------------------------------------------------------------ derived views
    @property
    def fs_hz(self) -> float:
        return self.record.fs_hz

    @property
    def px_per_s(self) -> float:
        return self.speed_mm_per_s * self.px_per_mm

    @property
    def px_per_mv(self) -> float:
        return self.gain_mm_per_mv * self.px_per_mm

    def lead_mask(self, index: int, thickness_px: int | None = None) -> np.ndarray:
        """H x W bool mask of panel ``index``'s stroke (drawn at the stroke width unless told otherwise)."""
        mask = np.zeros((self.height_px, self.width_px), np.uint8)
        _draw_polyline(mask, self.panels[index].points_xy, thickness_px or max(1, round(self.line_width_px)))
        return mask.astype(bool)

    def page_mask(self, thickness_px: int | None = None) -> np.ndarray:
        """H x W bool mask of every trace on the page."""
        mask = np.zeros((self.height_px, self.width_px), np.uint8)
        for panel in self.panels:
            _draw_polyline(mask, panel.points_xy, thickness_px or max(1, round(self.line_width_px)))
        return mask.astype(bool)

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | Path) -> Path:
        """Write to ``path`` (``.truth.npz``); every array and number comes back bit-exact from :meth:`load`."""
        path = Path(path)
        arrays: dict[str, np.ndarray] = {"signal_mv": self.record.signal_mv}
        panels_meta = []
        for i, p in enumerate(self.panels):
            arrays[f"p{i}_points_xy"] = p.points_xy
            arrays[f"p{i}_cols_x"] = p.cols_x
            arrays[f"p{i}_cols_y"] = p.cols_y
            d = {k: v for k, v in asdict(p).items() if k not in ("points_xy", "cols_x", "cols_y")}
            d["box_xyxy"] = list(p.box_xyxy)
            panels_meta.append(d)
        meta = {
            "record_id": self.record.record_id,
            "fs_hz": self.record.fs_hz,
            "record_meta": self.record.meta,
            "layout": self.layout,
            "width_px": self.width_px,
            "height_px": self.height_px,
            "dpi": self.dpi,
            "px_per_mm": self.px_per_mm,
            "speed_mm_per_s": self.speed_mm_per_s,
            "gain_mm_per_mv": self.gain_mm_per_mv,
            "line_width_px": self.line_width_px,
            "panels": panels_meta,
            "row_baselines_y_px": list(self.row_baselines_y_px),
            "pulse_boxes_xyxy": [list(b) for b in self.pulse_boxes_xyxy],
            "grid": asdict(self.grid) if self.grid is not None else None,
            "meta": self.meta,
        }
        # json float repr round-trips float64 exactly.
        arrays["meta_json"] = np.array(json.dumps(meta, default=_json_default))
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as fh:
            np.savez_compressed(fh, **arrays)
        return path

    @classmethod
    def load(cls, path: str | Path) -> RenderTruth:
        path = Path(path)
        try:
            data = np.load(path, allow_pickle=False)
            meta = json.loads(str(data["meta_json"]))
        except (OSError, KeyError, ValueError) as exc:
            raise ValueError(f"{path}: not a readable ecgdl truth file ({exc})") from exc
        record = EcgRecord(data["signal_mv"], meta["fs_hz"], meta["record_id"], meta.get("record_meta", {}))
        panels = []
        for i, d in enumerate(meta["panels"]):
            d = dict(d)
            d["box_xyxy"] = tuple(d["box_xyxy"])
            panels.append(
                LeadPanel(
                    **d,
                    points_xy=data[f"p{i}_points_xy"],
                    cols_x=data[f"p{i}_cols_x"],
                    cols_y=data[f"p{i}_cols_y"],
                )
            )
        return cls(
            record=record,
            layout=meta["layout"],
            width_px=meta["width_px"],
            height_px=meta["height_px"],
            dpi=meta["dpi"],
            px_per_mm=meta["px_per_mm"],
            speed_mm_per_s=meta["speed_mm_per_s"],
            gain_mm_per_mv=meta["gain_mm_per_mv"],
            line_width_px=meta["line_width_px"],
            panels=panels,
            row_baselines_y_px=meta["row_baselines_y_px"],
            pulse_boxes_xyxy=[tuple(b) for b in meta["pulse_boxes_xyxy"]],
            grid=GridGeometry(**meta["grid"]) if meta["grid"] is not None else None,
            meta=meta.get("meta", {}),
        )


_SHIFT = 4  # cv2 fixed-point bits: draw polylines with 1/16 px precision


def _draw_polyline(
    canvas: np.ndarray, points_xy: np.ndarray, thickness: int, colour=255, aa: bool = False
) -> None:
    if len(points_xy) == 0:
        return
    pts = np.round(np.asarray(points_xy) * (1 << _SHIFT)).astype(np.int32).reshape(-1, 1, 2)
    cv2.polylines(canvas, [pts], False, colour, thickness, cv2.LINE_AA if aa else cv2.LINE_8, shift=_SHIFT)


def _json_default(obj):
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise TypeError(f"cannot serialise {type(obj).__name__}")
