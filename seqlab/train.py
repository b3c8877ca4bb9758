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

Distributed data parallel. Under `torchrun --nproc_per_node=N` (WORLD_SIZE > 1 in the
environment, with RANK, LOCAL_RANK, MASTER_ADDR and MASTER_PORT), every process calls train()
with the same arguments, and train() makes them one data-parallel run with PyTorch's
DistributedDataParallel (DDP). Without those variables nothing of this happens: one process,
no process group, no DDP.

- The process group: train() joins it unless the caller already has (gloo on the CPU, nccl on
  CUDA, where each rank uses the GPU cuda:LOCAL_RANK), and leaves it at the end only if it
  joined it.
- Batches are batch-first. Every rank draws the whole batch, the same sequence on every rank,
  and keeps its own rows: every tensor with at least one dimension (alone, or inside tuples,
  lists, dicts and dataclasses, as `to_device` walks them) is cut along dim 0 into world_size
  contiguous pieces (torch.tensor_split), and rank r keeps piece r; anything else (a 0-dim
  tensor, `Window.reset`) passes as it is. See `shard_batch`. A rank always owns the same rows,
  so the recurrent state it carries continues its own rows: stateful truncated BPTT stays
  right. Each rank's loss is a mean over its rows and DDP averages the gradients, so when the
  batch size is a multiple of world_size a step is exactly the step of one process on the whole
  batch (otherwise the rows of the smaller pieces weigh a little more). A batch with fewer rows
  than ranks is refused.
- `loss_fn` runs inside DDP's forward (DDP synchronises gradients only for what runs there) and
  receives the model itself, not the DDP wrapper, so it may call any of the model's methods.
- Randomness. Tasks build the model from the same seed on every rank, and DDP copies rank 0's
  weights to the others anyway. Batches are drawn under global RNG states seeded with `seed` on
  every rank, so even batches drawn from the global RNGs are the same everywhere; the steps
  (dropout, anything `loss_fn` draws) run under states of their own, seeded with `seed + rank`,
  so that each rank drops out its rows independently. Only the CPU generators (Python's,
  NumPy's, torch's) are swapped around each draw of a batch: batches are made on the CPU.
