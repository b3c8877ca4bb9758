"""seqlab's CIDEr-D beside the COCO evaluation's own scorer (pycocoevalcap's Cider, whose code is
CIDEr-D: clipped counts, sigma-6 length penalty, x10), on captions of random shapes scenes.

    pip install pycocoevalcap            # 104 MB (it carries Java jars); only this script needs it
    python benchmarks/cider_crosscheck.py [--scenes 300] [--write tests/caption/cider_reference.json]

Each scene gets five true captions as references; its candidate is a caption of the same scene
(a fair guess), of another scene (wrong) or a shortened one, so the scores spread. Prints both
corpus scores and their difference; --write stores the captions with pycocoevalcap's score so
that tests/caption/test_cider_reference.py checks seqlab's scorer against it without the package.
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from seqlab.caption.metrics import cider_d
from seqlab.caption.scenes import describe, random_scene


def captions(scenes: int, seed: int) -> tuple[list[str], list[list[str]]]:
    rng = np.random.default_rng(seed)
    drawn = [random_scene(rng) for _ in range(scenes)]
    references = [[describe(shapes, rng) for _ in range(5)] for shapes in drawn]
    candidates = []
    for i, shapes in enumerate(drawn):
        kind = i % 3
        if kind == 0:
            candidates.append(describe(shapes, rng))
        elif kind == 1:
            candidates.append(describe(drawn[(i + 1) % scenes], rng))
        else:
            candidates.append(" ".join(describe(shapes, rng).split()[:4]))
    return candidates, references


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenes", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--write", default=None, help="store the captions and pycocoevalcap's score in this JSON file")
    args = parser.parse_args()
    from pycocoevalcap.cider.cider import Cider

    candidates, references = captions(args.scenes, args.seed)
    theirs, per_image = Cider().compute_score({i: refs for i, refs in enumerate(references)},
                                              {i: [c] for i, c in enumerate(candidates)})
    ours = cider_d(candidates, references)
    print("| scorer | CIDEr-D |\n|---|---:|")
    print(f"| pycocoevalcap 1.2 Cider | {theirs:.12f} |\n| seqlab.caption.metrics.cider_d | {ours:.12f} |")
    print(f"\n{args.scenes} scenes, 5 references each; difference {abs(ours - theirs):.2e}")
    if args.write:
        with open(args.write, "w", encoding="utf-8") as file:
            json.dump({"made_by": "python benchmarks/cider_crosscheck.py --write (pycocoevalcap 1.2)",
                       "candidates": candidates, "references": references, "pycocoevalcap_cider": theirs,
                       "pycocoevalcap_per_image": [float(x) for x in per_image]}, file, indent=0)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
