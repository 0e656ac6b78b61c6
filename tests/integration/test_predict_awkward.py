"""predict.py on what users really have: phone photos with EXIF orientation and HEIC copies read like the page
itself; a folder of awkward files gets a result or one sentence per file; a batch killed with SIGKILL halfway
and run again ends with the same outputs as one clean run."""

from __future__ import annotations

import os
import signal
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest
from PIL import Image

from ecgdl.metrics import snr_kaggle
from ecgdl.tasks import predict

ROOT = Path(__file__).resolve().parents[2]


def _page(seed: int, dpi: float = 150.0):
    from ecgdl.render.renderer import RenderConfig, render_ecg
    from ecgdl.signals.synthetic import generate_ecg

    record = generate_ecg(np.random.default_rng(seed), 500.0)
    image, truth = render_ecg(record, RenderConfig(dpi=dpi), np.random.default_rng(seed + 1))
    return image, truth


def _snr(truth, csv: Path) -> float:
    pred = pd.read_csv(csv).to_numpy()
    kept = np.where(np.isfinite(truth.record.signal_mv), np.nan_to_num(pred), np.nan)
    return float(snr_kaggle(truth.record.signal_mv, kept, 500.0).snr_db)


def test_an_exif_rotated_photo_and_a_heic_copy_read_like_the_page(make_cfg, tmp_path) -> None:
    pillow_heif = pytest.importorskip("pillow_heif")
    image, truth = _page(5)
    folder = tmp_path / "in"
    folder.mkdir()
    Image.fromarray(image).save(folder / "page.png")
    # a phone photo stored sideways with EXIF orientation 6 ("turn 90 degrees clockwise to view")
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(np.ascontiguousarray(np.rot90(image, 1))).save(
        folder / "phone.jpg", quality=95, exif=exif
    )
    Image.fromarray(image).save(folder / "upright.jpg", quality=95)  # the same photo stored upright
    # a HEIC copy as a phone stores it: lossy, chroma subsampled like the JPEG (both cost the classical reader
    # about 2.5 dB against the PNG on this 150-dpi page: the grid colour is what sets ink apart from grid)
    pillow_heif.from_pillow(Image.fromarray(image)).save(folder / "iphone.heic", quality=90)
    out = tmp_path / "out"
    metrics = predict.run(make_cfg("predict", ["model=classical", f"input={folder}", f"output_dir={out}"]))
    assert metrics["n_predicted"] == 4, (out / "report.csv").read_text()
    report = pd.read_csv(out / "report.csv").set_index("stem")
    assert (report["turned_deg"] == 0).all()  # EXIF, not the self-check, turned the photo
    snr = {stem: _snr(truth, out / f"{stem}.csv") for stem in ("page", "phone", "upright", "iphone")}
    assert min(snr.values()) > 15.0, snr
    assert abs(snr["phone"] - snr["upright"]) < 1.0, snr  # the EXIF-turned photo reads as the upright one
    assert abs(snr["iphone"] - snr["upright"]) < 1.0, snr  # the HEIC copy reads like the JPEG
    assert snr["page"] - snr["iphone"] < 3.5, snr


