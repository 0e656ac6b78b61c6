"""Renderer: the drawn stroke lies exactly on the ground truth, for every layout, speed, gain and grid colour."""

from __future__ import annotations

import itertools

import cv2
import numpy as np
import pytest

from ecgdl.constants import LEADS
from ecgdl.render import LAYOUTS, RenderConfig, RenderTruth, get_layout, render_ecg
from ecgdl.render.grid import GRID_SCHEMES
from ecgdl.signals.record import EcgRecord


def _record(fs_hz: float = 500.0, seed: int = 0) -> EcgRecord:
    """A smooth, Einthoven-consistent test record built from sinusoids and spikes (no generator dependency)."""
    r = np.random.default_rng(seed)
    t = np.arange(int(10 * fs_hz)) / fs_hz
    beats = np.zeros_like(t)
    for tb in np.arange(0.3, 10, 0.8):
        beats += np.exp(-0.5 * ((t - tb) / 0.012) ** 2)
    lead_i = 0.9 * beats + 0.1 * np.sin(2 * np.pi * 1.1 * t) + 0.05 * r.standard_normal()
    lead_ii = 1.4 * beats - 0.2 * np.sin(2 * np.pi * 0.7 * t + 1)
    sig = np.zeros((t.size, 12))
    sig[:, 0], sig[:, 1] = lead_i, lead_ii
    sig[:, 2] = lead_ii - lead_i
    sig[:, 3] = -(lead_i + lead_ii) / 2
    sig[:, 4] = lead_i - lead_ii / 2
    sig[:, 5] = lead_ii - lead_i / 2
    for k in range(6):
        sig[:, 6 + k] = (0.4 + 0.3 * k) * beats * (1 if k > 1 else -1) + 0.1 * np.cos(
            2 * np.pi * 0.3 * (k + 1) * t
        )
    return EcgRecord(sig, fs_hz, f"test{seed}")


def _assert_stroke_on_truth(image: np.ndarray, truth: RenderTruth) -> None:
    # A 2-px anti-aliased stroke fully darkens the pixel under its centre line; a 1-px one may only half-cover it
    # (at its ends, or when it passes between pixel centres), so there the darkest pixel of the 3x3 block counts.
    value, limit = image.max(axis=2), 110
    if truth.line_width_px < 2:
        value, limit = cv2.erode(value, np.ones((3, 3), np.uint8)), 150
    dark = value < limit
    for panel in truth.panels:
        if panel.n_points == 0:
            continue
        # Every per-column truth position (rounded to its pixel) is covered by the dark stroke.
        ys = np.round(panel.cols_y).astype(int)
        xs = panel.cols_x.astype(int)
        inside = (ys >= 0) & (ys < image.shape[0])
        hit = dark[ys[inside], xs[inside]]
        assert hit.mean() == 1.0, f"{panel.lead}: {np.count_nonzero(~hit)} columns miss the stroke"
        # ... and so is every plotted sample point.
        px = np.round(panel.points_xy).astype(int)
        ok = (px[:, 1] >= 0) & (px[:, 1] < image.shape[0])
        assert dark[px[ok, 1], px[ok, 0]].all(), panel.lead


def _assert_only_traces_changed(config: RenderConfig, record: EcgRecord) -> None:
    with_traces, truth = render_ecg(record, config, np.random.default_rng(5))
    without, _ = render_ecg(
        record, RenderConfig(**{**config.__dict__, "draw_traces": False}), np.random.default_rng(5)
    )
    # anti-aliasing fringes of a few grey levels may reach a pixel or two further than the stroke width
    changed = np.abs(with_traces.astype(int) - without).max(axis=2) > 4
    allowed = truth.page_mask(thickness_px=int(truth.line_width_px) + 3)
    for box in truth.pulse_boxes_xyxy:  # pulses are drawn with the traces
        x0, y0, x1, y1 = (int(v) for v in box)
        allowed[max(0, y0 - 3) : y1 + 4, max(0, x0 - 60) : x1 + 60] = True
    assert changed.any()
    assert not (changed & ~allowed).any(), "pixels changed away from the ground-truth traces"


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_stroke_lies_on_truth_for_every_layout(layout: str) -> None:
    config = RenderConfig(layout=layout, dpi=100)
    image, truth = render_ecg(_record(), config, np.random.default_rng(1))
    assert image.shape == (truth.height_px, truth.width_px, 3) and image.dtype == np.uint8
    _assert_stroke_on_truth(image, truth)
    _assert_only_traces_changed(config, _record())
    spec = get_layout(layout)
    assert len(truth.panels) == spec.n_rows * 0 + sum(len(r) for r in spec.grid) + len(spec.rhythm)


