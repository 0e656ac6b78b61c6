"""Image loading for every reader of pictures (evaluation sets, predict, digitizers): any common file or array ->
H x W x 3 uint8 RGB.

Reads PNG, JPEG, BMP, TIFF (and anything else OpenCV or Pillow can open), grey, grey+alpha, RGB, RGBA, 16-bit and
float images. Transparent pixels are composited over white paper. A photo's EXIF orientation is applied (a phone
stores a picture taken sideways as it was captured, with a tag saying how to turn it). Files larger than
:data:`MAX_MEGAPIXELS` are refused before they are decoded. Failures raise :class:`ImageLoadError` naming the
file and the reason.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

__all__ = ["MAX_MEGAPIXELS", "ImageLoadError", "load_image", "to_rgb_uint8"]

#: Larger pictures are refused unread (a 600-dpi letter page is 34 megapixels; a "decompression bomb" file
#: declares billions).
MAX_MEGAPIXELS = 200.0
#: EXIF orientation tag value -> (counter-clockwise quarter turns, then mirror left-right)
_EXIF_TURNS = {
    2: (0, True),
    3: (2, False),
    4: (2, True),
    5: (1, True),
    6: (3, False),
    7: (3, True),
    8: (1, False),
}


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
    orientation = _check_header(path)
    raw = np.fromfile(str(path), dtype=np.uint8)
    try:
        arr = cv2.imdecode(raw, cv2.IMREAD_UNCHANGED)
    except cv2.error as exc:  # OpenCV's own limits, in its own words
        raise ImageLoadError(
            f"{path}: OpenCV cannot decode it ({str(exc).strip().splitlines()[-1]})"
        ) from exc
    if arr is not None and arr.size > 0:
        image = to_rgb_uint8(arr, channels_bgr=arr.ndim == 3 and arr.shape[2] >= 3, name=str(path))
    else:
        image = _load_with_pillow(path)
    return _apply_orientation(image, orientation)


def _check_header(path: Path) -> int:
    """The file's EXIF orientation (1: as stored) after checking its declared size against
    :data:`MAX_MEGAPIXELS`, from the header alone (nothing is decoded); 1 when Pillow cannot read the header."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            w, h = img.size
            orientation = int(img.getexif().get(0x0112, 1) or 1)
    except Image.DecompressionBombError as exc:
        raise ImageLoadError(f"{path}: refused, the picture is too large to read safely ({exc})") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        return 1
    if w * h > MAX_MEGAPIXELS * 1e6:
        raise ImageLoadError(
            f"{path}: refused, the picture declares {w} x {h} px ({w * h / 1e6:.0f} megapixels; "
            f"at most {MAX_MEGAPIXELS:.0f} are read)"
        )
    return orientation


def _apply_orientation(image: np.ndarray, orientation: int) -> np.ndarray:
    """``image`` turned (and mirrored) as its EXIF orientation tag says, so it shows as the camera saw it."""
    turns, mirror = _EXIF_TURNS.get(orientation, (0, False))
    if mirror:
        image = image[:, ::-1]
    if turns:
        image = np.rot90(image, turns)
    return np.ascontiguousarray(image) if (turns or mirror) else image


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