- Rank 0 alone evaluates (the model itself), writes checkpoints and shows the progress bar and
  the evaluation lines. It sends the metrics, and its clock's verdict on max_minutes, to the
  other ranks, so that every rank takes the same decisions (best metric, stop_at, max_minutes)
  and returns the same TrainResult: ranks that disagreed on when to stop would wait for each
  other forever. The loss in the history is the mean over the ranks (the whole batch's loss),
  and the all-reduce that computes it also makes a non-finite loss on any rank stop every rank.
- Resume: every rank reads out_dir/last (on several machines, out_dir must be on storage they
  share). Its trainer state holds each rank's carried state and step RNG states, gathered on
  rank 0 when saving; each rank restores its own, and the batch RNGs are restored by drawing
  and dropping the batches already done. A checkpoint written by another number of processes
  resumes the weights, optimizer, step and best metric, but the carried state and the steps'
  random numbers start afresh (with a warning).
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import random
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import numpy as np
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
from tqdm.auto import tqdm

from seqlab.checkpoint import (
    CheckpointError,
    checkpoint_exists,
    load_checkpoint,
    load_model_weights,
    save_checkpoint,
)
from seqlab.errors import ConfigError, SeqlabError
from seqlab.utils import choose_device, get_rng_states, output_directory, seed_everything, set_rng_states

LossFn = Callable[[torch.nn.Module, Any, Any], "tuple[torch.Tensor, Any, int]"]
EvaluateFn = Callable[[torch.nn.Module], "dict[str, float]"]

OPTIMIZERS = ("adam", "adamw", "sgd")
LR_SCHEDULES = ("constant", "cosine")
MAX_STEPS = 1_000_000_000  # a bound no run reaches: past it, a typo


@dataclass
class TrainConfig:
    steps: int = 1000  # optimizer steps, counted across resumes
    lr: float = 1e-3
    # "constant", or "cosine": decay from lr to lr/100 over `steps` (Loshchilov & Hutter 2017),
    # after `warmup_steps` of linear warm-up in either case.
    lr_schedule: str = field(default="constant", metadata={"choices": LR_SCHEDULES})
    warmup_steps: int = 0
    optimizer: str = field(default="adam", metadata={"choices": OPTIMIZERS})
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
        # Each refusal names its field (ConfigError), so the command line can name the flag.
        if not 1 <= self.steps <= MAX_STEPS:
            raise ConfigError("steps", f"must be from 1 to {MAX_STEPS:,}, got {self.steps}")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise ConfigError("lr", f"must be a finite number > 0, got {self.lr}")
        if not 0 <= self.seed < 2**32:  # NumPy's global generator takes no larger seed
            raise ConfigError("seed", f"must be from 0 to 4,294,967,295, got {self.seed}")
        if not 0 <= self.warmup_steps <= MAX_STEPS:
            raise ConfigError("warmup_steps", f"must be from 0 to {MAX_STEPS:,}, got {self.warmup_steps}")
        if self.lr_schedule not in LR_SCHEDULES:
            raise ConfigError("lr_schedule", f"must be one of {', '.join(LR_SCHEDULES)}, got {self.lr_schedule!r}")
        if self.optimizer not in OPTIMIZERS:
            raise ConfigError("optimizer", f"must be one of {', '.join(OPTIMIZERS)}, got {self.optimizer!r}")
        if not self.weight_decay >= 0:
            raise ConfigError("weight_decay", f"must be >= 0, got {self.weight_decay}")
        if self.clip_grad_norm is not None and not self.clip_grad_norm > 0:
            raise ConfigError("clip_grad_norm", f"must be > 0 (or none: no clipping), got {self.clip_grad_norm}")
        if self.eval_every is not None and self.eval_every < 1:
            raise ConfigError("eval_every", f"must be at least 1, got {self.eval_every}")
        if self.max_minutes is not None and not self.max_minutes > 0:
            raise ConfigError("max_minutes", f"must be > 0 (or none: no limit), got {self.max_minutes}")
        if self.resume and self.out_dir is None:
            raise ConfigError("resume", "needs out_dir, the directory holding the run to resume")


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
    return _map_tensors(batch, lambda tensor: tensor.to(device))


def shard_batch(batch, rank: int, world_size: int):
    """Rank `rank`'s rows of a batch-first batch, in a run of `world_size` processes.

    Every tensor with at least one dimension (alone, or in tuples, lists, dicts and dataclasses)
    is cut along dim 0 into `world_size` contiguous pieces (torch.tensor_split: the first pieces
    take one row more when the rows do not divide evenly), and piece `rank` is kept; a 0-dim
    tensor and anything that is not a tensor pass as they are. With world_size 1, the batch itself.
    """
    if world_size == 1:
        return batch

    def rows_of_this_rank(tensor: torch.Tensor) -> torch.Tensor:
        if tensor.dim() == 0:
            return tensor
        if tensor.shape[0] < world_size:
            # An empty piece would make that rank's mean loss NaN, and stop the run as diverged.
            raise SeqlabError(
                f"a batch of {tensor.shape[0]} rows cannot be shared among {world_size} processes "
                f"(each needs at least one row); use a batch size of at least {world_size}, or fewer processes"
            )
        return torch.tensor_split(tensor, world_size)[rank]

    return _map_tensors(batch, rows_of_this_rank)


def _map_tensors(batch, function: Callable[[torch.Tensor], torch.Tensor]):
    """`batch` with `function` applied to each of its tensors (alone, or in tuples, lists, dicts
    and dataclasses), as a new batch of the same structure; the rest is passed as it is."""
    if isinstance(batch, torch.Tensor):
        return function(batch)
    if isinstance(batch, (tuple, list)):
        return type(batch)(_map_tensors(part, function) for part in batch)
    if isinstance(batch, dict):
        return {key: _map_tensors(value, function) for key, value in batch.items()}
    if dataclasses.is_dataclass(batch) and not isinstance(batch, type):
        fields = [field.name for field in dataclasses.fields(batch) if field.init]
        return dataclasses.replace(batch, **{name: _map_tensors(getattr(batch, name), function) for name in fields})
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
    with _process_group(config.device) as ranks:
        model.to(ranks.device)
        optimizer = make_optimizer(model, config)
        parameters = [parameter for group in optimizer.param_groups for parameter in group["params"]]
        run = _Run(
            config=config,
            model=model,
            optimizer=optimizer,
            evaluate=evaluate,
            out_dir=None if config.out_dir is None else _checkpoint_directory(config.out_dir),
            checkpoint_config=checkpoint_config or {"kind": type(model).__name__},
            ranks=ranks,
        )
        result = run.result

        seed_everything(config.seed)
        start = _resume(run)  # step 0, or where out_dir/last left off
        batch_source = _BatchSource(batches, start.step, ranks.distributed)
        _restore_step_randomness(start, run)
        step, state = start.step, start.recurrent_state
        compute_loss = _loss_step(model, loss_fn, ranks)

        model.train()
        evaluated_at = step
        began = time.perf_counter()
        with _ProgressBar(config, step, show=config.progress and ranks.is_main) as progress:
            while step < config.steps:
                started = time.perf_counter()
                batch = batch_source.next()
                if batch is _END:
                    break  # the batch source ran dry before config.steps
                # This rank's rows only: the others' need not travel to its device.
                batch = to_device(shard_batch(batch, ranks.rank, ranks.world_size), ranks.device)

                loss, new_state, n_tokens = compute_loss(batch, state)
                # .item() waits for the device, but the check must come before the step: one
                # non-finite update would leave every weight NaN.
                loss_value, n_tokens = _mean_loss_and_tokens(loss, n_tokens, ranks)
                _stop_unless_finite(loss_value, "the loss", step + 1, run)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()  # under DDP, this also averages the gradients of all ranks
                # The norm before clipping is recorded: it is what shows gradients exploding. With
                # clipping off, an infinite cap measures without rescaling. Under DDP the
                # gradients, hence the norm and this check, are the same on every rank.
                grad_norm = torch.nn.utils.clip_grad_norm_(parameters, config.clip_grad_norm or math.inf).item()
                _stop_unless_finite(grad_norm, "the gradient norm", step + 1, run)
                for group in optimizer.param_groups:
                    group["lr"] = learning_rate(step, config)
                optimizer.step()

                # Truncated BPTT: the next window starts from this state's value, not its graph.
                state = detach_state(new_state)
                step += 1

                tokens_per_s = n_tokens / (time.perf_counter() - started)
                result.history.append(
                    {"step": step, "loss": loss_value, "grad_norm": grad_norm, "tokens_per_s": tokens_per_s}
                )
                if step == config.steps or (config.eval_every is not None and step % config.eval_every == 0):
                    _evaluate_and_save(run, step, state)
                    evaluated_at = step
                progress.step_done(step, loss_value, tokens_per_s, result.metrics)

                if evaluated_at == step and _reached(result.metrics.get(config.metric), config):
                    result.stopped_early = step < config.steps
                    break
                if _out_of_time(began, config, ranks):
                    result.out_of_time = step < config.steps
                    break  # the evaluation and checkpoint of this last step follow below
            if evaluated_at < step:  # the batches or the time ran out between two evaluations
                _evaluate_and_save(run, step, state)

        result.steps = step
        return result


# ---------------------------------------------------------------------------------------------
# What the helpers of one train() call share


@dataclass
class _Ranks:
    """This process's place in the run: rank 0 of 1, unless torchrun started several."""

    device: torch.device  # cuda:LOCAL_RANK for each rank of a distributed CUDA run
    rank: int = 0
    world_size: int = 1
    owns_process_group: bool = False  # train() joined it, so train() leaves it

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def agree(self, value):
        """Rank 0's `value`, on every rank: what rank 0 alone knows or decides."""
        if not self.distributed:
            return value
        box = [value]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def gather(self, value) -> list | None:
        """Every rank's `value` in rank order, on rank 0; None on the other ranks."""
        if not self.distributed:
            return [value]
        everyone = [None] * self.world_size if self.is_main else None
        dist.gather_object(value, everyone, dst=0)
        return everyone


@dataclass
class _Run:
    """One train() call's fixed parts, and the result it fills in."""

    config: TrainConfig
    model: torch.nn.Module  # the model itself, never the DDP wrapper
    optimizer: torch.optim.Optimizer
    evaluate: EvaluateFn | None
    out_dir: Path | None
    checkpoint_config: dict
    ranks: _Ranks
    result: TrainResult = field(default_factory=lambda: TrainResult(steps=0))
    last_saved_step: int = 0  # the step of result.last_checkpoint, for the divergence message


def _checkpoint_directory(out_dir: str) -> Path:
    """Create out_dir now: finding out at the first save that it cannot be written would lose
    the steps trained until then."""
    return output_directory(out_dir, "the checkpoint folder")


# ---------------------------------------------------------------------------------------------
# Processes: one, or a distributed run under torchrun


@contextlib.contextmanager
def _process_group(device_name: str) -> Iterator[_Ranks]:
    """Join the process group of a torchrun run (unless the caller has), and leave it at the
    end if it was joined here; in a single process, just choose the device."""
    ranks = _join_process_group(choose_device(device_name))
    try:
        yield ranks
    finally:
        if ranks.owns_process_group:
            dist.destroy_process_group()


def _join_process_group(device: torch.device) -> _Ranks:
    already_joined = dist.is_available() and dist.is_initialized()
    world_size = dist.get_world_size() if already_joined else int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return _Ranks(device)
    if not dist.is_available():
        raise SeqlabError(
            f"WORLD_SIZE is {world_size}, but this torch was built without torch.distributed; "
            f"run one process (without torchrun)"
        )
    if device.type == "cuda":
        if "LOCAL_RANK" in os.environ:
            local_rank = int(os.environ["LOCAL_RANK"])
        else:  # a caller that joined the group itself, without torchrun's variables
            local_rank = dist.get_rank() % torch.cuda.device_count()
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)  # nccl and the *_object collectives use the current device
    elif device.type != "cpu":
        raise SeqlabError(
            f"distributed training runs on CPUs (gloo) or CUDA GPUs (nccl), not on {device.type}; "
            f"choose the device 'cpu' or 'cuda'"
        )
    if already_joined:
        return _Ranks(device, dist.get_rank(), world_size)
    # torchrun's variables (MASTER_ADDR, MASTER_PORT, RANK, WORLD_SIZE) say where to meet.
    dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return _Ranks(device, dist.get_rank(), dist.get_world_size(), owns_process_group=True)


