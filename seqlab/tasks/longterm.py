"""`seqlab longterm TASK --cell CELL --length T`: can a cell learn a dependency T steps long?

Lecture section 5 says a plain tanh RNN forgets, and that identity initialisation (IRNN) and
gated cells (LSTM, GRU) remember. This task measures it on the classic problems of
seqlab.data.longterm (adding, copy, digits, permuted-digits): train one cell on one problem,
score it on a fixed held-out set against the best memoryless baseline, and say whether it
solved the problem. `seqlab longterm table` runs the grid task x length x cell and writes a
CSV table and learning-curve plots.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402 - after the backend is chosen
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from seqlab.data.longterm import (  # noqa: E402
    ADDING_BASELINE,
    ADDING_SOLVED,
    COPY_CLASSES,
    COPY_REMEMBER,
    adding_batches,
    adding_problem,
    copy_baseline,
    copy_batches,
    copy_problem,
    digit_batches,
    load_digits,
)
from seqlab.errors import ConfigError, SeqlabError  # noqa: E402
from seqlab.models.sequence import SequenceModel  # noqa: E402
from seqlab.nn.registry import CELLS, recurrent_layer  # noqa: E402
from seqlab.tasks.frame import bounded_int  # noqa: E402
from seqlab.train import TrainConfig, TrainingDiverged, train  # noqa: E402
from seqlab.utils import check_memory, output_directory, seed_everything  # noqa: E402

PROBLEMS = ("adding", "copy", "digits", "permuted-digits")
CELL_NAMES = tuple(CELLS)  # rnn, irnn, lstm, gru: seqlab.nn.registry's cells
DIGIT_LENGTH = 64  # 8 x 8 pixels, one per step
INITS = ("default", "chrono")

# Adam learning rates per cell. The IRNN needs a small one: its unsaturated ReLU units pass
# an update's effect on W_hh on through every step, and a large step makes the state blow up
# (Le et al. 2015 used plain SGD with a tuned rate for the same reason).
LEARNING_RATES = {"rnn": 1e-3, "irnn": 3e-4, "lstm": 3e-3, "gru": 3e-3}
# What "solved" means, besides the adding problem's MSE < 0.01 (seqlab.data.longterm):
COPY_SOLVED_FRACTION = 0.1  # held-out cross-entropy below a tenth of the memoryless baseline
DIGITS_SOLVED = 0.9  # held-out accuracy

# Upper limits of the sizes a user sets. Far past what these problems need (the table's
# largest T is 150, its largest step cap 20,000, its width 64): beyond them a value is a typo
# (an extra zero) that would otherwise end, after a long silent wait, in an allocator error.
# Memory is estimated as well, before anything is allocated (memory_estimate).
MAX_LENGTH = 10_000
MAX_STEPS = 1_000_000
MAX_HIDDEN = 4_096
MAX_BATCH = 100_000
MAX_HELD_OUT = 100_000
# numpy's limit: seed_everything seeds numpy's global generator, which takes 0 .. 2**32 - 1.
MAX_SEED = 2**32 - 1


@dataclass
class LongTermConfig:
    problem: str  # one of PROBLEMS
    cell: str  # one of CELL_NAMES
    length: int | None = None  # T: sequence length (adding) or delay (copy); None: the default
    steps: int | None = None  # optimizer steps at most; None: the problem's default
    seed: int = 0
    hidden_size: int = 64
    batch_size: int = 50
    lr: float | None = None  # None: LEARNING_RATES[cell]
    clip_grad_norm: float = 1.0
    eval_every: int = 100
    held_out: int = 1000  # held-out sequences for adding and copy (digits: a fixed 20%)
    stop_when_solved: bool = True  # stop at the first evaluation that meets the bar
    backend: str = "fused"
    # "default": each cell's own init (seqlab.nn.registry.CELLS); "chrono": an LSTM
    # whose forget-gate biases spread its memory spans up to the sequence length (Tallec &
    # Ollivier 2018).
    init: str = "default"
    progress: bool = False

    def __post_init__(self) -> None:
        # ConfigError names the field; the command line turns it into the flag (--hidden-size).
        if self.problem not in PROBLEMS:
            raise ConfigError("problem", f"must be one of {', '.join(PROBLEMS)}, got {self.problem!r}")
        if self.cell not in CELL_NAMES:
            raise ConfigError("cell", f"must be one of {', '.join(CELL_NAMES)}, got {self.cell!r}")
        if self.problem.endswith("digits"):
            if self.length not in (None, DIGIT_LENGTH):
                raise ConfigError(
                    "length", f"of {self.problem} is always {DIGIT_LENGTH} steps (8 x 8 pixels); leave it out"
                )
            self.length = DIGIT_LENGTH
        elif self.length is None:
            self.length = DEFAULT_LENGTH[self.problem]
        if self.steps is None:
            self.steps = DEFAULT_STEPS[self.problem]
        for name, low, high in (
            ("length", 2, MAX_LENGTH),
            ("steps", 1, MAX_STEPS),
            ("hidden_size", 1, MAX_HIDDEN),
            ("batch_size", 1, MAX_BATCH),
            ("eval_every", 1, MAX_STEPS),
            ("held_out", 1, MAX_HELD_OUT),
            ("seed", 0, MAX_SEED),
        ):
            _check_range(name, getattr(self, name), low, high)
        if self.init not in INITS:
            raise ConfigError("init", f"must be one of {', '.join(INITS)}, got {self.init!r}")
        if self.init == "chrono":
            if self.cell != "lstm":
                raise ConfigError("init", f"chrono is for the LSTM (its forget gates), not --cell {self.cell}")
            if self.problem == "adding" and self.length < 3:
                # chrono draws memory spans from [1, T - 1]: at T = 2 there is nothing to spread.
                raise ConfigError("length", f"must be at least 3 with --init chrono, got {self.length}")
        if self.lr is None:
            self.lr = LEARNING_RATES[self.cell]
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise ConfigError("lr", f"must be a finite number > 0, got {self.lr}")

    @property
    def sequence_steps(self) -> int:
        """Time steps in one sequence: T for adding, T + 20 for copy, 64 for digits."""
        return self.length + 2 * COPY_REMEMBER if self.problem == "copy" else self.length


def _check_memory(config: LongTermConfig) -> None:
    check_memory(
        memory_estimate(config),
        f"{config.problem} T={config.length} with hidden size {config.hidden_size}",
        "use a smaller --length or --hidden-size",
    )


def _check_range(name: str, value, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(name, f"must be a whole number, got {value!r}")
    if not low <= value <= high:
        raise ConfigError(name, f"must be from {low:,} to {high:,}, got {value:,}")


def memory_estimate(config: LongTermConfig) -> int:
    """A rough upper estimate, in bytes, of what one run holds at its peak (float32).

    Weights, gradients and Adam's two moments: 16 bytes a parameter. Training: what backward
    keeps for each step of each sequence of a batch (the input, the gates, the cell and hidden
    state and their nonlinearities, and for the copy task the logits and their softmax).
    Evaluation: the whole held-out set in one pass, without gradients (input, output states,
    logits).
    """
    gates = CELLS[config.cell].gates
    hidden = config.hidden_size
    steps = config.sequence_steps
    if config.problem == "adding":
        inputs, outputs, per_step_outputs, held_out = 2, 1, 0, config.held_out
    elif config.problem == "copy":
        inputs, outputs, per_step_outputs, held_out = COPY_CLASSES, COPY_CLASSES, COPY_CLASSES, config.held_out
    else:
        inputs, outputs, per_step_outputs, held_out = 1, 10, 0, 360  # the fixed 20% of 1,797 digits
    parameters = gates * hidden * (inputs + hidden + 2) + (hidden + 1) * outputs
    training = config.batch_size * steps * (inputs + (gates + 3) * hidden + 3 * per_step_outputs)
    evaluation = held_out * steps * (inputs + 2 * hidden + 2 * per_step_outputs)
    return 16 * parameters + 4 * (training + evaluation)


DEFAULT_LENGTH = {"adding": 150, "copy": 50}
DEFAULT_STEPS = {"adding": 8000, "copy": 20000, "digits": 4000, "permuted-digits": 4000}


@dataclass
class LongTermResult:
    problem: str
    cell: str
    length: int
    seed: int
    metric: str  # "mse", "cross_entropy" (nats per step) or "accuracy"
    value: float  # the last held-out value of `metric`
    baseline: float  # the same metric for the best model without memory
    threshold: float  # the value that counts as solved
    solved: bool
    steps: int  # steps trained (fewer than asked when it stopped once solved)
    seconds: float
    diverged: bool = False
    init: str = "default"
    curve: list[tuple[int, float]] = field(default_factory=list)  # (step, held-out metric)

    def to_json(self) -> dict:
        data = asdict(self)
        data.pop("curve")
        return data


@dataclass
class _Setup:
    """What one problem gives the one training loop, and how it is scored."""

    model: object
    batches: object
    loss_fn: object
    evaluate: object
    metric: str
    maximize: bool
    baseline: float
    threshold: float


# ------------------------------------------------------------------------------ problems
def _layer(config: LongTermConfig, input_size: int, steps: int):
    """The configured cell (seqlab.nn.registry); with --init chrono, memory spans up to the
    `steps` of a sequence."""
    chrono_lag = steps if config.init == "chrono" else None
    return recurrent_layer(
        config.cell, input_size, config.hidden_size, init=config.init, chrono_lag=chrono_lag, backend=config.backend
    )


def _adding(config: LongTermConfig) -> _Setup:
    model = SequenceModel(_layer(config, 2, config.length), 1)
    # The held-out set comes from its own generator, so no seed's training batches contain it.
    held_x, held_y = adding_problem(config.length, config.held_out, torch.Generator().manual_seed(10**6 + config.seed))

    def loss_fn(model, batch, state):
        x, y = batch
        return F.mse_loss(model(x).squeeze(-1), y), None, x.shape[0] * x.shape[1]  # (T, B) steps read

    def evaluate(model):
        return {"mse": F.mse_loss(model(held_x).squeeze(-1), held_y).item()}

    batches = adding_batches(config.length, config.batch_size, config.seed)
    return _Setup(model, batches, loss_fn, evaluate, "mse", False, ADDING_BASELINE, ADDING_SOLVED)


def _copy(config: LongTermConfig) -> _Setup:
    layer = _layer(config, COPY_CLASSES, config.length + 2 * COPY_REMEMBER)
    model = SequenceModel(layer, COPY_CLASSES, every_step=True, input_classes=COPY_CLASSES)
    held_x, held_y = copy_problem(config.length, config.held_out, torch.Generator().manual_seed(10**6 + config.seed))

    def cross_entropy(logits, targets):  # (T, B, C), (T, B): mean over every step of every sequence
        return F.cross_entropy(logits.reshape(-1, COPY_CLASSES), targets.reshape(-1))

    def loss_fn(model, batch, state):
        x, y = batch
        return cross_entropy(model(x), y), None, y.numel()

    def evaluate(model):
        logits = model(held_x)
        recalled = logits[-COPY_REMEMBER:].argmax(-1) == held_y[-COPY_REMEMBER:]
        return {"cross_entropy": cross_entropy(logits, held_y).item(), "recall_accuracy": recalled.float().mean().item()}

    baseline = copy_baseline(config.length)
    batches = copy_batches(config.length, config.batch_size, config.seed)
    return _Setup(model, batches, loss_fn, evaluate, "cross_entropy", False, baseline, COPY_SOLVED_FRACTION * baseline)


def _digits(config: LongTermConfig) -> _Setup:
    split = load_digits(permuted=config.problem == "permuted-digits")
    model = SequenceModel(_layer(config, 1, DIGIT_LENGTH), 10)
    held_x = split.test_x.transpose(0, 1)  # (64, N, 1)

    def loss_fn(model, batch, state):
        x, y = batch
        return F.cross_entropy(model(x), y), None, x.shape[0] * x.shape[1]

    def evaluate(model):
        return {"accuracy": (model(held_x).argmax(-1) == split.test_y).float().mean().item()}

    batches = digit_batches(split, config.batch_size, config.seed)
    return _Setup(model, batches, loss_fn, evaluate, "accuracy", True, split.majority_accuracy, DIGITS_SOLVED)


_PROBLEM_SETUPS = {"adding": _adding, "copy": _copy, "digits": _digits, "permuted-digits": _digits}


# ------------------------------------------------------------------------------ one run
def run_longterm(config: LongTermConfig) -> LongTermResult:
    """Train `config.cell` on `config.problem` and score it on the held-out set.

    Refuses (SeqlabError), before anything is allocated, a run whose memory estimate exceeds
    this machine's."""
    _check_memory(config)
    seed_everything(config.seed)  # the model's initial weights
    setup = _PROBLEM_SETUPS[config.problem](config)
    train_config = TrainConfig(
        steps=config.steps,
        lr=config.lr,
        clip_grad_norm=config.clip_grad_norm,
        eval_every=config.eval_every,
        metric=setup.metric,
        maximize=setup.maximize,
        stop_at=setup.threshold if config.stop_when_solved else None,
        seed=config.seed,
        device="cpu",
        progress=config.progress,
    )
    started = time.perf_counter()
    diverged = False
    try:
        result = train(setup.model, setup.batches, setup.loss_fn, train_config, setup.evaluate)
    except TrainingDiverged as error:
        # A result, not a crash: the table should show that this cell blew up.
        diverged, result = True, error.result
    history = [entry for entry in result.history if setup.metric in entry]
    curve = [(entry["step"], entry[setup.metric]) for entry in history]
    value = curve[-1][1] if curve and not diverged else math.nan
    if setup.maximize:
        solved = value >= setup.threshold
    else:
        solved = value < setup.threshold
    return LongTermResult(
        problem=config.problem,
        cell=config.cell,
        length=config.length,
        seed=config.seed,
        metric=setup.metric,
        value=value,
        baseline=setup.baseline,
        threshold=setup.threshold,
        solved=bool(solved),
        steps=len(result.history),
        seconds=time.perf_counter() - started,
        diverged=diverged,
        init=config.init,
        curve=curve,
    )


