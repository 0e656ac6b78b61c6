"""Image loading for every reader of pictures (evaluation sets, predict, digitizers): any common file or array ->
H x W x 3 uint8 RGB.

Reads PNG, JPEG, BMP, TIFF (and anything else OpenCV or Pillow can open), HEIC / HEIF phone photos (through
pillow-heif) and PDF pages (rendered by pypdfium2 at ``pdf_dpi``), grey, grey+alpha, RGB, RGBA, 16-bit and float
images. A multi-page file (PDF, multi-frame TIFF) is read one page at a time: ``load_image(path, page=k)`` with
``k`` counted from 0, and :func:`count_pages` says how many there are. Transparent pixels are composited over
white paper. A photo's EXIF orientation is applied (a phone stores a picture taken sideways as it was captured,
with a tag saying how to turn it; libheif itself turns a HEIC picture upright). Pictures larger than
:data:`MAX_MEGAPIXELS` (a PDF page at the asked dpi included) are refused before they are decoded. Failures raise
:class:`ImageLoadError` naming the file (and the page) and the reason.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

__all__ = [
    "DEFAULT_PDF_DPI",
    "HEIF_SUFFIXES",
    "MAX_MEGAPIXELS",
    "PDF_SUFFIXES",
    "TIFF_SUFFIXES",
    "ImageLoadError",
    "count_pages",
    "load_image",
    "to_rgb_uint8",
]

#: Larger pictures are refused unread (a 600-dpi letter page is 34 megapixels; a "decompression bomb" file
#: declares billions).
MAX_MEGAPIXELS = 200.0
#: Resolution PDF pages are rendered at unless the caller asks for another (dots per inch; 1 pt = 1/72 inch).
DEFAULT_PDF_DPI = 200.0
PDF_SUFFIXES = (".pdf",)
TIFF_SUFFIXES = (".tif", ".tiff")
HEIF_SUFFIXES = (".heic", ".heif")
_POINTS_PER_INCH = 72.0
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


def load_image(path: str | Path, page: int | None = None, *, pdf_dpi: float = DEFAULT_PDF_DPI) -> np.ndarray:
    """Read an image file, or one page of a PDF / multi-frame TIFF, as H x W x 3 uint8 RGB.

    ``page`` counts from 0 (None: the first page, or the picture itself); ``pdf_dpi`` is the resolution a PDF
    page is rendered at. See the module docstring.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    where = _where(path, page)
    if not path.is_file():
        raise ImageLoadError(f"{where}: no such file")
    if path.stat().st_size == 0:
        raise ImageLoadError(f"{where}: file is empty")
    if page is not None and (isinstance(page, bool) or not isinstance(page, int | np.integer) or page < 0):
        raise ImageLoadError(f"{path}: page must be an index counted from 0, got {page!r}")
    if suffix in PDF_SUFFIXES:
        return _load_pdf_page(path, 0 if page is None else int(page), pdf_dpi)
    if suffix in HEIF_SUFFIXES:
        _register_heif(path)
    if page is not None and (page > 0 or suffix in TIFF_SUFFIXES):
        return _load_frame(path, int(page))
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


