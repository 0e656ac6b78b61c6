"""Degradation presets: albumentations pipelines that make clean renders look like real scans and photos.

A :class:`Degradation` is a named list of steps (``{"name": <transform>, **kwargs}``), each built by
:func:`~ecgdl.aug.registry.build_transform` (our transforms first, then albumentations). Calling it degrades
an image and carries the :class:`~ecgdl.render.truth.RenderTruth` geometry through every transform as
keypoints, so the returned truth still lies on the drawn strokes. :class:`MixedDegradation` picks one preset
per call with fixed weights. The presets ship with the package as ``ecgdl/aug/presets/<name>.yaml`` (names in
:data:`PRESETS`), the one place their steps are written; :func:`load_preset` builds them by name, without any
Hydra app, and ``data.aug=<name>`` in the Hydra configs is such a name.

Which Kaggle image type each preset imitates is :data:`KAGGLE_TYPE_PRESETS`.
"""

from __future__ import annotations

import copy
import random
import warnings
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import albumentations as A
import cv2
import numpy as np

from ecgdl.aug.registry import build_transform, resolve_transform
from ecgdl.constants import KAGGLE_IMAGE_TYPES
from ecgdl.render.truth import RenderTruth

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

__all__ = [
    "KAGGLE_TYPE_PRESETS",
    "PRESETS",
    "Degradation",
    "MixedDegradation",
    "load_preset",
    "preset_dir",
]

#: Preset names, one ``ecgdl/aug/presets/<name>.yaml`` each (package data; see :func:`preset_dir`).
PRESETS: tuple[str, ...] = (
    "clean",
    "scan",
    "bw_scan",
    "photo",
    "screen",
    "stained",
    "damaged",
    "mold",
    "wrinkled",
    "turned",
    "lossy",
    "mixed",
    "wild",
)

#: Kaggle image-type suffix -> the preset that imitates it (0012, a black-and-white mould scan, is ``mold``'s
#: greyscale branch).
KAGGLE_TYPE_PRESETS: dict[str, str] = {
    code: ("mold" if name == "mold_bw" else name) for code, name in KAGGLE_IMAGE_TYPES.items()
}


def _walk(transforms) -> list:
    out = []
    for t in transforms:
        out += _walk(t.transforms) if isinstance(t, A.BaseCompose) else [t]
    return out


def _is_geometric(transform_name: str) -> bool:
    cls = resolve_transform(transform_name)
    return issubclass(cls, A.DualTransform) and bool(getattr(cls, "geometric", True))


# ---------------------------------------------------------------------------------------------------- truth <-> points
def _truth_points(truth: RenderTruth | None, h: int, w: int) -> np.ndarray:
    """Every geometric quantity of ``truth`` as one (N, 2) float64 array (see :func:`_truth_from_points`)."""
    parts = [np.array([[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]], np.float64)]  # page corners
    if truth is None:
        return parts[0]
    for p in truth.panels:
        x0, y0, x1, y1 = p.box_xyxy
        parts += [
            np.asarray(p.points_xy, np.float64).reshape(-1, 2),
            np.stack([np.asarray(p.cols_x, np.float64), np.asarray(p.cols_y, np.float64)], axis=1).reshape(
                -1, 2
            ),
            np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float64),
            np.array([[x0, p.baseline_y_px], [x1, p.baseline_y_px]], np.float64),
        ]
    for y in truth.row_baselines_y_px:
        parts.append(np.array([[0, y], [w - 1, y]], np.float64))
    for x0, y0, x1, y1 in truth.pulse_boxes_xyxy:
        parts.append(np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float64))
    return np.concatenate(parts)


def _bbox(corners: np.ndarray) -> tuple[float, float, float, float]:
    lo, hi = corners.min(axis=0), corners.max(axis=0)
    return (float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1]))


def _quad_area(q: np.ndarray) -> float:
    x, y = q[:, 0], q[:, 1]
    return 0.5 * abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))


