"""Trajectories, measured: the ball predictor beside its baselines, against issue 14's targets.

    OMP_NUM_THREADS=1 python benchmarks/trajectory.py --train                 # train the default recipe (timed), then measure
    python benchmarks/trajectory.py --checkpoint runs/ball/best               # measure a trained model
    python benchmarks/trajectory.py --checkpoint runs/ball/best --world gust=0 hidden=0.2   # another world

Prints `seqlab trajectory ball evaluate`'s table on the held-out test sequences (constant
velocity, the constant-acceleration Kalman filter and the true physics on the same sequences),
the model's FDE as a ratio to the Kalman filter's and to the floor's, and whether each target
holds: FDE at least 30% below the Kalman filter's, within 2x of the true physics, training in
10 minutes or less.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from dataclasses import replace
from pathlib import Path

import torch

from seqlab.tasks.trajectory import BALL, MODEL_NAME, BallDataConfig, evaluate_ball, print_ball_table

TRAINING_MINUTES = 10


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", default=None, help="a trained ball model (default: train one with --train)")
    parser.add_argument("--train", action="store_true", help="train the default recipe into --out first, timed")
    parser.add_argument("--out", default="runs/ball-benchmark", help="where --train writes (default runs/ball-benchmark)")
    parser.add_argument("--sequences", type=int, default=1000, help="held-out test sequences (default 1000)")
    parser.add_argument("--world", nargs="*", default=[], metavar="NAME=VALUE", help="test in another world, e.g. gust=0")
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = parser.parse_args()
    print(f"machine: {cpu_name()}, {torch.get_num_threads()} threads, torch {torch.__version__}")

    minutes = cpu_minutes = None
    checkpoint = args.checkpoint
    if args.train:
        config = BALL.default_config()
        config = replace(config, train=replace(config.train, out_dir=args.out, progress=False))
        started, cpu_started = time.perf_counter(), time.process_time()
        result = BALL.train(config)
        minutes = (time.perf_counter() - started) / 60
        # CPU time: what one thread needed, whatever else the machine was running meanwhile
        cpu_minutes = (time.process_time() - cpu_started) / 60
        print(f"training: {minutes:.1f} minutes wall clock, {cpu_minutes:.1f} minutes of CPU time")
        checkpoint = str(result.best_checkpoint)
    if checkpoint is None:
        parser.error("give --checkpoint DIR or --train")

    model, _, stored = BALL.load(checkpoint)
    world = {**stored["data"]}
    for item in args.world:
        name, _, value = item.partition("=")
        world[name] = type(world[name])(value)
    results = evaluate_ball(model, BallDataConfig(**world), args.sequences)
    results.update(checkpoint=checkpoint, training_minutes=minutes, training_cpu_minutes=cpu_minutes, steps=stored.get("step"))
    print_ball_table(results)

    rows = results["rows"]
    model_fde = rows[MODEL_NAME]["fde"]
    kalman = rows["Kalman (constant acceleration)"]["fde"]
    floor = rows["true physics (floor)"]["fde"]
    targets = [
        ("FDE at least 30% below the Kalman filter's", f"{model_fde / kalman:.3f}x Kalman", model_fde <= 0.7 * kalman),
        ("FDE within 2x of the true physics", f"{model_fde / floor:.2f}x the floor", model_fde <= 2 * floor),
    ]
    if minutes is not None:
        targets.append((f"training in <= {TRAINING_MINUTES} minutes", f"{minutes:.1f} min wall, {cpu_minutes:.1f} min CPU",
                        minutes <= TRAINING_MINUTES))
    print()
    for target, measured, met in targets:
        print(f"{'met ' if met else 'MISS'}  {target:<46} {measured}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