def describe(result: LongTermResult) -> str:
    """One line: what the cell reached against the baseline, and whether that solves it."""
    better = "higher" if result.metric == "accuracy" else "lower"
    outcome = "SOLVED" if result.solved else "not solved"
    if result.diverged:
        outcome = f"diverged at step {result.steps + 1}"
    cell = result.cell + (f" ({result.init} init)" if result.init != "default" else "")
    return (
        f"{result.problem} T={result.length} {cell}: held-out {result.metric} {result.value:.4g} "
        f"(memoryless baseline {result.baseline:.4g}, solved at {result.threshold:.4g}, {better} is better) "
        f"after {result.steps} steps, {result.seconds:.0f} s: {outcome}"
    )


# ------------------------------------------------------------------------------ the grid
# The table's grid: every cell on every (problem, length), within about 20 minutes on a
# 2-core CPU with two runs at a time. The step caps are what that budget allows; a run stops
# early once it solves its problem.
TABLE_GRID = (
    ("adding", 50, 8000),
    ("adding", 150, 8000),
    ("copy", 10, 20000),
    ("copy", 50, 8000),
    ("digits", DIGIT_LENGTH, 4000),
    ("permuted-digits", DIGIT_LENGTH, 4000),
)


def _table_configs(seed: int, scale: float) -> list[LongTermConfig]:
    return [
        LongTermConfig(problem, cell, length=length, steps=max(1, round(steps * scale)), seed=seed)
        for problem, length, steps in TABLE_GRID
        for cell in CELL_NAMES
    ]


