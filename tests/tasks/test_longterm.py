"""Long-term dependency problems (seqlab.data.longterm) and `seqlab longterm` (seqlab.tasks.longterm)."""

import csv
import json
import math

import pytest
import torch
import torch.nn.functional as F

from seqlab.cli import main
from seqlab.data.longterm import (
    ADDING_BASELINE,
    COPY_BLANK,
    COPY_CLASSES,
    COPY_DELIMITER,
    COPY_REMEMBER,
    adding_problem,
    copy_baseline,
    copy_problem,
    digit_batches,
    load_digits,
)
from seqlab.errors import ConfigError, SeqlabError
from seqlab.models.sequence import SequenceModel
from seqlab.nn.registry import recurrent_layer
from seqlab.tasks import longterm
from seqlab.tasks.longterm import TABLE_GRID, LongTermConfig, memory_estimate, run_longterm

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


# ------------------------------------------------------------------------------ the problems
def test_adding_problem_marks_one_number_in_each_half_and_sums_them():
    x, y = adding_problem(30, 500, torch.Generator().manual_seed(0))
    assert x.shape == (30, 500, 2) and y.shape == (500,)
    values, marks = x[..., 0], x[..., 1]
    assert ((values >= 0) & (values < 1)).all()
    assert (marks.sum(0) == 2).all()
    assert (marks[:15].sum(0) == 1).all() and (marks[15:].sum(0) == 1).all()
    assert torch.allclose(y, (values * marks).sum(0))


def test_predicting_the_mean_scores_the_adding_baseline():
    # The sum of two uniform numbers has mean 1 and variance 2/12 = 1/6.
    _, y = adding_problem(10, 200_000, torch.Generator().manual_seed(1))
    assert F.mse_loss(torch.ones_like(y), y).item() == pytest.approx(ADDING_BASELINE, rel=0.01)


def test_copy_problem_layout():
    delay = 7
    x, y = copy_problem(delay, 64, torch.Generator().manual_seed(0))
    assert x.shape == y.shape == (delay + 20, 64)
    symbols = x[:COPY_REMEMBER]
    assert ((symbols >= 1) & (symbols <= 8)).all()
    assert (x[COPY_REMEMBER + delay - 1] == COPY_DELIMITER).all()
    rest = torch.cat([x[COPY_REMEMBER : COPY_REMEMBER + delay - 1], x[COPY_REMEMBER + delay :]])
    assert (rest == COPY_BLANK).all()
    assert torch.equal(y[-COPY_REMEMBER:], symbols)
    assert (y[:-COPY_REMEMBER] == COPY_BLANK).all()


def test_copy_baseline_is_what_a_memoryless_model_scores():
    delay = 12
    _, y = copy_problem(delay, 4000, torch.Generator().manual_seed(0))
    # Certain blanks until the copying starts, then uniform over the 8 symbols.
    logits = torch.full((delay + 20, 4000, COPY_CLASSES), -1e9)
    logits[:-COPY_REMEMBER, :, COPY_BLANK] = 0.0
    logits[-COPY_REMEMBER:, :, 1:9] = 0.0
    loss = F.cross_entropy(logits.reshape(-1, COPY_CLASSES), y.reshape(-1)).item()
    assert loss == pytest.approx(copy_baseline(delay), rel=1e-5)
    assert copy_baseline(delay) == pytest.approx(10 * math.log(8) / (delay + 20))


def test_digits_are_64_step_sequences_with_a_fixed_split_and_permutation():
    plain, permuted = load_digits(), load_digits(permuted=True)
    assert plain.train_x.shape == (1437, 64, 1) and plain.test_x.shape == (360, 64, 1)
    assert plain.train_x.min() >= 0 and plain.train_x.max() <= 1
    assert torch.equal(plain.test_y, permuted.test_y)  # same split
    order = permuted.permutation
    assert sorted(order.tolist()) == list(range(64)) and not torch.equal(order, torch.arange(64))
    assert torch.equal(permuted.test_x, plain.test_x[:, order])
    assert torch.equal(load_digits(permuted=True).permutation, order)  # fixed, not drawn per call
    assert 0.05 < plain.majority_accuracy < 0.15  # ten nearly balanced classes
    x, y = next(digit_batches(plain, 32, seed=0))
    assert x.shape == (64, 32, 1) and y.shape == (32,)


