"""Cutting ABC text into tunes, and reading header fields (seqlab.music.abc)."""

from fractions import Fraction

import pytest

from seqlab.music import (
    MusicError,
    Tune,
    complete_headers,
    field_lines,
    header_fields,
    header_value,
    renumber,
    replace_field,
    split_abc,
    split_tunes,
    tune_title,
)
from seqlab.music.abc import default_unit_length, parse_meter, parse_unit_length, split_header

TUNE_1 = "X:1\nT:One\nM:C\nL:1/8\nK:G\nGABc d2e2|f4 g4|]"
TUNE_2 = "X:2\nT:Two\nM:6/8\nL:1/8\nK:D\nDFA dAF|D3 D3|]"


def test_blank_lines_separate_tunes():
    split = split_abc(TUNE_1 + "\n\n" + TUNE_2 + "\n")
    assert split.tunes == [TUNE_1, TUNE_2]
    assert split.skipped == 0


def test_blank_line_may_hold_spaces_and_there_may_be_several():
    assert split_tunes(TUNE_1 + "\n   \n\n\t\n" + TUNE_2) == [TUNE_1, TUNE_2]


def test_crlf_and_cr_line_ends():
    text = (TUNE_1 + "\n\n" + TUNE_2).replace("\n", "\r\n")
    assert split_tunes(text) == [TUNE_1, TUNE_2]
    assert split_tunes((TUNE_1 + "\n\n" + TUNE_2).replace("\n", "\r")) == [TUNE_1, TUNE_2]


def test_leading_junk_in_a_block_is_dropped_not_counted():
    split = split_abc("some words a model wrote\n" + TUNE_1 + "\n\n" + TUNE_2)
    assert split.tunes == [TUNE_1, TUNE_2]
    assert split.skipped == 0


def test_block_without_k_is_skipped_and_counted():
    no_key = "X:3\nT:No key\nM:C\nL:1/8\nABcd|"
    split = split_abc(TUNE_1 + "\n\n" + no_key + "\n\n" + TUNE_2)
    assert split.tunes == [TUNE_1, TUNE_2]
    assert split.skipped == 1


def test_block_without_x_is_skipped_and_counted_but_comments_are_ignored():
    split = split_abc("%abc-2.1\n%%pagewidth 21cm\n\nloose text\n\n" + TUNE_1)
    assert split.tunes == [TUNE_1]
    assert split.skipped == 1  # "loose text"; the comment block is not counted


def test_x_line_inside_a_block_starts_a_new_tune():
    # Generated text often forgets the blank line between tunes.
    assert split_tunes(TUNE_1 + "\n" + TUNE_2) == [TUNE_1, TUNE_2]


def test_music_cut_off_from_its_header_by_a_blank_line_is_joined_back():
    # irish.abc has two tunes written this way: header, blank line, then the music.
    header, body = "X:9\nT:Split\nM:C\nL:1/8\nK:G", "GABc d2e2|f4 g4|]"
    split = split_abc(header + "\n\n" + body + "\n\n" + TUNE_2)
    assert split.tunes == [header + "\n" + body, TUNE_2]
    assert split.skipped == 0


def test_no_tunes():
    assert split_abc("") == ([], 0)
    assert split_abc("just prose\n\nmore prose") == ([], 2)


def test_split_header():
    fields, body = split_header(
        "X:1\nT:Title\n% a comment\nM:6/8\nL:1/8\nK:D Major\nDFA|\nK:G\nGBd|"
    )
    assert fields == [("X", "1"), ("T", "Title"), ("M", "6/8"), ("L", "1/8"), ("K", "D Major")]
    assert body == "DFA|\nK:G\nGBd|"


@pytest.mark.parametrize(
    "text, bar_length, compound",
    [
        ("C", Fraction(1), False),
        ("C|", Fraction(1), False),
        ("6/8", Fraction(3, 4), True),
        ("9/8", Fraction(9, 8), True),
        ("3/4", Fraction(3, 4), False),
        ("2/4", Fraction(1, 2), False),
        (" 2+3/8 ", Fraction(5, 8), False),
    ],
)
def test_parse_meter(text, bar_length, compound):
    meter = parse_meter(text)
    assert meter.bar_length == bar_length
    assert meter.compound == compound


def test_free_meter_and_bad_meter():
    assert parse_meter("none").bar_length is None
    for bad in ("6/0", "abc", "3/4 egdB A2|"):
        with pytest.raises(MusicError, match="bad M: field"):
            parse_meter(bad)


def test_unit_length_and_its_default():
    assert parse_unit_length("1/8") == Fraction(1, 8)
    assert parse_unit_length("1") == Fraction(1)
    with pytest.raises(MusicError, match="bad L: field"):
        parse_unit_length("1/0")
    # ABC 2.1, section 3.1.7: below 0.75 a sixteenth, otherwise an eighth.
    assert default_unit_length(parse_meter("2/4")) == Fraction(1, 16)
    assert default_unit_length(parse_meter("3/4")) == Fraction(1, 8)
    assert default_unit_length(parse_meter("C")) == Fraction(1, 8)
    assert default_unit_length(None) == Fraction(1, 8)


