"""The one checkpoint format of seqlab: a directory of safetensors and JSON, written atomically.

    DIR/model.safetensors      the model's state_dict
    DIR/config.json            {"format": "seqlab-checkpoint", "version": 1,
                                "kind": "char-lm", "model": {constructor arguments},
                                ...anything else the caller adds: vocabulary, step, metrics}
    DIR/optimizer.safetensors  (to resume) the optimizer's state
    DIR/trainer.safetensors    (to resume) the trainer's state: step, best metric, RNG states

config.json is all a task needs to rebuild its model, so `sample` needs only the checkpoint
path. The resume files hold nested structures (dicts, lists, numbers and tensors): the tensors
are stored as safetensors entries and the rest as JSON in the file's metadata.

Nothing here unpickles: safetensors and JSON cannot run code, so a checkpoint from elsewhere is
safe to open. Every problem (missing, truncated, corrupt, another format, another model) is one
`CheckpointError` with a one-line message.

Atomic writes: a checkpoint is written into a temporary directory beside the target and swapped
in with renames (target -> target.old, temporary -> target, remove target.old), so a crash at
any moment leaves either the previous checkpoint or the new one, never half of each. If the
crash falls between the two renames, only target.old exists, and loading falls back to it.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from seqlab.errors import SeqlabError

FORMAT = "seqlab-checkpoint"
VERSION = 1
MODEL_FILE = "model.safetensors"
CONFIG_FILE = "config.json"
OPTIMIZER_FILE = "optimizer.safetensors"
TRAINER_FILE = "trainer.safetensors"
CHECKPOINT_FILES = (MODEL_FILE, CONFIG_FILE, OPTIMIZER_FILE, TRAINER_FILE)

# Markers inside the JSON skeleton of a resume file.
_TENSOR = "__tensor__"  # {"__tensor__": "t3"}: the safetensors entry named t3
_TUPLE = "__tuple__"  # {"__tuple__": [...]}: a tuple, not a list (random.setstate wants tuples)


class CheckpointError(SeqlabError):
    """A checkpoint cannot be written or read; the message says which and why, in one line."""


@dataclass
class Checkpoint:
    """What `load_checkpoint` read: everything on CPU, nothing applied to a model yet."""

    path: Path
    config: dict
    state_dict: dict[str, torch.Tensor]
    optimizer_state: dict | None = None  # ready for optimizer.load_state_dict
    trainer_state: dict | None = None

    @property
    def kind(self) -> str:
        return self.config["kind"]


# ---------------------------------------------------------------------------------------------
# Writing


def save_checkpoint(
    directory: str | os.PathLike,
    model: torch.nn.Module,
    config: dict,
    optimizer: torch.optim.Optimizer | None = None,
    trainer_state: dict | None = None,
) -> Path:
    """Write `model` (and, to resume, `optimizer` and `trainer_state`) to `directory`, atomically.

    `config` must name the model's "kind" (e.g. "char-lm") and should hold its constructor
    arguments under "model"; any other JSON-serialisable entries are kept as they are.
    Returns the checkpoint's directory.
    """
    target = Path(directory)
    if not isinstance(config.get("kind"), str):
        raise ValueError("save_checkpoint: config needs a 'kind' string naming the model, e.g. 'char-lm'")
    is_empty_directory = target.is_dir() and not any(target.iterdir())
    if target.exists() and not (target / CONFIG_FILE).is_file() and not is_empty_directory:
        # Replacing the target removes it: refuse anything that is not a checkpoint.
        raise CheckpointError(f"{target} exists and is not a seqlab checkpoint; refusing to replace it")
    content = {"format": FORMAT, "version": VERSION, "kind": config["kind"], "model": config.get("model", {})}
    content.update({key: value for key, value in config.items() if key not in ("format", "version")})
    try:
        config_text = json.dumps(content, indent=2)
    except (TypeError, ValueError) as error:
        raise ValueError(f"save_checkpoint: config is not JSON-serialisable ({error})") from None

    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.tmp")  # beside the target: same file system
    old = target.with_name(f"{target.name}.old")
    if temporary.exists():  # left over from a save that crashed before its swap
        shutil.rmtree(temporary)
    temporary.mkdir()

    # safetensors refuses tensors that share memory (tied weights); a copy of each stands
    # alone, and load_state_dict ties them again.
    weights = {
        name: tensor.detach().to("cpu").contiguous().clone() for name, tensor in model.state_dict().items()
    }
    save_file(weights, temporary / MODEL_FILE)
    (temporary / CONFIG_FILE).write_text(config_text + "\n", encoding="utf-8")
    if optimizer is not None:
        _save_tree(temporary / OPTIMIZER_FILE, optimizer.state_dict())
    if trainer_state is not None:
        _save_tree(temporary / TRAINER_FILE, trainer_state)
    if target.is_dir():
        # Files of the user's beside a checkpoint (a README, a package's __init__.py) stay:
        # the swap replaces the checkpoint's own files, nothing else.
        for entry in target.iterdir():
            if entry.name in CHECKPOINT_FILES:
                continue
            if entry.is_dir():
                shutil.copytree(entry, temporary / entry.name)
            else:
                shutil.copy2(entry, temporary / entry.name)
    for file in temporary.iterdir():  # on disk before the rename makes them the checkpoint
        if file.is_file():
            _fsync(file)

    # The swap. A crash after the first rename leaves only `old`, which load_checkpoint reads.
    if target.exists():
        if old.exists():  # a previous swap finished but crashed before removing its old copy
            shutil.rmtree(old)
        os.replace(target, old)
    os.replace(temporary, target)
    shutil.rmtree(old, ignore_errors=True)
    return target


def _fsync(path: Path) -> None:
    with open(path, "rb") as file:
        os.fsync(file.fileno())


def _save_tree(path: Path, tree) -> None:
    """Save a nested structure: tensors as safetensors entries, the rest as JSON metadata."""
    tensors: dict[str, torch.Tensor] = {}
    skeleton = _split_tensors(tree, tensors)
    save_file(tensors, path, metadata={"json": json.dumps(skeleton)})


def _split_tensors(value, tensors: dict[str, torch.Tensor]):
    """Replace each tensor in `value` by {"__tensor__": name}, collecting it in `tensors`."""
    if isinstance(value, torch.Tensor):
        name = f"t{len(tensors)}"
        tensors[name] = value.detach().to("cpu").contiguous().clone()
        return {_TENSOR: name}
    if isinstance(value, dict):
        return {str(key): _split_tensors(item, tensors) for key, item in value.items()}
    if isinstance(value, tuple):
        return {_TUPLE: [_split_tensors(item, tensors) for item in value]}
    if isinstance(value, list):
        return [_split_tensors(item, tensors) for item in value]
    return value  # a JSON scalar: str, int, float, bool or None


# ---------------------------------------------------------------------------------------------
# Reading


def checkpoint_exists(path: str | os.PathLike) -> bool:
    """Whether `path` holds a checkpoint (or the `.old` copy an interrupted save leaves)."""
    path = Path(path)
    if path.name == MODEL_FILE:
        path = path.parent
    return (path / CONFIG_FILE).is_file() or (path.with_name(f"{path.name}.old") / CONFIG_FILE).is_file()


def load_checkpoint(path: str | os.PathLike, expected_kind: str | None = None) -> Checkpoint:
    """Read the checkpoint at `path` (its directory, or the model.safetensors inside it).

    With `expected_kind`, a checkpoint of another kind of model is an error.
    """
    directory = _checkpoint_directory(Path(path))
    config = _read_config(directory)
    if expected_kind is not None and config["kind"] != expected_kind:
        raise CheckpointError(
            f"checkpoint {directory} holds a {config['kind']!r} model, not a {expected_kind!r}"
        )
    state_dict, _ = _read_safetensors(directory / MODEL_FILE)
    checkpoint = Checkpoint(path=directory, config=config, state_dict=state_dict)
    if (directory / OPTIMIZER_FILE).exists():
        optimizer_state = _load_tree(directory / OPTIMIZER_FILE)
        # JSON turned the parameter indices that key the optimizer's state into strings.
        optimizer_state["state"] = {int(index): state for index, state in optimizer_state["state"].items()}
        checkpoint.optimizer_state = optimizer_state
    if (directory / TRAINER_FILE).exists():
        checkpoint.trainer_state = _load_tree(directory / TRAINER_FILE)
    return checkpoint


def load_model_weights(model: torch.nn.Module, checkpoint: Checkpoint | str | os.PathLike) -> torch.nn.Module:
    """Load a checkpoint's weights into `model`, or say in one line why they do not fit."""
    if not isinstance(checkpoint, Checkpoint):
        checkpoint = load_checkpoint(checkpoint)
    expected = model.state_dict()
    stored = checkpoint.state_dict
    problems = []
    missing = [name for name in expected if name not in stored]
    unexpected = [name for name in stored if name not in expected]
    if missing:
        problems.append(f"no {_some(missing)}")
    if unexpected:
        problems.append(f"unexpected {_some(unexpected)}")
    for name in expected:
        if name in stored and stored[name].shape != expected[name].shape:
            problems.append(
                f"{name} is {tuple(stored[name].shape)} there, {tuple(expected[name].shape)} here"
            )
            break  # one shape is enough to show the models differ
    if problems:
        raise CheckpointError(
            f"checkpoint {checkpoint.path} holds a {checkpoint.kind!r} with model config "
            f"{json.dumps(checkpoint.config.get('model', {}))} that does not fit this "
            f"{type(model).__name__}: {'; '.join(problems)}"
        )
    model.load_state_dict(stored)
    return model


