"""The forecast recipe's tuning harness: trains with the given settings and prints the best
VALIDATION MASE only. It never forecasts a test window, so the per-data-set presets chosen
with it (seqlab.tasks.forecast.PRESETS) were chosen without the test set.

    OMP_NUM_THREADS=1 python benchmarks/forecast_validation.py --only elnino model.anchor=seasonal train.steps=3000
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import replace

import numpy as np

from seqlab.forecast import transforms
from seqlab.forecast.metrics import score
from seqlab.tasks.forecast import TASK, origin_windows, preset_for
from seqlab.tasks.frame import config_with

from forecast import DATA_SETS  # benchmarks/forecast.py: the same five rows


def anchor_alone(config, result) -> str:
    """The validation MASE of an anchored model's anchor by itself (what the network corrects)."""
    if config.model.anchor == "none":
        return ""
    data = TASK.prepare(config, TASK.load_data(config))
    _, windows = origin_windows(data, "validation", data.protocol.context, data.protocol.horizon)
    median = transforms.inverse(windows.anchor.numpy() * windows.sd[:, None] + windows.mean[:, None], data.transform)
    quantiles = np.repeat(median[..., None], 5, axis=-1)
    return f"(the {config.model.anchor} anchor alone {score(windows.actual, quantiles, windows.scales, windows.observed)['mase']:.4f}) "


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default=None, help="the data sets whose row name contains this (several: a|b)")
    parser.add_argument("--preset", default=None, help="the preset under the overrides (default: the data set's)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("overrides", nargs="*", help="section.name=value, e.g. train.steps=3000 model.members=5")
    args = parser.parse_args()
    overrides: dict[str, dict] = {}
    for item in args.overrides:
        key, value = item.split("=", 1)
        section, name = key.split(".")
        default = getattr(getattr(TASK.default_config(), section), name)
        kind = int if default is None else type(default)  # the protocol's None: the data set's own number
        overrides.setdefault(section, {})[name] = value.lower() == "true" if kind is bool else kind(value)
    for row, data, column, horizon in DATA_SETS:
        if args.only is not None and not any(part in row for part in args.only.split("|")):
            continue
        config = TASK.default_config(args.preset or preset_for(data, horizon))
        config = replace(config, data=replace(config.data, data=data, column=column, horizon=horizon))
        config = config_with(config, overrides)
        started = time.perf_counter()
        with tempfile.TemporaryDirectory() as out:
            config = replace(config, train=replace(config.train, seed=args.seed, progress=False, out_dir=out))
            result = TASK.train(config)
            anchor = anchor_alone(config, result)
        print(f"VALIDATION {row} | {' '.join(args.overrides) or '(preset)'} | best val MASE {result.best_metric:.4f} "
              f"{anchor}| {(time.perf_counter() - started) / 60:.1f} min", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