def test_tune_object():
    tune = Tune(TUNE_2.replace("\n", "\r\n") + "\n")
    assert tune.text == TUNE_2
    assert (tune.number, tune.title, tune.key) == ("2", "Two", "D")
    assert tune.meter.bar_length == Fraction(3, 4)
    assert tune.unit_length == Fraction(1, 8)
    assert tune.body == "DFA dAF|D3 D3|]"
    assert "Two" in repr(tune)
    assert Tune("X:1\nT:No L\nM:2/4\nK:C\nC4|").unit_length == Fraction(1, 16)


# --------------------------------------------------------------------------- header accessor

HEADED = "X:1\nT: Title \n% a comment\nM:6/8\nK:D Major\nDFA|\nT:Part two\nK:G\nGBd|"


def test_header_fields_and_values():
    assert header_fields(HEADED) == [("X", "1"), ("T", "Title"), ("M", "6/8"), ("K", "D Major")]
    assert header_value(HEADED, "K") == "D Major"  # the header's, not the key change's
    assert header_value(HEADED, "L") is None


def test_field_lines_cover_header_and_body():
    assert [(f.index, f.letter, f.value) for f in field_lines(HEADED)] == [
        (0, "X", "1"),
        (1, "T", "Title"),
        (3, "M", "6/8"),
        (4, "K", "D Major"),
        (6, "T", "Part two"),
        (7, "K", "G"),
    ]


def test_replace_field():
    assert replace_field(HEADED, "M", "3/4").split("\n")[3] == "M:3/4"
    assert replace_field(HEADED, "Q", "1/4=120") == HEADED  # no such field: unchanged


# --------------------------------------------------------------------------- generated tunes


@pytest.mark.parametrize(
    "start, expected",
    [
        ("M:6/8\nK:D", "M:6/8\nL:1/8\nK:D Major"),
        ("M:2/4\nK:Em", "M:2/4\nL:1/16\nK:E Minor"),
        ("M:C|\nL:1/4\nK:G Mixolydian", "M:C|\nL:1/4\nK:G Mixolydian"),
        ("T:Mine\nK: F#m ", "T:Mine\nL:1/8\nK:F# Minor"),  # no M: -> an eighth
        ("M:3/4", "M:3/4\nL:1/8"),  # no K: -> L: goes last
        ("K:Bb\nM:2/4", "L:1/16\nK:Bb Major\nM:2/4"),  # M: after K: still sets L:
    ],
)
def test_complete_headers(start, expected):
    assert complete_headers(start) == expected


def test_complete_headers_with_a_bad_meter():
    with pytest.raises(MusicError, match="bad M: field"):
        complete_headers("M:6/0\nK:D")


def test_renumber():
    assert renumber(TUNE_2, 7) == TUNE_2.replace("X:2", "X:7")
    assert renumber("T:no number\nK:C\nC|", 3) == "T:no number\nK:C\nC|"


def test_tune_title():
    assert tune_title(TUNE_1) == "One"
    assert tune_title(HEADED) == "Title"
    assert tune_title("X:1\nK:C\nC|") == ""


def test_strip_provenance_leaves_no_source_transcriber_or_address():
    from seqlab.music import strip_provenance

    tune = ("X:1\nT:Reel for bob@example.com\nZ: id:dc-reel-1\nB:Ryan's Mammoth Collection\n"
            "S:Ryan\nN:Notes\nH:History\nF:http://example.org/t.abc\n% from www.example.org\n"
            "M:C\nL:1/8\nK:D Major\nABcd efge|\"@text\"A2B2 c4|]")
    clean = strip_provenance(tune)
    assert clean == "X:1\nT:Reel for \nM:C\nL:1/8\nK:D Major\nABcd efge|\"@text\"A2B2 c4|]"
    assert strip_provenance(clean) == clean


def test_clean_tune_keeps_the_dance_of_a_transcription_id_as_a_rhythm_field():
    from seqlab.music import clean_tune

    tune = "X:3\nT:Reel\nZ: id:dc-slipjig-12\nS:bob@example.com\nM:9/8\nL:1/8\nK:G Major\nGAB|]"
    assert clean_tune(tune) == "X:3\nT:Reel\nR:slip jig\nM:9/8\nL:1/8\nK:G Major\nGAB|]"
    # A tune's own R: wins; an id naming no dance, and any other Z:, just go.
    own = "X:1\nT:A\nR:hornpipe\nZ: id:dc-reel-1\nK:D\nD|]"
    assert clean_tune(own) == "X:1\nT:A\nR:hornpipe\nK:D\nD|]"
    assert clean_tune("X:1\nT:A\nZ: id:dc-ocarolan-2\nZ:transcribed by Bob\nK:D\nD|]") == "X:1\nT:A\nK:D\nD|]"
    assert clean_tune(clean_tune(tune)) == clean_tune(tune)
