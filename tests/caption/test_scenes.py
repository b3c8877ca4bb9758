"""seqlab.caption: scenes and their checker, digit strips, CIDEr-D."""

import numpy as np
import pytest

from seqlab.caption.digits import WORDS, digit_scans, make_strips, read_number
from seqlab.caption.metrics import cider_d
from seqlab.caption.scenes import Shape, describe, draw, is_true, random_scene, relation

RED = Shape("circle", "red", "small", 10, 30)
BLUE = Shape("square", "blue", "large", 50, 34)
GREEN = Shape("triangle", "green", "small", 30, 20)


def test_every_described_scene_is_true_and_the_checker_catches_lies():
    rng = np.random.default_rng(0)
    for _ in range(300):
        scene = random_scene(rng)
        assert is_true(describe(scene, rng), scene)
    assert is_true("a small red circle to the left of a large blue square", [RED, BLUE])
    assert is_true("a large blue square to the right of a small red circle", [RED, BLUE])
    assert not is_true("a small red circle to the right of a large blue square", [RED, BLUE])  # wrong relation
    assert not is_true("a small red circle", [RED, BLUE])  # leaves a shape out
    assert not is_true("a large red circle to the left of a large blue square", [RED, BLUE])  # wrong size
    assert not is_true("a small red circle to the left of a small red circle", [RED, BLUE])  # one shape twice
    assert is_true("a small red circle , a small green triangle and a large blue square", [RED, BLUE, GREEN])
    assert not is_true("a small green triangle , a small red circle and a large blue square", [RED, BLUE, GREEN])
    assert not is_true("circle red a", [RED])


def test_relations_and_drawing():
    assert relation(RED, BLUE) == "to the left of" and relation(GREEN, Shape("circle", "red", "small", 32, 50)) == "above"
    image = draw([RED])
    assert image.shape == (64, 64, 3) and image.dtype == np.uint8
    assert tuple(image[30, 10]) == (220, 40, 40) and tuple(image[5, 60]) == (235, 235, 235)


def test_digit_strips_are_captioned_with_their_number_words():
    (train_x, train_y), (held_x, held_y) = digit_scans()
    assert len(train_x) + len(held_x) == 1797
    strips, captions, numbers = make_strips(train_x, train_y, 20, np.random.default_rng(0))
    assert all(s.shape == (16, 80, 3) for s in strips)
    for caption, number in zip(captions, numbers):
        assert 3 <= len(number) <= 5 and read_number(caption) == number
    assert read_number("three apple") is None and WORDS[7] == "seven"


def test_cider_d_rewards_agreement():
    references = [["a small red circle"], ["a large blue square above a small green triangle"]]
    perfect = cider_d(["a small red circle", "a large blue square above a small green triangle"], references)
    wrong = cider_d(["a large blue square", "a small red circle"], references)
    assert perfect > 5 * max(wrong, 1e-9) and perfect > 1.0
    with pytest.raises(ValueError):
        cider_d(["a"], [])
