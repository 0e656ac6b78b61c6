"""Page orientation (ecgdl.models.orientation): the shipped classifier on a generated page and its turned copies."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ecgdl.models.orientation import (
    DEFAULT_WEIGHTS,
    TURNS_DEG,
    OrientationClassifier,
    OrientationNet,
    letterbox_gray,
    page_channels,
)
from ecgdl.models.selfcheck import turn_image
from ecgdl.render import RenderConfig, render_ecg
from ecgdl.signals.synthetic import generate_ecg


@pytest.fixture(scope="module")
def classifier() -> OrientationClassifier:
    return OrientationClassifier()


@pytest.fixture(scope="module")
def upright_page() -> np.ndarray:
    # seeds far from the training script's (it draws pages from default_rng([seed, split, index]))
    rng = np.random.default_rng(987_654)
    image, _ = render_ecg(generate_ecg(rng, 500.0), RenderConfig(dpi=100.0), rng)
    return image


@pytest.mark.parametrize("turn_deg", TURNS_DEG)
def test_shipped_classifier_finds_the_turn_that_makes_a_page_upright(
    classifier: OrientationClassifier, upright_page: np.ndarray, turn_deg: int
) -> None:
    # the page lies turned clockwise by turn_deg, so it needs turn_deg counter-clockwise (turn_image's convention)
    lying = turn_image(upright_page, (360 - turn_deg) % 360)
    assert classifier.predict_turn_deg(lying) == turn_deg
    assert np.array_equal(turn_image(lying, classifier.predict_turn_deg(lying)), upright_page)


def test_probabilities_are_four_and_sum_to_one(classifier: OrientationClassifier) -> None:
    rng = np.random.default_rng(5)
    noise = rng.integers(0, 256, (300, 170, 3), dtype=np.uint8)
    prob = classifier.probabilities(noise)
    assert prob.shape == (4,) and np.all(prob >= 0) and prob.sum() == pytest.approx(1.0, abs=1e-9)


@pytest.mark.parametrize(
    ("image", "match"),
    [
        (np.zeros((100, 80), np.uint8), "H x W x 3 RGB"),
        (np.zeros((100, 80, 4), np.uint8), "H x W x 3 RGB"),
        (np.zeros((100, 80, 3), np.float32), "uint8"),
        (np.zeros((4, 80, 3), np.uint8), "too small"),
    ],
)
def test_non_rgb_input_is_refused_clearly(
    classifier: OrientationClassifier, image: np.ndarray, match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        classifier.probabilities(image)


def test_shipped_weights_load_with_weights_only_and_are_small() -> None:
    ckpt = torch.load(DEFAULT_WEIGHTS, map_location="cpu", weights_only=True)
    assert set(ckpt) >= {"state_dict", "settings"}
    settings = ckpt["settings"]
    net = OrientationNet(widths=tuple(settings["widths"]))
    net.load_state_dict(ckpt["state_dict"])
    assert list(settings["turns_deg"]) == list(TURNS_DEG)
    assert DEFAULT_WEIGHTS.stat().st_size < 1_000_000


def test_missing_or_foreign_weights_raise(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match="train_orientation"):
        OrientationClassifier(tmp_path / "none.pt")
    torch.save({"weights": torch.zeros(1)}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="not an orientation checkpoint"):
        OrientationClassifier(tmp_path / "other.pt")


def test_letterbox_turns_with_the_page() -> None:
    rng = np.random.default_rng(1)
    image = rng.integers(0, 256, (120, 200, 3), dtype=np.uint8)
    square = letterbox_gray(image, 64)
    assert square.shape == (64, 64)
    assert np.array_equal(letterbox_gray(np.rot90(image).copy(), 64), np.rot90(square))
    channels = page_channels(square)
    assert channels.shape == (2, 64, 64) and channels.dtype == np.float32
