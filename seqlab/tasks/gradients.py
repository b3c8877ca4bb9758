"""`seqlab gradients run`: lecture section 4 (BPTT) told in two plots, two tables and a summary.

1. Vanishing gradients. ||dL/dh_t|| for a loss on the last step, against the time lag T-1-t,
   for four cells: a tanh RNN (torch's default init), an IRNN (ReLU RNN, identity W_hh; Le et
   al. 2015), an LSTM (forget-gate bias 1; Gers et al. 2000) and a GRU. Measured at
   initialisation and again after a short training run on the adding problem (Hochreiter &
   Schmidhuber 1997), a task that needs memory across the whole sequence.
2. Exploding gradients. A tanh RNN whose W_hh is scaled to a spectral radius well above 1,
   trained with plain SGD at a high learning rate, without and with gradient clipping
   (Pascanu, Mikolov & Bengio 2013): the unclipped loss blows up, the clipped one does not.

Writes gradient_flow.png/.csv and exploding.png/.csv into --out and prints a summary.
"""

from __future__ import annotations

import copy
import csv
import math
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: no display needed, none opened
import matplotlib.pyplot as plt  # noqa: E402 - after the backend is chosen
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from seqlab.data.longterm import adding_batches  # noqa: E402
from seqlab.diagnostics import hidden_gradient_norms  # noqa: E402
from seqlab.models.sequence import SequenceModel  # noqa: E402
from seqlab.nn.registry import CELLS, recurrent_layer  # noqa: E402
from seqlab.tasks.frame import bounded_int  # noqa: E402
from seqlab.train import TrainConfig, TrainingDiverged, train  # noqa: E402
from seqlab.utils import output_directory, seed_everything  # noqa: E402

HIDDEN = 32  # small enough for a 2-core CPU, large enough to show the effects
BATCH = 32
TRAIN_LR = 1e-3  # Adam, for the four cells of part 1 (every cell of seqlab.nn.registry)

# Upper limits of --steps and --length: far past the defaults (200, 100), and past them a
# value is a typo that would train for hours. The gradient profiles unroll the sequence one
# step at a time in float64 (measured at T = 10,000: 1.5 GB and 6 minutes with one training
# step, and every ratio is inf by then); at T = 2,000 the run needs well under 1 GB, so no
# memory estimate is needed. The seed goes to numpy too (seed_everything), whose generator
# takes 0 .. 2**32 - 1.
MAX_STEPS = 100_000
MAX_LENGTH = 2_000
MAX_SEED = 2**32 - 1

# Part 2. Plain SGD (not Adam: Adam divides by the gradient's size, which would hide the
# explosion). Radius and lr were tuned so that with seed 0 the unclipped run diverges and the
# clipped one stays finite; see tests/tasks/test_gradients.py.
EXPLODE_RADIUS = 4.0
EXPLODE_LR = 0.5
EXPLODE_CLIP = 1.0


def add_commands(verbs) -> None:
    run = verbs.add_parser(
        "run",
        help="plot gradient flow through time (vanishing and exploding) for RNN, IRNN, LSTM, GRU",
        description="Measure ||dL/dh_t|| against time lag for a tanh RNN, an IRNN, an LSTM and a "
        "GRU at initialisation and after a short training run on the adding problem, then train "
        "a tanh RNN with a large W_hh with and without gradient clipping. Writes "
        "gradient_flow.png/.csv and exploding.png/.csv and prints a summary.",
    )
    run.add_argument("--out", default="runs/gradients", help="output directory (default: runs/gradients)")
    run.add_argument("--steps", type=bounded_int(1, MAX_STEPS), default=200,
                     help=f"training steps per run, up to {MAX_STEPS:,} (default: 200)")
    # At least 2: one step of lag.
    run.add_argument("--length", type=bounded_int(2, MAX_LENGTH), default=100,
                     help=f"sequence length T, up to {MAX_LENGTH:,} (default: 100)")
    run.add_argument("--seed", type=bounded_int(0, MAX_SEED), default=0)
    run.add_argument("--no-progress", action="store_true", help="no progress bars while training")
    run.set_defaults(run=run_gradients)


