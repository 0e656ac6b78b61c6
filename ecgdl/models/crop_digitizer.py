"""Learned crop networks as full digitizers: the classical stages find the page geometry (rectification, scale,
layout, each lead's baseline and time window), a network reads the trace in every 2.5-s lead crop.

Each crop is sampled straight from the input image through the composite map crop -> rectified page -> input
(one resampling), with the same geometry as the training crops (:class:`ecgdl.data.targets.CropSpec`): 2.5 s
wide, ``height_mm`` tall, the lead's zero-mV baseline at ``baseline_frac`` of the height.

A crop cannot see a trace that leaves it (deep S waves, tall R waves at 10 mm/mV in a 40-mm crop): where the
classical tracer's full-page reading lies outside the crop (within ``edge_margin_mm`` of its top or bottom, widened
by ``edge_dilate_s`` each side), that reading replaces the network's (:func:`edge_fallback`). Likewise next to a
calibration pulse (:func:`pulse_edge_fallback`) and on pages whose rows are closer than a crop is tall
(:func:`crowded_segments`), and at the end of a lead that runs into the next one of its row
(:func:`boundary_fallback`).

On clean pages the two readings are also blended where they agree (:func:`blend_readings`): the classical tracer
and the network err differently, and their mean beats both.

A lead printed twice (lead II in its column and in the rhythm strip) is read from the longer strip only, as the
classical digitizer does (:func:`segments_to_read`): the two strips can sit at slightly different zero lines, and
averaging them would add that step to the lead.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from scipy.ndimage import binary_dilation

from ecgdl.classical.trace import true_runs
from ecgdl.constants import LEADS
from ecgdl.data.targets import CropSpec, crop_affine, strip_windows, warp_crop
from ecgdl.digitizer import DigitizationError
from ecgdl.models.decode import crops_to_signal
from ecgdl.signals.limb import fit_limb_leads_with_check
from ecgdl.signals.record import EcgRecord


def segments_to_read(segments: list[dict]) -> list[dict]:
    """The segments worth reading: a segment is dropped when a longer one of the same lead covers all its
    samples (``start_sample``/``end_sample``), the rule the classical resampler applies when it assembles leads."""
    keep = []
    for seg in segments:
        n0, n1 = int(seg["start_sample"]), int(seg["end_sample"])
        covered = any(
            other is not seg
            and other["lead"] == seg["lead"]
            and int(other["end_sample"]) - int(other["start_sample"]) > n1 - n0
            and int(other["start_sample"]) <= n0
            and int(other["end_sample"]) >= n1
            for other in segments
        )
        if not covered:
            keep.append(seg)
    return keep


def cut_page_crops(
    image_rgb: np.ndarray,
    meta: dict[str, Any],
    fs_hz: float,
    spec: CropSpec,
    segments: list[dict] | None = None,
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Crops (N, h, w, 3) uint8 for every 2.5-s window of every segment a classical digitizer found, with the
    calibration crops_to_signal needs. ``meta`` is that digitizer's record.meta (segments, homography, gain).
    ``segments``: the ones to cut, by default all but those covered by a longer one of the same lead
    (:func:`segments_to_read`)."""
    if segments is None:
        segments = segments_to_read(meta.get("segments") or [])
    if not segments:
        raise DigitizationError("crops: the page geometry stage found no lead segments")
    to_input = None
    if meta.get("segments_frame") == "rectified":
        to_input = np.linalg.inv(np.asarray(meta["homography"], np.float64))
    gain = float(meta.get("gain_mm_per_mv") or 10.0)
    crops, info = [], {k: [] for k in ("px_per_mv", "baseline_y", "lead_index", "t0_s", "s_per_col")}
    for seg in segments:
        n0, n1 = int(seg["start_sample"]), int(seg["end_sample"])
        px_per_s, px_per_mv = float(seg["px_per_s"]), float(seg["px_per_mv"])
        for t0, t1 in strip_windows((n1 - n0) / fs_hz, spec):
            x0, y0, sx, sy = crop_affine(
                float(seg["x0_px"]), float(seg["baseline_y_px"]), px_per_s, px_per_mv / gain, t0, t1, spec
            )
            crop = warp_crop(image_rgb, x0, y0, sx, sy, spec, page_to_image=to_input)
            crops.append(crop)
            crop_px_per_mv = px_per_mv / sy
            info["px_per_mv"].append(crop_px_per_mv)
            # read from the level the classical assembly put this lead's segment on (``offset_mv``)
            offset_px = float(seg.get("offset_mv", 0.0)) * crop_px_per_mv
            info["baseline_y"].append(spec.baseline_frac * spec.height_px + offset_px)
            info["lead_index"].append(LEADS.index(seg["lead"]))
            info["t0_s"].append(n0 / fs_hz + t0)
            info["s_per_col"].append(sx / px_per_s)
    return np.stack(crops), {k: np.asarray(v) for k, v in info.items()}


