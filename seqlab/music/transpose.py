"""Transposing ABC tunes into other keys: data augmentation for the music task.

A model trained on a tune in one key learns nothing about the same tune in another; moving
every tune into a few other keys multiplies the training data with music that is right by
construction.

    transpose_tune("X:1\\nT:t\\nK:G Major\\nGABc|d2 ^cd|", 1)
    # -> "X:1\\nT:t\\nK:A Major\\nABcd|e2 ^de|"

The method: every letter name moves `steps` letters up (C -> D -> ... -> B -> c, carrying
the octave), and the key's tonic moves with it. The tonic's new accidental is the one that
gives the key the fewest sharps or flats (G major up one letter is A major, D major up one
letter is Eb major, not E). That fixes the interval of the tune, in semitones; every
pitch that is spelled explicitly (a note with `^ _ =`, a chord symbol, a later key change)
is re-spelled so that it moves by exactly that interval. Notes without an accidental need
nothing: the scale of the new key maps onto the scale of the old one degree by degree,
so the key signature moves each of them by the same interval, and an accidental carried
through a bar stays consistent because the letter mapping is one to one.

Re-spelling from the interval is the same as the key-signature rule (new accidental =
new key's accidental for the new letter + the note's alteration against the old key), but
it needs no key state: the interval is the one thing that holds for the whole tune, across
key changes and voices alike.

A tune that cannot be transposed safely gives None (`transpose_tune`) or a MusicError
saying why (`transpose_tune_or_raise`): a key that is not a plain tonic and mode (`K:none`,
`K:HP`, explicit accidentals in `K:`), a key change that would need more than six sharps
or flats (the tune's own key never does: the fewest-accidentals choice always finds one
with at most three), a note that would need more than a double sharp or flat, a chord
symbol that would need one or that cannot be read, a header line that is not a field,
music between two old-style `!` line-break marks, unclosed quotes, chords, grace notes or inline fields, or
old-style `+CEG+` chords.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Sequence

from . import lexer
from .abc import FIELD_LINE, normalize_newlines
from .errors import MusicError

# Letter names in scale order, and the semitones of each above C.
LETTERS = "CDEFGAB"
NATURAL_SEMITONES = (0, 2, 4, 5, 7, 9, 11)
# Each letter's place on the circle of fifths: its major key's sharps (+) or flats (-).
LETTER_FIFTHS = {"C": 0, "G": 1, "D": 2, "A": 3, "E": 4, "B": 5, "F": -1}
# How many fifths a mode's key signature lies from the major key on the same tonic
# (A dorian has the signature of G major: A major's 3 sharps minus 2). Keys are the
# first three letters of the mode's name, lower case (ABC 2.1, section 3.1.14).
MODE_OFFSETS = {
    "maj": 0, "ion": 0,
    "lyd": 1,
    "mix": -1,
    "dor": -2,
    "min": -3, "aeo": -3,
    "phr": -4,
    "loc": -5,
}  # fmt: skip
# A transposed key may have at most this many sharps or flats: C# major (7 sharps) is
# legal ABC but rare in folk music, and Db major says the same with 5 flats.
MAX_KEY_ACCIDENTALS = 6

# Explicit accidentals on notes, by alteration in semitones.
NOTE_ACCIDENTALS = {"__": -2, "_": -1, "=": 0, "^": 1, "^^": 2}
ACCIDENTAL_TEXT = {alteration: text for text, alteration in NOTE_ACCIDENTALS.items()}
# Accidentals on a key's tonic and on chord symbols' roots.
SYMBOL_ACCIDENTALS = {"b": -1, "": 0, "#": 1}
SYMBOL_TEXT = {alteration: text for text, alteration in SYMBOL_ACCIDENTALS.items()}

# A K: value we understand: a tonic, an optional mode (maybe after a space), and optional
# `name=value` settings such as `clef=bass`, which apply alike before and after and are
# kept as they are. Anything else (K:none, K:HP, K:D ^c, K:G bass) does not match.
_KEY_VALUE = re.compile(
    r"\s*(?P<tonic>[A-G][#b]?)\s*(?P<mode>[A-Za-z]*)(?:\s+[A-Za-z]+=\S+)*\s*"
)
# A chord symbol: root, quality (7, m7b5, maj7, sus4, dim, +, ...), optional bass note.
# Quoted text that does not match (D.C., Fine, "Coda") is left alone. The bass may be
# lower case and followed by more of the quality, as the Nottingham dataset writes
# ("Am/c", "D/f+"); music21 reads those as chords too.
_QUALITY = r"(?:maj|min|dim|aug|sus|add|m|M|[0-9]|[-+#b()°ø])*"
_CHORD_SYMBOL = re.compile(
    rf"(?P<root>[A-G])(?P<root_acc>[#b]?)(?P<quality>{_QUALITY})"
    rf"(?:/(?P<bass>[A-Ga-g])(?P<bass_acc>[#b]?)(?P<tail>{_QUALITY}))?"
)
# What an old-style (ABC 2.0) chord `+CEG+` may hold; decorations `+trill+` hold words.
_OLD_CHORD = re.compile(r"[A-Ga-g^_=,'/0-9 ]+")


# --------------------------------------------------------------------------- public API


def transpose_tune(text: str, steps: int) -> str | None:
    """The tune moved `steps` letter names up (negative: down), every pitch by the same
    interval; None when the tune cannot be transposed safely (see the module docstring)."""
    try:
        return transpose_tune_or_raise(text, steps)
    except MusicError:
        return None


def transposed_copies(tunes: list[str], steps: Sequence[int]) -> list[str]:
    """For each tune, its transpositions by each of `steps` that work (the originals not
    included): tune by tune, in the order of `steps`."""
    copies: list[str] = []
    for tune in tunes:
        for step in steps:
            moved = transpose_tune(tune, step)
            # steps 0 gives the original back: it is not a copy.
            if moved is not None and moved != tune:
                copies.append(moved)
    return copies


def transpose_tune_or_raise(text: str, steps: int) -> str:
    """`transpose_tune`, but a tune that cannot be transposed raises MusicError saying why."""
    if steps == 0:
        return text
    lines = normalize_newlines(text).split("\n")
    key_line = _header_key_line(lines)
    letter, value = FIELD_LINE.match(lines[key_line]).groups()
    shift = choose_shift(parse_key(value), steps)
    lines[key_line] = f"{letter}:{transpose_key_value(value, shift)}"
    for index in range(key_line + 1, len(lines)):
        lines[index] = _transpose_body_line(lines[index], shift)
    return "\n".join(lines)


def _header_key_line(lines: list[str]) -> int:
    """The index of the header's K: line: the first K: field line, as in `split_header`.

    The lines before it must be fields, comments or blank: `split_header` passes over any
    other line, but music21 reads one as music, which we would leave where it is.
    """
    for index, line in enumerate(lines):
        match = FIELD_LINE.match(line)
        if match is not None and match.group(1) == "K":
            return index
        if match is None and line.strip() and not line.lstrip().startswith("%"):
            raise MusicError(f"header line {line[:30]!r} is neither a field nor a comment")
    raise MusicError("the tune has no K: line")


# --------------------------------------------------------------------------- pitches


@dataclass(frozen=True)
class Shift:
    """A transposition: `steps` letter names and `interval` semitones (both may be < 0)."""

    steps: int
    interval: int

    def respell(self, degree: int, alteration: int) -> tuple[int, int]:
        """Move a pitch: (degree, alteration) -> (degree + steps, the alteration that makes
        the move exactly `interval` semitones).

        `degree` counts letter names from C (7 is the C an octave up, -1 the B below) and
        `alteration` is in semitones (-1 flat, +1 sharp).
        """
        new_degree = degree + self.steps
        pitch = natural_semitones(degree) + alteration + self.interval
        return new_degree, pitch - natural_semitones(new_degree)


def natural_semitones(degree: int) -> int:
    """Semitones above C of the natural note `degree` letter names above C (7 is c)."""
    octave, letter = divmod(degree, 7)
    return 12 * octave + NATURAL_SEMITONES[letter]


# --------------------------------------------------------------------------- keys


@dataclass(frozen=True)
class Key:
    """A key: tonic letter (0 = C .. 6 = B), the tonic's alteration, the mode's offset."""

    letter: int
    alteration: int
    mode_offset: int

    @property
    def signature(self) -> int:
        """Sharps (> 0) or flats (< 0) in the key signature: D major 2, D dorian 0."""
        return LETTER_FIFTHS[LETTERS[self.letter]] + 7 * self.alteration + self.mode_offset


def choose_shift(key: Key, steps: int) -> Shift:
    """The transposition of a tune in `key` by `steps` letters.

    The new tonic's accidental is the one that gives the fewest sharps or flats in the
    same mode; the interval follows from it, counting the octave the tonic moved through
    (A up two letters is the c above: 3 semitones, not -9). The three candidates' signatures
    are 7 apart, so the best has at most 3 sharps or flats.
    """
    degree = key.letter + steps
    candidates = [Key(degree % 7, alteration, key.mode_offset) for alteration in (-1, 0, 1)]
    best = min(candidates, key=lambda candidate: abs(candidate.signature))
    old_pitch = natural_semitones(key.letter) + key.alteration
    return Shift(steps, natural_semitones(degree) + best.alteration - old_pitch)


def _check_signature(key: Key) -> None:
    if abs(key.signature) > MAX_KEY_ACCIDENTALS:
        raise MusicError(
            f"the new key would need {abs(key.signature)} sharps or flats "
            f"(at most {MAX_KEY_ACCIDENTALS})"
        )


def parse_key(value: str) -> Key:
    """Read a K: value: tonic, optional mode, optional `name=value` settings.

    `K:G Major`, `K:Ador`, `K:Em`, `K:F#m`, `K:Bb`. Anything else raises MusicError.
    """
    match = _KEY_VALUE.fullmatch(_without_comment(value))
    if match is None:
        raise MusicError(f"key {value.strip()!r} is not a plain tonic and mode")
    tonic = match.group("tonic")
    return Key(
        LETTERS.index(tonic[0]), SYMBOL_ACCIDENTALS[tonic[1:]], mode_offset(match.group("mode"))
    )


def mode_offset(mode: str) -> int:
    """The signature offset of a mode name: `` and `Major` 0, `m` and `min` -3, ..."""
    name = mode.lower()
    if name == "":
        return 0
    if name == "m":
        return MODE_OFFSETS["min"]
    # ABC 2.1 reads only the first three letters: Mixolydian, mix and Mix are one mode.
    if len(name) >= 3 and name[:3] in MODE_OFFSETS:
        return MODE_OFFSETS[name[:3]]
    raise MusicError(f"unknown mode {mode!r}")


def transpose_key_value(value: str, shift: Shift) -> str:
    """A K: value with its tonic moved by `shift`; mode, spacing and the rest kept as written.

    Used for the header's key and for key changes alike: a key change keeps the tune's
    interval, so its new tonic is re-spelled from the interval, not chosen afresh.
    """
    key = parse_key(value)
    degree, alteration = shift.respell(key.letter, key.alteration)
    if alteration not in SYMBOL_TEXT:
        raise MusicError(f"key {value.strip()!r} would need a double sharp or flat")
    _check_signature(Key(degree % 7, alteration, key.mode_offset))
    match = _KEY_VALUE.fullmatch(_without_comment(value))
    tonic = LETTERS[degree % 7] + SYMBOL_TEXT[alteration]
    return value[: match.start("tonic")] + tonic + value[match.end("tonic") :]


def _without_comment(value: str) -> str:
    """A field value up to any `%` comment (the comment is kept when writing back)."""
    return value.split("%", 1)[0]


# --------------------------------------------------------------------------- the body


def _transpose_body_line(line: str, shift: Shift) -> str:
    """One line after the header: a field line, a comment line or a line of music."""
    match = FIELD_LINE.match(line)
    if match is not None:
        letter, value = match.groups()
        # A K: line is a key change; every other field (w: lyrics, M:, P:, ...) is text.
        return f"K:{transpose_key_value(value, shift)}" if letter == "K" else line
    return _transpose_music(line, shift)


def _transpose_music(line: str, shift: Shift) -> str:
    """A line of music with its notes, chord symbols and inline key changes moved.

    Read token by token (`lexer.tokenize`): comments, quoted text, decorations and inline
    fields are tokens of their own, so the letters inside them are never read as notes.
    """
    out: list[str] = []
    closers: list[str] = []  # the brackets still open: "]" for a chord, "}" for grace notes
    for token in lexer.tokenize(line):
        kind, text = token.kind, token.text
        if kind == lexer.NOTE:
            out.append(_transpose_note(text, shift))
        elif kind == lexer.CHORD_SYMBOL:
            out.append('"' + _transpose_chord_symbol(text[1:-1], shift) + '"')
        elif kind == lexer.DECORATION:
            _check_decoration(text)
            out.append(text)
        elif kind == lexer.INLINE_FIELD:
            out.append(_transpose_inline_field(text, shift))
        elif kind == lexer.STRAY:
            # A lone `!` is the old (ABC 2.0) line-break mark irish.abc uses: kept.
            if text in lexer.ACCIDENTALS:
                raise MusicError(f"accidental {text!r} not followed by a note")
            if text != "!":
                raise MusicError(f"{text!r} not closed on its line")
            out.append(text)
        elif kind == lexer.CHORD_OPEN:
            if "]" in closers:
                raise MusicError("a chord inside a chord")
            closers.append("]")
            out.append(text)
        elif kind == lexer.GRACE_OPEN:
            if "}" in closers:
                raise MusicError("grace notes inside grace notes")
            closers.append("}")
            out.append(text)
        elif kind in (lexer.CHORD_CLOSE, lexer.GRACE_CLOSE):
            _close(text, closers, after_bar_line=False)
            out.append(text)
        elif kind == lexer.BARLINE and "]" in text:
            # The `]` of `|]` ends a bar line, but inside a chord it closes the chord.
            _close("]", closers, after_bar_line=True)
            out.append(text)
        else:
            # Bar lines, lengths, rests, ties, slurs, tuplets, spaces, annotations, comments.
            out.append(text)
    if closers:
        raise MusicError(f"a chord or grace notes left open (no {closers[-1]!r}) at line end")
    return "".join(out)


def _check_decoration(token: str) -> None:
    """Refuse decorations that may be music written in another way."""
    inner = token[1:-1]
    if token[0] == "+" and _OLD_CHORD.fullmatch(inner):
        # `+CEG+` is a chord in ABC 2.0 and a decoration in 2.1; music21 reads its
        # letters as notes. Which one the writer meant is unclear: give up.
        raise MusicError(f"{token!r} may be an old-style chord")
    if token[0] == "!" and re.search(r"[\s|]", inner):
        # Decoration names hold no spaces or bar lines: these are two of the old `!`
        # line-break marks with music between them, which we would otherwise skip.
        raise MusicError(f"{token[:20]!r} is music between '!' marks, or a decoration")


def _transpose_chord_symbol(text: str, shift: Shift) -> str:
    """A chord symbol (`G`, `Am7`, `D/F#`) with root and bass moved; other text unchanged."""
    if not text:
        return text
    match = _CHORD_SYMBOL.fullmatch(text)
    if match is None:
        start = _CHORD_SYMBOL.match(text)
        if start is not None and start.end() > 1:
            # "Bb D", "Am7 G": it starts like a chord but goes on in a way we cannot read.
            raise MusicError(f"chord symbol {text!r} not understood")
        return text  # D.C., Fine, Coda, a tempo word: text that starts with a letter
    root = _transpose_symbol_note(match.group("root"), match.group("root_acc"), shift)
    result = root + match.group("quality")
    if match.group("bass") is not None:
        bass = _transpose_symbol_note(match.group("bass"), match.group("bass_acc"), shift)
        result += "/" + bass + match.group("tail")
    return result


def _transpose_symbol_note(letter: str, accidental: str, shift: Shift) -> str:
    """A chord symbol's root or bass moved by `shift`, in the letter case it came in."""
    degree = LETTERS.index(letter.upper())
    degree, alteration = shift.respell(degree, SYMBOL_ACCIDENTALS[accidental])
    if alteration not in SYMBOL_TEXT:
        raise MusicError(f"chord note {letter + accidental!r} would need a double sharp or flat")
    new_letter = LETTERS[degree % 7]
    return (new_letter if letter.isupper() else new_letter.lower()) + SYMBOL_TEXT[alteration]


