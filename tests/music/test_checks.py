"""Validity checks, form, and copy detection (seqlab.music.checks)."""

import pytest

from seqlab.music import (
    MIN_BARS,
    bar_texts,
    copied_bar_fraction,
    has_aabb,
    load_corpus,
    parse_error,
    rejection_reason,
    repeat_problems,
    validate,
)


def tune(body: str, headers: str = "X:1\nT:test\nM:C\nL:1/8\nK:G\n") -> str:
    return headers + body


GOOD = tune("GA|B2c2 d2e2|f2g2 a2b2|c'4 c'2:|\nga|b2a2 g2f2|e2d2 c2B2|A4 G2:|")


@pytest.fixture(scope="module")
def irish():
    return load_corpus().tunes


@pytest.fixture(scope="module")
def irish_results(irish):
    return [validate(t, check_parse=False) for t in irish]


# --------------------------------------------------------------------------- form


def test_aabb_is_exactly_two_repeated_sections():
    assert has_aabb(GOOD)
    assert not has_aabb(tune("B2c2 d2e2|f2g2 a2b2:|"))  # one repeat
    assert not has_aabb(tune("B2c2 d2e2:|f2g2 a2b2:|c8:|"))  # three
    assert not has_aabb(tune("B2c2 d2e2|f2g2 a2b2|]"))  # none
    # Variant endings belong to their section: still two repeats.
    assert has_aabb(tune("B2c2 d2e2|[1 f8:|[2 g8||\nc8|d8|[1 e8:|[2 f8|]"))
    # :: ends one repeat and starts the next.
    assert has_aabb(tune("|:B2c2 d2e2::f2g2 a2b2:|"))


def test_irish_aabb_share_matches_the_data_readme(irish_results):
    # shared/data/README.md: 66% of irish.abc has AABB form (two :|).
    share = sum(result.aabb for result in irish_results) / len(irish_results)
    assert share == pytest.approx(0.66, abs=0.01)


def test_repeat_problems():
    assert repeat_problems(GOOD) == []
    assert repeat_problems(tune("|:B2c2 d2e2|f2g2 a2b2:|")) == []
    assert repeat_problems(tune("|:B2c2 d2e2|f2g2 a2b2|]")) == [
        "a repeat |: is never closed with :|"
    ]
    assert "opened while another is open" in repeat_problems(tune("|:B2c2 d2e2|:f2g2 a2b2:|"))[0]
    assert "has no second ending" in repeat_problems(tune("B2c2 d2e2|[1 f8:|"))[0]
    assert "does not follow" in repeat_problems(tune("B2c2 d2e2|[2 f8:|"))[0]
    assert "does not end with :|" in repeat_problems(tune("B2c2 d2e2|[1 f8|[2 g8|]"))[0]


# --------------------------------------------------------------------------- validate


def test_a_good_tune_is_valid():
    result = validate(GOOD)
    assert result.valid, result.reasons
    assert result.parses and result.bars_ok and result.repeats_ok and result.aabb
    assert result.missing_headers == ()
    assert result.interior_bars == 4


def test_missing_headers():
    result = validate("X:1\nK:G\nB2c2 d2e2|f2g2 a2b2|]", check_parse=False)
    assert result.missing_headers == ("T", "M", "L")
    assert not result.valid
    assert "missing headers T:, M:, L:" in result.reasons


def test_broken_header_values():
    result = validate(
        tune("B2c2 d2e2|]", headers="X:1\nT:t\nM:9/0\nL:1/8\nK:G\n"), check_parse=False
    )
    assert any("bad M: field" in reason for reason in result.reasons)


def test_wrong_bar_lengths_are_reasons():
    result = validate(tune("GA|B2c2 d2e2|f2g2 a2|b2a2 g2f2|c'4 c'2:|"), check_parse=False)
    assert not result.bars_ok
    assert result.wrong_bars == 1
    assert any("lasts 6 units of L:1/8, M: asks for 8" in reason for reason in result.reasons)


def test_cut_off_text_is_not_valid():
    result = validate(tune("B2c2 d2e2|f2g2 a2b2|c'4 c'2 b"), check_parse=False)
    assert not result.ends_with_bar_line
    assert "the music stops in the middle of a bar (cut off?)" in result.reasons


def test_syntax_garbage_is_not_valid():
    result = validate(tune('B2c2 d2]e2|f2g2 "a2b2|'), check_parse=False)
    assert result.syntax_problems
    assert not result.valid


def test_no_music():
    assert "no music" in validate(tune(""), check_parse=False).reasons