@pytest.mark.parametrize(
    ("speed", "gain", "pulse"), list(itertools.product([25, 50], [5, 10, 20], ["start", "end"]))
)
def test_stroke_lies_on_truth_for_every_speed_and_gain(speed: float, gain: float, pulse: str) -> None:
    config = RenderConfig(speed_mm_per_s=speed, gain_mm_per_mv=gain, pulse=pulse, dpi=100, header=False)
    image, truth = render_ecg(_record(seed=2), config, np.random.default_rng(1))
    _assert_stroke_on_truth(image, truth)
    # px per mV and per second follow from dpi, gain and speed exactly.
    p = truth.panels[0]
    fs = truth.fs_hz
    dx = np.diff(p.points_xy[:, 0])
    np.testing.assert_allclose(dx, speed * 100 / 25.4 / fs)
    values = truth.record.signal_mv[p.start_sample : p.end_sample, LEADS.index(p.lead)]
    np.testing.assert_allclose(p.points_xy[:, 1], p.baseline_y_px - values * gain * 100 / 25.4)
    assert len(truth.pulse_boxes_xyxy) == get_layout("3x4+II").n_rows
    x0, y0, x1, y1 = truth.pulse_boxes_xyxy[0]
    assert y1 - y0 == pytest.approx(gain * 100 / 25.4)  # 1 mV high
    assert x1 - x0 == pytest.approx(0.2 * speed * 100 / 25.4)  # 0.2 s wide


def test_start_pulse_is_drawn_as_ecg_image_kit_draws_it() -> None:
    """ECG-Image-Kit plots its pulse through samples of the record's rate (2 at 0 mV, 0.2 s at 1 mV, 2 at 0 mV),
    starting 0.2 s before the lead's first sample: each edge is a one-sample ramp whose centre lies 1.5 samples
    after the pulse's first point (rise) or after the lead's first sample (fall). At 250 Hz and 50 mm/s, 300 dpi,
    a sample step is 2.4 px: the ink at half the pulse's height is centred on the box's edges."""
    fs = 250.0
    config = RenderConfig(
        pulse="start",
        dpi=300,
        speed_mm_per_s=50,
        grid_colour="none",
        labels=False,
        header=False,
        footer=False,
    )
    image, truth = render_ecg(_record(fs_hz=fs), config, np.random.default_rng(0))
    step = truth.px_per_s / fs
    x0, y_top, x1, y_base = truth.pulse_boxes_xyxy[0]
    first = truth.panels[0].points_xy[0, 0]  # lead I, row 0
    assert x1 == pytest.approx(first + 1.5 * step)
    assert x1 - x0 == pytest.approx(0.2 * truth.px_per_s)
    assert y_base - y_top == pytest.approx(truth.px_per_mv)
    ink = 255.0 - image.min(axis=2).astype(float)  # darkness, anti-aliased
    mid = ink[round((y_top + y_base) / 2)]
    for edge in (x0, x1):
        lo, hi = int(edge) - 6, int(edge) + 7
        centre = float((np.arange(lo, hi) * mid[lo:hi]).sum() / mid[lo:hi].sum())
        assert centre == pytest.approx(edge, abs=0.3)


@pytest.mark.parametrize("colour", list(GRID_SCHEMES))
def test_grid_colours_keep_the_trace_distinct(colour: str) -> None:
    image, truth = render_ecg(
        _record(seed=3), RenderConfig(grid_colour=colour, dpi=100), np.random.default_rng(0)
    )
    _assert_stroke_on_truth(image, truth)
    if colour != "none":
        g = truth.grid
        # a major grid line sits at origin + 5k * px_per_mm: its pixel is darker than the paper between lines
        x = round(g.origin_x_px + 5 * 7 * g.minor_px)
        x_mid = round(g.origin_x_px + (5 * 7 + 2.5) * g.minor_px)
        rows = slice(5, 40)
        assert image[rows, x].astype(int).sum() < image[rows, x_mid].astype(int).sum()


