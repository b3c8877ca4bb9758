"""Dances: tempo from the rhythm or the meter, keys as the corpus writes them, asking for a dance."""

import pytest
import torch

from seqlab.music import MusicError
from seqlab.music.abc import header_value
from seqlab.music.dance import dance_of, dance_start, key_value, with_tempo
from seqlab.music.render import abc_to_midi
from seqlab.music.synth import read_midi_notes

JIG = "X:1\nT:t\nM:6/8\nL:1/8\nK:D Major\nDEF GAB|AFD D3|]"


def test_the_dance_comes_from_r_or_the_meter():
    assert dance_of(JIG) == "jig"
    assert dance_of(JIG.replace("M:6/8", "M:C|")) == "reel"
    assert dance_of(JIG.replace("M:6/8", "R:Hornpipe\nM:C|")) == "hornpipe"
    assert dance_of(JIG.replace("M:6/8", "M:5/4")) is None


def test_a_tune_gets_its_dance_tempo_and_plays_faster(tmp_path):
    quick = with_tempo(JIG)
    assert header_value(quick, "Q") == "3/8=110"
    assert quick.split("\n")[4] == "Q:3/8=110" and quick.split("\n")[5].startswith("K:")  # before K:
    assert with_tempo(quick) == quick  # a tune's own Q: stays
    assert header_value(with_tempo(quick, 60), "Q") == "3/8=60"  # unless a tempo is asked for
    assert header_value(with_tempo(JIG.replace("M:6/8", "M:5/4")), "Q") == "1/4=120"

    def seconds(tune):
        return max(note.end for note in read_midi_notes(abc_to_midi(tune, tmp_path / "t.mid")))

    # Two 6/8 bars are four dotted-quarter beats: 4 / 110 minutes at the jig's tempo; music21's
    # own default (120 quarter notes a minute) took 3 s, a slow air's pace.
    assert seconds(quick) == pytest.approx(4 * 60 / 110, rel=0.02)
    assert seconds(JIG) == pytest.approx(3.0, rel=0.02)
    with pytest.raises(MusicError, match="from 20 to 400"):
        with_tempo(JIG, 10_000)


@pytest.mark.parametrize("text, value", [("D", "D Major"), ("Em", "E Minor"), ("Ador", "A Dorian"),
                                         ("gmix", "G Mixolydian"), ("F#m", "F# Minor"), ("Bb", "Bb Major")])
def test_keys_as_the_corpus_writes_them(text, value):
    assert key_value(text) == value


def test_asking_for_a_dance():
    assert dance_start(rhythm="jig", key="Dmix") == "R:jig\nM:6/8\nK:D Mixolydian"
    assert dance_start(meter="3/4") == "M:3/4"
    assert dance_start(rhythm="reel", meter="4/4") == "R:reel\nM:4/4"  # C and 4/4 are one meter
    for kwargs, message in [(dict(meter="7/0"), "zero"), (dict(key="Hmix"), "unknown key"),
                            (dict(rhythm="tango"), "unknown rhythm"), (dict(rhythm="jig", meter="3/4"), "not both"),
                            (dict(meter="none"), "free meter")]:
        with pytest.raises(MusicError, match=message):
            dance_start(**kwargs)


def test_dance_mix_and_draws_keep_the_corpus_proportions():
    from seqlab.music.dance import dance_mix, draw_dances

    tunes = ["X:1\nT:a\nR:reel\nM:C\nK:D\nD|]"] * 3 + ["X:2\nT:b\nM:6/8\nK:G\nG|]", "X:3\nT:no meter\nK:G\nG|]"]
    mix = dance_mix(tunes)
    assert mix == {"R:reel\nM:C": 0.75, "M:6/8": 0.25}
    drawn = draw_dances(mix, 4000, torch.Generator().manual_seed(0))
    assert abs(drawn.count("M:6/8") / 4000 - 0.25) < 0.03 and set(drawn) == set(mix)
    assert draw_dances(mix, 5, torch.Generator().manual_seed(1)) == draw_dances(mix, 5, torch.Generator().manual_seed(1))