class _LossModule(torch.nn.Module):
    """The model and the task's loss_fn as one module, for DDP to wrap.

    DDP prepares the gradient all-reduce only for what runs inside its forward(), and a loss_fn
    may call any method of the model (LanguageModel.loss), not only forward(): so the whole
    loss_fn runs as this module's forward, and it receives the model itself.
    """

    def __init__(self, model: torch.nn.Module, loss_fn: LossFn) -> None:
        super().__init__()
        self.model = model
        self.loss_fn = loss_fn

    def forward(self, batch, state):
        return self.loss_fn(self.model, batch, state)


def _loss_step(model: torch.nn.Module, loss_fn: LossFn, ranks: _Ranks) -> Callable:
    """`(batch, state) -> loss_fn(model, batch, state)`: directly in one process, through DDP in
    a distributed run (whose construction also copies rank 0's weights to every rank)."""
    if not ranks.distributed:
        return lambda batch, state: loss_fn(model, batch, state)
    device_ids = [ranks.device.index] if ranks.device.type == "cuda" else None
    return DistributedDataParallel(_LossModule(model, loss_fn), device_ids=device_ids)


def _mean_loss_and_tokens(loss: torch.Tensor, n_tokens, ranks: _Ranks) -> tuple[float, int]:
    """The loss as a number (in a distributed run: the mean over the ranks, the whole batch's
    loss, the same on every rank, so that a NaN on one rank stops them all) and the tokens of
    the step (of all ranks)."""
    if not ranks.distributed:
        return loss.item(), int(n_tokens)
    totals = torch.tensor([loss.item(), float(n_tokens)], dtype=torch.float64, device=loss.device)
    dist.all_reduce(totals)  # a sum: NaN or infinite when any rank's loss is
    return totals[0].item() / ranks.world_size, int(totals[1].item())


