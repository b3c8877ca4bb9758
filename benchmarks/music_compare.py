"""Music models side by side on every measure of `seqlab music evaluate`, in one run.

    python benchmarks/music_compare.py runs/v5-plain/best runs/v5-copy/best
    python benchmarks/music_compare.py seqlab/music/pretrained runs/v5-copy/best --samples 100 --seed 1

The first checkpoint is the peer (say the plain LSTM); each other gets its ratio to it on
held-out bits/char and on the probability of writing a repeated bar out again. Every model
samples the same number of tunes at temperature 1.0 with no filtering and the same seed, and
is measured on the same held-out tunes (their own values are the last column), so the table
answers "same data, same budget: what did attention change?" (issue 11).
"""

from __future__ import annotations

import argparse
import sys
import time

from machine import header  # benchmarks/machine.py

from seqlab.errors import SeqlabError
from seqlab.tasks.music import evaluate_music

TARGETS = {  # issue 11's, for 200 free samples
    "held_out_bits_per_char": "<= 1.17",
    "parse_and_play": ">= 95%",
    "all_bars_right": ">= 90%",
    "copied_bars": "0 runs of 4",
    "repeated_bars": ">= 20%",
    "tunes_without_repeat": "<= 20%",
    "ending_on_tonic": ">= 70%",
    "meter_distance_to_training": "<= 0.10",
    "shared_openings": "0",
}


def percent(value: float) -> str:
    return f"{100 * value:.1f}%"


def rows(result: dict) -> dict[str, str]:
    """The measures of one evaluate_music result, formatted, by name."""
    form = result["form"]
    repeat = result["held_out_repeat_probability"]
    return {
        "held_out_bits_per_char": f"{result['held_out_bits_per_char']:.3f}",
        "held_out_repeat_probability": "-" if repeat is None else f"{repeat:.3g}",
        "parse_and_play": percent(result["parse_and_play"]),
        "all_bars_right": percent(result["all_bars_right"]),
        "aabb": percent(result["aabb"]),
        "copied_bars": percent(result["copied_bars"]),
        "repeated_bars": percent(form["repeated_bars"]),
        "tunes_without_repeat": percent(form["tunes_without_repeat"]),
        "recurring_phrases": percent(form["recurring_phrases"]),
        "ending_on_tonic": percent(form["ending_on_tonic"]),
        "meter_distance_to_training": f"{result['meter_distance_to_training']:.3f}",
        "shared_openings": str(form["shared_openings"]),
        "sampling_seconds": f"{result['sampling_seconds']:.0f} s",
    }


def held_out_rows(result: dict) -> dict[str, str]:
    """The held-out tunes' own values, where they have one."""
    form = result["held_out_form"]
    return {
        "repeated_bars": percent(form["repeated_bars"]),
        "tunes_without_repeat": percent(form["tunes_without_repeat"]),
        "recurring_phrases": percent(form["recurring_phrases"]),
        "ending_on_tonic": percent(form["ending_on_tonic"]),
        "meter_distance_to_training": f"{result['held_out_meter_distance_to_training']:.3f}",
        "shared_openings": str(form["shared_openings"]),
    }


LABELS = {
    "held_out_bits_per_char": "held-out bits/char",
    "held_out_repeat_probability": "P(a repeated bar written out again), held-out median",
    "parse_and_play": "parse and play",
    "all_bars_right": "every interior bar right",
    "aabb": "AABB form",
    "copied_bars": "bars in runs of 4+ copied from training tunes",
    "repeated_bars": "bars repeating an earlier bar of the tune",
    "tunes_without_repeat": "tunes with no repeated bar",
    "recurring_phrases": "two-bar phrases recurring",
    "ending_on_tonic": "tunes ending on the tonic",
    "meter_distance_to_training": "meters, TV distance to the training tunes'",
    "shared_openings": "tunes opening with an earlier tune's first two bars",
    "sampling_seconds": "sampling time",
}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoints", nargs="+", help="checkpoint directories; the first is the peer")
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    results = []
    started = time.perf_counter()
    for checkpoint in args.checkpoints:
        try:
            results.append(evaluate_music(checkpoint, args.samples, seed=args.seed))
        except SeqlabError as error:
            print(f"benchmarks/music_compare.py: {error}", file=sys.stderr)
            return 2
    print(f"{header('music models compared')}; {args.samples} free samples each at T = 1.0, seed {args.seed}\n")
    formatted = [rows(result) for result in results]
    peer = results[0]
    columns = ["measure", *(f"`{c}`" for c in args.checkpoints), "held-out tunes", "target"]
    print("| " + " | ".join(columns) + " |")
    print("|---|" + "---:|" * (len(columns) - 2) + ":---:|")
    own = held_out_rows(peer)
    for key, label in LABELS.items():
        cells = []
        for index, (result, values) in enumerate(zip(results, formatted)):
            cell = values[key]
            if index and key in ("held_out_bits_per_char", "held_out_repeat_probability"):
                mine, theirs = result[key], peer[key]
                if mine is not None and theirs:
                    cell += f" ({mine / theirs:.2f}x)"
            cells.append(cell)
        print(f"| {label} | " + " | ".join(cells) + f" | {own.get(key, '')} | {TARGETS.get(key, '')} |")
    print(f"\n# total {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