# ------------------------------------------------------------------------------ the model
@pytest.mark.parametrize("cell", ["rnn", "irnn", "lstm", "gru"])
def test_sequence_model_reads_the_last_step_or_every_step(cell):
    layer = recurrent_layer(cell, 3, 8)
    assert SequenceModel(layer, 1)(torch.randn(5, 4, 3)).shape == (4, 1)
    copier = SequenceModel(recurrent_layer(cell, COPY_CLASSES, 8), COPY_CLASSES, every_step=True, input_classes=COPY_CLASSES)
    assert copier(torch.randint(0, COPY_CLASSES, (5, 4))).shape == (5, 4, COPY_CLASSES)


def test_irnn_starts_with_identity_recurrence_and_lstm_with_forget_bias_one():
    irnn = recurrent_layer("irnn", 2, 6)
    assert irnn.nonlinearity == "relu" and torch.equal(irnn.weight_hh_l0, torch.eye(6))
    lstm = recurrent_layer("lstm", 2, 6)
    forget = slice(6, 12)  # gate order i, f, g, o
    assert torch.equal(lstm.bias_ih_l0[forget] + lstm.bias_hh_l0[forget], torch.ones(6))
    with pytest.raises(ConfigError, match="cell must be one of rnn, irnn, lstm, gru"):
        recurrent_layer("transformer", 2, 6)


def test_chrono_lstm_spreads_its_forget_biases_up_to_the_sequence_length():
    torch.manual_seed(0)
    lstm = recurrent_layer("lstm", 2, 64, init="chrono", chrono_lag=400)
    forget = (lstm.bias_ih_l0 + lstm.bias_hh_l0)[64:128]
    assert forget.min() >= 0 and forget.max() <= math.log(399) and forget.max() > math.log(100)
    with pytest.raises(ConfigError, match="chrono"):
        recurrent_layer("gru", 2, 64, init="chrono", chrono_lag=400)


# ------------------------------------------------------------------------------ training
def test_an_lstm_solves_a_short_adding_problem_and_stops_once_solved():
    config = LongTermConfig("adding", "lstm", length=10, steps=1500, hidden_size=32, eval_every=50)
    result = run_longterm(config)
    assert result.solved and result.value < 0.01
    assert result.steps < 1500  # stopped at the first evaluation under the bar
    assert result.curve[0][1] > 0.05  # it started near the baseline and learned
    assert result.curve[-1] == (result.steps, result.value)


def test_a_run_is_reproducible_from_its_seed():
    config = dict(problem="copy", cell="gru", length=5, steps=30, hidden_size=16, eval_every=10)
    first, second = run_longterm(LongTermConfig(**config)), run_longterm(LongTermConfig(**config))
    assert first.curve == second.curve
    other = run_longterm(LongTermConfig(**config, seed=1))
    assert other.curve != first.curve


def test_digits_accuracy_beats_the_majority_baseline_after_a_little_training():
    result = run_longterm(LongTermConfig("digits", "gru", steps=150, hidden_size=32, eval_every=150))
    assert result.metric == "accuracy" and result.value > 2 * result.baseline
    assert result.length == 64


