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
from dataclasses import asdict, dataclass, field
from pathlib import Path

from seqlab.errors import SeqlabError

PROBLEMS = ("adding", "copy", "digits", "permuted-digits")
CELL_NAMES = ("rnn", "irnn", "lstm", "gru")
DIGIT_LENGTH = 64  # 8 x 8 pixels, one per step
INITS = ("default", "chrono")

# Adam learning rates per cell. The IRNN needs a small one: its unsaturated ReLU units pass
# an update's effect on W_hh on through every step, and a large step makes the state blow up
# (Le et al. 2015 used plain SGD with a tuned rate for the same reason).
LEARNING_RATES = {"rnn": 1e-3, "irnn": 3e-4, "lstm": 3e-3, "gru": 3e-3}
# What "solved" means, besides the adding problem's MSE < 0.01 (seqlab.data.longterm):
COPY_SOLVED_FRACTION = 0.1  # held-out cross-entropy below a tenth of the memoryless baseline
DIGITS_SOLVED = 0.9  # held-out accuracy


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
    # "default": each cell's init of seqlab.models.sequence.recurrent_layer; "chrono": an LSTM
    # whose forget-gate biases spread its memory spans up to the sequence length (Tallec &
    # Ollivier 2018).
    init: str = "default"
    progress: bool = False

    def __post_init__(self) -> None:
        if self.problem not in PROBLEMS:
            raise SeqlabError(f"unknown task {self.problem!r}; choose one of {', '.join(PROBLEMS)}")
        if self.cell not in CELL_NAMES:
            raise SeqlabError(f"unknown cell {self.cell!r}; choose one of {', '.join(CELL_NAMES)}")
        if self.problem.endswith("digits"):
            if self.length not in (None, DIGIT_LENGTH):
                raise SeqlabError(
                    f"{self.problem} sequences are always {DIGIT_LENGTH} steps (8 x 8 pixels); leave out --length"
                )
            self.length = DIGIT_LENGTH
        elif self.length is None:
            self.length = DEFAULT_LENGTH[self.problem]
        if self.length < 2:
            raise SeqlabError(f"--length must be at least 2, got {self.length}")
        if self.steps is None:
            self.steps = DEFAULT_STEPS[self.problem]
        if self.steps < 1:
            raise SeqlabError(f"--steps must be at least 1, got {self.steps}")
        for name in ("hidden_size", "batch_size", "eval_every", "held_out"):
            if getattr(self, name) < 1:
                raise SeqlabError(f"--{name.replace('_', '-')} must be at least 1, got {getattr(self, name)}")
        if self.init not in INITS:
            raise SeqlabError(f"unknown init {self.init!r}; choose one of {', '.join(INITS)}")
        if self.init == "chrono" and self.cell != "lstm":
            raise SeqlabError(f"--init chrono is for the LSTM (its forget gates), not --cell {self.cell}")
        if self.lr is None:
            self.lr = LEARNING_RATES[self.cell]
        if not self.lr > 0:
            raise SeqlabError(f"--lr must be > 0, got {self.lr}")


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
    """The configured cell; with --init chrono, memory spans up to the `steps` of a sequence."""
    from seqlab.models.sequence import recurrent_layer

    chrono_lag = steps if config.init == "chrono" else None
    return recurrent_layer(config.cell, input_size, config.hidden_size, config.backend, chrono_lag)


def _adding(config: LongTermConfig) -> _Setup:
    import torch
    import torch.nn.functional as F

    from seqlab.data.longterm import ADDING_BASELINE, ADDING_SOLVED, adding_batches, adding_problem
    from seqlab.models.sequence import SequenceModel

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
    import torch
    import torch.nn.functional as F

    from seqlab.data.longterm import COPY_CLASSES, COPY_REMEMBER, copy_baseline, copy_batches, copy_problem
    from seqlab.models.sequence import SequenceModel

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
    import torch.nn.functional as F

    from seqlab.data.longterm import digit_batches, load_digits
    from seqlab.models.sequence import SequenceModel

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
    """Train `config.cell` on `config.problem` and score it on the held-out set."""
    from seqlab.train import TrainConfig, TrainingDiverged, train
    from seqlab.utils import seed_everything

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
    import torch

    torch.set_num_threads(1)  # small models: two one-thread runs beat one two-thread run
    return run_longterm(config)


def run_table(configs: list[LongTermConfig], jobs: int, report=print) -> list[LongTermResult]:
    """Run every config, `jobs` at a time in worker processes; results in the configs' order."""
    if jobs <= 1:
        results = []
        for config in configs:
            results.append(run_longterm(config))
            report(describe(results[-1]))
        return results
    from concurrent.futures import ProcessPoolExecutor, as_completed

    results: list[LongTermResult | None] = [None] * len(configs)
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        futures = {pool.submit(_run_in_worker, config): i for i, config in enumerate(configs)}
        for future in as_completed(futures):
            results[futures[future]] = future.result()
            report(describe(results[futures[future]]))
    return results