def _some(names: list[str], shown: int = 3) -> str:
    listed = ", ".join(names[:shown])
    return listed if len(names) <= shown else f"{listed} and {len(names) - shown} more"


def _checkpoint_directory(path: Path) -> Path:
    if path.name == MODEL_FILE:
        path = path.parent
    if not path.exists():
        old = path.with_name(f"{path.name}.old")
        if old.is_dir():  # a save was interrupted between its two renames
            return old
        raise CheckpointError(f"no checkpoint at {path}: the directory does not exist")
    if not path.is_dir():
        raise CheckpointError(
            f"{path} is not a checkpoint: a checkpoint is a directory holding {MODEL_FILE} and {CONFIG_FILE}"
        )
    return path


def _read_config(directory: Path) -> dict:
    file = directory / CONFIG_FILE
    if not file.is_file():
        raise CheckpointError(f"{directory} is not a checkpoint: it has no {CONFIG_FILE}")
    try:
        config = json.loads(file.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise CheckpointError(f"{file} is truncated or corrupt: {error}") from None
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise CheckpointError(
            f"{directory} is not a seqlab checkpoint: {file} has no \"format\": \"{FORMAT}\""
        )
    if not isinstance(config.get("version"), int) or config["version"] > VERSION:
        raise CheckpointError(
            f"{directory} has checkpoint version {config.get('version')!r}; "
            f"this seqlab reads version {VERSION} or older (upgrade seqlab)"
        )
    if not isinstance(config.get("kind"), str):
        raise CheckpointError(f"{file} does not say what kind of model it holds (no \"kind\")")
    return config


def _read_safetensors(file: Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """All tensors (on CPU) and the metadata of one safetensors file."""
    if not file.is_file():
        raise CheckpointError(f"checkpoint {file.parent} is incomplete: it has no {file.name}")
    try:
        with safe_open(file, framework="pt", device="cpu") as reader:
            tensors = {name: reader.get_tensor(name) for name in reader.keys()}
            metadata = reader.metadata() or {}
    except (SafetensorError, OSError, ValueError) as error:
        raise CheckpointError(f"{file} is truncated or corrupt: {error}") from None
    return tensors, metadata


def _load_tree(file: Path):
    tensors, metadata = _read_safetensors(file)
    try:
        return _join_tensors(json.loads(metadata["json"]), tensors)
    except (KeyError, json.JSONDecodeError) as error:
        raise CheckpointError(
            f"{file} is corrupt: its JSON skeleton is missing or names absent tensors ({error})"
        ) from None


def _join_tensors(value, tensors: dict[str, torch.Tensor]):
    """The inverse of _split_tensors."""
    if isinstance(value, dict):
        if _TENSOR in value:
            return tensors[value[_TENSOR]]
        if _TUPLE in value:
            return tuple(_join_tensors(item, tensors) for item in value[_TUPLE])
        return {key: _join_tensors(item, tensors) for key, item in value.items()}
    if isinstance(value, list):
        return [_join_tensors(item, tensors) for item in value]
    return value
