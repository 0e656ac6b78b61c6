"""The one registry of transform names that degradation steps may use, and how a step becomes a transform.

A step ``{"name": <transform>, **kwargs}`` names one of our :data:`CUSTOM_TRANSFORMS` (by family in
:mod:`~ecgdl.aug.photometric`, :mod:`~ecgdl.aug.screen`, :mod:`~ecgdl.aug.damage`, :mod:`~ecgdl.aug.texture`
and :mod:`~ecgdl.aug.geometric`) or, failing that, an albumentations transform; :func:`build_transform` refuses
the albumentations ones that would break the ground truth (:data:`INEXACT_KEYPOINT_TRANSFORMS`, reflecting
borders, shifted motion blur).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import albumentations as A
import cv2

from ecgdl.aug.damage import Creases, MissingPatches, MoldSpots, Stains, TornEdges
from ecgdl.aug.geometric import Fold, PageOnBackground, PageTurn, WavyDistortion
from ecgdl.aug.photometric import (
    Binarize,
    ChromaSubsample,
    DiskBlur,
    PaperTint,
    SaltPepper,
    SensorNoise,
    Speckle,
    UnevenLighting,
)
from ecgdl.aug.screen import Glare, Moire, PixelGrid
from ecgdl.aug.texture import Wrinkles

__all__ = ["CUSTOM_TRANSFORMS", "INEXACT_KEYPOINT_TRANSFORMS", "build_transform", "resolve_transform"]

#: Every custom transform by class name (:func:`resolve_transform` looks here before albumentations).
CUSTOM_TRANSFORMS: dict[str, type] = {
    cls.__name__: cls
    for cls in (
        Binarize,
        ChromaSubsample,
        Creases,
        DiskBlur,
        Fold,
        Glare,
        MissingPatches,
        Moire,
        MoldSpots,
        PageOnBackground,
        PageTurn,
        PaperTint,
        PixelGrid,
        SaltPepper,
        SensorNoise,
        Speckle,
        Stains,
        TornEdges,
        UnevenLighting,
        WavyDistortion,
        Wrinkles,
    )
}

#: albumentations transforms that round keypoints to whole pixels, drop them or add copies: they would break the
#: truth, so the registry refuses them (use ``WavyDistortion`` / ``Fold`` for smooth distortions).
INEXACT_KEYPOINT_TRANSFORMS: frozenset[str] = frozenset(
    {
        "OpticalDistortion",
        "GridDistortion",
        "ElasticTransform",
        "ThinPlateSpline",
        "PiecewiseAffine",
        "GridElasticDeform",
        "RandomGridShuffle",
        "CoarseDropout",
        "GridDropout",
        "XYMasking",
        "Erasing",
        "ConstrainedCoarseDropout",
        "Morphological",
        "Mosaic",
    }
)

#: OpenCV constants that configs may name as strings (``border_mode: constant``).
_CV2_NAMES: dict[str, dict[str, int]] = {
    "border_mode": {
        "constant": cv2.BORDER_CONSTANT,
        "replicate": cv2.BORDER_REPLICATE,
        "reflect": cv2.BORDER_REFLECT,
        "reflect_101": cv2.BORDER_REFLECT_101,
        "wrap": cv2.BORDER_WRAP,
    },
    "interpolation": {
        "nearest": cv2.INTER_NEAREST,
        "linear": cv2.INTER_LINEAR,
        "cubic": cv2.INTER_CUBIC,
        "area": cv2.INTER_AREA,
        "lanczos": cv2.INTER_LANCZOS4,
    },
}
_CV2_NAMES["mask_interpolation"] = _CV2_NAMES["interpolation"]

_REFLECT_MODES = (cv2.BORDER_REFLECT, cv2.BORDER_REFLECT_101, cv2.BORDER_WRAP)
_AFFINE_LIKE = frozenset({"Affine", "ShiftScaleRotate", "Rotate", "SafeRotate"})


def resolve_transform(name: str) -> type:
    """The transform class called ``name``: :data:`CUSTOM_TRANSFORMS` first, then albumentations."""
    if name in CUSTOM_TRANSFORMS:
        return CUSTOM_TRANSFORMS[name]
    cls = getattr(A, name, None)
    if isinstance(cls, type) and issubclass(cls, (A.BasicTransform, A.BaseCompose)):
        return cls
    raise KeyError(
        f"unknown transform {name!r}; custom transforms: {', '.join(sorted(CUSTOM_TRANSFORMS))} "
        f"(also looked in albumentations {A.__version__}, which has no transform of that name)"
    )


def build_transform(step: Mapping[str, Any]) -> A.BasicTransform | A.BaseCompose:
    """Build one step ``{"name": ..., **kwargs}``; ``None`` values mean "library default" and are dropped.

    Composition steps (``OneOf``, ``SomeOf``, ``Sequential``, ...) take ``transforms: [step, ...]``. OpenCV constants
    may be named (``border_mode: constant``). albumentations transforms are built in strict mode, so a misspelt
    argument raises ValueError instead of being ignored.
    """
    if "name" not in step:
        raise ValueError(f"augmentation step without a 'name': {dict(step)!r}")
    kwargs = {k: v for k, v in step.items() if k != "name" and v is not None}
    name = str(step["name"])
    cls = resolve_transform(name)
    if name in INEXACT_KEYPOINT_TRANSFORMS:
        raise ValueError(f"{name} rounds, drops or duplicates keypoints, so the truth could not follow it")
    for key, table in _CV2_NAMES.items():
        if isinstance(kwargs.get(key), str):
            if kwargs[key] not in table:
                raise ValueError(f"{name}: unknown {key} {kwargs[key]!r}; valid: {', '.join(table)}")
            kwargs[key] = table[kwargs[key]]
    if issubclass(cls, A.BaseCompose):
        kwargs["transforms"] = [build_transform(s) for s in kwargs.get("transforms", [])]
        return cls(**kwargs)
    if name in _AFFINE_LIKE and kwargs.get("border_mode") in _REFLECT_MODES:
        # albumentations adds mirrored copies of keypoints for reflecting borders, which would corrupt the truth
        raise ValueError(f"{name}: reflecting border modes duplicate keypoints; use constant or replicate")
    if name == "MotionBlur" and (
        kwargs.get("allow_shifted", True)
        or [float(v) for v in kwargs.get("direction_range", (-1, 1))] != [0, 0]
    ):
        # an off-centre or one-sided motion kernel moves the strokes by up to ~1 px away from the truth
        raise ValueError(
            "MotionBlur needs allow_shifted: false and direction_range: [0, 0] to keep the truth exact"
        )
    if name in CUSTOM_TRANSFORMS:
        return cls(**kwargs)
    return cls(**kwargs, strict=True)
