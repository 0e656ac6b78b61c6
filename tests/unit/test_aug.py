"""Degradation presets: the truth follows the image, seeding, preset loading and the transform registry.

Pages are real renders at 100 dpi (1100 x 850 px) from a fixed seed, with a 2 px stroke (0.5 mm) so that stroke
width relative to the presets' blur (tuned for 200 dpi) is as on a real page. The central check samples the image at the
transformed stroke centre line and a few px to either side along the normal: the stroke must be much darker than
its surroundings (median contrast >= ``ON_STROKE_MIN``), and the same statistic must fail when the truth is
shifted by 3 px (negative control), so the check really resolves errors of that size.
"""

from __future__ import annotations

import copy
import shutil
import subprocess
import sys
from pathlib import Path

import albumentations as A
import cv2
import numpy as np
import pytest

import ecgdl
from ecgdl.aug import (
    CUSTOM_TRANSFORMS,
    KAGGLE_TYPE_PRESETS,
    PRESETS,
    Degradation,
    MixedDegradation,
    build_transform,
    load_preset,
    preset_dir,
)
from ecgdl.constants import KAGGLE_IMAGE_TYPES
from ecgdl.render import RenderConfig, RenderTruth, render_ecg
from ecgdl.signals.synthetic import generate_ecg

#: Median grey-level contrast between the stroke and the darker of its two sides 7 px away along the normal.
#: Over 12 seeds per preset the correct truth scores >= 98 and a 3 px shifted one <= 29.
ON_STROKE_MIN = 60.0
SEEDS = (0, 1, 2)


# ---------------------------------------------------------------------------------------------------- helpers
@pytest.fixture(scope="module")
def page() -> tuple[np.ndarray, RenderTruth]:
    record = generate_ecg(np.random.default_rng(7))
    return render_ecg(record, RenderConfig(dpi=100.0, line_width_mm=0.5), np.random.default_rng(7))


def _sample(grey: np.ndarray, pts: np.ndarray) -> np.ndarray:
    m = pts.astype(np.float32)
    return cv2.remap(
        grey, m[:, :1], m[:, 1:2], cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=float("nan")
    ).ravel()


def _normals(pts: np.ndarray) -> np.ndarray:
    t = np.gradient(pts, axis=0)
    t /= np.maximum(np.linalg.norm(t, axis=1, keepdims=True), 1e-9)
    return np.stack([-t[:, 1], t[:, 0]], axis=1)


def stroke_contrast(
    image: np.ndarray, truth: RenderTruth, shift_xy=(0.0, 0.0), side_px: float = 7.0
) -> float:
    """Median over stroke points of min(I(p + d n), I(p - d n)) - I(p); points outside the image are ignored."""
    grey = image.astype(np.float32).mean(axis=2)
    out = []
    for panel in truth.panels:
        pts = panel.points_xy[::2]
        n = _normals(panel.points_xy)[::2]
        pts = pts + np.asarray(shift_xy, np.float64)
        on = _sample(grey, pts)
        side = np.minimum(_sample(grey, pts + side_px * n), _sample(grey, pts - side_px * n))
        out.append(side - on)
    c = np.concatenate(out)
    c = c[np.isfinite(c)]
    assert c.size > 1000, "too few stroke points inside the image"
    return float(np.median(c))


def page_up(truth: RenderTruth) -> np.ndarray:
    """Unit vector across the rows (the page's y axis, wherever a geometric degradation turned it)."""
    ends = truth.meta.get("row_baselines_xy")
    if not ends:
        return np.array([0.0, 1.0])
    d = np.subtract(ends[0][1], ends[0][0])
    return np.array([-d[1], d[0]]) / float(np.hypot(*d))


def centroid_offset(image: np.ndarray, truth: RenderTruth) -> float:
    """Median signed distance (px, along the normal) from the truth line to the darkness centroid of the stroke."""
    grey = image.astype(np.float32).mean(axis=2)
    ds = np.arange(-4.0, 4.01, 0.5)
    res = []
    for panel in truth.panels:
        pts, n = panel.points_xy, _normals(panel.points_xy)
        tangent_y = np.abs(n[:, 0])  # |t_y|: near-flat segments have a well-defined normal profile
        keep = tangent_y < 0.3
        pts, n = pts[keep][::2], n[keep][::2]
        prof = np.stack([_sample(grey, pts + d * n) for d in ds], axis=1)
        ok = np.isfinite(prof).all(axis=1)
        prof = prof[ok]
        w = np.clip(prof.max(axis=1, keepdims=True) - prof, 0, None)
        w[w < 0.2 * w.max(axis=1, keepdims=True)] = 0
        res.append((w * ds).sum(axis=1) / np.maximum(w.sum(axis=1), 1e-9))
    return float(np.median(np.concatenate(res)))


