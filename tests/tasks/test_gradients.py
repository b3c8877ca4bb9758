"""`seqlab gradients run`: a dry run at tiny sizes writes real PNGs and CSVs that tell the story."""

import csv
import math

import pytest

from seqlab.cli import main

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def dry_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("gradients")
    code = main(["gradients", "run", "--out", str(out), "--steps", "5", "--length", "20"])
    return code, out


def _rows(path):
    with open(path, newline="") as file:
        return list(csv.DictReader(file))


def test_writes_both_plots_as_png(dry_run):
    code, out = dry_run
    assert code == 0
    for name in ("gradient_flow.png", "exploding.png"):
        assert (out / name).read_bytes()[:8] == PNG_SIGNATURE


def test_gradient_flow_table_shows_the_tanh_rnn_vanishing_and_the_irnn_not(dry_run):
    _, out = dry_run
    rows = _rows(out / "gradient_flow.csv")
    assert {(row["cell"], row["phase"]) for row in rows} == {
        (cell, phase) for cell in ("tanh RNN", "IRNN", "LSTM", "GRU") for phase in ("init", "trained")
    }
    assert {int(row["lag"]) for row in rows} == set(range(20))

    def ratio(cell, phase):
        """Gradient at lag 0 over gradient at lag T-1 (19)."""
        by_lag = {int(row["lag"]): float(row["grad_norm"]) for row in rows if (row["cell"], row["phase"]) == (cell, phase)}
        assert by_lag[0] == pytest.approx(1.0)  # normalised by the value at the last step
        return by_lag[0] / by_lag[19]

    # A tanh RNN at default init shrinks the gradient by orders of magnitude over 19 steps;
    # the IRNN (identity W_hh) carries it over nearly unchanged.
    assert ratio("tanh RNN", "init") > 100 * ratio("IRNN", "init")
    assert ratio("IRNN", "init") < 10


def test_clipping_keeps_the_exploding_run_in_check(dry_run):
    _, out = dry_run
    rows = _rows(out / "exploding.csv")
    runs = {row["run"] for row in rows}
    assert runs == {"no clipping", "clip 1"}
    peak = {run: max(float(row["loss"]) for row in rows if row["run"] == run) for run in runs}
    assert math.isfinite(peak["clip 1"])
    # Unclipped either diverged (NaN/inf, possibly raising TrainingDiverged) or blew up.
    assert not math.isfinite(peak["no clipping"]) or peak["no clipping"] > 1000 * peak["clip 1"]


def test_prints_the_summary_and_the_paths(tmp_path, capsys):
    assert main(["gradients", "run", "--out", str(tmp_path), "--steps", "1", "--length", "5"]) == 0
    out = capsys.readouterr().out
    for cell in ("tanh RNN", "IRNN", "LSTM", "GRU"):
        assert cell in out
    assert "no clipping" in out and "clip 1" in out
    for name in ("gradient_flow.png", "gradient_flow.csv", "exploding.png", "exploding.csv"):
        assert str(tmp_path / name) in out


@pytest.mark.parametrize(
    "option,message",
    [
        (["--steps", "0"], "--steps must be from 1 to 100,000, got 0"),
        (["--length", "1"], "--length must be from 2 to 2,000, got 1"),
        (["--steps", "x"], "--steps expected a whole number, got 'x'"),
        # Huge values: refused at once, not after hours of training.
        (["--steps", "10000000"], "--steps must be from 1 to 100,000, got 10,000,000"),
        (["--length", "1000000"], "--length must be from 2 to 2,000, got 1,000,000"),
        (["--seed", "-3"], "--seed must be from 0 to 4,294,967,295, got -3"),
    ],
)
def test_bad_input_is_one_line(tmp_path, capsys, option, message):
    out = tmp_path / "out"
    assert main(["gradients", "run", "--out", str(out)] + option) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and message in err
    assert not out.exists()  # nothing written


def test_an_out_that_is_a_file_is_one_line(tmp_path, capsys):
    blocker = tmp_path / "taken"
    blocker.write_text("mine\n")
    assert main(["gradients", "run", "--out", str(blocker), "--steps", "1", "--length", "3"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "is a file; give a folder" in err
    assert blocker.read_text() == "mine\n"


def test_shows_progress_unless_asked_not_to(tmp_path, capsys):
    assert main(["gradients", "run", "--out", str(tmp_path), "--steps", "2", "--length", "3"]) == 0
    shown = capsys.readouterr()
    assert "tanh RNN: gradients at init, 2 training steps" in shown.out
    assert "train" in shown.err  # the trainer's bar
    assert main(["gradients", "run", "--out", str(tmp_path), "--steps", "2", "--length", "3", "--no-progress"]) == 0
    quiet = capsys.readouterr()
    assert "training steps" not in quiet.out and quiet.err == ""
