"""ABC to MIDI, WAV and SVG (seqlab.music.render, seqlab.music.synth)."""

import importlib.util
import wave

import pytest

from seqlab.music import (
    MusicError,
    Tune,
    abc_to_midi,
    abc_to_svg,
    abc_to_svgs,
    render,
    render_tunes,
)
from seqlab.music.synth import Note, read_midi_notes, synthesize

pytestmark = pytest.mark.skipif(
    not all(importlib.util.find_spec(name) for name in ("music21", "verovio", "mido")),
    reason="rendering needs music21, verovio and mido",
)

# Two two-bar sections, each repeated, with irish.abc's `!` line ends.
GOOD = "X:1\nT:Test Reel\nM:C\nL:1/8\nK:G\nGABc dBGB|c2A2 F2D2:|!\ngfed cBAG|FGAF G4:|!"
# A stray ] makes verovio 6.4.1 crash with a segmentation fault (measured).
CRASHES_VEROVIO = "X:1\nT:t\nM:C\nL:1/8\nK:G\nABcd]efg|"


def test_render_one_tune_to_midi_wav_svg(tmp_path):
    [result] = render_tunes([GOOD], tmp_path, synth="builtin")
    assert result.errors == []
    assert (tmp_path / "tune_1.abc").read_text().startswith("X:1")

    # MIDI parses back, with the repeats played: 4 bars written, 8 heard, 2 s each.
    notes = read_midi_notes(result.midi)
    assert len(notes) == 2 * (12 + 13)
    assert notes[-1].end == pytest.approx(16.0, abs=0.1)

    # A real WAV: RIFF header, 16-bit mono, as long as the music.
    assert result.wav.read_bytes()[:4] == b"RIFF"
    with wave.open(str(result.wav)) as audio:
        assert (audio.getnchannels(), audio.getsampwidth(), audio.getframerate()) == (1, 2, 22050)
        seconds = audio.getnframes() / audio.getframerate()
        frames = audio.readframes(audio.getnframes())
    assert seconds == pytest.approx(16.0, abs=0.2)
    assert any(frames)  # not silence

    svg = result.svg.read_text()
    assert "<svg" in svg and "</svg>" in svg


def test_each_repeat_goes_back_to_its_own_section(tmp_path):
    # music21 alone repeats every :| from the start of the tune; ABC means the section.
    four_parts = "X:1\nT:t\nM:C\nL:1/8\nK:G\nA8|A8:|\nB8|B8:|\nc8|c8:|\nd8|d8:|"
    notes = read_midi_notes(abc_to_midi(four_parts, tmp_path / "parts.mid"))
    assert [note.pitch for note in notes] == [69] * 4 + [71] * 4 + [72] * 4 + [74] * 4
    endings = "X:1\nT:t\nM:C\nL:1/8\nK:G\nA8|A8:|\nB8|[1 B8:|[2 c8|]"
    notes = read_midi_notes(abc_to_midi(endings, tmp_path / "endings.mid"))
    assert [note.pitch for note in notes] == [69] * 4 + [71] * 3 + [72]


def test_unreadable_abc_gives_one_line_music_error(tmp_path):
    for bad in (
        "X:1\nT:t\nM:C\nL:1/8\nK:G\nA/0B c2|",
        "no music here",
        "X:1\nT:t\nM:C\nL:1/8\nK:G\n|]",
    ):
        with pytest.raises(MusicError) as caught:
            abc_to_midi(bad, tmp_path / "bad.mid")
        assert "\n" not in str(caught.value)


def test_tunes_verovio_cannot_take_are_refused_before_it_runs():
    with pytest.raises(MusicError, match="not engraved"):
        abc_to_svg(CRASHES_VEROVIO)
    with pytest.raises(MusicError, match="no key"):
        abc_to_svg("X:1\nT:t\nM:C\nL:1/8\nK:\nABcd efga|")


def test_a_verovio_crash_fails_only_its_tune(monkeypatch):
    # Let the crashing tune through the check, so verovio really dies in the child.
    monkeypatch.setattr(render, "svg_problem", lambda abc: None)
    results = abc_to_svgs([GOOD, CRASHES_VEROVIO, GOOD])
    assert isinstance(results[0], str) and "<svg" in results[0]
    assert isinstance(results[1], MusicError)
    assert "verovio crashed" in str(results[1])
    assert isinstance(results[2], str) and "<svg" in results[2]  # a new worker went on


