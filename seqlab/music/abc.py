"""ABC notation as text: cutting a file into tunes, reading and writing header fields, the
`Tune` object.

ABC (https://abcnotation.com/wiki/abc:standard:v2.1) writes a tune as header lines
(`X:` number, `T:` title, `M:` meter, `L:` unit note length, `K:` key, which ends the header)
followed by the music. A file holds tunes separated by blank lines.

Every reader of header fields goes through the accessors here (`header_fields`,
`header_value`, `field_lines`, `replace_field`); the music itself is read by `lexer.py`.

Nothing here imports music21 or verovio: they are slow to import and only the rendering
and parse checks need them (see `render.py` and `checks.py`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction
from typing import NamedTuple

from .errors import MusicError

# A field line: one letter, a colon, the value ("T:Alexander's", "X: 626").
FIELD_LINE = re.compile(r"^([A-Za-z]):(.*)$")

# The headers every tune must have (lecture section 7: the validity check).
REQUIRED_HEADERS = ("X", "T", "M", "L", "K")


def normalize_newlines(text: str) -> str:
    """CRLF and lone CR become LF, so every later step sees one kind of line end."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


# --------------------------------------------------------------------------- header fields


class FieldLine(NamedTuple):
    """A line of a text that is a field: where it is, its letter and its value."""

    index: int  # the line's index in text.split("\n")
    letter: str
    value: str  # without the spaces around it


def field_letter(line: str) -> str | None:
    """The letter of a field line (`T:Title` -> `T`), None for any other line."""
    match = FIELD_LINE.match(line)
    return match.group(1) if match is not None else None


def field_lines(text: str) -> list[FieldLine]:
    """Every field line of `text`, header and body alike, in order.

    Lines are cut at LF only, so that `index` points into `text.split("\n")`.
    """
    found = []
    for index, line in enumerate(text.split("\n")):
        match = FIELD_LINE.match(line)
        if match is not None:
            found.append(FieldLine(index, match.group(1), match.group(2).strip()))
    return found


def field_value(fields, letter: str) -> str | None:
    """The first value of field `letter` among `(letter, value)` pairs, None when absent."""
    return next((value for name, value in fields if name == letter), None)


def header_fields(tune: str) -> list[tuple[str, str]]:
    """The `(letter, value)` pairs of the tune's header, up to and including `K:`."""
    return split_header(tune)[0]


def header_value(tune: str, letter: str) -> str | None:
    """The first value of header field `letter` (`header_value(tune, "K")`), or None."""
    return field_value(header_fields(tune), letter)


def replace_field(text: str, letter: str, value: str) -> str:
    """`text` with every `letter:` field line made `letter:value`; other lines unchanged."""
    lines = text.split("\n")
    for field in field_lines(text):
        if field.letter == letter:
            lines[field.index] = f"{letter}:{value}"
    return "\n".join(lines)


@dataclass(frozen=True)
class Meter:
    """An `M:` field. `bar_length` is in whole notes (6/8 -> 3/4); None means free meter."""

    text: str
    bar_length: Fraction | None
    # Compound meters (6/8, 9/8, 12/8, ...) change what a tuplet like (2 or (4 means.
    compound: bool = False


def parse_meter(value: str) -> Meter:
    """Read an `M:` value: `C` is 4/4 and `C|` is 2/2 (ABC 2.1, section 3.1.6).

    Numerators written as sums (`2+3/8`) are added up. `none` (or an empty value) is free
    meter: bars have no set length. Anything else raises MusicError.
    """
    text = value.strip()
    if text in ("", "none"):
        return Meter(text, None)
    if text == "C":
        return Meter(text, Fraction(4, 4))
    if text == "C|":
        return Meter(text, Fraction(2, 2))
    match = re.fullmatch(r"\(?(\d+(?:\s*\+\s*\d+)*)\)?\s*/\s*(\d+)", text)
    if match is None:
        raise MusicError(f"bad M: field {value.strip()!r} (expected e.g. 6/8, C or C|)")
    numerator = sum(int(part) for part in match.group(1).split("+"))
    denominator = int(match.group(2))
    if numerator == 0 or denominator == 0:
        raise MusicError(f"bad M: field {value.strip()!r} (zero in the meter)")
    compound = numerator % 3 == 0 and numerator >= 6
    return Meter(text, Fraction(numerator, denominator), compound)


def parse_unit_length(value: str) -> Fraction:
    """Read an `L:` value such as `1/8` (or `1`) as a fraction of a whole note."""
    text = value.strip()
    match = re.fullmatch(r"(\d+)\s*(?:/\s*(\d+))?", text)
    if match is None:
        raise MusicError(f"bad L: field {value.strip()!r} (expected e.g. 1/8)")
    numerator = int(match.group(1))
    denominator = int(match.group(2)) if match.group(2) else 1
    if numerator == 0 or denominator == 0:
        raise MusicError(f"bad L: field {value.strip()!r} (zero in the unit length)")
    return Fraction(numerator, denominator)