def count_pages(path: str | Path) -> int:
    """How many pages ``path`` holds: a PDF's pages, a TIFF's frames, 1 for any other picture.

    Only the file's structure is read (no page is rendered). Raises :class:`ImageLoadError` naming the file
    when a PDF or TIFF cannot be opened (damaged, encrypted, no pages).
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if not path.is_file():
        raise ImageLoadError(f"{path}: no such file")
    if suffix in PDF_SUFFIXES:
        with _open_pdf(path) as doc:
            return len(doc)
    if suffix in TIFF_SUFFIXES:
        from PIL import Image, UnidentifiedImageError

        try:
            with Image.open(path) as img:
                return int(getattr(img, "n_frames", 1))
        except Image.DecompressionBombError as exc:
            raise ImageLoadError(f"{path}: refused, the picture is too large to read safely ({exc})") from exc
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
            raise ImageLoadError(f"{path}: not a readable TIFF ({exc.__class__.__name__}: {exc})") from exc
    return 1


def _where(path: Path, page: int | None) -> str:
    """``path`` as error messages name it, with the page counted from 1 when one was asked for."""
    return (
        f"{path}" if page is None or not isinstance(page, int | np.integer) else f"{path} (page {page + 1})"
    )


def _refuse_if_too_large(where: str, width_px: float, height_px: float) -> None:
    if width_px * height_px > MAX_MEGAPIXELS * 1e6:
        raise ImageLoadError(
            f"{where}: refused, the picture declares {width_px:.0f} x {height_px:.0f} px "
            f"({width_px * height_px / 1e6:.0f} megapixels; at most {MAX_MEGAPIXELS:.0f} are read)"
        )


def _open_pdf(path: Path):
    """The PDF at ``path`` as an open ``pypdfium2.PdfDocument`` (use it in a ``with`` block), or an
    :class:`ImageLoadError` saying why it cannot be read."""
    import pypdfium2 as pdfium

    try:
        doc = pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as exc:
        raise ImageLoadError(f"{path}: {_pdf_failure(path)}") from exc
    except OSError as exc:
        raise ImageLoadError(f"{path}: cannot open it ({exc.__class__.__name__}: {exc})") from exc
    if len(doc) == 0:
        doc.close()
        raise ImageLoadError(f"{path}: the PDF has no pages")
    return doc


def _pdf_failure(path: Path) -> str:
    """Why PDFium cannot open ``path``. pypdfium2 reports a document without pages with PDFium's last error
    code, which may be left over from an earlier failure, so the document is opened once more directly."""
    import pypdfium2.raw as pdfium_c

    handle = pdfium_c.FPDF_LoadDocument((str(path) + "\x00").encode("utf-8", errors="surrogateescape"), None)
    if handle:
        pdfium_c.FPDF_CloseDocument(handle)
        return "the PDF has no pages"
    code = pdfium_c.FPDF_GetLastError()
    if code == pdfium_c.FPDF_ERR_PASSWORD:
        return "the PDF is encrypted (password protected); save an unprotected copy"
    if code == pdfium_c.FPDF_ERR_SECURITY:
        return "the PDF uses an unsupported security handler; save an unprotected copy"
    if code == pdfium_c.FPDF_ERR_FILE:
        return "cannot read the file"
    return "not a readable PDF (damaged or not a PDF at all)"


def _load_pdf_page(path: Path, page: int, pdf_dpi: float) -> np.ndarray:
    where = _where(path, page)
    if not (np.isfinite(pdf_dpi) and pdf_dpi > 0):
        raise ImageLoadError(f"{where}: pdf_dpi must be a positive number, got {pdf_dpi!r}")
    import pypdfium2 as pdfium

    with _open_pdf(path) as doc:
        if page >= len(doc):
            raise ImageLoadError(f"{where}: the PDF has only {len(doc)} page(s)")
        try:
            pdf_page = doc[page]
            width_pt, height_pt = pdf_page.get_size()
            scale = float(pdf_dpi) / _POINTS_PER_INCH
            _refuse_if_too_large(where, width_pt * scale, height_pt * scale)
            bitmap = pdf_page.render(scale=scale, rev_byteorder=True)  # RGB(A) byte order, white paper
            arr = bitmap.to_numpy()
        except pdfium.PdfiumError as exc:
            raise ImageLoadError(f"{where}: PDFium cannot render it ({exc})") from exc
    if arr.ndim != 3 or arr.shape[2] < 3 or arr.shape[0] < 2 or arr.shape[1] < 2:
        raise ImageLoadError(f"{where}: the page renders to an empty picture ({arr.shape}) at {pdf_dpi} dpi")
    return np.ascontiguousarray(arr[:, :, :3])


def _load_frame(path: Path, page: int) -> np.ndarray:
    """Frame ``page`` of a multi-frame picture (TIFF), read with Pillow, turned as its orientation tag says."""
    from PIL import Image, UnidentifiedImageError

    where = _where(path, page)
    try:
        with Image.open(path) as img:
            n_frames = int(getattr(img, "n_frames", 1))
            if page >= n_frames:
                raise ImageLoadError(f"{where}: the file has only {n_frames} page(s)")
            img.seek(page)
            _refuse_if_too_large(where, *img.size)
            tags = getattr(img, "tag_v2", None)
            orientation = int(
                (tags.get(0x0112, 1) if tags is not None else img.getexif().get(0x0112, 1)) or 1
            )
            image = _pil_to_rgb(img, where)
    except Image.DecompressionBombError as exc:
        raise ImageLoadError(f"{where}: refused, the picture is too large to read safely ({exc})") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        if isinstance(exc, ImageLoadError):
            raise
        raise ImageLoadError(f"{where}: not a readable image ({exc.__class__.__name__}: {exc})") from exc
    return _apply_orientation(image, orientation)


_HEIF_REGISTERED = False


def _register_heif(path: Path) -> None:
    """Teach Pillow to open HEIC / HEIF files (once per process)."""
    global _HEIF_REGISTERED
    if _HEIF_REGISTERED:
        return
    try:
        import pillow_heif
    except ImportError as exc:  # pragma: no cover - pillow-heif is a dependency
        raise ImageLoadError(
            f"{path}: reading HEIC / HEIF pictures needs pillow-heif (pip install pillow-heif)"
        ) from exc
    pillow_heif.register_heif_opener()
    _HEIF_REGISTERED = True


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
    _refuse_if_too_large(str(path), w, h)
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
            return _pil_to_rgb(img, str(path))
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        if isinstance(exc, ImageLoadError):
            raise
        raise ImageLoadError(f"{path}: not a readable image ({exc.__class__.__name__}: {exc})") from exc


def _pil_to_rgb(img, name: str) -> np.ndarray:
    """The current frame of an open Pillow image as H x W x 3 uint8 RGB."""
    img.load()
    if img.mode == "P":
        img = img.convert("RGBA")
    elif img.mode in ("I;16", "I;16B", "I;16L"):
        return to_rgb_uint8(np.asarray(img, dtype=np.uint16), name=name)
    elif img.mode in ("I", "F"):
        arr = np.asarray(img).astype(np.float64)
        hi = arr.max(initial=0.0)
        arr = arr / hi if hi > 0 else arr
        return to_rgb_uint8(arr, name=name)
    elif img.mode not in ("L", "LA", "RGB", "RGBA"):
        img = img.convert("RGB")
    return to_rgb_uint8(np.asarray(img), name=name)
