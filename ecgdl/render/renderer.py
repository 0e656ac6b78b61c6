"""Draw a 12-lead record as a paper ECG and return the image with its exact ground truth.

``render_ecg(record, RenderConfig(...), rng) -> (image_rgb, RenderTruth)``. The page is US letter, A4 or a strip
(:data:`PAPER_SIZES_MM`) in landscape at 50-600 dpi; traces are anti-aliased OpenCV polylines with 1/16 px
precision on a cached grid, so a 2200 x 1700 page takes a few tens of milliseconds. Every drawn sample's pixel position is recorded in the truth.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import cv2
import numpy as np

from ecgdl.constants import LEADS, MM_PER_INCH
from ecgdl.layouts import get_layout
from ecgdl.render import blocks
from ecgdl.render.grid import GridStyle, check_pattern, get_scheme, grid_image
from ecgdl.render.strokes import draw_supersampled, supersampled_thickness, with_caps
from ecgdl.render.text import check_font, draw_text
from ecgdl.render.truth import _SHIFT, GridGeometry, LeadPanel, RenderTruth
from ecgdl.signals.record import EcgRecord

#: Paper sizes in landscape, (width_mm, height_mm). ``strip``: the wide, low pages some machines and viewers
#: export (2000 x 960 px-like, aspect 2.08), wide enough for 10 s at 25 mm/s and 10 mm of margins or pulses.
PAPER_SIZES_MM: dict[str, tuple[float, float]] = {
    "letter": (279.4, 215.9),
    "a4": (297.0, 210.0),
    "strip": (260.0, 125.0),
}
#: where each row's calibration pulse is drawn
PULSE_POSITIONS = ("start", "end", "both", "none")


@dataclass(frozen=True)
class RenderConfig:
    """How a page is drawn. Defaults reproduce the Kaggle / ECG-Image-Kit convention (3x4+II, 25 mm/s, 10 mm/mV)."""

    layout: str = "3x4+II"
    paper: str = "letter"
    dpi: float = 200.0
    speed_mm_per_s: float = 25.0
    gain_mm_per_mv: float = 10.0
    grid_colour: str = "red"
    pulse: str = "none"  # start | end | both | none
    # how long the pulse's top lasts, s: 0.2 s on ECG-Image-Kit's pages, 0.07-0.2 s on other machines' printouts;
    # a narrower pulse keeps the 0.2-s slot (the trace begins where it would after a 0.2-s pulse)
    pulse_width_s: float = 0.2
    line_width_mm: float = 0.22
    trace_rgb: tuple[int, int, int] = (0, 0, 0)
    left_mm: float = 10.0  # where the first column (or the pulse) starts; 0-2 mm: leads from the page's edge
    right_mm: float = 5.0  # paper kept free right of the last column (or the end pulse)
    rows_top_mm: float | None = None  # top of the band that holds the rows (None: layout default)
    rows_bottom_mm: float = 8.0  # gap between the last row's band and the page bottom
    labels: bool = True
    # lead labels' vertical shift from their ECG-Image-Kit place (top about 2 mm under the zero line, right of the
    # separator), mm, positive down: printers differ, and a label a trace runs into is what a reader must ignore
    label_offset_mm: float = 0.0
    separators: bool = True
    # None: a thin tick one px wider than the trace; a width draws a solid bar (ECG-Image-Kit's are 6 px wide at
    # 200 dpi, 0.76 mm, measured on dev_eik_clean: render=kaggle draws those)
    separator_width_mm: float | None = None
    header: bool = True
    footer: bool = True
    font_pt: float = 11.0
    draw_traces: bool = True
    grid_origin_mm: tuple[float, float] = (0.0, 0.0)
    # 1: OpenCV's anti-aliased lines, whose thickness is a whole number of pixels (line_width_mm rounds to 1, 2, ...
    # px, which leave 1-2, 3-4 ... px of dark ink). k = 2-4: the traces are drawn at k times the resolution and
    # area-averaged, so a pen draws as its own width within 1/k px (a 0.25-mm pen at 200 dpi: 2 px,
    # ECG-Image-Kit's median); the fine canvas holds k^2 times the traces' band of the page.
    stroke_supersample: int = 1
    grid_style: str = "solid"  # solid | dotted | none (grid.GRID_PATTERNS); none: no lines, paper colour kept
    font: str = "sans"  # labels, header and footer (text.FONTS: sans, serif, times, mono ...)
    # None: the three-line header / the speed-gain footer; n: a block of n lines (header: in one to three
    # columns), and the rows move clear of it
    header_lines: int | None = None
    footer_lines: int | None = None

    def __post_init__(self) -> None:
        get_layout(self.layout)
        get_scheme(self.grid_colour)
        if self.paper not in PAPER_SIZES_MM:
            raise KeyError(f"unknown paper {self.paper!r}; valid: {', '.join(PAPER_SIZES_MM)}")
        if self.pulse not in PULSE_POSITIONS:
            raise KeyError(f"unknown pulse position {self.pulse!r}; valid: {', '.join(PULSE_POSITIONS)}")
        if not 50 <= self.dpi <= 600:
            raise ValueError(f"dpi must be within 50-600, got {self.dpi}")
        if self.speed_mm_per_s <= 0 or self.gain_mm_per_mv <= 0:
            raise ValueError("speed_mm_per_s and gain_mm_per_mv must be positive")
        if not 0.0 < self.pulse_width_s <= _PULSE_WIDTH_S:
            raise ValueError(f"pulse_width_s must be within (0, {_PULSE_WIDTH_S}], got {self.pulse_width_s}")
        if self.separator_width_mm is not None and self.separator_width_mm <= 0:
            raise ValueError(f"separator_width_mm must be positive or None, got {self.separator_width_mm}")
        if not 1 <= self.stroke_supersample <= 4:
            raise ValueError(f"stroke_supersample must be within 1-4, got {self.stroke_supersample}")
        check_pattern(self.grid_style)
        check_font(self.font)
        if self.left_mm < 0 or self.right_mm < 0:
            raise ValueError(f"left_mm and right_mm must be >= 0, got {self.left_mm}, {self.right_mm}")
        if self.line_width_mm <= 0 or self.font_pt <= 0:
            raise ValueError(
                f"line_width_mm and font_pt must be positive, got {self.line_width_mm}, {self.font_pt}"
            )
        if len(self.trace_rgb) != 3 or not all(0 <= int(v) <= 255 for v in self.trace_rgb):
            raise ValueError(f"trace_rgb must be three values within 0-255, got {self.trace_rgb}")
        for name in ("header_lines", "footer_lines"):
            n = getattr(self, name)
            if n is not None and not 1 <= n <= blocks.MAX_BLOCK_LINES:
                raise ValueError(f"{name} must be within 1-{blocks.MAX_BLOCK_LINES} or None, got {n}")

    @property
    def px_per_mm(self) -> float:
        return self.dpi / MM_PER_INCH

    @property
    def size_px(self) -> tuple[int, int]:
        w_mm, h_mm = PAPER_SIZES_MM[self.paper]
        return round(w_mm * self.px_per_mm), round(h_mm * self.px_per_mm)

    @property
    def font_px(self) -> int:
        return max(6, round(self.font_pt / 72.0 * self.dpi))


# Calibration pulse: a 1 mV step 0.2 s wide (or RenderConfig.pulse_width_s), and the trace begins 0.2 s after the
# pulse's first point.
_PULSE_PRE_S, _PULSE_WIDTH_S, _PULSE_POST_S, _PULSE_GAP_MM = 0.0, 0.2, 0.0, 0.0
# A start pulse is drawn as ECG-Image-Kit draws it: a polyline through samples of the record's rate, 2 at 0 mV,
# 0.2 s at 1 mV and 2 at 0 mV, so its edges are one-sample ramps whose centres lie 1.5 samples after its first
# point and 1.5 samples after the trace's start (pulse and trace overlap there). End pulses (not an ECG-Image-Kit
# feature) keep vertical edges and the trace ends where they rise.
_PULSE_LEAD_SAMPLES = 2
# ECG-Image-Kit's zero-mV baselines of a 4-row page (3x4+II), as fractions of the page height (measured on
# ../shared/data/dev_eik_clean: 708.33, 991.67, 1275.0 and 1534.7 px of 1700).
_EIK_4ROW_BASELINES = (5 / 12, 7 / 12, 9 / 12, 0.90276)
_DRAW_TOLERANCE_PX = 0.1


@dataclass
class _Strip:
    lead: str
    row: int
    col: int
    t0_s: float
    t1_s: float
    x0_px: float
    x1_px: float
    baseline_y_px: float
    half_pitch_px: float


@dataclass
class PageGeometry:
    """Where rows, columns and pulses lie on a page, before any signal is drawn (all in pixels)."""

    width_px: int
    height_px: int
    strips: list[_Strip] = field(default_factory=list)
    row_baselines_y_px: list[float] = field(default_factory=list)
    pulse_x0_px: float | None = None  # the start pulse's (for pulse="both" too), else the end pulse's
    header_bottom_px: float = 0.0
    # every pulse column: ("start" | "end", x of its first point)
    pulses_x0_px: list[tuple[str, float]] = field(default_factory=list)


def page_geometry(config: RenderConfig, duration_s: float) -> PageGeometry:
    """Lay the configured layout out on the page for a record of ``duration_s`` seconds."""
    spec = get_layout(config.layout)
    ppm = config.px_per_mm
    width_px, height_px = config.size_px
    w_mm, h_mm = PAPER_SIZES_MM[config.paper]
    pulse_mm = (_PULSE_PRE_S + _PULSE_WIDTH_S + _PULSE_POST_S) * config.speed_mm_per_s + _PULSE_GAP_MM
    has_start, has_end = config.pulse in ("start", "both"), config.pulse in ("end", "both")
    left_mm = config.left_mm + (pulse_mm if has_start else 0.0)
    right_reserve_mm = config.right_mm + (pulse_mm if has_end else 0.0)
    avail_mm = w_mm - left_mm - right_reserve_mm
    col_s = duration_s / spec.n_cols
    window_s = min(col_s, avail_mm / spec.n_cols / config.speed_mm_per_s)
    rhythm_s = min(duration_s, avail_mm / config.speed_mm_per_s)

    top_mm = config.rows_top_mm
    if top_mm is None:
        # ECG-Image-Kit puts the first of 4 rows' baselines 90 mm from the top; denser layouts use more paper.
        top_mm = {4: 72.5, 6: 40.0}.get(spec.n_rows, 30.0 if spec.n_rows < 8 else 22.0)
    bottom_mm = config.rows_bottom_mm
    blocks_set = config.header_lines is not None or config.footer_lines is not None
    if config.header and config.header_lines is not None:  # the rows start clear of the header block
        top_mm = max(top_mm, blocks.block_height_mm(config.header_lines, config.font_px, ppm))
    if config.footer and config.footer_lines is not None:
        bottom_mm = max(bottom_mm, blocks.block_height_mm(config.footer_lines, config.font_px, ppm))
    pitch_mm = (h_mm - top_mm - bottom_mm) / spec.n_rows
    if pitch_mm <= 2:
        raise ValueError(f"layout {spec.name} does not fit on {config.paper} paper with rows_top_mm={top_mm}")
    geom = PageGeometry(width_px, height_px, header_bottom_px=top_mm * ppm)
    if has_start:
        geom.pulses_x0_px.append(("start", config.left_mm * ppm))
    if has_end:
        x_end = (left_mm + spec.n_cols * window_s * config.speed_mm_per_s + _PULSE_GAP_MM) * ppm
        geom.pulses_x0_px.append(("end", x_end))
    geom.pulse_x0_px = geom.pulses_x0_px[0][1] if geom.pulses_x0_px else None
    eik_rows = config.rows_top_mm is None and spec.n_rows == len(_EIK_4ROW_BASELINES) and not blocks_set
    if eik_rows:
        pitch_mm = (_EIK_4ROW_BASELINES[1] - _EIK_4ROW_BASELINES[0]) * h_mm
    for r in range(spec.n_rows):
        base = _EIK_4ROW_BASELINES[r] * h_mm * ppm if eik_rows else (top_mm + pitch_mm * (r + 0.5)) * ppm
        geom.row_baselines_y_px.append(base)
        if r < len(spec.grid):
            for c, lead in enumerate(spec.grid[r]):
                t0 = c * col_s
                x0 = (left_mm + c * window_s * config.speed_mm_per_s) * ppm
                geom.strips.append(
                    _Strip(
                        lead,
                        r,
                        c,
                        t0,
                        t0 + window_s,
                        x0,
                        x0 + window_s * config.speed_mm_per_s * ppm,
                        base,
                        pitch_mm * ppm / 2,
                    )
                )
        else:
            lead = spec.rhythm[r - len(spec.grid)]
            x0 = left_mm * ppm
            geom.strips.append(
                _Strip(
                    lead,
                    r,
                    0,
                    0.0,
                    rhythm_s,
                    x0,
                    x0 + rhythm_s * config.speed_mm_per_s * ppm,
                    base,
                    pitch_mm * ppm / 2,
                )
            )
    return geom


def _sample_range(t0_s: float, t1_s: float, fs_hz: float, n_samples: int) -> tuple[int, int]:
    """Samples n with t0 <= n/fs < t1 (clipped to the record)."""
    start = int(np.ceil(t0_s * fs_hz - 1e-9))
    end = int(np.ceil(t1_s * fs_hz - 1e-9))
    return max(0, start), min(n_samples, end)


def _header_lines(record: EcgRecord, rng: np.random.Generator) -> list[str]:
    meta = record.meta or {}
    age = meta.get("age", int(rng.integers(18, 95)))
    sex = meta.get("sex", str(rng.choice(["Male", "Female"])))
    hr = meta.get("hr_bpm")
    lines = [f"ID: {record.record_id or int(rng.integers(10000, 99999))}", f"Age: {age} yrs", f"Sex: {sex}"]
    if hr is not None:
        lines.append(f"Vent. rate: {round(float(hr))} BPM")
    return lines


def render_ecg(
    record: EcgRecord, config: RenderConfig | None = None, rng: np.random.Generator | None = None
) -> tuple[np.ndarray, RenderTruth]:
    """Draw ``record`` as a paper ECG; return (H x W x 3 uint8 RGB image, exact ground truth).

    The truth's ``record`` holds the plotted signal in Kaggle CSV semantics: for each lead the values of the
    samples that were printed (for lead II the rhythm strip), NaN elsewhere.
    """
    config = config or RenderConfig()
    rng = rng if rng is not None else np.random.default_rng(0)
    fs = float(record.fs_hz)
    sig = record.signal_mv
    if not np.isfinite(sig).any():
        raise ValueError(f"record {record.record_id!r}: no finite samples to draw")
    ppm = config.px_per_mm
    px_per_s = config.speed_mm_per_s * ppm
    px_per_mv = config.gain_mm_per_mv * ppm
    geom = page_geometry(config, record.n_samples / fs)
    spec = get_layout(config.layout)
    if config.grid_style == "dotted":  # dots must be larger than lines are wide to show
        style = GridStyle(config.grid_colour, max(1.0, 0.15 * ppm), max(1.6, 0.3 * ppm), "dotted")
    else:
        style = GridStyle(
            colour=config.grid_colour,
            minor_width_px=max(0.8, 0.1 * ppm),
            major_width_px=max(1.2, 0.2 * ppm),
            pattern=config.grid_style,
        )
    origin = (config.grid_origin_mm[0] * ppm, config.grid_origin_mm[1] * ppm)
    image = grid_image(geom.width_px, geom.height_px, ppm, origin, style)
    supersample = int(config.stroke_supersample)
    thickness = max(1, round(config.line_width_mm * ppm)) if supersample == 1 else 0
    trace_bgr = tuple(int(v) for v in config.trace_rgb)  # image is RGB; cv2 just writes the tuple as given

    plotted = np.full_like(sig, np.nan)
    panels: list[LeadPanel] = []
    polylines: list[np.ndarray] = []
    for strip in geom.strips:
        li = LEADS.index(strip.lead)
        polarity = spec.polarity(strip.lead)
        s0, s1 = _sample_range(strip.t0_s, strip.t1_s, fs, record.n_samples)
        values = sig[s0:s1, li]
        finite = np.isfinite(values)
        n = np.arange(s0, s1)
        xs = strip.x0_px + (n / fs - strip.t0_s) * px_per_s
        ys = (
            strip.baseline_y_px - values * px_per_mv
            if polarity > 0
            else strip.baseline_y_px + values * px_per_mv
        )
        pts = np.stack([xs, ys], axis=1)[finite]
        plotted[s0:s1, li][finite] = values[finite]
        if len(pts):
            cols_x = np.arange(int(np.ceil(pts[0, 0])), int(np.floor(pts[-1, 0])) + 1)
            cols_y = np.interp(cols_x, pts[:, 0], pts[:, 1])
        else:
            cols_x, cols_y = np.zeros(0, np.int64), np.zeros(0)
        box = (
            strip.x0_px,
            strip.baseline_y_px - strip.half_pitch_px,
            strip.x1_px,
            strip.baseline_y_px + strip.half_pitch_px,
        )
        panels.append(
            LeadPanel(
                strip.lead,
                strip.row,
                strip.col,
                s0,
                s1,
                box,
                strip.baseline_y_px,
                pts,
                cols_x,
                cols_y,
                polarity,
            )
        )
        if len(pts) > 1:
            drawn = with_caps(pts, thickness) if supersample == 1 else pts  # thick pens: round caps
            fixed = np.round(drawn * (1 << _SHIFT)).astype(np.int32).reshape(-1, 1, 2)
            # Drop points the stroke passes within 0.1 px of anyway (several samples per pixel column): the
            # drawn line stays within 0.1 px of every sample and AA drawing gets 3-5x faster.
            polylines.append(cv2.approxPolyDP(fixed, _DRAW_TOLERANCE_PX * (1 << _SHIFT), False))

    # Calibration pulses (1 mV), drawn in the trace colour; separators and labels in black.
    pulse_boxes: list[tuple[float, float, float, float]] = []
    step = px_per_s / fs
    for kind, x in geom.pulses_x0_px:
        for base in geom.row_baselines_y_px:
            xa = x + _PULSE_PRE_S * px_per_s
            xb = xa + config.pulse_width_s * px_per_s
            xe = xa + (_PULSE_WIDTH_S + _PULSE_POST_S) * px_per_s
            top = base - px_per_mv
            if kind == "start":
                k = _PULSE_LEAD_SAMPLES
                pulse = np.array(
                    [
                        [xa, base],
                        [xa + (k - 1) * step, base],
                        [xa + k * step, top],
                        [xb + (k - 1) * step, top],
                        [xb + k * step, base],
                        [xb + (k + 1) * step, base],
                    ]
                )
                xa, xb = xa + (k - 0.5) * step, xb + (k - 0.5) * step  # the edges' centres
            else:
                pulse = np.array([[x, base], [xa, base], [xa, top], [xb, top], [xb, base], [xe, base]])
            polylines.append(np.round(pulse * (1 << _SHIFT)).astype(np.int32).reshape(-1, 1, 2))
            pulse_boxes.append((xa, top, xb, base))
    if config.draw_traces and polylines:
        if supersample == 1:
            cv2.polylines(image, polylines, False, trace_bgr, thickness, cv2.LINE_AA, shift=_SHIFT)
        else:
            draw_supersampled(image, polylines, trace_bgr, config.line_width_mm * ppm, supersample)

    font_px = config.font_px
    if config.separators:
        half = 0.35 * px_per_mv / max(1.0, config.gain_mm_per_mv / 10.0)
        for strip in geom.strips:
            if strip.col > 0:
                y0, y1 = round(strip.baseline_y_px - half), round(strip.baseline_y_px + half)
                if config.separator_width_mm is None:
                    x = round(strip.x0_px)
                    cv2.line(image, (x, y0), (x, y1), (0, 0, 0), max(2, thickness + 1))
                else:
                    w = max(1, round(config.separator_width_mm * ppm))
                    x = round(strip.x0_px - w / 2)
                    cv2.rectangle(image, (x, y0), (x + w - 1, y1), (0, 0, 0), -1)
    if config.labels:
        for strip in geom.strips:
            draw_text(
                image,
                spec.label(strip.lead),
                strip.x0_px + 0.3 * ppm,
                strip.baseline_y_px + 0.35 * font_px + (2.5 + config.label_offset_mm) * ppm,
                font_px,
                font=config.font,
            )
    if config.header and config.header_lines is not None:
        columns = blocks.header_columns(record, config.header_lines, rng)
        blocks.draw_header_block(image, columns, font_px, ppm, config.font)
    elif config.header:
        lines = _header_lines(record, rng)
        for i, line in enumerate(lines[:3]):
            draw_text(image, line, 2.0 * ppm, 2.0 * ppm + i * 1.35 * font_px, font_px, font=config.font)
        for j, line in enumerate(lines[3:]):
            draw_text(
                image, line, 0.35 * geom.width_px, 2.0 * ppm + j * 1.35 * font_px, font_px, font=config.font
            )
    if config.footer and config.footer_lines is not None:
        lines = blocks.footer_lines(config.speed_mm_per_s, config.gain_mm_per_mv, config.footer_lines, rng)
        blocks.draw_footer_block(image, lines, font_px, ppm, config.font)
    elif config.footer:
        y = geom.height_px - 1.5 * font_px
        draw_text(image, f"{config.speed_mm_per_s:g}mm/s", 0.18 * geom.width_px, y, font_px, font=config.font)
        draw_text(
            image, f"{config.gain_mm_per_mv:g}mm/mV", 0.36 * geom.width_px, y, font_px, font=config.font
        )

    truth = RenderTruth(
        record=EcgRecord(plotted, fs, record.record_id, dict(record.meta)),
        layout=config.layout,
        width_px=geom.width_px,
        height_px=geom.height_px,
        dpi=float(config.dpi),
        px_per_mm=ppm,
        speed_mm_per_s=float(config.speed_mm_per_s),
        gain_mm_per_mv=float(config.gain_mm_per_mv),
        line_width_px=float(thickness)
        if supersample == 1
        else supersampled_thickness(config.line_width_mm * ppm, supersample) / supersample,
        panels=panels,
        row_baselines_y_px=list(geom.row_baselines_y_px),
        pulse_boxes_xyxy=pulse_boxes,
        grid=None
        if config.grid_colour == "none" or config.grid_style == "none"
        else GridGeometry(origin[0], origin[1], ppm, 5, config.grid_colour, config.grid_style),
        meta={
            "paper": config.paper,
            "pulse": config.pulse,
            "aug": "clean",
            "geometric": False,
            "style": _style_meta(config),
        },
    )
    return image, truth


def _style_meta(config: RenderConfig) -> dict:
    """How the page looks, beyond what the truth's own fields say (for breakdowns by page style)."""
    return {
        "grid_colour": config.grid_colour,
        "grid_style": config.grid_style,
        "font": config.font,
        "left_mm": float(config.left_mm),
        "separators": "none"
        if not config.separators
        else ("tick" if config.separator_width_mm is None else "bar"),
        "trace_rgb": [int(v) for v in config.trace_rgb],
        "line_width_mm": float(config.line_width_mm),
        "header_lines": config.header_lines if config.header else 0,
        "footer_lines": config.footer_lines if config.footer else 0,
        "pulse_width_s": float(config.pulse_width_s),
    }


def with_overrides(config: RenderConfig, **changes) -> RenderConfig:
    """A copy of ``config`` with some fields changed (validated)."""
    return replace(config, **changes)