# ------------------------------------------------------------------------------ command line
def test_json_output(capsys):
    assert main(["longterm", "adding", "--cell", "rnn", "--length", "8", "--steps", "20", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["problem"] == "adding" and result["cell"] == "rnn" and result["length"] == 8
    assert result["metric"] == "mse" and result["baseline"] == pytest.approx(1 / 6)
    assert result["solved"] is False and result["steps"] == 20 and math.isfinite(result["value"])


def test_single_run_writes_its_curve(tmp_path, capsys):
    assert main(["longterm", "copy", "--cell", "lstm", "--length", "4", "--steps", "20", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "copy-T4-lstm.png").read_bytes()[:8] == PNG_SIGNATURE
    with open(tmp_path / "copy-T4-lstm_curves.csv", newline="") as file:
        rows = list(csv.DictReader(file))
    assert [int(row["step"]) for row in rows] == [20]
    assert "copy T=4 lstm" in capsys.readouterr().out


def test_table_runs_the_whole_grid_and_writes_csv_and_png(tmp_path, capsys):
    assert main(["longterm", "table", "--out", str(tmp_path), "--scale", "0.001", "--jobs", "2"]) == 0
    with open(tmp_path / "longterm.csv", newline="") as file:
        rows = list(csv.DictReader(file))
    expected = {(problem, str(length), cell) for problem, length, _ in TABLE_GRID for cell in ("rnn", "irnn", "lstm", "gru")}
    assert {(row["problem"], row["length"], row["cell"]) for row in rows} == expected
    assert len(rows) == len(expected)
    assert (tmp_path / "longterm.png").read_bytes()[:8] == PNG_SIGNATURE
    assert (tmp_path / "longterm_curves.csv").exists()


@pytest.mark.parametrize(
    "argv,message",
    [
        (["longterm", "adding", "--cell", "rnn", "--length", "1"], "--length must be from 2 to 10,000, got 1"),
        (["longterm", "copy", "--cell", "lstm", "--steps", "0"], "--steps must be from 1 to 1,000,000, got 0"),
        (["longterm", "digits", "--cell", "gru", "--length", "30"], "--length of digits is always 64 steps"),
        (["longterm", "table", "--jobs", "0"], "--jobs must be from 1 to"),
        (["longterm", "adding", "--cell", "gru", "--init", "chrono"], "--init chrono is for the LSTM"),
        (["longterm", "adding", "--cell", "lstm", "--init", "chrono", "--length", "2"], "--length must be at least 3"),
        (["longterm", "adding", "--cell", "rnn", "--hidden-size", "0"], "--hidden-size must be from 1 to 4,096, got 0"),
        (["longterm", "adding", "--cell", "rnn", "--lr", "-1"], "--lr must be a finite number > 0"),
        (["longterm", "adding", "--cell", "rnn", "--lr", "nan"], "--lr must be a finite number > 0"),
        (["longterm", "adding", "--cell", "rnn", "--seed", "-1"], "--seed must be from 0 to 4,294,967,295, got -1"),
    ],
)
def test_bad_values_are_one_line_errors(argv, message, capsys):
    assert main(argv) == 2
    error = capsys.readouterr().err
    assert message in error and error.count("\n") == 1


@pytest.mark.parametrize(
    "argv,message",
    [
        (["longterm", "sorting", "--cell", "rnn"], "invalid choice: 'sorting'"),
        (["longterm", "adding", "--cell", "transformer"], "invalid choice: 'transformer'"),
        (["longterm", "adding"], "--cell"),
    ],
)
def test_unknown_task_or_cell_is_a_one_line_error(argv, message, capsys):
    assert main(argv) == 2
    error = capsys.readouterr().err
    assert message in error and error.count("\n") == 1


# ------------------------------------------------------------------------------ size limits
@pytest.fixture
def no_training(monkeypatch):
    """Fail the test if a refused command gets as far as building a model or training."""
    fail = lambda *args, **kwargs: pytest.fail("started work that should have been refused")  # noqa: E731
    monkeypatch.setattr(longterm, "train", fail)
    monkeypatch.setattr(longterm, "recurrent_layer", fail)
    monkeypatch.setattr(longterm, "run_table", fail)


@pytest.mark.parametrize(
    "argv,message",
    [
        (["longterm", "adding", "--cell", "lstm", "--length", "1000000"], "--length must be from 2 to 10,000, got 1,000,000"),
        (["longterm", "copy", "--cell", "gru", "--hidden-size", "100000"], "--hidden-size must be from 1 to 4,096, got 100,000"),
        (["longterm", "digits", "--cell", "rnn", "--steps", "1000000000"], "--steps must be from 1 to 1,000,000"),
        (["longterm", "adding", "--cell", "rnn", "--steps", "1e9"], "--steps expected a whole number, got '1e9'"),
        (["longterm", "table", "--jobs", "1000"], "--jobs must be from 1 to"),
        (["longterm", "table", "--scale", "1e9"], "--scale must be > 0 and at most 50"),
        (["longterm", "table", "--scale", "0"], "--scale must be > 0"),
        (["longterm", "table", "--scale", "nan"], "--scale must be > 0"),
    ],
)
def test_a_huge_size_is_a_one_line_error_before_any_work(argv, message, capsys, no_training, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the table's default --out must not appear either
    assert main(argv) == 2
    error = capsys.readouterr().err
    assert message in error and error.count("\n") == 1
    assert not list(tmp_path.iterdir())


def test_a_run_that_would_not_fit_in_memory_is_refused_before_allocation(capsys, no_training, tmp_path, monkeypatch):
    # Within the stated limits, but T = 10,000 with 4,096 LSTM units needs ~60 GiB to train.
    out = tmp_path / "curves"
    argv = ["longterm", "adding", "--cell", "lstm", "--length", "10000", "--hidden-size", "4096", "--out", str(out)]
    monkeypatch.setattr("seqlab.utils.physical_memory", lambda: 32 * 2**30)
    assert main(argv) == 2
    error = capsys.readouterr().err
    assert "GiB of memory" in error and "use a smaller --length or --hidden-size" in error
    assert error.count("\n") == 1
    assert not out.exists()  # refused before --out was made


def test_the_library_refuses_the_same_sizes(monkeypatch):
    with pytest.raises(ConfigError, match="hidden_size must be from 1 to 4,096") as refused:
        LongTermConfig("adding", "lstm", hidden_size=5000)
    assert refused.value.field == "hidden_size" and isinstance(refused.value, ValueError)
    with pytest.raises(ConfigError, match="batch_size"):
        LongTermConfig("copy", "gru", batch_size=0)
    with pytest.raises(ConfigError, match="steps must be a whole number"):
        LongTermConfig("adding", "rnn", steps=1.5)
    config = LongTermConfig("adding", "lstm", length=10_000, hidden_size=4096)
    monkeypatch.setattr("seqlab.utils.physical_memory", lambda: 32 * 2**30)
    with pytest.raises(SeqlabError, match="GiB of memory"):
        run_longterm(config)


@pytest.mark.parametrize("problem,cell", [("adding", "lstm"), ("copy", "gru"), ("digits", "irnn")])
def test_the_memory_estimate_covers_the_weights_and_grows_with_the_sizes(problem, cell):
    config = LongTermConfig(problem, cell, hidden_size=16)
    setup = longterm._PROBLEM_SETUPS[problem](config)
    parameters = sum(p.numel() for p in setup.model.parameters())
    estimate = memory_estimate(config)
    assert estimate >= 16 * parameters  # weights, gradients, Adam's two moments
    assert memory_estimate(LongTermConfig(problem, cell, hidden_size=32)) > estimate
    if problem != "digits":
        assert memory_estimate(LongTermConfig(problem, cell, hidden_size=16, length=2 * config.length)) > estimate


def test_the_table_reports_each_run_as_it_finishes(capsys):
    configs = [LongTermConfig("adding", cell, length=5, steps=2, eval_every=2) for cell in ("rnn", "gru")]
    lines = []
    results = longterm.run_table(configs, jobs=1, report=lines.append)
    assert [r.cell for r in results] == ["rnn", "gru"]
    assert lines[0].startswith("[1/2] adding T=5 rnn") and lines[1].startswith("[2/2] adding T=5 gru")


def test_an_out_that_is_a_file_fails_before_any_training(tmp_path, capsys, monkeypatch):
    from seqlab.tasks import longterm

    blocker = tmp_path / "taken"
    blocker.write_text("mine\n")
    monkeypatch.setattr(longterm, "run_table", lambda *args, **kwargs: pytest.fail("trained before checking --out"))
    monkeypatch.setattr(longterm, "run_longterm", lambda *args, **kwargs: pytest.fail("trained before checking --out"))
    assert main(["longterm", "table", "--out", str(blocker)]) == 2
    assert main(["longterm", "copy", "--cell", "lstm", "--out", str(blocker)]) == 2
    assert capsys.readouterr().err.count("is a file; give a folder") == 2
    assert blocker.read_text() == "mine\n"
