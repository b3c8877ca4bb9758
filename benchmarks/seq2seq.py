"""Translation models side by side on the same test sentences, with the dictionary baseline;
captioning models beside their baselines.

    python benchmarks/seq2seq.py runs/tr-tut-none/best runs/tr-tut-additive/best
    python benchmarks/seq2seq.py A B --sentences 500 --beam-width 5
    python benchmarks/seq2seq.py --captions runs/cap-shapes/best runs/cap-digits/best

The first checkpoint is the peer (say the model without attention); every other row gets its
BLEU difference to it. Targets (issue 15): attention beats no attention by >= 5 BLEU at the
same parameter count; beam search beats greedy; the word-by-word dictionary far behind.
Captioning: >= 90% of held-out shapes captions true; digit strips read exactly on >= 90%, at or
above the classifier with a template.
"""

from __future__ import annotations

import argparse
import sys
import time

from machine import header  # benchmarks/machine.py

from seqlab.errors import SeqlabError
from seqlab.tasks.translate import evaluate_translation


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoints", nargs="*", help="translation checkpoints; the first is the peer")
    parser.add_argument("--captions", nargs="+", default=[], help="captioning checkpoints to score instead")
    parser.add_argument("--sentences", type=int, default=1000)
    parser.add_argument("--beam-width", type=int, default=5)
    args = parser.parse_args(argv)
    if args.captions:
        return captions(args.captions)
    if not args.checkpoints:
        parser.error("give translation checkpoints, or --captions CHECKPOINT ...")
    started = time.perf_counter()
    results = []
    for checkpoint in args.checkpoints:
        try:
            results.append(evaluate_translation(checkpoint, args.sentences, args.beam_width))
        except SeqlabError as error:
            print(f"benchmarks/seq2seq.py: {error}", file=sys.stderr)
            return 2
    print(f"{header('translation')}; sacreBLEU {results[0]['signature']}\n")
    print("| checkpoint | direction | attention | parameters | decoding | BLEU | chrF | BLEU - peer's |")
    print("|---|---|---|---:|---|---:|---:|---:|")
    peer = results[0]["scores"]
    for checkpoint, result in zip(args.checkpoints, results):
        for decoding, scores in result["scores"].items():
            if decoding.startswith("dictionary") and result is not results[0]:
                continue  # the same baseline for every model of one direction
            difference = scores["bleu"] - peer[decoding]["bleu"] if decoding in peer else float("nan")
            print(f"| `{checkpoint}` | {result['languages']} | {result['attention']} | {result['parameters']:,} | "
                  f"{decoding} | {scores['bleu']:.2f} | {scores['chrf']:.2f} | {difference:+.2f} |")
    print(f"\n{results[0]['sentences']} test sentences, {results[0]['references']} references; total "
          f"{time.perf_counter() - started:.0f} s")
    return 0


def captions(checkpoints: list[str]) -> int:
    """Each captioning checkpoint on its 1,000 test images beside its baselines, with issue 15's verdicts."""
    from seqlab.tasks.caption import evaluate_captions

    started = time.perf_counter()
    print(header("captioning") + "\n")
    print("| checkpoint | data | captioner | BLEU-4 | CIDEr-D | correct | distinct | target |")
    print("|---|---|---|---:|---:|---:|---:|---|")
    for checkpoint in checkpoints:
        try:
            result = evaluate_captions(checkpoint)
        except SeqlabError as error:
            print(f"benchmarks/seq2seq.py: {error}", file=sys.stderr)
            return 2
        scores = result["scores"]
        model = next(name for name in scores if name.startswith("model"))
        correct = scores[model]["correct"]
        if result["dataset"] == "shapes":
            verdict = f"true >= 90%: {'met' if correct >= 0.9 else 'missed'}"
        else:
            classifier = scores["digit classifier + template"]["correct"]
            met = correct >= 0.9 and correct >= classifier
            verdict = f"exact >= 90% and >= classifier ({100 * classifier:.1f}%): {'met' if met else 'missed'}"
        for name, s in scores.items():
            label = f"{name} (attention {result['attention']})" if name == model else name
            print(f"| `{checkpoint}` | {result['dataset']} | {label} | {s['bleu4']:.2f} | {s['cider_d']:.3f} | "
                  f"{100 * s['correct']:.1f}% | {100 * s['distinct']:.1f}% | {verdict if name == model else ''} |")
    print(f"\n{result['images']} test images each; total {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