def _truth_arrays(truth: RenderTruth) -> list[np.ndarray]:
    arrays = []
    for p in truth.panels:
        arrays += [p.points_xy, np.asarray(p.cols_x, np.float64), p.cols_y, np.asarray(p.box_xyxy)]
    return [*arrays, np.asarray(truth.row_baselines_y_px), np.asarray(truth.pulse_boxes_xyxy).reshape(-1)]


# ---------------------------------------------------------------------------------------------------- presets
def test_presets_are_package_data():
    files = sorted(f.name for f in preset_dir().iterdir() if f.name.endswith(".yaml"))
    assert files == sorted(f"{name}.yaml" for name in PRESETS)
    package = Path(ecgdl.__file__).resolve().parent
    assert Path(str(preset_dir())).resolve() == package / "aug" / "presets"
    assert set(KAGGLE_TYPE_PRESETS) == set(KAGGLE_IMAGE_TYPES)
    assert set(KAGGLE_TYPE_PRESETS.values()) <= set(PRESETS)


@pytest.mark.parametrize("name", PRESETS)
def test_every_preset_instantiates(name):
    aug = load_preset(name)
    assert isinstance(aug, MixedDegradation if name in ("mixed", "wild") else Degradation)
    assert aug.name == name


def test_mixtures_draw_from_their_presets():
    """``mixed`` draws the Kaggle image types' presets; ``wild`` every preset that is not a mixture, but ``lossy``
    (a measuring preset: the clean page's storage alone)."""
    mixed, wild = load_preset("mixed"), load_preset("wild")
    assert list(mixed.presets) == [n for n in PRESETS if n in set(KAGGLE_TYPE_PRESETS.values())]
    assert list(wild.presets) == [n for n in PRESETS if n not in ("mixed", "wild", "lossy")]
    for mixture in (mixed, wild):
        assert set(mixture.names) == set(mixture.presets)  # every preset has a positive weight
        for name, preset in mixture.presets.items():
            assert isinstance(preset, Degradation) and preset.steps == load_preset(name).steps


@pytest.mark.slow  # a subprocess importing the copied package: 10-15 s; the wheel test covers it too
def test_presets_load_without_the_repository(tmp_path):
    """Only the package, copied away from the repository (no conf/ next to it), builds every preset by name."""
    shutil.copytree(
        Path(ecgdl.__file__).resolve().parent,
        tmp_path / "site" / "ecgdl",
        ignore=shutil.ignore_patterns("__pycache__", "assets"),
    )
    work = tmp_path / "work"
    work.mkdir()
    script = (
        f"import sys; sys.path.insert(0, {str(tmp_path / 'site')!r})\n"
        "import ecgdl\n"
        "from ecgdl.aug import PRESETS, load_preset\n"
        f"assert ecgdl.__file__.startswith({str(tmp_path)!r}), ecgdl.__file__\n"
        "print(sorted(load_preset(name).name for name in PRESETS))\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", script], cwd=work, capture_output=True, text=True, timeout=300
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == str(sorted(PRESETS))


def test_load_preset_unknown_name():
    valid = r"available: bw_scan, clean, damaged, lossy, mixed, mold, photo, scan, screen, stained, turned, wild, wrinkled"
    with pytest.raises(KeyError, match=rf"no augmentation preset 'sepia' in .*; {valid}"):
        load_preset("sepia")


