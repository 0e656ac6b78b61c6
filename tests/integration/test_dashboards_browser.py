"""The leaderboard dashboard and the batch review page opened in a real browser (headless Chromium).

Each page runs its own self-check when opened with ``#selftest=1`` (plots drawn with a size, sorting and
filtering give the right order, thumbnails present, a page's leads drawn) and writes the result into the DOM,
which Chromium dumps after the page's scripts ran; the same call takes a screenshot that must not be blank. The
links of both pages are checked on disk. Skipped where no Chromium is installed (Debian: ``apt-get install -y
chromium``; ``.ci/run`` installs it when it can).
"""

from __future__ import annotations

import html
import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import unquote

import cv2
import pytest

from ecgdl.leaderboard import collect_runs, write_leaderboard
from ecgdl.review import write_review
from tests.unit.test_leaderboard import embedded as leaderboard_data
from tests.unit.test_leaderboard import make_sweep
from tests.unit.test_review import local_links, make_prediction_folder

CHROMIUM = next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="no chromium on PATH (Debian: apt-get install -y chromium) for the browser tests"
)


def open_in_chromium(page: Path, fragment: str, screenshot: Path, profile: Path, size=(1280, 1600)) -> str:
    """The DOM of ``page#fragment`` after its scripts ran (up to 10 s of virtual time); writes a screenshot."""
    cmd = [
        str(CHROMIUM),
        "--headless",
        "--disable-gpu",
        "--no-sandbox",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
        "--virtual-time-budget=10000",
        f"--window-size={size[0]},{size[1]}",
        f"--screenshot={screenshot}",
        "--dump-dom",
        f"{page.resolve().as_uri()}#{fragment}",
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def selftest(dom: str) -> str:
    match = re.search(r'<pre id="selftest"[^>]*>(.*?)</pre>', dom, re.S)
    return html.unescape(match.group(1)) if match else "(the page wrote no self-check)"


def assert_not_blank(png: Path) -> None:
    image = cv2.imread(str(png), cv2.IMREAD_GRAYSCALE)
    assert image is not None, f"no screenshot at {png}"
    assert float(image.std()) > 10.0, "the screenshot is blank"
    assert (image < 128).mean() > 0.001, "almost nothing dark was drawn"


def test_leaderboard_dashboard_draws_sorts_and_links(tmp_path: Path) -> None:
    root = make_sweep(tmp_path / "outputs", "m", [("cnn", 22.0), ("classical", 18.0), ("cnn", 12.0)])
    out = tmp_path / "reports"
    page = write_leaderboard(collect_runs(root), out, runs_root=root, shown_rows=2)["html"]
    dom = open_in_chromium(page, "selftest=1", tmp_path / "board.png", tmp_path / "profile")
    report = selftest(dom)
    assert 'data-selftest="pass"' in dom, report
    for name in ("heatmap drew", "per-page box plot drew", "per-lead bars drew", "gallery has 4 thumbnails"):
        assert f"ok   {name}" in report
    assert "ok   sort snr_db ascending" in report and "ok   sort snr_db descending" in report
    assert "ok   all 3 runs listed after sorting" in report  # the third waited in a template until the sort
    assert dom.count("<svg") >= 4  # heatmap, boxes, per-lead bars, B against A
    assert_not_blank(tmp_path / "board.png")
    data = leaderboard_data(page.read_text())
    for run in data["runs"]:
        for link in (run["href"], *(g[k] for g in run["gal"] for k in (3, 4, 5))):
            assert (out / unquote(link)).exists(), link


def test_leaderboard_of_a_folder_without_runs_opens_and_says_so(tmp_path: Path) -> None:
    (tmp_path / "outputs").mkdir()
    page = write_leaderboard(collect_runs(tmp_path / "outputs"), tmp_path / "reports")["html"]
    dom = open_in_chromium(page, "selftest=1", tmp_path / "empty.png", tmp_path / "profile", (1280, 800))
    assert 'data-selftest="pass"' in dom, selftest(dom)
    assert "0 runs" in dom and "No run names its model and evaluation set" in dom


def test_review_page_sorts_filters_opens_a_page_and_links(tmp_path: Path) -> None:
    folder = make_prediction_folder(tmp_path / "pred", n_pages=7, seed=3)
    page = write_review(folder)
    dom = open_in_chromium(page, "selftest=1", tmp_path / "review.png", tmp_path / "profile")
    report = selftest(dom)
    assert 'data-selftest="pass"' in dom, report
    assert "ok   opens least confident first" in report and "signal traces" in report
    assert_not_blank(tmp_path / "review.png")
    dom = open_in_chromium(page, "sort=stem:desc", tmp_path / "sorted.png", tmp_path / "profile", (1280, 800))
    stems = re.findall(r'<td data-c="stem">([^<]*)</td>', dom)
    assert stems == [f"page-{i:03d}" for i in reversed(range(7))]
    for link in local_links(page.read_text()):
        assert (folder / link).exists(), link
    assert all((folder / "thumbs" / f"page-{i:03d}.jpg").is_file() for i in range(6))  # the 7th failed
