"""ecgdl.models: network contract tests for every registered network, losses, the signal decoder, the registry
and the LightningModule on real (rendered) batches."""

from __future__ import annotations

import copy
import itertools
import math
from functools import partial
from pathlib import Path
from types import SimpleNamespace

import lightning as L
import numpy as np
import pytest
import torch
from omegaconf import OmegaConf

from ecgdl.constants import LEADS, N_LEADS
from ecgdl.data.datamodule import EcgDataModule
from ecgdl.data.targets import CropSpec
from ecgdl.fusion import FusionConfig
from ecgdl.metrics.snr import snr_kaggle
from ecgdl.models import (
    MODELS,
    ColumnHeatmapNet,
    DigitizerModule,
    build_network,
    crops_to_signal,
    export_weights,
    fill_nan_columns,
    heatmap_loss,
    load_net_weights,
    mask_loss,
    masked_mae,
    network_kind,
    network_spec,
    register_network,
    regression_loss,
    soft_argmax,
    trace_from_clean,
)
from ecgdl.models.crop_digitizer import (
    beyond_crop,
    crowded_segments,
    cut_page_crops,
    fused_record,
    read_with_crops,
    rows_from_signal,
    segments_to_read,
)
from ecgdl.models.losses import gaussian_row_target
from ecgdl.models.stray import crop_centre_y, trace_gaps
from ecgdl.signals.record import EcgRecord

SMALL_CROP = CropSpec(height_px=64, width_px=128)
CONF = Path(__file__).resolve().parents[2] / "conf"


class SineSource:
    """A tiny signal source (``__len__``, ``get(index, rng)``): smooth beats plus sines, Einthoven-consistent."""

    def __init__(self, n: int = 4, fs_hz: float = 500.0) -> None:
        self.n, self.fs_hz = n, fs_hz

    def __len__(self) -> int:
        return self.n

    def get(self, index: int, rng: np.random.Generator) -> EcgRecord:
        fs = self.fs_hz
        t = np.arange(round(10 * fs)) / fs
        beats = sum(np.exp(-0.5 * ((t - tb) / 0.02) ** 2) for tb in np.arange(0.3 + 0.05 * index, 10, 0.85))
        lead_i = 0.8 * beats + 0.1 * np.sin(2 * np.pi * 1.1 * t + rng.uniform(0, 6))
        lead_ii = 1.2 * beats - 0.15 * np.sin(2 * np.pi * 0.7 * t)
        sig = np.zeros((t.size, N_LEADS))
        sig[:, 0], sig[:, 1], sig[:, 2] = lead_i, lead_ii, lead_ii - lead_i
        sig[:, 3], sig[:, 4], sig[:, 5] = -(lead_i + lead_ii) / 2, lead_i - lead_ii / 2, lead_ii - lead_i / 2
        for k in range(6):
            sig[:, 6 + k] = (0.3 + 0.2 * k) * beats * (1 if k > 1 else -1) + 0.1 * np.cos(2 * np.pi * 0.4 * t)
        return EcgRecord(sig, fs, f"sine{index}")


def _datamodule(
    target: str = "crops", crop: CropSpec = SMALL_CROP, fs_hz: float = 500.0, **kw
) -> EcgDataModule:
    args = dict(target=target, train_size=2, val_size=1, test_size=1, batch_size=1, num_workers=0, crop=crop)
    args.update(kw)
    return EcgDataModule(SineSource(fs_hz=fs_hz), **args)


def _val_batch(**kw) -> dict:
    return next(iter(_datamodule(**kw).val_dataloader()))


# ---------------------------------------------------------------------------------------------- network contract
CONTRACT_SIZES = [(128, 512), (128, 500), (250, 333)]


def _outputs(out) -> list[torch.Tensor]:
    return list(out.values()) if isinstance(out, dict) else [out]


def _check_output_shapes(name: str, out, n: int, h: int, w: int) -> None:
    if network_kind(name) == "column":
        assert out["y"].shape == (n, w)
        if "logits" in out:
            assert out["logits"].shape == (n, h, w)
    else:
        assert out.shape == (n, 1, h, w)