def _truth_from_points(truth: RenderTruth, pts: np.ndarray, h: int, w: int) -> RenderTruth:
    """A deep copy of ``truth`` whose geometry is read back from the moved points (layout of :func:`_truth_points`)."""
    new = copy.deepcopy(truth)
    k = 0

    def take(n: int) -> np.ndarray:
        nonlocal k
        out = pts[k : k + n]
        k += n
        return out

    page = take(4)
    panel_baselines = []
    for p in new.panels:
        p.points_xy = take(len(p.points_xy)).copy()
        cols = take(len(p.cols_x))
        p.cols_x, p.cols_y = cols[:, 0].copy(), cols[:, 1].copy()
        p.box_xyxy = _bbox(take(4))
        ends = take(2)
        p.baseline_y_px = float(ends[:, 1].mean())
        panel_baselines.append(ends.tolist())
    row_baselines = [take(2) for _ in truth.row_baselines_y_px]
    new.row_baselines_y_px = [float(e[:, 1].mean()) for e in row_baselines]
    new.pulse_boxes_xyxy = [_bbox(take(4)) for _ in truth.pulse_boxes_xyxy]
    if k != len(pts):
        raise RuntimeError(f"internal error: {len(pts)} keypoints but the truth layout used {k}")
    old_area = _quad_area(_truth_points(None, truth.height_px, truth.width_px))
    scale = float(np.sqrt(_quad_area(page) / old_area)) if old_area > 0 else 1.0
    new.line_width_px = truth.line_width_px * scale
    new.width_px, new.height_px = int(w), int(h)
    if new.grid is not None:  # the grid is no longer axis-aligned: keep what it was, for reference
        new.meta["grid_before_aug"] = {
            "origin_x_px": new.grid.origin_x_px,
            "origin_y_px": new.grid.origin_y_px,
            "minor_px": new.grid.minor_px,
            "major_every": new.grid.major_every,
            "colour": new.grid.colour,
        }
        new.grid = None
    new.meta["page_corners_xy"] = page.tolist()
    new.meta["panel_baselines_xy"] = panel_baselines
    new.meta["row_baselines_xy"] = [e.tolist() for e in row_baselines]
    new.meta["scale"] = scale
    return new


# ---------------------------------------------------------------------------------------------------- presets
class Degradation:
    """A named albumentations pipeline that degrades a page and carries its ground truth along.

    Args:
        name: preset name, recorded in the truth's ``meta["aug"]``.
        steps: ``[{"name": <transform>, **kwargs}, ...]`` (see :func:`build_transform`); empty = identity.
    """

    def __init__(self, name: str, steps: Sequence[Mapping[str, Any]] = ()):
        self.name = str(name)
        self.steps = [dict(s) for s in steps]
        self.transforms = [build_transform(s) for s in self.steps]
        self._compose = None
        if self.transforms:
            with warnings.catch_warnings():  # photometric-only pipelines: keypoints simply pass through
                warnings.filterwarnings("ignore", message="Got processor for keypoints")
                self._compose = A.Compose(
                    self.transforms,
                    keypoint_params=A.KeypointParams(
                        format="xy", remove_invisible=False, check_each_transform=False
                    ),
                    save_applied_params=True,
                    seed=0,
                )

        # the page mask (255 = paper) is only carried when a transform cuts holes in the page
        self._uses_page_mask = any(getattr(t, "uses_page_mask", False) for t in _walk(self.transforms))

    def __repr__(self) -> str:
        return f"Degradation(name={self.name!r}, steps={[s['name'] for s in self.steps]})"

    def __call__(
        self, image_rgb: np.ndarray, truth: RenderTruth | None, rng: np.random.Generator
    ) -> tuple[np.ndarray, RenderTruth | None]:
        """Degrade ``image_rgb`` (H x W x 3 uint8); return (new image, new truth or None).

        The same ``rng`` state gives the same output. Neither input is modified. The truth copy gets the moved
        geometry, the new image size, ``meta["aug"]`` (preset name), ``meta["geometric"]`` (whether any applied
        transform moved points), ``meta["applied"]`` (transform names actually applied, in order) and, after a
        geometric degradation, ``meta["page_corners_xy"]`` / ``["panel_baselines_xy"]`` / ``["row_baselines_xy"]``
        (moved endpoints; the scalar baselines become their mean y) and ``grid=None`` (the old grid in
        ``meta["grid_before_aug"]``). ``cols_x`` then holds the moved, no longer integer, column positions.
        """
        if not isinstance(rng, np.random.Generator):
            raise TypeError(f"{self.name}: rng must be a numpy.random.Generator, got {type(rng).__name__}")
        image_rgb = np.asarray(image_rgb)
        if image_rgb.dtype != np.uint8 or image_rgb.ndim != 3 or image_rgb.shape[2] != 3:
            raise ValueError(
                f"{self.name}: expected an H x W x 3 uint8 image, got {image_rgb.dtype} {image_rgb.shape}"
            )
        h, w = image_rgb.shape[:2]
        if truth is not None and (truth.height_px, truth.width_px) != (h, w):
            raise ValueError(
                f"{self.name}: truth is {truth.width_px} x {truth.height_px} px but the image is {w} x {h} px"
            )
        seed = int(rng.integers(2**63 - 1))
        if self._compose is None:  # identity preset
            new = None if truth is None else copy.deepcopy(truth)
            if new is not None:
                new.meta.update(aug=self.name, geometric=False, applied=[])
            return image_rgb.copy(), new
        # one shared generator pair, so successive transforms draw different numbers (set_random_seed would give
        # every transform its own generator with the same seed)
        self._compose.set_random_state(np.random.default_rng(seed), random.Random(seed))
        points = _truth_points(truth, h, w)
        data = {"image": image_rgb, "keypoints": points}
        if self._uses_page_mask:
            data["mask"] = np.full((h, w), 255, np.uint8)
        data = self._compose(**data)
        applied = [name for name, _ in data.get("applied_transforms", [])]
        out = np.ascontiguousarray(data["image"])
        if out.ndim == 2:
            out = cv2.cvtColor(out, cv2.COLOR_GRAY2RGB)
        if out.dtype != np.uint8 or out.shape[2] != 3:
            raise RuntimeError(f"{self.name}: pipeline returned {out.dtype} {out.shape}, not H x W x 3 uint8")
        if truth is None:
            return out, None
        moved = np.asarray(data["keypoints"], np.float64)
        if moved.shape[0] != points.shape[0]:
            raise RuntimeError(f"{self.name}: the pipeline changed the number of keypoints ({applied})")
        geometric = any(_is_geometric(n) for n in applied)
        oh, ow = out.shape[:2]
        if geometric or (oh, ow) != (h, w):
            new = _truth_from_points(truth, moved[:, :2], oh, ow)
        else:
            new = copy.deepcopy(truth)
        new.meta["aug"] = self.name
        new.meta["geometric"] = bool(geometric)
        new.meta["applied"] = applied
        return out, new