def rows_from_signal(
    signal_mv: np.ndarray, info: dict[str, np.ndarray], fs_hz: float, width_px: int
) -> np.ndarray:
    """(N, width_px) crop rows at which a (T, 12) signal in mV would be drawn in each crop of ``info``
    (linear interpolation between samples; NaN where the lead has no value)."""
    n_crops = len(info["lead_index"])
    out = np.full((n_crops, width_px), np.nan)
    k = np.arange(signal_mv.shape[0])
    for i in range(n_crops):
        lead = signal_mv[:, int(info["lead_index"][i])]
        ok = np.isfinite(lead)
        if ok.sum() < 2:
            continue
        t = (float(info["t0_s"][i]) + np.arange(width_px) * float(info["s_per_col"][i])) * fs_hz
        inside = (t >= k[ok][0]) & (t <= k[ok][-1])
        v = np.interp(t, k[ok], lead[ok])
        out[i] = np.where(inside, float(info["baseline_y"][i]) - v * float(info["px_per_mv"][i]), np.nan)
    return out


def edge_fallback(
    rows: np.ndarray,
    ref_rows: np.ndarray,
    height_px: int,
    margin_px: float,
    dilate_cols: int,
    max_disagree_px: np.ndarray | float | None = None,
    meet_within_cols: int = 1,
) -> tuple[np.ndarray, np.ndarray]:
    """Replace ``rows`` (N, W) by ``ref_rows`` where the reference trace leaves the crop.

    A column is replaced when ``ref_rows`` lies within ``margin_px`` of the crop's top or bottom row (or
    beyond), widened by ``dilate_cols`` columns each side; NaN reference columns are never used. ``margin_px < 0``
    disables the fallback. With ``max_disagree_px`` (one value, or one per crop) a stretch of such columns is
    replaced only where the reference lies within that distance of ``rows`` in one of the ``meet_within_cols``
    columns before it and in one of those after it (the crop shows the stroke there): a reference that never
    meets the network's trace there follows another stroke (on synthetic photos the classical reading often
    does). More than one column lets a stretch end on a steep wave, where the two readings part for a few
    columns (a tall R whose S the classical reading cuts short). Returns (fused rows, boolean mask of replaced
    columns).
    """
    rows = np.asarray(rows, np.float64)
    ref = np.asarray(ref_rows, np.float64)
    if rows.shape != ref.shape:
        raise ValueError(f"rows {rows.shape} and ref_rows {ref.shape} must have the same shape")
    if margin_px < 0 or rows.size == 0:
        return rows.copy(), np.zeros(rows.shape, bool)
    with np.errstate(invalid="ignore"):
        out = (ref < margin_px) | (ref > height_px - 1 - margin_px)
    if dilate_cols > 0:
        out = binary_dilation(out, np.ones((1, 2 * int(dilate_cols) + 1), bool))
    use = out & np.isfinite(ref)
    if max_disagree_px is not None:
        # a stretch is replaced only where the reference meets the network's trace at both its ends (where the
        # crop still shows the stroke): otherwise the reference is on another stroke
        tol = np.broadcast_to(np.asarray(max_disagree_px, np.float64), (rows.shape[0],))[:, None]
        with np.errstate(invalid="ignore"):
            met = np.abs(rows - ref) <= tol  # NaN on either side: not met
        width, reach = rows.shape[1], max(1, int(meet_within_cols))
        for i in np.flatnonzero(use.any(axis=1)):
            for a, b in true_runs(use[i]):
                sides = [met[i, max(0, a - reach) : a], met[i, b : min(width, b + reach)]]
                sides = [side for side in sides if side.size]  # a stretch at the crop's edge: its other end
                if not sides or not all(side.any() for side in sides):
                    use[i, a:b] = False
    return np.where(use, ref, rows), use


