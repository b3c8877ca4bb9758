"""The long-term dependencies page: `seqlab longterm table`'s learning curves and table, and a
button that makes them again with every step cap scaled down."""

from __future__ import annotations

import re
from pathlib import Path

from ..jobs import MAX_ROWS, JobSpec, Table, job_page, read_csv

RUN_DONE = re.compile(r"^\[(\d+)/(\d+)\]")  # the table prints "[3/24] ..." as each run ends
COLUMNS = ("problem", "length", "cell", "metric", "value", "baseline", "threshold", "solved", "steps", "seconds")


def progress(lines: list[str]) -> float:
    for line in reversed(lines):
        match = RUN_DONE.match(line)
        if match:
            return int(match.group(1)) / max(1, int(match.group(2)))
    return 0.0


def result_table(folder: Path) -> Table | None:
    rows = read_csv(folder / "longterm.csv")
    if not rows:
        return None
    columns = [name for name in COLUMNS if name in rows[0]]
    return Table("held-out metric of each cell on each task, beside the memoryless baseline", columns,
                 [[row.get(name, "") for name in columns] for row in rows[:MAX_ROWS]])


SPEC = JobSpec(
    kind="longterm",
    command=("longterm", "table"),
    options=("--scale", "0.01", "--jobs", "1"),
    about="every step cap times 0.01 (a quick look: no cell has time to learn much): about 20 s",
    images=("longterm.png",),
    downloads=("longterm.csv", "longterm_curves.csv"),
    progress=progress,
    table=result_table,
)

PAGE = job_page(
    SPEC,
    title="Long-term",
    summary="Can a cell remember T steps back? Adding, copy and pixel-by-pixel digits, by cell.",
    description="Each cell (tanh RNN, IRNN, LSTM, GRU) trained on the adding problem, the copy-memory "
    "task and 8x8 digits read one pixel per step, each scored on a fixed held-out set against the "
    "best memoryless baseline.",
)
