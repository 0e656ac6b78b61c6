"""Input formats beyond plain pictures (:mod:`ecgdl.data.inputs`, :mod:`ecgdl.data.images`): PDF pages, multi-page
TIFF, HEIC phone photos, and the sentences bad files fail with."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from ecgdl.data.images import ImageLoadError, count_pages, load_image
from ecgdl.data.inputs import discover_inputs

#: size of the test PDF pages in inches (matplotlib figures)
_PAGE_IN = (4.0, 3.0)


@pytest.fixture(scope="module")
def ecg_pages() -> list[np.ndarray]:
    """Two rendered ECG pages (H x W x 3 uint8 RGB) from the project's own generator and renderer."""
    from ecgdl.render import render_ecg
    from ecgdl.signals.synthetic import generate_ecg

    return [render_ecg(generate_ecg(np.random.default_rng(seed)))[0] for seed in (0, 1)]


def _write_pdf(path: Path, images: list[np.ndarray]) -> None:
    """A PDF with one page of ``_PAGE_IN`` inches per image, the image filling the page."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.backends.backend_pdf import PdfPages

    with PdfPages(path) as pdf:
        for image in images:
            fig = plt.figure(figsize=_PAGE_IN)
            ax = fig.add_axes((0, 0, 1, 1))
            ax.imshow(image, interpolation="antialiased")
            ax.set_axis_off()
            ax.set_aspect("auto")
            pdf.savefig(fig)
            plt.close(fig)


def _pdf_bytes(objects: list[bytes], trailer: bytes = b"") -> bytes:
    """A minimal PDF file holding ``objects`` (numbered from 1; object 1 is the catalog) with a valid xref."""
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R %s>>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        trailer,
        xref,
    )
    return bytes(out)


def _one_page_objects(width_pt: int, height_pt: int) -> list[bytes]:
    return [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] >>" % (width_pt, height_pt),
    ]


def test_a_two_page_pdf_is_two_items_rendered_at_the_dpi(tmp_path: Path, ecg_pages) -> None:
    path = tmp_path / "scan.pdf"
    _write_pdf(path, ecg_pages)
    items = discover_inputs(path, pdf_dpi=50)
    assert [(i.stem, i.page, i.pdf_dpi, i.path) for i in items] == [
        ("scan-p1", 0, 50, path),
        ("scan-p2", 1, 50, path),
    ]
    assert all(i.fs_hz == 500 and i.n_samples == 5000 for i in items)
    want_shape = (round(_PAGE_IN[1] * 50), round(_PAGE_IN[0] * 50), 3)
    for item, original in zip(items, ecg_pages, strict=True):
        page = item.load()
        assert page.shape == want_shape and page.dtype == np.uint8 and page.flags.c_contiguous
        small = cv2.resize(original, want_shape[1::-1], interpolation=cv2.INTER_AREA)
        assert np.abs(page.astype(float) - small).mean() < 12  # the ECG page itself, in RGB order
    second = load_image(path, page=1, pdf_dpi=100)
    assert second.shape == (round(_PAGE_IN[1] * 100), round(_PAGE_IN[0] * 100), 3)
    with pytest.raises(ImageLoadError, match=r"scan\.pdf \(page 3\): the PDF has only 2 page"):
        load_image(path, page=2)


def test_a_one_page_pdf_keeps_the_file_stem_and_loads_by_default(tmp_path: Path, ecg_pages) -> None:
    path = tmp_path / "single.pdf"
    _write_pdf(path, ecg_pages[:1])
    (item,) = discover_inputs(path)
    assert (item.stem, item.page, item.pdf_dpi) == ("single", 0, 200)
    assert load_image(path).shape == (600, 800, 3)  # 4 x 3 inches at the default 200 dpi


def test_a_corrupt_pdf_in_a_folder_is_listed_and_fails_with_a_sentence(tmp_path: Path, ecg_pages) -> None:
    _write_pdf(tmp_path / "good.pdf", ecg_pages)
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.4\nthis is not really a PDF" * 20)
    cv2.imwrite(str(tmp_path / "photo.png"), np.full((40, 60, 3), 200, np.uint8))
    items = discover_inputs(tmp_path)
    assert [(i.stem, i.page) for i in items] == [
        ("broken", None),
        ("good-p1", 0),
        ("good-p2", 1),
        ("photo", None),
    ]
    with pytest.raises(
        ImageLoadError, match=r"broken\.pdf: not a readable PDF \(damaged or not a PDF at all\)"
    ):
        items[0].load()
    assert items[1].load().shape == (600, 800, 3)
    with pytest.raises(ImageLoadError, match=r"broken\.pdf: not a readable PDF"):
        count_pages(tmp_path / "broken.pdf")


def test_an_encrypted_pdf_says_so(tmp_path: Path) -> None:
    # a standard security handler whose password check no password passes: the PDF cannot be opened
    encrypt = b"<< /Filter /Standard /V 1 /R 2 /Length 40 /P -4 /O <%s> /U <%s> >>" % (b"ab" * 32, b"cd" * 32)
    path = tmp_path / "locked.pdf"
    file_id = b"<" + b"01" * 16 + b">"
    path.write_bytes(
        _pdf_bytes(
            [*_one_page_objects(100, 50), encrypt], b"/Encrypt 4 0 R /ID [%s %s] " % (file_id, file_id)
        )
    )
    (item,) = discover_inputs(path)
    assert item.page is None
    with pytest.raises(ImageLoadError, match=r"locked\.pdf: the PDF is encrypted"):
        item.load()


def test_a_pdf_without_pages_says_so(tmp_path: Path) -> None:
    path = tmp_path / "empty.pdf"
    path.write_bytes(
        _pdf_bytes([b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [] /Count 0 >>"])
    )
    with pytest.raises(ImageLoadError, match=r"empty\.pdf: .*no pages"):
        load_image(path)


def test_a_huge_pdf_page_is_refused_before_rendering(tmp_path: Path) -> None:
    path = tmp_path / "poster.pdf"
    path.write_bytes(_pdf_bytes(_one_page_objects(14400, 14400)))  # 200 x 200 inches
    with pytest.raises(
        ImageLoadError, match=r"poster\.pdf \(page 1\): refused, the picture declares 40000 x 40000 px"
    ):
        load_image(path, page=0, pdf_dpi=200)
    assert load_image(path, pdf_dpi=1).shape == (200, 200, 3)  # at 1 dpi it is small


def test_a_two_frame_tiff_is_two_items(tmp_path: Path) -> None:
    from PIL import Image

    frames = [np.full((30, 40, 3), (255, 0, 0), np.uint8), np.full((50, 20, 3), (0, 0, 255), np.uint8)]
    path = tmp_path / "fax.tiff"
    Image.fromarray(frames[0]).save(path, save_all=True, append_images=[Image.fromarray(frames[1])])
    items = discover_inputs(tmp_path)
    assert [(i.stem, i.page) for i in items] == [("fax-p1", 0), ("fax-p2", 1)]
    for item, frame in zip(items, frames, strict=True):
        assert np.array_equal(item.load(), frame)
    with pytest.raises(ImageLoadError, match=r"fax\.tiff \(page 3\): the file has only 2 page"):
        load_image(path, page=2)
    single = tmp_path / "one" / "plain.tif"
    single.parent.mkdir()
    Image.fromarray(frames[0]).save(single)
    (item,) = discover_inputs(single)
    assert (item.stem, item.page) == ("plain", None)
    assert np.array_equal(item.load(), frames[0])


def _heic_or_skip(path: Path, image: np.ndarray, orientation: int | None = None) -> None:
    pillow_heif = pytest.importorskip("pillow_heif", reason="pillow-heif is not installed")
    from PIL import Image

    pillow_heif.register_heif_opener()
    img = Image.fromarray(image)
    kwargs = {"quality": -1}  # lossless where the encoder allows it
    if orientation is not None:
        exif = img.getexif()
        exif[0x0112] = orientation
        kwargs["exif"] = exif.tobytes()
    try:
        img.save(path, format="HEIF", **kwargs)
    except (OSError, KeyError, ValueError, RuntimeError) as exc:
        pytest.skip(f"pillow-heif cannot encode HEIC on this machine ({exc})")


def test_a_heic_photo_loads_upright(tmp_path: Path) -> None:
    stored = np.full((40, 60, 3), 255, np.uint8)
    stored[:10, :15] = (0, 0, 0)  # a dark mark in the stored picture's top-left corner
    path = tmp_path / "phone.heic"
    _heic_or_skip(path, stored, orientation=6)  # "turn 90 degrees clockwise to show"
    (item,) = discover_inputs(tmp_path)
    assert (item.stem, item.page) == ("phone", None)
    got = item.load()
    want = np.rot90(stored, -1)  # as the camera saw it
    assert got.shape == want.shape == (60, 40, 3)
    assert np.abs(got.astype(float) - want).mean() < 8
    plain = tmp_path / "plain.heif"
    _heic_or_skip(plain, stored)
    assert np.abs(load_image(plain).astype(float) - stored).mean() < 8


def test_an_unreadable_heic_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.heic"
    path.write_bytes(b"\x00\x00\x00\x18ftypheic" + b"junk" * 50)
    with pytest.raises(ImageLoadError, match=r"bad\.heic: "):
        load_image(path)


def test_discover_refuses_a_bad_dpi_and_unknown_files(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(ValueError, match=r"notes\.txt: not an image or PDF file"):
        discover_inputs(tmp_path / "notes.txt")
    with pytest.raises(ValueError, match="pdf_dpi must be a positive number"):
        discover_inputs(tmp_path, pdf_dpi=0)