def _out_of_time(began: float, config: TrainConfig, ranks: _Ranks) -> bool:
    """Whether config.max_minutes is used up; rank 0's clock decides for every rank, since ranks
    stopping at different steps would wait for each other forever."""
    if config.max_minutes is None:
        return False
    return ranks.agree(time.perf_counter() - began >= 60 * config.max_minutes)


# ---------------------------------------------------------------------------------------------
# Resume, and the batches and random numbers it must restore


@dataclass
class _Start:
    """Where the steps begin: step 0 from the seed, or where out_dir/last left off."""

    step: int = 0
    recurrent_state: Any = None
    rng_states: dict | None = None  # this rank's step RNGs, restored once the done batches are skipped


def _resume(run: _Run) -> _Start:
    """With config.resume and a checkpoint in out_dir/last, load its weights and optimizer state
    into the run, fill in the result's best metric, metrics and checkpoints, and say where the
    steps begin; otherwise step 0."""
    config, ranks, result = run.config, run.ranks, run.result
    # Rank 0 decides, so that a rank that cannot see the checkpoint fails to load it, loudly,
    # instead of starting afresh while the others resume.
    if not config.resume or not ranks.agree(checkpoint_exists(run.out_dir / "last")):
        return _Start()
    checkpoint = load_checkpoint(run.out_dir / "last", expected_kind=run.checkpoint_config["kind"])
    if checkpoint.optimizer_state is None or checkpoint.trainer_state is None:
        raise CheckpointError(f"cannot resume from {checkpoint.path}: it holds no optimizer or trainer state")
    load_model_weights(run.model, checkpoint)
    run.optimizer.load_state_dict(checkpoint.optimizer_state)
    trainer_state = checkpoint.trainer_state
    result.best_metric = trainer_state["best_metric"]
    result.metrics = checkpoint.config.get("metrics", {})
    result.last_checkpoint = run.out_dir / "last"
    if checkpoint_exists(run.out_dir / "best"):
        result.best_checkpoint = run.out_dir / "best"
    run.last_saved_step = trainer_state["step"]

    start = _Start(step=trainer_state["step"])
    written_by = trainer_state.get("world_size", 1)  # single-process checkpoints do not say
    if written_by != ranks.world_size:
        # Each rank's carried state holds the rows it owned, and other ranks own other rows.
        if ranks.is_main:
            warnings.warn(
                f"{checkpoint.path} was written by {written_by} process(es), and this run has "
                f"{ranks.world_size}: the weights, optimizer, step and best metric resume, but the "
                f"carried recurrent state and the random numbers of the steps start afresh",
                stacklevel=3,
            )
        return start
    own = trainer_state["ranks"][ranks.rank] if ranks.distributed else trainer_state
    start.recurrent_state = to_device(own["recurrent_state"], ranks.device)
    start.rng_states = own["rng"]
    return start