def test_music21_parse_check():
    assert parse_error(GOOD) is None
    # Lengths of zero are not music: music21 divides by zero.
    assert parse_error(tune("A/0B c2|")) is not None
    assert "no notes" in parse_error(tune("|]"))
    assert not validate(tune("A/0B c2|")).parses


def test_irish_is_nearly_all_valid(irish_results):
    """The cheap checks accept all but a dozen irish.abc tunes; the ones they reject
    really are broken (a bar line left out, `M:3/4 egdB A2|` with music on the M:
    line, a stray letter)."""
    assert 785 <= sum(result.valid for result in irish_results) < 804


# --------------------------------------------------------------------------- copying


def test_bar_texts_ignore_spacing():
    assert bar_texts(tune("B2c2 d2e2|f2g2 a2 b2|]")) == ["B2c2d2e2", "f2g2a2b2"]


def test_copied_bar_fraction():
    training = [tune("A8|B8|c8|d8|e8|f8|]")]
    # Bars 2-5 of the training tune, then four new bars: 4 of 8 bars are copied.
    generated = [tune("B8|c8|d8|e8|g8|a8|b8|c'8|]")]
    assert copied_bar_fraction(generated, training) == 0.5
    # Three consecutive training bars are not a run of four.
    assert copied_bar_fraction([tune("B8|c8|d8|g8|a8|]")], training) == 0.0
    # Five copied bars: all five count (windows 1-4 and 2-5 overlap).
    assert copied_bar_fraction([tune("A8|B8|c8|d8|e8|]")], training) == 1.0
    # The run must be consecutive in one training tune, not stitched from two.
    split = [tune("A8|B8|]"), tune("c8|d8|]")]
    assert copied_bar_fraction([tune("A8|B8|c8|d8|]")], split) == 0.0
    assert copied_bar_fraction([tune("A8|B8|c8|d8|]")], split, run=2) == 1.0
    assert copied_bar_fraction([], training) == 0.0


def test_training_tunes_copy_themselves(irish):
    assert copied_bar_fraction(irish[:5], irish[:5]) > 0.95
    assert copied_bar_fraction(irish[:5], irish[5:50]) < 0.5


# --------------------------------------------------------------------------- generated tunes


def test_rejection_reason_keeps_valid_tunes_of_eight_bars_or_more():
    assert rejection_reason(GOOD) is None  # 8 bars and two pickups: 10 bars


def test_rejection_reason_is_validates_first_reason():
    broken = tune("B2c2 d2e2|f2g2 a2|b2c'2 d'4|]")
    assert rejection_reason(broken) == validate(broken).reasons[0]
    assert rejection_reason(GOOD.replace("T:test\n", "")) == "missing header T:"


def test_rejection_reason_refuses_fragments():
    short = tune("|:B2c2 d2e2|f2g2 a2b2:|")
    assert validate(short).valid
    assert rejection_reason(short) == f"too short: 2 bars (a tune has at least {MIN_BARS})"


def test_an_ending_that_starts_mid_bar_is_refused():
    """The second time through, a first ending that starts mid-bar plays a bar of the wrong length."""
    from seqlab.music import repeat_problems, validate

    head = "X:1\nT:t\nM:4/4\nL:1/8\nK:D\n|:ABcd efga|"
    mid_bar = head + "ABcd [1 efge:|[2 efga|]"
    at_bar_lines = [head + "ABcd efge|1 ABcd efge:|2 ABcd efga|]", head + "ABcd efge|[1 ABcd efge:|[2 ABcd efga|]"]
    assert repeat_problems(mid_bar) == ["ending [1 starts in the middle of a bar"]
    assert not validate(mid_bar, check_parse=False).valid
    for tune in at_bar_lines:
        assert repeat_problems(tune) == []


def test_rejection_reason_refuses_a_tune_stuck_in_a_loop(irish):
    from seqlab.music.checks import MAX_BAR_RUN, longest_bar_run

    four = tune("|:B2c2 d2e2|" + "f2g2 a2b2|" * 4 + "c'4 c'4|a2g2 f2e2|d8:|")
    assert longest_bar_run(four) == 4 and rejection_reason(four) is None  # as often as the corpus ever does
    stuck = tune("|:B2c2 d2e2|" + "f2g2 a2b2|" * 5 + "c'4 c'4|a2g2 f2e2|d8:|")
    assert rejection_reason(stuck) == f"stuck in a loop: one bar 5 times in a row (the corpus has at most {MAX_BAR_RUN})"
    assert max(longest_bar_run(t) for t in irish) == MAX_BAR_RUN