@pytest.mark.parametrize("size_hw", CONTRACT_SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("name", sorted(MODELS))
def test_network_contract(name: str, size_hw: tuple[int, int]) -> None:
    torch.manual_seed(0)
    net = build_network(name)
    h, w = size_hw
    x = torch.rand(2, 3, h, w)
    out = net(x)
    _check_output_shapes(name, out, 2, h, w)
    assert all(torch.isfinite(o).all() for o in _outputs(out))
    # every parameter receives a gradient (a random projection avoids symmetric cancellations)
    loss = sum((o * torch.randn_like(o)).sum() for o in _outputs(out))
    loss.backward()
    for pname, p in net.named_parameters():
        assert p.grad is not None, f"{name}: {pname} has no gradient"
        assert torch.isfinite(p.grad).all(), f"{name}: {pname} has a non-finite gradient"
        assert p.grad.abs().sum() > 0, f"{name}: {pname} has an all-zero gradient"
    net.eval()
    with torch.no_grad():
        out = net(x[:1])
    _check_output_shapes(name, out, 1, h, w)
    assert all(torch.isfinite(o).all() for o in _outputs(out))


@pytest.mark.parametrize("name", sorted(MODELS))
def test_network_size_is_small(name: str) -> None:
    n_params = sum(p.numel() for p in build_network(name).parameters())
    assert 0.3e6 <= n_params <= 1.5e6, f"{name}: {n_params} parameters"


@pytest.mark.parametrize("size_hw", CONTRACT_SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_autoencoder_stem_stride_4_keeps_full_resolution(size_hw: tuple[int, int]) -> None:
    torch.manual_seed(0)
    net = build_network("autoencoder", base_channels=8, depth=2, stem_stride=4)
    h, w = size_hw
    out = net(torch.rand(1, 3, h, w))
    assert out.shape == (1, 1, h, w) and torch.isfinite(out).all()
    out.sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in net.parameters())
    with pytest.raises(ValueError, match="stem_stride must be 2 or 4"):
        build_network("autoencoder", stem_stride=1)


def test_column_net_y_is_soft_argmax_of_logits() -> None:
    net = ColumnHeatmapNet(base_channels=8, depth=2).eval()
    with torch.no_grad():
        out = net(torch.rand(1, 3, 32, 64))
    torch.testing.assert_close(out["y"], soft_argmax(out["logits"]))
    assert ((out["y"] >= 0) & (out["y"] <= 31)).all()


def test_soft_argmax_stays_float32_under_bf16_autocast() -> None:
    # Under autocast the weighted sum is a matrix product, which bfloat16 (8-bit mantissa) would round: rows near
    # 300 by up to a pixel. soft_argmax must give the float32 answer whatever the context.
    logits = (torch.randn(2, 320, 16, generator=torch.Generator().manual_seed(0)) * 5.0).bfloat16()
    reference = soft_argmax(logits.float())
    rows = torch.arange(320, dtype=torch.float32)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        y = soft_argmax(logits)
        naive = torch.einsum("nhw,h->nw", torch.softmax(logits.float(), dim=1), rows)
    assert y.dtype == torch.float32
    torch.testing.assert_close(y, reference, atol=1e-4, rtol=0)
    assert (naive.float() - reference).abs().max() > 0.1  # what autocast alone would have done


@pytest.mark.parametrize("name", ["cnn", "cnn_regression"])
def test_crop_networks_give_float32_rows_under_bf16_autocast(name: str) -> None:
    torch.manual_seed(0)
    net = build_network(name, base_channels=8, depth=2).eval()
    x = torch.rand(2, 3, 64, 128)
    with torch.no_grad():
        exact = net(x)["y"]
        with torch.autocast("cpu", dtype=torch.bfloat16):
            y = net(x)["y"]
    assert y.dtype == torch.float32
    assert (y - exact).abs().max() < 1.0  # the features were bf16; the rows themselves were not rounded
    clean = torch.zeros(1, 1, 300, 4)
    clean[0, 0, 290:293] = torch.tensor([0.5, 1.0, 0.6])[:, None]
    with torch.autocast("cpu", dtype=torch.bfloat16):
        rows = trace_from_clean(clean)
    torch.testing.assert_close(rows, torch.full((1, 4), (290 * 0.5 + 291 + 292 * 0.6) / 2.1))


def test_channels_last_training_gives_the_contiguous_loss_and_gradients() -> None:
    torch.manual_seed(0)
    net = build_network("cnn", base_channels=8, depth=2)
    batch = {"image": torch.rand(2, 3, 64, 128), "trace_y": 20.0 + 20.0 * torch.rand(2, 128)}
    results = []
    for channels_last in (False, True):
        module = DigitizerModule(copy.deepcopy(net), channels_last=channels_last)
        module.on_fit_start()
        first = next(p for p in module.net.parameters() if p.dim() == 4)
        assert first.is_contiguous(memory_format=torch.channels_last) == channels_last
        loss, _, _ = module._loss_and_rows(batch, need_rows=False)
        loss.backward()
        results.append((loss.detach(), [p.grad.clone() for p in module.net.parameters()]))
    (loss_a, grads_a), (loss_b, grads_b) = results
    torch.testing.assert_close(loss_a, loss_b, atol=1e-5, rtol=1e-5)
    for ga, gb in zip(grads_a, grads_b, strict=True):
        torch.testing.assert_close(ga, gb, atol=1e-5, rtol=1e-4)


def test_column_net_rejects_unknown_head() -> None:
    with pytest.raises(ValueError, match="unknown head"):
        ColumnHeatmapNet(head="mlp")
    with pytest.raises(ValueError, match="stem_stride must be 2 or 4"):
        ColumnHeatmapNet(stem_stride=3)


@pytest.mark.parametrize("head", ["heatmap", "regression"])
def test_stride4_column_net_keeps_full_resolution_at_the_cost_of_stride2(head: str) -> None:
    """A stride-4 stem reads a crop of twice the resolution on the same feature grid: full-resolution rows and
    columns out, every parameter trained, about the same parameter count."""
    torch.manual_seed(0)
    net4 = ColumnHeatmapNet(base_channels=8, depth=2, head=head, stem_stride=4)
    net2 = ColumnHeatmapNet(base_channels=8, depth=2, head=head, stem_stride=2)
    out = net4(torch.rand(2, 3, 70, 134))  # odd sizes: padded inside, cropped back
    assert out["y"].shape == (2, 134)
    if head == "heatmap":
        assert out["logits"].shape == (2, 70, 134)
    (out["y"] * torch.randn_like(out["y"])).sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in net4.parameters())
    n4 = sum(p.numel() for p in net4.parameters())
    n2 = sum(p.numel() for p in net2.parameters())
    assert n2 < n4 < 1.2 * n2


# ---------------------------------------------------------------------------------------------- registry
def test_registry_unknown_name_lists_valid_names() -> None:
    with pytest.raises(KeyError, match="valid: autoencoder, cnn, cnn_regression, unet"):
        build_network("resnet")


def test_registry_drops_none_and_passes_kwargs() -> None:
    default = build_network("cnn", base_channels=None, depth=None)
    small = build_network("cnn", base_channels=8)
    count = lambda net: sum(p.numel() for p in net.parameters())  # noqa: E731
    assert count(default) == count(build_network("cnn")) > count(small)
    assert build_network("cnn_regression").head == "regression"
    assert {network_kind(n) for n in MODELS} == {"column", "autoencoder", "page"}


def test_register_network_refuses_duplicates_and_bad_kinds() -> None:
    with pytest.raises(KeyError, match="already registered"):
        register_network("cnn", ColumnHeatmapNet, "column")
    with pytest.raises(ValueError, match="unknown kind"):
        register_network("new_net", ColumnHeatmapNet, "sequence")
    assert "new_net" not in MODELS


# ---------------------------------------------------------------------------------------------- losses
def _peaked_logits(y: torch.Tensor, height: int, sharpness: float = 2.0) -> torch.Tensor:
    rows = torch.arange(height, dtype=torch.float32).view(1, height, 1)
    return -sharpness * (rows - y.unsqueeze(1)) ** 2


def test_losses_are_finite_with_all_nan_targets() -> None:
    logits = torch.randn(3, 32, 20, requires_grad=True)
    y_pred = torch.randn(3, 20, requires_grad=True)
    nan = torch.full((3, 20), float("nan"))
    for loss in (heatmap_loss(logits, nan), regression_loss(y_pred, nan)):
        assert torch.isfinite(loss) and loss.item() == 0.0
        loss.backward()
    assert torch.isfinite(logits.grad).all() and torch.isfinite(y_pred.grad).all()
    clean_logits = torch.randn(2, 1, 16, 16, requires_grad=True)
    for target in (torch.zeros(2, 1, 16, 16), torch.full((2, 1, 16, 16), float("nan"))):
        loss = mask_loss(clean_logits, target, pos_weight=5.0)
        assert torch.isfinite(loss)
        loss.backward()
        assert torch.isfinite(clean_logits.grad).all()
    assert math.isnan(masked_mae(y_pred.detach(), nan).item())


def test_losses_prefer_the_right_target() -> None:
    g = torch.Generator().manual_seed(0)
    truth = 10 + 10 * torch.rand(4, 30, generator=g)
    truth[0, :5] = float("nan")  # partly undefined columns are ignored
    right, wrong = (
        _peaked_logits(torch.nan_to_num(truth, 15.0), 32),
        _peaked_logits(truth.nan_to_num(15.0) + 6, 32),
    )
    assert heatmap_loss(right, truth) < 0.5 * heatmap_loss(wrong, truth)
    assert regression_loss(truth.nan_to_num(0.0), truth) < regression_loss(truth.nan_to_num(0.0) + 5, truth)
    mask = (torch.rand(2, 1, 16, 16, generator=g) > 0.9).float()
    good, bad = 10 * (2 * mask - 1), -10 * (2 * mask - 1)
    assert mask_loss(good, mask) < 0.1 * mask_loss(bad, mask)


