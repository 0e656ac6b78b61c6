"""Image loading for every reader of pictures (evaluation sets, predict, digitizers): any common file or array ->
H x W x 3 uint8 RGB.

Reads PNG, JPEG, BMP, TIFF (and anything else OpenCV or Pillow can open), grey, grey+alpha, RGB, RGBA, 16-bit and
float images. Transparent pixels are composited over white paper. Failures raise :class:`ImageLoadError` naming the
file.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

__all__ = ["ImageLoadError", "load_image", "to_rgb_uint8"]


class ImageLoadError(ValueError):
    """An image file (or array) could not be turned into an RGB picture; the message names the file."""


def to_rgb_uint8(image: np.ndarray, *, channels_bgr: bool = False, name: str = "<array>") -> np.ndarray:
    """Convert any image array to a C-contiguous H x W x 3 uint8 RGB array.

    Accepts H x W (grey), H x W x 1, H x W x 2 (grey + alpha), H x W x 3 and H x W x 4 (with alpha) arrays of
    uint8, uint16, other integer or float dtype (floats in [0, 1] when their maximum is <= 1, else [0, 255]).
    Alpha is composited over white. ``channels_bgr`` says the colour channels are in OpenCV's BGR(A) order.
    """
    arr = np.asarray(image)
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if arr.ndim != 3 or arr.shape[2] not in (1, 2, 3, 4):
        raise ImageLoadError(f"{name}: expected an H x W [x 1|2|3|4] image, got shape {arr.shape}")
    if arr.shape[0] < 2 or arr.shape[1] < 2:
        raise ImageLoadError(f"{name}: image is empty or too small ({arr.shape[1]} x {arr.shape[0]} px)")
    if arr.dtype == np.uint8 and arr.shape[2] in (1, 3):
        # Already 8-bit without alpha: only the channel order / count changes (exactly what the float path
        # gives); always a new array, as there.
        if arr.shape[2] == 1:
            return np.repeat(arr, 3, axis=2)
        return np.array(arr[:, :, ::-1] if channels_bgr else arr, order="C", copy=True)
    data = _to_unit_float(arr, name)
    n_ch = data.shape[2]
    if n_ch in (2, 4):
        colour, alpha = data[:, :, :-1], data[:, :, -1:]
        data = colour * alpha + (1.0 - alpha)
        n_ch -= 1
    if n_ch == 1:
        data = np.repeat(data, 3, axis=2)
    elif channels_bgr:
        data = data[:, :, ::-1]
    out = np.clip(np.rint(data * 255.0), 0, 255).astype(np.uint8)
    return np.ascontiguousarray(out)


def _to_unit_float(arr: np.ndarray, name: str) -> np.ndarray:
    if arr.dtype == np.uint8:
        return arr.astype(np.float32) / 255.0
    if arr.dtype == np.uint16:
        return arr.astype(np.float32) / 65535.0
    if arr.dtype == np.bool_:
        return arr.astype(np.float32)
    if np.issubdtype(arr.dtype, np.integer):
        top = float(np.iinfo(arr.dtype).max)
        return np.clip(arr.astype(np.float64) / top, 0.0, 1.0).astype(np.float32)
    if np.issubdtype(arr.dtype, np.floating):
        data = arr.astype(np.float32)
        if not np.all(np.isfinite(data)):
            raise ImageLoadError(f"{name}: image contains NaN or inf")
        if data.max(initial=0.0) > 1.0:
            data = data / 255.0
        return np.clip(data, 0.0, 1.0)
    raise ImageLoadError(f"{name}: unsupported pixel type {arr.dtype}")


def load_image(path: str | Path) -> np.ndarray:
    """Read an image file as H x W x 3 uint8 RGB (see module docstring)."""
    path = Path(path)
    if not path.is_file():
        raise ImageLoadError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise ImageLoadError(f"{path}: file is empty")
    raw = np.fromfile(str(path), dtype=np.uint8)
    arr = cv2.imdecode(raw, cv2.IMREAD_UNCHANGED)
    if arr is not None and arr.size > 0:
        return to_rgb_uint8(arr, channels_bgr=arr.ndim == 3 and arr.shape[2] >= 3, name=str(path))
    return _load_with_pillow(path)


def _load_with_pillow(path: Path) -> np.ndarray:
    try:
        from PIL import Image, UnidentifiedImageError
    except ImportError as exc:  # pragma: no cover - pillow is a dependency
        raise ImageLoadError(f"{path}: OpenCV cannot decode it and Pillow is not installed") from exc
    try:
        with Image.open(path) as img:
            img.load()
            if img.mode == "P":
                img = img.convert("RGBA")
            elif img.mode in ("I;16", "I;16B", "I;16L"):
                arr = np.asarray(img, dtype=np.uint16)
                return to_rgb_uint8(arr, name=str(path))
            elif img.mode in ("I", "F"):
                arr = np.asarray(img).astype(np.float64)
                hi = arr.max(initial=0.0)
                arr = arr / hi if hi > 0 else arr
                return to_rgb_uint8(arr, name=str(path))
            elif img.mode not in ("L", "LA", "RGB", "RGBA"):
                img = img.convert("RGB")
            return to_rgb_uint8(np.asarray(img), name=str(path))
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        if isinstance(exc, ImageLoadError):
            raise
        raise ImageLoadError(f"{path}: not a readable image ({exc.__class__.__name__}: {exc})") from exc