def _run_in_worker(config: LongTermConfig) -> LongTermResult:
    torch.set_num_threads(1)  # small models: two one-thread runs beat one two-thread run
    return run_longterm(config)


def run_table(configs: list[LongTermConfig], jobs: int, report=print) -> list[LongTermResult]:
    """Run every config, `jobs` at a time in worker processes; results in the configs' order.

    Each finished run is reported as one line, counted ("[3/24] ..."): the progress of a
    table that takes minutes."""
    total = len(configs)
    if jobs <= 1:
        results = []
        for config in configs:
            results.append(run_longterm(config))
            report(f"[{len(results)}/{total}] {describe(results[-1])}")
        return results

    results: list[LongTermResult | None] = [None] * total
    done = 0
    with ProcessPoolExecutor(max_workers=min(jobs, total)) as pool:
        futures = {pool.submit(_run_in_worker, config): i for i, config in enumerate(configs)}
        for future in as_completed(futures):
            results[futures[future]] = future.result()
            done += 1
            report(f"[{done}/{total}] {describe(results[futures[future]])}")
    return results


# ------------------------------------------------------------------------------ output
def write_results(out: Path, results: list[LongTermResult], name: str = "longterm") -> list[Path]:
    """name.csv (one row per run), name_curves.csv (held-out metric by step) and name.png."""
    out = output_directory(out)
    table = out / f"{name}.csv"
    with open(table, "w", newline="") as file:
        fields = list(results[0].to_json())
        writer = csv.DictWriter(file, fieldnames=fields)
        writer.writeheader()
        for result in results:
            writer.writerow({key: _cell(value) for key, value in result.to_json().items()})
    curves = out / f"{name}_curves.csv"
    with open(curves, "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["problem", "length", "cell", "seed", "step", "metric", "value"])
        for result in results:
            for step, value in result.curve:
                writer.writerow([result.problem, result.length, result.cell, result.seed, step, result.metric, _cell(value)])
    return [table, curves, _plot(out / f"{name}.png", results)]


def _cell(value):
    return f"{value:.6g}" if isinstance(value, float) else value


def _plot(path: Path, results: list[LongTermResult]) -> Path:
    """One panel per (problem, length): each cell's held-out learning curve, the memoryless
    baseline (dashed) and the solved bar (dotted)."""
    panels = list(dict.fromkeys((r.problem, r.length) for r in results))
    columns = min(3, len(panels))
    rows = math.ceil(len(panels) / columns)
    figure, axes = plt.subplots(rows, columns, figsize=(5 * columns, 3.8 * rows), squeeze=False)
    for axis, (problem, length) in zip(axes.flat, panels):
        shown = [r for r in results if (r.problem, r.length) == (problem, length)]
        for result in shown:
            steps = [step for step, _ in result.curve]
            values = [value for _, value in result.curve]
            label = CELLS[result.cell].display + (" (solved)" if result.solved else "")
            axis.plot(steps, values, label=label)
        first = shown[0]
        axis.axhline(first.baseline, color="grey", linestyle="--", linewidth=1, label="memoryless baseline")
        axis.axhline(first.threshold, color="black", linestyle=":", linewidth=1, label="solved")
        if first.metric != "accuracy":
            axis.set_yscale("log")
        axis.set_title(f"{problem}, T={length}")
        axis.set_xlabel("training step")
        axis.set_ylabel(f"held-out {first.metric}")
        axis.grid(True, alpha=0.3)
        axis.legend(fontsize=8)
    for axis in list(axes.flat)[len(panels):]:
        axis.axis("off")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


def print_table(results: list[LongTermResult], report=print) -> None:
    report(f"{'task':<16} {'T':>4} {'cell':<5} {'metric':<14} {'held-out':>9} {'baseline':>9} {'solved at':>9} {'steps':>6} {'s':>5}  solved")
    for r in results:
        report(
            f"{r.problem:<16} {r.length:>4} {r.cell:<5} {r.metric:<14} {r.value:>9.4g} {r.baseline:>9.4g} "
            f"{r.threshold:>9.4g} {r.steps:>6} {r.seconds:>5.0f}  {'yes' if r.solved else 'no'}"
        )


# ------------------------------------------------------------------------------ command line
# The largest --scale: the table's longest step cap times it stays within MAX_STEPS.
MAX_SCALE = MAX_STEPS // max(steps for _, _, steps in TABLE_GRID)


def _scale(text: str) -> float:
    """--scale: a number > 0, small enough that no run's step cap passes MAX_STEPS."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not 0 < value <= MAX_SCALE:  # also refuses nan
        raise argparse.ArgumentTypeError(f"must be > 0 and at most {MAX_SCALE}, got {text}")
    return value


def add_commands(verbs) -> None:
    seed = bounded_int(0, MAX_SEED)
    for problem, description in (
        ("adding", "the adding problem (Le et al. 2015): sum the two marked numbers of a sequence of T"),
        ("copy", "the copy-memory task: repeat 10 symbols after a delay of T steps"),
        ("digits", "classify scikit-learn's 8x8 digits read one pixel per step (64 steps)"),
        ("permuted-digits", "the same, with the pixels in one fixed random order"),
    ):
        command = verbs.add_parser(problem, help=description, description=description)
        command.add_argument("--cell", choices=CELL_NAMES, required=True,
                             help=", ".join(f"{name} ({cell.display})" for name, cell in CELLS.items()))
        length = bounded_int(2, MAX_LENGTH)
        if problem.endswith("digits"):
            command.add_argument("--length", type=length, default=None, help=argparse.SUPPRESS)  # always 64
        else:
            default = DEFAULT_LENGTH[problem]
            command.add_argument("--length", type=length, default=default, help=f"T, up to {MAX_LENGTH:,} (default: {default})")
        command.add_argument("--steps", type=bounded_int(1, MAX_STEPS), default=DEFAULT_STEPS[problem],
                             help=f"training steps at most (default: {DEFAULT_STEPS[problem]}); stops once solved")
        command.add_argument("--seed", type=seed, default=0)
        command.add_argument("--hidden-size", type=bounded_int(1, MAX_HIDDEN), default=64,
                             help=f"units of the recurrent layer, up to {MAX_HIDDEN:,} (default: 64)")
        command.add_argument("--lr", type=float, default=None, help="Adam learning rate (default: per cell)")
        command.add_argument("--init", choices=INITS, default="default",
                             help="chrono: LSTM forget-gate biases spread up to T steps (Tallec & Ollivier 2018)")
        command.add_argument("--no-early-stop", action="store_true", help="train all --steps even once solved")
        command.add_argument("--json", action="store_true", help="print the result as one JSON object (no progress bar)")
        command.add_argument("--out", default=None, help="also write the learning curve as CSV + PNG here")
        command.set_defaults(run=run_one, problem=problem)

    grid = ", ".join(f"{problem} T={length} ({steps} steps)" for problem, length, steps in TABLE_GRID)
    table = verbs.add_parser(
        "table",
        help="run every cell on every task (T <= 150): a CSV table and learning-curve plots",
        description=f"Train the tanh RNN, IRNN, LSTM and GRU on {grid} (each up to the step cap "
        "shown, stopping once solved); write longterm.csv, longterm_curves.csv and longterm.png. "
        "About 14 minutes on a 2-core CPU (two runs at a time).",
    )
    cores = os.cpu_count() or 1
    table.add_argument("--out", default="runs/longterm", help="output directory (default: runs/longterm)")
    table.add_argument("--seed", type=seed, default=0)
    # More jobs than cores would only share the cores (each run is one thread) and multiply memory.
    table.add_argument("--jobs", type=bounded_int(1, cores), default=min(2, cores),
                       help=f"runs at a time, one thread each, up to the {cores} cores (default: {min(2, cores)})")
    table.add_argument("--scale", type=_scale, default=1.0,
                       help=f"multiply every step cap, up to {MAX_SCALE} (e.g. 0.1 for a quick look)")
    table.set_defaults(run=run_table_command)


def _config(**values) -> LongTermConfig:
    """LongTermConfig, its refusal naming the flag (--hidden-size) rather than the field."""
    try:
        return LongTermConfig(**values)
    except ConfigError as error:
        raise SeqlabError(f"--{error.field.replace('_', '-')} {error.message}") from None


def run_one(args) -> int:
    config = _config(
        problem=args.problem,
        cell=args.cell,
        length=args.length,
        steps=args.steps,
        seed=args.seed,
        hidden_size=args.hidden_size,
        lr=args.lr,
        init=args.init,
        stop_when_solved=not args.no_early_stop,
        progress=not args.json,  # the bar's evaluation lines would go into the JSON on stdout
    )
    # Before anything is written or trained, so a refused run or a bad --out loses no work.
    _check_memory(config)
    out = output_directory(args.out) if args.out is not None else None
    result = run_longterm(config)
    paths = []
    if out is not None:
        paths = write_results(out, [result], name=f"{result.problem}-T{result.length}-{result.cell}")
    if args.json:
        print(json.dumps(result.to_json()))
    else:
        print(describe(result))
        for path in paths:
            print(f"wrote {path}")
    return 0


def run_table_command(args) -> int:
    out = output_directory(args.out)  # before the runs, so a bad --out loses no work
    started = time.perf_counter()
    configs = _table_configs(args.seed, args.scale)
    print(f"seqlab longterm table: {len(configs)} runs, {args.jobs} at a time", flush=True)
    results = run_table(configs, args.jobs, report=lambda line: print(line, flush=True))
    print_table(results)
    for path in write_results(out, results):
        print(f"wrote {path}")
    print(f"took {(time.perf_counter() - started) / 60:.1f} min")
    return 0