# ------------------------------------------------------------------------------ output
def write_results(out: Path, results: list[LongTermResult], name: str = "longterm") -> list[Path]:
    """name.csv (one row per run), name_curves.csv (held-out metric by step) and name.png."""
    out.mkdir(parents=True, exist_ok=True)
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
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    from seqlab.models.sequence import CELLS

    panels = list(dict.fromkeys((r.problem, r.length) for r in results))
    columns = min(3, len(panels))
    rows = math.ceil(len(panels) / columns)
    figure, axes = plt.subplots(rows, columns, figsize=(5 * columns, 3.8 * rows), squeeze=False)
    for axis, (problem, length) in zip(axes.flat, panels):
        shown = [r for r in results if (r.problem, r.length) == (problem, length)]
        for result in shown:
            steps = [step for step, _ in result.curve]
            values = [value for _, value in result.curve]
            label = CELLS[result.cell] + (" (solved)" if result.solved else "")
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
def add_commands(verbs) -> None:
    for problem, description in (
        ("adding", "the adding problem (Le et al. 2015): sum the two marked numbers of a sequence of T"),
        ("copy", "the copy-memory task: repeat 10 symbols after a delay of T steps"),
        ("digits", "classify scikit-learn's 8x8 digits read one pixel per step (64 steps)"),
        ("permuted-digits", "the same, with the pixels in one fixed random order"),
    ):
        command = verbs.add_parser(problem, help=description, description=description)
        command.add_argument("--cell", choices=CELL_NAMES, required=True, help="rnn (tanh), irnn, lstm or gru")
        if problem.endswith("digits"):
            command.add_argument("--length", type=int, default=None, help=argparse.SUPPRESS)  # always 64
        else:
            default = DEFAULT_LENGTH[problem]
            command.add_argument("--length", type=int, default=default, help=f"T (default: {default})")
        command.add_argument("--steps", type=int, default=DEFAULT_STEPS[problem],
                             help=f"training steps at most (default: {DEFAULT_STEPS[problem]}); stops once solved")
        command.add_argument("--seed", type=int, default=0)
        command.add_argument("--hidden-size", type=int, default=64)
        command.add_argument("--lr", type=float, default=None, help="Adam learning rate (default: per cell)")
        command.add_argument("--init", choices=INITS, default="default",
                             help="chrono: LSTM forget-gate biases spread up to T steps (Tallec & Ollivier 2018)")
        command.add_argument("--no-early-stop", action="store_true", help="train all --steps even once solved")
        command.add_argument("--json", action="store_true", help="print the result as one JSON object")
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
    table.add_argument("--out", default="runs/longterm", help="output directory (default: runs/longterm)")
    table.add_argument("--seed", type=int, default=0)
    table.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1), help="runs at a time")
    table.add_argument("--scale", type=float, default=1.0, help="multiply every step cap (e.g. 0.1 for a quick look)")
    table.set_defaults(run=run_table_command)


def run_one(args) -> int:
    config = LongTermConfig(
        problem=args.problem,
        cell=args.cell,
        length=args.length,
        steps=args.steps,
        seed=args.seed,
        hidden_size=args.hidden_size,
        lr=args.lr,
        init=args.init,
        stop_when_solved=not args.no_early_stop,
        progress=not args.json,
    )
    if args.out:
        _output_directory(args.out)  # before training, so a bad --out loses no work
    result = run_longterm(config)
    if args.out:
        paths = write_results(Path(args.out), [result], name=f"{result.problem}-T{result.length}-{result.cell}")
    if args.json:
        print(json.dumps(result.to_json()))
    else:
        print(describe(result))
        for path in paths if args.out else []:
            print(f"wrote {path}")
    return 0


def run_table_command(args) -> int:
    if args.jobs < 1:
        raise SeqlabError(f"--jobs must be at least 1, got {args.jobs}")
    if not args.scale > 0:
        raise SeqlabError(f"--scale must be > 0, got {args.scale}")
    _output_directory(args.out)  # before the runs, so a bad --out loses no work
    started = time.perf_counter()
    configs = _table_configs(args.seed, args.scale)
    print(f"seqlab longterm table: {len(configs)} runs, {args.jobs} at a time")
    results = run_table(configs, args.jobs)
    print_table(results)
    for path in write_results(Path(args.out), results):
        print(f"wrote {path}")
    print(f"took {(time.perf_counter() - started) / 60:.1f} min")
    return 0


def _output_directory(out: str) -> Path:
    path = Path(out)
    if path.exists() and not path.is_dir():
        raise SeqlabError(f"--out {out} is a file; give a directory")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise SeqlabError(f"cannot create --out {out}: {error.strerror or error}") from None
    return path
