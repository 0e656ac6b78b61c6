"""Wider-than-Kaggle degradations: crumpled paper (``Wrinkles``), quarter turns (``PageTurn``), salt-and-pepper
noise and the ``wrinkled`` / ``turned`` / ``wild`` presets.

Pages are the same 100-dpi renders as in ``test_aug.py``, whose on-stroke check (with its 3-px negative control)
these tests reuse.
"""

from __future__ import annotations

import albumentations as A
import cv2
import numpy as np
import pytest

from ecgdl.aug import Degradation, build_transform, load_preset
from ecgdl.render import RenderConfig, RenderTruth, render_ecg
from ecgdl.signals.synthetic import generate_ecg
from tests.unit.test_aug import ON_STROKE_MIN, _truth_arrays, page_up, stroke_contrast


@pytest.fixture(scope="module")
def page() -> tuple[np.ndarray, RenderTruth]:
    record = generate_ecg(np.random.default_rng(7))
    return render_ecg(record, RenderConfig(dpi=100.0, line_width_mm=0.5), np.random.default_rng(7))


def _assert_on_stroke(image: np.ndarray, truth: RenderTruth, what: str) -> None:
    contrast = stroke_contrast(image, truth)
    assert contrast >= ON_STROKE_MIN, f"{what}: stroke contrast {contrast:.1f} ({truth.meta['applied']})"
    for sign in (1.0, -1.0):  # negative control: a truth 3 px off across the (possibly turned) rows must fail
        off = stroke_contrast(image, truth, sign * 3.0 * page_up(truth))
        assert off < ON_STROKE_MIN, f"{what}: a truth shifted by {sign * 3} px still passes ({off:.1f})"


def _corners(h: int, w: int) -> np.ndarray:
    return np.array([[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]], np.float64)


# ---------------------------------------------------------------------------------------------------- PageTurn
@pytest.mark.parametrize("turns", [0, 1, 2, 3])
def test_page_turn_keypoints_land_on_the_pixels_they_marked(turns):
    """Every keypoint, whole or sub-pixel, reads the same image value before and after the turn."""
    rng = np.random.default_rng(turns)
    h, w = 37, 53
    image = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    whole = np.stack([rng.integers(0, w, 200), rng.integers(0, h, 200)], axis=1).astype(np.float64)
    sub = rng.uniform((0, 0), (w - 1, h - 1), (200, 2))
    compose = A.Compose(
        [build_transform({"name": "PageTurn", "turns": [turns], "p": 1.0})],
        keypoint_params=A.KeypointParams(format="xy", remove_invisible=False, check_each_transform=False),
        seed=0,
    )
    out = compose(image=image, keypoints=np.concatenate([whole, sub]))
    turned, moved = out["image"], np.asarray(out["keypoints"], np.float64)[:, :2]
    assert turned.shape == ((w, h, 3) if turns % 2 else (h, w, 3))
    assert np.array_equal(turned, np.rot90(image, turns))
    mw, ms = moved[:200], moved[200:]
    assert np.array_equal(mw, np.round(mw))  # whole pixels stay whole
    ix, iy = mw.astype(int).T
    assert np.array_equal(turned[iy, ix], image[whole[:, 1].astype(int), whole[:, 0].astype(int)])

    def bilinear(img: np.ndarray, xy: np.ndarray) -> np.ndarray:
        m = xy.astype(np.float32)
        return cv2.remap(img.astype(np.float32), m[:, :1], m[:, 1:2], cv2.INTER_LINEAR).reshape(-1, 3)

    assert np.abs(bilinear(turned, ms) - bilinear(image, sub)).max() < 0.05


def test_page_turn_rejects_bad_arguments():
    with pytest.raises(ValueError, match="weights must be 2 non-negative"):
        build_transform({"name": "PageTurn", "turns": [1, 3], "weights": [1.0]})
    with pytest.raises(ValueError, match="positive sum"):
        build_transform({"name": "PageTurn", "turns": [1, 3], "weights": [0.0, 0.0]})
    with pytest.raises(ValueError, match="non-empty list of integers"):
        build_transform({"name": "PageTurn", "turns": [1.5]})


def test_turned_quarter_turn_transposes_the_page_and_maps_the_truth(page):
    """``turned`` with one quarter turn (and no skew): width and height swap, every truth point moves to
    (y, W - 1 - x), and the moved truth sits on the ink after the rest of the preset."""
    image, truth = page
    h, w = image.shape[:2]
    steps = [
        {**s, "turns": [1], "weights": None} if s["name"] == "PageTurn" else s
        for s in load_preset("turned").steps
        if s["name"] != "Affine"
    ]
    out, new = Degradation("turned", steps)(image, truth, np.random.default_rng(0))
    assert out.shape == (w, h, 3) and (new.height_px, new.width_px) == (w, h)
    assert new.meta["applied"][0] == "PageTurn" and new.meta["geometric"] is True
    for old, moved in zip(truth.panels, new.panels, strict=True):
        expected = np.stack([old.points_xy[:, 1], (w - 1) - old.points_xy[:, 0]], axis=1)
        assert np.abs(moved.points_xy - expected).max() < 1e-3  # float32 keypoints through albumentations
        assert np.abs(moved.cols_x - old.cols_y).max() < 1e-3
    expected_corners = np.stack([_corners(h, w)[:, 1], (w - 1) - _corners(h, w)[:, 0]], axis=1)
    assert np.abs(np.array(new.meta["page_corners_xy"]) - expected_corners).max() < 1e-3
    _assert_on_stroke(out, new, "turned, one quarter turn")


