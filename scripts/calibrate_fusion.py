"""Calibrate the fusion stage (``model.fusion``) of a crop digitizer on generated pages with exact truth.

Reads freshly rendered pages of every degradation preset (and every layout) with both readers, fits the two readers'
error models for fusion (:func:`ecgdl.fusion.fit_fusion`) and reports the Kaggle SNR of each reader and of the fused
reading per set.
The pages are drawn from their own seed, apart from the results table's test pages (seed 42) and never from the
development sets. Prints the ``fusion:`` block for conf/model/<model>.yaml and writes it to ``<out>/fusion.yaml``
with a per-set table (``<out>/calibration.csv``). Readings are cached under ``<out>/cache`` (a rerun refits only).

    python scripts/calibrate_fusion.py                       # the shipped cnn, 8 pages per set, seed 1001
    python scripts/calibrate_fusion.py --model autoencoder --ckpt <file.ckpt> --pages 4
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.utils import instantiate
from omegaconf import OmegaConf
from tqdm import tqdm

import ecgdl.tasks  # noqa: F401  (registers the configs' resolvers)
from ecgdl.classical import ClassicalDigitizer
from ecgdl.fusion import FusionConfig, fit_fusion
from ecgdl.metrics import snr_kaggle
from ecgdl.models.crop_digitizer import CropReadings, read_with_crops
from ecgdl.signals.limb import fit_limb_leads_with_check
from ecgdl.signals.record import EcgRecord

ROOT = Path(__file__).resolve().parents[1]
PRESETS = ("clean", "scan", "bw_scan", "photo", "screen", "stained", "damaged", "mold")
#: name -> overrides: pages drawn as ECG-Image-Kit draws real records under every preset, from synthetic records and
#: (where ../shared/data/ptbxl500 is there) real PTB-XL signals; the same at 20 mm/mV, where tall R and deep S waves
#: leave the crops more often (machines print low-voltage records so, and large complexes leave a 40-mm crop at
#: 10 mm/mV too); pages with pulses at the rows' ends; and every layout / speed / gain, clean
TALL = ["render.gains_mm_per_mv=[20.0]"]
#: pulses at the rows' ends, as many machines print them (render=kaggle_eik draws them at the start or not at all)
END = ["render.pulses=[end]"]
END_PRESETS = ("clean", "scan", "photo", "stained")
SETS = {
    **{p: ["render=kaggle_eik", "signals=synthetic_eik", f"data.aug={p}"] for p in PRESETS},
    **{f"ptbxl_{p}": ["render=kaggle_eik", "signals=ptbxl", f"data.aug={p}"] for p in PRESETS},
    **{f"tall_{p}": ["render=kaggle_eik", "signals=ptbxl", f"data.aug={p}", *TALL] for p in PRESETS},
    **{
        f"endpulse_{p}": ["render=kaggle_eik", "signals=synthetic_eik", f"data.aug={p}", *END]
        for p in END_PRESETS
    },
    "varied": ["render=varied", "signals=synthetic", "data.aug=clean"],
}
PTBXL = ROOT.parent / "shared" / "data" / "ptbxl500"
_ARRAYS = ("network_mv", "off_peak", "beyond_crop", "near_pulse", "near_join", "astray")


def _read_set(name: str, overrides: list[str], args, cache: Path) -> list[dict]:
    """Per page: the two readings, their features and the truth (from the cache where there)."""
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        cfg = compose(
            "evaluate",
            [
                f"model={args.model}",
                "data=synth",
                *overrides,
                f"data.test_size={args.pages}",
                f"seed={args.seed}",
            ],
        )
    data = instantiate(cfg.data, _convert_="all")
    model = None
    pages = []
    for i, item in enumerate(tqdm(data.eval_items(split="test"), total=args.pages, desc=name, unit="page")):
        path = cache / name / f"{i:03d}.npz"
        if not path.is_file():
            if model is None:
                model = instantiate(cfg.model, _convert_="all")
                model.load_weights(args.ckpt or args.model)
                model.eval()
                geometry = ClassicalDigitizer(**model.geometry_kwargs)
            try:
                r = read_with_crops(
                    model.predict_crops_with_doubt,
                    geometry,
                    item.load(),
                    item.fs_hz,
                    item.n_samples,
                    model.crop_spec,
                    model.fusion,
                    model.thin_width_scale,
                    model.thin_max_stroke_mm,
                    model.thin_max_noise,
                )
            except Exception as exc:  # a page the geometry stage cannot read: nothing to calibrate on
                print(f"{name} page {i}: {type(exc).__name__}: {exc}")
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            np.savez_compressed(
                path,
                classical_mv=r.classical.signal_mv,
                truth_mv=item.truth.signal_mv,
                fs_hz=item.fs_hz,
                noise=r.noise,
                **{k: getattr(r, k) for k in _ARRAYS},
            )
        with np.load(path) as z:
            pages.append({k: z[k] for k in z.files})
    return pages


def _readings(page: dict) -> CropReadings:
    record = EcgRecord(page["classical_mv"], float(page["fs_hz"]), "calibration", {})
    arrays = {k: page[k] for k in _ARRAYS}
    # the network's reading is censored where the trace leaves its crop (read_with_crops does the same)
    arrays["network_mv"] = np.where(page["beyond_crop"] > 0.5, np.nan, page["network_mv"])
    return CropReadings(record, noise=float(page["noise"]), **arrays)


def _score(
    pages: list[dict], fusion: FusionConfig | None, limb_weights: dict | None, which: str = "fused"
) -> float:
    """Kaggle SNR (dB) of a set read as ``which`` (fused / network / classical), limb leads fitted with
    ``limb_weights`` as the model does. ``network``: the network's reading, the classical one where the network has
    none (crowded rows, censored samples)."""
    preds = []
    for page in pages:
        r = _readings(page)
        if which == "classical":
            sig = r.classical.signal_mv
        elif which == "network":
            sig = np.where(np.isfinite(r.network_mv), r.network_mv, r.classical.signal_mv)
        else:
            sig = fusion.fuse(r.network_mv, r.classical_mv(), r.features())[0]
        sig, _ = fit_limb_leads_with_check(sig, float(page["fs_hz"]), limb_weights)
        truth = page["truth_mv"]
        preds.append(np.where(np.isfinite(truth), np.nan_to_num(sig), np.nan))
    truths = [p["truth_mv"] for p in pages]
    return snr_kaggle(truths, preds, [float(p["fs_hz"]) for p in pages]).snr_db


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="cnn", help="conf/model option (default cnn)")
    parser.add_argument("--ckpt", default=None, help="weights (default: the shipped ones of --model)")
    parser.add_argument("--pages", type=int, default=8, help="pages per set (default 8)")
    parser.add_argument("--seed", type=int, default=1001, help="page seed (default 1001; the table uses 42)")
    parser.add_argument("--out", type=Path, default=ROOT / "outputs" / "calibration")
    args = parser.parse_args()
    cache = args.out / f"cache_{args.model}_seed{args.seed}_v3"
    todo = {k: v for k, v in SETS.items() if PTBXL.is_dir() or "signals=ptbxl" not in v}
    if len(todo) < len(SETS):
        print(f"{PTBXL} is absent: calibrating on synthetic records only")
    sets = {name: _read_set(name, ov, args, cache) for name, ov in todo.items()}
    for name in [name for name, pages in sets.items() if not pages]:
        print(f"{name}: no page could be read; left out")
        del sets[name]
    every = [p for pages in sets.values() for p in pages]

    readings = [_readings(p) for p in every]
    feats = [r.features() for r in readings]
    res_net = [r.network_mv - p["truth_mv"] for r, p in zip(readings, every, strict=True)]
    # the classical reading as the fusion takes it (left out where it strayed onto another row's stroke)
    res_cls = [r.classical_mv() - p["truth_mv"] for r, p in zip(readings, every, strict=True)]
    groups = [name for name, pages in sets.items() for _ in pages]
    network, classical, agree_mv, agree_weight = fit_fusion(
        feats, res_net, res_cls, [p["truth_mv"] for p in every], groups, fit_agreement=True
    )
    model_cfg = OmegaConf.load(
        ROOT / "conf" / "model" / f"{args.model}.yaml"
    )  # its fusion settings, limb fit
    settings = OmegaConf.to_container(model_cfg.get("fusion") or {}, resolve=True)
    fitted = {"agree_mv": agree_mv, "agree_weight": agree_weight}
    base = FusionConfig(**{**settings, **fitted, "network": network, "classical": classical})
    limb = dict(model_cfg.get("limb_fit_weights") or {}) if model_cfg.get("limb_fit") else None
    rows = {"classical": {}, "network": {}}
    for name, pages in sets.items():
        rows["classical"][name] = _score(pages, None, limb, "classical")
        rows["network"][name] = _score(pages, None, limb, "network")
    rows["fused"] = {name: _score(pages, base, limb) for name, pages in sets.items()}
    table = pd.DataFrame(rows).T
    table["mean"] = table.mean(axis=1)
    print(table.round(2).to_string())

    block = {
        "fusion": {
            "edge_margin_mm": base.edge_margin_mm,
            "edge_context_s": base.edge_context_s,
            "edge_agree_mv": base.edge_agree_mv,
            "stray_s": base.stray_s,
            "context_s": base.context_s,
            **{k: float(f"{v:.4g}") for k, v in fitted.items()},
            "network": {k: float(f"{v:.4g}") for k, v in network.coef.items()},
            "classical": {k: float(f"{v:.4g}") for k, v in classical.coef.items()},
        }
    }
    args.out.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.out / "calibration.csv")
    (args.out / "fusion.yaml").write_text(yaml.safe_dump(block, sort_keys=False))
    print(f"\n{len(every)} pages; written to {args.out / 'fusion.yaml'}:\n")
    print(yaml.safe_dump(block, sort_keys=False))


if __name__ == "__main__":
    main()