def test_heatmap_loss_is_zero_at_the_target_distribution() -> None:
    truth = torch.tensor([[5.0, 5.3, 6.7, 30.0, -4.0]])  # the last two leave the crop and are clamped
    target = gaussian_row_target(truth, 24, sigma_px=1.5)
    assert torch.allclose(target.sum(dim=1), torch.ones(1, 5))
    logits = _peaked_logits(truth.clamp(0, 23), 24, sharpness=0.5 / 1.5**2)
    assert heatmap_loss(logits, truth, sigma_px=1.5, l1_weight=0.0).abs() < 1e-5
    y = soft_argmax(logits)
    assert torch.allclose(y[0, :3], truth[0, :3], atol=0.01)
    assert 21.0 < y[0, 3] <= 23.0 and 0.0 <= y[0, 4] < 2.0


def test_heatmap_loss_squared_term_is_the_mean_squared_read_out_error() -> None:
    # sharply peaked logits read out at rows 4, 10, 12; targets 5, 10, 9 and one column without a trace (NaN)
    read = torch.tensor([[4.0, 10.0, 12.0, 7.0]])
    truth = torch.tensor([[5.0, 10.0, 9.0, float("nan")]])
    logits = _peaked_logits(read, 24, sharpness=50.0)
    base = heatmap_loss(logits, truth, sigma_px=1.5, l1_weight=0.0)
    with_l1 = heatmap_loss(logits, truth, sigma_px=1.5, l1_weight=1.0)
    with_l2 = heatmap_loss(logits, truth, sigma_px=1.5, l1_weight=0.0, l2_weight=1.0)
    assert torch.allclose(with_l1 - base, torch.tensor((1.0 + 0.0 + 3.0) / 3), atol=1e-3)
    assert torch.allclose(with_l2 - base, torch.tensor((1.0 + 0.0 + 9.0) / 3), atol=1e-3)


def test_the_squared_term_counts_from_its_share_of_the_run() -> None:
    # l2_start_frac 0.5 of 14 epochs: off in epochs 0-6, on from epoch 7; always on outside a fit
    module = DigitizerModule(build_network("cnn"), l2_weight=0.1, l2_start_frac=0.5)
    assert module.l2_weight_now() == 0.1
    gen = torch.Generator().manual_seed(0)
    batch = {"image": torch.rand(2, 3, 64, 96, generator=gen), "trace_y": torch.full((2, 96), 30.0)}
    losses = {}
    for epoch in (0, 6, 7, 13):
        module._trainer = SimpleNamespace(max_epochs=14, current_epoch=epoch)
        losses[epoch] = module._loss_and_rows(batch, need_rows=False)[0].item()
        assert module.l2_weight_now() == (0.1 if epoch >= 7 else 0.0)
    module._trainer = None
    assert losses[0] == pytest.approx(losses[6]) and losses[7] == pytest.approx(losses[13])
    # the difference is 0.1 times the mean squared read-out error of the (untrained) network
    rows = module.net(batch["image"])["y"].detach()
    assert losses[7] - losses[0] == pytest.approx(0.1 * ((rows - 30.0) ** 2).mean().item(), rel=1e-3)
    assert DigitizerModule(build_network("cnn"), l2_weight=0.1).l2_weight_now() == 0.1


def test_loss_shape_errors() -> None:
    with pytest.raises(ValueError, match=r"\(N, H, W\)"):
        heatmap_loss(torch.zeros(2, 8, 5), torch.zeros(2, 6))
    with pytest.raises(ValueError, match="shapes differ"):
        mask_loss(torch.zeros(1, 1, 4, 4), torch.zeros(1, 1, 4, 5))


def test_trace_from_clean_reads_the_weighted_centroid() -> None:
    prob = torch.zeros(1, 1, 20, 6)
    prob[0, 0, 7, :4] = 1.0
    prob[0, 0, 8, :4] = 1.0  # a 2-px stroke centred at 7.5
    prob[0, 0, 15, :4] = 0.2  # a faint blob below the relative threshold
    y = trace_from_clean(prob)
    torch.testing.assert_close(y[0, :4], torch.full((4,), 7.5))
    assert torch.isnan(y[0, 4:]).all()  # no trace
    filled = fill_nan_columns(y.numpy())
    np.testing.assert_allclose(filled[0], 7.5)
    assert np.isnan(fill_nan_columns(np.full((1, 3), np.nan))).all()
    np.testing.assert_allclose(fill_nan_columns(np.full((2, 3), np.nan), [1.0, 2.0]), [[1, 1, 1], [2, 2, 2]])


# ---------------------------------------------------------------------------------------------- decode
def test_crops_to_signal_places_averages_and_pads() -> None:
    fs, w = 100.0, 50  # 50 columns of 0.01 s: one sample per column
    y = np.array([[20.0] * w, [40.0] * w, [30.0] * w, [0.0] * w])
    y[3] = np.nan  # a crop with no finite column contributes nothing
    sig = crops_to_signal(
        y,
        px_per_mv=[10.0, 10.0, 10.0, 10.0],
        baseline_y=30.0,
        lead_index=[1, 1, 0, 2],
        t0_s=[0.0, 0.25, 0.0, 0.0],
        s_per_col=0.01,
        page=[0, 0, 1, 0],
        fs_hz=[fs, fs],
        n_samples=[100, 60],
        max_n=120,
    )
    assert sig.shape == (2, 120, N_LEADS)
    lead_ii = sig[0, :, 1]
    np.testing.assert_allclose(lead_ii[:25], 1.0)  # only the first crop
    np.testing.assert_allclose(lead_ii[25:50], 0.0)  # the average of +1 and -1 mV
    np.testing.assert_allclose(lead_ii[50:75], -1.0)
    assert np.isnan(lead_ii[75:]).all()
    np.testing.assert_allclose(sig[1, :50, 0], 0.0)
    assert np.isnan(sig[1, 50:, 0]).all()  # beyond the crop
    assert np.isnan(sig[1, 60:]).all()  # beyond the page's n_samples
    assert np.isnan(sig[:, :, 2]).all() and np.isnan(sig[:, :, 3:]).all()


def test_crops_to_signal_interpolates_between_columns() -> None:
    w = 11
    y = np.linspace(0.0, 10.0, w)[None]  # value_mv = -y / 1
    sig = crops_to_signal(y, 1.0, 0.0, [0], [0.0], [0.1], [0], [25.0], [25])
    t = np.arange(25) / 25.0
    expected = np.where(t < 1.1, -np.minimum(t / 0.1, 10.0), np.nan)
    np.testing.assert_allclose(sig[0, :, 0], expected, atol=1e-9)


