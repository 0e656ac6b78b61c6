"""scripts/stroke_width.py measures trace thickness as dark ink (what conf/render/kaggle.yaml is set from):
check it on our own renders, whose OpenCV anti-aliased strokes leave more dark ink than their nominal thickness."""

from __future__ import annotations

import numpy as np
import pytest

from ecgdl.render import RenderConfig, render_ecg
from ecgdl.signals import generate_ecg
from tests.unit.scripts import load_script


def _vertical_runs():
    return load_script("stroke_width").vertical_runs


@pytest.mark.parametrize(
    ("line_width_mm", "thickness_px", "dark_px"), [(0.13, 1, (1, 2)), (0.25, 2, (3, 4)), (0.38, 3, (5, 6))]
)
def test_stroke_width_of_our_renders(
    line_width_mm: float, thickness_px: int, dark_px: tuple[int, int]
) -> None:
    record = generate_ecg(np.random.default_rng(3), fs_hz=500.0)
    image, truth = render_ecg(record, RenderConfig(line_width_mm=line_width_mm), np.random.default_rng(0))
    assert truth.line_width_px == thickness_px
    runs = _vertical_runs()(image, dark=128, top_frac=0.85, bottom_frac=0.95, step=3)
    runs = runs[runs <= 8]
    assert len(runs) > 100  # the rhythm strip was measured, not a few specks
    # most runs (flat trace) are the stroke's width; steep stretches only add longer ones
    counts = np.bincount(runs, minlength=9)
    assert counts[dark_px[0] : dark_px[1] + 1].sum() > 0.6 * len(runs)
    assert counts[: dark_px[0]].sum() < 0.05 * len(runs)


def test_stroke_width_ignores_the_grid() -> None:
    """Red grid lines (major and minor) are not ink: a page without traces or text measures nothing."""
    record = generate_ecg(np.random.default_rng(3), fs_hz=500.0)
    image, _ = render_ecg(
        record, RenderConfig(draw_traces=False, labels=False, footer=False), np.random.default_rng(0)
    )
    assert _vertical_runs()(image, dark=128, top_frac=0.85, bottom_frac=0.95, step=3).size == 0
