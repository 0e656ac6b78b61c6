"""Degradations that make clean renders look like real-world ECG images (scans, photos, stains, damage, mould).

``load_preset("photo")(image_rgb, truth, rng) -> (image_rgb, truth)``; presets are ``conf/aug/<name>.yaml``
(names in :data:`PRESETS`), the custom albumentations transforms are in :mod:`ecgdl.aug.transforms`.
"""

from ecgdl.aug.degradation import (
    INEXACT_KEYPOINT_TRANSFORMS,
    KAGGLE_TYPE_PRESETS,
    PRESETS,
    Degradation,
    MixedDegradation,
    build_transform,
    default_conf_dir,
    load_preset,
    resolve_transform,
)
from ecgdl.aug.transforms import CUSTOM_TRANSFORMS

__all__ = [
    "CUSTOM_TRANSFORMS",
    "INEXACT_KEYPOINT_TRANSFORMS",
    "KAGGLE_TYPE_PRESETS",
    "PRESETS",
    "Degradation",
    "MixedDegradation",
    "build_transform",
    "default_conf_dir",
    "load_preset",
    "resolve_transform",
]