def test_crops_to_signal_rejects_bad_pages() -> None:
    with pytest.raises(ValueError, match="page indices"):
        crops_to_signal(np.zeros((1, 4)), 1.0, 0.0, [0], [0.0], [0.1], [3], [10.0], [10])


@pytest.mark.parametrize("fs_hz", [500.0, 1025.0])
def test_decoding_the_true_rows_gives_back_the_truth(fs_hz: float) -> None:
    batch = _val_batch(crop=CropSpec(), fs_hz=fs_hz)  # full-size crops: 512 columns per 2.5 s
    truth = batch["signal_mv"].numpy().astype(np.float64)
    sig = crops_to_signal(
        batch["trace_y"],
        batch["px_per_mv"],
        batch["baseline_y"],
        batch["lead_index"],
        batch["t0_s"],
        batch["s_per_col"],
        batch["page"],
        batch["fs_hz"],
        batch["n_samples"],
        max_n=truth.shape[1],
    )
    # exactly the printed samples are read back ...
    np.testing.assert_array_equal(np.isfinite(sig), np.isfinite(truth))
    err = np.abs(sig - truth)[np.isfinite(truth)]
    # ... to within the pixel-column sampling of the trace (the FACTS.md ceiling is 27-28 dB)
    rms = np.sqrt(np.mean(err**2))
    assert np.median(err) < 0.01 and rms < 0.02, (np.median(err), rms)
    assert snr_kaggle(list(truth), list(np.nan_to_num(sig)), batch["fs_hz"].numpy()).snr_db > 24.0


def test_rows_from_signal_inverts_the_crop_calibration() -> None:
    """The classical reading is mapped into crops where the truth's rows are: the training targets' rows."""
    batch = _val_batch(crop=CropSpec(), fs_hz=500.0)
    on_page0 = (batch["page"] == 0).numpy()
    info = {
        k: batch[k].numpy()[on_page0] for k in ("px_per_mv", "baseline_y", "lead_index", "t0_s", "s_per_col")
    }
    truth = batch["signal_mv"][0].numpy().astype(np.float64)
    rows = rows_from_signal(truth, info, 500.0, batch["trace_y"].shape[1])
    target = batch["trace_y"].numpy()[on_page0]
    both = np.isfinite(rows) & np.isfinite(target)
    assert both.mean() > 0.9
    assert np.median(np.abs(rows - target)[both]) < 0.05


def test_beyond_crop_marks_where_the_classical_reading_leaves_the_crop_on_the_crops_own_stroke() -> None:
    rows = np.full((3, 12), 100.0)
    ref = np.full((3, 12), 101.0)  # on the network's stroke inside the crop (1 px off)
    ref[:, 5:7] = 130.0  # all three leave a 128-px crop at columns 5-6
    ref[1, 3] = 110.0  # crop 1: 10 px off where its stretch (4..7 with the context) begins: another stroke
    ref[2, 8] = 104.0  # crop 2: 4 px off where it ends: within 5 px
    beyond, astray = beyond_crop(rows, ref, 128, margin_px=4.0, context_cols=1, agree_px=5.0)
    assert not astray.any()  # no stray length given: nothing is astray
    expected = np.zeros((3, 12), bool)
    expected[0, 4:8] = True  # met at columns 3 and 8: 1 px
    expected[2, 4:8] = True
    np.testing.assert_array_equal(beyond, expected)
    # per-crop tolerances (px per mV differ between crops); a stretch reaching the crop's first column is checked
    # at its other end only; the top margin counts as the bottom one does; NaN is never beyond
    ref[0, 0:3] = 2.0
    ref[1, 10] = np.nan
    beyond = beyond_crop(rows, ref, 128, 4.0, 1, agree_px=np.array([5.0, 20.0, 1.0]))[0]
    assert beyond[0, 0:4].all() and beyond[1, 4:8].all() and not beyond[2].any() and not beyond[1, 10]
    with pytest.raises(ValueError, match="same shape"):
        beyond_crop(rows, ref[:, :5], 128, 4.0, 1, 5.0)


def test_a_long_stretch_out_of_the_crop_on_another_rows_trace_is_the_classical_reading_astray() -> None:
    """A stretch out of the crop of at least ``stray_cols`` columns, mostly on another row's trace, is that row's
    stroke which the classical tracer followed (met at both ends or not); the same stretch clear of other rows
    (a baseline wandering out of the crop) and shorter ones are judged as before."""
    rows = np.full((3, 20), 100.0)
    ref = np.full((3, 20), 101.0)
    ref[0, 5:7] = 130.0  # a tall wave: 4 columns with the context, met at both ends
    ref[1:, 5:15] = 160.0  # 12 columns with the context, back on the network's stroke at both ends
    on_other = np.zeros((3, 20), bool)
    on_other[0, 5:7] = True  # a tall wave crossing another row's: too short to be astray
    on_other[1, 5:13] = True  # 8 of the 12 columns on another row's reading
    beyond, astray = beyond_crop(rows, ref, 128, 4.0, 1, agree_px=5.0, stray_cols=8, on_other=on_other)
    assert astray[1, 4:16].all() and astray.sum() == 12
    assert beyond[0, 4:8].all() and beyond[2, 4:16].all() and beyond.sum() == 16
    assert not beyond_crop(rows, ref, 128, 4.0, 1, agree_px=5.0, stray_cols=8)[1].any()  # no rows known


def _drawn(lead: str, n0: int, n1: int, y: float) -> dict:
    """A segment drawn at 10 px/mm, 25 mm/s (250 px/s) and 10 mm/mV (100 px/mV), starting at x = 0."""
    return {
        "lead": lead, "start_sample": n0, "end_sample": n1, "x0_px": 0.0, "baseline_y_px": y,
        "px_per_s": 250.0, "px_per_mv": 100.0, "offset_mv": 0.0,
    }  # fmt: skip


