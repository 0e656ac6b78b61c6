"""What a reader's error depends on, per sample: the features of :class:`ecgdl.fusion.model.ErrorModel`.

- ``bias``: 1 everywhere (the reader's error on an easy sample).
- ``log_doubt``: the crop network's own doubt, ``log(off_peak + 0.01)`` where ``off_peak`` is the share of its
  per-column height distribution away from its read-out (:func:`ecgdl.models.networks.heatmap_off_peak`); 0 for
  readers without one.
- ``page_noise``: the page's quality figure, one value per page (:func:`page_noise`).
- ``near_pulse``: 1 within ``context_s`` of a lead's end that abuts a calibration pulse (a crop there shows the
  pulse's vertical edge).
- ``near_join``: 1 within ``context_s`` of a lead-to-lead join inside a row (a crop there shows the other lead's
  first or last stroke, and on many printouts a separator across the trace).

Where the trace leaves a network's crop there is no feature: the network's reading is censored there (a crop
cannot show what lies outside it) and counts as missing (:func:`ecgdl.models.crop_digitizer.beyond_crop`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from ecgdl.constants import LEADS

__all__ = ["FEATURES", "context_masks", "lead_joins", "page_noise", "sample_features"]

FEATURES: tuple[str, ...] = ("bias", "log_doubt", "page_noise", "near_pulse", "near_join")
#: floor added to the off-peak share before its log
DOUBT_FLOOR = 0.01


def page_noise(meta: Mapping[str, Any]) -> float:
    """The page's quality figure in [0, 1], the one place it is defined: the classical digitizer's split-stroke
    noise (``split_stroke_noise``: the share of would-be thin strokes that lie away from any ink; clean renders
    below 0.01, scans up to 0.05, photos and stained or copied pages 0.06-0.8). Unknown counts as 1 (noisy)."""
    value = meta.get("split_stroke_noise")
    try:
        value = float(value)
    except (TypeError, ValueError):
        return 1.0
    return 1.0 if not math.isfinite(value) else min(max(value, 0.0), 1.0)


def lead_joins(segments: list[dict], row_tol_mv: float = 0.2) -> list[tuple[bool, bool]]:
    """For each segment of the classical digitizer's ``segments``: (another lead of its row ends where it starts,
    another lead of its row starts where it ends). Two segments share a row when their zero lines lie within
    ``row_tol_mv`` of each other (in the segment's mV scale); they join when one's ``end_sample`` is within a
    sample of the other's ``start_sample``."""
    out = []
    for seg in segments:
        tol_px = row_tol_mv * float(seg.get("px_per_mv") or 0.0)
        same_row = [
            o
            for o in segments
            if o["lead"] != seg["lead"]
            and abs(float(o["baseline_y_px"]) - float(seg["baseline_y_px"])) <= tol_px
        ]
        starts = any(abs(int(o["end_sample"]) - int(seg["start_sample"])) <= 1 for o in same_row)
        ends = any(abs(int(o["start_sample"]) - int(seg["end_sample"])) <= 1 for o in same_row)
        out.append((starts, ends))
    return out


def context_masks(
    segments: list[dict], n_samples: int, fs_hz: float, context_s: float
) -> tuple[np.ndarray, np.ndarray]:
    """(near_pulse, near_join): (n_samples, 12) boolean masks of the samples within ``context_s`` of a segment end
    that abuts a calibration pulse (the segment's ``pulse_sides``) or another lead of its row
    (:func:`lead_joins`)."""
    near_pulse = np.zeros((n_samples, len(LEADS)), bool)
    near_join = np.zeros_like(near_pulse)
    n_ctx = max(0, round(context_s * fs_hz))
    if n_ctx == 0:
        return near_pulse, near_join
    for seg, (starts, ends) in zip(segments, lead_joins(segments), strict=True):
        j = LEADS.index(seg["lead"])
        n0, n1 = max(0, int(seg["start_sample"])), min(n_samples, int(seg["end_sample"]))
        sides = set(seg.get("pulse_sides") or ())
        head, tail = slice(n0, min(n1, n0 + n_ctx)), slice(max(n0, n1 - n_ctx), n1)
        if "start" in sides:
            near_pulse[head, j] = True
        if "end" in sides:
            near_pulse[tail, j] = True
        if starts:
            near_join[head, j] = True
        if ends:
            near_join[tail, j] = True
    return near_pulse, near_join


def sample_features(
    noise: float,
    near_pulse: np.ndarray,
    near_join: np.ndarray,
    off_peak: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """The :data:`FEATURES` as (T, 12) float arrays. ``off_peak``: the network's, where it read (missing: the
    feature is 0; NaN samples count as no doubt)."""
    shape = np.shape(near_pulse)
    if off_peak is None:
        log_doubt = np.zeros(shape)
    else:
        log_doubt = np.log(np.clip(np.nan_to_num(np.asarray(off_peak, np.float64)), 0.0, 1.0) + DOUBT_FLOOR)
    return {
        "bias": np.ones(shape),
        "log_doubt": log_doubt,
        "page_noise": np.full(shape, float(noise)),
        "near_pulse": np.asarray(near_pulse, np.float64),
        "near_join": np.asarray(near_join, np.float64),
    }