def test_load_preset_from_another_dir(tmp_path):
    (tmp_path / "tiny.yaml").write_text(
        "_target_: ecgdl.aug.Degradation\nname: tiny\nsteps:\n  - {name: GaussianBlur, sigma_limit: [1, 1], p: 1}\n"
    )
    aug = load_preset("tiny", conf_dir=tmp_path)
    assert isinstance(aug, Degradation) and [s["name"] for s in aug.steps] == ["GaussianBlur"]
    (tmp_path / "both.yaml").write_text(
        "_target_: ecgdl.aug.MixedDegradation\nname: both\npresets: [tiny]\nweights: {tiny: 1.0}\n"
    )
    mixed = load_preset("both", conf_dir=tmp_path)
    assert isinstance(mixed, MixedDegradation) and mixed.names == ["tiny"]
    (tmp_path / "loop.yaml").write_text(
        "_target_: ecgdl.aug.MixedDegradation\nname: loop\npresets: [loop]\nweights: {loop: 1.0}\n"
    )
    with pytest.raises(ValueError, match="loop -> loop"):
        load_preset("loop", conf_dir=tmp_path)
    with pytest.raises(KeyError, match="available: both, loop, tiny"):
        load_preset("photo", conf_dir=tmp_path)


# ---------------------------------------------------------------------------------------------------- registry
def test_unknown_transform_lists_valid_names():
    with pytest.raises(KeyError, match=r"PageOnBackground.*also looked in albumentations"):
        build_transform({"name": "NoSuchTransform", "p": 1.0})
    with pytest.raises(KeyError, match="WavyDistortion"):
        Degradation("bad", [{"name": "Blurr"}])


def test_registry_prefers_custom_then_albumentations():
    assert type(build_transform({"name": "Fold"})) is CUSTOM_TRANSFORMS["Fold"]
    blur = build_transform({"name": "GaussianBlur", "sigma_limit": [0.5, 1.0], "blur_limit": None})
    assert isinstance(blur, A.GaussianBlur)  # None = library default
    one_of = build_transform({"name": "OneOf", "transforms": [{"name": "ToGray"}, {"name": "Binarize"}]})
    assert isinstance(one_of, A.OneOf) and len(one_of.transforms) == 2


def test_registry_rejects_bad_steps():
    with pytest.raises(ValueError, match="not valid"):
        build_transform({"name": "GaussianBlur", "sigma_limitt": [1, 2]})  # strict albumentations arguments
    with pytest.raises(TypeError):
        build_transform({"name": "Fold", "widht_range": [10, 20]})
    with pytest.raises(ValueError, match="keypoints"):
        build_transform({"name": "ElasticTransform"})
    with pytest.raises(ValueError, match="duplicate keypoints"):
        build_transform({"name": "Affine", "border_mode": "reflect_101"})
    with pytest.raises(ValueError, match="unknown border_mode"):
        build_transform({"name": "Affine", "border_mode": "mirror"})
    with pytest.raises(ValueError, match="allow_shifted"):
        build_transform({"name": "MotionBlur", "blur_limit": [3, 5]})
    with pytest.raises(ValueError, match="without a 'name'"):
        build_transform({"p": 1.0})


# ---------------------------------------------------------------------------------------------------- the truth follows
@pytest.mark.parametrize("name", PRESETS)
def test_truth_stays_on_stroke(page, name):
    image, truth = page
    aug = load_preset(name)
    for seed in SEEDS:
        out, new = aug(image, truth, np.random.default_rng(seed))
        assert out.dtype == np.uint8 and out.ndim == 3 and out.shape[2] == 3
        assert (new.height_px, new.width_px) == out.shape[:2]
        assert new.meta["aug"] in PRESETS and isinstance(new.meta["applied"], list)
        for p in new.panels:
            assert p.points_xy.dtype == np.float64 and p.cols_y.dtype == np.float64
        contrast = stroke_contrast(out, new)
        assert contrast >= ON_STROKE_MIN, (
            f"{name} seed {seed}: stroke contrast {contrast:.1f} ({new.meta['applied']})"
        )
        # negative control: the same statistic must reject a truth that is 3 px off across the rows
        for sign in (1.0, -1.0):
            shift = sign * 3.0 * page_up(new)
            off = stroke_contrast(out, new, shift)
            assert off < ON_STROKE_MIN, f"{name} seed {seed}: 3 px shift {shift} still passes ({off:.1f})"


