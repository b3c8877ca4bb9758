"""The syntax of a line of ABC music: what its characters are, and the tokens they form.

One definition of the music's syntax for every reader of it:

* `tokenize(line)` cuts a line of music (a body line that is not a field line) into
  tokens, each with its kind, text and position; `transpose.py` rewrites tunes token
  by token;
* the character classes and token patterns below are what `meter.py`'s `AbcReader` is
  built from. It reads one character at a time (meter-aware decoding asks about every
  candidate next character), so it keeps its own state machine, but it asks these
  classes what a character is.

The kinds of token (ABC 2.1, section 4):

    note           ^G,2  c'/  =f3/2   accidental, letter, octave marks, length
    rest           z2  x  Z4         a rest, an invisible rest, a multi-measure rest
    barline        |  ||  |]  [|  :|  |:  ::
    ending         [1  |2 (the 2)  [1,3  [1-2    a variant ending's numbers
    chord_open     [      chord_close ]    (a length after `]` is a `length` token)
    grace_open     {      grace_close }
    chord_symbol   "Am7"  "D/F#"
    annotation     "^text"  "_text"  "<text"  ">text"  "@text"
    decoration     !trill!  +fermata+  .  ~  H L M O P S T u v  y (the spacer)
    inline_field   [K:D]  [M:3/4]
    tuplet         (3  (3:2:3         slur_open (    slur_close )
    broken_rhythm  >  >>  <           tie  -
    length         digits and / not right after a note or rest
    space          spaces and tabs     comment  % to the end of the line
    overlay        &                   continuation  \\
    stray          a character that starts a token but does not finish one: an
                   accidental with no note after it, or a `"`, `!` or `+` with no partner
                   on the line (a lone `!` is the old ABC 2.0 line-break mark)
    other          anything else, one character at a time

Quoted text, decorations and inline fields end on the line they start on. Tokens cover
the line: joining their texts gives the line back.

On well-formed music the two readers agree token for token (tests/music/test_lexer.py
checks the bar lines and endings of irish.abc). On broken text they may part: after a
`!` with no partner the lexer reads on, while the bar reader skips to the line's end, as
it always has (bar figures and decoding must not change).
"""

from __future__ import annotations

import re
from typing import NamedTuple

# --------------------------------------------------------------------------- characters

NOTE_LETTERS = frozenset("ABCDEFGabcdefg")
RESTS = frozenset("zx")  # z is a rest, x an invisible rest: both take time
MULTI_MEASURE_REST = "Z"  # Z or Z4: whole bars of rest, the digits count bars
ACCIDENTALS = frozenset("^=_")
DIGITS = frozenset("0123456789")
OCTAVE_MARKS = frozenset(",'")
# Single-letter decorations ABC 2.1 predefines, and y, the spacer. Other letters in the
# music are errors unless a U: field defines them.
DECORATION_LETTERS = frozenset("HLMOPSTuvy")
DECORATION_SYMBOLS = frozenset(".~")  # staccato and roll
# Fields that may appear inline, as [K:G] (ABC 2.1, section 3).
INLINE_FIELD_LETTERS = frozenset("IKLMmNPQRrUVWw")
# Quoted text starting with one of these is an annotation placed by the text (ABC 2.1,
# section 4.19), not a chord symbol.
ANNOTATION_STARTS = "^_<>@"
# What may follow the first digit of a variant ending: [1,3 and [1-3.
ENDING_CHARACTERS = DIGITS | frozenset(",-")

# --------------------------------------------------------------------------- patterns

# Bar line tokens ABC knows: optional colons, one or more |, an optional ] or leading [.
BARLINE_PATTERN = re.compile(r":*\[?\|+\]?:*|:{2,}")
# A note: an optional accidental, a letter, octave marks, a length (`3/2`, `/`, `//`, `2`).
NOTE_PATTERN = re.compile(
    r"(?P<accidental>\^\^|\^|__|_|=)?(?P<letter>[A-Ga-g])(?P<octave>[,']*)"
    r"(?P<note_length>[0-9]*/*[0-9]*)"
)
# An inline field such as [K:D] or [M:3/4]; any field letter, so that the letters inside
# one are never read as notes (which letters ABC allows inline is `INLINE_FIELD_LETTERS`).
INLINE_FIELD_PATTERN = re.compile(r"\[(?P<field_letter>[A-Za-z]):(?P<field_value>[^\]\n]*)\]")