def _transpose_inline_field(token: str, shift: Shift) -> str:
    """An inline field: a key change [K:..] moved; [M:3/4], [L:1/16], [P:B], ... kept."""
    field = lexer.INLINE_FIELD_PATTERN.fullmatch(token)
    if field.group("field_letter") != "K":
        return token
    return f"[K:{transpose_key_value(field.group('field_value'), shift)}]"


def _close(ch: str, closers: list[str], after_bar_line: bool) -> None:
    """Check a `]` or `}`: it closes the innermost open bracket, or `]` ends a bar line."""
    if closers and closers[-1] == ch:
        closers.pop()
    elif ch == "]" and not closers and after_bar_line:
        pass  # the end of a `|]` bar line
    else:
        raise MusicError(f"{ch!r} closes nothing")


# Tunes repeat a few dozen note spellings over and over: remember what each became (an
# error is raised again each time, as exceptions are not cached).
@functools.lru_cache(maxsize=4096)
def _transpose_note(token: str, shift: Shift) -> str:
    """One note (accidental, letter, octave marks, length) moved by `shift`."""
    note = lexer.NOTE_PATTERN.fullmatch(token)
    accidental, letter, octave_marks = note.group("accidental", "letter", "octave")
    degree = LETTERS.index(letter.upper()) + (7 if letter.islower() else 0)
    degree += 7 * (octave_marks.count("'") - octave_marks.count(","))
    if accidental is None:
        # The key signature (or an accidental earlier in the bar) does the work on both
        # sides: only the letter and octave move.
        return _note_name(degree + shift.steps) + note.group("note_length")
    new_degree, alteration = shift.respell(degree, NOTE_ACCIDENTALS[accidental])
    if alteration not in ACCIDENTAL_TEXT:
        pitch = token[: note.start("note_length")]
        raise MusicError(f"note {pitch!r} would need more than a double sharp or flat")
    return ACCIDENTAL_TEXT[alteration] + _note_name(new_degree) + note.group("note_length")


def _note_name(degree: int) -> str:
    """ABC spelling of the natural note `degree` letters above middle C (0 is C, 7 is c,
    -7 is C, and 14 is c')."""
    octave, letter = divmod(degree, 7)
    if octave >= 1:
        return LETTERS[letter].lower() + "'" * (octave - 1)
    return LETTERS[letter] + "," * (-octave)