def default_unit_length(meter: Meter | None) -> Fraction:
    """The unit note length when `L:` is missing (ABC 2.1, section 3.1.7).

    A meter below 0.75 (2/4, 3/8, ...) gets a sixteenth, anything else (and free or
    missing meter) an eighth.
    """
    if meter is not None and meter.bar_length is not None and meter.bar_length < Fraction(3, 4):
        return Fraction(1, 16)
    return Fraction(1, 8)


# --------------------------------------------------------------------------- splitting


class Split(NamedTuple):
    """Tunes cut from a text, and how many blocks were skipped as not being tunes."""

    tunes: list[str]
    skipped: int


def split_abc(text: str) -> Split:
    """Cut ABC text into tunes; count the blocks that are not tunes.

    A tune is a blank-line separated block that has an `X:` line and a `K:` line. Lines
    before a block's `X:` are junk and dropped; a second `X:` line inside a block starts
    a new tune (generated text often forgets the blank line). A block with no `X:` line,
    or an `X:` tune with no `K:` line, is skipped and counted, except in one case: a block
    without `X:` that follows a tune whose header ends the tune (no music yet) is taken
    as that tune's music. The shipped irish.abc has two tunes split that way by a stray
    blank line after `K:`. Blocks of nothing but `%` comments are ignored silently.
    """
    tunes: list[str] = []
    skipped = 0
    for block in _blocks(normalize_newlines(text)):
        starts = [i for i, line in enumerate(block) if field_letter(line) == "X"]
        if not starts:
            if tunes and not has_music(tunes[-1]) and has_music("K:\n" + "\n".join(block)):
                tunes[-1] = tunes[-1] + "\n" + "\n".join(block)
            elif any(not line.lstrip().startswith("%") for line in block):
                skipped += 1
            continue
        for start, end in zip(starts, starts[1:] + [len(block)]):
            chunk = block[start:end]
            if any(field_letter(line) == "K" for line in chunk):
                tunes.append("\n".join(chunk))
            else:
                skipped += 1
    return Split(tunes, skipped)


def split_tunes(text: str) -> list[str]:
    """The tunes in an ABC text (see `split_abc` for the rule and the skipped count)."""
    return split_abc(text).tunes


def _blocks(text: str) -> list[list[str]]:
    """Group the lines of `text` into runs separated by blank (or all-space) lines."""
    blocks: list[list[str]] = []
    current: list[str] = []
    for line in text.split("\n"):
        if line.strip():
            current.append(line.rstrip())
        elif current:
            blocks.append(current)
            current = []
    if current:
        blocks.append(current)
    return blocks


def split_header(text: str) -> tuple[list[tuple[str, str]], str]:
    """Split one tune into its header fields (up to and including `K:`) and its body.

    Returns `([(letter, value), ...], body)`; the body is empty when there is no `K:`.
    Comment lines (`%`) in the header are dropped; other non-field lines are kept out of
    the fields but do not end the header.
    """
    fields: list[tuple[str, str]] = []
    lines = normalize_newlines(text).split("\n")
    for index, line in enumerate(lines):
        match = FIELD_LINE.match(line)
        if match is None:
            continue
        letter, value = match.group(1), match.group(2).strip()
        fields.append((letter, value))
        if letter == "K":
            return fields, "\n".join(lines[index + 1 :])
    return fields, ""


def has_music(tune_text: str) -> bool:
    """Whether the body holds any line that is not a field or a comment."""
    _, body = split_header(tune_text)
    for line in body.split("\n"):
        stripped = line.strip()
        if stripped and not stripped.startswith("%") and field_letter(stripped) is None:
            return True
    return False


# --------------------------------------------------------------------------- generated tunes

# A K: line that names only a tonic, maybe minor: "K:D", "K:Em", "K: F#m".
_BARE_KEY = re.compile(r"K:\s*([A-G][#b]?)(m?)\s*")


def complete_headers(start: str) -> str:
    """Write a user's start the way the corpus writes its headers, so the model reads what
    it learned: add the L: line it implies (ABC 2.1's default for its M:; a tune needs L:
    to pass the checks) before the K: line, and spell a bare key out ("K:D" -> "K:D Major",
    "K:Em" -> "K:E Minor"), or the model would go on writing the mode on the next line.

    `start` is a few header lines; every field line counts, wherever it stands.
    """
    lines = start.split("\n")
    for index, line in enumerate(lines):
        bare = _BARE_KEY.fullmatch(line)
        if bare:
            lines[index] = f"K:{bare[1]} {'Minor' if bare[2] else 'Major'}"
    fields = field_lines("\n".join(lines))
    if not any(field.letter == "L" for field in fields):
        meter = next((field.value for field in fields if field.letter == "M"), None)
        unit = default_unit_length(parse_meter(meter) if meter else None)
        keys = [field.index for field in fields if field.letter == "K"]
        at = keys[0] if keys else len(lines)
        lines = lines[:at] + [f"L:{unit.numerator}/{unit.denominator}"] + lines[at:]
    return "\n".join(lines)


