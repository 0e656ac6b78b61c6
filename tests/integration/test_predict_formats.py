"""predict.py on a PDF from the cart: every page read, written as CSV, WFDB, EDF+ and a JSON sidecar that
read back to the same signal; a rerun skips what is done; an unknown format lists the valid ones."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyedflib
import pytest
import wfdb

from ecgdl.constants import LEADS
from ecgdl.tasks import predict


def _two_page_pdf(path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.backends.backend_pdf import PdfPages

    from ecgdl.render.renderer import RenderConfig, render_ecg
    from ecgdl.signals.synthetic import generate_ecg

    with PdfPages(path) as pdf:
        for k in range(2):
            record = generate_ecg(np.random.default_rng(30 + k), 500.0)
            image, _ = render_ecg(record, RenderConfig(dpi=150.0), np.random.default_rng(40 + k))
            h, w = image.shape[:2]
            fig = plt.figure(figsize=(w / 150, h / 150), dpi=150)
            fig.figimage(image, resize=False)
            pdf.savefig(fig, dpi=150)
            plt.close(fig)


def test_a_two_page_pdf_is_written_in_every_asked_format_and_a_rerun_skips_it(make_cfg, tmp_path) -> None:
    pdf = tmp_path / "cart.pdf"
    _two_page_pdf(pdf)
    out = tmp_path / "out"
    overrides = [
        "model=classical",
        f"input={pdf}",
        f"output_dir={out}",
        "format=[csv,wfdb,edf,json]",
        "pdf_dpi=150",
    ]
    metrics = predict.run(make_cfg("predict", overrides))
    assert metrics["n_images"] == 2 and metrics["n_predicted"] == 2, (out / "report.csv").read_text()
    report = pd.read_csv(out / "report.csv")
    assert list(report["stem"]) == ["cart-p1", "cart-p2"]
    assert set(report["status"]) <= {"ok", "low_confidence"}

    for stem in ("cart-p1", "cart-p2"):
        csv = pd.read_csv(out / f"{stem}.csv")
        assert list(csv.columns) == list(LEADS) and len(csv) == 5000
        values = csv.to_numpy()
        assert np.nanstd(values[:, LEADS.index("II")]) > 0.05  # a real trace was read
        rec = wfdb.rdrecord(str(out / stem))
        assert rec.sig_name == list(LEADS) and rec.units == ["mV"] * 12 and rec.fs == 500
        np.testing.assert_allclose(rec.p_signal, values, atol=1e-3, equal_nan=True)
        with pyedflib.EdfReader(str(out / f"{stem}.edf")) as edf:
            ii = edf.readSignal(LEADS.index("II"))
        printed = np.isfinite(values[:, LEADS.index("II")])
        np.testing.assert_allclose(ii[: len(values)][printed], values[printed, LEADS.index("II")], atol=1e-3)
        sidecar = json.loads((out / f"{stem}.json").read_text())
        assert sidecar["signal"]["fs_hz"] == 500 and sidecar["meta"]["layout"]
        assert sidecar["meta"]["page"] == int(stem[-1]) and sidecar["meta"]["px_per_mm"] > 0

    again = predict.run(make_cfg("predict", overrides))
    assert again["n_skipped"] == 2 and again["n_predicted"] == 0
    # asking for one more format adds it and keeps what was written
    before = (out / "cart-p1.csv").read_bytes()
    more = predict.run(make_cfg("predict", [*overrides[:-2], "format=[csv,dicom]", "pdf_dpi=150"]))
    assert more["n_predicted"] == 2 and (out / "cart-p2.dcm").is_file()
    assert (out / "cart-p1.csv").read_bytes() == before


def test_an_unknown_format_lists_the_valid_ones(make_cfg, tmp_path) -> None:
    image = tmp_path / "page.png"
    image.write_bytes(b"")
    with pytest.raises(KeyError, match="valid: csv, wfdb, edf, dicom, json"):
        predict.run(make_cfg("predict", [f"input={image}", f"output_dir={tmp_path}", "format=[csv,xls]"]))
