"""The syntax of a line of ABC music as tokens (seqlab.music.lexer)."""

import pytest

from seqlab.music import load_corpus, split_header, tokenize
from seqlab.music.abc import field_letter
from seqlab.music.lexer import NOTE_PATTERN
from seqlab.music.meter import read_abc


def kinds(line: str) -> list[tuple[str, str]]:
    return [(token.kind, token.text) for token in tokenize(line) if token.kind != "space"]


@pytest.fixture(scope="module")
def irish():
    return load_corpus().tunes


def music_lines(tune: str) -> list[str]:
    _, body = split_header(tune)
    return [line for line in body.split("\n") if field_letter(line) is None]


def test_notes_carry_accidental_octave_and_length():
    assert kinds("^G,2 c'/ =f3/2 __B//") == [
        ("note", "^G,2"),
        ("note", "c'/"),
        ("note", "=f3/2"),
        ("note", "__B//"),
    ]
    note = NOTE_PATTERN.fullmatch("^^c',3/2")
    assert note.group("accidental", "letter", "octave", "note_length") == ("^^", "c", "',", "3/2")


def test_rests_bar_lines_and_endings():
    assert kinds("z2 x Z4|:A:|2B||[1c|]") == [
        ("rest", "z2"),
        ("rest", "x"),
        ("rest", "Z4"),
        ("barline", "|:"),
        ("note", "A"),
        ("barline", ":|"),
        ("ending", "2"),  # after a bar line the digits are a variant ending, not a length
        ("note", "B"),
        ("barline", "||"),
        ("ending", "[1"),
        ("note", "c"),
        ("barline", "|]"),
    ]
    assert kinds("[|A::B[1,3-4") == [
        ("barline", "[|"),
        ("note", "A"),
        ("barline", "::"),
        ("note", "B"),
        ("ending", "[1,3-4"),
    ]


def test_chords_grace_notes_and_inline_fields():
    assert kinds("[CEG]2{ag}[K:D]") == [
        ("chord_open", "["),
        ("note", "C"),
        ("note", "E"),
        ("note", "G"),
        ("chord_close", "]"),
        ("length", "2"),  # a chord's length follows its ]
        ("grace_open", "{"),
        ("note", "a"),
        ("note", "g"),
        ("grace_close", "}"),
        ("inline_field", "[K:D]"),
    ]


def test_text_that_takes_no_time():
    assert kinds('"Am7"A "^up"B !trill!c +fermata+d .~Te') == [
        ("chord_symbol", '"Am7"'),
        ("note", "A"),
        ("annotation", '"^up"'),
        ("note", "B"),
        ("decoration", "!trill!"),
        ("note", "c"),
        ("decoration", "+fermata+"),
        ("note", "d"),
        ("decoration", "."),
        ("decoration", "~"),
        ("decoration", "T"),
        ("note", "e"),
    ]
    # The letters of a chord symbol, a decoration or a comment are not notes.
    assert kinds("A %the rest: CDE") == [("note", "A"), ("comment", "%the rest: CDE")]


def test_rhythm_marks():
    assert kinds("(3abc (3:2:3d A>B C<<D E-E (FG) A&B \\") == [
        ("tuplet", "(3"),
        ("note", "a"),
        ("note", "b"),
        ("note", "c"),
        ("tuplet", "(3:2:3"),
        ("note", "d"),
        ("note", "A"),
        ("broken_rhythm", ">"),
        ("note", "B"),
        ("note", "C"),
        ("broken_rhythm", "<<"),
        ("note", "D"),
        ("note", "E"),
        ("tie", "-"),
        ("note", "E"),
        ("slur_open", "("),
        ("note", "F"),
        ("note", "G"),
        ("slur_close", ")"),
        ("note", "A"),
        ("overlay", "&"),
        ("note", "B"),
        ("continuation", "\\"),
    ]


def test_stray_openers():
    # An accidental with no note, and quotes or decorations not closed on their line. A
    # lone `!` is the ABC 2.0 line-break mark irish.abc ends its lines with.
    assert kinds('^ z "Am A +y A|!') == [
        ("stray", "^"),
        ("rest", "z"),
        ("stray", '"'),
        ("note", "A"),
        ("other", "m"),
        ("note", "A"),
        ("stray", "+"),
        ("decoration", "y"),
        ("note", "A"),
        ("barline", "|"),
        ("stray", "!"),
    ]


def test_positions_and_round_trip(irish):
    line = "|:\"D\"d2fd A>FD|"
    tokens = tokenize(line)
    assert [line[token.start : token.end] for token in tokens] == [token.text for token in tokens]
    for tune in irish:
        for line in music_lines(tune):
            tokens = tokenize(line)
            assert "".join(token.text for token in tokens) == line
            assert all(a.end == b.start for a, b in zip(tokens, tokens[1:]))


def test_lexer_and_bar_reader_agree_on_irish(irish):
    # One syntax: the bar lines and variant endings the lexer finds are the ones the
    # character-by-character bar reader (meter.py) finds.
    for tune in irish:
        tokens = [token for line in music_lines(tune) for token in tokenize(line)]
        events = read_abc(tune).events
        assert [t.text for t in tokens if t.kind == "barline"] == [
            event[1] for event in events if event[0] == "barline"
        ]
        assert [t.text.lstrip("[") for t in tokens if t.kind == "ending"] == [
            event[1] for event in events if event[0] == "ending"
        ]