class _BatchSource:
    """The task's batches, from the step a run starts at; in a distributed run, drawn under
    random-number-generator states of their own (see the module doc).

    Resume contract: the batches of the steps already done are drawn and dropped, and the step
    RNGs restored only afterwards (_restore_step_randomness), so that step + 1 sees the batch and
    random numbers it would have seen in an uninterrupted run. In a distributed run the batch
    RNGs need no restoring: only the batches draw from them, so dropping the done batches brings
    them where they were.
    """

    def __init__(self, batches: Iterable, steps_done: int, own_rng: bool) -> None:
        self._iterator = iter(batches)
        for _ in range(steps_done):
            next(self._iterator, _END)
        self._rng = _cpu_rng_states() if own_rng else None

    def next(self):
        """The next batch, or _END."""
        if self._rng is None:
            return next(self._iterator, _END)
        step_rng = _cpu_rng_states()
        _set_cpu_rng_states(self._rng)
        try:
            return next(self._iterator, _END)
        finally:
            self._rng = _cpu_rng_states()
            _set_cpu_rng_states(step_rng)


def _restore_step_randomness(start: _Start, run: _Run) -> None:
    """Put the global RNGs where the steps need them: as saved when resuming; afresh in a
    distributed run, a stream per rank (seed + rank) so each rank drops out its rows
    independently; in one process, they go on from the seed (and the skipped batches)."""
    if start.rng_states is not None:
        set_rng_states(start.rng_states)
    elif run.ranks.distributed:
        seed_everything(run.config.seed + run.ranks.rank)


def _cpu_rng_states() -> tuple:
    """The CPU generators' states, in memory only (a checkpoint uses seqlab.utils.get_rng_states)."""
    return random.getstate(), np.random.get_state(), torch.get_rng_state()


def _set_cpu_rng_states(states: tuple) -> None:
    python, numpy, torch_cpu = states
    random.setstate(python)
    np.random.set_state(numpy)
    torch.set_rng_state(torch_cpu)


# ---------------------------------------------------------------------------------------------
# Evaluation, checkpoints and the progress bar


