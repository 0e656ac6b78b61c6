"""The geometry of a page: where and how a 12-lead ECG is printed on one image, whatever found it.

:class:`PageGeometry` is what the geometry stages of a digitizer produce and what the tracing and resampling
stages read: the page's frame (how the input image was rectified), its scale in px/mm, the layout with its
rows of trace (zero lines and extents) and lead segments (boxes and time windows), the paper speed and gain,
and the calibration pulses. :meth:`ecgdl.classical.ClassicalDigitizer.read_page` returns the one its classical
stages found; a learned geometry stage returns the same dataclass. Nothing here depends on how the geometry
was found: this module holds plain data (:class:`RowBand`, :class:`LeadSegment`, :class:`Pulse` are defined
here and used by the stages that find them, :mod:`~ecgdl.classical.layout` and :mod:`~ecgdl.classical.pulse`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["LeadSegment", "PageGeometry", "Pulse", "RowBand"]


@dataclass
class RowBand:
    """A row of trace: zero line ``baseline_y_px``, horizontal extent ``[x_start_px, x_end_px]`` (the traced
    signal only, calibration pulse excluded once known) and ``strength`` (long-stretch ink length, px)."""

    baseline_y_px: float
    x_start_px: float
    x_end_px: float
    strength: float

    @property
    def width_px(self) -> float:
        return self.x_end_px - self.x_start_px


@dataclass
class LeadSegment:
    """One printed lead: row/column of the layout, the page x of its first sample ``x0_px`` (time ``t0_s``),
    its last x ``x1_px``, the zero line and the vertical search band ``[y_lo_px, y_hi_px)``."""

    lead: str
    row: int
    col: int
    t0_s: float
    duration_s: float
    x0_px: float
    x1_px: float
    baseline_y_px: float
    y_lo_px: int
    y_hi_px: int


@dataclass
class Pulse:
    """A calibration pulse on one row (page pixels): edges ``x_rise_px``/``x_fall_px`` (at half height), the
    foot and top levels, and ``x_clear_px``: where the pulse's drawing ends (the signal starts after it for a
    pulse at the start, and before ``x_begin_px`` for one at the end). ``side``: ``"start"`` or ``"end"`` of
    the row."""

    side: str
    x_begin_px: float
    x_rise_px: float
    x_fall_px: float
    x_clear_px: float
    foot_y_px: float
    top_y_px: float

    @property
    def height_px(self) -> float:
        return self.foot_y_px - self.top_y_px

    @property
    def width_px(self) -> float:
        return self.x_fall_px - self.x_rise_px


@dataclass(frozen=True)
class PageGeometry:
    """Where the leads of one page image are printed and at which scales (see the module docstring).

    Frame: every pixel coordinate here is in the *page frame*, the input image mapped by ``homography``
    (3 x 3: input pixel ``(x, y, 1)`` -> page pixel, up to scale). When ``rectified`` is False that is a plain
    downscaling by ``input_scale`` (1: the input's own pixels); when True, the page was also deskewed or
    perspective-corrected so that its grid lines run along the axes. The page frame is ``size_wh`` pixels.

    Attributes:
        homography: input pixels -> page-frame pixels (3 x 3 float).
        size_wh: (width, height) of the page frame, px.
        input_scale: the downscaling applied to the input before any rectification (page px per input px).
        rectified: whether the page frame is a warp of the input beyond that scaling.
        px_per_mm_x / px_per_mm_y: the paper's millimetre along x (time) and y (voltage) in the page frame; a
            whole-page prior when no grid was seen (``px_per_s`` / ``px_per_mv`` then come from elsewhere).
        layout: the layout's name, a key of :data:`ecgdl.layouts.LAYOUTS` (``"3x4+II"``, ``"6x2"``, ...).
        rows: the layout's rows of trace, top to bottom: where each row's trace runs (``baseline_y_px``, the
            level it spends most time near, which the tracker keeps to; within a tenth of a mV or so of its
            0 mV line) and its extent ``[x_start_px, x_end_px]``, from the row's first sample to its last
            (pulses excluded).
        zero_lines_y_px: each row's 0 mV line: the foot of its calibration pulse where it has one (to a pixel
            or so), else its ``baseline_y_px``.
        segments: one :class:`LeadSegment` per printed lead (rhythm strips included): its box
            ``[x0_px, x1_px] x [y_lo_px, y_hi_px)``, its row's ``baseline_y_px`` and its time window
            ``[t0_s, t0_s + duration_s)`` of the recording. A sample at time ``t`` lies at
            ``x = x0_px + (t - t0_s) * px_per_s``; a trace at height ``y`` reads ``(zero - y) / px_per_mv``
            mV, ``zero`` the row's zero line (the classical reader takes a lead's own isoelectric level, as
            the metric removes one offset per lead).
        speed_mm_per_s / gain_mm_per_mv: the paper speed and gain.
        px_per_s / px_per_mv: time and voltage scales in the page frame (px_per_mm_x * speed and
            px_per_mm_y * gain with a grid).
        pulses: the calibration pulses, by row index (rows without one are absent).
        stroke_px: the trace's stroke thickness, page px.
    """

    homography: np.ndarray
    size_wh: tuple[int, int]
    input_scale: float
    rectified: bool
    px_per_mm_x: float
    px_per_mm_y: float
    layout: str
    rows: tuple[RowBand, ...]
    zero_lines_y_px: tuple[float, ...]
    segments: tuple[LeadSegment, ...]
    speed_mm_per_s: float
    gain_mm_per_mv: float
    px_per_s: float
    px_per_mv: float
    pulses: dict[int, tuple[Pulse, ...]] = field(default_factory=dict)
    stroke_px: float = 1.0

    @property
    def px_per_mm(self) -> float:
        """The page frame's mean scale, px/mm (geometric mean of x and y)."""
        return float(np.sqrt(self.px_per_mm_x * self.px_per_mm_y))

    @property
    def row_baselines_px(self) -> list[float]:
        """Where each row's trace runs (``rows[i].baseline_y_px``), page px, top to bottom."""
        return [float(r.baseline_y_px) for r in self.rows]

    @property
    def n_pulses(self) -> int:
        return sum(len(p) for p in self.pulses.values())