def test_kaggle_truth_semantics_3x4() -> None:
    record = _record(fs_hz=500)
    image, truth = render_ecg(record, RenderConfig(), np.random.default_rng(0))
    _assert_stroke_on_truth(image, truth)  # 200 dpi: 2-px stroke, exact pixel check
    sig = truth.record.signal_mv
    assert sig.shape == (5000, 12)
    # lead II printed in full (rhythm strip); I for 0-2.5 s, aVR 2.5-5 s, V1 5-7.5 s, V4 7.5-10 s
    assert np.isfinite(sig[:, 1]).all()
    expect = {"I": (0, 1250), "aVR": (1250, 2500), "V1": (2500, 3750), "V4": (3750, 5000), "V6": (3750, 5000)}
    for lead, (a, b) in expect.items():
        col = sig[:, LEADS.index(lead)]
        assert np.isfinite(col[a:b]).all() and np.isnan(np.delete(col, np.arange(a, b))).all(), lead
        np.testing.assert_array_equal(col[a:b], record.signal_mv[a:b, LEADS.index(lead)])
    # Matches ECG-Image-Kit geometry at 200 dpi: rows start 10 mm in, 2.5 s columns are 492.1 px wide.
    first = {p.lead: p for p in truth.panels if p.row == 0}
    assert first["I"].points_xy[0, 0] == pytest.approx(78.74, abs=0.01)
    assert first["aVR"].points_xy[0, 0] == pytest.approx(570.87, abs=0.01)
    assert (truth.width_px, truth.height_px) == (2200, 1700)


@pytest.mark.parametrize("dpi", [100, 200])
def test_a_thin_stroke_inks_half_its_width_before_its_first_sample(dpi: int) -> None:
    # a pen of width w inks w/2 around its path's ends as well; OpenCV's thick lines have round caps but its 1-px
    # lines start right at the first point, so the renderer gives them a half-pixel projecting cap (as matplotlib,
    # ECG-Image-Kit's renderer, does); without it the classical reader put row starts 0.6-0.9 px late
    config = RenderConfig(dpi=dpi, line_width_mm=0.1, pulse="none", header=False, grid_colour="none")
    image, truth = render_ecg(
        EcgRecord(np.zeros((5000, 12)), 500.0, "flat"), config, np.random.default_rng(0)
    )
    assert truth.line_width_px == 1
    coverage = 1.0 - image.min(axis=2) / 255.0
    starts = [p for p in truth.panels if p.col == 0]  # later columns continue the previous lead's stroke
    assert len(starts) == 4
    for panel in starts:
        x0, y = panel.points_xy[0]
        rows = slice(int(y) - 4, int(y) + 6)
        k = int(x0) + 4  # well inside the flat stroke
        # ink left of column k's right border, in px of full stroke: (k + 0.5) - (where the ink begins)
        inked = coverage[rows, int(x0) - 8 : k + 1].sum() / coverage[rows, k].sum()
        assert inked - (k + 0.5 - x0) == pytest.approx(0.5, abs=0.2), panel.lead


@pytest.mark.parametrize("width_mm", [0.13, 0.25, 0.33])
def test_a_supersampled_pen_inks_its_own_width_around_the_truth(width_mm: float) -> None:
    # OpenCV rounds a pen to whole pixels (0.25 mm at 200 dpi -> 2 px, drawn 3-4 px dark); drawn 4x finer and
    # area-averaged, a flat stroke's ink across a column sums to the pen's width (to 1/4 px), centred on the truth
    config = RenderConfig(line_width_mm=width_mm, header=False, grid_colour="none", stroke_supersample=4)
    record = EcgRecord(np.full((5000, 12), 0.3) + np.arange(12) * 0.01, 500.0, "flat")
    image, truth = render_ecg(record, config, np.random.default_rng(0))
    width_px = truth.line_width_px
    assert width_px == pytest.approx(width_mm * config.px_per_mm, abs=0.26)
    coverage = 1.0 - image.min(axis=2) / 255.0
    for panel in truth.panels:
        y = float(panel.points_xy[0, 1])
        rows = np.arange(int(y) - 6, int(y) + 7)
        for x in np.linspace(panel.points_xy[0, 0] + 10, panel.points_xy[-1, 0] - 10, 5).astype(int):
            column = coverage[rows, x]
            assert column.sum() == pytest.approx(width_px, rel=0.06), (panel.lead, x)
            # to a quarter pixel: the fine stroke's centre is a whole fine row (1/8 px) and a pixel's centroid
            # puts its covered fine rows at its centre (up to 1/8 px more)
            assert (column * rows).sum() / column.sum() == pytest.approx(y, abs=0.25), (panel.lead, x)
        # a projecting cap (matplotlib's): the ink reaches half a width before the first sample
        if panel.col == 0:
            x0, k = float(panel.points_xy[0, 0]), int(panel.points_xy[0, 0]) + 4
            inked = coverage[rows, int(x0) - 8 : k + 1].sum() / coverage[rows, k].sum()
            assert inked - (k + 0.5 - x0) == pytest.approx(width_px / 2, abs=0.2), panel.lead
    with pytest.raises(ValueError, match="stroke_supersample"):
        RenderConfig(stroke_supersample=0)


