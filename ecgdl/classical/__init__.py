"""Classical (training-free) computer-vision digitizer: one module per stage, each usable and testable alone.

``ClassicalDigitizer(**params).digitize(image_rgb, fs_hz, n_samples) -> EcgRecord``; the stages are
:mod:`~ecgdl.classical.io`, :mod:`~ecgdl.classical.geometry`, :mod:`~ecgdl.classical.calibration`,
:mod:`~ecgdl.classical.gridremoval`, :mod:`~ecgdl.classical.layout`, :mod:`~ecgdl.classical.pulse`,
:mod:`~ecgdl.classical.trace` and :mod:`~ecgdl.classical.resample`.
"""

from ecgdl.classical.digitizer import ClassicalDigitizer
from ecgdl.classical.io import ImageLoadError, load_image, to_rgb_uint8

__all__ = ["ClassicalDigitizer", "ImageLoadError", "load_image", "to_rgb_uint8"]
