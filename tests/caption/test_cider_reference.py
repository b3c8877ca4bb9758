"""seqlab's CIDEr-D against the COCO evaluation's own scorer: tests/caption/cider_reference.json
holds 120 candidate captions with five references each and the score pycocoevalcap 1.2 gave
them (written by benchmarks/cider_crosscheck.py --write; the package itself is not needed here)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from seqlab.caption.metrics import cider_d

REFERENCE = json.loads((Path(__file__).parent / "cider_reference.json").read_text(encoding="utf-8"))


def test_cider_d_matches_pycocoevalcap_on_the_stored_captions():
    assert cider_d(REFERENCE["candidates"], REFERENCE["references"]) == pytest.approx(
        REFERENCE["pycocoevalcap_cider"], abs=1e-9)


def test_the_stored_scores_spread_so_the_check_can_fail():
    per_image = REFERENCE["pycocoevalcap_per_image"]
    assert min(per_image) < 1.0 < 5.0 < max(per_image)  # wrong, short and fair guesses all present
    # Scoring the candidates against the wrong scenes' references moves the score far off.
    shifted = REFERENCE["references"][1:] + REFERENCE["references"][:1]
    assert abs(cider_d(REFERENCE["candidates"], shifted) - REFERENCE["pycocoevalcap_cider"]) > 1.0
