"""Image loading (:mod:`ecgdl.data.images`): any image file or array to RGB uint8."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from ecgdl.data.images import ImageLoadError, load_image, to_rgb_uint8
from tests.unit.classical.pages import grid_page


def test_to_rgb_handles_grey_rgba_16bit_and_float() -> None:
    grey = np.full((5, 6), 100, np.uint8)
    assert to_rgb_uint8(grey).shape == (5, 6, 3)
    rgba = np.zeros((4, 4, 4), np.uint8)
    rgba[..., 3] = 0  # fully transparent black -> white paper
    assert (to_rgb_uint8(rgba) == 255).all()
    rgba[..., 3] = 255
    assert (to_rgb_uint8(rgba) == 0).all()
    img16 = np.full((4, 4, 3), 65535, np.uint16)
    assert (to_rgb_uint8(img16) == 255).all()
    assert (to_rgb_uint8(np.full((3, 3), 0.5, np.float32)) == 128).all()
    bgr = np.zeros((2, 2, 3), np.uint8)
    bgr[..., 0] = 200  # blue in OpenCV order
    assert to_rgb_uint8(bgr, channels_bgr=True)[0, 0].tolist() == [0, 0, 200]
    with pytest.raises(ImageLoadError, match="shape"):
        to_rgb_uint8(np.zeros((2, 2, 5), np.uint8))


@pytest.mark.parametrize("ext", ["png", "jpg", "bmp", "tiff"])
def test_load_image_formats(tmp_path: Path, ext: str) -> None:
    img = grid_page(120, 80)
    path = tmp_path / f"page.{ext}"
    assert cv2.imwrite(str(path), img[..., ::-1])
    out = load_image(path)
    assert out.shape == (80, 120, 3) and out.dtype == np.uint8
    tol = 12.0 if ext == "jpg" else 0.01  # JPEG subsamples the chroma of the thin red lines
    assert np.abs(out.astype(int) - img.astype(int)).mean() <= tol


def test_load_image_grey_rgba_and_16bit_files(tmp_path: Path) -> None:
    cv2.imwrite(str(tmp_path / "g.png"), np.full((10, 12), 30, np.uint8))
    assert load_image(tmp_path / "g.png").tolist()[0][0] == [30, 30, 30]
    rgba = np.zeros((10, 12, 4), np.uint8)
    rgba[:5, :, 3] = 255  # top half opaque black, bottom transparent
    cv2.imwrite(str(tmp_path / "a.png"), rgba)
    out = load_image(tmp_path / "a.png")
    assert (out[:5] == 0).all() and (out[5:] == 255).all()
    cv2.imwrite(str(tmp_path / "d.png"), np.full((10, 12, 3), 257 * 200, np.uint16))
    assert (load_image(tmp_path / "d.png") == 200).all()


def test_load_image_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(ImageLoadError, match=r"missing\.png"):
        load_image(tmp_path / "missing.png")
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    with pytest.raises(ImageLoadError, match=r"empty\.png.*empty"):
        load_image(empty)
    junk = tmp_path / "junk.jpg"
    junk.write_bytes(b"this is not an image at all" * 10)
    with pytest.raises(ImageLoadError, match=r"junk\.jpg"):
        load_image(junk)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_a_photos_exif_orientation_is_applied(tmp_path, orientation: int) -> None:
    from PIL import Image, ImageOps

    rng = np.random.default_rng(orientation)
    stored = (rng.random((30, 50, 3)) * 255).astype(np.uint8)
    img = Image.fromarray(stored)
    exif = img.getexif()
    exif[0x0112] = orientation
    path = tmp_path / "photo.png"
    img.save(path, exif=exif)
    with Image.open(path) as saved:
        want = np.asarray(ImageOps.exif_transpose(saved).convert("RGB"))
    got = load_image(path)
    assert np.array_equal(got, want)  # as Pillow's reference transpose shows it
    assert got.shape == ((30, 50, 3) if orientation <= 4 else (50, 30, 3))


def test_a_pixel_bomb_is_refused_with_a_sentence_before_decoding(tmp_path) -> None:
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    # a valid PNG header declaring 60000 x 60000 px with a tiny (truncated) image body
    ihdr = struct.pack(">IIBBBBB", 60000, 60000, 8, 2, 0, 0, 0)
    body = zlib.compress(b"\x00" * 64)
    path = tmp_path / "bomb.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", body) + chunk(b"IEND", b""))
    with pytest.raises(ImageLoadError, match=r"bomb\.png: refused, the picture"):
        load_image(path)