def test_the_sampler_draws_its_share_of_supersampled_pages() -> None:
    from ecgdl.render import RenderSampler

    def draws(**kwargs) -> list[RenderConfig]:
        rng = np.random.default_rng(3)
        return [RenderSampler(line_width_mm=(0.1, 0.3), **kwargs).sample(rng) for _ in range(200)]

    half = [c.stroke_supersample for c in draws(stroke_supersample_share=0.5)]
    assert set(half) == {1, 4} and 70 < half.count(4) < 130
    assert all(c.stroke_supersample == 4 for c in draws(stroke_supersample_share=1.0))
    assert all(c.stroke_supersample == 1 for c in draws())
    with pytest.raises(ValueError, match="stroke_supersample_share"):
        RenderSampler(stroke_supersample_share=1.5)


def test_label_offsets_move_the_lead_labels_only_and_the_sampler_draws_them_in_range() -> None:
    from ecgdl.render import RenderSampler

    def page(offset_mm: float, traces: bool = True) -> tuple[np.ndarray, RenderTruth]:
        config = RenderConfig(
            header=False,
            footer=False,
            grid_colour="none",
            label_offset_mm=offset_mm,
            draw_traces=traces,
            separators=traces,
        )
        return render_ecg(_record(), config, np.random.default_rng(0))

    np.testing.assert_array_equal(page(0.0)[1].record.signal_mv, page(-3.0)[1].record.signal_mv)
    (base, truth), (up, _) = page(0.0, traces=False), page(-3.0, traces=False)
    ppm = truth.px_per_mm
    changed = (base != up).any(axis=2)
    assert changed.any()
    for panel in truth.panels:  # each label, right of its lead's start, moved 3 mm up
        x0, y0 = panel.points_xy[0, 0], panel.baseline_y_px
        box = np.s_[int(y0 - 3 * ppm) : int(y0 + 9 * ppm), int(x0) - 2 : int(x0 + 10 * ppm)]
        rows = np.arange(base.shape[0])[box[0], None]
        ink = [(255 - im.min(axis=2)[box]).astype(float) for im in (base, up)]
        centroid = [float((i * rows).sum() / i.sum()) for i in ink]
        assert centroid[1] - centroid[0] == pytest.approx(-3 * ppm, abs=1.0), panel.lead
        changed[box] = False
    assert not changed.any()  # nothing but the labels moved
    rng = np.random.default_rng(0)
    offsets = [RenderSampler(label_offset_mm=(-4.0, 1.0)).sample(rng).label_offset_mm for _ in range(100)]
    assert min(offsets) >= -4.0 and max(offsets) <= 1.0 and np.ptp(offsets) > 3.0
    assert RenderSampler().sample(rng).label_offset_mm == 0.0
    with pytest.raises(ValueError, match="label_offset_mm"):
        RenderSampler(label_offset_mm=(1.0, -1.0))


def test_1025_hz_windows_partition_the_record() -> None:
    record = _record(fs_hz=1025)
    _, truth = render_ecg(record, RenderConfig(dpi=100), np.random.default_rng(0))
    i_panels = [p for p in truth.panels if p.row == 0]
    ranges = [(p.start_sample, p.end_sample) for p in i_panels]
    assert ranges[0][0] == 0 and ranges[-1][1] == 10250
    assert all(a[1] == b[0] for a, b in itertools.pairwise(ranges))


def test_50mm_per_s_shows_what_fits_and_nan_elsewhere() -> None:
    _, truth = render_ecg(_record(), RenderConfig(speed_mm_per_s=50, dpi=100), np.random.default_rng(0))
    lead_ii = truth.record.signal_mv[:, 1]
    assert np.isfinite(lead_ii[:2000]).all() and np.isnan(lead_ii[3000:]).all()
    assert max(p.points_xy[:, 0].max() for p in truth.panels) < truth.width_px