def test_turned_truth_on_ink_in_every_orientation(page):
    image, truth = page
    aug = load_preset("turned")
    shapes = set()
    for seed in range(4):
        out, new = aug(image, truth, np.random.default_rng(seed))
        shapes.add(out.shape[:2])
        _assert_on_stroke(out, new, f"turned seed {seed}")
    assert shapes == {image.shape[:2], image.shape[1::-1]}  # both portrait and landscape were drawn


# ---------------------------------------------------------------------------------------------------- Wrinkles
def test_wrinkles_shade_the_page_but_move_nothing(page):
    image, truth = page
    aug = Degradation(
        "wrinkles", [{"name": "Wrinkles", "strength_range": [0.6, 0.6], "crease_range": [2, 2], "p": 1}]
    )
    out, new = aug(image, truth, np.random.default_rng(0))
    assert out.shape == image.shape and new.meta["applied"] == ["Wrinkles"] and new.meta["geometric"] is False
    for a, b in zip(_truth_arrays(new), _truth_arrays(truth), strict=True):
        assert np.array_equal(a, b)
    assert new.grid == truth.grid
    paper = image.astype(np.float32).mean(axis=2) > 240
    ratio = out.astype(np.float32).mean(axis=2)[paper] / image.astype(np.float32).mean(axis=2)[paper]
    assert np.mean(ratio < 0.97) > 0.2  # much of the paper lies in shade
    assert np.quantile(ratio, 0.01) < 0.85 and np.quantile(ratio, 0.995) > 0.97  # shadows, lit facets
    _assert_on_stroke(out, new, "Wrinkles")


def test_wrinkles_draws_from_the_pipeline_seed_only(page):
    image, truth = page
    aug = Degradation("wrinkles", [{"name": "Wrinkles", "p": 1}])
    np.random.seed(0)  # noqa: NPY002 (the legacy global generator, to show it plays no part)
    a, _ = aug(image, truth, np.random.default_rng(5))
    np.random.seed(1)  # noqa: NPY002
    b, _ = aug(image, truth, np.random.default_rng(5))
    c, _ = aug(image, truth, np.random.default_rng(6))
    assert np.array_equal(a, b) and not np.array_equal(a, c)


# ---------------------------------------------------------------------------------------------------- noise
def test_salt_pepper_hits_the_requested_share_of_pixels(page):
    image, truth = page
    step = {
        "name": "SaltPepper",
        "amount_range": [0.02, 0.02],
        "pepper_range": [0, 0],
        "salt_range": [255, 255],
    }
    out, new = Degradation("sp", [{**step, "p": 1}])(image, truth, np.random.default_rng(0))
    changed = np.any(out != image, axis=2)
    assert 0.012 < changed.mean() < 0.02  # 2 % hit, minus repeats and pixels that already had the value
    assert set(np.unique(out[changed])) <= {0, 255}
    assert np.array_equal(out[..., 0][changed], out[..., 2][changed])  # all channels alike
    assert new.meta["geometric"] is False


# ---------------------------------------------------------------------------------------------------- presets
def test_wrinkled_truth_on_ink_with_the_page_partly_out_of_frame(page):
    image, truth = page
    aug = load_preset("wrinkled")
    cut = 0
    for seed in range(4):
        out, new = aug(image, truth, np.random.default_rng(seed))
        assert out.shape == image.shape and "Wrinkles" in new.meta["applied"]
        _assert_on_stroke(out, new, f"wrinkled seed {seed}")
        corners = np.array(new.meta["page_corners_xy"])
        h, w = out.shape[:2]
        cut += bool(np.any((corners < -0.5) | (corners > [w - 0.5, h - 0.5])))
    assert cut >= 1  # some page corner left the frame


@pytest.mark.parametrize("name", ["wrinkled", "turned", "wild"])
def test_new_presets_are_reproducible(page, name):
    image, truth = page
    aug = load_preset(name)
    out_a, tr_a = aug(image, truth, np.random.default_rng(21))
    out_b, tr_b = aug(image, truth, np.random.default_rng(21))
    assert np.array_equal(out_a, out_b) and tr_a.meta == tr_b.meta
    for a, b in zip(_truth_arrays(tr_a), _truth_arrays(tr_b), strict=True):
        assert np.array_equal(a, b)
    out_c, _ = aug(image, truth, np.random.default_rng(22))
    assert out_c.shape != out_a.shape or not np.array_equal(out_a, out_c)


def test_wild_draws_the_new_presets():
    wild = load_preset("wild")
    drawn = [wild.choose(np.random.default_rng(s)) for s in range(60)]
    assert {"wrinkled", "turned"} <= set(drawn) and len(set(drawn)) >= 8
