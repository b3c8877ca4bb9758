"""Trajectories, measured: the ball predictor beside its baselines, against issue 14's targets.

    OMP_NUM_THREADS=1 python benchmarks/trajectory.py --train                 # train the default recipe (timed), then measure
    python benchmarks/trajectory.py --checkpoint runs/ball/best               # measure a trained model
    python benchmarks/trajectory.py --checkpoint runs/ball/best --world gust=0 hidden=0.2   # another world
    OMP_NUM_THREADS=1 python benchmarks/trajectory.py --pedestrians DIR      # five-fold ETH/UCY, leave one scene out

Prints `seqlab trajectory ball evaluate`'s table on the held-out test sequences (constant
velocity, the constant-acceleration Kalman filter and the true physics on the same sequences),
the model's FDE as a ratio to the Kalman filter's and to the floor's, and whether each target
holds: FDE at least 30% below the Kalman filter's, within 2x of the true physics, training in
10 minutes or less. With --pedestrians: per left-out scene, three models trained by the default recipe (the plain
encoder-decoder, one with attention over its neighbours, and that one with a Gaussian head),
each scene's ADE/FDE (metres) beside constant velocity and linear regression on the same
windows, best of 20 in a table of its own for the Gaussian head and for constant velocity with
a sampled turn, their averages, and the time the five folds took.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path

import torch

from machine import cpu_name  # benchmarks/machine.py
from seqlab.tasks.trajectory import (BALL, MODEL_NAME, PEDESTRIANS, BallDataConfig, evaluate_ball, evaluate_pedestrians,
                                     load_pedestrians, print_ball_table)
from seqlab.trajectory.pedestrians import SCENES

TRAINING_MINUTES = 10


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", default=None, help="a trained ball model (default: train one with --train)")
    parser.add_argument("--train", action="store_true", help="train the default recipe into --out first, timed")
    parser.add_argument("--out", default="runs/ball-benchmark", help="where --train writes (default runs/ball-benchmark)")
    parser.add_argument("--sequences", type=int, default=1000, help="held-out test sequences (default 1000)")
    parser.add_argument("--world", nargs="*", default=[], metavar="NAME=VALUE", help="test in another world, e.g. gust=0")
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    parser.add_argument("--pedestrians", default=None, metavar="DIR", help="run the five-fold ETH/UCY benchmark on DIR instead")
    parser.add_argument("--seeds", type=int, default=1, help="with --pedestrians: seeds per model, averaged (default 1)")
    parser.add_argument("--first-seed", type=int, default=0, help="with --pedestrians: the first seed (default 0)")
    parser.add_argument("--steps", type=int, default=None, help="with --pedestrians: training steps (default: the recipe's)")
    args = parser.parse_args()
    print(f"machine: {cpu_name()}, {torch.get_num_threads()} threads, torch {torch.__version__}")
    if args.pedestrians:
        pedestrian_benchmark(args.pedestrians, args.json, range(args.first_seed, args.first_seed + args.seeds), args.steps)
        return

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


# The models of the pedestrian benchmark: the plain encoder-decoder, the one that also looks at
# its neighbours, and that one with a Gaussian head (its mean path, and best of 20 of its draws).
PEDESTRIAN_MODELS = ({"social": "none", "head": "point"}, {"social": "attention", "head": "point"},
                     {"social": "attention", "head": "gaussian"})
BASELINE = "constant velocity"


def pedestrian_benchmark(folder: str, json_path: Path | None, seeds: range = range(1), steps: int | None = None) -> None:
    started, cpu_started = time.perf_counter(), time.process_time()
    per_scene = {}
    for scene in SCENES:
        config = PEDESTRIANS.default_config()
        config = replace(config, data=replace(config.data, data=folder, scene=scene),
                         train=replace(config.train, out_dir=None, progress=False, **({"steps": steps} if steps else {})))
        data = load_pedestrians(config.data)
        rows = {}
        for options in PEDESTRIAN_MODELS:
            runs = []
            for seed in seeds:
                trained = replace(config, model=replace(config.model, **options), train=replace(config.train, seed=seed))
                model, _ = PEDESTRIANS.fit(trained, data, announce=False)
                runs.append(evaluate_pedestrians(model, trained.data, data, baselines=False)["rows"])
            name = next(iter(runs[0]))
            rows[name] = {key: sum(run[name][key] for run in runs) / len(runs) for key in runs[0][name]}
        baselines = evaluate_pedestrians(model, config.data, data)
        rows |= {name: row for name, row in baselines["rows"].items() if name in (BASELINE, "linear regression")}
        per_scene[scene] = rows
        turn = baselines["turn_degrees"]
        print(f"{scene} ({time.perf_counter() - started:.0f} s, constant velocity's turn N(0, {turn:.0f} deg)): "
              + ", ".join(f"{name} {row['ade']:.3f}/{row['fde']:.3f}" for name, row in rows.items()), flush=True)
    minutes = (time.perf_counter() - started) / 60
    # CPU time: what one thread needed, whatever else the machine was running meanwhile
    cpu_minutes = (time.process_time() - cpu_started) / 60
    names = list(next(iter(per_scene.values())))
    average = {n: {k: sum(rows[n][k] for rows in per_scene.values()) / len(per_scene) for k in per_scene[scene][n]}
               for n in names}
    per_scene["average"] = average
    print(f"\nADE / FDE (metres), leave one scene out, 8 observed, 12 predicted; models averaged over seed(s) "
          f"{', '.join(map(str, seeds))}; five folds in {minutes:.1f} minutes wall clock, {cpu_minutes:.1f} of CPU time")
    stochastic = [name for name in names if "best_ade" in average[name]]
    for title, prefix, shown in (("deterministic", "", names), ("best of 20", "best_", stochastic)):
        print(f"\n{title}\n{'scene':<8}" + "".join(f"{name:>38}" for name in shown))
        for scene, rows in per_scene.items():
            print(f"{scene:<8}" + "".join(f"{rows[n][prefix + 'ade']:>29.3f} / {rows[n][prefix + 'fde']:.3f}" for n in shown))
    cv = average[BASELINE]
    print()
    for name in names:
        if name.startswith("LSTM"):
            model = average[name]
            met = model["ade"] <= cv["ade"] and model["fde"] <= cv["fde"]
            print(f"{'met ' if met else 'MISS'}  {name}: deterministic average ADE/FDE at or below constant velocity: "
                  f"{model['ade'] / cv['ade']:.3f}x / {model['fde'] / cv['fde']:.3f}x")
    print(f"{'met ' if minutes <= 20 else 'MISS'}  five folds in <= 20 minutes: {minutes:.1f} wall clock "
          f"({cpu_minutes:.1f} of CPU time)")
    if json_path:
        json_path.write_text(json.dumps({"scenes": per_scene, "minutes": minutes, "cpu_minutes": cpu_minutes,
                                         "seeds": list(seeds)}, indent=2))


if __name__ == "__main__":
    main()
