"""The notebooks (issue 12, item 6) run top to bottom, and show what they promise.

Each notebook is executed once with nbclient in a python kernel, in its quick setting
(SEQLAB_NOTEBOOK_QUICK=1: a short training run), in a temporary working directory, and its
outputs are read: the music lab shows sheet music and an audio player, the cell from
scratch agrees with torch.nn and draws its plots, the forecast is scored beside the classics.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parent.parent
NOTEBOOKS = REPOSITORY / "notebooks"
NAMES = ("music_lab.ipynb", "rnn_from_scratch.ipynb", "forecasting.ipynb")
CELL_TIMEOUT_S = 300  # per cell; the quick setting takes seconds, a stuck cell fails the test


def test_notebooks_are_stored_without_outputs():
    """Outputs (megabytes of sheet music and audio) are made by running, never committed."""
    for name in NAMES:
        notebook = json.loads((NOTEBOOKS / name).read_text(encoding="utf-8"))
        for number, cell in enumerate(notebook["cells"]):
            if cell["cell_type"] == "code":
                assert cell["outputs"] == [] and cell["execution_count"] is None, f"{name}, cell {number}: clear its outputs"


def _missing_tools() -> list[str]:
    return [module for module in ("nbformat", "nbclient", "ipykernel") if importlib.util.find_spec(module) is None]


def execute(name: str, folder: Path):
    """The notebook, executed top to bottom in `folder`; nbclient raises on the first cell that fails."""
    missing = _missing_tools()
    if missing:
        pytest.skip(f"executing notebooks needs {', '.join(missing)}: pip install nbclient nbformat ipykernel")
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    env = dict(os.environ, SEQLAB_NOTEBOOK_QUICK="1", OMP_NUM_THREADS="1")
    # The kernel imports this checkout's seqlab, whatever is installed, as the tests do.
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPOSITORY), os.environ.get("PYTHONPATH")]))
    client = NotebookClient(
        notebook, timeout=CELL_TIMEOUT_S, kernel_name="python3", resources={"metadata": {"path": str(folder)}}
    )
    client.execute(env=env)
    return notebook


def executed_in_a_new_folder(name: str, tmp_path_factory):
    """(the executed notebook, the folder it ran in)."""
    folder = tmp_path_factory.mktemp(name.removesuffix(".ipynb"))
    return execute(name, folder), folder


def outputs(notebook, kind: str | None = None) -> list:
    """Every output of every code cell, or those of one output_type."""
    found = [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs]
    return [output for output in found if kind is None or output.output_type == kind]


def pages(notebook) -> list[str]:
    """The HTML of every rich output (tables, sheet music)."""
    return [output.data["text/html"] for output in outputs(notebook) if "text/html" in output.get("data", {})]


def stdout(notebook) -> str:
    return "".join(output.text for output in outputs(notebook, "stream") if output.name == "stdout")


def every_cell_ran(notebook) -> None:
    for number, cell in enumerate(notebook.cells):
        if cell.cell_type == "code":
            assert cell.execution_count is not None, f"cell {number} did not run"
            assert not any(output.output_type == "error" for output in cell.outputs), f"cell {number} failed"


@pytest.fixture(scope="module")
def music_lab(tmp_path_factory):
    return executed_in_a_new_folder("music_lab.ipynb", tmp_path_factory)


@pytest.fixture(scope="module")
def rnn_from_scratch(tmp_path_factory):
    return executed_in_a_new_folder("rnn_from_scratch.ipynb", tmp_path_factory)


def test_music_lab_runs_and_shows_sheet_music_with_audio(music_lab):
    notebook, folder = music_lab
    every_cell_ran(notebook)
    html = pages(notebook)
    # seqlab.music.Tune's own display: an inline SVG score and a WAV player.
    scores = [page for page in html if "<svg" in page]
    assert scores, "no tune was shown as sheet music"
    assert any("<audio" in page and "data:audio/wav;base64," in page for page in scores)
    # The corpus tune, the shipped model's two, and the two jigs at two temperatures at least.
    assert len(scores) >= 5


def test_music_lab_trains_evaluates_and_writes_files(music_lab):
    notebook, folder = music_lab
    text = stdout(notebook)
    assert "quick setting" in text
    bits = [float(value) for value in re.findall(r"held-out (\d+\.\d+) bits/char", text)]
    assert bits and bits[-1] < 3.0, text  # a short run still learns: the uniform guess is 6.4 bits
    assert (folder / "runs" / "music-notebook" / "best" / "model.safetensors").is_file()
    assert (folder / "tunes" / "tune_1.mid").is_file() and (folder / "tunes" / "tune_1.wav").is_file()
    assert any("image/png" in output.get("data", {}) for output in outputs(notebook))  # the learning curve


def test_rnn_from_scratch_agrees_with_torch_and_plots_gradients(rnn_from_scratch):
    notebook, _ = rnn_from_scratch
    every_cell_ran(notebook)
    text = stdout(notebook)
    largest = re.search(r"largest difference from torch\.nn \(float32\): (\S+)", text)
    assert largest is not None, text
    assert float(largest.group(1)) < 1e-5
    by_hand = re.search(r"hand-written BPTT - autograd\| over all gradients \(float64\): (\S+)", text)
    assert by_hand is not None and float(by_hand.group(1)) < 1e-10, text
    plots = [output for output in outputs(notebook) if "image/png" in output.get("data", {})]
    assert len(plots) >= 2  # vanishing gradients through time, and exploding ones


@pytest.fixture(scope="module")
def forecasting(tmp_path_factory):
    return executed_in_a_new_folder("forecasting.ipynb", tmp_path_factory)


def test_forecasting_scores_the_lstm_beside_the_classics_and_plots(forecasting):
    notebook, folder = forecasting
    every_cell_ran(notebook)
    text = stdout(notebook)
    assert "quick setting" in text and "reading the series through sqrt" in text
    scored = re.search(r"LSTM MASE (\d+\.\d+); best classical: (\w+) (\d+\.\d+)", text)
    assert scored is not None, text
    assert 0 < float(scored.group(1)) < 3 and scored.group(2) == "ETS"  # ETS leads the classics on sunspots' test
    html = " ".join(pages(notebook))
    for row in ("LSTM", "seasonal naive", "ETS", "Theta", "ARIMA", "climatology", "high95"):
        assert row in html
    plots = [output for output in outputs(notebook) if "image/png" in output.get("data", {})]
    assert len(plots) >= 3  # the series, the classical forecasts, the test windows
    assert (folder / "runs" / "forecast-notebook" / "best" / "model.safetensors").is_file()
    assert (folder / "forecast.png").is_file()
