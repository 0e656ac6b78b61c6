"""Degradations that make clean renders look like real-world ECG images (scans, photos, stains, mould, wrinkles).

``load_preset("photo")(image_rgb, truth, rng) -> (image_rgb, truth)``; presets are package data,
``ecgdl/aug/presets/<name>.yaml`` (names in :data:`PRESETS`; :mod:`ecgdl.aug.degradation` builds them). Our
own albumentations transforms are grouped by family in :mod:`~ecgdl.aug.photometric`,
:mod:`~ecgdl.aug.screen`, :mod:`~ecgdl.aug.damage`, :mod:`~ecgdl.aug.texture` and :mod:`~ecgdl.aug.geometric`
(shared helpers in :mod:`~ecgdl.aug.base`); :mod:`ecgdl.aug.registry` maps step names to transforms.
"""

from ecgdl.aug.degradation import (
    KAGGLE_TYPE_PRESETS,
    PRESETS,
    Degradation,
    MixedDegradation,
    load_preset,
    preset_dir,
)
from ecgdl.aug.registry import (
    CUSTOM_TRANSFORMS,
    INEXACT_KEYPOINT_TRANSFORMS,
    build_transform,
    resolve_transform,
)

__all__ = [
    "CUSTOM_TRANSFORMS",
    "INEXACT_KEYPOINT_TRANSFORMS",
    "KAGGLE_TYPE_PRESETS",
    "PRESETS",
    "Degradation",
    "MixedDegradation",
    "build_transform",
    "load_preset",
    "preset_dir",
    "resolve_transform",
]