def crowded_segments(
    segments: list[dict], row_baselines_px: list[float], px_per_mm: float, spec: CropSpec
) -> list[dict]:
    """The segments whose row has another row's zero line nearer than the crop reaches below its own: within
    ``(1 - baseline_frac) * height_mm`` (18 mm for the default crop) above or below. A segment belongs to the row
    whose zero line (``row_baselines_px``, the classical digitizer's meta) is nearest its own baseline.

    A crop network trained on pages whose rows are further apart (the 4-row 3x4+II pages, about 37 mm) cannot tell
    which of two traces in a crop is its own; on such pages (12x1: rows 10-15 mm apart; 6x2 and 3x4+3: 22-30 mm,
    not crowded) the classical reading, which tracks each row in its own band, is kept instead
    (:func:`digitize_with_crops`).
    """
    rows = np.asarray(row_baselines_px, np.float64)
    if rows.size < 2 or px_per_mm <= 0:
        return []
    reach = (1.0 - spec.baseline_frac) * spec.height_mm * px_per_mm
    out = []
    for seg in segments:
        own = int(np.argmin(np.abs(rows - float(seg["baseline_y_px"]))))
        others = np.delete(rows, own)
        if (np.abs(others - rows[own]) < reach).any():
            out.append(seg)
    return out


def pulse_edge_fallback(
    signal_mv: np.ndarray, ref_mv: np.ndarray, segments: list[dict], n_edge: int
) -> tuple[np.ndarray, int]:
    """``signal_mv`` (T, 12) with the first (last) ``n_edge`` samples of every lead segment that starts right
    after (ends right before) a calibration pulse taken from ``ref_mv`` where that is finite.

    ``segments`` are the classical digitizer's segment dicts (``lead``, ``start_sample``, ``end_sample`` and
    ``pulse_sides``: the sides where the lead abuts a pulse). A crop network sees the pulse's edge in the lead's
    first (last) columns and reads part of it as signal; the classical reading leaves the edge out.
    Returns (signal, number of samples replaced).
    """
    out = np.array(signal_mv, dtype=np.float64, copy=True)
    replaced = 0
    for seg in segments:
        j = LEADS.index(seg["lead"])
        n0, n1 = int(seg["start_sample"]), int(seg["end_sample"])
        for side in seg.get("pulse_sides") or ():
            k = (
                np.arange(n0, min(n1, n0 + n_edge))
                if side == "start"
                else np.arange(max(n0, n1 - n_edge), n1)
            )
            k = k[np.isfinite(ref_mv[k, j])]
            out[k, j] = ref_mv[k, j]
            replaced += k.size
    return out, replaced


def lead_ends_at_next_lead(segments: list[dict], row_tol_mv: float = 0.2) -> list[bool]:
    """For each of the classical digitizer's ``segments``, whether another lead's segment of the same row starts
    where it ends (the other's ``start_sample`` within a sample of this one's ``end_sample``, the two zero lines
    within ``row_tol_mv`` of each other in this segment's mV scale): a column boundary inside a row."""
    out = []
    for seg in segments:
        tol_px = row_tol_mv * float(seg.get("px_per_mv") or 0.0)
        out.append(
            any(
                other["lead"] != seg["lead"]
                and abs(int(other["start_sample"]) - int(seg["end_sample"])) <= 1
                and abs(float(other["baseline_y_px"]) - float(seg["baseline_y_px"])) <= tol_px
                for other in segments
            )
        )
    return out


