"""The record's meta of a classical reading: the page geometry in the frame callers read it in, and what the
stages measured on the way.

``segments`` (one dict per lead segment: lead, start_sample, end_sample, x0_px, baseline_y_px, px_per_s,
px_per_mv, pulse_sides, offset_mv, zero_y_px) and ``row_baselines_px`` are in *input image* pixels when the page was not
warped (scaled back when it was downscaled: ``segments_frame`` "input"), else in the rectified page's pixels
(``segments_frame`` "rectified", with ``homography`` from input pixels to those; :func:`page_to_input` maps
such points back). The rest: ``layout``,
``px_per_mm`` (same frame), ``px_per_mm_x`` / ``px_per_mm_y`` (the page's), ``grid_found``, ``calibration``
(how the scales were found), the printed speed and gain, ``gain_mm_per_mv``, ``speed_mm_per_s``, ``n_pulses``,
``rotation_deg``, ``perspective``, ``grid_refine_shift_px``, ``missing_leads``, ``leads_from_einthoven``,
``timings_s`` (per stage), ``separator_bars``, ``split_stroke_noise``, ``stroke_px``, ``split_strokes`` and
the limb fit's entries (:func:`~ecgdl.signals.limb.fit_limb_leads_with_check`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ecgdl.classical.frame import PageFrame
from ecgdl.classical.ink import PageInk
from ecgdl.classical.page import PageGeometry
from ecgdl.classical.printed import PrintedScales
from ecgdl.classical.tracing import RowTracer

__all__ = ["PageFindings", "input_from_page", "page_to_input", "record_meta"]


def input_from_page(meta: Mapping[str, Any]) -> np.ndarray | None:
    """The 3 x 3 map from the segments' page pixels to the input image's (the inverse of ``homography``) for a
    reading whose ``segments_frame`` is "rectified"; None when the segments are in the input's pixels already."""
    if meta.get("segments_frame") != "rectified":
        return None
    return np.linalg.inv(np.asarray(meta["homography"], np.float64))


def page_to_input(
    meta: Mapping[str, Any] | None,
) -> Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]] | None:
    """:func:`input_from_page` as a map of page points (x, y arrays) to the input image's pixels; None when the
    segments are in the input's pixels already (or, for a drawing, when the meta holds no homography)."""
    meta = meta or {}
    to_input = input_from_page(meta) if "homography" in meta else None
    if to_input is None:
        return None

    def apply(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
        p = np.stack([x, y, np.ones_like(x)], axis=-1) @ to_input.T
        return p[..., 0] / p[..., 2], p[..., 1] / p[..., 2]

    return apply


@dataclass(frozen=True)
class PageFindings:
    """What the classical geometry stages saw on the way to a page's geometry, which tracing reads again and
    the meta reports: the frame (rectified page, rectification, grid), the page's ink, its row tracer and row
    pitch (mm), the printed scales and how the scales were found (:class:`~ecgdl.classical.scales.Scales`'s
    ``method``)."""

    frame: PageFrame
    ink: PageInk
    tracer: RowTracer
    pitch_mm: float
    printed: PrintedScales
    scale_method: str


def record_meta(
    geometry: PageGeometry,
    seen: PageFindings,
    segments: list[dict[str, Any]],
    missing: list[str],
    repaired: list[str],
    timings: dict[str, float],
    *,
    split_stroke_noise: float,
    split_strokes: bool,
    limb_meta: dict[str, Any],
) -> dict[str, Any]:
    """The record's meta (module docstring) from the page's ``geometry``, what the stages saw, the
    ``segments`` that :func:`~ecgdl.classical.resample.assemble_record` placed, the leads ``missing`` and
    ``repaired`` from the limb identities, the stage ``timings``, the tracing's split-stroke noise figure and
    choice, and the limb fit's meta."""
    frame, cal, rect = seen.frame, seen.frame.cal, seen.frame.rect
    scale = geometry.input_scale
    segments_frame = "rectified" if geometry.rectified else "input"
    row_baselines = geometry.row_baselines_px
    if segments_frame == "input" and scale != 1.0:
        for g in segments:
            for k in ("x0_px", "baseline_y_px", "px_per_s", "px_per_mv", "zero_y_px"):
                g[k] = g[k] / scale
        row_baselines = [y / scale for y in row_baselines]
    meta: dict[str, Any] = {
        "digitizer": "classical",
        "layout": geometry.layout,
        "px_per_mm": float(cal.px_per_mm / scale) if segments_frame == "input" else float(cal.px_per_mm),
        "px_per_mm_x": float(cal.px_per_mm_x),
        "px_per_mm_y": float(cal.px_per_mm_y),
        "grid_found": bool(cal.found),
        "calibration": seen.scale_method,
        "printed_speed_mm_per_s": seen.printed.speed_mm_per_s,
        "printed_gain_mm_per_mv": seen.printed.gain_mm_per_mv,
        "gain_mm_per_mv": float(geometry.gain_mm_per_mv),
        "speed_mm_per_s": float(geometry.speed_mm_per_s),
        "n_pulses": int(geometry.n_pulses),
        "rotation_deg": float(rect.angle_h_deg),
        "perspective": bool(rect.perspective),
        # the most the grid refinement moved the page (0: not done)
        "grid_refine_shift_px": float(frame.grid_shift_px),
        "segments_frame": segments_frame,
        "segments": segments,
        "row_baselines_px": row_baselines,  # each row of trace's zero line, in the segments' frame
        "missing_leads": missing,
        "leads_from_einthoven": repaired,
        "timings_s": timings,
    }
    if segments_frame == "rectified":
        meta["homography"] = geometry.homography.tolist()  # input pixels -> rectified pixels
    meta["separator_bars"] = len(seen.ink.bars)
    meta["split_stroke_noise"] = split_stroke_noise
    meta["stroke_px"] = seen.ink.stroke_px  # the trace's estimated thickness, page pixels
    meta["split_strokes"] = split_strokes
    meta.update(limb_meta)
    return meta