def test_trace_gaps_measure_how_close_another_rows_reading_passes() -> None:
    """Two rows 300 px (30 mm) apart at 500 Hz (0.5 px per sample). The upper lead dips to -2.8 mV at samples
    100-104 (y = 280 px), the lower rises to +0.1 mV at samples 110-114 (y = 290 px): 10 samples (0.5 mm) to
    the side and 1 mm below. A lead printed later in the upper row is never compared with that row."""
    signal = np.full((1250, 12), np.nan)
    up, low, same = LEADS.index("I"), LEADS.index("II"), LEADS.index("aVR")
    signal[:625, up] = 0.0
    signal[100:105, up] = -2.8
    signal[:625, low] = 0.0
    signal[110:115, low] = 0.1
    signal[625:1250, same] = -2.8
    segs = [
        _drawn("I", 0, 625, 0.0),
        _drawn("II", 0, 625, 300.0),
        {**_drawn("aVR", 625, 1250, 0.0), "x0_px": 312.5},
    ]
    gaps = trace_gaps(segs, signal, 500.0, 10.0, reach_mm=1.0)  # 10 px = 20 samples either side
    assert gaps[102, up] == pytest.approx(1.0) and gaps[112, low] == pytest.approx(1.0)
    assert gaps[300, up] == pytest.approx(30.0) and gaps[300, low] == pytest.approx(30.0)
    # the rise 0.5 mm to the side is out of a 0.2-mm reach: there the lower trace rests at 300 px, 2 mm away
    assert trace_gaps(segs, signal, 500.0, 10.0, reach_mm=0.2)[102, up] == pytest.approx(2.0)
    assert np.isinf(gaps[700:, same]).all() and np.isinf(gaps[:, LEADS.index("V1")]).all()
    # rows are told by their zero lines: lead II traced along row I's stroke (read from level 0, like row I)
    # lies on it, 0 mm away, when its own row's zero line (300 px) is known; without it, it counts as row I's
    astray = {**_drawn("II", 0, 625, 0.0), "zero_y_px": 300.0}
    signal[:625, low] = 0.0
    assert trace_gaps([{**segs[0], "zero_y_px": 0.0}, astray], signal, 500.0, 10.0)[300, low] == 0.0
    assert np.isinf(trace_gaps([segs[0], _drawn("II", 0, 625, 0.0)], signal, 500.0, 10.0)[:, low]).all()


def test_crops_are_cut_where_asked_and_decode_to_the_traced_level() -> None:
    """A segment read from a level 15 mm above a black line on the page, its crops asked (``crop_y_px``) to put
    their zero line on the line: the line sits on the crops' zero row, and decodes to its value on the traced
    level (-1.5 mV); without ``crop_y_px`` the crop sits on the level and the line 15 mm below its zero row."""
    ppm, spec = 8.0, CropSpec()
    page = np.full((1200, 2200, 3), 255, np.uint8)
    page[599:602, :] = 0  # y = 600
    seg = {
        "lead": "II", "start_sample": 0, "end_sample": 1250, "x0_px": 100.0, "px_per_s": 25.0 * ppm,
        "px_per_mv": 10.0 * ppm, "pulse_sides": [], "offset_mv": 0.0, "baseline_y_px": 600.0 - 15.0 * ppm,
    }  # fmt: skip
    centre_row = spec.baseline_frac * spec.height_px
    sy = spec.height_mm * ppm / spec.height_px  # page px per crop px
    for asked, line_at in ((600.0, centre_row), (None, centre_row + 15.0 * ppm / sy)):
        one = seg if asked is None else {**seg, "crop_y_px": asked}
        crops, info = cut_page_crops(page, {"gain_mm_per_mv": 10.0}, 500.0, spec, [one])
        line_row = float(np.mean(np.flatnonzero(crops[0][:, 200, 0] < 128)))
        assert abs(line_row - line_at) < 1.0
        assert (info["baseline_y"][0] - line_row) / info["px_per_mv"][0] == pytest.approx(-1.5, abs=0.03)


def test_crop_centre_leaves_out_the_samples_shared_with_another_row() -> None:
    """V6 read from a level pulled 50 px up (the median of a reading half on V5's stroke at 400 px, half on its
    own at 600 px): with 600 samples shared, its crops go to the median height of the others (600 px); with
    fewer shared than asked for, to its level."""
    seg = {"lead": "V6", "start_sample": 0, "end_sample": 1250, "baseline_y_px": 550.0, "px_per_mv": 80.0}
    signal = np.full((1250, 12), np.nan)
    v6 = LEADS.index("V6")
    signal[:, v6] = -50.0 / 80.0  # own stroke: 550 + 50 = 600 px
    signal[:600, v6] = 150.0 / 80.0  # on V5's stroke: 550 - 150 = 400 px
    shared = np.zeros((1250, 12), bool)
    shared[:600, v6] = True
    assert crop_centre_y(seg, signal, shared, min_shared=100) == pytest.approx(600.0)
    assert crop_centre_y(seg, signal, shared, min_shared=700) == 550.0
    # rows' zero lines at 400, 600 and 800 px: a level 50 px from its row's 600 stays; 120 px (past half-way
    # to the next row) goes to the zero line; beyond the last row the median pitch (200 px) sets the half-way
    # mark
    zeros = [400.0, 600.0, 800.0]
    assert crop_centre_y({**seg, "zero_y_px": 600.0}, signal, None, 100, zeros) == 550.0
    assert (
        crop_centre_y({**seg, "zero_y_px": 600.0, "baseline_y_px": 720.0}, signal, None, 100, zeros) == 600.0
    )
    assert (
        crop_centre_y({**seg, "zero_y_px": 800.0, "baseline_y_px": 890.0}, signal, None, 100, zeros) == 890.0
    )
    assert (
        crop_centre_y({**seg, "zero_y_px": 800.0, "baseline_y_px": 910.0}, signal, None, 100, zeros) == 800.0
    )


class _StrayGeometry:
    """A classical reading of two rows (V5 with its zero line at 400 px, V6 at 600 px; 8 px/mm, 10 mm/mV, 25
    mm/s, 500 Hz) whose tracer followed V5's stroke for V6's first 1.2 s."""

    def digitize(self, image_rgb: np.ndarray, fs_hz: float, n_samples: int) -> EcgRecord:
        signal = np.full((n_samples, 12), np.nan)
        signal[:1250, LEADS.index("V5")] = 0.0
        v6 = LEADS.index("V6")
        signal[:1250, v6] = 0.0
        signal[:600, v6] = 2.5  # 200 px above V6's level: on V5's stroke
        segs = [
            {
                "lead": lead, "start_sample": 0, "end_sample": 1250, "x0_px": 100.0, "baseline_y_px": y,
                "px_per_s": 200.0, "px_per_mv": 80.0, "pulse_sides": [], "offset_mv": 0.0, "zero_y_px": y,
            }
            for lead, y in (("V5", 400.0), ("V6", 600.0))
        ]  # fmt: skip
        meta = {
            "px_per_mm": 8.0,
            "gain_mm_per_mv": 10.0,
            "segments": segs,
            "row_baselines_px": [400.0, 600.0],
        }
        return EcgRecord(signal, fs_hz, "", {**meta, "split_stroke_noise": 0.001, "stroke_px": 2.0})


