"""The shipped learned ink (ecgdl/assets/ink.pt, ecgdl.models.ink): it marks the trace, not the grid or shading,
and gives a digitizer a second page-geometry stage."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from ecgdl.aug import load_preset
from ecgdl.classical import ClassicalDigitizer
from ecgdl.models.ink import InkSegmenter, with_learned_ink
from ecgdl.render.renderer import RenderConfig, render_ecg
from ecgdl.signals.synthetic import generate_ecg


@pytest.fixture(scope="module")
def segmenter() -> InkSegmenter:
    return InkSegmenter("ink")  # loaded with weights_only=True


def _trace_mask(truth, shape) -> np.ndarray:
    mask = np.zeros(shape[:2], np.uint8)
    for p in truth.panels:
        pts = np.round(p.points_xy).astype(np.int32).reshape(-1, 1, 2)
        cv2.polylines(mask, [pts], False, 1, 1)
    return mask.astype(bool)


@pytest.mark.parametrize("preset", ["clean", "wrinkled"])
def test_the_learned_ink_marks_the_trace_and_not_the_grid_or_the_shading(segmenter, preset: str) -> None:
    rng = np.random.default_rng(21)
    image, truth = render_ecg(generate_ecg(rng, 500.0), RenderConfig(dpi=100.0), rng)
    image, truth = load_preset(preset)(image, truth, rng)
    prob = segmenter(image)
    assert prob.shape == image.shape[:2] and prob.dtype == np.float32
    assert prob.min() >= 0.0 and prob.max() <= 1.0
    on = _trace_mask(truth, image.shape)
    far = ~cv2.dilate(on.astype(np.uint8), np.ones((15, 15), np.uint8)).astype(bool)
    marked = cv2.dilate((prob >= 0.5).astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    assert marked[on].mean() > 0.95  # the trace's centre line, within a pixel (0.99 measured)
    assert np.mean(prob[far] >= 0.5) < 0.005  # grid, text, shading, background: 0.05 % measured


def test_with_learned_ink_gives_a_second_geometry_stage(segmenter) -> None:
    reader = ClassicalDigitizer(layout="3x4+II")
    other = with_learned_ink(reader, segmenter)
    assert other is not reader and other.ink_model is segmenter and other.ink_model_mode == "veto"
    assert reader.ink_model is None  # the original is untouched
    with pytest.raises(TypeError, match="no classical page-geometry stage"):
        with_learned_ink(object(), segmenter)
    with pytest.raises(ValueError, match="unknown ink_model_mode"):
        ClassicalDigitizer(ink_model_mode="blend")