def boundary_fallback(
    signal_mv: np.ndarray, ref_mv: np.ndarray, segments: list[dict], n_edge: int
) -> tuple[np.ndarray, int]:
    """``signal_mv`` (T, 12) with the last ``n_edge`` samples of every lead segment that ends where the next lead
    of its row starts (:func:`lead_ends_at_next_lead`) taken from ``ref_mv`` where that lies farther from the zero
    line (0 mV) than the signal. Returns (signal, number of samples replaced).

    A crop's last columns hold the next lead's first stroke, which starts near the zero line, and on many
    printouts half a separator bar across it: where the lead's own trace ends far from the zero line (a deep S
    wave), the crop network jumps onto them, while the classical tracer, which follows its stroke from the left,
    stays on it. On `dev_eik_clean` page 7196-0001 the network read V1's closing S wave (-1.4 mV) as -0.4 mV in
    the last 20 ms: 97% of the lead's squared error. The classical tracer fails the other way, stalling on the
    bar's end while the trace runs on beyond it, which leaves its reading the nearer to the zero line: there the
    network's stays. The start of a lead is left alone (see README)."""
    out = np.array(signal_mv, dtype=np.float64, copy=True)
    ref = np.asarray(ref_mv, np.float64)
    replaced = 0
    if n_edge <= 0:
        return out, replaced
    for seg, ends in zip(segments, lead_ends_at_next_lead(segments), strict=True):
        if not ends:
            continue
        j = LEADS.index(seg["lead"])
        n0, n1 = int(seg["start_sample"]), int(seg["end_sample"])
        k = np.arange(max(n0, n1 - n_edge), n1)
        with np.errstate(invalid="ignore"):
            k = k[np.isfinite(ref[k, j]) & ~(np.abs(ref[k, j]) <= np.abs(out[k, j]))]
        out[k, j] = ref[k, j]
        replaced += k.size
    return out, replaced


def blend_readings(
    signal_mv: np.ndarray, ref_mv: np.ndarray, ref_weight: float, tol_mv: float
) -> tuple[np.ndarray, np.ndarray]:
    """``signal_mv`` (T, 12) averaged with ``ref_mv`` where the two agree: the reference weighs
    ``ref_weight * (1 - d / tol_mv)`` where they are ``d < tol_mv`` apart, nothing elsewhere (or where either is
    not finite). Returns (signal, boolean mask of the blended samples).

    Two readers of the same stroke with errors of their own: their mean errs less than either wherever the
    errors differ (a two-member ensemble), and on a clean page the classical tracer and the crop network read a
    stroke's position to within a few hundredths of a mV of each other (median 0.002 mV on `dev_eik_clean`).
    Farther apart, one of them is on something else (a label, a neighbouring stroke), and averaging would put the
    reading between the two; the weight fades to nothing by ``tol_mv`` so that the blend has no step."""
    if not 0.0 <= ref_weight <= 1.0:
        raise ValueError(f"ref_weight must be within 0-1, got {ref_weight}")
    if tol_mv <= 0:
        raise ValueError(f"tol_mv must be positive, got {tol_mv}")
    out = np.array(signal_mv, dtype=np.float64, copy=True)
    ref = np.asarray(ref_mv, np.float64)
    with np.errstate(invalid="ignore"):
        d = np.abs(ref - out)
        use = np.isfinite(d) & (d < tol_mv)
    weight = ref_weight * (1.0 - d[use] / tol_mv)
    out[use] = (1.0 - weight) * out[use] + weight * ref[use]
    return out, use & (ref_weight > 0)


def steep_fallback(
    signal_mv: np.ndarray,
    ref_mv: np.ndarray,
    fs_hz: float,
    min_slope_mv_per_s: float,
    tol_mv: float,
    dilate_s: float = 0.006,
) -> tuple[np.ndarray, np.ndarray]:
    """``signal_mv`` (T, 12) with the samples where the reference reading ``ref_mv`` is steep (at least
    ``min_slope_mv_per_s``, widened by ``dilate_s`` each side) and within ``tol_mv`` of the signal taken from the
    reference. Returns (signal, boolean mask of replaced samples).

    On a clean page the classical tracer reads a steep stroke (a QRS) from the ends of its ink runs, which a thin
    stroke gives exactly, while the crop network's soft-argmax runs low at the tips (on `dev_eik_clean` page
    4482-0001 it read the R and S peaks 30-160 uV short, the classical reading 0-30 uV). Where the two readings
    disagree by more than ``tol_mv`` they are not on the same stroke, and the network's stays."""
    out = np.array(signal_mv, dtype=np.float64, copy=True)
    ref = np.asarray(ref_mv, np.float64)
    ok = np.isfinite(ref) & np.isfinite(out)
    slope = np.abs(np.gradient(np.where(np.isfinite(ref), ref, 0.0), axis=0)) * fs_hz
    steep = ok & (slope >= min_slope_mv_per_s)
    k = round(dilate_s * fs_hz)
    if k > 0:
        steep = binary_dilation(steep, np.ones((2 * k + 1, 1), bool))
    with np.errstate(invalid="ignore"):
        use = steep & ok & (np.abs(ref - out) <= tol_mv)
    out[use] = ref[use]
    return out, use