def test_where_the_classical_reading_followed_another_rows_stroke_the_networks_reading_is_kept() -> None:
    """The network (a stand-in reading every crop flat on its zero line) and the classical reader disagree on
    V6's first 1.2 s, where the classical reading lies on V5's stroke, out of V6's crop. With ``stray_s`` the
    classical reading is left out there; without, the stretch counts as V6's own stroke leaving the crop (it
    meets the network's reading where it comes back) and the network's reading is censored instead."""
    spec = CropSpec()

    def flat(images: torch.Tensor) -> torch.Tensor:
        return torch.full((images.shape[0], images.shape[-1]), spec.baseline_frac * spec.height_px)

    page = np.full((900, 800, 3), 255, np.uint8)
    v6 = LEADS.index("V6")
    for stray_s, expected in ((0.2, 0.0), (0.0, 2.5)):
        fusion = FusionConfig(stray_s=stray_s)
        readings = read_with_crops(flat, _StrayGeometry(), page, 500.0, 1250, spec, fusion)
        signal = fused_record(readings, fusion, 500.0).signal_mv
        np.testing.assert_allclose(signal[50:550, v6], expected, atol=0.02)
        np.testing.assert_allclose(signal[700:1200, v6], 0.0, atol=0.02)
        assert int(readings.astray.sum()) == (0 if stray_s == 0 else pytest.approx(600, abs=30))


class _LoneRowGeometry(_StrayGeometry):
    """V6 alone on its row, its classical reading 25 mm above its zero line for its first 1.2 s (on a trace
    the layout did not list, e.g. a rhythm strip)."""

    def digitize(self, image_rgb: np.ndarray, fs_hz: float, n_samples: int) -> EcgRecord:
        record = super().digitize(image_rgb, fs_hz, n_samples)
        record.signal_mv[:, LEADS.index("V5")] = np.nan
        record.meta["segments"] = record.meta["segments"][1:]
        record.meta["row_baselines_px"] = [600.0]
        return record


def test_where_the_network_sees_its_own_stroke_the_classical_stretch_out_of_the_crop_is_astray() -> None:
    """No other row's reading there: the network's certainty decides. Sure of a stroke inside the crop (1 % of
    its height distribution off its read-out) it keeps its reading over the classical one; unsure (90 %: the
    crop shows nothing, as when a baseline wanders out of it) the stretch is the trace leaving the crop and the
    classical reading stands."""
    spec = CropSpec()
    page = np.full((900, 800, 3), 255, np.uint8)
    v6 = LEADS.index("V6")
    for doubt, expected in ((0.01, 0.0), (0.9, 2.5)):

        def flat(images: torch.Tensor, doubt: float = doubt) -> tuple[torch.Tensor, torch.Tensor]:
            shape = (images.shape[0], images.shape[-1])
            return torch.full(shape, spec.baseline_frac * spec.height_px), torch.full(shape, doubt)

        fusion = FusionConfig(stray_s=0.2)
        readings = read_with_crops(flat, _LoneRowGeometry(), page, 500.0, 1250, spec, fusion)
        signal = fused_record(readings, fusion, 500.0).signal_mv
        np.testing.assert_allclose(signal[50:550, v6], expected, atol=0.02)


class _CabreraGeometry:
    """A Cabrera page's -aVR row (zero line at 400 px; 8 px/mm, 10 mm/mV, 25 mm/s): the trace runs 0.5 mV above
    the zero line, so the classical record (the right way up) holds aVR = -0.5 mV."""

    def __init__(self, layout: str) -> None:
        self.layout = layout

    def digitize(self, image_rgb: np.ndarray, fs_hz: float, n_samples: int) -> EcgRecord:
        signal = np.full((n_samples, 12), np.nan)
        signal[:1250, LEADS.index("aVR")] = -0.5
        seg = {
            "lead": "aVR", "start_sample": 0, "end_sample": 1250, "x0_px": 100.0, "baseline_y_px": 400.0,
            "px_per_s": 200.0, "px_per_mv": 80.0, "pulse_sides": [], "offset_mv": 0.0, "zero_y_px": 400.0,
        }  # fmt: skip
        meta = {"layout": self.layout, "px_per_mm": 8.0, "segments": [seg], "row_baselines_px": [400.0]}
        return EcgRecord(signal, fs_hz, "", {**meta, "split_stroke_noise": 0.001, "stroke_px": 3.0})


def test_the_crop_reader_reads_an_upside_down_lead_as_printed_and_turns_it_back() -> None:
    """The network (a stand-in taking each crop column's darkest row) sees -aVR as printed, 0.5 mV up; the fused
    record holds aVR the right way up, as the classical record does. A layout without inverted leads would make
    the two readers disagree by 1 mV."""
    spec = CropSpec()

    def darkest(images: torch.Tensor) -> torch.Tensor:
        return images.mean(dim=1).argmin(dim=1).float()

    page = np.full((900, 800, 3), 255, np.uint8)
    page[359:362, 100:600] = 0  # 40 px = 0.5 mV above the zero line
    avr = LEADS.index("aVR")
    fusion = FusionConfig()
    readings = read_with_crops(darkest, _CabreraGeometry("6x2-cabrera"), page, 500.0, 1250, spec, fusion)
    np.testing.assert_allclose(readings.classical_mv()[:1250, avr], 0.5)
    np.testing.assert_allclose(readings.network_mv[50:1200, avr], 0.5, atol=0.05)
    np.testing.assert_allclose(fused_record(readings, fusion, 500.0).signal_mv[50:1200, avr], -0.5, atol=0.05)
    standard = read_with_crops(darkest, _CabreraGeometry("6x2"), page, 500.0, 1250, spec, fusion)
    assert np.nanmax(np.abs(standard.network_mv[:, avr] - standard.classical_mv()[:, avr])) > 0.9


def test_crowded_segments_are_those_with_a_row_within_the_crops_reach() -> None:
    from ecgdl.data.targets import CropSpec

    ppm = 8.0  # px per mm; the default crop reaches 0.45 * 40 = 18 mm below its baseline

    def seg(lead: str, y_mm: float) -> dict:
        return {"lead": lead, "baseline_y_px": y_mm * ppm}

    # rows 37 mm apart (3x4+II) are not crowded; a segment's baseline 4.6 mm off its row's still belongs to it
    apart = [seg("I", 54.6), seg("aVR", 50.0), seg("II", 87.0), seg("aVL", 86.8)]
    assert crowded_segments(apart, [50.0 * ppm, 87.0 * ppm], ppm, CropSpec()) == []
    # rows 12 mm apart, then one 20 mm below the last: the first three are crowded, the last is out of reach
    rows_mm = [30.0, 42.0, 54.0, 74.0]
    segs = [seg(lead, y) for lead, y in zip(["I", "II", "III", "V6"], rows_mm, strict=True)]
    rows = [y * ppm for y in rows_mm]
    assert [s["lead"] for s in crowded_segments(segs, rows, ppm, CropSpec())] == ["I", "II", "III"]
    assert crowded_segments(segs, rows, ppm, CropSpec(height_mm=20.0)) == []  # a 9-mm reach
    assert crowded_segments(segs, rows, 0.0, CropSpec()) == []  # no scale: nothing is called crowded
    assert crowded_segments(segs, rows[:1], ppm, CropSpec()) == []  # one row: nothing to crowd it


