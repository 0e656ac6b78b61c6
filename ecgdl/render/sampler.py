"""Randomised page settings: draws a RenderConfig per page from lists of choices (what conf/render/ configures)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ecgdl.render.renderer import RenderConfig


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

    def sample(self, rng: np.random.Generator) -> RenderConfig:
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
        return RenderConfig(
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
            **optional,
            **self.extra,
        )