def test_truth_round_trips_exactly(tmp_path) -> None:
    _, truth = render_ecg(_record(fs_hz=1025), RenderConfig(pulse="start", dpi=150), np.random.default_rng(0))
    path = truth.save(tmp_path / "x.truth.npz")
    back = RenderTruth.load(path)
    np.testing.assert_array_equal(back.record.signal_mv, truth.record.signal_mv)
    assert back.record.fs_hz == truth.record.fs_hz and back.layout == truth.layout
    assert back.px_per_mm == truth.px_per_mm and back.row_baselines_y_px == truth.row_baselines_y_px
    assert back.pulse_boxes_xyxy == truth.pulse_boxes_xyxy and back.grid == truth.grid
    for a, b in zip(back.panels, truth.panels, strict=True):
        assert (a.lead, a.row, a.col, a.start_sample, a.end_sample, a.box_xyxy) == (
            b.lead,
            b.row,
            b.col,
            b.start_sample,
            b.end_sample,
            b.box_xyxy,
        )
        np.testing.assert_array_equal(a.points_xy, b.points_xy)
        np.testing.assert_array_equal(a.cols_y, b.cols_y)
    np.testing.assert_array_equal(back.page_mask(), truth.page_mask())


def test_same_seed_same_image_and_bad_config_errors() -> None:
    a, _ = render_ecg(_record(), RenderConfig(dpi=100), np.random.default_rng(7))
    b, _ = render_ecg(_record(), RenderConfig(dpi=100), np.random.default_rng(7))
    np.testing.assert_array_equal(a, b)
    with pytest.raises(KeyError, match="valid layouts: 3x4\\+II"):
        RenderConfig(layout="4x3")
    with pytest.raises(KeyError, match="valid: red"):
        RenderConfig(grid_colour="purple")
    with pytest.raises(ValueError, match="dpi"):
        RenderConfig(dpi=20)
    with pytest.raises(ValueError, match="no finite samples"):
        render_ecg(EcgRecord(np.full((100, 12), np.nan), 500.0, "empty"))


@pytest.mark.parametrize(("record_id", "pulse"), [("841", "none"), ("1612", "none"), ("2132", "start")])
def test_geometry_matches_ecg_image_kit(shared_data, record_id: str, pulse: str) -> None:
    """Every sample lands where ECG-Image-Kit plotted it (its JSON keeps 2 decimals)."""
    import json

    from ecgdl.signals.io import KaggleLayout

    root = shared_data / "dev_eik_clean"
    record = KaggleLayout(root).read_signal(record_id)
    _, truth = render_ecg(record, RenderConfig(pulse=pulse), np.random.default_rng(0))
    meta = json.loads((root / "train" / record_id / f"{record_id}-0001.json").read_text())
    for lead in meta["leads"]:
        rows_cols = np.asarray(lead["plotted_pixels"], float)
        (panel,) = [
            p
            for p in truth.panels
            if p.lead == lead["lead_name"]
            and (p.start_sample, p.end_sample) == (int(lead["start_sample"]), int(lead["end_sample"]))
        ]
        np.testing.assert_allclose(panel.points_xy[:, 0], rows_cols[:, 1], atol=0.03)
        np.testing.assert_allclose(panel.points_xy[:, 1], rows_cols[:, 0], atol=0.03)


@pytest.mark.parametrize(("width_mm", "expected_px"), [(0.76, 6), (None, 3)])
def test_separators_are_bars_at_the_column_starts(width_mm: float | None, expected_px: int) -> None:
    """ECG-Image-Kit's separators are solid bars 6 px wide at 200 dpi, centred on the column start (dev pages
    put them at x 568-573 for a column starting at 571.3), 7 mm tall around the baseline."""
    config = RenderConfig(
        grid_colour="none",
        labels=False,
        header=False,
        footer=False,
        draw_traces=False,
        line_width_mm=0.15,
        separator_width_mm=width_mm,
    )
    image, truth = render_ecg(_record(), config, np.random.default_rng(0))
    black = image.max(axis=2) < 110
    later = [p for p in truth.panels if p.col > 0]
    assert later
    found = 0
    for panel in later:
        x0, base = panel.box_xyxy[0], panel.baseline_y_px
        top, left = int(base) - 100, int(x0) - 10
        window = black[top : int(base) + 101, left : int(x0) + 11]
        found += np.count_nonzero(window)
        cols = np.flatnonzero(window.any(axis=0)) + left
        rows = np.flatnonzero(window.any(axis=1)) + top
        assert cols.size == expected_px and np.ptp(cols) == expected_px - 1, (panel.lead, cols)
        assert abs(cols.mean() - x0) <= 1.0
        assert abs(rows.mean() - base) <= 1.0 and 50 <= rows.size <= 60  # +-0.35 mV at 78.7 px/mV
    assert black.sum() == found, "nothing else is black on a page without traces, grid or text"
    with pytest.raises(ValueError, match="separator_width_mm"):
        RenderConfig(separator_width_mm=0.0)
