"""Tune form: repeated bars and phrases, the final note against the key, meters."""

import pytest

from seqlab.music import held_out_split, load_corpus
from seqlab.music.form import form_of, form_statistics, last_note, tonic, total_variation

AABB = """X:1
T:Test
M:4/4
L:1/8
K:D Major
|:DEFG ABcd|DEFG ABcd|efge fdec|d2d2 d4:|
|:fgaf gfed|fgaf gfed|cdec BcdB|A2A2 A4:|"""


def test_repeated_bars_and_phrases_are_counted_within_a_tune():
    form = form_of(AABB)
    assert form.bars == 8
    assert form.repeated_bars == 2  # the second bar of each part repeats the first
    assert form.phrases == 7
    assert form.recurring_phrases == 0  # no pair of bars comes back
    assert form.meter == "4/4"


def test_tonic_and_last_note():
    assert tonic(AABB) == "D"
    assert tonic(AABB.replace("K:D Major", "K:Ador")) == "A"
    assert tonic(AABB.replace("K:D Major", "K:none")) is None
    assert last_note(AABB) == "A"  # A4, the tune ends on the dominant
    assert not form_of(AABB).ends_on_tonic
    home = AABB.replace("A2A2 A4:|", "A2F2 D4:|")
    assert last_note(home) == "D" and form_of(home).ends_on_tonic
    # Accidentals, octave marks and lengths do not hide the letter.
    assert last_note(home.replace("D4:|", "^d'4:|")) == "D"


def test_statistics_of_the_corpus_match_its_published_figures():
    train, _ = held_out_split(load_corpus("irish").tunes)
    stats = form_statistics(train)
    assert stats["tunes"] == 724
    assert 0.29 < stats["repeated_bars"] < 0.34  # about a third of bars repeat
    assert stats["tunes_without_repeat"] < 0.05
    assert 0.65 < stats["ending_on_tonic"] < 0.85
    assert stats["meters"]["C"] == pytest.approx(0.493, abs=0.01)


def test_total_variation():
    assert total_variation({"C": 0.5, "6/8": 0.5}, {"C": 0.5, "6/8": 0.5}) == 0.0
    assert total_variation({"C": 1.0}, {"6/8": 1.0}) == 1.0
    assert total_variation({"C": 0.75, "6/8": 0.25}, {"C": 0.25, "6/8": 0.5, "2/4": 0.25}) == 0.5


def test_bar_spans_point_at_the_bars_as_written():
    from seqlab.music.form import bar_spans

    spans = bar_spans(AABB)
    assert len(spans) == 8
    start, end, text = spans[0]
    assert AABB[start:end] == "DEFG ABcd" and text == "DEFGABcd"
    assert [text for _, _, text in spans][:2] == ["DEFGABcd", "DEFGABcd"]
    assert AABB[spans[-1][0]:spans[-1][1]] == "A2A2 A4"


def test_tunes_opening_with_the_same_two_bars_are_counted():
    other = AABB.replace("|:DEFG ABcd|DEFG ABcd|", "|:DEFG ABcd|dcBA GFED|")  # same first bar, not two
    assert form_of(AABB).opening == "DEFGABcd|DEFGABcd"
    stats = form_statistics([AABB, other, AABB, AABB.replace("T:Test", "T:Again")])
    assert stats["shared_openings"] == 2  # the third and fourth open as the first did
    assert form_statistics([AABB, other])["shared_openings"] == 0