# The token kinds (module docstring).
NOTE = "note"
REST = "rest"
BARLINE = "barline"
ENDING = "ending"
CHORD_OPEN = "chord_open"
CHORD_CLOSE = "chord_close"
GRACE_OPEN = "grace_open"
GRACE_CLOSE = "grace_close"
CHORD_SYMBOL = "chord_symbol"
ANNOTATION = "annotation"
DECORATION = "decoration"
INLINE_FIELD = "inline_field"
TUPLET = "tuplet"
SLUR_OPEN = "slur_open"
SLUR_CLOSE = "slur_close"
BROKEN_RHYTHM = "broken_rhythm"
TIE = "tie"
LENGTH = "length"
SPACE = "space"
COMMENT = "comment"
OVERLAY = "overlay"
CONTINUATION = "continuation"
STRAY = "stray"
OTHER = "other"


def _one_of(characters) -> str:
    return "[" + re.escape("".join(sorted(characters))) + "]"


# A variant ending's numbers: a digit, then ENDING_CHARACTERS.
_ENDING_NUMBERS = "[0-9]" + _one_of(ENDING_CHARACTERS) + "*"


# What each kind of token looks like, tried in this order at each position (the most
# common first: no two kinds that come before `other` start with the same character,
# except `[`, `:` and `|` for inline fields, endings and bar lines, which their second
# character tells apart). Quoted text is split into chord symbols and annotations
# afterwards. A variant ending written right after a bar line (`:|2`) is matched with the
# bar line, as only the bar line says that the digits are not a length, and then given
# a token of its own.
_TOKEN_PATTERNS = (
    (NOTE, NOTE_PATTERN.pattern),
    (SPACE, r"[ \t]+"),
    (BARLINE, f"(?:{BARLINE_PATTERN.pattern})(?P<bar_ending>{_ENDING_NUMBERS})?"),
    (LENGTH, r"[0-9]+/*[0-9]*|/+[0-9]*"),
    (COMMENT, r"%.*"),
    ("quoted", r'"[^"\n]*"'),
    (DECORATION, r"![^!\n]*!|\+[^+\n]*\+|" + _one_of(DECORATION_SYMBOLS | DECORATION_LETTERS)),
    (INLINE_FIELD, INLINE_FIELD_PATTERN.pattern),
    (ENDING, r"\[" + _ENDING_NUMBERS),
    (CHORD_OPEN, r"\["),
    (CHORD_CLOSE, r"\]"),
    (GRACE_OPEN, r"\{"),
    (GRACE_CLOSE, r"\}"),
    (REST, _one_of(RESTS | {MULTI_MEASURE_REST}) + r"[0-9]*/*[0-9]*"),
    (TUPLET, r"\([0-9]+(?::[0-9]*){0,2}"),
    (SLUR_OPEN, r"\("),
    (SLUR_CLOSE, r"\)"),
    (BROKEN_RHYTHM, r">+|<+"),
    (TIE, r"-"),
    (OVERLAY, r"&"),
    (CONTINUATION, r"\\"),
    (STRAY, _one_of(ACCIDENTALS | set('"!+'))),
    (OTHER, r"[\s\S]"),
)
# `other` matches any character, so the matches follow one another without a gap.
_TOKEN = re.compile("|".join(f"(?P<{kind}>{pattern})" for kind, pattern in _TOKEN_PATTERNS))


class Token(NamedTuple):
    """One token of a line of music: its kind (module docstring), text and position."""

    kind: str
    text: str
    start: int  # index of its first character in the line

    @property
    def end(self) -> int:
        return self.start + len(self.text)


def tokenize(line: str) -> list[Token]:
    """The tokens of one line of music, left to right; their texts join to the line."""
    tokens: list[Token] = []
    for match in _TOKEN.finditer(line):
        kind, text, start = match.lastgroup, match.group(), match.start()
        if kind == BARLINE and match.group("bar_ending") is not None:
            ending = match.start("bar_ending")
            tokens.append(Token(BARLINE, line[start:ending], start))
            tokens.append(Token(ENDING, match.group("bar_ending"), ending))
            continue
        if kind == "quoted":
            kind = ANNOTATION if len(text) > 2 and text[1] in ANNOTATION_STARTS else CHORD_SYMBOL
        tokens.append(Token(kind, text, start))
    return tokens