def test_the_shipped_cnn_leaves_leads_whose_crop_holds_another_row_to_the_classical_reading() -> None:
    """12 rows about 12 mm apart: every 40-mm crop holds its neighbours' traces, so the network reads none of them
    and the reading is the classical one."""
    from ecgdl.classical import ClassicalDigitizer
    from ecgdl.render import RenderConfig, render_ecg
    from ecgdl.signals.synthetic import generate_ecg

    rec = generate_ecg(np.random.default_rng(3), fs_hz=500.0)
    img, truth = render_ecg(rec, RenderConfig(layout="12x1"), np.random.default_rng(3))
    n = rec.signal_mv.shape[0]
    dig = DigitizerModule(build_network("cnn")).load_weights("cnn").eval()
    out = dig.digitize(img, 500.0, n)
    classical = ClassicalDigitizer().digitize(img, 500.0, n)
    assert out.meta["crowded_segments"] == 12 and out.meta["n_crops"] == 0 and out.meta["network_weight"] == 0
    np.testing.assert_allclose(out.signal_mv, classical.signal_mv, equal_nan=True)
    assert snr_kaggle([truth.record.signal_mv], [np.nan_to_num(out.signal_mv)], [500.0]).snr_db > 12


def test_the_calibrated_fusion_weighs_the_classical_reading_in_where_the_network_is_less_sure() -> None:
    """The model config's error models: next to a calibration pulse, and the more of the network's height
    distribution lies away from its read-out, the more the classical reading weighs; on a clean page with a sharp
    network peak away from pulses the network's reading dominates."""
    from ecgdl.fusion import FusionConfig, fuse_readings, sample_features

    fusion = FusionConfig(**OmegaConf.to_container(OmegaConf.load(CONF / "model" / "cnn.yaml").fusion))
    no, yes = np.zeros((1, 12), bool), np.ones((1, 12), bool)

    def network_weight(noise: float, pulse: np.ndarray, off_peak: float) -> float:
        f = sample_features(noise, pulse, no, np.full((1, 12), off_peak))
        _, w = fuse_readings(
            np.zeros((1, 12)), fusion.network.variance(f), np.ones((1, 12)), fusion.classical.variance(f)
        )
        return float(w[0, 0])

    plain = network_weight(0.001, no, 0.001)
    assert plain > 0.99
    assert network_weight(0.001, yes, 0.001) < plain
    doubts = [network_weight(0.001, no, off_peak) for off_peak in (0.001, 0.1, 0.5, 0.9, 1.0)]
    # all of it away from the read-out: the classical reading weighs about a tenth (0.087 with the shipped models)
    assert all(a > b for a, b in itertools.pairwise(doubts)) and doubts[-1] < 0.95


def test_a_lead_printed_twice_is_read_from_the_longer_strip() -> None:
    def seg(lead: str, n0: int, n1: int) -> dict:
        return {"lead": lead, "start_sample": n0, "end_sample": n1}

    short_ii, rhythm_ii = seg("II", 0, 1250), seg("II", 0, 5000)
    lead_i, late_ii = seg("I", 0, 1250), seg("II", 4000, 5000)
    kept = segments_to_read([lead_i, short_ii, seg("aVL", 1250, 2500), rhythm_ii])
    assert [s["lead"] for s in kept] == ["I", "aVL", "II"] and kept[-1] is rhythm_ii
    # a shorter strip the longer one does not cover, and equal lengths, are both kept
    partial = seg("II", 0, 4500)
    assert segments_to_read([seg("II", 2500, 5000), partial]) == [seg("II", 2500, 5000), partial]
    assert len(segments_to_read([seg("II", 0, 1250), seg("II", 0, 1250)])) == 2
    assert segments_to_read([late_ii, rhythm_ii]) == [rhythm_ii]


