"""The research notebooks (notebooks/0N_*.ipynb) run top to bottom on generated data.

Each notebook is executed with nbclient in a fresh ``python3`` kernel from ``notebooks/``; its last cell asserts on
what it computed (the Einthoven residual of a generated record, the readers' SNR on a clean generated page, the
WFDB round trip ...), so a run without error is a real check. All four take 3-6 min together on the 2-core
development machine, so they run with ``-m slow``; the default suite checks that they are committed without outputs.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat", reason="the notebook tests need '.[dev]' (nbformat)")
nbclient = pytest.importorskip("nbclient", reason="the notebook tests need '.[dev]' (nbclient)")

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
KERNEL = "python3"
CELL_TIMEOUT_S = 300


def _kernel_or_skip() -> None:
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        KernelSpecManager().get_kernel_spec(KERNEL)
    except NoSuchKernel:
        pytest.skip(f"no Jupyter kernel {KERNEL!r}: pip install ipykernel (or '.[dev]')")


def run_notebook(name: str, monkeypatch: pytest.MonkeyPatch) -> nbformat.NotebookNode:
    """Execute ``notebooks/<name>`` with ``notebooks/`` as its working directory; returns the executed copy."""
    _kernel_or_skip()
    # the kernel imports ecgdl as these tests do, also from a checkout that is not pip-installed
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    client = nbclient.NotebookClient(
        nb, timeout=CELL_TIMEOUT_S, kernel_name=KERNEL, resources={"metadata": {"path": str(NOTEBOOKS)}}
    )
    client.execute()  # a failing cell (an assert included) raises CellExecutionError naming it
    return nb


def _outputs_text(nb: nbformat.NotebookNode) -> str:
    return "\n".join(
        out.get("text", "")
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.get("outputs", [])
        if out.get("output_type") == "stream"
    )


def test_notebooks_are_committed_without_outputs() -> None:
    paths = sorted(NOTEBOOKS.glob("*.ipynb"))
    assert [p.name for p in paths] == [
        "01_data_exploration.ipynb",
        "02_preprocessing.ipynb",
        "03_baseline_model.ipynb",
        "04_inference.ipynb",
    ]
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None, (
                    f"{path.name}: outputs not stripped"
                )


@pytest.mark.slow  # 30-50 s with the kernel's start
def test_data_exploration_notebook(monkeypatch: pytest.MonkeyPatch) -> None:
    nb = run_notebook("01_data_exploration.ipynb", monkeypatch)
    text = _outputs_text(nb)
    assert "max |II - (I + III)|" in text and "Einthoven residual" in text


@pytest.mark.slow
def test_preprocessing_notebook(monkeypatch: pytest.MonkeyPatch) -> None:
    nb = run_notebook("02_preprocessing.ipynb", monkeypatch)
    assert "layout 3x4+II, 25 mm/s, 10 mm/mV" in _outputs_text(nb)


@pytest.mark.slow
def test_baseline_model_notebook(monkeypatch: pytest.MonkeyPatch) -> None:
    nb = run_notebook("03_baseline_model.ipynb", monkeypatch)
    assert "Kaggle SNR (dB) per page" in _outputs_text(nb)


@pytest.mark.slow
def test_inference_notebook(monkeypatch: pytest.MonkeyPatch) -> None:
    nb = run_notebook("04_inference.ipynb", monkeypatch)
    text = _outputs_text(nb)
    assert "WFDB round trip" in text and "confidence" in text
