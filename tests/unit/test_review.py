"""Batch review page: thumbnails, per-page signal scripts, the embedded table and its links, the CLI."""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import unquote

import cv2
import numpy as np
import pandas as pd
import pytest

from ecgdl.constants import LEADS
from ecgdl.review import main, write_review
from ecgdl.tasks.predict import REPORT_COLUMNS  # the report folder's columns, as predict.py writes them
from ecgdl.viz.pages import make_thumbnail


def make_prediction_folder(out: Path, n_pages: int = 4, *, seed: int = 0, fs_hz: float = 500.0) -> Path:
    """A folder shaped like predict.py's output: per page a Kaggle-style CSV (a 3x4+II page: each lead printed
    for 2.5 s, II for 10 s, NaN elsewhere) and an overlay PNG, one page also WFDB files, the last page failed
    (no CSV); ``report.csv`` lists them all."""
    rng = np.random.default_rng(seed)
    out.mkdir(parents=True, exist_ok=True)
    n = int(10 * fs_hz)
    t = np.arange(n) / fs_hz
    rows = []
    for i in range(n_pages):
        stem = f"page-{i:03d}"
        failed = i == n_pages - 1
        confidence = float(rng.uniform(0, 1))
        status = "failed" if failed else ("ok" if confidence >= 0.5 else "low_confidence")
        if not failed:
            signal = np.full((n, len(LEADS)), np.nan)
            for k, lead in enumerate(LEADS):
                quarter = k // 3
                span = slice(None) if lead == "II" else slice(quarter * n // 4, (quarter + 1) * n // 4)
                signal[span, k] = 0.8 * np.sin(2 * np.pi * 1.2 * t[span] + k) + 0.05 * rng.standard_normal()
            pd.DataFrame(signal, columns=list(LEADS)).to_csv(out / f"{stem}.csv", index=False)
            page = np.full((170, 220, 3), 255, np.uint8)
            cv2.line(page, (10, 20 + 10 * i), (210, 150 - 10 * i), (200, 60, 20), 2)
            cv2.imwrite(str(out / f"{stem}-overlay.png"), page)
        if i == 0:
            (out / f"{stem}.hea").write_text(f"{stem} 12 {fs_hz:g} {n}\n")
            (out / f"{stem}.dat").write_bytes(b"\0" * 16)
        rows.append(
            {
                "stem": stem,
                "image": str(out / "in" / f"{stem}.png"),
                "status": status,
                "seconds": 1.0 + i,
                "layout": None if failed else "3x4+II",
                "px_per_mm": None if failed else 7.87,
                "gain_mm_per_mv": None if failed else 10.0,
                "fs_hz": fs_hz,
                "einthoven_db": None if failed else float(rng.normal(15, 5)),
                "goldberger_db": None if failed else float(rng.normal(20, 5)),
                "confidence": None if failed else confidence,
                "turned_deg": None if failed else 0,
                "reader": None if failed else "reader",
                "error": "ValueError: no grid found" if failed else None,
            }
        )
    pd.DataFrame(rows, columns=REPORT_COLUMNS).to_csv(out / "report.csv", index=False)
    return out


def embedded(page: str, element_id: str) -> dict:
    """The JSON document a page embeds in ``<script type="application/json" id=...>``."""
    match = re.search(rf'<script type="application/json" id="{element_id}">(.*?)</script>', page, re.S)
    assert match, f"no embedded {element_id}"
    return json.loads(match.group(1))


def local_links(page: str) -> list[str]:
    """Every relative ``href`` / ``src`` of the static HTML (scripts left out)."""
    markup = re.sub(r"<script\b.*?</script>", "", page, flags=re.S)
    found = re.findall(r'(?:href|src)="([^"#]+)"', markup)
    return [unquote(u) for u in found if not u.startswith(("http:", "https:", "data:", "javascript:"))]


def test_review_page_lists_every_page_with_thumbnails_signals_and_links(tmp_path: Path) -> None:
    folder = make_prediction_folder(tmp_path / "pred", n_pages=4)
    path = write_review(folder)
    assert path == folder / "review.html"
    page = path.read_text()
    data = embedded(page, "review-data")
    cols = {c: k for k, c in enumerate(data["columns"])}
    rows = {r[cols["stem"]]: r for r in data["rows"]}
    assert sorted(rows) == [f"page-{i:03d}" for i in range(4)]
    assert "http" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")  # offline: nothing fetched
    for stem, row in rows.items():
        links = row[cols["links"]]
        for rel in [row[cols["thumb"]], row[cols["signal"]], *links.values()]:
            if rel:
                assert (folder / unquote(rel)).is_file(), f"{stem}: {rel} does not resolve"
        if stem == "page-003":  # failed: no CSV, no overlay
            assert row[cols["signal"]] is None and row[cols["thumb"]] is None
            assert row[cols["status"]] == "failed" and row[cols["error"]].startswith("ValueError")
        else:
            assert set(links) >= {"csv", "overlay"} and row[cols["thumb"]] == f"thumbs/{stem}.jpg"
    assert set(rows["page-000"][cols["links"]]) == {"csv", "hea", "dat", "overlay"}
    thumb = cv2.imread(str(folder / "thumbs" / "page-000.jpg"))
    assert thumb.shape[1] == 200 and thumb.shape[0] == round(170 * 200 / 220)
    for link in local_links(page):
        assert (folder / link).exists(), link


def test_signal_script_is_decimated_in_hundredths_of_a_millivolt_with_gaps(tmp_path: Path) -> None:
    folder = make_prediction_folder(tmp_path / "pred", n_pages=2)
    write_review(folder, tmp_path / "site" / "review.html")  # the page and its files elsewhere
    text = (tmp_path / "site" / "signals" / "page-000.js").read_text()
    assert text.startswith("ecgReviewSignal(") and text.rstrip().endswith(");")
    payload = json.loads(text[len("ecgReviewSignal(") : text.rstrip().rindex(")")])
    assert payload["stem"] == "page-000" and payload["fs"] == 100.0 and payload["n"] == 1000
    truth = pd.read_csv(folder / "page-000.csv")
    runs_ii = payload["leads"][LEADS.index("II")]
    assert len(runs_ii) == 1 and runs_ii[0][0] == 0 and len(runs_ii[0][1]) == 1000
    np.testing.assert_allclose(np.array(runs_ii[0][1]) / 100, truth["II"].to_numpy()[::5], atol=0.005)
    runs_v1 = payload["leads"][LEADS.index("V1")]  # printed in the third quarter only
    assert len(runs_v1) == 1 and runs_v1[0][0] == 500 and len(runs_v1[0][1]) == 250
    page = (tmp_path / "site" / "review.html").read_text()
    data = embedded(page, "review-data")
    link = data["rows"][0][data["columns"].index("links")]["csv"]
    assert (tmp_path / "site" / unquote(link)).resolve() == (folder / "page-000.csv").resolve()


def test_thumbnails_are_kept_until_their_source_changes(tmp_path: Path) -> None:
    src = tmp_path / "a.png"
    cv2.imwrite(str(src), np.zeros((40, 400, 3), np.uint8))
    dst = make_thumbnail(src, tmp_path / "t" / "a.jpg", 100)
    assert dst is not None and cv2.imread(str(dst)).shape[:2] == (10, 100)
    stamp = dst.stat().st_mtime_ns
    assert make_thumbnail(src, dst, 100) == dst and dst.stat().st_mtime_ns == stamp
    (tmp_path / "bad.png").write_text("not an image")
    assert make_thumbnail(tmp_path / "bad.png", tmp_path / "t" / "bad.jpg", 100) is None
    assert make_thumbnail(tmp_path / "missing.png", tmp_path / "t" / "m.jpg", 100) is None


def test_cli_and_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = make_prediction_folder(tmp_path / "pred", n_pages=2)
    assert main([str(folder), "--out", str(tmp_path / "r.html"), "--title", "batch 7"]) == 0
    assert "wrote" in capsys.readouterr().out
    assert "<title>batch 7</title>" in (tmp_path / "r.html").read_text()
    with pytest.raises(ValueError, match=r"no report\.csv"):
        write_review(tmp_path)
    with pytest.raises(SystemExit):
        main([str(tmp_path / "nothing")])
