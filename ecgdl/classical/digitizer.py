"""``ClassicalDigitizer``: the training-free pipeline, image -> 12-lead record, one stage per module.

1. :mod:`~ecgdl.classical.io` -- any image to H x W x 3 uint8 RGB (large pages are downscaled).
2. :mod:`~ecgdl.classical.geometry` -- deskew / perspective-correct so grid lines are axis-aligned.
3. :mod:`~ecgdl.classical.calibration` -- px/mm along x and y from the grid's periodicity. When the warped page
   shows no grid, a line-based warp came from the traces themselves and is reduced to a plain rotation (or none).
   A comb along one axis only, far from the whole-page scale, that no calibration pulse agrees with is the beats
   of a steady rhythm on a gridless page: stages 4-7 then run again without a grid.
4. :mod:`~ecgdl.classical.gridremoval` -- trace ink without grid, by colour and line removal; or, with
   ``ink_model``, a learned trace-probability map of the rectified page (how page networks are read out).
5. :mod:`~ecgdl.classical.layout` -- rows of trace, layout (3x4+II, 3x4+3, 6x2, 12x1, 3x4), lead segments.
6. :mod:`~ecgdl.classical.trace` -- per-column sub-pixel trace of each row (dynamic programming over ink runs);
   a thin separator tick over the trace at a column boundary is read past (the trace's line is extended to it).
   Where two neighbouring rows' traces take the same run of merged ink (a deep S meeting the next row's tall R),
   both are traced again and read there from the run's edge on their own side.
7. :mod:`~ecgdl.classical.pulse` -- calibration pulses: gain (mm/mV) and paper speed; pulses are cut off. A row
   without one is searched again with thin strokes that straddle two pixels added to the ink, then also with the
   ink more than 2 mm below its zero line left out (the row below's tall pulse can top out just under it).
8. :mod:`~ecgdl.classical.resample` -- mV at the requested rate, NaN where a lead is not printed. A lead that
   could not be traced is rebuilt from the simultaneous limb leads (Einthoven / Goldberger) or set to 0 mV over
   its window (``meta["missing_leads"]``); more than ``max_missing_leads`` of them is a DigitizationError. A lead
   printed twice is read from one level (the shorter print shifted onto the longer one's, see the module).

Scales: with a grid, px/s = px/mm (x) * speed and px/mV = px/mm (y) * gain, speed and gain from the pulse when
there is one, else what the page prints (:mod:`~ecgdl.classical.printed`: "25mm/s", "10mm/mV"), else the defaults
(25 mm/s, 10 mm/mV); pulses none of which has a standard gain or speed at the grid's scale are dropped.
Without a grid, the pulses give px/mV (median height) and px/s directly (the narrower half of the widths: a lead
ending on a steep wave at a pulse only widens it); without either, the rows are taken to span the whole recording
at the default speed and gain.

``record.meta`` gets ``layout``, ``px_per_mm``, ``gain_mm_per_mv``, ``speed_mm_per_s``, ``segments`` (one dict per
lead segment: lead, start_sample, end_sample, x0_px, baseline_y_px, px_per_s, px_per_mv, pulse_sides,
offset_mv, in *input image* pixels when the page was not warped, else in the rectified frame, see
``segments_frame`` and ``homography``), ``row_baselines_px`` (each row's zero line, same frame) and more.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ecgdl.classical.calibration import (
    GridCalibration,
    calibrate_from_layout,
    estimate_grid,
    page_prior_px_per_mm,
)
from ecgdl.classical.geometry import Rectification, estimate_rectification, rotation_homography, warp_image
from ecgdl.classical.gridfit import grid_homography
from ecgdl.classical.gridremoval import (
    InkMap,
    extract_ink,
    remove_separator_bars,
    remove_small_components,
    text_like_components,
    with_split_strokes,
)
from ecgdl.classical.io import ImageLoadError, to_rgb_uint8
from ecgdl.classical.layout import (
    LeadSegment,
    RowBand,
    build_segments,
    choose_layout,
    find_rows,
    isoelectric_level,
    stroke_end,
)
from ecgdl.classical.printed import PrintedScales, read_printed_scales
from ecgdl.classical.pulse import Pulse, detect_pulse, gain_from_pulse, refine_pulse_edges, speed_from_pulse
from ecgdl.classical.resample import SegmentSignal, assemble_record, check_interpolation
from ecgdl.classical.trace import RowTrace, column_runs, extract_row_trace, stroke_width, touching_columns
from ecgdl.constants import LEADS, STANDARD_GAIN_MM_PER_MV, STANDARD_SPEED_MM_PER_S
from ecgdl.digitizer import DigitizationError
from ecgdl.render.layouts import LAYOUTS
from ecgdl.signals.limb import fit_limb_leads_with_check, limb_weights
from ecgdl.signals.record import EcgRecord

__all__ = ["ClassicalDigitizer"]


class ClassicalDigitizer:
    """Training-free digitizer (see module docstring). Every parameter is a plain keyword with a default.

    Args:
        layout: force a layout (``3x4+II``, ``3x4+3``, ``3x4``, ``6x2``, ``12x1``); None detects it.
        speed_mm_per_s / gain_mm_per_mv: force paper speed / gain; None reads them from a calibration pulse and
            falls back to ``default_speed_mm_per_s`` / ``default_gain_mm_per_mv``.
        max_side_px: larger pages are downscaled to this longest side first (speed; 0 disables).
        rectify: deskew and correct perspective; ``perspective`` allows a homography beyond a rotation.
        grid_refine: on a page rectified with a perspective (a photo) and a grid, refine the warp from the grid
            lines' positions (:func:`~ecgdl.classical.gridfit.grid_homography`): the angles leave the scale
            drifting by tenths of a percent across a photo, a lead's time by milliseconds.
        max_angle_deg / min_angle_deg: largest rotation searched / smallest one corrected.
        detect_pulses: look for 1 mV calibration pulses (``pulse_mv`` by ``pulse_s``) at row ends.
        pulse_overlap_samples: a lead that follows a start pulse without a gap begins this many samples (at the
            requested ``fs_hz``) before the centre of the pulse's falling edge. ECG-Image-Kit (the Kaggle images)
            draws its 0.2 s pulse as a polyline of 2 zero samples, 100 at 1 mV and 2 zeros, at the record's
            sampling rate, and starts the lead 100 samples after the pulse's first point: its edges' centres sit
            1.5 and 101.5 samples in, so the lead starts 1.5 samples before the fall (0.6 px at 200 dpi and
            500 Hz; read as 0, the whole row is 3 ms late). 0: the lead starts at the fall.
        min_px_per_mm / max_px_per_mm: plausible grid scales.
        jump_cost / baseline_pull / gap_cost / foreign_cost: trace-tracking costs (see
            :func:`ecgdl.classical.trace.extract_row_trace`).
        text_cost: extra tracking cost per column on small, character-sized ink components (labels).
        tip_correction: keep the amplitude of sharp peaks (use a tall run's extreme end at a local tip).
        mask_separators: blank the lead-separator bars at column starts before tracing, and read the trace past
            thin separator ticks drawn over it at column boundaries (see ``_skip_separator_ticks``).
        max_missing_leads: a lead that could not be traced is rebuilt from the simultaneously printed limb leads
            (Einthoven / Goldberger) when possible, else set to 0 mV over its window; more missing leads than
            this raise :class:`DigitizationError`.
        min_straight_lead_s: a row end without a pulse whose ink runs perfectly straight for longer than this
            (seconds at the page's speed; at least 12 mm) is a grid line or rule running into the trace and is cut.
        overshoot_reach / overshoot_cost / overshoot_min_pitch_mm: a row is tracked within 95 % of the way to the
            neighbouring rows' zero lines; beyond that, up to ``overshoot_reach`` of the way, ink is used at
            ``overshoot_cost`` per column (a deep S wave whose trough lies on the next row's zero line). Not on
            pages whose rows are closer than ``overshoot_min_pitch_mm`` (12x1), where the neighbours' traces fill
            that margin.
        touch_max_s: where the traces of a row and of the row below take the same run of merged ink (a tall R
            meeting the deep S above it) for at most this long, both rows are traced again and read there from
            the run's edge on their own side (:func:`~ecgdl.classical.trace.touching_columns`); 0 turns it off.
            Not on pages whose rows are closer than ``overshoot_min_pitch_mm`` (12x1: a 12x1 page at 100 dpi lost
            7 dB, its rows 15 mm apart touching all along).
        row_follow_mm: a row's ends, found within 0.4 row pitches of its zero line, are followed this far through
            the ink that continues them (a lead ending on a steep wave leaves that band before its last sample;
            :func:`~ecgdl.classical.layout.follow_stroke`); 0 turns it off.
        row_ends_tol_mm: a row whose first or last sample lies further than this (and than three times the other
            rows' spread) from the other rows' takes their median (a QRS tip read as a pulse on one row cut it
            short); 0 turns it off.
        split_strokes_max_noise: trace the leads with thin strokes that straddle two pixels added to the ink
            (:func:`~ecgdl.classical.gridremoval.with_split_strokes`) when at most this share of the added
            pixels lies away from the ink (a clean page; see ``_with_split_strokes_if_clean``); None: never.
        limb_fit: replace the limb leads read at the same instants by their least-squares fit to the Einthoven /
            Goldberger identities (:func:`~ecgdl.signals.limb.fit_limb_leads`), weighing each lead by
            ``limb_fit_weights`` (lead -> weight, default 1). Off by default: it assumes a real recording (the
            identities hold) in the standard lead labels; ``conf/model/classical.yaml`` turns it on. The
            consistency of the reading *before* the fit is kept in the meta (``raw_einthoven_db`` /
            ``raw_goldberger_db``), the truth-free check of the page.
        interpolation / max_spline_gap_s: how the traced points (one per pixel column) are interpolated at the
            sample times: ``"cubic"`` (a spline; gaps in the trace longer than ``max_spline_gap_s`` joined by a
            straight line) or ``"linear"`` (see :mod:`ecgdl.classical.resample`).
        debug_dir: if set, one PNG per stage is written there (``<record_id>_<stage>.png``).
    """

    def __init__(
        self,
        *,
        layout: str | None = None,
        speed_mm_per_s: float | None = None,
        gain_mm_per_mv: float | None = None,
        default_speed_mm_per_s: float = STANDARD_SPEED_MM_PER_S,
        default_gain_mm_per_mv: float = STANDARD_GAIN_MM_PER_MV,
        max_side_px: int = 2200,
        rectify: bool = True,
        perspective: bool = True,
        grid_refine: bool = True,
        max_angle_deg: float = 20.0,
        min_angle_deg: float = 0.05,
        detect_pulses: bool = True,
        pulse_mv: float = 1.0,
        pulse_s: float = 0.2,
        pulse_overlap_samples: float = 1.5,
        min_px_per_mm: float = 1.5,
        max_px_per_mm: float = 60.0,
        jump_cost: float = 1.0,
        baseline_pull: float = 0.02,
        gap_cost: float = 6.0,
        foreign_cost: float = 0.0,
        text_cost: float = 4.0,
        tip_correction: bool = True,
        mask_separators: bool = True,
        max_missing_leads: int = 3,
        min_straight_lead_s: float = 0.48,
        overshoot_reach: float = 1.05,
        overshoot_cost: float = 3.0,
        overshoot_min_pitch_mm: float = 20.0,
        touch_max_s: float = 0.06,
        row_follow_mm: float = 2.5,
        row_ends_tol_mm: float = 1.0,
        debug_dir: str | None = None,
        read_print: bool = True,
        ink_model: Callable[[np.ndarray], np.ndarray] | None = None,
        split_strokes_max_noise: float | None = 0.005,
        limb_fit: bool = False,
        limb_fit_weights: dict[str, float] | None = None,
        interpolation: str = "cubic",
        max_spline_gap_s: float = 0.08,
    ) -> None:
        if layout is not None and layout not in LAYOUTS:
            raise KeyError(f"unknown layout {layout!r}; valid: {', '.join(LAYOUTS)}")
        for name, v in (("speed_mm_per_s", speed_mm_per_s), ("gain_mm_per_mv", gain_mm_per_mv)):
            if v is not None and v <= 0:
                raise ValueError(f"{name} must be positive, got {v}")
        self.layout = layout
        self.speed_mm_per_s = speed_mm_per_s
        self.gain_mm_per_mv = gain_mm_per_mv
        self.default_speed_mm_per_s = float(default_speed_mm_per_s)
        self.default_gain_mm_per_mv = float(default_gain_mm_per_mv)
        self.max_side_px = int(max_side_px)
        self.rectify = bool(rectify)
        self.perspective = bool(perspective)
        self.grid_refine = bool(grid_refine)
        self.max_angle_deg = float(max_angle_deg)
        self.min_angle_deg = float(min_angle_deg)
        self.detect_pulses = bool(detect_pulses)
        self.pulse_mv = float(pulse_mv)
        self.pulse_s = float(pulse_s)
        if pulse_overlap_samples < 0:
            raise ValueError(f"pulse_overlap_samples must be >= 0, got {pulse_overlap_samples}")
        self.pulse_overlap_samples = float(pulse_overlap_samples)
        self.min_px_per_mm = float(min_px_per_mm)
        self.max_px_per_mm = float(max_px_per_mm)
        self.jump_cost = float(jump_cost)
        self.baseline_pull = float(baseline_pull)
        self.gap_cost = float(gap_cost)
        self.foreign_cost = float(foreign_cost)
        self.text_cost = float(text_cost)
        self._text: np.ndarray | None = None
        self._straight_cuts: dict[tuple[int, str], float] = {}
        self._stroke: float | None = None
        self._ext_bands: list[tuple[int, int]] | None = None
        self.tip_correction = bool(tip_correction)
        self.mask_separators = bool(mask_separators)
        self.max_missing_leads = int(max_missing_leads)
        self.min_straight_lead_s = float(min_straight_lead_s)
        self.overshoot_reach = float(overshoot_reach)
        self.overshoot_cost = float(overshoot_cost)
        self.overshoot_min_pitch_mm = float(overshoot_min_pitch_mm)
        self.touch_max_s = float(touch_max_s)
        self.row_follow_mm = float(row_follow_mm)
        self.row_ends_tol_mm = float(row_ends_tol_mm)
        self.debug_dir = debug_dir
        self.ink_model = ink_model
        self.read_print = bool(read_print)
        self.split_strokes_max_noise = (
            None if split_strokes_max_noise is None else float(split_strokes_max_noise)
        )
        self.limb_fit = bool(limb_fit)
        self.limb_fit_weights = dict(limb_fit_weights or {})
        limb_weights(self.limb_fit_weights)  # bad weights fail here, not on every page
        self.interpolation = check_interpolation(interpolation)
        self.max_spline_gap_s = float(max_spline_gap_s)

    # ------------------------------------------------------------------------------------------------ public
    def digitize(self, image_rgb: np.ndarray, fs_hz: float, n_samples: int, record_id: str = "") -> EcgRecord:
        """Digitize one page (H x W x 3 uint8 RGB; other dtypes / channel counts are converted)."""
        if not np.isfinite(fs_hz) or fs_hz <= 0:
            raise ValueError(f"fs_hz must be positive, got {fs_hz}")
        if int(n_samples) <= 0:
            raise ValueError(f"n_samples must be positive, got {n_samples}")
        n_samples = int(n_samples)
        try:
            image = to_rgb_uint8(image_rgb, name=f"image {record_id!r}" if record_id else "image")
        except ImageLoadError as exc:
            raise DigitizationError(f"io: {exc}") from exc
        timings: dict[str, float] = {}
        t = time.perf_counter()
        h0, w0 = image.shape[:2]
        if min(h0, w0) < 32:
            raise DigitizationError(f"io: image too small ({w0} x {h0} px)")
        scale = 1.0
        if self.max_side_px and max(h0, w0) > self.max_side_px:
            scale = self.max_side_px / max(h0, w0)
            image = cv2.resize(image, (round(w0 * scale), round(h0 * scale)), interpolation=cv2.INTER_AREA)
        timings["load"] = time.perf_counter() - t
        dbg = _Debug(self.debug_dir, record_id)

        # 2. geometry
        t = time.perf_counter()
        if self.rectify:
            rect = estimate_rectification(
                image,
                max_angle_deg=self.max_angle_deg,
                min_angle_deg=self.min_angle_deg,
                perspective=self.perspective,
            )
        else:
            h, w = image.shape[:2]
            rect = Rectification(np.eye(3), (w, h), 0.0, 0.0, method="off")
        page = warp_image(image, rect)
        timings["geometry"] = time.perf_counter() - t
        dbg.save("1_rectified", page)

        # 3. calibration
        t = time.perf_counter()
        cal = estimate_grid(page, min_px_per_mm=self.min_px_per_mm, max_px_per_mm=self.max_px_per_mm)
        if not cal.found and rect.method == "grid" and not rect.identity:
            # The "lines" were the traces themselves (a page without a grid): their band angles are noise, so a
            # perspective warp from them would distort the page. Keep at most a clear rotation.
            rect = _rotation_only(rect, image.shape[1], image.shape[0])
            page = warp_image(image, rect)
            cal = estimate_grid(page, min_px_per_mm=self.min_px_per_mm, max_px_per_mm=self.max_px_per_mm)
        grid_shift = 0.0
        if self.grid_refine and cal.found and rect.perspective:
            fit = grid_homography(page, cal)
            if fit is not None:
                rect = replace(rect, H=fit.H @ rect.H)
                page = warp_image(image, rect)
                cal = estimate_grid(page, min_px_per_mm=self.min_px_per_mm, max_px_per_mm=self.max_px_per_mm)
                grid_shift = fit.max_shift_px
        timings["calibration"] = time.perf_counter() - t

        # Stages 4-6 run again, once, when the pulses show that the "grid" was the beats of a steady rhythm on
        # a page without one (see _grid_checked_by_pulses): every size in mm they use was wrong.
        prob = None if self.ink_model is None else self._ink_probability(page)  # once, for both thresholds
        for _ in range(2):
            # 4. ink, 5. rows and layout (a faint trace gets a second try with a lower ink threshold)
            t = time.perf_counter()
            ppm = cal.px_per_mm
            ink = self._ink(page, ppm, None, prob)
            rows = find_rows(ink.mask, ppm, follow_mm=self.row_follow_mm)
            if len(rows) < 3:
                faint = self._ink(page, ppm, max(0.1, 0.45 * ink.threshold), prob)
                rows_f = find_rows(faint.mask, ppm, follow_mm=self.row_follow_mm)
                if len(rows_f) > len(rows):
                    ink, rows = faint, rows_f
            timings["gridremoval"] = time.perf_counter() - t
            dbg.save("2_ink", ((1.0 - ink.weight) * 255).astype(np.uint8))
            t = time.perf_counter()
            try:
                layout_name, rows = choose_layout(rows, ink.mask, ppm, self.layout)
            except ValueError as exc:
                raise DigitizationError(f"layout: {exc}") from exc
            timings["layout"] = time.perf_counter() - t

            # 6. lead-separator bars; traces of the rows' ends -> calibration pulses; scales; rows trimmed
            t = time.perf_counter()
            bars: list = []
            stroke = _stroke_estimate(ink)
            self._stroke = stroke
            if self.mask_separators:
                ink, bars = remove_separator_bars(ink, stroke, ppm)
            bands = _row_bands(rows, page.shape[0])
            self._ext_bands = None
            pitch_mm = (
                float(np.median(np.diff([r.baseline_y_px for r in rows]))) / ppm if len(rows) > 1 else 0.0
            )
            if self.overshoot_reach > 0.95 and pitch_mm >= self.overshoot_min_pitch_mm:
                self._ext_bands = _row_bands(rows, page.shape[0], self.overshoot_reach)
            self._text = text_like_components(ink.mask, ppm) if self.text_cost > 0 else None
            self._straight_cuts = {}
            # ink with split thin strokes: the pulse search's retry and, on a clean page, the tracing use it
            thin = with_split_strokes(ink) if self.split_strokes_max_noise is not None else None
            pulses = self._find_pulses(ink, rows, bands, cal, thin) if self.detect_pulses else {}
            printed = PrintedScales()
            if self.read_print and not self._pulses_give_scales(pulses, cal):
                text = self._text if self._text is not None else text_like_components(ink.mask, ppm)
                printed = read_printed_scales(text, ppm, ink.weight)
            checked = self._grid_checked_by_pulses(cal, pulses, page.shape)
            if checked is cal:
                break
            cal = checked
            if rect.method == "grid" and not rect.identity:  # the "lines" were the traces
                rect = _rotation_only(rect, image.shape[1], image.shape[0])
                page = warp_image(image, rect)
                prob = None if self.ink_model is None else self._ink_probability(page)
        if cal.found and not any(any(self._standard_scales(p, cal)) for ps in pulses.values() for p in ps):
            # Pulses none of which gives a standard gain or speed at the grid's scale are none (a QRS tip read
            # flat on a 100-dpi page): kept, they would cut a stretch of trace off their rows. One such pulse
            # among standard ones is kept (a real pulse on a photo can be off by more than the snap tolerance).
            pulses = {}
        scales = self._scales(cal, pulses, rows, n_samples / fs_hz, printed)
        for (i, side), cut in self._straight_cuts.items():
            r = rows[i]
            # Decided in seconds once the speed is known: at 50 mm/s a flat lead-in of 12 mm is only 0.24 s.
            if (
                abs(cut - (r.x_start_px if side == "start" else r.x_end_px))
                < self.min_straight_lead_s * scales["px_per_s"]
            ):
                continue
            rows[i] = RowBand(
                r.baseline_y_px,
                cut if side == "start" else r.x_start_px,
                cut if side == "end" else r.x_end_px,
                r.strength,
            )
        rows = _align_rows(rows, cal.px_per_mm_x)
        rows = [
            self._trim_row(
                row,
                pulses.get(i, []),
                ink,
                bands[i],
                cal.px_per_mm_x,
                scales["px_per_s"],
                stroke,
                scales["px_per_s"] / fs_hz,
            )
            for i, row in enumerate(rows)
        ]
        if self.row_ends_tol_mm > 0:
            rows = _agree_row_ends(rows, self.row_ends_tol_mm * cal.px_per_mm_x)
        timings["pulse"] = time.perf_counter() - t

        # 7. lead segments, each traced on its own (a lead boundary is a free jump)
        t = time.perf_counter()
        duration_s = n_samples / fs_hz
        segs = build_segments(
            layout_name,
            rows,
            scales["px_per_s"],
            duration_s,
            page.shape[0],
            sample_px=scales["px_per_s"] / fs_hz,
        )
        n_cols = LAYOUTS[layout_name].n_cols
        # Thin steep strokes break up in the mask (a QRS at a lead's start is then missed, or a label followed):
        # on a clean page they are traced with split strokes added, which on a noisy one would add noise.
        trace_ink, split_noise = ink, float("nan")
        if self.split_strokes_max_noise is not None:
            clean, split_noise = _with_split_strokes_if_clean(ink, self.split_strokes_max_noise, thin)
            trace_ink = clean if clean is not None else ink

        def trace_segment(seg, touch: tuple[np.ndarray, np.ndarray] | None = None) -> RowTrace | None:
            x0, x1 = _clear_of_bars(seg.x0_px, seg.x1_px - 1.0, bands[seg.row], bars, ppm)
            tr = self._trace(trace_ink, rows, bands, seg.row, x0, x1, touch=touch)
            if tr is not None and x0 > seg.x0_px + 1.0:
                tr = _extend_back(tr, ink, seg.x0_px, bands[seg.row], stroke)
            if tr is not None and self.mask_separators:
                grid_row = seg.row < len(LAYOUTS[layout_name].grid)
                tr = _skip_separator_ticks(
                    tr,
                    ink.mask,
                    seg.baseline_y_px,
                    ppm,
                    stroke,
                    start=seg.x0_px if grid_row and seg.col > 0 else None,
                    end=seg.x1_px if grid_row and seg.col < n_cols - 1 else None,
                    ink=ink,
                    band=bands[seg.row],
                )
            return tr

        traces = [trace_segment(seg) for seg in segs]
        if self.touch_max_s > 0 and pitch_mm >= self.overshoot_min_pitch_mm:
            # Where a row's trace and the one below it took the same run of merged ink, both are traced again
            # and read there from the run's edge on their own side.
            max_stretch = max(1, round(self.touch_max_s * scales["px_per_s"]))
            touch: dict[int, tuple[list, list]] = {}
            for i, (si, ti) in enumerate(zip(segs, traces, strict=True)):
                for j, (sj, tj) in enumerate(zip(segs, traces, strict=True)):
                    if ti is None or tj is None or sj.row != si.row + 1:
                        continue
                    cols = touching_columns(ti, tj, max_stretch)
                    if cols.size:
                        touch.setdefault(i, ([], []))[1].append(cols)
                        touch.setdefault(j, ([], []))[0].append(cols)
            for i, (above, below) in touch.items():
                joined = (np.concatenate(above or [np.zeros(0)]), np.concatenate(below or [np.zeros(0)]))
                traces[i] = trace_segment(segs[i], joined) or traces[i]
        timings["trace"] = time.perf_counter() - t

        # 8. resample -> record
        t = time.perf_counter()
        signals = self._segment_signals(segs, traces, pulses, scales)
        sig, geometry = assemble_record(signals, fs_hz, n_samples, self.interpolation, self.max_spline_gap_s)
        timings["resample"] = time.perf_counter() - t
        missing = [lead for j, lead in enumerate(LEADS) if not np.isfinite(sig[:, j]).any()]
        if len(missing) > self.max_missing_leads:
            raise DigitizationError(
                f"resample: no trace for lead(s) {', '.join(missing)} (layout {layout_name})"
            )
        repaired = _repair_missing_leads(sig, segs, missing, fs_hz) if missing else []
        sig, limb_meta = fit_limb_leads_with_check(
            sig, fs_hz, self.limb_fit_weights if self.limb_fit else None
        )

        frame = "input"
        if not rect.identity:
            frame = "rectified"
        row_baselines = [float(row.baseline_y_px) for row in rows]
        if frame == "input" and scale != 1.0:
            for g in geometry:
                for k in ("x0_px", "baseline_y_px", "px_per_s", "px_per_mv"):
                    g[k] = g[k] / scale
            row_baselines = [y / scale for y in row_baselines]
        meta: dict[str, Any] = {
            "digitizer": "classical",
            "layout": layout_name,
            "px_per_mm": float(ppm / scale) if frame == "input" else float(ppm),
            "px_per_mm_x": float(cal.px_per_mm_x),
            "px_per_mm_y": float(cal.px_per_mm_y),
            "grid_found": bool(cal.found),
            "calibration": scales["method"],
            "printed_speed_mm_per_s": printed.speed_mm_per_s,
            "printed_gain_mm_per_mv": printed.gain_mm_per_mv,
            "gain_mm_per_mv": float(scales["gain_mm_per_mv"]),
            "speed_mm_per_s": float(scales["speed_mm_per_s"]),
            "n_pulses": int(sum(len(v) for v in pulses.values())),
            "rotation_deg": float(rect.angle_h_deg),
            "perspective": bool(rect.perspective),
            # the most the grid refinement moved the page (0: not done)
            "grid_refine_shift_px": float(grid_shift),
            "segments_frame": frame,
            "segments": geometry,
            "row_baselines_px": row_baselines,  # each row of trace's zero line, in the segments' frame
            "missing_leads": missing,
            "leads_from_einthoven": repaired,
            "timings_s": timings,
        }
        if frame == "rectified":
            S = np.diag([scale, scale, 1.0])
            meta["homography"] = (rect.H @ S).tolist()  # input pixels -> rectified pixels
        meta["separator_bars"] = len(bars)
        meta["split_stroke_noise"] = split_noise
        meta["stroke_px"] = stroke  # the trace's estimated thickness, page pixels (segments' frame)
        meta["split_strokes"] = trace_ink is not ink
        meta.update(limb_meta)
        if dbg.enabled:
            dbg.save("3_layout", _draw_layout(page, rows, segs, [t for t in traces if t is not None]))
        return EcgRecord(sig, fs_hz, record_id, meta)

    def __call__(self, image_rgb: np.ndarray, fs_hz: float, n_samples: int) -> EcgRecord:
        return self.digitize(image_rgb, fs_hz, n_samples)

    # ------------------------------------------------------------------------------------------------ stages
    def _ink_probability(self, page: np.ndarray) -> np.ndarray:
        """The ``ink_model``'s trace probability of the page, checked and clipped to [0, 1]."""
        prob = np.asarray(self.ink_model(page), dtype=np.float32)
        if prob.shape != page.shape[:2]:
            raise DigitizationError(
                f"gridremoval: ink_model returned shape {prob.shape} for a {page.shape[:2]} page"
            )
        return np.clip(np.nan_to_num(prob, nan=0.0), 0.0, 1.0)

    @staticmethod
    def _ink(page: np.ndarray, ppm: float, threshold: float | None, prob: np.ndarray | None = None) -> InkMap:
        """Trace ink with specks (dust, noise, grid-crossing remnants) under ~0.6 mm removed: from the page's
        colours, or from a trace probability ``prob`` (an ``ink_model``'s, thresholded at 0.5 by default)."""
        if prob is None:
            ink = extract_ink(page, px_per_mm=ppm, threshold=threshold)
        else:
            t = 0.5 if threshold is None else float(threshold)
            ink = InkMap(prob, prob >= t, t)
        specks = ink.mask & ~remove_small_components(ink.mask, max(3, round(0.6 * ppm)))
        if specks.any():
            weight = ink.weight.copy()
            weight[specks] = 0.0
            ink = InkMap(weight, ink.mask & ~specks, ink.threshold, ink.grid_residual)
        return ink

    def _trace(
        self,
        ink: InkMap,
        rows: list[RowBand],
        bands: list[tuple[int, int]],
        r: int,
        x0: float,
        x1: float,
        y_max: int | None = None,
        touch: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> RowTrace | None:
        """Trace row ``r`` between page columns ``x0`` and ``x1`` (None when there is nothing to trace); ink below
        page row ``y_max`` (when given) is not considered; ``touch``: page columns where the run is shared with
        the row above / below (:func:`~ecgdl.classical.trace.touching_columns`)."""
        others = tuple(row.baseline_y_px for j, row in enumerate(rows) if j != r)
        lo, hi = bands[r]
        ext_lo, ext_hi = self._ext_bands[r] if self._ext_bands else (None, None)
        if y_max is not None:
            hi = min(hi, y_max)
            ext_hi = None if ext_hi is None else min(ext_hi, y_max)
        try:
            return extract_row_trace(
                ink.mask,
                ink.weight,
                round(x0),
                round(x1),
                rows[r].baseline_y_px,
                lo,
                hi,
                other_baselines=others,
                jump_cost=self.jump_cost,
                baseline_pull=self.baseline_pull,
                gap_cost=self.gap_cost,
                foreign_cost=self.foreign_cost,
                flag=self._text,
                flag_cost=self.text_cost,
                stroke_px=self._stroke,
                tip_correction=self.tip_correction,
                ext_lo=ext_lo,
                ext_hi=ext_hi,
                outside_cost=self.overshoot_cost,
                touch_above_x=None if touch is None else touch[0],
                touch_below_x=None if touch is None else touch[1],
            )
        except ValueError:
            return None

    def _find_pulses(
        self,
        ink: InkMap,
        rows: list[RowBand],
        bands: list[tuple[int, int]],
        cal: GridCalibration,
        thin: InkMap | None = None,
    ) -> dict[int, list[Pulse]]:
        """Calibration pulses at the start / end of each row (searched up to 16 mm beyond the row's ink).
        ``thin`` is ``ink`` with split strokes (:func:`with_split_strokes`) when the caller has it already;
        otherwise it is made when a retry first needs it."""
        ppm = cal.px_per_mm_x
        reach = 45.0 * ppm  # long enough for the zero line to be the commonest level
        ext = 16.0 * ppm  # a pulse may stand apart from the trace (beyond the row's extent)
        width = ink.mask.shape[1]
        out: dict[int, list[Pulse]] = {}
        self._straight_cuts = {}
        for i, row in enumerate(rows):
            found = []
            for side in ("start", "end"):
                if side == "start":
                    xa = max(0.0, row.x_start_px - ext)
                    xb = min(row.x_end_px, row.x_start_px + reach)
                    search = (row.x_start_px - xa) / ppm + 22.0
                else:
                    xa = max(row.x_start_px, row.x_end_px - reach)
                    xb = min(width - 1.0, row.x_end_px + ext)
                    search = (xb - row.x_end_px) / ppm + 22.0
                tr = self._trace(ink, rows, bands, i, xa, xb)
                if tr is None:
                    continue
                p = self._detect_pulse(tr, cal, side, search)
                if p is None:
                    # A thin pulse edge straddling two pixel columns can drop out of the mask: look again with
                    # such strokes added, then also without the ink more than 2 mm below our zero line (a pulse
                    # stands above it, and the row below's tall pulse (gain 20) can top out just under it,
                    # nearer than our own pulse's top, and be followed instead).
                    thin = with_split_strokes(ink) if thin is None else thin
                    cap = round(row.baseline_y_px + 2.0 * cal.px_per_mm_y)
                    for y_max in (None, cap):
                        retry = self._trace(thin, rows, bands, i, xa, xb, y_max=y_max)
                        p = None if retry is None else self._detect_pulse(retry, cal, side, search)
                        if p is not None:
                            break
                if p is not None:
                    found.append(refine_pulse_edges(p, ink.weight, tr.stroke_px))
                else:
                    cut = _straight_lead(tr, row, side, ppm)
                    if cut is not None:
                        self._straight_cuts[(i, side)] = cut
            if found:
                out[i] = found
        return out

    @staticmethod
    def _detect_pulse(tr: RowTrace, cal: GridCalibration, side: str, search_mm: float) -> Pulse | None:
        return detect_pulse(
            tr.col_x,
            tr.col_y,
            cal.px_per_mm_x,
            cal.px_per_mm_y,
            top=tr.col_top,
            bottom=tr.col_bottom,
            stroke_px=tr.stroke_px,
            side=side,
            search_mm=search_mm,
        )

    def _grid_checked_by_pulses(
        self, cal: GridCalibration, pulses: dict[int, list[Pulse]], page_shape: tuple[int, ...]
    ) -> GridCalibration:
        """``cal``, unless the pulses say its period was not the grid's. On a page without a grid the beats of a
        steady rhythm make a comb of their own along x (109 bpm at 25 mm/s: 13.8 mm apart, read as 5-mm lines),
        and at that scale the pulses have no standard gain or speed. So a grid seen along one axis only is kept
        when the page has no pulse or a pulse with both a standard gain and a standard speed at its scale (a grid
        seen along both axes, or within 1.5 times the whole-page prior scale, always is: a real grid seen on one
        axis of a photo went to the prior otherwise). Else the grid counts as not found and the scale is the
        whole-page prior (the pulses found at the wrong scale may be beats too: they are looked for again)."""
        all_p = [p for ps in pulses.values() for p in ps]
        prior = page_prior_px_per_mm(page_shape[1], page_shape[0])
        # a comb of beats is 2-5 times the whole-page scale: one within half of it again is taken for real
        near_prior = abs(np.log(cal.px_per_mm_x / prior)) < np.log(1.5)
        if not cal.found or len(cal.axes) > 1 or near_prior or not all_p:
            return cal
        if any(all(self._standard_scales(p, cal)) for p in all_p):
            return cal
        return GridCalibration(prior, prior, False, method="prior (grid period rejected)")

    def _pulses_give_scales(self, pulses: dict[int, list[Pulse]], cal: GridCalibration) -> bool:
        """Whether some pulse gives a standard gain and some pulse a standard speed at the grid's scale. When
        not, what the page prints is read: a "pulse" of no standard size (a QRS tip read flat on a 100-dpi page)
        must not leave a page printed at 20 mm/mV on the default gain."""
        read = [self._standard_scales(p, cal) for ps in pulses.values() for p in ps]
        return any(g for g, _ in read) and any(s for _, s in read)

    def _standard_scales(self, pulse: Pulse, cal: GridCalibration) -> tuple[bool, bool]:
        """Whether ``pulse`` gives a standard gain / a standard speed at the scale of ``cal``."""
        return (
            gain_from_pulse(pulse, cal.px_per_mm_y, self.pulse_mv) is not None,
            speed_from_pulse(pulse, cal.px_per_mm_x, self.pulse_s) is not None,
        )

    def _scales(
        self,
        cal: GridCalibration,
        pulses: dict[int, list[Pulse]],
        rows: list[RowBand],
        duration_s: float,
        printed: PrintedScales | None = None,
    ) -> dict[str, Any]:
        all_p = [p for ps in pulses.values() for p in ps]
        # Pulses agree with each other when real: use the median of the consistent ones.
        if all_p:
            hs = np.array([p.height_px for p in all_p])
            ws = np.array([p.width_px for p in all_p])
            keep = (np.abs(hs / np.median(hs) - 1) < 0.1) & (np.abs(ws / np.median(ws) - 1) < 0.2)
            all_p = [p for p, k in zip(all_p, keep, strict=True) if k]
        if cal.found:
            # without a pulse, what the page prints beats the defaults
            printed = printed or PrintedScales()
            gain = _forced_or_median(
                self.gain_mm_per_mv,
                [gain_from_pulse(p, cal.px_per_mm_y, self.pulse_mv) for p in all_p],
                printed.gain_mm_per_mv or self.default_gain_mm_per_mv,
            )
            speed = _forced_or_median(
                self.speed_mm_per_s,
                [speed_from_pulse(p, cal.px_per_mm_x, self.pulse_s) for p in all_p],
                printed.speed_mm_per_s or self.default_speed_mm_per_s,
            )
            method = "grid+pulse" if all_p else "grid"
            if not all_p and (printed.gain_mm_per_mv or printed.speed_mm_per_s):
                method = "grid+print"
            return {
                "px_per_s": cal.px_per_mm_x * speed,
                "px_per_mv": cal.px_per_mm_y * gain,
                "gain_mm_per_mv": gain,
                "speed_mm_per_s": speed,
                "method": method,
            }
        speed = self.speed_mm_per_s or self.default_speed_mm_per_s
        gain = self.gain_mm_per_mv or self.default_gain_mm_per_mv
        if all_p:
            px_per_mv = float(np.median([p.height_px for p in all_p])) / self.pulse_mv
            # Signal ink joining a pulse's inner edge (a lead ending on a steep wave) can only widen the pulse:
            # the narrower half of the widths is the clean one.
            ws = np.sort([p.width_px for p in all_p])
            px_per_s = float(np.mean(ws[: max(1, (ws.size + 1) // 2)])) / self.pulse_s
            return {
                "px_per_s": px_per_s,
                "px_per_mv": px_per_mv,
                "gain_mm_per_mv": gain,
                "speed_mm_per_s": speed,
                "method": "pulse",
            }
        width = float(np.median([r.width_px for r in rows]))
        _, px_per_s, px_per_mv = calibrate_from_layout(width, duration_s, speed, gain)
        return {
            "px_per_s": px_per_s,
            "px_per_mv": px_per_mv,
            "gain_mm_per_mv": gain,
            "speed_mm_per_s": speed,
            "method": "layout",
        }

    def _trim_row(
        self,
        row: RowBand,
        pulses: list[Pulse],
        ink: InkMap,
        band: tuple[int, int],
        ppm: float,
        px_per_s: float,
        stroke_px: float,
        sample_px: float = 0.0,
    ) -> RowBand:
        """Where the first and the last sample of a row lie (sub-pixel: at the stroke's centre).

        After a start pulse the signal starts past a blank gap within 3 mm, else ``pulse_overlap_samples`` sample
        steps (``sample_px`` each) before the pulse's falling edge, that edge taken as rising edge + the nominal
        pulse width when the measured width agrees. Before an end pulse it ends past a blank gap likewise, else
        one step before the pulse's rising edge (where the next sample would be). An end without a pulse lies half
        a stroke inside the ink's end (:func:`~ecgdl.classical.layout.stroke_end`).
        """
        half = max(0.0, (stroke_px - 1.0) / 2.0)
        x0, x1 = row.x_start_px + half, row.x_end_px - half
        sides = {p.side for p in pulses}
        if "start" not in sides:
            e0 = stroke_end(ink.weight, band[0], band[1], round(row.x_start_px), stroke_px, "start")
            x0 = e0 if e0 is not None and abs(e0 - x0) < stroke_px else x0
        if "end" not in sides:
            e1 = stroke_end(ink.weight, band[0], band[1], round(row.x_end_px), stroke_px, "end")
            x1 = e1 if e1 is not None and abs(e1 - x1) < stroke_px else x1
        cols = ink.mask[band[0] : band[1]].any(axis=0)
        reach = round(3.0 * ppm)
        overlap_px = self.pulse_overlap_samples * sample_px
        nominal = self.pulse_s * px_per_s
        for p in pulses:
            width_ok = abs(p.width_px / nominal - 1.0) < 0.15
            if p.side == "start":
                fall = p.x_rise_px + nominal if width_ok else p.x_fall_px
                a = int(np.ceil(p.x_fall_px + stroke_px / 2.0)) + 1
                seg = cols[a : a + reach]
                start = fall - overlap_px
                if (~seg).any():
                    after = np.flatnonzero(seg[np.argmax(~seg) :])
                    if after.size:
                        start = float(a + np.argmax(~seg) + after[0]) + half
                # the lead may begin inside the fall's ramp, left of where the row's own ink was found to start
                x0 = max(row.x_start_px - overlap_px - 1.0, start)
            else:
                rise = p.x_fall_px - nominal if width_ok else p.x_rise_px
                b = int(np.floor(p.x_rise_px - stroke_px / 2.0)) - 1
                seg = cols[max(0, b - reach + 1) : b + 1][::-1]
                end = rise - sample_px
                if (~seg).any():
                    before = np.flatnonzero(seg[np.argmax(~seg) :])
                    if before.size:
                        end = float(b - np.argmax(~seg) - before[0]) - half
                x1 = min(row.x_end_px, end)
        return RowBand(row.baseline_y_px, float(x0), float(x1), row.strength)

    def _segment_signals(
        self,
        segs: list[LeadSegment],
        traces: list[RowTrace | None],
        pulses: dict[int, list[Pulse]],
        scales: dict[str, Any],
    ) -> list[SegmentSignal]:
        out = []
        for seg, tr in zip(segs, traces, strict=True):
            if tr is None or tr.x.size < 2:
                continue
            row_pulses = pulses.get(seg.row, [])
            starts = [p for p in row_pulses if p.side == "start"]
            base = starts[0].foot_y_px if starts and seg.col == 0 else isoelectric_level(tr.y)
            # the row's 0 mV line: a pulse's foot, else the zero line the layout stage found
            zero = row_pulses[0].foot_y_px if row_pulses else seg.baseline_y_px
            abutting = self._abutting_pulses(seg, row_pulses)
            x, y = self._off_pulse_edges(tr, abutting)
            out.append(
                SegmentSignal(
                    seg.lead,
                    seg.t0_s,
                    seg.duration_s,
                    seg.x0_px,
                    float(base),
                    float(scales["px_per_s"]),
                    float(scales["px_per_mv"]),
                    x,
                    y,
                    pulse_sides=tuple(p.side for p in abutting),
                    zero_y_px=float(zero),
                )
            )
        return out

    def _abutting_pulses(self, seg: LeadSegment, row_pulses: list[Pulse]) -> list[Pulse]:
        """The pulses of the row that ``seg`` starts right after (a start pulse's falling edge within a stroke
        and 2 px of its first x) or ends right before (an end pulse's rising edge by its last x)."""
        reach = float(self._stroke or 1.0) + 2.0
        return [
            p
            for p in row_pulses
            if (p.side == "start" and abs(seg.x0_px - p.x_fall_px) <= reach)
            or (p.side == "end" and abs(seg.x1_px - p.x_rise_px) <= reach)
        ]

    def _off_pulse_edges(self, tr: RowTrace, abutting: list[Pulse]) -> tuple[np.ndarray, np.ndarray]:
        """A lead's traced points without those on the edge of a calibration pulse the lead abuts (``abutting``:
        see :meth:`_abutting_pulses`).

        A lead that starts at a start pulse's falling edge (no blank gap) has its first column or two on that
        edge, whose ink reads as part of the pulse (0.5 mV for a vertical edge's run from foot to top); likewise
        the last columns before an end pulse's rising edge. Points within half a stroke (+0.5 px) of such an edge
        are dropped when their reading lies on the edge: within the pulse's height (+1 px) for a start pulse,
        whose falling edge is a one-sample ramp that the lead's first samples overlap (ECG-Image-Kit's, and our
        renderer's) and reads anywhere along it, and within a fifth of the height of its middle for an end
        pulse's vertical edge (which reads as the centre of a run from foot to top); and a quarter of the pulse's
        height or more off the straight line through the next two readings inwards; the resampler then holds the
        nearest reading. A QRS running into the edge mostly continues that line, and stays. Nothing is dropped
        when it would leave fewer than two points.
        """
        half = float(self._stroke or 1.0) / 2.0 + 0.5
        keep = np.ones(tr.x.size, bool)
        for p in abutting:
            zone = tr.x <= p.x_fall_px + half if p.side == "start" else tr.x >= p.x_rise_px - half
            inner = np.flatnonzero(~zone)
            if inner.size < 2:
                continue
            # the two readings next to the zone, inwards
            a, b = (inner[:2] if p.side == "start" else inner[-2:][::-1]).tolist()
            dx = tr.x[b] - tr.x[a]
            slope = (tr.y[b] - tr.y[a]) / dx if dx != 0 else 0.0  # split tips can share an x
            line = tr.y[a] + (tr.x - tr.x[a]) * slope
            reach = 0.5 * p.height_px + 1.0 if p.side == "start" else 0.2 * p.height_px
            on_edge = np.abs(tr.y - 0.5 * (p.top_y_px + p.foot_y_px)) <= reach
            off_line = np.abs(tr.y - line) >= 0.25 * p.height_px
            keep &= ~(zone & on_edge & off_line)
        if keep.all() or keep.sum() < 2:
            return tr.x, tr.y
        return tr.x[keep], tr.y[keep]


#: Limb-lead identities (exact for simultaneous samples): lead -> ((coefficient, lead), ...).
_LIMB_IDENTITIES: dict[str, tuple[tuple[tuple[float, str], ...], ...]] = {
    "I": (((1.0, "II"), (-1.0, "III")), ((1.0, "aVL"), (0.5, "II"))),
    "II": (((1.0, "I"), (1.0, "III")), ((-2.0, "aVR"), (-1.0, "I"))),
    "III": (((1.0, "II"), (-1.0, "I")),),
    "aVR": (((-1.0, "aVL"), (-1.0, "aVF")), ((-0.5, "I"), (-0.5, "II"))),
    "aVL": (((-1.0, "aVR"), (-1.0, "aVF")), ((1.0, "I"), (-0.5, "II"))),
    "aVF": (((-1.0, "aVR"), (-1.0, "aVL")), ((1.0, "II"), (-0.5, "I"))),
}


def _repair_missing_leads(
    sig: np.ndarray, segs: list[LeadSegment], missing: list[str], fs_hz: float
) -> list[str]:
    """Fill leads that could not be traced, in place, over the windows where the layout prints them: from the
    limb-lead identities wherever the other leads are known at the same samples, else with 0 mV. Returns the
    leads (partly) rebuilt from identities."""
    from ecgdl.classical.resample import sample_range

    n = sig.shape[0]
    rebuilt = []
    for lead in missing:
        j = LEADS.index(lead)
        for s0, s1 in (sample_range(s.t0_s, s.duration_s, fs_hz, n) for s in segs if s.lead == lead):
            todo = np.isnan(sig[s0:s1, j])
            for terms in _LIMB_IDENTITIES.get(lead, ()):
                parts = np.stack([sig[s0:s1, LEADS.index(name)] for _, name in terms])
                ok = todo & np.isfinite(parts).all(axis=0)
                if ok.any():
                    value = sum(c * p for (c, _), p in zip(terms, parts, strict=True))
                    sig[s0:s1, j][ok] = value[ok]
                    todo &= ~ok
                    rebuilt.append(lead)
            sig[s0:s1, j][todo] = 0.0
    return sorted(set(rebuilt), key=LEADS.index)


def _with_split_strokes_if_clean(
    ink: InkMap, max_noise: float, thin: InkMap | None = None
) -> tuple[InkMap | None, float]:
    """(``ink`` with split thin strokes added, or None when the page is too noisy for that; the noise figure).
    ``thin``: that map when already made (:func:`with_split_strokes` of ``ink``).

    The noise figure is the share of the pixels :func:`with_split_strokes` would add that lie more than 2 px from
    any ink (mid-grey mottle that pairs up into "strokes"). Measured: ECG-Image-Kit renders 0.2-0.4 %, our clean
    renders under 0.1 %, synthetic scans 0.1-5 %, photos, screen photos, stained and black-and-white copies
    mostly 6-80 %. Split strokes made steep QRS strokes whole on the clean pages (dev_eik_clean +0.8 dB) but cost
    0.4-2.7 dB on the cleanest-looking degraded pages (blurred strokes grow), hence the low default limit.
    """
    thin = with_split_strokes(ink) if thin is None else thin
    added = thin.mask & ~ink.mask
    n_added = int(added.sum())
    if n_added == 0:
        return thin, 0.0
    near = cv2.dilate(ink.mask.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    noise = float((added & ~near).sum()) / n_added
    return (thin if noise <= max_noise else None), noise


def _clear_of_bars(
    x0: float, x1: float, band: tuple[int, int], bars: list[tuple[int, int, int, int]], ppm: float
) -> tuple[float, float]:
    """Start a segment after a separator bar lying within 2 mm of its start: the trace is hidden under the bar,
    and starting the tracking right after it avoids locking onto the lead label next to it. (At the end, the
    blanked bar is traced through: ink visible above or below it still counts.)"""
    reach = 2.0 * ppm
    for bx, by, bw, bh in bars:
        if by + bh < band[0] or by > band[1]:
            continue
        if abs(bx - x0) <= reach or abs(bx + bw - 1 - x0) <= reach:
            x0 = max(x0, bx + bw + 1.0)
    return x0, x1


def _extend_back(
    tr: RowTrace, ink: InkMap, x_from: float, band: tuple[int, int], stroke_px: float
) -> RowTrace:
    """Walk a trace that starts after a separator bar back to the lead's true start ``x_from``.

    The bar hides only the trace inside its own height: a steep wave (a QRS at the column boundary) stays visible
    above or below it. Right to left, each column's ink run that touches the previous column's run (within a
    stroke) continues the trace at its weighted centroid (:func:`~ecgdl.classical.trace.column_runs`, as the
    tracer reads short runs); the walk stops at the first column without one, and the first value is held from
    there (as before). Walking away from the lead label (which sits right of the bar) keeps the label out.
    """
    x_first = int(np.floor(tr.x[0]))
    x_lo = int(np.ceil(x_from))
    lo, hi = max(0, band[0]), min(ink.mask.shape[0], band[1])
    if x_first - 1 < x_lo or hi <= lo:
        return tr
    runs = column_runs(ink.mask[lo:hi, x_lo : x_first + 1], ink.weight[lo:hi, x_lo : x_first + 1])

    def runs_of(x: int) -> range:
        return range(runs.starts[x - x_lo], runs.starts[x - x_lo + 1])

    reach = max(1.0, stroke_px)
    prev_top = prev_bottom = float(tr.y[0]) - lo
    for k in runs_of(x_first):
        if runs.top[k] - reach <= tr.y[0] - lo <= runs.bottom[k] + reach:
            prev_top, prev_bottom = float(runs.top[k]), float(runs.bottom[k])
            break
    xs: list[float] = []
    ys: list[float] = []
    for x in range(x_first - 1, x_lo - 1, -1):
        best = None
        for k in runs_of(x):
            top, bottom = runs.top[k], runs.bottom[k]
            if top <= prev_bottom + reach and bottom >= prev_top - reach:
                gap = max(0.0, top - prev_bottom, prev_top - bottom)
                if best is None or gap < best[0]:
                    best = (gap, k)
        if best is None:
            break
        k = best[1]
        ys.append(lo + float(runs.centroid[k]))
        xs.append(float(x))
        prev_top, prev_bottom = float(runs.top[k]), float(runs.bottom[k])
    if not xs:
        return tr
    return replace(tr, x=np.concatenate([xs[::-1], tr.x]), y=np.concatenate([ys[::-1], tr.y]))


def _skip_separator_ticks(
    tr: RowTrace,
    mask: np.ndarray,
    baseline_y: float,
    ppm: float,
    stroke_px: float,
    *,
    start: float | None,
    end: float | None,
    half_mm: float = 1.0,
    fit_points: int = 3,
    max_extra_px: float = 2.0,
    ink: InkMap | None = None,
    band: tuple[int, int] | None = None,
) -> RowTrace:
    """A thin separator tick drawn over the trace at a column boundary (a short vertical line centred on the zero
    line) hides the trace there, and the tracker reads the tick (0 mV). Tick columns are inked over at least
    ``baseline +- half_mm``; when some lie within a stroke width (+1 px) of the boundary ``start`` / ``end`` and
    form a run at most ``max_extra_px`` wider than the stroke, the traced points over them are replaced by the line through the next ``fit_points`` traced points, extended to
    the boundary. With ``ink`` and the row's ``band`` given, the trace is first followed through the tick columns
    along ink that leaves the tick above or below it (:func:`_walk_past_tick`); the line is the fallback."""
    h, w = mask.shape
    y0, y1 = int(np.floor(baseline_y - half_mm * ppm)), int(np.ceil(baseline_y + half_mm * ppm)) + 1
    if y0 < 0 or y1 > h:
        return tr
    x, y = tr.x, tr.y
    reach = stroke_px + 1.0
    for side, bx in (("start", start), ("end", end)):
        if bx is None:
            continue
        lo, hi = max(0, int(np.floor(bx - 3 * reach))), min(w, int(np.ceil(bx + 3 * reach)) + 1)
        full = set((np.flatnonzero(mask[y0:y1, lo:hi].all(axis=0)) + lo).tolist())
        near = [c for c in full if abs(c - bx) <= reach]
        if not near:
            continue
        # The tick: the run of fully inked columns nearest to the boundary, at most a stroke + 2 px wide (wider:
        # a solid separator bar or something else, left alone).
        a = b = min(near, key=lambda c: abs(c - bx))
        while a - 1 in full:
            a -= 1
        while b + 1 in full:
            b += 1
        if b - a + 1 > stroke_px + max_extra_px:
            continue
        cut = x <= b if side == "start" else x >= a
        idx = np.flatnonzero(~cut)
        if not cut.any() or idx.size < 2:
            continue
        if ink is not None and band is not None:
            # the tick reaches as far up and down as all its columns are inked
            tick_rows = _grow_run(mask[:, a : b + 1].all(axis=1), y0, y1 - 1)
            walked = _walk_past_tick(x[~cut], y[~cut], ink, (a, b), tick_rows, bx, band, stroke_px, side)
            if walked is not None:
                x, y = walked
                continue
        idx = idx[:fit_points] if side == "start" else idx[-fit_points:]
        slope, icpt = np.polyfit(x[idx], y[idx], 1)
        x = np.concatenate([x[~cut], x[cut]])
        y = np.concatenate([y[~cut], slope * x[-int(cut.sum()) :] + icpt])
        order = np.argsort(x, kind="stable")
        x, y = x[order], y[order]
    if x is tr.x:
        return tr
    return RowTrace(x, y, tr.col_x, tr.col_y, tr.col_top, tr.col_bottom, tr.stroke_px, tr.gap_fraction)


def _grow_run(inked: np.ndarray, lo: int, hi: int) -> tuple[int, int]:
    """The rows ``lo .. hi`` (inclusive) grown up and down while ``inked`` (a bool column) stays True."""
    while lo - 1 >= 0 and inked[lo - 1]:
        lo -= 1
    while hi + 1 < inked.size and inked[hi + 1]:
        hi += 1
    return lo, hi


def _walk_past_tick(
    x: np.ndarray,
    y: np.ndarray,
    ink: InkMap,
    tick_cols: tuple[int, int],
    tick_rows: tuple[int, int],
    bx: float,
    band: tuple[int, int],
    stroke_px: float,
    side: str,
) -> tuple[np.ndarray, np.ndarray] | None:
    """The trace points ``x, y`` (with the tick's columns cut off) continued through the tick to the boundary
    ``bx``, or None. The tick (columns ``tick_cols``, rows ``tick_rows`` inclusive: as far up and down as all its
    columns are inked) is blanked, and :func:`_extend_back` walks from the trace along ink touching it: a steep wave
    that leaves the tick above or below it (a QRS at the column boundary) is read instead of a straight line. An end
    is walked on the mirrored columns. Only a walk that reaches the boundary counts."""
    a, b = tick_cols
    h, w = ink.mask.shape
    if side == "start":
        c0, c1 = max(0, min(int(np.floor(bx)), a) - 1), min(w, int(np.floor(x[0])) + 1)
    else:
        c0, c1 = max(0, int(np.floor(x[-1]))), min(w, max(int(np.ceil(bx)), b) + 2)
    if c1 - c0 < 2:
        return None
    mask = ink.mask[:, c0:c1].copy()
    weight = ink.weight[:, c0:c1].copy()
    top, bot = tick_rows
    mask[top : bot + 1, max(0, a - c0) : b + 1 - c0] = False
    weight[top : bot + 1, max(0, a - c0) : b + 1 - c0] = 0.0
    if side == "start":
        u, v, ub = x - c0, y, bx - c0
    else:  # mirrored: the walk goes right to left
        mask, weight = mask[:, ::-1], weight[:, ::-1]
        u, v, ub = (c1 - 1 - c0) - (x[::-1] - c0), y[::-1], (c1 - 1 - c0) - (bx - c0)
    n = u.size
    dummy = np.zeros(0)
    rest = RowTrace(u, v, dummy, dummy, dummy, dummy, stroke_px, 0.0)
    walked = _extend_back(rest, InkMap(weight, mask, ink.threshold), ub, band, stroke_px)
    if walked.x.size <= n or walked.x[0] > ub + 1.0:
        return None
    wx, wy = walked.x.copy(), walked.y.copy()
    # the lead's first sample is the far end of the stroke in the boundary column (a tip or a trough leaving the
    # tick), not the middle of that column's ink
    col = mask[:, int(wx[0])]
    r = round(wy[0])
    if 0 <= r < h and col[r]:
        top, bot = _grow_run(col, r, r)
        half = max(0.0, (stroke_px - 1.0) / 2.0)
        wy[0] = top + half if wy[1] > wy[0] else bot - half
    if side == "start":
        return wx + c0, wy
    return (c1 - 1) - wx[::-1], wy[::-1]


def _straight_lead(tr: RowTrace, row: RowBand, side: str, ppm: float, min_mm: float = 12.0) -> float | None:
    """Where a row's ink stops being a perfectly straight horizontal line (a grid line or rule running into the
    trace), when such a lead-in (``side`` start) or lead-out (end) is longer than ``min_mm``; else None."""
    inside = (tr.col_x >= row.x_start_px) & (tr.col_x <= row.x_end_px) & np.isfinite(tr.col_y)
    x, y = tr.col_x[inside], tr.col_y[inside]
    if x.size < 3:
        return None
    if side == "end":
        x, y = x[::-1], y[::-1]
    dev = np.flatnonzero(np.abs(y - y[0]) > 1.0)
    if dev.size == 0:
        return None
    k = int(dev[0])
    if abs(x[k] - x[0]) < min_mm * ppm:
        return None
    return float(x[max(0, k - 1)])


def _forced_or_median(forced: float | None, measured: list[float | None], default: float) -> float:
    """A forced value if given, else the median of the pulse measurements that snapped to a standard value (the
    ``None`` ones did not), else ``default``."""
    if forced is not None:
        return forced
    values = [v for v in measured if v is not None]
    return float(np.median(values)) if values else default


def _rotation_only(rect: Rectification, width: int, height: int, min_deg: float = 0.5) -> Rectification:
    """``rect`` reduced to a plain rotation by its horizontal angle, or no warp when that is under ``min_deg``."""
    if abs(rect.angle_h_deg) < min_deg:
        return Rectification(np.eye(3), (width, height), rect.angle_h_deg, rect.angle_v_deg, method="none")
    H, size = rotation_homography(rect.angle_h_deg, (width, height))
    return Rectification(
        H,
        size,
        rect.angle_h_deg,
        rect.angle_h_deg,
        identity=False,
        confidence=rect.confidence,
        method="rotation",
    )


def _align_rows(rows: list[RowBand], ppm: float, tol_mm: float = 1.5) -> list[RowBand]:
    """Rows of a page start and end at the same x: a row whose ink reaches more than ``tol_mm`` beyond the others
    (a grid-line remnant or a label touching it) is cut back to the median (needs at least three rows)."""
    if len(rows) < 3:
        return rows
    x0 = float(np.median([r.x_start_px for r in rows]))
    x1 = float(np.median([r.x_end_px for r in rows]))
    tol = tol_mm * ppm
    out = []
    for r in rows:
        a = x0 if abs(r.x_start_px - x0) > tol else r.x_start_px
        b = x1 if abs(r.x_end_px - x1) > tol else r.x_end_px
        out.append(RowBand(r.baseline_y_px, a, b, r.strength))
    return out


def _agree_row_ends(rows: list[RowBand], tol_px: float) -> list[RowBand]:
    """Rows of a page print the same stretch of time: a row whose first (last) sample lies further from the
    median of all the other rows' than ``tol_px`` and than three times their spread takes that median (a QRS tip
    taken for a calibration pulse cut one row short). Ends that drift steadily down the page (a photo's residual
    skew, a few pixels per row) stay within three spreads and are kept, as is every end within ``tol_px``
    (measured to a fraction of a pixel). Needs at least three rows."""
    if len(rows) < 3:
        return rows
    out = list(rows)
    for attr in ("x_start_px", "x_end_px"):
        xs = np.array([getattr(r, attr) for r in rows])
        for i in range(len(rows)):
            others = np.delete(xs, i)
            if abs(xs[i] - np.median(others)) > max(tol_px, 3.0 * np.ptp(others)):
                out[i] = replace(out[i], **{attr: float(np.median(others))})
    return out


def _row_bands(rows: list[RowBand], height: int, reach: float = 0.95) -> list[tuple[int, int]]:
    """Vertical search band of each row: up to ``reach`` (95 %) of the way to the neighbouring rows' zero
    lines."""
    baselines = [r.baseline_y_px for r in rows]
    pitch = float(np.median(np.diff(baselines))) if len(rows) > 1 else height / 4.0
    bands = []
    for i, b in enumerate(baselines):
        up = baselines[i - 1] if i > 0 else b - 1.5 * pitch
        dn = baselines[i + 1] if i + 1 < len(rows) else b + 1.2 * pitch
        bands.append((max(0, int(b - reach * (b - up))), min(height, int(np.ceil(b + reach * (dn - b))))))
    return bands


def _stroke_estimate(ink: InkMap) -> float:
    """Trace stroke thickness (px) from a sample of the page's columns (see :func:`stroke_width`)."""
    step = max(1, ink.mask.shape[1] // 300)
    return stroke_width(column_runs(ink.mask[:, ::step], ink.weight[:, ::step]))


class _Debug:
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


def _draw_layout(
    page: np.ndarray, rows: list[RowBand], segs: list[LeadSegment], traces: list[RowTrace]
) -> np.ndarray:
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