class MixedDegradation:
    """Pick one preset per call (weights need not sum to 1) and apply it; the default for training.

    The truth's ``meta["aug"]`` names the preset that was drawn and ``meta["aug_mixture"]`` this mixture.
    """

    def __init__(self, presets: Mapping[str, Degradation], weights: Mapping[str, float], name: str = "mixed"):
        missing = set(weights) - set(presets)
        if missing:
            raise KeyError(
                f"{name}: weights for unknown presets {sorted(missing)}; presets: {sorted(presets)}"
            )
        self.name = str(name)
        self.presets = dict(presets)
        self.names = [n for n in self.presets if float(weights.get(n, 0.0)) > 0]
        w = np.array([float(weights[n]) for n in self.names])
        if not len(w) or np.any(w < 0) or w.sum() <= 0:
            raise ValueError(f"{name}: weights must be non-negative with a positive sum, got {dict(weights)}")
        self.probs = w / w.sum()

    def __repr__(self) -> str:
        return f"MixedDegradation({dict(zip(self.names, np.round(self.probs, 3).tolist(), strict=True))})"

    def choose(self, rng: np.random.Generator) -> str:
        """Draw a preset name."""
        return self.names[int(rng.choice(len(self.names), p=self.probs))]

    def __call__(
        self, image_rgb: np.ndarray, truth: RenderTruth | None, rng: np.random.Generator
    ) -> tuple[np.ndarray, RenderTruth | None]:
        image, new = self.presets[self.choose(rng)](image_rgb, truth, rng)
        if new is not None:
            new.meta["aug_mixture"] = self.name
        return image, new


# ---------------------------------------------------------------------------------------------------- loading
def preset_dir() -> Traversable:
    """Where the built-in presets ship: package data ``ecgdl/aug/presets``, one ``<name>.yaml`` each."""
    return resources.files("ecgdl.aug") / "presets"


def _compose(name: str, source: Traversable, seen: tuple[str, ...] = ()):
    """Load ``<source>/<name>.yaml``; a ``presets`` list of names becomes ``{name: <that preset's config>}``."""
    from omegaconf import OmegaConf

    file = source / f"{name}.yaml"
    if not file.is_file():
        options = sorted(f.name[: -len(".yaml")] for f in source.iterdir() if f.name.endswith(".yaml"))
        raise KeyError(f"no augmentation preset {name!r} in {source}; available: {', '.join(options)}")
    if name in seen:
        raise ValueError(f"augmentation presets include each other in a loop: {' -> '.join((*seen, name))}")
    cfg = OmegaConf.create(file.read_text(encoding="utf-8"))
    if OmegaConf.is_list(cfg.get("presets")):
        names = list(cfg.presets)
        if not all(isinstance(n, str) for n in names):
            raise ValueError(f"{file}: presets must be a list of preset names, got {names!r}")
        cfg.presets = {n: _compose(n, source, (*seen, name)) for n in names}
    return cfg


def load_preset(name: str, conf_dir: str | Path | None = None) -> Degradation | MixedDegradation:
    """Build preset ``name`` from ``<conf_dir>/<name>.yaml`` (default: the built-in presets, :func:`preset_dir`).

    A file is a Hydra-instantiable ``_target_`` config; a ``presets: [<name>, ...]`` list in it (as in
    ``mixed.yaml``) names other presets of the same folder, built the same way. Unknown names raise KeyError listing
    the available ones. Needs no Hydra app and no repository checkout (the presets are package data), so it works
    from an installed wheel and inside a running ``@hydra.main`` alike.
    """
    from hydra.utils import instantiate

    source = Path(conf_dir) if conf_dir is not None else preset_dir()
    return instantiate(_compose(str(name), source), _convert_="all")