def test_affine_rotation_matches_analytic(page):
    image, truth = page
    aug = Degradation(
        "rot", [{"name": "Affine", "rotate": [10, 10], "border_mode": "constant", "fill": 255, "p": 1}]
    )
    _, new = aug(image, truth, np.random.default_rng(0))
    h, w = image.shape[:2]
    centre = np.array([(w - 1) / 2, (h - 1) / 2])  # pixel-centre convention
    th = np.radians(10.0)
    # counter-clockwise on screen (y down), as albumentations rotates for positive angles
    rot = np.array([[np.cos(th), np.sin(th)], [-np.sin(th), np.cos(th)]])
    for old, moved in zip(truth.panels, new.panels, strict=True):
        expected = (old.points_xy - centre) @ rot.T + centre
        assert np.abs(moved.points_xy - expected).max() < 0.1
        cols = np.stack([old.cols_x, old.cols_y], axis=1)
        assert (
            np.abs(np.stack([moved.cols_x, moved.cols_y], axis=1) - ((cols - centre) @ rot.T + centre)).max()
            < 0.1
        )
    corners = (np.array([[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]]) - centre) @ rot.T + centre
    assert np.abs(np.array(new.meta["page_corners_xy"]) - corners).max() < 0.1
    assert new.meta["geometric"] is True and new.meta["applied"] == ["Affine"]
    assert new.grid is None and "grid_before_aug" in new.meta


@pytest.mark.parametrize(
    "step",
    [
        {"name": "Affine", "rotate": [-12, 12], "scale": [0.8, 1.2], "border_mode": "constant", "fill": 255},
        {"name": "Perspective", "scale": [0.04, 0.08], "border_mode": "replicate"},
        {"name": "PageOnBackground", "rotate_range": [-15, 15]},
        {"name": "PageOnBackground", "perspective_range": [0.03, 0.05], "background": "wood"},
        {"name": "PageOnBackground", "keep_size": False},
        {"name": "WavyDistortion", "amplitude_range": [3.0, 4.0], "wavelength_range": [250, 300]},
        {
            "name": "Fold",
            "displacement_range": [2.5, 3.0],
            "width_range": [10, 12],
            "position_range": [0.3, 0.5],
        },
    ],
    ids=lambda s: (
        s["name"]
        + ("-grow" if s.get("keep_size") is False else "")
        + ("-tilt" if "perspective_range" in s else "")
    ),
)
def test_geometric_transforms_are_subpixel_exact(page, step):
    """The stroke's darkness centroid sits where the truth says, to < 0.1 px, after each geometric transform."""
    image, truth = page
    reference = centroid_offset(image, truth)  # the estimator's own bias on the clean page
    aug = Degradation("geo", [{**step, "p": 1.0}])
    for seed in (0, 1):
        out, new = aug(image, truth, np.random.default_rng(seed))
        assert new.meta["geometric"] is True
        assert abs(centroid_offset(out, new) - reference) < 0.1, (step, seed)
    if step.get("keep_size") is False:
        assert out.shape[0] > image.shape[0] and (new.height_px, new.width_px) == out.shape[:2]


# ---------------------------------------------------------------------------------------------------- contract
@pytest.mark.parametrize("name", ["photo", "damaged", "bw_scan"])
def test_seeding_and_inputs_untouched(page, name):
    image, truth = page
    image_before, truth_before = image.copy(), copy.deepcopy(truth)
    aug = load_preset(name)
    out_a, tr_a = aug(image, truth, np.random.default_rng(11))
    out_b, tr_b = aug(image, truth, np.random.default_rng(11))
    out_c, _ = aug(image, truth, np.random.default_rng(12))
    assert np.array_equal(out_a, out_b)
    for a, b in zip(_truth_arrays(tr_a), _truth_arrays(tr_b), strict=True):
        assert np.array_equal(a, b)
    assert tr_a.meta == tr_b.meta
    assert not np.array_equal(out_a, out_c)
    # inputs unchanged, outputs are new objects
    assert np.array_equal(image, image_before)
    for a, b in zip(_truth_arrays(truth), _truth_arrays(truth_before), strict=True):
        assert np.array_equal(a, b)
    assert truth.meta == truth_before.meta and truth.grid == truth_before.grid
    assert tr_a is not truth and tr_a.panels[0].points_xy is not truth.panels[0].points_xy


def test_clean_is_identity_and_truth_is_optional(page):
    image, truth = page
    out, new = load_preset("clean")(image, truth, np.random.default_rng(0))
    assert np.array_equal(out, image) and out is not image
    assert new.meta["aug"] == "clean" and new.meta["geometric"] is False and new.meta["applied"] == []
    for a, b in zip(_truth_arrays(new), _truth_arrays(truth), strict=True):
        assert np.array_equal(a, b)
    out, none = load_preset("scan")(image, None, np.random.default_rng(0))
    assert none is None and out.shape == image.shape


