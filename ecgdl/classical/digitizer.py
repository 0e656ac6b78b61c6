"""``ClassicalDigitizer``: the training-free pipeline, image -> page geometry -> 12-lead record.

:meth:`ClassicalDigitizer.read_page` runs the stages, each in its own module, and returns the record with the
page's :class:`~ecgdl.classical.page.PageGeometry`:

1. :mod:`~ecgdl.classical.frame` -- the page's frame: the image at working scale (:mod:`~ecgdl.classical.io`),
   deskewed / perspective-corrected so grid lines are axis-aligned (:mod:`~ecgdl.classical.geometry`,
   :mod:`~ecgdl.classical.homography`, refined from the grid lines' positions by
   :mod:`~ecgdl.classical.gridfit`), and its px/mm along x and y from the grid
   (:mod:`~ecgdl.classical.calibration`).
2. :mod:`~ecgdl.classical.rows` -- the page's ink (:mod:`~ecgdl.classical.ink`,
   :mod:`~ecgdl.classical.gridremoval`; or, with ``ink_model``, a learned trace-probability map of the
   rectified page, how page networks are read out), its rows of trace and its layout (3x4+II, 3x4+3, 6x2,
   12x1, 3x4: :mod:`~ecgdl.classical.layout`).
3. :mod:`~ecgdl.classical.scales` -- calibration pulses at the rows' ends (:mod:`~ecgdl.classical.pulse`), and
   the page's px/s and px/mV from them, from what the page prints (:mod:`~ecgdl.classical.printed`) or the
   defaults. A comb along one axis only, far from the whole-page scale, that no pulse agrees with is the beats
   of a steady rhythm on a gridless page: stages 2-3 then run again without a grid. Each row's first and last
   samples are placed (:func:`~ecgdl.classical.rows.settle_rows`) and the layout's lead segments built: the
   page geometry.
4. :mod:`~ecgdl.classical.reading` -- each lead segment traced through the ink (:mod:`~ecgdl.classical.tracing`,
   :mod:`~ecgdl.classical.trace`: dynamic programming over ink runs), past the lead separators
   (:mod:`~ecgdl.classical.separators`); where two neighbouring rows' traces take the same run of merged ink,
   both are read from its edge on their own side. A detected layout's open questions (the rhythm strip's lead,
   Cabrera order, 3x4+3 or 6x2) are settled from the traced lines (:mod:`~ecgdl.classical.layoutcheck`).
5. :mod:`~ecgdl.classical.assembly` -- mV at the requested rate (:mod:`~ecgdl.classical.resample`), NaN where
   a lead is not printed; a lead that could not be traced is rebuilt from the simultaneous limb leads or set
   to 0 mV (``meta["missing_leads"]``), more than ``max_missing_leads`` of them is a DigitizationError; the
   limb leads are fitted to the Einthoven / Goldberger identities when ``limb_fit``.

How the scales are decided: :mod:`~ecgdl.classical.scales`. ``record.meta`` (:mod:`~ecgdl.classical.meta`)
gets the layout, scales and lead segments in the *input image*'s pixels when the page was not warped, else in
the rectified page's (``segments_frame``, ``homography``), and what the stages measured. The
:class:`~ecgdl.classical.page.PageGeometry` that :meth:`~ClassicalDigitizer.read_page` returns beside the
record holds the same geometry, always in the page frame (the working, possibly rectified, pixels).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ecgdl.classical.assembly import complete_leads
from ecgdl.classical.debug import DebugWriter, StageClock, draw_layout
from ecgdl.classical.frame import PageFrame, calibrate_page, frame_without_grid, rectify_page, working_image
from ecgdl.classical.homography import warp_image
from ecgdl.classical.ink import (
    INK_MODEL_MODES,
    PageInk,
    ink_probability,
    page_ink,
    with_split_strokes_if_clean,
)
from ecgdl.classical.layout import build_segments
from ecgdl.classical.layoutcheck import upright
from ecgdl.classical.meta import PageFindings, record_meta
from ecgdl.classical.page import PageGeometry, Pulse, RowBand
from ecgdl.classical.paper import blank_background, paper_mask, warp_mask
from ecgdl.classical.printed import PrintedScales
from ecgdl.classical.reading import read_segments
from ecgdl.classical.resample import assemble_record, check_interpolation
from ecgdl.classical.rows import ink_and_rows, layout_rows, row_pitch_mm, settle_rows
from ecgdl.classical.scales import (
    ScaleRules,
    find_row_pulses,
    grid_checked_by_pulses,
    page_scales,
    pulses_give_scales,
    pulses_on_every_row,
    read_print,
    standard_pulses_only,
)
from ecgdl.classical.tracing import RowTracer, TraceCosts, row_tracer
from ecgdl.constants import STANDARD_GAIN_MM_PER_MV, STANDARD_SPEED_MM_PER_S
from ecgdl.layouts import LAYOUTS
from ecgdl.signals.limb import limb_weights
from ecgdl.signals.record import EcgRecord

__all__ = ["ClassicalDigitizer"]


class ClassicalDigitizer:
    """Training-free digitizer (see module docstring). Every parameter is a plain keyword with a default; the
    object holds only this configuration, so one instance reads any number of pages, one after another or at
    once.

    Args:
        layout: force a layout (``3x4+II``, ``3x4+3``, ``3x4``, ``6x2``, ``12x1`` or a Cabrera one such as
            ``6x2-cabrera``); None detects it.
        speed_mm_per_s / gain_mm_per_mv: force paper speed / gain; None reads them from a calibration pulse
            and falls back to ``default_speed_mm_per_s`` / ``default_gain_mm_per_mv``.
        max_side_px: larger pages are downscaled to this longest side first (speed; 0 disables).
        rectify: deskew and correct perspective; ``perspective`` allows a homography beyond a rotation.
        grid_refine: on a page rectified with a perspective (a photo) and a grid, refine the warp from the
            grid lines' positions (:func:`~ecgdl.classical.gridfit.grid_homography`): the angles leave the
            scale drifting by tenths of a percent across a photo, a lead's time by milliseconds.
        max_angle_deg / min_angle_deg: largest rotation searched / smallest one corrected.
        detect_pulses: look for 1 mV calibration pulses (``pulse_mv`` by ``pulse_s``) at row ends.
        pulse_overlap_samples: a lead that follows a start pulse without a gap begins this many samples (at
            the requested ``fs_hz``) before the centre of the pulse's falling edge. ECG-Image-Kit (the Kaggle
            images) draws its 0.2 s pulse as a polyline of 2 zero samples, 100 at 1 mV and 2 zeros, at the
            record's sampling rate, and starts the lead 100 samples after the pulse's first point: its edges'
            centres sit 1.5 and 101.5 samples in, so the lead starts 1.5 samples before the fall (0.6 px at
            200 dpi and 500 Hz; read as 0, the whole row is 3 ms late). 0: the lead starts at the fall.
        min_px_per_mm / max_px_per_mm: plausible grid scales.
        jump_cost / baseline_pull / gap_cost / foreign_cost: trace-tracking costs (see
            :func:`ecgdl.classical.trace.extract_row_trace`).
        text_cost: extra tracking cost per column on small, character-sized ink components (labels).
        tip_correction: keep the amplitude of sharp peaks (use a tall run's extreme end at a local tip).
        mask_separators: blank the lead-separator bars at column starts before tracing, and read the trace
            past thin separator ticks drawn over it at column boundaries (see
            :func:`~ecgdl.classical.separators.skip_separator_ticks`).
        max_missing_leads: a lead that could not be traced is rebuilt from the simultaneously printed limb
            leads (Einthoven / Goldberger) when possible, else set to 0 mV over its window; more missing leads
            than this raise :class:`DigitizationError`.
        min_straight_lead_s: a row end without a pulse whose ink runs perfectly straight for longer than this
            (seconds at the page's speed; at least 12 mm) is a grid line or rule running into the trace and is
            cut.
        overshoot_reach / overshoot_cost / overshoot_min_pitch_mm: a row is tracked within 95 % of the way to
            the neighbouring rows' zero lines; beyond that, up to ``overshoot_reach`` of the way, ink is used
            at ``overshoot_cost`` per column (a deep S wave whose trough lies on the next row's zero line).
            Not on pages whose rows are closer than ``overshoot_min_pitch_mm`` (12x1), where the neighbours'
            traces fill that margin.
        touch_max_s: where the traces of a row and of the row below take the same run of merged ink (a tall R
            meeting the deep S above it) for at most this long, both rows are traced again and read there from
            the run's edge on their own side (:func:`~ecgdl.classical.trace.touching_columns`); 0 turns it
            off. Not on pages whose rows are closer than ``overshoot_min_pitch_mm`` (12x1: a 12x1 page at 100
            dpi lost 7 dB, its rows 15 mm apart touching all along).
        row_follow_mm: a row's ends, found within 0.4 row pitches of its zero line, are followed this far
            through the ink that continues them (a lead ending on a steep wave leaves that band before its
            last sample; :func:`~ecgdl.classical.layout.follow_stroke`); 0 turns it off.
        row_ends_tol_mm: a row whose first or last sample lies further than this (and than three times the
            other rows' spread) from the other rows' takes their median (a QRS tip read as a pulse on one row
            cut it short); 0 turns it off.
        split_strokes_max_noise: trace the leads with thin strokes that straddle two pixels added to the ink
            (:func:`~ecgdl.classical.gridremoval.with_split_strokes`) when at most this share of the added
            pixels lies away from the ink (a clean page; see
            :func:`~ecgdl.classical.ink.with_split_strokes_if_clean`); None: never.
        limb_fit: replace the limb leads read at the same instants by their least-squares fit to the Einthoven
            / Goldberger identities (:func:`~ecgdl.signals.limb.fit_limb_leads`), weighing each lead by
            ``limb_fit_weights`` (lead -> weight, default 1). Off by default: it assumes a real recording (the
            identities hold) in the standard lead labels; ``conf/model/classical.yaml`` turns it on. The
            consistency of the reading *before* the fit is kept in the meta (``raw_einthoven_db`` /
            ``raw_goldberger_db``), the truth-free check of the page.
        layout_check: settle what the rows leave open by the limb leads' identities
            (:mod:`~ecgdl.classical.layoutcheck`): a page with six rows is read as both 3x4+3 and 6x2, one
            whose layout has a Cabrera twin (3x4+II, 6x2, 12x1) is named in Cabrera order too, and another reading
            replaces the first only when its limb leads obey the identities clearly better (meta
            ``layout_check_db``: each candidate's consistency). A forced ``layout`` is never checked. Off by
            default, like ``limb_fit``: it assumes a real recording; the model configs turn it on.
        interpolation / max_spline_gap_s: how the traced points (one per pixel column) are interpolated at the
            sample times: ``"cubic"`` (a spline; gaps in the trace longer than ``max_spline_gap_s`` joined by
            a straight line) or ``"linear"`` (see :mod:`ecgdl.classical.resample`).
        debug_dir: if set, one PNG per stage is written there (``<record_id>_<stage>.png``).
        ink_model: a callable page (H x W x 3 uint8) -> trace probability (H x W); ``ink_model_mode`` says how
            it is used: ``"replace"`` (the probability is the ink: how page networks are read out) or
            ``"veto"`` (the colour ink, kept only within 1 mm of where the probability reaches 0.5: a learned
            second opinion that drops shading, dark grid lines and noise the colours took for trace; see
            :class:`ecgdl.models.ink.InkSegmenter`).
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
        ink_model_mode: str = "replace",
        split_strokes_max_noise: float | None = 0.005,
        limb_fit: bool = False,
        limb_fit_weights: dict[str, float] | None = None,
        layout_check: bool = False,
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
        if ink_model_mode not in INK_MODEL_MODES:
            raise ValueError(
                f"unknown ink_model_mode {ink_model_mode!r}; valid: {', '.join(INK_MODEL_MODES)}"
            )
        self.ink_model = ink_model
        self.ink_model_mode = ink_model_mode
        self.read_print = bool(read_print)
        self.split_strokes_max_noise = (
            None if split_strokes_max_noise is None else float(split_strokes_max_noise)
        )
        self.limb_fit = bool(limb_fit)
        self.limb_fit_weights = dict(limb_fit_weights or {})
        limb_weights(self.limb_fit_weights)  # bad weights fail here, not on every page
        self.layout_check = bool(layout_check)
        self.interpolation = check_interpolation(interpolation)
        self.max_spline_gap_s = float(max_spline_gap_s)

    # ------------------------------------------------------------------------------------------------ public
    def digitize(self, image_rgb: np.ndarray, fs_hz: float, n_samples: int, record_id: str = "") -> EcgRecord:
        """Digitize one page (H x W x 3 uint8 RGB; other dtypes / channel counts are converted)."""
        return self.read_page(image_rgb, fs_hz, n_samples, record_id)[0]

    def __call__(self, image_rgb: np.ndarray, fs_hz: float, n_samples: int) -> EcgRecord:
        return self.digitize(image_rgb, fs_hz, n_samples)

    def read_page(
        self, image_rgb: np.ndarray, fs_hz: float, n_samples: int, record_id: str = ""
    ) -> tuple[EcgRecord, PageGeometry]:
        """Digitize one page (as :meth:`digitize`) and return, with the record, the page's geometry: its
        frame, scales, layout, rows, lead segments and pulses, in the rectified page's pixels (see
        :class:`~ecgdl.classical.page.PageGeometry`; the record's meta gives the segments in the input's
        pixels when the page was not warped)."""
        if not np.isfinite(fs_hz) or fs_hz <= 0:
            raise ValueError(f"fs_hz must be positive, got {fs_hz}")
        if int(n_samples) <= 0:
            raise ValueError(f"n_samples must be positive, got {n_samples}")
        n_samples, clock, dbg = int(n_samples), StageClock(), DebugWriter(self.debug_dir, record_id)
        geometry, seen = self._find_geometry(image_rgb, fs_hz, n_samples, record_id, clock, dbg)

        # 4. each lead segment traced on its own (a lead boundary is a free jump). Thin steep strokes break up
        # in the mask (a QRS at a lead's start is then missed, or a label followed): on a clean page they are
        # traced with split strokes added, which on a noisy one would add noise.
        ink = seen.ink.ink
        trace_ink, split_noise = ink, float("nan")
        if self.split_strokes_max_noise is not None:
            clean, split_noise = with_split_strokes_if_clean(ink, self.split_strokes_max_noise, seen.ink.thin)
            trace_ink = clean if clean is not None else ink
        touch = self.touch_max_s > 0 and seen.pitch_mm >= self.overshoot_min_pitch_mm
        read = read_segments(
            geometry,
            seen,
            trace_ink,
            fs_hz,
            n_samples,
            touch_px=max(1, round(self.touch_max_s * geometry.px_per_s)) if touch else None,
            separators=self.mask_separators,
            detected=self.layout is None,
            layout_check=self.layout_check,
            interpolation=self.interpolation,
            max_spline_gap_s=self.max_spline_gap_s,
        )
        geometry, segs, traces, signals = read.geometry, read.segs, read.traces, read.signals
        clock.lap("trace")

        # 5. resample -> record
        sig, segments = assemble_record(signals, fs_hz, n_samples, self.interpolation, self.max_spline_gap_s)
        sig = upright(sig, segments, geometry.layout)  # read as printed: Cabrera's -aVR turned back
        clock.lap("resample")
        sig, missing, repaired, limb_meta = complete_leads(
            sig,
            segs,
            fs_hz,
            max_missing_leads=self.max_missing_leads,
            limb_fit_weights=self.limb_fit_weights if self.limb_fit else None,
            layout=geometry.layout,
        )
        meta = record_meta(
            geometry,
            seen,
            segments,
            missing,
            repaired,
            clock.timings,
            split_stroke_noise=split_noise,
            split_strokes=trace_ink is not ink,
            limb_meta={**limb_meta, "layout_check_db": read.scores},
        )
        if dbg.enabled:
            drawn = [t for t in traces if t is not None]
            dbg.save("3_layout", draw_layout(seen.frame.page, list(geometry.rows), segs, drawn))
        return EcgRecord(sig, fs_hz, record_id, meta), geometry

    # ------------------------------------------------------------------------------------------------ stages
    def _find_geometry(
        self,
        image_rgb: np.ndarray,
        fs_hz: float,
        n_samples: int,
        record_id: str,
        clock: StageClock,
        dbg: DebugWriter,
    ) -> tuple[PageGeometry, PageFindings]:
        """Stages 1-3 (module docstring): the page's geometry, and what was seen on the way."""
        image, input_scale = working_image(image_rgb, self.max_side_px, record_id)
        clock.lap("load")
        # the rectification is measured on the picture as taken (a page's outline is one of its cues); every
        # later stage reads the page with the background around it painted out
        rect, _ = rectify_page(
            image,
            rectify=self.rectify,
            perspective=self.perspective,
            max_angle_deg=self.max_angle_deg,
            min_angle_deg=self.min_angle_deg,
        )
        paper = paper_mask(image)
        image = blank_background(image, paper)
        page = warp_image(image, rect)
        clock.lap("geometry")
        dbg.save("1_rectified", page)
        frame = calibrate_page(
            image,
            input_scale,
            rect,
            page,
            grid_refine=self.grid_refine,
            min_px_per_mm=self.min_px_per_mm,
            max_px_per_mm=self.max_px_per_mm,
        )
        clock.lap("calibration")
        rules, duration_s = self._scale_rules(), n_samples / fs_hz
        # Stages 2-3 run again, once, when the pulses show that the "grid" was the beats of a steady rhythm on
        # a page without one (see grid_checked_by_pulses): every size in mm they use was wrong.
        prob = None if self.ink_model is None else ink_probability(self.ink_model, frame.page)  # both passes
        for _ in range(2):
            found = self._rows_and_pulses(frame, prob, warp_mask(paper, frame.rect), rules, clock, dbg)
            checked = grid_checked_by_pulses(frame.cal, found.pulses, frame.page.shape, rules)
            if checked is frame.cal:
                break
            warped, frame = frame.page, frame_without_grid(frame, checked)
            if frame.page is not warped and self.ink_model is not None:
                prob = ink_probability(self.ink_model, frame.page)
        cal, marks = frame.cal, found.ink
        pulses = pulses_on_every_row(
            standard_pulses_only(found.pulses, cal, rules), found.rows, cal.px_per_mm_x
        )
        scales = page_scales(cal, pulses, found.rows, duration_s, rules, found.printed)
        sample_px = scales.px_per_s / fs_hz
        rows = settle_rows(
            found.rows,
            pulses,
            found.straight_cuts,
            marks.ink,
            found.tracer.bands,
            cal.px_per_mm_x,
            scales.px_per_s,
            marks.stroke_px,
            sample_px,
            min_straight_lead_s=self.min_straight_lead_s,
            row_ends_tol_mm=self.row_ends_tol_mm,
            pulse_s=self.pulse_s,
            pulse_overlap_samples=self.pulse_overlap_samples,
            recording_px=duration_s * scales.px_per_s if scales.method.startswith("grid") else None,
        )
        clock.lap("pulse")
        page_h, page_w = frame.page.shape[:2]
        segs = build_segments(found.layout, rows, scales.px_per_s, duration_s, page_h, sample_px=sample_px)
        geometry = PageGeometry(
            homography=frame.homography,
            size_wh=(page_w, page_h),
            input_scale=frame.input_scale,
            rectified=not frame.rect.identity,
            px_per_mm_x=cal.px_per_mm_x,
            px_per_mm_y=cal.px_per_mm_y,
            layout=found.layout,
            rows=tuple(rows),
            zero_lines_y_px=tuple(
                float(pulses[i][0].foot_y_px) if pulses.get(i) else float(r.baseline_y_px)
                for i, r in enumerate(rows)
            ),
            segments=tuple(segs),
            speed_mm_per_s=scales.speed_mm_per_s,
            gain_mm_per_mv=scales.gain_mm_per_mv,
            px_per_s=scales.px_per_s,
            px_per_mv=scales.px_per_mv,
            pulses={i: tuple(p) for i, p in pulses.items()},
            stroke_px=marks.stroke_px,
        )
        return geometry, PageFindings(
            frame, marks, found.tracer, found.pitch_mm, found.printed, scales.method
        )

    def _rows_and_pulses(
        self,
        frame: PageFrame,
        prob: np.ndarray | None,
        paper: np.ndarray | None,
        rules: ScaleRules,
        clock: StageClock,
        dbg: DebugWriter,
    ) -> _RowsFound:
        """Stage 2 and the pulse search of stage 3 on ``frame`` (``prob``: the ``ink_model``'s trace
        probability, or None; ``paper``: the page's paper mask, or None when all of it is paper)."""
        ppm = frame.cal.px_per_mm
        ink, rows = ink_and_rows(frame.page, ppm, prob, self.row_follow_mm, paper, self.ink_model_mode)
        clock.lap("gridremoval")
        if dbg.enabled:
            dbg.save("2_ink", ((1.0 - ink.weight) * 255).astype(np.uint8))
        layout, rows = layout_rows(rows, ink.mask, ppm, self.layout)
        clock.lap("layout")
        marks = page_ink(
            ink,
            ppm,
            mask_separators=self.mask_separators,
            flag_text=self.text_cost > 0,
            split_strokes=self.split_strokes_max_noise is not None,
        )
        pitch_mm = row_pitch_mm(rows, ppm)
        tracer = self._row_tracer(rows, frame.page.shape[0], pitch_mm, marks)
        pulses, cuts = {}, {}
        if self.detect_pulses:
            pulses, cuts = find_row_pulses(marks.ink, marks.thin, rows, tracer, frame.cal)
        printed = PrintedScales()
        if self.read_print and not pulses_give_scales(pulses, frame.cal, rules):
            printed = read_print(marks, ppm)
        return _RowsFound(layout, rows, marks, tracer, pitch_mm, pulses, cuts, printed)

    def _scale_rules(self) -> ScaleRules:
        return ScaleRules(
            self.speed_mm_per_s,
            self.gain_mm_per_mv,
            self.default_speed_mm_per_s,
            self.default_gain_mm_per_mv,
            self.pulse_mv,
            self.pulse_s,
        )

    def _row_tracer(
        self, rows: list[RowBand], page_height_px: int, pitch_mm: float, marks: PageInk
    ) -> RowTracer:
        costs = TraceCosts(
            jump_cost=self.jump_cost,
            baseline_pull=self.baseline_pull,
            gap_cost=self.gap_cost,
            foreign_cost=self.foreign_cost,
            text_cost=self.text_cost,
            overshoot_cost=self.overshoot_cost,
            tip_correction=self.tip_correction,
        )
        return row_tracer(
            rows,
            page_height_px,
            pitch_mm,
            marks.stroke_px,
            marks.text,
            costs,
            overshoot_reach=self.overshoot_reach,
            overshoot_min_pitch_mm=self.overshoot_min_pitch_mm,
        )


@dataclass(frozen=True)
class _RowsFound:
    """One pass of stages 2-3 over a page frame: the layout and its rows, the page's ink, the row tracer and
    row pitch (mm), the pulses and straight row ends found (by row index), and the printed scales."""

    layout: str
    rows: list[RowBand]
    ink: PageInk
    tracer: RowTracer
    pitch_mm: float
    pulses: dict[int, list[Pulse]]
    straight_cuts: dict[tuple[int, str], float]
    printed: PrintedScales
