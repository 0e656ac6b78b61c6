"""Learned crop networks as full digitizers: the classical stages find the page geometry (rectification, scale,
layout, each lead's baseline and time window), a network reads the trace in every 2.5-s lead crop, and the fusion
stage (:mod:`ecgdl.fusion`) combines its reading with the classical tracer's.

Each crop is sampled straight from the input image through the composite map crop -> rectified page -> input
(one resampling), with the same geometry as the training crops (:class:`ecgdl.data.targets.CropSpec`): 2.5 s
wide, ``height_mm`` tall, the lead's zero-mV baseline at ``baseline_frac`` of the height.

:func:`read_with_crops` returns both readings with what their errors depend on (the network's per-column doubt,
the page's quality, nearness to pulses and lead joins; the network's reading is censored where the trace leaves
its crop); :func:`fused_record` weighs them by their calibrated error models. Leads whose crop would hold another
row's zero line (:func:`crowded_segments`) are not read by the network: the crop cannot tell the two traces apart.

A lead printed twice (lead II in its column and in the rhythm strip) is read from the longer strip only, as the
classical digitizer does (:func:`segments_to_read`): the two strips can sit at slightly different zero lines, and
averaging them would add that step to the lead.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from scipy.ndimage import binary_dilation

from ecgdl.classical.layoutcheck import lead_polarity
from ecgdl.classical.meta import input_from_page
from ecgdl.classical.trace import true_runs
from ecgdl.constants import LEADS
from ecgdl.data.targets import CropSpec, crop_affine, strip_windows, warp_crop
from ecgdl.digitizer import DigitizationError
from ecgdl.fusion import FusionConfig, context_masks, page_noise, sample_features
from ecgdl.layouts import LAYOUTS
from ecgdl.models.decode import crops_to_signal
from ecgdl.models.stray import crop_centre_y, trace_gaps
from ecgdl.signals.limb import fit_limb_leads_with_check
from ecgdl.signals.record import EcgRecord


def page_polarity(meta: dict | None) -> np.ndarray:
    """(12,) the sign of each lead as the page prints it (-1: upside down, Cabrera's -aVR), from the geometry's
    ``layout`` (:func:`ecgdl.classical.layoutcheck.lead_polarity`); all 1 when the meta names no known layout."""
    layout = (meta or {}).get("layout")
    return lead_polarity(layout) if layout in LAYOUTS else np.ones(len(LEADS))


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
    (:func:`segments_to_read`). A segment's crops put its zero line at ``crop_y_px`` when it has one (see
    :func:`ecgdl.models.stray.crop_centre_y`), else at the level it was read from (``baseline_y_px``); their
    rows decode to values on that level either way."""
    if segments is None:
        segments = segments_to_read(meta.get("segments") or [])
    if not segments:
        raise DigitizationError("crops: the page geometry stage found no lead segments")
    to_input = input_from_page(meta)
    gain = float(meta.get("gain_mm_per_mv") or 10.0)
    crops, info = [], {k: [] for k in ("px_per_mv", "baseline_y", "lead_index", "t0_s", "s_per_col")}
    for seg in segments:
        n0, n1 = int(seg["start_sample"]), int(seg["end_sample"])
        px_per_s, px_per_mv = float(seg["px_per_s"]), float(seg["px_per_mv"])
        level = float(seg["baseline_y_px"])
        centre = float(seg.get("crop_y_px", level))
        for t0, t1 in strip_windows((n1 - n0) / fs_hz, spec):
            x0, y0, sx, sy = crop_affine(
                float(seg["x0_px"]), centre, px_per_s, px_per_mv / gain, t0, t1, spec
            )
            crop = warp_crop(image_rgb, x0, y0, sx, sy, spec, page_to_image=to_input)
            crops.append(crop)
            crop_px_per_mv = px_per_mv / sy
            info["px_per_mv"].append(crop_px_per_mv)
            # read from the level the classical assembly put this lead's segment on (``offset_mv``), wherever
            # the crop was centred
            offset_px = float(seg.get("offset_mv", 0.0)) * crop_px_per_mv
            info["baseline_y"].append(spec.baseline_frac * spec.height_px + (level - centre) / sy + offset_px)
            info["lead_index"].append(LEADS.index(seg["lead"]))
            info["t0_s"].append(n0 / fs_hz + t0)
            info["s_per_col"].append(sx / px_per_s)
    return np.stack(crops), {k: np.asarray(v) for k, v in info.items()}


def _column_samples(info: dict[str, np.ndarray], i: int, fs_hz: float, width_px: int) -> np.ndarray:
    """The (fractional) sample index each of crop ``i``'s ``width_px`` columns shows."""
    return (float(info["t0_s"][i]) + np.arange(width_px) * float(info["s_per_col"][i])) * fs_hz


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
        t = _column_samples(info, i, fs_hz, width_px)
        inside = (t >= k[ok][0]) & (t <= k[ok][-1])
        v = np.interp(t, k[ok], lead[ok])
        out[i] = np.where(inside, float(info["baseline_y"][i]) - v * float(info["px_per_mv"][i]), np.nan)
    return out


def beyond_crop(
    rows: np.ndarray,
    ref_rows: np.ndarray,
    height_px: int,
    margin_px: float,
    context_cols: int,
    agree_px: np.ndarray | float,
    stray_cols: int | None = None,
    on_other: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(leaving, astray): (N, W) masks of the crop columns where the classical reading ``ref_rows`` lies within
    ``margin_px`` of the crop's top or bottom row or beyond (widened by ``context_cols`` each side).

    ``leaving``: stretches shorter than ``stray_cols`` at both ends of which the classical reading meets the
    network's ``rows`` (within ``agree_px``, one value or one per crop, in one of the ``context_cols`` columns
    beyond the end): the crop's own stroke leaving it (a tall R or deep S wave). A crop cannot show a trace
    outside it: there the network's reading is censored.
    ``astray``: stretches of at least ``stray_cols`` columns (None: none) on most of whose columns the classical
    reading is known to be elsewhere (``on_other``, (N, W) bool; None: nowhere): it runs on another row's
    trace, or the network sees a clear stroke of its own inside the crop. The tracer followed another stroke
    there (a tall wave of the crop's own row is out for less than ``stray_cols``; a baseline wandering out of a
    crop at 20 mm/mV leaves the network no stroke to see); there the classical reading is censored."""
    rows = np.asarray(rows, np.float64)
    ref = np.asarray(ref_rows, np.float64)
    if rows.shape != ref.shape:
        raise ValueError(f"rows {rows.shape} and ref_rows {ref.shape} must have the same shape")
    if rows.size == 0:
        return np.zeros(rows.shape, bool), np.zeros(rows.shape, bool)
    with np.errstate(invalid="ignore"):
        out = (ref < margin_px) | (ref > height_px - 1 - margin_px)
    reach = max(1, int(context_cols))
    out = binary_dilation(out, np.ones((1, 2 * reach + 1), bool)) & np.isfinite(ref)
    astray = np.zeros_like(out)
    tol = np.broadcast_to(np.asarray(agree_px, np.float64), (rows.shape[0],))[:, None]
    with np.errstate(invalid="ignore"):
        met = np.abs(rows - ref) <= tol  # NaN on either side: not met
    width = rows.shape[1]
    for i in np.flatnonzero(out.any(axis=1)):
        for a, b in true_runs(out[i]):
            if (
                stray_cols is not None
                and on_other is not None
                and b - a >= stray_cols
                and on_other[i, a:b].mean() >= 0.5
            ):
                astray[i, a:b] = True
                out[i, a:b] = False
                continue
            sides = [met[i, max(0, a - reach) : a], met[i, b : min(width, b + reach)]]
            sides = [side for side in sides if side.size]  # a stretch at the crop's edge: its other end
            if not sides or not all(side.any() for side in sides):
                out[i, a:b] = False
    return out, astray


def crowded_segments(
    segments: list[dict], row_baselines_px: list[float], px_per_mm: float, spec: CropSpec
) -> list[dict]:
    """The segments whose row has another row's zero line nearer than the crop reaches below its own: within
    ``(1 - baseline_frac) * height_mm`` (18 mm for the default crop) above or below. A segment belongs to the row
    whose zero line (``row_baselines_px``, the classical digitizer's meta) is nearest its own baseline.

    A crop network trained on pages whose rows are further apart (the 4-row 3x4+II pages, about 37 mm) cannot tell
    which of two traces in a crop is its own; on such pages (12x1: rows 10-15 mm apart; 6x2 and 3x4+3: 22-30 mm,
    not crowded) the classical reading, which tracks each row in its own band, is kept instead
    (:func:`read_with_crops`).
    """
    rows = np.asarray(row_baselines_px, np.float64)
    if rows.size < 2 or px_per_mm <= 0:
        return []
    reach = (1.0 - spec.baseline_frac) * spec.height_mm * px_per_mm
    out = []
    for seg in segments:
        own = int(np.argmin(np.abs(rows - float(seg.get("zero_y_px", seg["baseline_y_px"])))))
        others = np.delete(rows, own)
        if (np.abs(others - rows[own]) < reach).any():
            out.append(seg)
    return out


#: two rows' readings this close (mm) run on one stroke (:func:`ecgdl.models.stray.trace_gaps`)
SAME_STROKE_MM = 0.5
#: a crop column whose height distribution has less than this share away from its read-out shows one clear
#: stroke (the shipped cnn's mean per lead: 0.02-0.07 where its crops show the trace, on a generated 20-mm/mV
#: page and a real photo; 0.44 mean and 0.97 at the 90th percentile on a lead whose baseline wanders out of them)
SURE_OFF_PEAK = 0.2

#: ``predict_rows(images (N, 3, h, w) float in [0, 1])`` -> trace rows (N, w) in crop pixels, or (rows, off_peak):
#: the share of each column's height distribution away from the read-out (the network's doubt, in [0, 1])
RowPredictor = Callable[[torch.Tensor], Any]


@dataclass
class CropReadings:
    """Both readings of one page, sample by sample, with what their errors depend on.

    ``classical``: the classical digitizer's record (its ``meta`` holds the page geometry); ``network_mv``
    (T, 12): the crop network's reading (NaN where it did not read, and where the trace leaves its crop);
    ``off_peak`` (T, 12): the share of its height distribution away from its read-out (NaN where unknown);
    ``beyond_crop`` (T, 12) in [0, 1]: the share of the sample's crop columns where the trace leaves the crop
    (:func:`beyond_crop`); ``near_pulse`` / ``near_join`` (T, 12) bool: see :mod:`ecgdl.fusion.features`;
    ``noise``: the page's quality figure; ``astray`` (T, 12) bool: where the classical reading followed another
    row's trace out of the crop (:func:`beyond_crop`; None: nowhere), which the fusion leaves out.
    """

    classical: EcgRecord
    network_mv: np.ndarray
    off_peak: np.ndarray
    beyond_crop: np.ndarray
    near_pulse: np.ndarray
    near_join: np.ndarray
    noise: float
    astray: np.ndarray | None = None
    n_crops: int = 0
    n_crowded: int = 0
    crop_width_scale: float = 1.0

    @property
    def polarity(self) -> np.ndarray:
        """(12,) the sign of each lead as the page prints it (:func:`page_polarity` of the classical meta)."""
        return page_polarity(self.classical.meta)

    def classical_mv(self) -> np.ndarray:
        """The classical reading as the fusion takes it: as printed (``polarity``) and NaN where it went astray
        (``astray``)."""
        sig = self.classical.signal_mv * self.polarity
        return sig if self.astray is None else np.where(self.astray, np.nan, sig)

    def features(self) -> dict[str, np.ndarray]:
        """The samples' features, one set for both readers' error models (:func:`ecgdl.fusion.sample_features`):
        where the network doubts, the page is hard to read there for either reader."""
        return sample_features(self.noise, self.near_pulse, self.near_join, self.off_peak)


def _decode_rows(rows: np.ndarray, info: dict[str, np.ndarray], fs_hz: float, n_samples: int) -> np.ndarray:
    """Trace rows (N, W) in crop pixels -> (n_samples, 12) mV, with the crops' calibration and time mapping."""
    return crops_to_signal(
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


def _decode(values: np.ndarray, info: dict[str, np.ndarray], fs_hz: float, n_samples: int) -> np.ndarray:
    """Per-column values (N, W) of any quantity -> (n_samples, 12), mapped and averaged as a reading in mV is."""
    rows = info["baseline_y"][:, None] - np.asarray(values, np.float64) * info["px_per_mv"][:, None]
    return _decode_rows(rows, info, fs_hz, n_samples)


def _at_columns(flags: np.ndarray, info: dict[str, np.ndarray], fs_hz: float, width_px: int) -> np.ndarray:
    """(T, 12) per-sample flags -> (N, width_px): each crop column takes its nearest sample's flag."""
    out = np.zeros((len(info["lead_index"]), width_px), bool)
    for i in range(len(out)):
        k = np.clip(
            np.round(_column_samples(info, i, fs_hz, width_px)).astype(np.int64), 0, flags.shape[0] - 1
        )
        out[i] = flags[k, int(info["lead_index"][i])]
    return out


def _as_numpy(value: Any) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        return value.detach().float().cpu().numpy()
    return np.asarray(value, np.float64)


def read_with_crops(
    predict_rows: RowPredictor,
    geometry,
    image_rgb: np.ndarray,
    fs_hz: float,
    n_samples: int,
    spec: CropSpec,
    fusion: FusionConfig | None = None,
    thin_width_scale: float = 1.0,
    thin_max_stroke_mm: float = 0.0,
    thin_max_noise: float = 0.005,
) -> CropReadings:
    """Run ``geometry`` (a classical digitizer) for the page layout and its own reading, then ``predict_rows`` on
    the lead crops. ``fusion`` sets the edge margin and the context width of the features.

    ``thin_width_scale`` != 1: on clean pages (quality figure :func:`ecgdl.fusion.page_noise` at most
    ``thin_max_noise``) whose trace the classical digitizer measured at most ``thin_max_stroke_mm`` thick (meta
    ``stroke_px`` / ``px_per_mm``), crops are cut that many times wider for the same time window (the trace
    stretched in time only: a thin pen's steep strokes span more columns; on degraded pages the stretched crops
    read worse: generated stained pages 18.48 -> 18.19 dB, damaged 19.57 -> 19.35 with the stretch)."""
    f = fusion or FusionConfig()
    base = geometry.digitize(image_rgb, fs_hz, n_samples)
    printed_mv = base.signal_mv * page_polarity(base.meta)  # the page as printed (Cabrera's -aVR upside down)
    noise = page_noise(base.meta)
    ppm = float(base.meta.get("px_per_mm") or 0.0)
    stroke_mm = float(base.meta.get("stroke_px", float("nan"))) / ppm if ppm > 0 else float("nan")
    width_scale = 1.0
    if thin_width_scale != 1.0 and stroke_mm <= thin_max_stroke_mm and noise <= thin_max_noise:
        width_scale = float(thin_width_scale)
        spec = dataclasses.replace(spec, width_px=max(8, round(spec.width_px * width_scale)))
    segments = base.meta.get("segments") or []
    to_read = segments_to_read(segments)
    crowded = crowded_segments(to_read, base.meta.get("row_baselines_px") or [], ppm, spec)
    networked = [seg for seg in to_read if not any(seg is c for c in crowded)]
    shape = (n_samples, len(LEADS))
    network = np.full(shape, np.nan)
    off_peak = np.full(shape, np.nan)
    beyond = np.zeros(shape)
    n_crops = 0
    astray = np.zeros(shape, bool)
    shared = None
    if f.stray_s > 0 and networked:  # where the classical reading shares a stroke with another row's
        shared = trace_gaps(segments, printed_mv, fs_hz, ppm) < SAME_STROKE_MM
        zeros = base.meta.get("row_baselines_px") or []
        min_shared = round(f.stray_s * fs_hz)
        networked = [
            {**seg, "crop_y_px": crop_centre_y(seg, printed_mv, shared, min_shared, zeros)}
            for seg in networked
        ]
    if networked or not to_read:  # no segments at all: cut_page_crops names the problem
        crops, info = cut_page_crops(image_rgb, base.meta, fs_hz, spec, networked)
        out = predict_rows(torch.from_numpy(crops).permute(0, 3, 1, 2).float().div_(255.0))
        rows, doubt = out if isinstance(out, tuple) else (out, None)
        rows = _as_numpy(rows)
        network = _decode_rows(rows, info, fs_hz, n_samples)
        if doubt is not None:
            off_peak = _decode(_as_numpy(doubt), info, fs_hz, n_samples)
        ref = rows_from_signal(printed_mv, info, fs_hz, spec.width_px)
        on_other = None
        if shared is not None:  # on another row's stroke, or where the network sees a stroke of its own
            on_other = _at_columns(shared, info, fs_hz, spec.width_px)
            if doubt is not None:
                on_other |= _as_numpy(doubt) < SURE_OFF_PEAK
        beyond, astray = beyond_crop(
            rows,
            ref,
            spec.height_px,
            margin_px=f.edge_margin_mm * spec.height_px / spec.height_mm,
            context_cols=round(f.edge_context_s * spec.width_px / spec.window_s),
            agree_px=f.edge_agree_mv * info["px_per_mv"],
            stray_cols=round(f.stray_s * spec.width_px / spec.window_s) if f.stray_s > 0 else None,
            on_other=on_other,
        )
        beyond = np.nan_to_num(_decode(beyond.astype(np.float64), info, fs_hz, n_samples))
        astray = np.nan_to_num(_decode(astray.astype(np.float64), info, fs_hz, n_samples)) > 0.5
        network = np.where(beyond > 0.5, np.nan, network)  # censored: the crop does not show the trace there
        n_crops = len(rows)
    near_pulse, near_join = context_masks(segments, n_samples, fs_hz, f.context_s)
    return CropReadings(
        classical=base,
        network_mv=network,
        off_peak=off_peak,
        beyond_crop=beyond,
        near_pulse=near_pulse,
        near_join=near_join,
        noise=noise,
        astray=astray & np.isfinite(network),
        n_crops=n_crops,
        n_crowded=len(crowded),
        crop_width_scale=width_scale,
    )


def fused_record(
    readings: CropReadings,
    fusion: FusionConfig,
    fs_hz: float,
    limb_fit_weights: dict[str, float] | None = None,
) -> EcgRecord:
    """The 12-lead record of a page read by :func:`read_with_crops`: both readings fused by ``fusion``'s error
    models (:meth:`ecgdl.fusion.FusionConfig.fuse`).

    ``limb_fit_weights``: when not None, the limb leads are fitted to the Einthoven / Goldberger identities with
    these lead weights (:func:`~ecgdl.signals.limb.fit_limb_leads`); the meta then keeps the consistency of the
    fused reading before the fit (``raw_einthoven_db`` / ``raw_goldberger_db``). The meta also gives the network's
    mean weight over the samples (``network_weight``), the page's quality figure (``page_noise``) and the samples
    where the classical reading was left out as astray (``astray_samples``).
    """
    signal, w_net = fusion.fuse(readings.network_mv, readings.classical_mv(), readings.features())
    signal = signal * readings.polarity  # fused as printed; the leads printed upside down turned back
    base = readings.classical
    # the leads the classical reading rebuilt from the others (it traced none of them) test nothing
    rebuilt = base.meta.get("leads_from_einthoven") or ()
    signal, limb_meta = fit_limb_leads_with_check(signal, fs_hz, limb_fit_weights, untested=rebuilt)
    meta = {
        **base.meta,
        **limb_meta,
        "digitizer": "crops",
        "geometry": base.meta.get("digitizer", "classical"),
        "n_crops": readings.n_crops,
        "crowded_segments": readings.n_crowded,
        "crop_width_scale": readings.crop_width_scale,
        "censored_samples": int((readings.beyond_crop > 0.5).sum()),
        "astray_samples": 0 if readings.astray is None else int(readings.astray.sum()),
        "page_noise": readings.noise,
        "network_weight": float(np.nanmean(w_net)) if np.isfinite(w_net).any() else 0.0,
    }
    return EcgRecord(signal, fs_hz, base.record_id, meta)