@dataclass(frozen=True)
class CropFusion:
    """How :func:`digitize_with_crops` fuses a crop network's reading with the classical one (all at inference).

    ``edge_margin_mm`` / ``edge_dilate_s``: where the classical reading leaves a crop it is kept
    (:func:`edge_fallback`; a negative margin turns that off). ``edge_agree_mv`` > 0: those stretches need the
    classical reading within that many mV of the network's where they begin and end (``max_disagree_px`` of
    :func:`edge_fallback`), in one of the columns within ``edge_agree_within_s`` beyond each end
    (``meet_within_cols``; 0: the adjacent column only).
    ``pulse_edge_s``: see :func:`pulse_edge_fallback`.
    On clean pages (split-stroke noise figure at most ``clean_max_noise``), ``boundary_edge_s`` > 0: in the last
    seconds of a lead that ends where the next lead of its row starts, the classical reading where it lies farther
    from the zero line than the network's (:func:`boundary_fallback`); ``blend_weight`` > 0: where the two
    readings are less than ``blend_tol_mv`` apart the result is their weighted mean, the classical reading
    weighing up to ``blend_weight`` (:func:`blend_readings`).
    ``crowded_fallback``: leads whose crop would hold another row's zero line keep the classical reading
    (:func:`crowded_segments`).
    ``thin_width_scale`` != 1: on clean pages (split-stroke noise figure at most ``thin_max_noise``) whose trace
    the classical digitizer measured at most ``thin_max_stroke_mm`` thick (meta ``stroke_px`` / ``px_per_mm``), the
    crops are cut that many times wider for the same time window (the trace stretched in time only; meta
    ``crop_width_scale``).
    ``steep_slope_mv_per_s`` > 0: on pages whose classical split-stroke noise figure (meta ``split_stroke_noise``)
    is at most ``steep_max_noise``, the classical reading replaces the network's on steep stretches where the two
    agree within ``steep_tol_mv`` (:func:`steep_fallback`); 0 turns that off.
    """

    edge_margin_mm: float = 1.25
    edge_dilate_s: float = 0.015
    edge_agree_mv: float = 0.0
    edge_agree_within_s: float = 0.0
    pulse_edge_s: float = 0.04
    boundary_edge_s: float = 0.0
    blend_weight: float = 0.0
    blend_tol_mv: float = 0.05
    clean_max_noise: float = 0.005
    crowded_fallback: bool = True
    thin_width_scale: float = 1.0
    thin_max_stroke_mm: float = 0.38
    thin_max_noise: float = 0.005
    steep_slope_mv_per_s: float = 0.0
    steep_tol_mv: float = 0.4
    steep_max_noise: float = 0.005

    def __post_init__(self) -> None:
        for fld in dataclasses.fields(self):  # YAML gives ints for floats; store what the annotations say
            cast = bool if fld.type == "bool" else float
            object.__setattr__(self, fld.name, cast(getattr(self, fld.name)))
        if not 0.0 <= self.blend_weight <= 1.0:
            raise ValueError(f"blend_weight must be within 0-1, got {self.blend_weight}")
        if not 0.25 <= self.thin_width_scale <= 4.0:
            raise ValueError(f"thin_width_scale must be within 0.25-4, got {self.thin_width_scale}")


