"""One training loop for every task, read top to bottom.

The trainer knows nothing about tasks. A task hands it

- a model: any torch.nn.Module;
- `batches`: an iterable of batches, possibly infinite. Tensors in a batch (alone or inside
  tuples, lists, dicts and dataclasses) are moved to the training device; the rest is passed
  as it is;
- `loss_fn(model, batch, state) -> (loss, new_state, n_tokens)`: the scalar loss of one batch,
  the recurrent state to carry into the next batch (None for a stateless task), and the number
  of tokens (time steps, samples) the batch held, for the tokens/s figure;
- optionally `evaluate(model) -> {"val_loss": ..., ...}`, called every `eval_every` steps and at
  the end, in eval mode and without gradients.

The state contract (stateful truncated BPTT). `state` is None at the first step, and afterwards
is whatever `loss_fn` returned for the previous batch, detached (see `detach_state`). Batches
that continue the previous ones' sequences use it as their initial state; a `loss_fn` starts a
fresh sequence by ignoring it (for instance when its batch says it starts a new pass over the
stream, like seqlab.data's `Window.reset`), and a stateless task ignores it always and
returns None.

The resume contract. With `resume=True` the run continues from out_dir/last: weights, optimizer,
step, best metric, random-number-generator states and the carried state. `batches` must yield
the same sequence each time it is iterated afresh (a list, or a generator seeded by the task or
drawing from the global RNGs, which the trainer seeds): the trainer draws and drops the batches
of the steps already done, then restores the RNG states. So 10 steps straight and 5 steps then 5
resumed give the same weights, as long as the first run stopped at an evaluation step (every
checkpoint is one).
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

import torch
from tqdm.auto import tqdm

from seqlab.checkpoint import (
    CheckpointError,
    checkpoint_exists,
    load_checkpoint,
    load_model_weights,
    save_checkpoint,
)
from seqlab.errors import SeqlabError
from seqlab.utils import choose_device, get_rng_states, seed_everything, set_rng_states

LossFn = Callable[[torch.nn.Module, Any, Any], "tuple[torch.Tensor, Any, int]"]
EvaluateFn = Callable[[torch.nn.Module], "dict[str, float]"]

OPTIMIZERS = ("adam", "adamw", "sgd")
LR_SCHEDULES = ("constant", "cosine")


@dataclass
class TrainConfig:
    steps: int = 1000  # optimizer steps, counted across resumes
    lr: float = 1e-3
    # "constant", or "cosine": decay from lr to lr/100 over `steps` (Loshchilov & Hutter 2017),
    # after `warmup_steps` of linear warm-up in either case.
    lr_schedule: str = "constant"
    warmup_steps: int = 0
    optimizer: str = "adam"  # "adam", "adamw" or "sgd"
    weight_decay: float = 0.0
    # Rescale the gradient when its norm exceeds this: the remedy for exploding gradients
    # (lecture section 4). None turns clipping off; the norm is still recorded.
    clip_grad_norm: float | None = 1.0
    eval_every: int | None = 100  # steps between evaluations and checkpoints; None: at the end only
    metric: str = "val_loss"  # the evaluate() entry that picks the best checkpoint
    maximize: bool = False  # False: lower is better (a loss); True: higher (an accuracy)
    # Stop as soon as an evaluation reaches this value of `metric` (a task's "solved" level);
    # None: always run all `steps`.
    stop_at: float | None = None
    # Wall-clock budget of this call, in minutes: after the step that reaches it, evaluate, save
    # and stop. The learning-rate schedule still counts steps, so pair it with "constant" or
    # with enough steps; None: no limit.
    max_minutes: float | None = None
    seed: int = 0
    device: str = "auto"  # "auto", "cpu", "cuda", "cuda:N" or "mps"
    out_dir: str | None = None  # where out_dir/best and out_dir/last go; None: no checkpoints
    resume: bool = False  # continue from out_dir/last if it exists, else start afresh
    progress: bool = True  # show a progress bar

    def __post_init__(self) -> None:
        if self.steps < 0:
            raise ValueError(f"TrainConfig.steps must be >= 0, got {self.steps}")
        if self.lr_schedule not in LR_SCHEDULES:
            raise ValueError(f"TrainConfig.lr_schedule must be one of {', '.join(LR_SCHEDULES)}, got {self.lr_schedule!r}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(
                f"TrainConfig.optimizer must be one of {', '.join(OPTIMIZERS)}, got {self.optimizer!r}"
            )
        if self.clip_grad_norm is not None and not self.clip_grad_norm > 0:
            raise ValueError(f"TrainConfig.clip_grad_norm must be > 0 or None, got {self.clip_grad_norm}")
        if self.eval_every is not None and self.eval_every < 1:
            raise ValueError(f"TrainConfig.eval_every must be >= 1 or None, got {self.eval_every}")
        if self.max_minutes is not None and not self.max_minutes > 0:
            raise ValueError(f"TrainConfig.max_minutes must be > 0 or None, got {self.max_minutes}")
        if self.resume and self.out_dir is None:
            raise ValueError("TrainConfig.resume needs out_dir, the directory holding the run to resume")


@dataclass
class TrainResult:
    steps: int  # the step reached, counting any resumed steps
    history: list[dict[str, float]] = field(default_factory=list)  # one entry per step of this call
    metrics: dict[str, float] = field(default_factory=dict)  # the last evaluation
    best_metric: float | None = None
    last_checkpoint: Path | None = None
    best_checkpoint: Path | None = None
    stopped_early: bool = False  # an evaluation reached config.stop_at before the last step
    out_of_time: bool = False  # config.max_minutes ran out before the last step


class TrainingDiverged(SeqlabError):
    """The loss or the gradient norm became NaN or infinite; no step was taken with it.

    `step` is the step that diverged and `result` what the run had done until then (its
    history holds every good step), so a caller can still show the curve up to the blow-up.
    """

    def __init__(self, message: str, step: int, result: "TrainResult") -> None:
        super().__init__(message)
        self.step = step
        self.result = result


def detach_state(state):
    """Keep the carried recurrent state's value but cut its gradient path: truncated BPTT.

    The next window starts where this one ended (its state's value carries over), but backward()
    stops at the window boundary. Without the cut, each backward would reach back through every
    earlier window: its cost would grow with the length of the run, and it would fail anyway,
    since those windows' graphs were freed by their own backward (pytorch/examples'
    word_language_model calls this `repackage_hidden`). Works on a tensor or nested tuples and
    lists of tensors (an LSTM's (h, c)); None stays None.
    """
    if isinstance(state, torch.Tensor):
        return state.detach()
    if isinstance(state, (tuple, list)):
        return type(state)(detach_state(part) for part in state)
    return state


def to_device(batch, device: torch.device):
    """Move the tensors of a batch (alone, or in tuples, lists, dicts and dataclasses) to `device`."""
    if isinstance(batch, torch.Tensor):
        return batch.to(device)
    if isinstance(batch, (tuple, list)):
        return type(batch)(to_device(part, device) for part in batch)
    if isinstance(batch, dict):
        return {key: to_device(value, device) for key, value in batch.items()}
    if dataclasses.is_dataclass(batch) and not isinstance(batch, type):
        fields = [field.name for field in dataclasses.fields(batch) if field.init]
        return dataclasses.replace(batch, **{name: to_device(getattr(batch, name), device) for name in fields})
    return batch


def learning_rate(step: int, config: TrainConfig) -> float:
    """The learning rate for optimizer step `step` (0-based): a function of the step alone, so
    a resumed run continues the schedule exactly without storing a scheduler."""
    if step < config.warmup_steps:
        return config.lr * (step + 1) / config.warmup_steps
    if config.lr_schedule == "constant":
        return config.lr
    progress = (step - config.warmup_steps) / max(1, config.steps - config.warmup_steps)
    floor = config.lr / 100
    return floor + (config.lr - floor) * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))


def make_optimizer(model: torch.nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    parameters = [parameter for parameter in model.parameters() if parameter.requires_grad]
    if config.optimizer == "adam":
        return torch.optim.Adam(parameters, lr=config.lr, weight_decay=config.weight_decay)
    if config.optimizer == "adamw":
        return torch.optim.AdamW(parameters, lr=config.lr, weight_decay=config.weight_decay)
    return torch.optim.SGD(parameters, lr=config.lr, weight_decay=config.weight_decay)


_END = object()  # what next() gives once the batches run out


def train(
    model: torch.nn.Module,
    batches: Iterable,
    loss_fn: LossFn,
    config: TrainConfig,
    evaluate: EvaluateFn | None = None,
    checkpoint_config: dict | None = None,
) -> TrainResult:
    """Train `model` for `config.steps` steps (or until `batches` runs out); see the module doc.

    `checkpoint_config` is what checkpoints store to rebuild the model: {"kind": "char-lm",
    "model": {constructor arguments}, ...}; the trainer adds "step", "metrics" and "train".
    Raises TrainingDiverged on a NaN or infinite loss or gradient norm.
    """
    device = choose_device(config.device)
    model.to(device)
    optimizer = make_optimizer(model, config)
    parameters = [parameter for group in optimizer.param_groups for parameter in group["params"]]
    out_dir = None if config.out_dir is None else _writable_directory(Path(config.out_dir))
    checkpoint_config = checkpoint_config or {"kind": type(model).__name__}
    result = TrainResult(steps=0)

    # Where to start: step 0 from the seed, or where out_dir/last left off.
    seed_everything(config.seed)
    step, state, rng_states = 0, None, None
    if config.resume and checkpoint_exists(out_dir / "last"):
        checkpoint = load_checkpoint(out_dir / "last", expected_kind=checkpoint_config["kind"])
        if checkpoint.optimizer_state is None or checkpoint.trainer_state is None:
            raise CheckpointError(
                f"cannot resume from {checkpoint.path}: it holds no optimizer or trainer state"
            )
        load_model_weights(model, checkpoint)
        optimizer.load_state_dict(checkpoint.optimizer_state)
        step = checkpoint.trainer_state["step"]
        state = to_device(checkpoint.trainer_state["recurrent_state"], device)
        rng_states = checkpoint.trainer_state["rng"]
        result.best_metric = checkpoint.trainer_state["best_metric"]
        result.metrics = checkpoint.config.get("metrics", {})
        result.last_checkpoint = out_dir / "last"
        if checkpoint_exists(out_dir / "best"):
            result.best_checkpoint = out_dir / "best"
    last_saved_step = step  # the step of result.last_checkpoint, for the divergence message

    # Resume contract: the batches of the steps already done are drawn and dropped, and the
    # RNGs restored only afterwards, so that step + 1 sees the batch and random numbers it would
    # have seen in an uninterrupted run.
    batch_iterator = iter(batches)
    for _ in range(step):
        next(batch_iterator, _END)
    if rng_states is not None:
        set_rng_states(rng_states)

    def evaluate_and_save() -> None:
        """Evaluate, then write out_dir/best (when the metric improved) and out_dir/last."""
        nonlocal last_saved_step
        if evaluate is not None:
            model.eval()
            with torch.no_grad():
                result.metrics = {name: float(value) for name, value in evaluate(model).items()}
            model.train()
            result.history[-1].update(result.metrics)
        improved = False
        if config.metric in result.metrics:
            value = result.metrics[config.metric]
            best = result.best_metric
            improved = math.isfinite(value) and (
                best is None or (value > best if config.maximize else value < best)
            )
            if improved:
                result.best_metric = value
        elif evaluate is not None:
            raise ValueError(
                f"evaluate() returned {sorted(result.metrics)}, without {config.metric!r}, "
                f"the metric that picks the best checkpoint (TrainConfig.metric)"
            )
        if result.metrics and config.progress:
            # One line per evaluation, above the bar, so the log keeps the learning curve.
            shown = ", ".join(f"{name} {value:.4f}" for name, value in result.metrics.items())
            tqdm.write(f"step {step}: {shown}" + (" (best)" if improved else ""))
        if out_dir is None:
            return
        saved = {**checkpoint_config, "step": step, "metrics": result.metrics, "train": asdict(config)}
        if improved:
            # The best weights are for using, not resuming: no optimizer or trainer state.
            result.best_checkpoint = save_checkpoint(out_dir / "best", model, saved)
        trainer_state = {
            "step": step,
            "best_metric": result.best_metric,
            "recurrent_state": state,
            "rng": get_rng_states(),
        }
        result.last_checkpoint = save_checkpoint(out_dir / "last", model, saved, optimizer, trainer_state)
        last_saved_step = step

    model.train()
    evaluated_at = step
    began = time.perf_counter()
    progress = tqdm(total=config.steps, initial=step, desc="train", unit="step", disable=not config.progress)
    with progress:
        while step < config.steps:
            started = time.perf_counter()
            batch = next(batch_iterator, _END)
            if batch is _END:
                break  # the batch source ran dry before config.steps
            batch = to_device(batch, device)

            loss, new_state, n_tokens = loss_fn(model, batch, state)
            # .item() waits for the device, but the check must come before the step: one
            # non-finite update would leave every weight NaN.
            loss_value = loss.item()
            if not math.isfinite(loss_value):
                raise TrainingDiverged(
                    _diverged(step + 1, f"the loss is {loss_value}", result, last_saved_step, config), step + 1, result
                )
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            # The norm before clipping is recorded: it is what shows gradients exploding. With
            # clipping off, an infinite cap measures without rescaling.
            grad_norm = torch.nn.utils.clip_grad_norm_(parameters, config.clip_grad_norm or math.inf).item()
            if not math.isfinite(grad_norm):
                raise TrainingDiverged(
                    _diverged(step + 1, f"the gradient norm is {grad_norm}", result, last_saved_step, config),
                    step + 1,
                    result,
                )
            for group in optimizer.param_groups:
                group["lr"] = learning_rate(step, config)
            optimizer.step()

            # Truncated BPTT: the next window starts from this state's value, not its graph.
            state = detach_state(new_state)
            step += 1

            tokens_per_s = int(n_tokens) / (time.perf_counter() - started)
            result.history.append(
                {"step": step, "loss": loss_value, "grad_norm": grad_norm, "tokens_per_s": tokens_per_s}
            )

            if step == config.steps or (config.eval_every is not None and step % config.eval_every == 0):
                evaluate_and_save()
                evaluated_at = step

            postfix = {"loss": f"{loss_value:.4f}", "tok/s": f"{tokens_per_s:,.0f}", "lr": f"{learning_rate(step - 1, config):.2g}"}
            if config.metric in result.metrics:
                postfix[config.metric] = f"{result.metrics[config.metric]:.4f}"
            progress.set_postfix(postfix, refresh=False)
            progress.update(1)
            if evaluated_at == step and _reached(result.metrics.get(config.metric), config):
                result.stopped_early = step < config.steps
                break
            if config.max_minutes is not None and time.perf_counter() - began >= 60 * config.max_minutes:
                result.out_of_time = step < config.steps
                break  # the evaluation and checkpoint of this last step follow below
        if evaluated_at < step:  # the batches or the time ran out between two evaluations
            evaluate_and_save()

    result.steps = step
    return result


def _writable_directory(path: Path) -> Path:
    """Create the checkpoint directory now: finding out at the first save that it cannot be
    written would lose the steps trained until then."""
    if path.exists() and not path.is_dir():
        raise SeqlabError(f"cannot keep checkpoints in {path}: it is a file; give a directory")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise SeqlabError(f"cannot create the checkpoint directory {path}: {error.strerror or error}") from None
    return path


def _reached(value: float | None, config: TrainConfig) -> bool:
    if config.stop_at is None or value is None:
        return False
    return value >= config.stop_at if config.maximize else value <= config.stop_at


def _diverged(step: int, what: str, result: TrainResult, last_saved_step: int, config: TrainConfig) -> str:
    """The one-line TrainingDiverged message: when, what, where the good weights are, what to try."""
    if result.last_checkpoint is not None:
        where = f"the last good checkpoint is {result.last_checkpoint} (step {last_saved_step})"
    elif config.out_dir is None:
        where = "no checkpoint was kept (out_dir is None)"
    else:
        where = "no checkpoint was written yet"
    if config.clip_grad_norm is None:
        clipping = "gradient clipping (clip_grad_norm=1.0)"
    else:
        clipping = f"a smaller clip_grad_norm (now {config.clip_grad_norm})"
    advice = f"try a lower learning rate (lr is {config.lr}) or {clipping}"
    return f"training diverged at step {step}: {what}; {where}; {advice}"
