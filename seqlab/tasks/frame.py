"""The frame every application sits on: data + model + metrics + decode, and the verbs.

An application is a `Task`: it says how to read its data (with its fixed split), build its
model, cut training batches, score a batch (the loss) and a model (held-out metrics), and
what its checkpoints hold. Its configuration is a dataclass of three sections, each owned and
validated by its owner:

    data:  the task's own dataclass (corpus, split, batch shape)
    model: the model's config (say seqlab.models.LanguageModelConfig)
    train: seqlab.train.TrainConfig

The frame writes, once for every task: the `train` verb (flags made from those sections,
presets, seeding before the model is built, a memory check before anything is allocated,
--resume, the one training loop), `export` (a using-only float16 copy), the plumbing of
`evaluate` and of the shared options (--checkpoint, --device, --seed, --temperature, --top-k),
and the loading of a checkpoint or of the model shipped inside the package.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import time
import typing
from dataclasses import asdict
from importlib import resources
from pathlib import Path
from typing import Any, ClassVar, Iterable, NamedTuple

import torch

from seqlab.checkpoint import CheckpointError, checkpoint_exists, load_checkpoint, load_model_weights, save_checkpoint
from seqlab.errors import ConfigError, SeqlabError
from seqlab.train import TrainConfig, TrainResult, train
from seqlab.utils import check_memory, choose_device, output_directory, seed_everything

MAX_SEED = 2**64 - 1

# TrainConfig fields that are not flags: the task sets them (which metric picks the best
# checkpoint, when a task counts as solved), or the frame does from --out, --resume and
# --no-progress.
TRAIN_FIELDS_SET_BY_THE_TASK = ("metric", "maximize", "stop_at", "out_dir", "resume", "progress")

FLAG_HELP = {
    "steps": "optimizer steps",
    "lr": "learning rate",
    "lr_schedule": "constant, or cosine decay to lr/100",
    "warmup_steps": "steps of linear learning-rate warm-up",
    "optimizer": "adam, adamw or sgd",
    "clip_grad_norm": "rescale gradients whose norm exceeds this; none: no clipping",
    "eval_every": "steps between evaluations and checkpoints",
    "max_minutes": "stop after this many minutes, evaluated and saved (0: no limit)",
    "seed": "random seed of the run: model initialisation, batches, dropout",
    "device": "auto, cpu, cuda, cuda:N or mps",
    "copy_memory": "attend over the last N tokens and copy from them (pointer-sentinel attention); 0: the plain recurrent model",
    "copy_key_size": "size of the copy attention's queries and keys",
}


# ----------------------------------------------------------------------------- option types
def boolean(text: str) -> bool:
    if text.lower() in ("true", "yes", "1", "on"):
        return True
    if text.lower() in ("false", "no", "0", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def clip_norm(text: str) -> float | None:
    """--clip-grad-norm takes a number, or "none" to train without clipping (as the lab does)."""
    if text.lower() in ("none", "off"):
        return None
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number or none, got {text!r}") from None


def minutes(text: str) -> float | None:
    """--max-minutes: 0 is "no limit" (TrainConfig's None)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of minutes, got {text!r}") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be >= 0 (0: no limit), got {text}")
    return None if value == 0 else value


def bounded_int(low: int, high: int):
    """An argparse type: an integer from `low` to `high`, the limit stated in the error."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be from {low:,} to {high:,}, got {value:,}")
        return value

    return parse


def temperature(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    # inf passes "> 0", but logits / inf is NaN wherever a logit is -inf (a refused token).
    if not (value > 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {text}")
    return value


seed = bounded_int(0, MAX_SEED)


def say(line: str) -> None:
    """Print, once: under torchrun only rank 0 speaks (the trainer's progress bar does the same)."""
    if int(os.environ.get("RANK", "0")) == 0:
        print(line)


def new_seed(given: int | None) -> int:
    """The seed a run uses: the given one, or a new one each run (printed, so it can be repeated)."""
    return given if given is not None else int.from_bytes(os.urandom(4), "little")


def add_sampling_options(parser) -> None:
    parser.add_argument("--temperature", type=temperature, default=1.0, help="< 1 safer, > 1 wilder (default 1.0)")
    parser.add_argument("--top-k", type=bounded_int(1, 1_000_000), default=None,
                        help="sample among the k most likely tokens only")
    parser.add_argument("--seed", type=seed, default=None, help="random seed (default: a new one each run)")


def png_path(text: str, flag: str = "--out") -> Path:
    """A plot's file name, checked before any work: a .png, in a folder that exists or is made."""
    path = Path(text)
    if path.suffix.lower() != ".png":
        raise SeqlabError(f"{flag} {text}: give a .png file name")
    output_directory(path.parent if str(path.parent) else ".", flag)
    return path


def add_model_options(parser) -> None:
    parser.add_argument("--checkpoint", default=None, help="a checkpoint directory (default: the shipped model)")
    parser.add_argument("--device", default="cpu", help="cpu (default), cuda, cuda:N, mps or auto")


# ----------------------------------------------------------------------------- the task
class Loaded(NamedTuple):
    """A model read back from a checkpoint, in eval mode, with what it needs to decode
    (`model, vocab, config = task.load(...)`)."""

    model: torch.nn.Module
    vocab: Any  # the tokens it reads and writes (seqlab.data.Vocabulary)
    config: dict  # the checkpoint's config.json


class Task:
    """One application on the frame. Subclasses fill in the class attributes and the methods
    marked "the task's"; the frame does the rest."""

    name: ClassVar[str]  # the command: seqlab <name> ...
    kind: ClassVar[str]  # what its checkpoints say they are (checked on loading)
    what: ClassVar[str]  # "music model": for messages
    config_type: ClassVar[type]  # a dataclass with data, model and train sections
    presets: ClassVar[dict[str, dict]] = {"default": {}}  # {"name": {"model": {...}, ...}}
    preset_help: ClassVar[str] = ""
    flag_help: ClassVar[dict[str, str]] = {}  # field name -> help, for the task's own fields
    train_help: ClassVar[str] = ""
    export_metric: ClassVar[tuple[str, str]] = ("val_loss", "loss")  # (metric, how to print it)
    default_out: ClassVar[str] = "runs/task"

    # ------------------------------------------------------------------ the task's
    def load_data(self, config) -> Any:
        """Read the data, split with the task's fixed protocol."""
        raise NotImplementedError

    def prepare(self, config, data, resume: bool) -> Any:
        """Turn data into what training needs (a vocabulary, ids); check it; fill in the model
        config's data-dependent values (say vocab_size). Returns the prepared data."""
        return data

    def model_config(self, config, data):
        """The model config, complete (data-dependent sizes filled in)."""
        return config.model

    def training_bytes(self, config, data) -> int | None:
        """An estimate of training memory, checked before anything is allocated; None: unknown."""
        return None

    def build_model(self, config, data) -> torch.nn.Module:
        raise NotImplementedError

    def batches(self, config, data) -> Iterable:
        raise NotImplementedError

    def loss(self, model, batch, state):
        """(loss, new state, tokens in the batch): seqlab.train's loss_fn."""
        raise NotImplementedError

    def evaluate(self, model, data) -> dict[str, float]:
        raise NotImplementedError

    def checkpoint_config(self, config, data, model) -> dict:
        """What a checkpoint stores beside the weights, besides the task config itself."""
        return {}

    def describe(self, config, data, model) -> str:
        """The line printed before training: the data and the model."""
        return f"{sum(p.numel() for p in model.parameters()):,} parameters"

    def describe_result(self, result: TrainResult, config) -> str:
        metric = config.train.metric
        return f"held-out {metric} {result.metrics.get(metric, float('nan')):.4f} (best {best_of(result):.4f})"

    def load_checkpoint(self, path: Path, device: str) -> Loaded:
        raise NotImplementedError

    def add_task_commands(self, verbs) -> None:
        """The task's own verbs (generate, predict, ...)."""

    def add_evaluate_options(self, parser) -> None:
        """The task's own `evaluate` options."""

    def run_evaluate(self, args) -> dict:
        """Measure a model; the frame prints the result as JSON or with `print_evaluation`."""
        raise NotImplementedError

    def print_evaluation(self, results: dict) -> None:
        print(json.dumps(results, indent=2))

    def choose_preset(self, args) -> str:
        return args.preset or "default"

    # ------------------------------------------------------------------ the frame's
    def pretrained_path(self) -> Path:
        """The model shipped inside the package (seqlab/<task>/pretrained)."""
        return Path(str(resources.files(f"seqlab.{self.name}") / "pretrained"))

    def load(self, checkpoint: str | None = None, device: str = "cpu") -> Loaded:
        """A checkpoint's model; None means the one shipped with seqlab."""
        path = Path(checkpoint) if checkpoint is not None else self.pretrained_path()
        if checkpoint is None and not (path / "model.safetensors").is_file():
            raise SeqlabError(f"seqlab has no shipped {self.what} in this install; train one: seqlab {self.name} train")
        return self.load_checkpoint(path, device)

    def default_config(self, preset: str = "default"):
        """The task's config: its "default" preset (the task's recipe), then `preset` over it;
        each section validated by its owner."""
        config = config_with(self.config_type(), self.presets["default"])
        config = config_with(config, {"train": {"out_dir": self.default_out}})
        return config_with(config, self.presets[preset])

    def config_from_args(self, args):
        """--preset, then the flags the user gave, then --out and --resume; each value checked
        by the dataclass that owns it, and a refusal named by its flag."""
        overrides: dict[str, dict] = {}
        for section, names in config_fields(self.config_type).items():
            for name in names:
                given = getattr(args, f"{section}.{name}", None)
                if given is not None:
                    overrides.setdefault(section, {})[name] = given
        overrides.setdefault("train", {}).update(
            out_dir=getattr(args, "out", None), resume=getattr(args, "resume", False),
            progress=not getattr(args, "no_progress", False),
        )
        return config_with(self.default_config(self.choose_preset(args)), overrides)

    def train(self, config):
        """The one recipe: data, seed, model, batches, the one training loop; prints the data
        and the result. Returns seqlab.train's TrainResult."""
        train_config = config.train
        if train_config.out_dir is not None:
            output_directory(train_config.out_dir, create=False)  # the trainer creates it
            if train_config.resume and not checkpoint_exists(Path(train_config.out_dir) / "last"):
                raise SeqlabError(
                    f"--resume: {train_config.out_dir} holds no run to resume (no last/ checkpoint); "
                    f"leave --resume out to start afresh"
                )
        data = self.prepare(config, self.load_data(config), train_config.resume)
        started = time.perf_counter()
        _, result = self.fit(config, data)
        took = (time.perf_counter() - started) / 60
        ran_out = " (--max-minutes reached)" if result.out_of_time else ""
        say(
            f"done: {result.steps} steps in {took:.1f} min ({torch.get_num_threads()} threads){ran_out}; "
            f"{self.describe_result(result, config)}; best checkpoint: {result.best_checkpoint}"
        )
        return result

    def fit(self, config, data, announce: bool = True) -> tuple[torch.nn.Module, TrainResult]:
        """Build the model from the seed and train it on prepared data: (model, result)."""
        estimate = self.training_bytes(config, data)
        if estimate is not None:
            check_memory(estimate, "training this model", "give a smaller model, --batch-size or --window")
        # Seed before the model is built: its initial weights are part of the run.
        seed_everything(config.train.seed)
        model = self.build_model(config, data)
        if announce:
            say(f"seqlab {self.name} train: {self.describe(config, data, model)}")
        saved = {"kind": self.kind, **self.checkpoint_config(config, data, model), self.name: asdict(config)}
        result = train(model, self.batches(config, data), self.loss, config.train,
                       lambda trained: self.evaluate(trained, data), saved)
        return model, result

    def export(self, checkpoint: str, out: str, float32: bool = False, force: bool = False) -> str:
        """Write a checkpoint's model and config to `out` as a using-only checkpoint: float16
        weights (half the size; using converts back to float32) unless `float32`, no optimizer or
        trainer state. Returns the line to print."""
        output_directory(out, create=False)  # not empty, not a file: save_checkpoint makes it
        if checkpoint_exists(out) and not force:
            shipped = Path(out).resolve() == self.pretrained_path().resolve()
            what = "is the model shipped with seqlab" if shipped else "already holds a checkpoint"
            raise SeqlabError(f"--out {out} {what}; add --force to replace it")
        model, _, config = self.load(checkpoint)
        if not float32:
            model.half()
        shipped_config = {key: value for key, value in config.items() if key not in ("format", "version")}
        shipped_config["exported_from"] = str(checkpoint)
        path = save_checkpoint(out, model, shipped_config)
        size = sum(f.stat().st_size for f in Path(path).iterdir())
        metric, label = self.export_metric_of(config)
        stored = load_checkpoint(path, expected_kind=self.kind).config.get("metrics", {}).get(metric, float("nan"))
        return (
            f"wrote {path} ({size / 1e6:.1f} MB, {'float32' if float32 else 'float16'}); "
            f"held-out {label} at export: {stored:.3f}"
        )

    def export_metric_of(self, config: dict) -> tuple[str, str]:
        return self.export_metric

    # ------------------------------------------------------------------ command line
    def add_commands(self, verbs) -> None:
        self.add_train_command(verbs)
        self.add_task_commands(verbs)
        self.add_evaluate_command(verbs)
        self.add_export_command(verbs)

    def add_train_command(self, verbs) -> None:
        parser = verbs.add_parser("train", help=self.train_help.split(";")[0], description=self.train_help)
        parser.add_argument("--out", default=self.default_out, help=f"directory for checkpoints (default: {self.default_out})")
        parser.add_argument("--preset", choices=sorted(self.presets), default=None, help=self.preset_help)
        parser.add_argument("--resume", action="store_true", help="continue from OUT/last")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")
        self.add_config_flags(parser)
        parser.set_defaults(run=self.run_train)

    def add_config_flags(self, parser) -> None:
        """One flag per config field the user may set (--hidden-size, --lr, ...), its help
        and type from the field; left unset (None), the preset's value stands."""
        defaults = self.default_config()
        for section, names in config_fields(self.config_type).items():
            owner = getattr(defaults, section)
            hints = typing.get_type_hints(type(owner))
            for item in dataclasses.fields(owner):
                if item.name not in names:
                    continue
                default = getattr(owner, item.name)
                help_text = self.flag_help.get(item.name) or FLAG_HELP.get(item.name) or ""
                parser.add_argument(
                    "--" + item.name.replace("_", "-"),
                    dest=f"{section}.{item.name}",
                    default=None,
                    help=f"{help_text} (default {default})".strip(),
                    **{"metavar": item.name.upper(), **flag_type(item, hints[item.name])},
                )

    def run_train(self, args) -> int:
        self.train(self.config_from_args(args))
        return 0

    def add_evaluate_command(self, verbs) -> None:
        parser = verbs.add_parser("evaluate", help=f"measure a {self.what} (held-out metrics)",
                                  description=f"Measure a {self.what} on its held-out data.")
        add_model_options(parser)
        parser.add_argument("--json", action="store_true", help="print the numbers as JSON")
        self.add_evaluate_options(parser)
        parser.set_defaults(run=self._run_evaluate)

    def _run_evaluate(self, args) -> int:
        results = self.run_evaluate(args)
        if args.json:
            print(json.dumps(results, indent=2))
        else:
            self.print_evaluation(results)
        return 0

    def add_export_command(self, verbs) -> None:
        parser = verbs.add_parser(
            "export",
            help="copy a trained model for shipping (weights in float16, no optimizer state)",
            description="Write a checkpoint's weights to OUT as a using-only checkpoint: the model in float16 "
            f"and its config, without optimizer and trainer state. This is how seqlab/{self.name}/pretrained was made.",
        )
        parser.add_argument("--checkpoint", required=True, help=f"the checkpoint to export, e.g. {self.default_out}/best")
        parser.add_argument("--out", required=True, help="directory to write")
        parser.add_argument("--float32", action="store_true", help="keep float32 weights")
        parser.add_argument("--force", action="store_true", help="replace a checkpoint already in OUT")
        parser.set_defaults(run=self._run_export)

    def _run_export(self, args) -> int:
        print(self.export(args.checkpoint, args.out, args.float32, args.force))
        return 0


def best_of(result: TrainResult) -> float:
    """The best metric of a run, NaN when no evaluation ran (a run of 0 steps)."""
    return float("nan") if result.best_metric is None else result.best_metric


def load_model(path: Path, kind: str, what: str, model_type: type, config_type: type, device: str = "cpu",
               also: tuple[str, ...] = ()):
    """A model of `model_type` rebuilt from the checkpoint at `path` (its config.json's "model"
    entry, always with the fused backend: the layers' weights interchange), in eval mode on
    `device`; and the checkpoint's config. `also` names further config.json entries the task
    needs: a checkpoint without them is not a complete `what`."""
    loaded = load_checkpoint(path, expected_kind=kind)
    try:
        model = model_type(config_type(**{**loaded.config["model"], "backend": "fused"}))
        for key in also:
            loaded.config[key]  # noqa: B018 - present, or a KeyError to report
    except (KeyError, TypeError, ValueError) as error:
        raise CheckpointError(f"checkpoint {loaded.path} is not a complete {what}: its config.json lacks or garbles {error}") from None
    load_model_weights(model, loaded)
    model.to(choose_device(device)).eval()
    return model, loaded.config


# ----------------------------------------------------------------------------- configs
def task_config(name: str, data_type: type, model_type: type) -> type:
    """A task's config class: its own data section, its model's config and the trainer's
    TrainConfig, composed (never copied), each section validated by its owner."""
    return dataclasses.make_dataclass(name, [
        ("data", data_type, dataclasses.field(default_factory=data_type)),
        ("model", model_type, dataclasses.field(default_factory=model_type)),
        ("train", TrainConfig, dataclasses.field(default_factory=TrainConfig)),
    ])


def config_fields(config_type: type) -> dict[str, list[str]]:
    """The fields of each section of a task config that are command-line flags."""
    sections = {}
    for section in dataclasses.fields(config_type):
        owner = section.default_factory()  # type: ignore[misc]
        hidden = TRAIN_FIELDS_SET_BY_THE_TASK if section.name == "train" else ()
        sections[section.name] = [
            item.name for item in dataclasses.fields(owner)
            if item.name not in hidden and not item.metadata.get("set_by_task")
        ]
    return sections


def config_with(config, overrides: dict[str, dict]):
    """`config` with the given sections' values replaced; each section's owner validates its
    values again, and a refusal names the flag."""
    sections = {}
    for section, values in overrides.items():
        try:
            sections[section] = dataclasses.replace(getattr(config, section), **values)
        except ConfigError as error:
            raise SeqlabError(f"--{error.field.replace('_', '-')} {error.message}") from None
        except ValueError as error:  # an owner that names its field in its own words
            raise SeqlabError(str(error)) from None
    return dataclasses.replace(config, **sections)


def flag_type(item: dataclasses.Field, hint) -> dict:
    """argparse keywords for a config field, from its type and metadata."""
    if "choices" in item.metadata:
        return {"choices": item.metadata["choices"], "metavar": "{" + ",".join(item.metadata["choices"]) + "}"}
    if item.name == "clip_grad_norm":
        return {"type": clip_norm}
    if item.name == "max_minutes":
        return {"type": minutes}
    base = [arg for arg in typing.get_args(hint) if arg is not type(None)] or [hint]
    kind = base[0]
    if kind is bool:
        return {"type": boolean, "metavar": "{true,false}"}
    return {"type": kind}
