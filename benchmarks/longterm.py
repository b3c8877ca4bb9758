"""Long-term dependencies against the issue's targets, each beside the memoryless baseline.

    python benchmarks/longterm.py                 # gradients at init + the table's grid, timed (~14 min)
    python benchmarks/longterm.py --long          # + the LSTM on adding T=400
    python benchmarks/longterm.py --quick         # tiny step caps: checks the script, proves nothing

Tables, in markdown:

1. gradient decay at initialisation: ||dL/dh_t|| at lag 0 over lag 100 (float64, the loss
   on the last step), per cell; the peer is the IRNN, whose identity recurrence carries the
   gradient back unchanged;
2. the whole grid of `seqlab longterm table` (T <= 150) and its wall time against the
   20-minute budget;
3. the adding problem (Le, Jaitly & Hinton 2015) at T=150, from that grid (and T=400 with
   --long): held-out MSE beside the memoryless baseline 1/6 (predict 1.0), and the ratio.

Runs go two at a time (one thread each), which is what the 2-core machine does best with
these small models.
"""

from __future__ import annotations

import argparse
import datetime
import math
import os
import platform
import time

import torch

from seqlab.data.longterm import adding_batches
from seqlab.nn.registry import CELLS
from seqlab.tasks.gradients import adding_model, gradient_profile
from seqlab.tasks.longterm import TABLE_GRID, LongTermConfig, _table_configs, print_table, run_table

TARGET_DECAY_TANH = 1e3  # the tanh RNN's gradient falls by at least this over 100 lags
TARGET_TABLE_MINUTES = 20
LONG_STEPS = 6000


def gradient_decay(seed: int, lag: int = 100) -> dict[str, float]:
    """lag-0 over lag-`lag` gradient norm at init, per cell, as `seqlab gradients run` measures it."""
    probe, _ = next(adding_batches(lag + 1, 16, seed + 1))
    ratios = {}
    for cell in CELLS:
        torch.manual_seed(seed)
        profile = gradient_profile(adding_model(cell).layer, probe)
        ratios[cell] = math.inf if profile[lag] == 0 else profile[0] / profile[lag]
    return ratios


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--long", action="store_true", help="also train the LSTM on adding T=400")
    parser.add_argument("--quick", action="store_true", help="step caps / 100: a smoke test")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    scale = 0.01 if args.quick else 1.0
    started = time.perf_counter()

    print(f"# seqlab longterm benchmark, {datetime.date.today()}")
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, "
          f"{args.jobs} runs at a time x 1 thread, seed {args.seed}\n")

    print("#### 1. Gradient decay at initialisation, lag 0 / lag 100 (adding problem, hidden 32, float64)\n")
    ratios = gradient_decay(args.seed)
    print("| cell | decay | vs IRNN | target | met? |\n|---|---:|---:|---:|:---:|")
    for cell, ratio in ratios.items():
        target, met = "", ""
        if cell == "rnn":
            target, met = f">= {TARGET_DECAY_TANH:.0e}", _yes(ratio >= TARGET_DECAY_TANH)
        elif cell in ("irnn", "lstm"):
            target, met = "far less than tanh", _yes(ratio < ratios["rnn"] / 1e3)
        print(f"| {cell} | {ratio:.3g} | {ratio / ratios['irnn']:.3g}x | {target} | {met} |")

    print("\n#### 2. `seqlab longterm table` (T <= 150): every cell on every task, timed\n")
    table_started = time.perf_counter()
    table = run_table(_table_configs(args.seed, scale), args.jobs, report=lambda line: None)
    minutes = (time.perf_counter() - table_started) / 60
    print("```")
    print_table(table)
    print("```")
    print("\n| measure | seqlab | target | met? |\n|---|---:|---:|:---:|")
    print(f"| wall time, {len(table)} runs, {args.jobs} at a time | {minutes:.1f} min | <= {TARGET_TABLE_MINUTES} min | "
          f"{_yes(minutes <= TARGET_TABLE_MINUTES)} |")
    print("\nEach run stops at the first evaluation (every 100 steps) that meets its bar; step caps: "
          + ", ".join(f"{problem} T={length} {steps}" for problem, length, steps in TABLE_GRID)
          + (" (x 0.01: --quick)" if args.quick else "") + ".")

    adding = [r for r in table if r.problem == "adding" and r.length == 150]
    if args.long:
        # The LSTM twice: forget-gate bias 1 (the table's) and the chrono init, spans up to T.
        long_runs = [
            LongTermConfig("adding", "lstm", length=400, steps=max(1, round(LONG_STEPS * scale)), seed=args.seed, init=init)
            for init in ("default", "chrono")
        ]
        adding += run_table(long_runs, args.jobs, report=lambda line: None)
    print("\n#### 3. Adding problem: held-out MSE against the memoryless baseline (lower is better)\n")
    print("| T | cell | init | held-out MSE | baseline (predict 1.0) | ratio | steps | time | target | met? |")
    print("|---:|---|---|---:|---:|---:|---:|---:|---|:---:|")
    for r in adding:
        if r.cell == "rnn":
            target, met = "stays > 0.1", _yes(r.value > 0.1)
        elif r.cell in ("lstm", "irnn") and r.length == 150 or r.length == 400:
            target, met = "< 0.01", _yes(r.solved)
        else:
            target, met = "", ""
        print(f"| {r.length} | {r.cell} | {r.init} | {r.value:.4f} | {r.baseline:.4f} | {r.value / r.baseline:.3f} | "
              f"{r.steps} | {r.seconds:.0f} s | {target} | {met} |")
    if args.long:
        print(f"\nT=400: the LSTM with forget-gate bias 1 (default) and with the chrono init (Tallec & Ollivier "
              f"2018), step cap {LONG_STEPS}{' x 0.01' if args.quick else ''}; the target asks for at least one LSTM.")
    print(f"\n# total {time.perf_counter() - started:.0f} s")


def _yes(met: bool) -> str:
    return "yes" if met else "**no**"


if __name__ == "__main__":
    main()
