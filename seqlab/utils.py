"""Seeding, random-number-generator state, and device choice: the small things every run needs."""

from __future__ import annotations

import os
import random
import re
from pathlib import Path

import numpy as np
import torch

from seqlab.errors import SeqlabError


class DeviceError(SeqlabError, ValueError):
    """A device name that is unknown or not on this machine."""


def seed_everything(seed: int) -> None:
    """Seed Python's `random`, NumPy's global generator and torch (CPU and every CUDA device).

    Seed before building a model to make its initial weights reproducible; `seqlab.train`
    seeds again at the start of training so that dropout and lazily drawn batches are too.
    """
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device and MPS


def get_rng_states() -> dict:
    """The state of every global random-number generator, as a checkpoint can store it.

    Saved with a run's resumable checkpoint, so that a resumed run draws the same random
    numbers (dropout masks, sampled batches) as the run that was interrupted.
    """
    numpy_state = np.random.get_state(legacy=False)
    numpy_state["state"]["key"] = numpy_state["state"]["key"].tolist()  # JSON, not an ndarray
    states = {
        "python": random.getstate(),
        "numpy": numpy_state,
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def set_rng_states(states: dict) -> None:
    """Restore what `get_rng_states` returned (CUDA only when this machine has as many GPUs)."""
    random.setstate(states["python"])
    np.random.set_state(states["numpy"])
    torch.set_rng_state(states["torch"])
    cuda = states.get("cuda")
    if cuda is not None and torch.cuda.is_available() and torch.cuda.device_count() == len(cuda):
        torch.cuda.set_rng_state_all(cuda)


_DEVICE_NAMES = "auto, cpu, cuda, cuda:N or mps"


def choose_device(name: str) -> torch.device:
    """Turn a device name into a torch.device, or say in one line why it cannot be used.

    "auto" picks the fastest available: CUDA, then Apple's MPS, then the CPU.
    """
    name = name.strip().lower()
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name == "mps":
        if not torch.backends.mps.is_available():
            raise DeviceError("device 'mps' is not available on this machine; use 'cpu' or 'auto'")
        return torch.device("mps")
    match = re.fullmatch(r"cuda(?::(\d+))?", name)
    if match is None:
        raise DeviceError(f"unknown device {name!r}; choose {_DEVICE_NAMES}")
    if not torch.cuda.is_available():
        raise DeviceError(
            f"device {name!r} is not available: this torch sees no CUDA GPU; use 'cpu' or 'auto'"
        )
    index = match.group(1)
    if index is not None and int(index) >= torch.cuda.device_count():
        raise DeviceError(
            f"device {name!r} is not available: this machine has {torch.cuda.device_count()} CUDA GPU(s)"
        )
    return torch.device(name)


def output_directory(path: str | Path, flag: str = "--out", create: bool = True) -> Path:
    """Create the folder a command writes into, or say in one line why it cannot be one.

    Done before any work, so that an unusable folder loses nothing. An empty name is refused:
    it would mean the current directory (and a message would call it "/"). With
    `create=False`, only check: a command whose input may still be refused leaves no folder.
    """
    if not str(path).strip():
        raise SeqlabError(f"{flag} is empty; give a folder to write into")
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise SeqlabError(f"{flag} {path} is a file; give a folder")
    if not create:
        return path
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise SeqlabError(f"cannot create {flag} {path}: {error.strerror or error}") from None
    return path


def physical_memory() -> int | None:
    """This machine's memory in bytes, or None where the OS does not say."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, OSError, ValueError):
        return None


def check_memory(estimate: int, what: str, advice: str) -> None:
    """Refuse, before anything is allocated, work whose estimated memory exceeds 80% of this
    machine's: otherwise it ends minutes later in an allocator traceback, or swaps."""
    available = physical_memory()
    if available is not None and estimate > 0.8 * available:
        raise SeqlabError(
            f"{what} would need about {estimate / 2**30:,.1f} GiB of memory, more than this machine's "
            f"{available / 2**30:,.1f} GiB allows; {advice}"
        )