def test_photometric_only_keeps_geometry_exact(page):
    image, truth = page
    aug = Degradation(
        "photometric", [{"name": "GaussianBlur", "sigma_limit": [1, 1], "p": 1}, {"name": "Stains", "p": 1}]
    )
    _, new = aug(image, truth, np.random.default_rng(0))
    assert new.meta["geometric"] is False and new.meta["applied"] == ["GaussianBlur", "Stains"]
    for a, b in zip(_truth_arrays(new), _truth_arrays(truth), strict=True):
        assert np.array_equal(a, b)  # bit-exact: no float32 round trip when nothing moved


def test_bw_presets_are_grey(page):
    image, truth = page
    out, _ = load_preset("bw_scan")(image, truth, np.random.default_rng(3))
    assert (
        out.shape[2] == 3
        and np.array_equal(out[..., 0], out[..., 1])
        and np.array_equal(out[..., 1], out[..., 2])
    )


def test_mixed_draws_several_presets(page):
    image, truth = page
    mixed = load_preset("mixed")
    drawn = {mixed.choose(np.random.default_rng(s)) for s in range(40)}
    assert len(drawn) >= 6
    names = set()
    for s in range(6):
        _, new = mixed(image, truth, np.random.default_rng(s))
        names.add(new.meta["aug"])
        assert new.meta["aug_mixture"] == "mixed"
    assert len(names) >= 3


def test_holes_show_the_background(page):
    """Torn-off paper is replaced by the table texture when the page is then put on a background."""
    image, truth = page
    aug = Degradation(
        "holes",
        [
            {
                "name": "MissingPatches",
                "count_range": [3, 3],
                "size_range": [0.08, 0.08],
                "fill": [255, 0, 255],
                "p": 1,
            },
            {
                "name": "PageOnBackground",
                "scale_range": [0.9, 0.9],
                "rotate_range": [0, 0],
                "background": "dark",
                "p": 1,
            },
        ],
    )
    out, _ = aug(image, truth, np.random.default_rng(0))
    magenta = (out[..., 0] > 200) & (out[..., 1] < 60) & (out[..., 2] > 200)
    assert magenta.sum() == 0


def test_bad_inputs(page):
    image, truth = page
    aug = load_preset("scan")
    with pytest.raises(TypeError, match="Generator"):
        aug(image, truth, 0)
    with pytest.raises(ValueError, match="H x W x 3 uint8"):
        aug(image.astype(np.float32), truth, np.random.default_rng(0))
    with pytest.raises(ValueError, match="truth is"):
        aug(image[:-1], truth, np.random.default_rng(0))


@pytest.mark.parametrize("linear", [False, True])
def test_chroma_subsample_keeps_luma_and_halves_colour_resolution(linear):
    from ecgdl.aug.photometric import ChromaSubsample

    rng = np.random.default_rng(3)
    # 2 x 2 blocks of one colour each: 4:2:0 keeps them (the chroma average of a block is its colour)
    blocks = rng.integers(0, 256, (8, 10, 3), dtype=np.uint8)
    flat = np.repeat(np.repeat(blocks, 2, axis=0), 2, axis=1)
    if not linear:
        out = ChromaSubsample().apply(flat, linear=False)
        assert np.abs(out.astype(int) - flat).max() <= 3  # YCrCb round trips in 8 bits
    # a one-pixel dark line through a red grid line on light paper (no channel clips): luma kept, colour smeared
    page = np.full((16, 16, 3), 225, np.uint8)
    page[:, 7] = (200, 90, 90)  # a red grid column
    page[8, :] = 60  # a dark grey trace row, crossing it
    out = ChromaSubsample().apply(page, linear=linear)
    luma = lambda img: cv2.cvtColor(img, cv2.COLOR_RGB2YCrCb)[..., 0].astype(int)  # noqa: E731
    assert np.abs(luma(out) - luma(page)).max() <= 3
    grid = out[2, 7].astype(int)
    assert grid[0] - grid[1] < 110 - 20  # the grid line lost saturation (was 110 apart)
    assert (
        out[8, 6].astype(int).std() > 5 or out[8, 8].astype(int).std() > 5
    )  # the trace next to it took colour
    assert out.shape == page.shape and out.dtype == np.uint8
    odd = ChromaSubsample().apply(page[:15, :13], linear=linear)
    assert odd.shape == (15, 13, 3)