# ------------------------------------------------------------------------------ the task
def adding_model(cell: str) -> SequenceModel:
    """The named cell of seqlab.nn.registry ("rnn", "irnn", "lstm", "gru") with its own init,
    HIDDEN units, on the adding problem (seqlab.data.longterm): a Linear head reads the last
    output, (T, B, 2) -> (B, 1). The fused backend trains fast; the diagnostics use
    `layer.step`, which either backend has."""
    return SequenceModel(recurrent_layer(cell, 2, HIDDEN, backend="fused"), 1)


def adding_loss(model, batch, state):
    """MSE on the last step's readout; the task is stateless, so `state` is ignored."""
    x, y = batch
    return F.mse_loss(model(x).squeeze(-1), y), None, x.shape[0] * x.shape[1]


def gradient_profile(layer, x):
    """||dL/dh_t|| / ||dL/dh_{T-1}|| indexed by lag T-1-t (lag 0 first), in float64.

    float64, because a tanh RNN's gradient over 100 steps falls below float32's range and
    would read as exactly 0 (see hidden_gradient_norms). The loss reads only h_{T-1}, through
    a fixed random readout: the decay comes from the Jacobians dh_t/dh_{t-1}, not the head.
    """
    measured = copy.deepcopy(layer).double().eval()
    norms = hidden_gradient_norms(measured, x.double(), loss="last")  # (T,), by step t
    return (norms / norms[-1]).flip(0).tolist()  # by lag; lag 0 is 1.0


# ------------------------------------------------------------------------------ the command
def run_gradients(args) -> int:
    # The flags' ranges were checked as they were parsed; the folder is made before any work.
    out = output_directory(args.out)
    started = time.perf_counter()
    progress = not getattr(args, "no_progress", False)
    # One fixed batch for every measurement, so the curves differ only by the weights.
    probe, _ = next(adding_batches(args.length, 16, args.seed + 1))

    # Part 1: vanishing gradients, at init and after training.
    profiles: dict[tuple[str, str], list[float]] = {}
    final_loss: dict[str, float] = {}
    for name, cell in CELLS.items():
        if progress:
            print(f"{cell.display}: gradients at init, {args.steps} training steps, gradients again", flush=True)
        seed_everything(args.seed)
        model = adding_model(name)
        profiles[cell.display, "init"] = gradient_profile(model.layer, probe)
        config = TrainConfig(
            steps=args.steps, lr=TRAIN_LR, clip_grad_norm=1.0, eval_every=None,
            seed=args.seed, device="cpu", progress=progress,
        )
        result = train(model, adding_batches(args.length, BATCH, args.seed), adding_loss, config)
        final_loss[cell.display] = result.history[-1]["loss"]
        profiles[cell.display, "trained"] = gradient_profile(model.layer, probe)

    # Part 2: exploding gradients, without and with clipping, from the same weights.
    runs: dict[str, dict] = {}
    for name, clip in (("no clipping", None), (f"clip {EXPLODE_CLIP:g}", EXPLODE_CLIP)):
        if progress:
            print(f"exploding, {name}: {args.steps} SGD steps", flush=True)
        diverged_at = None
        try:
            history = _train_exploding(args, clip, args.steps, progress)
        except TrainingDiverged as error:
            # The curve up to the blow-up: every good step is in the run's history.
            diverged_at, history = error.step, error.result.history
        runs[name] = {"history": history, "diverged_at": diverged_at}

    paths = [
        _write_flow(out, profiles),
        _plot_flow(out, profiles, args.length, args.steps),
        _write_exploding(out, runs),
        _plot_exploding(out, runs),
    ]
    _print_summary(profiles, final_loss, runs, args)
    for path in paths:
        print(f"wrote {path}")
    print(f"took {time.perf_counter() - started:.1f} s")
    return 0


def _train_exploding(args, clip: float | None, steps: int, progress: bool = False) -> list[dict]:
    """Train a tanh RNN whose W_hh has spectral radius EXPLODE_RADIUS; return the history."""
    if steps < 1:
        return []
    seed_everything(args.seed)
    model = adding_model("rnn")
    with torch.no_grad():
        weight = model.layer.weight_hh_l0
        # Largest |eigenvalue| = EXPLODE_RADIUS: where tanh is not saturated, the per-step
        # Jacobian diag(tanh') W_hh can then grow the gradient by up to that factor (section 4).
        weight.mul_(EXPLODE_RADIUS / torch.linalg.eigvals(weight.double()).abs().max().item())
    config = TrainConfig(
        steps=steps, lr=EXPLODE_LR, optimizer="sgd", clip_grad_norm=clip,
        eval_every=None, seed=args.seed, device="cpu", progress=progress,
    )
    return train(model, adding_batches(args.length, BATCH, args.seed), adding_loss, config).history