# Fields that say where a tune came from and who wrote it down (ABC 2.1: B book, Z transcriber,
# S source, N notes, H history, F file URL): true of a corpus tune, false of an invented one,
# and sometimes a real person's e-mail address.
PROVENANCE_FIELDS = frozenset("BZSNHF")
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
URL = re.compile(r"(?:https?://|ftp://|www\.)\S+", re.IGNORECASE)


def strip_provenance(tune: str) -> str:
    """The tune without provenance field lines, comment lines naming an address, and any
    e-mail address or URL left elsewhere (a title, say)."""
    kept = []
    for line in tune.split("\n"):
        if field_letter(line) in PROVENANCE_FIELDS:
            continue
        if line.lstrip().startswith("%") and (EMAIL.search(line) or URL.search(line)):
            continue
        kept.append(URL.sub("", EMAIL.sub("", line)))
    return "\n".join(kept)


# irish.abc names each tune's dance only inside its transcription id ("Z: id:dc-jig-12"); the
# dance is music worth keeping (it sets the tempo, and a user may ask for one), the id is not.
ID_DANCE = re.compile(r"Z:\s*id:dc-([a-z]+)-\d+\s*")
ID_RHYTHMS = {"reel": "reel", "jig": "jig", "hornpipe": "hornpipe", "polka": "polka", "slide": "slide",
              "slipjig": "slip jig", "setdance": "set dance", "waltz": "waltz"}


def clean_tune(tune: str) -> str:
    """A tune as seqlab trains on it: without provenance (strip_provenance), and with the dance
    that a transcription id names ("Z: id:dc-jig-12") kept as a rhythm field ("R:jig") in the
    id's place, unless the tune has an R: field of its own."""
    has_rhythm = any(field_letter(line) == "R" for line in tune.split("\n"))
    lines = []
    for line in tune.split("\n"):
        match = ID_DANCE.fullmatch(line)
        if match and not has_rhythm and match.group(1) in ID_RHYTHMS:
            line = f"R:{ID_RHYTHMS[match.group(1)]}"
            has_rhythm = True
        lines.append(line)
    return strip_provenance("\n".join(lines))


def renumber(tune: str, number: int) -> str:
    """The tune with its `X:` line (every one, should there be more) saying `number`."""
    return replace_field(tune, "X", str(number))


def tune_title(tune: str) -> str:
    """The tune's title: the value of its first `T:` line, "" when it has none."""
    return next((field.value for field in field_lines(tune) if field.letter == "T"), "")


# --------------------------------------------------------------------------- Tune


class Tune:
    """One ABC tune: its text, header fields, and (lazily) checks and renderings.

    In Jupyter a Tune shows itself as sheet music with an audio player (`_repr_html_`);
    rendering needs music21 and verovio, and happens only when asked.
    """

    def __init__(self, text: str) -> None:
        self.text = normalize_newlines(text).strip("\n")
        self.fields, self.body = split_header(self.text)
        self._html: str | None = None

    def header(self, letter: str) -> str | None:
        """The first value of header field `letter`, or None when absent."""
        return field_value(self.fields, letter)

    @property
    def number(self) -> str | None:
        return self.header("X")

    @property
    def title(self) -> str:
        return self.header("T") or "(untitled)"

    @property
    def key(self) -> str | None:
        return self.header("K")

    @property
    def meter(self) -> Meter | None:
        """The parsed `M:` field (None when absent); a bad one raises MusicError."""
        value = self.header("M")
        return None if value is None else parse_meter(value)

    @property
    def unit_length(self) -> Fraction:
        """The `L:` field, or the ABC 2.1 default from the meter when `L:` is absent."""
        value = self.header("L")
        return parse_unit_length(value) if value is not None else default_unit_length(self.meter)

    def validate(self, check_parse: bool = True):
        """See `seqlab.music.checks.validate`."""
        from .checks import validate

        return validate(self.text, check_parse=check_parse)

    def bar_check(self):
        """See `seqlab.music.checks.bar_check`."""
        from .checks import bar_check

        return bar_check(self.text)

    def to_midi(self, path):
        from .render import abc_to_midi

        return abc_to_midi(self.text, path)

    def to_wav(self, path, synth: str = "auto"):
        from .render import abc_to_wav

        return abc_to_wav(self.text, path, synth=synth)

    def to_svg(self) -> str:
        from .render import abc_to_svg

        return abc_to_svg(self.text)

    def _repr_html_(self) -> str:
        # Rendering takes a fraction of a second; cache it so re-displaying a cell is free.
        if self._html is None:
            from .render import tune_html

            self._html = tune_html(self.text)
        return self._html

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return f"Tune({self.title!r}, M:{self.header('M')}, K:{self.key})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Tune) and other.text == self.text

    def __hash__(self) -> int:
        return hash(self.text)
