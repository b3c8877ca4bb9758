"""The gradients page: `seqlab gradients run`'s plots (vanishing and exploding gradients) and
the ratio table, and a button that makes them again with small settings."""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

from ..jobs import JobSpec, Table, job_page, read_csv

# Each of the command's six stages (four cells, then the exploding runs without and with
# clipping) starts with one printed line.
STAGE = re.compile(r": gradients at init|^exploding, ")
STAGES = 6


def progress(lines: list[str]) -> float:
    """Stages finished: a stage's line is printed when it starts."""
    started = sum(1 for line in lines if STAGE.search(line))
    return max(0, started - 1) / STAGES


def ratio_table(folder: Path) -> Table | None:
    """||dL/dh|| at lag 0 over the largest lag, per cell, at init and after training, from
    gradient_flow.csv: how many times the gradient shrank over the whole sequence."""
    profiles: dict[tuple[str, str], dict[int, float]] = defaultdict(dict)
    for row in read_csv(folder / "gradient_flow.csv"):
        try:
            profiles[row["cell"], row["phase"]][int(row["lag"])] = float(row["grad_norm"])
        except (KeyError, ValueError):
            return None
    if not profiles:
        return None
    cells = list(dict.fromkeys(cell for cell, _ in profiles))
    longest = max(max(values) for values in profiles.values())

    def ratio(cell: str, phase: str) -> str:
        values = profiles.get((cell, phase), {})
        if not values:
            return ""
        last = values[max(values)]
        return "inf" if last == 0 else f"{values[min(values)] / last:.3g}"

    rows = [[cell, ratio(cell, "init"), ratio(cell, "trained")] for cell in cells]
    title = f"gradient ratio ||dL/dh|| at lag 0 / at lag {longest} (1: no vanishing; large: vanishing)"
    return Table(title, ["cell", "at init", "after training"], rows)


SPEC = JobSpec(
    kind="gradients",
    command=("gradients", "run"),
    options=("--steps", "100", "--length", "50", "--seed", "0"),
    about="100 training steps at T = 50 (the command's default is 200 at T = 100): about 15 s",
    images=("gradient_flow.png", "exploding.png"),
    downloads=("gradient_flow.csv", "exploding.csv"),
    progress=progress,
    table=ratio_table,
)

PAGE = job_page(
    SPEC,
    title="Gradients",
    summary="Vanishing and exploding gradients through time, for RNN, IRNN, LSTM and GRU.",
    description="||dL/dh_t|| against the time lag for a tanh RNN, an IRNN, an LSTM and a GRU, at "
    "initialisation and after training on the adding problem; and a tanh RNN with a large W_hh "
    "trained without and with gradient clipping.",
)