# ------------------------------------------------------------------------------ output
def _write_flow(out: Path, profiles) -> Path:
    path = out / "gradient_flow.csv"
    with open(path, "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["cell", "phase", "lag", "grad_norm"])
        for (cell, phase), profile in profiles.items():
            for lag, value in enumerate(profile):
                writer.writerow([cell, phase, lag, f"{value:.6e}"])
    return path


def _write_exploding(out: Path, runs) -> Path:
    path = out / "exploding.csv"
    with open(path, "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["run", "step", "loss", "grad_norm"])
        for name, run in runs.items():
            for entry in run["history"]:
                writer.writerow([name, entry["step"], f"{entry['loss']:.6e}", f"{entry['grad_norm']:.6e}"])
    return path


def _plot_flow(out: Path, profiles, length: int, steps: int) -> Path:
    figure, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    for axis, phase, title in zip(axes, ("init", "trained"), ("at initialisation", f"after {steps} training steps")):
        for cell in (cell.display for cell in CELLS.values()):
            # Clamp at the smallest positive float64 so an exact 0 still shows on a log scale.
            values = [max(value, 1e-300) for value in profiles[cell, phase]]
            axis.semilogy(range(len(values)), values, label=cell)
        axis.set_title(f"{title} (adding problem, T={length})")
        axis.set_xlabel("time lag T-1-t (steps)")
        axis.grid(True, which="major", alpha=0.3)
    axes[0].set_ylabel("||dL/dh_t|| / ||dL/dh_{T-1}||")
    axes[0].legend()
    figure.suptitle("Gradient flow through time: loss on the last step")
    figure.tight_layout()
    path = out / "gradient_flow.png"
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


def _plot_exploding(out: Path, runs) -> Path:
    figure, axis = plt.subplots(figsize=(7, 4.2))
    for name, run in runs.items():
        steps = [entry["step"] for entry in run["history"]]
        losses = [entry["loss"] for entry in run["history"]]
        label = name if run["diverged_at"] is None else f"{name}: diverged at step {run['diverged_at']}"
        (line,) = axis.semilogy(steps, losses, label=label)
        if run["diverged_at"] is not None and steps:
            axis.plot(steps[-1], losses[-1], "x", color=line.get_color(), markersize=10)
    axis.set_title(f"tanh RNN, spectral radius of W_hh = {EXPLODE_RADIUS:g}, SGD lr {EXPLODE_LR:g}")
    axis.set_xlabel("step")
    axis.set_ylabel("training loss (MSE)")
    axis.grid(True, which="major", alpha=0.3)
    axis.legend()
    figure.tight_layout()
    path = out / "exploding.png"
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


def _print_summary(profiles, final_loss, runs, args) -> None:
    last = args.length - 1
    print(f"gradient ratio ||dL/dh|| at lag 0 / at lag {last} (1 = no vanishing; large = vanishing)")
    print(f"{'cell':<10} {'init':>12} {'trained':>12} {'final loss':>12}")
    for cell in (cell.display for cell in CELLS.values()):
        ratios = [_ratio(profiles[cell, phase]) for phase in ("init", "trained")]
        print(f"{cell:<10} {ratios[0]:>12.3g} {ratios[1]:>12.3g} {final_loss[cell]:>12.4f}")
    print(f"exploding: tanh RNN, radius {EXPLODE_RADIUS:g}, SGD lr {EXPLODE_LR:g}, {args.steps} steps")
    for name, run in runs.items():
        if run["diverged_at"] is not None:
            outcome = f"diverged at step {run['diverged_at']}"
        else:
            outcome = f"final loss {run['history'][-1]['loss']:.4g}"
        peak = max((entry["loss"] for entry in run["history"]), default=math.nan)
        print(f"  {name:<12} {outcome:<28} max loss {peak:.3g}")


def _ratio(profile: list[float]) -> float:
    """Lag 0 over lag T-1: how many times smaller the gradient is after T-1 steps back."""
    return math.inf if profile[-1] == 0 else profile[0] / profile[-1]