def test_a_worker_that_runs_too_long_is_stopped():
    results = abc_to_svgs([GOOD, GOOD], timeout=0.001)
    assert all(isinstance(result, MusicError) for result in results)
    assert "longer than" in str(results[0])


def test_a_batch_goes_on_past_bad_tunes(tmp_path):
    results = render_tunes(
        [GOOD, "X:1\nT:broken\nM:C\nL:1/8\nK:G\nA/0B|", GOOD], tmp_path, synth="builtin"
    )
    assert results[0].errors == [] and results[2].errors == []
    assert results[1].midi is None and results[1].wav is None and results[1].svg is None
    assert [error.split(":")[0] for error in results[1].errors] == ["MIDI", "SVG"]


def test_synthesizer_choice(monkeypatch):
    monkeypatch.setattr(render.shutil, "which", lambda name: None)
    assert render.find_synthesizer() == "builtin"
    with pytest.raises(MusicError, match="timidity is not on PATH"):
        render.find_synthesizer("timidity")
    with pytest.raises(MusicError, match="unknown synthesizer"):
        render.find_synthesizer("piano")


def test_a_failing_external_synthesizer_falls_back_to_the_builtin(tmp_path, monkeypatch):
    fake = tmp_path / "bin" / "timidity"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\nexit 3\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(fake.parent))
    assert render.find_synthesizer() == "timidity"
    midi = abc_to_midi(GOOD, tmp_path / "t.mid")
    wav = render.midi_to_wav(midi, tmp_path / "t.wav")
    with wave.open(str(wav)) as audio:
        assert audio.getnframes() > 0
    with pytest.raises(MusicError, match="timidity could not render"):
        render.midi_to_wav(midi, tmp_path / "u.wav", synth="timidity")


def test_synthesize():
    signal = synthesize([Note(0.0, 0.5, 69, 100), Note(0.25, 1.0, 76, 80)], sample_rate=8000)
    assert len(signal) == pytest.approx(8000 * (1.0 + 0.06), abs=2)
    assert 0.5 < abs(signal).max() <= 1.0
    with pytest.raises(MusicError, match="no notes"):
        synthesize([])
    with pytest.raises(MusicError, match="minutes"):
        synthesize([Note(0.0, 36000.0, 60, 100)])


def test_tune_shows_itself_in_jupyter():
    shown = Tune(GOOD)._repr_html_()
    assert "<svg" in shown
    assert "<audio controls src='data:audio/wav;base64,UklGR" in shown  # base64 of RIFF
    assert "Test Reel" in shown


def test_a_broken_tune_shows_its_text_and_why():
    shown = Tune("X:1\nT:Broken\nM:C\nL:1/8\nK:G\nAB]c A/0|")._repr_html_()
    assert "<pre>" in shown and "No sheet music" in shown and "No audio" in shown


def test_sheet_music_draws_first_and_second_endings():
    """verovio's ABC reader drops variant endings; a tune with them is engraved through
    MusicXML, and the SVG holds the volta brackets with every note."""
    from seqlab.music.render import abc_to_svgs

    with_endings = "X:1\nT:Endings\nM:4/4\nL:1/8\nK:D\n|:ABcd efga|ABcd efge|1 ABcd efge:|2 ABcd efga|]"
    without = "X:2\nT:Plain\nM:4/4\nL:1/8\nK:D\n|:ABcd efga|ABcd efge:|"
    svg, plain = abc_to_svgs([with_endings, without])
    assert svg.count('class="voltaBracket"') == 2  # [1 and [2
    assert svg.count('class="note"') == 32
    assert 'class="voltaBracket"' not in plain and plain.count('class="note"') == 16


def test_an_engraver_keeps_its_worker_and_replaces_one_that_crashed(monkeypatch):
    monkeypatch.setattr(render, "svg_problem", lambda abc: None)  # let the crashing tune through
    notes = 'class="note"'
    with render.Engraver() as engraver:
        [first] = abc_to_svgs([GOOD], engraver=engraver)
        worker = engraver._worker.process
        [again] = abc_to_svgs([GOOD], engraver=engraver)
        assert engraver._worker.process is worker  # the same process, not a new one a call
        crashed, after = abc_to_svgs([CRASHES_VEROVIO, GOOD], engraver=engraver)
        assert "verovio crashed" in str(crashed)
        assert engraver._worker.process is not worker and worker.poll() is not None
        # verovio names the SVG's elements at random: the same music, other ids.
        assert first.count(notes) == again.count(notes) == after.count(notes) > 0
    assert engraver._worker is None
