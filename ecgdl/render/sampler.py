"""Randomised page settings: draws a RenderConfig per page from lists of choices (what conf/render/ configures).

Options added after the first presets (margins, separators, grid patterns, trace colours, fonts, header and
footer blocks, an alternative sampler for a share of the pages) are drawn only when configured, after every
older draw, so that presets without them keep their pages pixel for pixel.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ecgdl.render.renderer import PAPER_SIZES_MM, RenderConfig


def _check_range(name: str, value, low: float, high: float) -> None:
    """``value`` is None or a [lo, hi] range within [low, high]."""
    if value is None:
        return
    if len(value) != 2 or not low <= value[0] <= value[1] <= high:
        raise ValueError(f"{name} must be a [lo, hi] range within {low}-{high} or null, got {list(value)}")


def _ranges(value) -> list:
    """A [lo, hi] range, or a list of them, as a list of ranges."""
    if value is not None and len(value) and isinstance(value[0], Sequence):
        return [list(r) for r in value]
    return [value]


def _uniform(rng: np.random.Generator, value) -> float:
    """A value from the range, or from one range of a list of ranges (each equally likely)."""
    ranges = _ranges(value)
    lo, hi = ranges[int(rng.integers(len(ranges)))] if len(ranges) > 1 else ranges[0]
    return float(rng.uniform(lo, hi))


def _check_choices(name: str, value) -> None:
    if value is not None and not len(value):
        raise ValueError(f"{name} needs at least one choice (or null: not drawn)")


def _choice(rng: np.random.Generator, options: Sequence, weights: Sequence[float] | None = None):
    if weights is not None:
        if len(weights) != len(options):
            raise ValueError(f"{len(options)} options but {len(weights)} weights")
        p = np.asarray(weights, float)
        return options[int(rng.choice(len(options), p=p / p.sum()))]
    return options[int(rng.integers(len(options)))]


@dataclass
class RenderSampler:
    """Draws a :class:`RenderConfig` per page from the given choices (first entries are the common case)."""

    layouts: Sequence[str] = ("3x4+II",)
    layout_weights: Sequence[float] | None = None
    speeds_mm_per_s: Sequence[float] = (25.0,)
    gains_mm_per_mv: Sequence[float] = (10.0,)
    dpis: Sequence[float] = (200.0,)
    grid_colours: Sequence[str] = ("red",)
    pulses: Sequence[str] = ("none",)
    papers: Sequence[str] = ("letter",)
    line_width_mm: tuple[float, float] = (0.22, 0.22)
    rows_top_mm: tuple[float, float] | None = None
    header_probability: float = 1.0
    # column separators: bar widths in mm (ECG-Image-Kit: 0.76) or None for a thin tick; one is drawn per page
    separator_widths_mm: Sequence[float | None] = (None,)
    # share of pages whose traces are drawn supersampled (RenderConfig.stroke_supersample = 4: any real pen width,
    # e.g. ECG-Image-Kit's 2 px); drawn only when above 0, so that settings without it keep their pages
    stroke_supersample_share: float = 0.0
    # range of RenderConfig.label_offset_mm drawn per page (e.g. [-3, 1]: labels up into the trace's path); None:
    # not drawn, so that settings without it keep their pages
    label_offset_mm: tuple[float, float] | None = None
    # ---- drawn only when set (null: not drawn, the RenderConfig default) ----
    # left / right margins in mm, [lo, hi] or a list of ranges, one drawn per page (e.g. [[0, 2], [5, 15]]:
    # leads from the page's edge or with a margin)
    left_mm: Sequence | None = None
    right_mm: Sequence | None = None
    # top of the rows' band as a share of the page height, [lo, hi] (for pages of any height; replaces rows_top_mm)
    rows_top_fraction: tuple[float, float] | None = None
    separators: Sequence[bool] | None = (
        None  # e.g. [true, true, false]: a third of the pages without separators
    )
    grid_styles: Sequence[str] | None = None  # solid | dotted | none
    trace_rgbs: Sequence[Sequence[int]] | None = None  # trace colours, e.g. [[0, 0, 0], [90, 90, 90]]
    fonts: Sequence[str] | None = None  # text.FONTS
    font_pt: tuple[float, float] | None = None  # text size range
    header_lines: Sequence[int | None] | None = None  # block sizes; null entries: the three-line header
    footer_lines: Sequence[int | None] | None = None
    pulse_widths_s: Sequence[float] | None = None  # how long a pulse's top lasts, e.g. [0.2, 0.12, 0.08]
    # a second sampler (its options, or a RenderSampler) that draws this share of the pages, e.g. Kaggle pages
    # among varied ones
    alternative: dict | RenderSampler | None = None
    alternative_share: float = 0.0
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Validate every option once, so a typo fails at start-up with the list of valid names.
        for layout in self.layouts:
            for colour in self.grid_colours:
                RenderConfig(layout=layout, grid_colour=colour)
        for pulse in self.pulses:
            RenderConfig(pulse=pulse)
        if not 0.0 <= self.stroke_supersample_share <= 1.0:
            raise ValueError(
                f"stroke_supersample_share must be within 0-1, got {self.stroke_supersample_share}"
            )
        if self.label_offset_mm is not None and (
            len(self.label_offset_mm) != 2 or self.label_offset_mm[0] > self.label_offset_mm[1]
        ):
            raise ValueError(
                f"label_offset_mm must be a [low, high] range or null, got {self.label_offset_mm}"
            )
        if not len(self.separator_widths_mm):
            raise ValueError("separator_widths_mm needs at least one choice (null: a thin tick)")
        for width in self.separator_widths_mm:
            RenderConfig(separator_width_mm=width)
        self._check_new_options()

    def _check_new_options(self) -> None:
        for name in ("left_mm", "right_mm"):
            for r in _ranges(getattr(self, name)):
                _check_range(name, r, 0.0, 100.0)
        _check_range("rows_top_fraction", self.rows_top_fraction, 0.0, 0.8)
        _check_range("font_pt", self.font_pt, 1.0, 40.0)
        names = (
            "separators",
            "grid_styles",
            "trace_rgbs",
            "fonts",
            "header_lines",
            "footer_lines",
            "pulse_widths_s",
        )
        for name in names:
            _check_choices(name, getattr(self, name))
        for style in self.grid_styles or ():
            RenderConfig(grid_style=style)
        for rgb in self.trace_rgbs or ():
            RenderConfig(trace_rgb=tuple(rgb))
        for font in self.fonts or ():
            RenderConfig(font=font)
        for n in self.header_lines or ():
            RenderConfig(header_lines=n)
        for n in self.footer_lines or ():
            RenderConfig(footer_lines=n)
        for width in self.pulse_widths_s or ():
            RenderConfig(pulse_width_s=width)
        if not 0.0 <= self.alternative_share <= 1.0:
            raise ValueError(f"alternative_share must be within 0-1, got {self.alternative_share}")
        if self.alternative is not None and not isinstance(self.alternative, RenderSampler):
            options = {k: v for k, v in dict(self.alternative).items() if k != "_target_"}
            self.alternative = RenderSampler(**options)
        if self.alternative_share > 0 and self.alternative is None:
            raise ValueError("alternative_share > 0 needs an alternative sampler (alternative: {...})")

    def sample(self, rng: np.random.Generator) -> RenderConfig:
        share = self.alternative_share
        if self.alternative is not None and share > 0 and rng.random() < share:
            return self.alternative.sample(rng)
        top = None if self.rows_top_mm is None else float(rng.uniform(*self.rows_top_mm))
        header = bool(rng.random() < self.header_probability)
        # drawn only when there is a choice, so that settings without one keep their pages
        widths = list(self.separator_widths_mm)
        separator = _choice(rng, widths) if len(widths) > 1 else widths[0]
        optional = {}  # options drawn only when configured
        if self.stroke_supersample_share > 0:
            optional["stroke_supersample"] = 4 if rng.random() < self.stroke_supersample_share else 1
        if self.label_offset_mm is not None:
            optional["label_offset_mm"] = float(rng.uniform(*self.label_offset_mm))
        # the older draws, in their order (keyword arguments are evaluated left to right)
        settings = dict(
            layout=_choice(rng, list(self.layouts), self.layout_weights),
            speed_mm_per_s=float(_choice(rng, list(self.speeds_mm_per_s))),
            gain_mm_per_mv=float(_choice(rng, list(self.gains_mm_per_mv))),
            dpi=float(_choice(rng, list(self.dpis))),
            grid_colour=_choice(rng, list(self.grid_colours)),
            pulse=_choice(rng, list(self.pulses)),
            paper=_choice(rng, list(self.papers)),
            line_width_mm=float(rng.uniform(*self.line_width_mm)),
            rows_top_mm=top,
            header=header,
            separator_width_mm=None if separator is None else float(separator),
        )
        settings.update(optional)
        settings.update(self._sample_new_options(rng, settings["paper"]))
        return RenderConfig(**settings, **self.extra)

    def _sample_new_options(self, rng: np.random.Generator, paper: str) -> dict:
        """The options drawn only when configured, in a fixed order."""
        out: dict = {}
        if self.left_mm is not None:
            out["left_mm"] = _uniform(rng, self.left_mm)
        if self.right_mm is not None:
            out["right_mm"] = _uniform(rng, self.right_mm)
        if self.rows_top_fraction is not None:
            out["rows_top_mm"] = float(rng.uniform(*self.rows_top_fraction)) * PAPER_SIZES_MM[paper][1]
        if self.separators is not None:
            out["separators"] = bool(_choice(rng, list(self.separators)))
        if self.grid_styles is not None:
            out["grid_style"] = str(_choice(rng, list(self.grid_styles)))
        if self.trace_rgbs is not None:
            out["trace_rgb"] = tuple(int(v) for v in _choice(rng, list(self.trace_rgbs)))
        if self.fonts is not None:
            out["font"] = str(_choice(rng, list(self.fonts)))
        if self.font_pt is not None:
            out["font_pt"] = float(rng.uniform(*self.font_pt))
        for name in ("header_lines", "footer_lines"):
            choices = getattr(self, name)
            if choices is not None:
                n = _choice(rng, list(choices))
                out[name] = None if n is None else int(n)
        if self.pulse_widths_s is not None:
            out["pulse_width_s"] = float(_choice(rng, list(self.pulse_widths_s)))
        return out
