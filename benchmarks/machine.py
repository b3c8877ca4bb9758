"""What a benchmark says about the machine it measured on, so that every table names its CPU
the same way (the README's claims name it too). Imported by the scripts beside it."""

from __future__ import annotations

import datetime
import os
import platform
from pathlib import Path


def cpu_name() -> str:
    """The CPU's model name from /proc/cpuinfo, else what `platform` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def machine() -> str:
    return f"{cpu_name()}, {os.cpu_count()} CPUs"


def header(title: str) -> str:
    """`# seqlab TITLE: CPU, torch, threads, the time and the load average` (other work on the
    CPUs slows every row, so the table says how busy they were)."""
    import torch

    return (f"# seqlab {title}: {machine()}, torch {torch.__version__}, {torch.get_num_threads()} threads, "
            f"{datetime.datetime.now().isoformat(timespec='seconds')}, load average {os.getloadavg()[0]:.1f}")