def digitize_with_crops(
    predict_rows,
    geometry,
    image_rgb: np.ndarray,
    fs_hz: float,
    n_samples: int,
    spec: CropSpec,
    fusion: CropFusion | None = None,
    limb_fit_weights: dict[str, float] | None = None,
) -> EcgRecord:
    """Run ``geometry`` (a classical digitizer) for the page layout, then ``predict_rows`` on the lead crops, and
    fuse the network's reading with the classical one as ``fusion`` says (default: :class:`CropFusion`'s).

    ``predict_rows(images (N, 3, h, w) float in [0, 1]) -> (N, w)`` trace rows in crop pixels.
    ``limb_fit_weights``: when not None, the limb leads are fitted to the Einthoven / Goldberger identities with
    these lead weights (:func:`~ecgdl.signals.limb.fit_limb_leads`); the meta then keeps the consistency of the
    network's reading before the fit (``raw_einthoven_db`` / ``raw_goldberger_db``).
    """
    f = fusion or CropFusion()
    base = geometry.digitize(image_rgb, fs_hz, n_samples)
    noise = float(base.meta.get("split_stroke_noise", float("nan")))
    ppm = float(base.meta.get("px_per_mm") or 0.0)
    stroke_mm = float(base.meta.get("stroke_px", float("nan"))) / ppm if ppm > 0 else float("nan")
    width_scale = 1.0
    if f.thin_width_scale != 1.0 and noise <= f.thin_max_noise and stroke_mm <= f.thin_max_stroke_mm:
        width_scale = f.thin_width_scale
        spec = dataclasses.replace(spec, width_px=max(8, round(spec.width_px * width_scale)))
    segments = base.meta.get("segments") or []
    to_read = segments_to_read(segments)
    crowded = (
        crowded_segments(to_read, base.meta.get("row_baselines_px") or [], ppm, spec)
        if f.crowded_fallback
        else []
    )
    # the network reads the other segments only: a crowded lead's reading would be replaced anyway
    networked = [seg for seg in to_read if not any(seg is c for c in crowded)]
    signal = np.full((n_samples, len(LEADS)), np.nan)
    replaced = np.zeros(0, bool)
    n_crops = 0
    if networked or not to_read:  # no segments at all: cut_page_crops names the problem
        crops, info = cut_page_crops(image_rgb, base.meta, fs_hz, spec, networked)
        x = torch.from_numpy(crops).permute(0, 3, 1, 2).float().div_(255.0)
        rows = predict_rows(x)
        rows = rows.detach().cpu().numpy() if isinstance(rows, torch.Tensor) else np.asarray(rows)
        ref = rows_from_signal(base.signal_mv, info, fs_hz, spec.width_px)
        rows, replaced = edge_fallback(
            rows,
            ref,
            spec.height_px,
            margin_px=f.edge_margin_mm * spec.height_px / spec.height_mm,
            dilate_cols=round(f.edge_dilate_s * spec.width_px / spec.window_s),
            max_disagree_px=None if f.edge_agree_mv <= 0 else f.edge_agree_mv * info["px_per_mv"],
            meet_within_cols=max(1, round(f.edge_agree_within_s * spec.width_px / spec.window_s)),
        )
        signal = crops_to_signal(
            rows,
            info["px_per_mv"],
            info["baseline_y"],
            info["lead_index"],
            info["t0_s"],
            info["s_per_col"],
            np.zeros(len(rows), np.int64),
            np.array([fs_hz]),
            np.array([n_samples]),
            max_n=n_samples,
        )[0]
        n_crops = len(rows)
    for seg in crowded:
        j, n0, n1 = LEADS.index(seg["lead"]), int(seg["start_sample"]), int(seg["end_sample"])
        signal[n0:n1, j] = base.signal_mv[n0:n1, j]
    signal, n_pulse_edge = pulse_edge_fallback(
        signal, base.signal_mv, segments, round(f.pulse_edge_s * fs_hz)
    )
    n_boundary = n_blend = 0
    if noise <= f.clean_max_noise:  # the classical reading is trusted on clean pages only
        signal, n_boundary = boundary_fallback(
            signal, base.signal_mv, segments, round(f.boundary_edge_s * fs_hz)
        )
        if f.blend_weight > 0:
            signal, blended = blend_readings(signal, base.signal_mv, f.blend_weight, f.blend_tol_mv)
            n_blend = int(blended.sum())
    n_steep = 0
    if f.steep_slope_mv_per_s > 0 and noise <= f.steep_max_noise:
        signal, steep = steep_fallback(signal, base.signal_mv, fs_hz, f.steep_slope_mv_per_s, f.steep_tol_mv)
        n_steep = int(steep.sum())
    signal, limb_meta = fit_limb_leads_with_check(signal, fs_hz, limb_fit_weights)
    meta = {
        **base.meta,
        **limb_meta,
        "digitizer": "crops",
        "geometry": base.meta.get("digitizer", "classical"),
        "n_crops": n_crops,
        "edge_fallback_frac": float(replaced.mean()) if replaced.size else 0.0,
        "pulse_edge_samples": n_pulse_edge,
        "boundary_samples": n_boundary,
        "blended_samples": n_blend,
        "crowded_segments": len(crowded),
        "steep_samples": n_steep,
        "crop_width_scale": width_scale,
    }
    return EcgRecord(signal, fs_hz, base.record_id, meta)