def _awkward_folder(folder: Path) -> dict[str, str]:
    """Awkward files and what predict must do with each: "read" (a result) or "failed" (one sentence)."""
    folder.mkdir()
    page, _ = _page(7, dpi=100.0)
    expect = {}

    def save(name: str, array: np.ndarray | Image.Image, status: str, **kw) -> None:
        img = array if isinstance(array, Image.Image) else Image.fromarray(array)
        img.save(folder / name, **kw)
        expect[Path(name).stem] = status

    (folder / "zero.png").write_bytes(b"")
    expect["zero"] = "failed"
    (folder / "truncated.png").write_bytes((cv2.imencode(".png", page)[1].tobytes())[:5000])
    expect["truncated"] = "failed"
    (folder / "text.png").write_text("this is not a picture\n")
    expect["text"] = "failed"
    save("one_px.png", np.zeros((1, 1, 3), np.uint8), "failed")
    save("tiny.png", cv2.resize(page, (40, 30)), "failed")
    save("blank.png", np.full((850, 1100, 3), 255, np.uint8), "failed")
    save("noise.jpg", np.random.default_rng(0).integers(0, 255, (600, 800, 3), dtype=np.uint8), "any")
    save("page16.png", Image.fromarray(page[..., 0].astype(np.uint16) * 257), "read")
    save("cmyk.jpg", Image.fromarray(page).convert("CMYK"), "read")
    save("palette.png", Image.fromarray(page).convert("P"), "read")
    save("rgba.png", Image.fromarray(page).convert("RGBA"), "read")
    save("scan.tif", page, "read")
    save("paint.bmp", page, "read")

    # a pixel bomb: a valid PNG header declaring 60000 x 60000 px over a tiny body
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", 60000, 60000, 8, 2, 0, 0, 0)
    (folder / "bomb.png").write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(bytes(64)))
        + chunk(b"IEND", b"")
    )
    expect["bomb"] = "failed"
    return expect


def test_a_folder_of_awkward_files_gets_a_result_or_a_sentence_each(make_cfg, tmp_path) -> None:
    expect = _awkward_folder(tmp_path / "in")
    out = tmp_path / "out"
    metrics = predict.run(
        make_cfg("predict", ["model=classical", f"input={tmp_path / 'in'}", f"output_dir={out}", "turns=[]"])
    )
    report = pd.read_csv(out / "report.csv", dtype={"stem": str}).set_index("stem")
    assert metrics["n_images"] == len(expect) == len(report)
    for stem, status in expect.items():
        row = report.loc[stem]
        if status == "read":
            assert row["status"] in ("ok", "low_confidence"), (stem, row["error"])
            assert (out / f"{stem}.csv").is_file()
        elif status == "failed":
            assert row["status"] == "failed", stem
            error = str(row["error"])
            # one sentence; the row (and the log's failure list) names the file
            assert Path(row["image"]).stem == stem and error and "\n" not in error and len(error) < 400, error
    assert "bomb.png: refused, the picture" in report.loc["bomb", "error"]


@pytest.mark.slow
def test_a_batch_killed_halfway_resumes_to_the_clean_runs_outputs(tmp_path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    for k in range(6):
        cv2.imwrite(str(folder / f"p{k}.png"), cv2.cvtColor(_page(20 + k, dpi=100.0)[0], cv2.COLOR_RGB2BGR))
    cmd = [sys.executable, str(ROOT / "predict.py"), "model=classical", f"input={folder}"]
    env = {**os.environ, "WANDB_MODE": "offline"}
    subprocess.run([*cmd, f"output_dir={tmp_path / 'clean'}"], cwd=tmp_path, env=env, check=True, timeout=600)

    killed = tmp_path / "killed"
    proc = subprocess.Popen([*cmd, f"output_dir={killed}"], cwd=tmp_path, env=env)
    deadline = time.time() + 300
    while len(list(killed.glob("p*.csv"))) < 2 and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    written = sorted(p.name for p in killed.glob("p*.csv"))
    assert 2 <= len(written) < 6, written  # killed halfway
    for csv in killed.glob("p*.csv"):  # what carries a final name is complete (writes are atomic)
        assert pd.read_csv(csv).shape == (5000, 12), csv
    subprocess.run([*cmd, f"output_dir={killed}"], cwd=tmp_path, env=env, check=True, timeout=600)
    for k in range(6):
        assert (killed / f"p{k}.csv").read_bytes() == (tmp_path / "clean" / f"p{k}.csv").read_bytes()
    clean = (
        pd.read_csv(tmp_path / "clean" / "report.csv").drop(columns="seconds").set_index("stem").sort_index()
    )
    again = pd.read_csv(killed / "report.csv").drop(columns="seconds").set_index("stem").sort_index()
    pd.testing.assert_frame_equal(clean, again)