def _evaluate_and_save(run: _Run, step: int, state) -> None:
    """Evaluate, then write out_dir/best (when the metric improved) and out_dir/last.

    Rank 0 alone evaluates, shows the evaluation line and writes; every rank gets the metrics,
    so that every rank's result, and each decision taken from it, is the same.
    """
    config, ranks, result = run.config, run.ranks, run.result
    if run.evaluate is not None:
        result.metrics = ranks.agree(_evaluate(run) if ranks.is_main else None)
        result.history[-1].update(result.metrics)
    improved = _record_best(result, config, evaluated=run.evaluate is not None)
    if result.metrics and config.progress and ranks.is_main:
        # One line per evaluation, above the bar, so the log keeps the learning curve.
        shown = ", ".join(f"{name} {value:.4f}" for name, value in result.metrics.items())
        tqdm.write(f"step {step}: {shown}" + (" (best)" if improved else ""))
    if run.out_dir is None:
        return
    trainer_state = _trainer_state(run, step, state)  # in a distributed run, every rank takes part
    if ranks.is_main:
        saved = {**run.checkpoint_config, "step": step, "metrics": result.metrics, "train": asdict(config)}
        if improved:
            # The best weights are for using, not resuming: no optimizer or trainer state.
            save_checkpoint(run.out_dir / "best", run.model, saved)
        save_checkpoint(run.out_dir / "last", run.model, saved, run.optimizer, trainer_state)
    if improved:
        result.best_checkpoint = run.out_dir / "best"
    result.last_checkpoint = run.out_dir / "last"
    run.last_saved_step = step


def _evaluate(run: _Run) -> dict[str, float]:
    """evaluate(model) in eval mode, without gradients, on the model itself (never DDP's wrapper)."""
    run.model.eval()
    with torch.no_grad():
        metrics = {name: float(value) for name, value in run.evaluate(run.model).items()}
    run.model.train()
    return metrics


def _record_best(result: TrainResult, config: TrainConfig, evaluated: bool) -> bool:
    """Whether the last evaluation improved on the best metric, which it then becomes."""
    if config.metric not in result.metrics:
        if evaluated:
            raise ValueError(
                f"evaluate() returned {sorted(result.metrics)}, without {config.metric!r}, "
                f"the metric that picks the best checkpoint (TrainConfig.metric)"
            )
        return False
    value = result.metrics[config.metric]
    best = result.best_metric
    improved = math.isfinite(value) and (best is None or (value > best if config.maximize else value < best))
    if improved:
        result.best_metric = value
    return improved


def _trainer_state(run: _Run, step: int, state) -> dict | None:
    """What out_dir/last needs to resume besides weights and optimizer. In a distributed run the
    carried state and the step RNGs differ from rank to rank: every rank's are gathered on rank 0
    (None is returned on the others)."""
    common = {"step": step, "best_metric": run.result.best_metric}
    if not run.ranks.distributed:
        return {**common, "recurrent_state": state, "rng": get_rng_states()}
    own = {"recurrent_state": to_device(state, torch.device("cpu")), "rng": get_rng_states()}
    everyone = run.ranks.gather(own)
    if everyone is None:
        return None
    return {**common, "world_size": run.ranks.world_size, "ranks": everyone}


class _ProgressBar:
    """The steps' tqdm bar with the last loss, speed, learning rate and metric; hidden unless
    `show` (rank 0 of a run with config.progress)."""

    def __init__(self, config: TrainConfig, step: int, show: bool) -> None:
        self._config = config
        self._bar = tqdm(total=config.steps, initial=step, desc="train", unit="step", disable=not show)

    def __enter__(self) -> "_ProgressBar":
        return self

    def __exit__(self, *exception) -> None:
        self._bar.close()

    def step_done(self, step: int, loss: float, tokens_per_s: float, metrics: dict[str, float]) -> None:
        config = self._config
        postfix = {"loss": f"{loss:.4f}", "tok/s": f"{tokens_per_s:,.0f}", "lr": f"{learning_rate(step - 1, config):.2g}"}
        if config.metric in metrics:
            postfix[config.metric] = f"{metrics[config.metric]:.4f}"
        self._bar.set_postfix(postfix, refresh=False)
        self._bar.update(1)


# ---------------------------------------------------------------------------------------------
# Stopping


def _stop_unless_finite(value: float, what: str, step: int, run: _Run) -> None:
    """Raise TrainingDiverged at `step` when `value` (the loss, the gradient norm) is NaN or infinite."""
    if not math.isfinite(value):
        message = _diverged(step, f"{what} is {value}", run.result, run.last_saved_step, run.config)
        raise TrainingDiverged(message, step, run.result)


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
