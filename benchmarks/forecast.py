"""The forecast task against issue 13's targets: the recurrent forecaster beside naive, seasonal
naive, ETS, Theta and ARIMA on the same rolling origins, one data set after another, and beside
climatology (the mean of earlier seasons), which the issue did not ask for and which is hard to
beat on weather a month ahead and on sea temperature a year ahead.

    OMP_NUM_THREADS=1 python benchmarks/forecast.py                 # the five series, default settings
    python benchmarks/forecast.py --only co2 --steps 300            # a quicker look at one
    OMP_NUM_THREADS=1 python benchmarks/forecast.py --seeds 3       # scores averaged over seeds 0, 1, 2
    OMP_NUM_THREADS=1 python benchmarks/forecast.py --seeds 3 --jobs 2   # the same, two runs at a time

For each data set: `seqlab forecast train` with the preset `seqlab forecast train --data NAME`
picks (seqlab.tasks.forecast.preset_for: chosen on the validation windows only, by
benchmarks/forecast_validation.py), checkpoints in a temporary folder; then `seqlab forecast evaluate` of the best checkpoint with the baselines, timed
together. Prints markdown: a table data set x model x metric (MASE, sMAPE, 80% and 95%
coverage), then one row per data set with the ratio of the LSTM's MASE to the best classical
one and to climatology's, which targets are met, and the wall time.

Targets: beat seasonal naive on every data set; beat the best classical model on MASE on at
least 3 of 5; 80% intervals cover 75-85%, 95% intervals 90-98%; train + evaluate <= 10 minutes.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import replace
from multiprocessing import get_context

import numpy as np
import torch

from machine import cpu_name  # benchmarks/machine.py
from seqlab.tasks.forecast import RECURRENT, TASK, evaluate_forecaster, preset_for

# (row name, --data, --column, --horizon)
DATA_SETS = [
    ("co2, 52 weeks", "co2", "", 52),
    ("seattle temp_max, 7 days", "seattle-weather", "temp_max", 7),
    ("seattle temp_max, 30 days", "seattle-weather", "temp_max", 30),
    ("elnino, 12 months", "elnino", "", 12),
    ("sunspots, 11 years", "sunspots", "", 11),
]
CLASSICAL = ("naive", "seasonal naive", "ETS", "Theta", "ARIMA")
MINUTES = 10


def run_one(data: str, column: str, horizon: int, steps: int | None, seed: int, members: int | None,
            keep: str | None = None) -> dict:
    """Train with the data set's preset and evaluate the best checkpoint; with `keep`, the run
    stays in that folder (one subfolder per data set and horizon), else in a temporary one."""
    preset = preset_for(data, horizon)  # chosen on the validation windows (benchmarks/forecast_validation.py)
    config = TASK.default_config(preset)
    config = replace(config, data=replace(config.data, data=data, column=column, horizon=horizon))
    train = replace(config.train, seed=seed, progress=False, **({"steps": steps} if steps else {}))
    model = replace(config.model, **({"members": members} if members else {}))
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as scratch:
        out = f"{keep}/{data}-{horizon}" if keep else scratch
        config = replace(config, train=replace(train, out_dir=out), model=model)
        TASK.train(config)
        trained = time.perf_counter() - started
        results = evaluate_forecaster(TASK.load(f"{out}/best"))
    results["preset"] = preset
    results["train_seconds"] = round(trained, 1)
    results["total_seconds"] = round(time.perf_counter() - started, 1)
    return results


def verdicts(scores: dict, seconds: float) -> dict:
    lstm = scores[RECURRENT]
    best = min(CLASSICAL, key=lambda name: scores[name]["mase"])
    return {
        "best_classical": best,
        "ratio": lstm["mase"] / scores[best]["mase"],
        "climatology_ratio": lstm["mase"] / scores["climatology"]["mase"] if "climatology" in scores else float("nan"),
        "beats_seasonal_naive": lstm["mase"] < scores["seasonal naive"]["mase"],
        "beats_best_classical": lstm["mase"] < scores[best]["mase"],
        "coverage80_ok": 0.75 <= lstm["coverage80"] <= 0.85,
        "coverage95_ok": 0.90 <= lstm["coverage95"] <= 0.98,
        "time_ok": seconds <= 60 * MINUTES,
    }


def yes(flag: bool) -> str:
    return "yes" if flag else "**no**"


def print_tables(rows: list[tuple[str, dict]]) -> None:
    print("| data set | model | MASE | sMAPE % | 80% coverage | 95% coverage |")
    print("|---|---|---:|---:|---:|---:|")
    for name, results in rows:
        scores = results["overall"]
        for model, s in scores.items():
            label = f"**{model}**" if model == RECURRENT else model
            print(f"| {name} | {label} | {s['mase']:.3f} | {s['smape']:.2f} | {100 * s['coverage80']:.1f}% | "
                  f"{100 * s['coverage95']:.1f}% |")
    print()
    print("| data set | LSTM / best classical MASE | beats seasonal naive | beats best classical | "
          "LSTM / climatology | 80% in 75-85% | 95% in 90-98% | train + evaluate | <= 10 min |")
    print("|---|---:|:---:|:---:|---:|:---:|:---:|---:|:---:|")
    wins = 0
    for name, results in rows:
        v = verdicts(results["overall"], results["total_seconds"])
        wins += v["beats_best_classical"]
        print(f"| {name} | {v['ratio']:.3f} ({v['best_classical']}) | {yes(v['beats_seasonal_naive'])} | "
              f"{yes(v['beats_best_classical'])} | {v['climatology_ratio']:.3f} | {yes(v['coverage80_ok'])} | {yes(v['coverage95_ok'])} | "
              f"{results['total_seconds'] / 60:.1f} min (train {results['train_seconds'] / 60:.1f}) | "
              f"{yes(v['time_ok'])} |")
    print(f"\nThe LSTM beats the best classical model on MASE on {wins} of {len(rows)} series (target: at least 3).")


def averaged(runs: list[dict]) -> dict:
    """One data set's runs with different seeds as one result: every score the mean over the
    seeds (the classical models' are the same in each), times the mean, each seed's LSTM MASE kept."""
    first = runs[0]
    result = dict(first)
    result["overall"] = {model: {metric: float(np.mean([run["overall"][model][metric] for run in runs]))
                                 for metric in scores} for model, scores in first["overall"].items()}
    for key in ("train_seconds", "total_seconds"):
        result[key] = float(np.mean([run[key] for run in runs]))
    result["seed_mase"] = [run["overall"][RECURRENT]["mase"] for run in runs]
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default=None, help="run only the data sets whose row name contains this (several: a|b)")
    parser.add_argument("--steps", type=int, default=None, help="training steps (default: the preset's)")
    parser.add_argument("--members", type=int, default=None, help="ensemble members (default: the preset's)")
    parser.add_argument("--seed", type=int, default=0, help="the first seed")
    parser.add_argument("--seeds", type=int, default=1, help="train this many seeds from --seed on and average their scores")
    parser.add_argument("--json", default=None, help="also write every result to this JSON file")
    parser.add_argument("--jobs", type=int, default=1, help="training runs side by side, one process each (default: 1)")
    parser.add_argument("--keep", default=None, help="keep the trained runs in this folder (default: thrown away)")
    args = parser.parse_args()
    chosen = [row for row in DATA_SETS if args.only is None or any(part in row[0] for part in args.only.split("|"))]
    seeds = list(range(args.seed, args.seed + args.seeds))
    print(f"{cpu_name()}, {torch.get_num_threads()} torch thread(s) (OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}), "
          f"seed(s) {', '.join(map(str, seeds))}, each data set's preset{f', {args.steps} steps' if args.steps else ''}\n")
    jobs = [(name, data, column, horizon, seed) for name, data, column, horizon in chosen for seed in seeds]
    done: dict[tuple[str, int], dict] = {}

    def report(name: str, seed: int, result: dict) -> None:
        done[name, seed] = result
        print(f"{name}: preset {result['preset']}, seed {seed}, LSTM MASE {result['overall'][RECURRENT]['mase']:.3f}, "
              f"{result['total_seconds']:.0f} s", flush=True)

    def keep_for(seed: int) -> str | None:
        return f"{args.keep}/seed{seed}" if args.keep and len(seeds) > 1 else args.keep

    if args.jobs > 1:  # one process per training run, each with the threads OMP_NUM_THREADS allows
        with ProcessPoolExecutor(args.jobs, mp_context=get_context("spawn")) as pool:
            futures = {pool.submit(run_one, data, column, horizon, args.steps, seed, args.members, keep_for(seed)): (name, seed)
                       for name, data, column, horizon, seed in jobs}
            for future in as_completed(futures):
                report(*futures[future], future.result())
    else:
        for name, data, column, horizon, seed in jobs:
            report(name, seed, run_one(data, column, horizon, args.steps, seed, args.members, keep_for(seed)))
    rows = []
    for name, *_ in chosen:
        runs = [done[name, seed] for seed in seeds]
        rows.append((name, averaged(runs) if len(runs) > 1 else runs[0]))
    print()
    if len(seeds) > 1:
        print(f"Every score below is the mean over the {len(seeds)} seeds; the LSTM's MASE per seed:\n")
        for name, results in rows:
            print(f"- {name}: {', '.join(f'{m:.3f}' for m in results['seed_mase'])}")
        print()
    print_tables(rows)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as file:
            json.dump(dict(rows), file, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