# ---------------------------------------------------------------------------------------------- training
def test_heatmap_cnn_overfits_one_batch() -> None:
    torch.manual_seed(0)
    batch = _val_batch()
    image, trace_y = batch["image"][:8], batch["trace_y"][:8]
    net = ColumnHeatmapNet(base_channels=8, depth=3)
    opt = torch.optim.AdamW(net.parameters(), lr=3e-3)
    losses = []
    for _ in range(60):
        out = net(image)
        loss = heatmap_loss(out["logits"], trace_y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    net.eval()
    with torch.no_grad():
        mae = masked_mae(net(image)["y"], trace_y).item()
    assert losses[-1] < 0.5 * losses[0], losses[::10]
    assert mae < 1.5, mae


def _trainer() -> L.Trainer:
    return L.Trainer(
        fast_dev_run=True,
        accelerator="cpu",
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )


@pytest.mark.parametrize(
    ("name", "target", "kwargs"),
    [
        ("cnn", "crops", {}),
        ("cnn_regression", "crops", {}),
        ("autoencoder", "clean", {"pos_weight": 5.0}),
    ],
)
def test_module_validation_logs_finite_snr(name: str, target: str, kwargs: dict, tmp_path) -> None:
    torch.manual_seed(0)
    net = build_network(name, base_channels=8, depth=2)
    module = DigitizerModule(
        net, kind=network_kind(name), optimizer=partial(torch.optim.AdamW, lr=1e-3), **kwargs
    )
    dm = _datamodule(target=target)
    trainer = _trainer()
    trainer.fit(module, datamodule=dm)
    metrics = trainer.callback_metrics
    for key in ("train/loss", "val/loss", "val/mae_px", "val/snr_db"):
        assert key in metrics and torch.isfinite(metrics[key]), (key, metrics.get(key))
    (result,) = trainer.test(module, datamodule=dm, verbose=False)
    assert math.isfinite(result["test/snr_db"])
    # checkpoints hold no pickled factories: they load with weights_only=True
    path = tmp_path / "model.ckpt"
    trainer.save_checkpoint(path)
    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    assert ckpt["hyper_parameters"]["kind"] == network_kind(name)
    fresh = load_net_weights(build_network(name, base_channels=8, depth=2), path)
    for a, b in zip(fresh.state_dict().values(), net.state_dict().values(), strict=True):
        torch.testing.assert_close(a, b)
    if name == "cnn":  # another architecture: an error naming the file and the likely cause
        with pytest.raises(RuntimeError, match=r"model\.ckpt: these weights do not fit.*stem_stride"):
            load_net_weights(build_network(name, base_channels=8, depth=2, stem_stride=2), path)
    # the checkpoint records the architecture: a module configured with another one rebuilds it and loads
    assert ckpt["network"] == {"name": name, "base_channels": 8, "depth": 2}
    other = DigitizerModule(
        build_network(name, base_channels=4, depth=1), kind=network_kind(name), weights=str(path)
    )
    assert network_spec(other.net) == ckpt["network"]
    for a, b in zip(other.net.state_dict().values(), net.state_dict().values(), strict=True):
        torch.testing.assert_close(a, b)


def test_exported_weights_carry_the_architecture_and_refuse_another_kind(tmp_path) -> None:
    net = build_network("cnn", base_channels=8, depth=2, stem_stride=2)
    legacy = tmp_path / "legacy.ckpt"  # a checkpoint written before network specs were recorded
    torch.save({"state_dict": {f"net.{k}": v for k, v in net.state_dict().items()}}, legacy)
    assert "network" not in torch.load(legacy, weights_only=True)
    with pytest.raises(
        RuntimeError, match="these weights do not fit"
    ):  # a spec that does not fit the weights
        export_weights(legacy, tmp_path / "bad.pt", network={"name": "cnn", "base_channels": 8, "depth": 2})
    out = export_weights(legacy, tmp_path / "cnn.pt", network=network_spec(net))
    assert torch.load(out, weights_only=True)["network"] == network_spec(net)
    module = DigitizerModule(build_network("cnn"), kind="column", weights=str(out))
    assert network_spec(module.net) == network_spec(net)
    x = torch.rand(1, 3, 64, 128)
    torch.testing.assert_close(module.net.eval()(x)["y"], net.eval()(x)["y"])
    with pytest.raises(
        ValueError, match=r"cnn\.pt: holds a 'cnn' network \(kind 'column'\); this module reads 'autoencoder'"
    ):
        DigitizerModule(
            build_network("autoencoder", base_channels=8, depth=2), kind="autoencoder", weights=str(out)
        )


def test_page_module_logs_iou_and_f1() -> None:
    torch.manual_seed(0)
    module = DigitizerModule(build_network("unet", base_channels=8, depth=2), kind="page", monitor="val/iou")
    trainer = _trainer()
    trainer.fit(module, datamodule=_datamodule(target="page", page_size_hw=(64, 80)))
    for key in ("train/loss", "val/loss", "val/iou", "val/f1"):
        assert key in trainer.callback_metrics and torch.isfinite(trainer.callback_metrics[key])
    assert "val/snr_db" not in trainer.callback_metrics
    with pytest.raises(ValueError, match="crop network"):
        module.predict_crops(torch.rand(1, 3, 32, 64))


class _DarkInkNet(torch.nn.Module):
    """Stands in for a trained page U-Net: high logits where a pixel is dark in every channel (the black trace,
    not the red grid)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return 40.0 * (0.35 - x.amax(dim=1, keepdim=True))


@pytest.mark.parametrize(("page_size_hw", "min_db"), [(None, 25.0), ((850, 1100), 17.0)])
def test_page_network_is_read_out_through_the_classical_stages(page_size_hw, min_db: float) -> None:
    """A page network's trace probability replaces the classical ink; at half resolution (the default training
    page size) the probability is resized back and the reading is coarser but still a signal."""
    from ecgdl.render import RenderConfig, render_ecg

    record = SineSource().get(0, np.random.default_rng(0))
    image, truth = render_ecg(record, RenderConfig(), np.random.default_rng(0))
    module = DigitizerModule(_DarkInkNet(), kind="page", monitor="val/iou", page_size_hw=page_size_hw)
    prob = module.predict_page(image)
    assert prob.shape == image.shape[:2] and prob.dtype == np.float32
    assert prob.min() >= 0.0 and prob.max() <= 1.0
    out = module.digitize(image, record.fs_hz, record.n_samples)
    assert out.meta["digitizer"] == "classical" and out.meta["layout"] == "3x4+II"
    snr = snr_kaggle(truth.record.signal_mv, np.nan_to_num(out.signal_mv), record.fs_hz).snr_db
    assert snr >= min_db
    with pytest.raises(ValueError, match="page network"):
        DigitizerModule(build_network("cnn", base_channels=8, depth=2)).predict_page(image)


def test_module_configuration_errors_and_scheduler() -> None:
    net = build_network("cnn", base_channels=8, depth=2)
    with pytest.raises(ValueError, match="unknown kind"):
        DigitizerModule(net, kind="sequence")
    with pytest.raises(ValueError, match="not logged"):
        DigitizerModule(build_network("unet", base_channels=8, depth=2), kind="page")
    module = DigitizerModule(
        net,
        optimizer=partial(torch.optim.SGD, lr=0.1),
        scheduler=partial(torch.optim.lr_scheduler.ReduceLROnPlateau, mode="max"),
    )
    config = module.configure_optimizers()
    assert isinstance(config["optimizer"], torch.optim.SGD)
    assert config["lr_scheduler"]["monitor"] == "val/snr_db"
    assert isinstance(DigitizerModule(net).configure_optimizers(), torch.optim.AdamW)


@pytest.mark.parametrize("name", ["cnn", "autoencoder"])
def test_predict_crops_is_finite_and_keeps_mode(name: str) -> None:
    module = DigitizerModule(build_network(name, base_channels=8, depth=2), kind=network_kind(name))
    module.train()
    y = module.predict_crops(np.random.default_rng(0).random((5, 3, 64, 100), dtype=np.float32), batch_size=2)
    assert y.shape == (5, 100) and torch.isfinite(y).all()
    assert module.training


def test_the_cnn_reads_thin_clean_traces_from_crops_stretched_in_time() -> None:
    """On a page whose trace is thin (at most thin_max_stroke_mm, as the classical digitizer measures it) the
    crops are cut thin_width_scale times wider for the same window; thick traces keep the trained width. The readings stay calibrated either way (samples map to the same times)."""
    from ecgdl.models.module import DigitizerModule
    from ecgdl.render import RenderConfig, render_ecg

    fs, t = 500.0, np.arange(5000) / 500.0
    beats = sum(np.exp(-0.5 * ((t - tb) / 0.01) ** 2) for tb in np.arange(0.3, 10, 0.8))
    rec = EcgRecord(np.stack([(0.4 + 0.05 * j) * beats for j in range(12)], axis=1), fs, "thin")
    widths_seen: list[int] = []
    for config, scale in (
        (RenderConfig(line_width_mm=0.2, stroke_supersample=4), 1.5),  # 1.6 px: thin
        (RenderConfig(line_width_mm=0.5), 1.0),  # 4 px: thick
    ):
        img, truth = render_ecg(rec, config, np.random.default_rng(0))
        dig = DigitizerModule(build_network("cnn"), thin_width_scale=1.5, thin_max_stroke_mm=0.38)
        dig.load_weights("cnn").eval()
        predict = dig.predict_crops_with_doubt

        def spy(x, *args, predict=predict, **kwargs):
            widths_seen.append(int(x.shape[-1]))
            return predict(x, *args, **kwargs)

        dig.predict_crops_with_doubt = spy
        out = dig.digitize(img, fs, 5000)
        assert out.meta["crop_width_scale"] == scale
        assert widths_seen[-1] == round(1024 * scale)
        ok = np.isfinite(truth.record.signal_mv)
        err = out.signal_mv[ok] - truth.record.signal_mv[ok]
        assert np.sqrt(np.mean((err - np.median(err)) ** 2)) < 0.05  # mV: a good reading either way
    with pytest.raises(ValueError, match="thin_width_scale"):
        DigitizerModule(build_network("cnn"), thin_width_scale=0.0)
