"""Classical (training-free) computer-vision digitizer: one module per stage, each usable and testable alone.

``ClassicalDigitizer(**params).digitize(image_rgb, fs_hz, n_samples) -> EcgRecord``; ``read_page`` also returns
the page's :class:`PageGeometry` (:mod:`~ecgdl.classical.page`: frame, scales, layout, rows, lead segments,
pulses). The stages, in order: :mod:`~ecgdl.classical.frame` (:mod:`~ecgdl.classical.io`,
:mod:`~ecgdl.classical.geometry`, :mod:`~ecgdl.classical.homography`, :mod:`~ecgdl.classical.gridfit`,
:mod:`~ecgdl.classical.calibration`), :mod:`~ecgdl.classical.rows` (:mod:`~ecgdl.classical.ink`,
:mod:`~ecgdl.classical.gridremoval`, :mod:`~ecgdl.classical.layout`), :mod:`~ecgdl.classical.scales`
(:mod:`~ecgdl.classical.pulse`, :mod:`~ecgdl.classical.printed`), :mod:`~ecgdl.classical.tracing`
(:mod:`~ecgdl.classical.trace`, :mod:`~ecgdl.classical.separators`) and :mod:`~ecgdl.classical.assembly`
(:mod:`~ecgdl.classical.resample`); :mod:`~ecgdl.classical.digitizer` runs them.
"""

from ecgdl.classical.digitizer import ClassicalDigitizer
from ecgdl.classical.page import PageGeometry
from ecgdl.data.images import ImageLoadError, load_image, to_rgb_uint8

__all__ = ["ClassicalDigitizer", "ImageLoadError", "PageGeometry", "load_image", "to_rgb_uint8"]
