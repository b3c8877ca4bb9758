"""Loading corpora and the fixed held-out split (seqlab.music.corpus)."""

import importlib.util
import random

import pytest

from seqlab.music import MusicError, corpus_names, held_out_indices, held_out_split, load_corpus

TUNE = "X:1\nT:One\nM:C\nL:1/8\nK:G\nGABc d2e2|f4 g4|]\n"
needs_music21 = pytest.mark.skipif(
    importlib.util.find_spec("music21") is None, reason="music21 not installed"
)


def test_default_corpus_is_the_shipped_irish_abc():
    corpus = load_corpus()
    assert len(corpus) == 804
    assert corpus.skipped == 0  # two tunes split from their music by a blank line are joined
    assert corpus.tunes[0].startswith("X:1\nT:Alexander's")
    assert load_corpus("irish").tunes == corpus.tunes
    assert corpus.text().count("X:") == 804


def test_license_ships_beside_the_data():
    from importlib import resources

    notice = resources.files("seqlab.music").joinpath("data/LICENSE-irish.abc.md").read_text()
    assert "MIT License" in notice


def test_held_out_split_follows_the_recipe():
    tunes = [f"tune {i}" for i in range(804)]
    train, held = held_out_split(tunes)
    assert (len(train), len(held)) == (724, 80)
    # The recipe, spelled out: shuffle indices with Random(0), first 10% held out.
    order = list(range(804))
    random.Random(0).shuffle(order)
    assert held == [tunes[i] for i in order[:80]]
    assert train == [tunes[i] for i in order[80:]]
    assert held_out_split(tunes) == (train, held)  # the same every time
    assert held_out_indices(804) == order[:80]


def test_held_out_size_rounds_half_up():
    assert len(held_out_indices(805)) == 81  # 80.5 -> 81
    assert len(held_out_indices(804)) == 80  # 80.4 -> 80
    assert len(held_out_indices(4)) == 0
    assert len(held_out_indices(5)) == 1


def test_user_file_and_folder(tmp_path):
    first = tmp_path / "a.abc"
    first.write_text(TUNE + "\n" + TUNE.replace("X:1", "X:2") + "\nnot a tune\n")
    corpus = load_corpus(first)
    assert len(corpus) == 2
    assert corpus.skipped == 1
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.ABC").write_text(TUNE.replace("\n", "\r\n"))
    (tmp_path / "notes.txt").write_text("ignored: not .abc")
    assert len(load_corpus(str(tmp_path))) == 3


def test_malformed_tunes_are_skipped_and_counted(tmp_path):
    path = tmp_path / "mixed.abc"
    bad_meter = TUNE.replace("M:C", "M:banana")
    no_music = "X:3\nT:Empty\nM:C\nL:1/8\nK:G\n"
    path.write_text("\n".join([TUNE, bad_meter, no_music, "X:4\nT:no key\nABC|\n", TUNE]))
    corpus = load_corpus(path)
    assert len(corpus) == 2
    assert corpus.skipped == 3


def test_one_bad_file_in_a_folder_is_skipped(tmp_path):
    (tmp_path / "good.abc").write_text(TUNE)
    (tmp_path / "empty.abc").write_text("")
    corpus = load_corpus(tmp_path)
    assert len(corpus) == 1
    assert corpus.skipped == 1


@needs_music21
def test_music21_corpora_by_name():
    names = corpus_names()
    assert names[0] == "irish"
    assert {"oneills1850", "ryansMammoth"} <= set(names)
    oneill = load_corpus("oneills1850")
    assert len(oneill) > 1800  # O'Neill's Music of Ireland: about 1,850 tunes
    assert len(load_corpus("RYANSMAMMOTH")) > 1000  # names ignore case


# --------------------------------------------------------------------------- bad input


def one_line_error(source) -> str:
    with pytest.raises(MusicError) as caught:
        load_corpus(source)
    message = str(caught.value)
    assert "\n" not in message and message
    return message


def test_empty_file(tmp_path):
    (tmp_path / "empty.abc").write_text("  \n\n")
    assert "is empty" in one_line_error(tmp_path / "empty.abc")


def test_binary_file(tmp_path):
    (tmp_path / "song.abc").write_bytes(b"MThd\x00\x00\x00\x06\x00\x01" + bytes(range(256)))
    assert "not a text file" in one_line_error(tmp_path / "song.abc")


def test_file_with_no_tunes(tmp_path):
    (tmp_path / "prose.abc").write_text("This is prose.\n\nNo X: lines at all.\n")
    assert "no tunes found" in one_line_error(tmp_path / "prose.abc")


def test_broken_headers_only(tmp_path):
    (tmp_path / "broken.abc").write_text("X:1\nT:t\nM:7/0\nL:1/8\nK:G\nABC|\n")
    assert "no tunes found" in one_line_error(tmp_path / "broken.abc")


def test_unknown_corpus_name_lists_the_known_ones():
    message = one_line_error("no-such-corpus")
    assert "unknown corpus 'no-such-corpus'" in message
    assert "irish" in message


def test_empty_name():
    assert "empty corpus name" in one_line_error("")


def test_empty_folder(tmp_path):
    assert "no .abc files" in one_line_error(tmp_path)


def test_extra_training_tunes_drop_possible_copies_of_held_out_tunes(tmp_path):
    from seqlab.music.corpus import extra_training_tunes

    held_out = ["X:1\nT:The Banks of the Lee\nM:3/4\nL:1/8\nK:G\n|:GAB cde|dcB AGF|GAB cde|dcB AGF|GAB cde|dcB AGF|GAB cde|dcB AGF:|\n"]
    same_title = "X:7\nT:Banks of the Lee\nM:6/8\nL:1/8\nK:D\nDEF GAB|ABc def|]\n"
    # Another transcription of the same notes: other octave marks, rhythm, decorations, chords.
    same_notes = (
        "X:8\nT:Something Else\nM:3/4\nL:1/8\nK:G\n"
        '"G"G2A B2c|"D"d2e !trill!d2c|B>A G2F2|{g}G,A,B, C2D2|EDC B,A,G,|'
        "FGA B2c|dcB AGF|GAB cde|dcB AGF|]\n"
    )
    other = "X:9\nT:A Different Reel\nM:4/4\nL:1/8\nK:D\n|:DFAF DFAF|GBdB GBdB|DFAF DFAF|GBdB GBdB|DFAF DFAF|GBdB GBdB:|\n"
    (tmp_path / "more.abc").write_text("\n\n".join([same_title, same_notes, other]) + "\n", encoding="utf-8")
    tunes, skipped, dropped = extra_training_tunes([str(tmp_path / "more.abc")], held_out)
    assert [tune.strip() for tune in tunes] == [other.strip()]
    assert dropped == 2 and skipped == 0
