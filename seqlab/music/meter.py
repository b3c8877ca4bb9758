"""Time inside the bars of ABC music, read one character at a time.

One reader serves two masters, so they cannot disagree:

* `checks.bar_check` feeds it a whole tune and reads back the bars it recorded (their text
  and length), the bar lines, variant endings and section boundaries;
* `MeterTracker` feeds it generated text while sampling and asks, for each candidate next
  character, whether it would break a bar: meter-aware decoding (issue "Music generation":
  mask the tokens that would overflow the bar or close it early).

The reader takes one character at a time, so that the tracker can ask about every
candidate next character cheaply; it therefore keeps its own state machine instead of
calling `lexer.tokenize`, but what each character is (note letter, accidental, bar line
token, ...) it takes from `lexer`, the one definition of ABC's syntax.

Durations are fractions of a whole note. A note's length is the unit note length `L:`
times its written length (`A2`, `A/`, `A3/2`, `A//`), times a tuplet ratio (`(3abc`: three
in the time of two) and a broken-rhythm factor (`A>B`: A is dotted, B halved). A chord
`[CEG]` lasts as long as its first note, times any length written after `]`. Grace notes
`{..}`, chord symbols `".."`, decorations `!..!` and the like take no time.

Which bars must be full. The first bar of a section may be short (a pickup, anacrusis)
and so may the last (it completes the pickup when the section repeats). A section starts
at the start of the tune, after any bar line other than a plain `|` (`:|`, `|:`, `::`,
`||`, `|]`, `[|`), at a variant ending (`[1`, `|2`, `:|2`) and at a `K:`, `M:`, `L:`,
`P:` or `T:` line in the body; it ends where the next one starts or the tune ends. Every
other bar is *interior* and must last exactly what `M:` asks for; no bar may last longer.

By this rule 99.89% of irish.abc's interior bars are right and 99.0% of its tunes have
every interior bar right (shared/data/README.md measured 99.5% and 96.6% with a rule it
does not spell out). Variant endings are what make the difference: irish.abc writes
`..|c2A2 A2|\n[1 fg|afdg ..`, where the bars on either side of `[1` complete each other.
Not counting `[1` as a section start gives 99.63% and 97.1%, closer to the README.

The decoder enforces the same rule as it goes: a note may start only if some length
(down to 1/MAX_DIVISION of the unit) still fits in the bar, a length may be written only
if the note still fits, a bar line only when the bar is full, or it is the section's first
bar, or the bar line ends the section (`:` starts `:|` or `::`; a plain `|` after a short
bar must be followed by `]`, `|`, `:`, a variant ending, a field line or the end of the
tune). Free meter (`M:none`, or no `M:`) is never checked.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from fractions import Fraction
from typing import Sequence

from .abc import FIELD_LINE, Meter, default_unit_length, parse_meter, parse_unit_length
from .errors import MusicError

# What each character is comes from the lexer, the one definition of ABC's syntax; this
# reader only adds what the characters mean for time.
from .lexer import (
    ACCIDENTALS,
    BARLINE_PATTERN,
    DECORATION_LETTERS,
    DIGITS,
    ENDING_CHARACTERS,
    INLINE_FIELD_LETTERS,
    MULTI_MEASURE_REST,
    NOTE_LETTERS,
    OCTAVE_MARKS,
    RESTS,
)

# Field lines in the body that start a new section (see the module docstring).
SECTION_FIELDS = frozenset("KMLPT")

# The shortest note the decoder plans for: 1/8 of the unit (a 64th note when L:1/8). A
# note letter is allowed while at least this much time is left in the bar.
MAX_DIVISION = 8

# Triplets and friends: (p means p notes in the time of q (ABC 2.1, section 4.13). For
# 5, 7 and 9, q is 3 in compound meter and 2 otherwise (None below).
_TUPLET_TIME_OF = {2: 3, 3: 2, 4: 3, 5: None, 6: 2, 7: None, 8: 3, 9: None}


@dataclass(frozen=True)
class Bar:
    """One bar as the reader saw it."""

    text: str  # the music between the bar lines (line breaks left out)
    duration: Fraction  # in whole notes
    expected: Fraction | None  # what M: asks for; None in free meter
    closer: str | None  # the bar line that closed it, None when the tune ended first
    line: int  # 1-based line of the tune where the bar ends
    checkable: bool = True  # False for bars the reader cannot time (voice overlay `&`)

    @property
    def right(self) -> bool:
        return self.expected is not None and self.duration == self.expected


class AbcReader:
    """Follows ABC text one character at a time: header fields, notes, bar lines.

    `feed(text)` advances it; after each character `violation` says whether that character
    broke the bar rule (module docstring). With `record=True` it also keeps `events`, a
    list of `("bar", Bar)`, `("barline", token)`, `("ending", text)`, `("field", letter,
    value)`, `("boundary",)` (a section starts), `("tune",)` and `("end",)`, and
    `problems`, the syntax errors it met. `close()` ends the text.
    """

    def __init__(self, record: bool = False) -> None:
        self.record = record
        self.events: list[tuple] = []
        self.problems: list[str] = []
        self.violation = False
        self.line_no = 1
        self.line = ""  # the current header or field line, as read so far
        self._start_header()

    # ------------------------------------------------------------------ public

    def feed(self, text: str) -> None:
        for ch in text:
            self.feed_char(ch)

    def feed_char(self, ch: str) -> None:
        self.violation = False
        if ch == "\r":  # CRLF text: the LF does the work
            return
        if self.mode == "header":
            self._header_char(ch)
        else:
            self._body_char(ch)

    def allows(self, ch: str) -> bool:
        """Whether feeding `ch` next would keep every bar right (the reader is unchanged)."""
        if self.mode == "header" or self.bar_length is None:
            return True
        trial = self.copy()
        for c in ch:
            trial.feed_char(c)
            if trial.violation:
                return False
        return True

    def copy(self) -> "AbcReader":
        # Every attribute is immutable except the two record lists, which a trial must
        # not touch: a copy records nothing.
        clone = copy.copy(self)
        clone.record = False
        return clone

    def close(self) -> None:
        """End of text: finish the last line and the tune."""
        if self.mode == "header":
            if self.line:
                self._header_line(self.line)
                self.line = ""
            if self.mode == "header":
                return
        self._flush_modes()
        self._end_tune()

    # ------------------------------------------------------------------ header

    def _start_header(self) -> None:
        self.mode = "header"
        self.meter: Meter | None = None
        self.unit: Fraction | None = None
        self.bar_length: Fraction | None = None

    def _header_char(self, ch: str) -> None:
        if ch == "\n":
            line, self.line = self.line, ""
            self._header_line(line)
            self.line_no += 1
        else:
            self.line += ch

    def _header_line(self, line: str) -> None:
        match = FIELD_LINE.match(line)
        if match is None:
            return  # text between tunes, or a header comment
        letter, value = match.group(1), match.group(2)
        if letter == "X":
            self._start_header()
            self.line_no = 1
        elif letter == "M":
            self.meter = self._parse("M", value)
        elif letter == "L":
            self.unit = self._parse("L", value)
        elif letter == "K":
            self._start_body()

    def _parse(self, letter: str, value: str):
        try:
            return parse_meter(value) if letter == "M" else parse_unit_length(value)
        except MusicError as error:
            self._problem(str(error))
            return None

    # ------------------------------------------------------------------ body: state

    def _start_body(self) -> None:
        self.mode = "music"
        if self.unit is None:
            self.unit = default_unit_length(self.meter)
        self.bar_length = self.meter.bar_length if self.meter is not None else None
        self.compound = self.meter.compound if self.meter is not None else False
        # line
        self.line_pos = 0  # characters read on this line
        self.line_blank = True  # nothing but spaces on this line so far
        self.line_letter: str | None = None  # a letter opening the line: maybe a field
        self.field_letter = ""  # the field being read (line or inline)
        # bar
        self.used = Fraction(0)
        self.bar_text = ""
        self.bar_notes = False
        self.bar_checkable = True
        self.bars_in_section = 0
        self.owe_boundary = False  # a short bar was closed by `|`: a section must end
        # note being written: kind, base duration, length suffix read so far, factor
        self.pend: str | None = None  # "note" or "chord"
        self.pend_base = Fraction(0)
        self.pend_phase = ""  # "acc" (accidental), "pitch", "num", "slash", "den"
        self.pend_num = ""
        self.pend_slashes = 0
        self.pend_den = ""
        self.pend_factor = Fraction(1)
        self.pend_counts = True  # False for chord notes after the first
        # chords, broken rhythm, tuplets
        self.in_chord = False
        self.chord_first: Fraction | None = None
        self.chord_factor = Fraction(1)
        self.last_value: Fraction | None = None
        self.broken = 0  # number of > (positive) or < (negative) just read
        self.next_factor = Fraction(1)
        self.tuplet_left = 0
        self.tuplet_ratio = Fraction(1)
        # multi-character tokens being read
        self.token = ""  # bar line, tuplet spec or variant ending so far
        self.deco_start = 0
        self._event("tune")

    def _event(self, *event) -> None:
        if self.record:
            self.events.append(event)

    def _problem(self, message: str) -> None:
        if self.record:
            self.problems.append(f"line {self.line_no}: {message}")

    def _break_rule(self) -> None:
        """Mark the character just fed as breaking the bar rule (when the bar is timed)."""
        if self.bar_length is not None and self.bar_checkable:
            self.violation = True

    # ------------------------------------------------------------------ body: dispatch

    def _body_char(self, ch: str) -> None:
        _HANDLERS[self.mode](self, ch)
        if ch != "\n" and self.mode != "header":
            self.line_pos += 1

    def _keep(self, ch: str) -> None:
        """Add `ch` to the open bar's text (bar lines, endings and fields stay out)."""
        if self.record:
            self.bar_text += ch

    def _music(self, ch: str) -> None:
        if ch == "\n":
            self._newline()
            return
        if ch not in "|:":
            self._keep(ch)
        if self.line_pos == 1 and self.line_letter is not None:
            # The line opened with a letter: a colon now makes it a field line.
            letter, self.line_letter = self.line_letter, None
            if ch == ":":
                if letter in NOTE_LETTERS:
                    self.pend = None  # it was not a note after all
                self.bar_text = self.bar_text[:-1]  # nor part of the bar
                self.mode = "field"
                self.field_letter = letter
                self.line = ""
                return
            if self.owe_boundary:
                self._break_rule()  # the short bar before needed a field line here
            if letter == MULTI_MEASURE_REST:  # held back in case it was a Z: field
                self._multimeasure_rest()
                self._rest_count(ch)
                return
            if (
                letter not in NOTE_LETTERS
                and letter not in RESTS
                and letter not in DECORATION_LETTERS
            ):
                self._unexpected_letter(letter)
        if ch not in " \t":
            self.line_blank = False
        if self.owe_boundary and not self._may_precede_boundary(ch):
            self._break_rule()

        if ch in NOTE_LETTERS or ch in RESTS:
            if self.line_pos == 0:
                self.line_letter = ch
            if self.pend is not None and self.pend_phase == "acc" and ch in NOTE_LETTERS:
                self.pend_phase = "pitch"  # the letter after ^, = or _: the same note
            else:
                self._start_note(ch)
        elif ch in ACCIDENTALS:
            if self.pend is not None and self.pend_phase == "acc":
                return  # a double sharp or flat
            self._start_note(ch)
        elif ch in OCTAVE_MARKS:
            if self.pend is None or self.pend_phase != "pitch":
                self._problem(f"octave mark {ch!r} not right after a note")
        elif ch in DIGITS or ch == "/":
            self._length_char(ch)
        elif ch in "|:":
            self._close_bar(ch)
            self.mode = "barline"
            self.token = ch
        elif ch == "[":
            self._finish_note()
            self.mode = "bracket"
        elif ch == "]":
            if self.in_chord:
                self._end_chord()
            else:
                self._finish_note()
                self._problem("']' with no chord to close")
        elif ch == "(":
            self._finish_note()
            self.mode = "tuplet"
            self.token = ""
        elif ch in "<>":
            self._broken_rhythm(ch)
        elif ch == MULTI_MEASURE_REST:
            if self.line_pos == 0:
                self.line_letter = ch  # a Z: field line, or a rest: the next character says
            else:
                self._multimeasure_rest()
        elif ch == "&":
            # Voice overlay: a second voice restarts the bar's time. We do not follow
            # voices, so the bar is left unchecked.
            self._finish_note()
            self.bar_checkable = False
        elif ch in '"{!+%':
            self._finish_note()
            self.deco_start = len(self.bar_text) - 1
            self.mode = {'"': "quote", "{": "grace", "!": "deco", "+": "plus", "%": "comment"}[ch]
        elif ch in " \t-).~\\`":
            # Spaces, ties, slur ends, staccato, rolls, line continuations, beam breaks:
            # no time, but they end the note before them.
            self._finish_note()
        elif ch.isalpha():
            self._finish_note()
            if self.line_pos == 0:
                self.line_letter = ch  # judged when we see whether a colon follows
            elif ch not in DECORATION_LETTERS:
                self._unexpected_letter(ch)
        else:
            self._finish_note()
            self._problem(f"unexpected character {ch!r}")

    def _unexpected_letter(self, letter: str) -> None:
        self._problem(f"unexpected letter {letter!r} in the music")

    def _may_precede_boundary(self, ch: str) -> bool:
        """While a short bar waits for its section to end, only these may come next."""
        if ch in " \t!%[]|:":
            return True
        # A field line (K:, P:, X:, ...) ends the section; a note letter at the start of
        # a line is music, so it may not.
        return self.line_pos == 0 and ch.isalpha() and ch not in NOTE_LETTERS and ch not in RESTS

    def _newline(self) -> None:
        self._finish_note()
        if self.line_letter is not None:
            letter, self.line_letter = self.line_letter, None
            if self.owe_boundary and letter not in NOTE_LETTERS:
                self._break_rule()  # a lone letter on a line is not the field line we needed
            if letter == MULTI_MEASURE_REST:
                self._multimeasure_rest()
                self.mode = "music"
            elif (
                letter not in NOTE_LETTERS
                and letter not in RESTS
                and letter not in DECORATION_LETTERS
            ):
                self._unexpected_letter(letter)
        if self.line_blank:
            self._end_tune()  # a blank line ends the tune
            return
        self.line_no += 1
        self.line_pos = 0
        self.line_blank = True

    # ------------------------------------------------------------------ notes

    def _start_note(self, ch: str) -> None:
        self._finish_note()
        counts = not self.in_chord or self.chord_first is None
        if self.in_chord:
            factor = self.chord_factor
        else:
            factor = self._take_factor()
        if counts and self.bar_length is not None:
            # Some length of this note must still fit (down to 1/MAX_DIVISION of the unit).
            if self.used + self.unit * factor / MAX_DIVISION > self.bar_length:
                self._break_rule()
        self.pend = "note"
        self.pend_base = self.unit
        self.pend_phase = "acc" if ch in ACCIDENTALS else "pitch"
        self.pend_num = ""
        self.pend_slashes = 0
        self.pend_den = ""
        self.pend_factor = factor
        self.pend_counts = counts

    def _take_factor(self) -> Fraction:
        """The broken-rhythm and tuplet factor for the note (or chord) starting now."""
        factor = self.next_factor
        self.next_factor = Fraction(1)
        self.broken = 0
        if self.tuplet_left > 0:
            factor *= self.tuplet_ratio
            self.tuplet_left -= 1
        return factor

    def _length_char(self, ch: str) -> None:
        if self.pend is None or self.pend_phase == "acc":
            self._problem(f"length {ch!r} with no note before it")
            return
        if ch == "/":
            if self.pend_phase == "den":
                self._problem("a second '/' after a length's denominator")
                return
            self.pend_phase = "slash"
            self.pend_slashes += 1
        elif self.pend_phase in ("pitch", "num"):
            self.pend_phase = "num"
            self.pend_num += ch
        else:
            self.pend_phase = "den"
            self.pend_den += ch
        if self.pend_counts and self.bar_length is not None:
            if self.used + self._shortest_completion() * self.pend_factor > self.bar_length:
                self._break_rule()

    def _written_length(self) -> Fraction | None:
        """The note's written length multiplier (`3/2`, `/`, `//`, ...), None if zero."""
        numerator = int(self.pend_num) if self.pend_num else 1
        if self.pend_den:
            denominator = int(self.pend_den) * 2 ** (self.pend_slashes - 1)
        else:
            denominator = 2**self.pend_slashes
        if numerator == 0 or denominator == 0:
            return None
        return Fraction(numerator, denominator)

    def _shortest_completion(self) -> Fraction:
        """The least the pending note can still last (before its factor).

        A bare note can still shrink to 1/MAX_DIVISION of its base (`A/8`). A numerator
        with a denominator is, in practice, a dotted length: odd over 2 or 4 (`3/2`, `3/`,
        `3/4`, `7/2`, `3//` are the only such spellings in irish.abc and music21's folk
        corpora). So an odd numerator may still shrink to a quarter of itself and an even
        one not at all; the decoder then never steers the model into `A8/8`. Once a
        denominator is written, the length is what it says.
        """
        if self.pend_phase in ("acc", "pitch"):
            return self.pend_base / MAX_DIVISION
        written = self._written_length()
        if written is None:
            return Fraction(0)
        value = self.pend_base * written
        if self.pend_phase == "den":
            return value
        if not self.pend_num:  # "A/" or "A//" so far
            return min(value, self.pend_base / MAX_DIVISION)
        numerator = int(self.pend_num)
        if numerator % 2 == 1:
            return min(value, self.pend_base * numerator / 4)
        return value

    def _finish_note(self) -> None:
        """The pending note (or chord) is complete: add its time to the bar."""
        if self.pend is None:
            return
        self.pend = None
        written = self._written_length()
        if written is None:
            self._problem("a note of length zero")
            return
        value = self.pend_base * written
        if self.in_chord:
            if self.pend_counts:  # the chord's first note sets the chord's length
                self.chord_first = value
                if (
                    self.bar_length is not None
                    and self.used + value * self.chord_factor > self.bar_length
                ):
                    self._break_rule()
            return
        value *= self.pend_factor
        self.used += value
        self.last_value = value
        self.bar_notes = True
        if self.bar_length is not None and self.used > self.bar_length:
            self._break_rule()

    def _end_chord(self) -> None:
        self._finish_note()
        self.in_chord = False
        if self.chord_first is None:
            self._problem("an empty chord []")
            return
        # The chord is now a note whose base is its first note's length; a length
        # written after `]` multiplies it.
        self.pend = "chord"
        self.pend_base = self.chord_first
        self.pend_phase = "pitch"
        self.pend_num = ""
        self.pend_slashes = 0
        self.pend_den = ""
        self.pend_factor = self.chord_factor
        self.pend_counts = True

    def _multimeasure_rest(self) -> None:
        # Z (or Z4) rests for whole bars: the bar counts as full. Its digits are a count
        # of bars, not a length, so the rest is not left pending.
        self._finish_note()
        if self.bar_notes:
            self._problem("a multi-measure rest Z in a bar that has notes")
            self._break_rule()
        self.used = self.bar_length if self.bar_length is not None else Fraction(0)
        self.bar_notes = True
        self.last_value = None
        self.mode = "rest_count"
        self.pend = None

    def _rest_count(self, ch: str) -> None:
        if ch in DIGITS:
            return  # Z4: four bars of rest, still one bar as far as timing goes
        self.mode = "music"
        self._music(ch)

    def _broken_rhythm(self, ch: str) -> None:
        self._finish_note()
        if self.last_value is None:
            self._problem(f"broken rhythm {ch!r} with no note before it")
            return
        direction = 1 if ch == ">" else -1
        if self.broken * direction < 0 or abs(self.broken) >= 3:
            self._problem("mixed or over-long broken rhythm")
            return
        self.broken += direction
        # > makes the note before it 3/2 as long and the next 1/2; >> 7/4 and 1/4; >>>
        # 15/8 and 1/8. Each further mark moves half as much time again (of the note as
        # written, which last_value keeps).
        shift = self.last_value / 2 ** abs(self.broken)
        self.used += direction * shift
        moved = Fraction(1, 2 ** abs(self.broken))
        self.next_factor -= direction * moved
        if self.bar_length is not None:
            shortest_next = self.unit * self.next_factor / MAX_DIVISION
            if self.used + shortest_next > self.bar_length:
                self._break_rule()

    # ------------------------------------------------------------------ bars

    def _close_bar(self, closer: str | None) -> None:
        """A bar line (or the end of the tune) closes the open bar."""
        self._finish_note()
        if self.in_chord:
            self._problem("a bar line inside a chord")
            self.in_chord = False
        timed = self.bar_length is not None and self.bar_checkable
        if timed and self.bar_notes and self.used != self.bar_length and closer is not None:
            if self.used > self.bar_length:
                self._break_rule()
            elif self.owe_boundary:
                self._break_rule()  # two short bars in a row
            elif self.bars_in_section == 0 or closer == ":":
                pass  # a pickup, or the short last bar of a repeated section
            else:
                self.owe_boundary = True
        if self.bar_notes:
            text = self.bar_text
            expected = self.bar_length if self.bar_checkable else None
            self._event(
                "bar",
                Bar(text.strip(), self.used, expected, closer, self.line_no, self.bar_checkable),
            )
            self.bars_in_section += 1
        self.used = Fraction(0)
        self.bar_text = ""
        self.bar_notes = False
        self.bar_checkable = True
        self.last_value = None
        self.broken = 0
        self.next_factor = Fraction(1)

    def _barline(self, ch: str) -> None:
        if ch in "|:]":
            self.token += ch
            return
        self._finish_barline()
        if ch in DIGITS:  # |1 or :|2: a variant ending
            self.mode = "ending"
            self.token = ch
            return
        self._music(ch)

    def _finish_barline(self) -> None:
        token, self.token = self.token, ""
        self.mode = "music"
        if not BARLINE_PATTERN.fullmatch(token):
            self._problem(f"malformed bar line {token!r}")
        self._event("barline", token)
        if token != "|":
            self._boundary()

    def _boundary(self) -> None:
        self.bars_in_section = 0
        self.owe_boundary = False
        self._event("boundary")

    def _ending(self, ch: str) -> None:
        if ch in ENDING_CHARACTERS:
            self.token += ch
            return
        token, self.token = self.token, ""
        self.mode = "music"
        if self.used > 0 or self.bar_notes:
            # The second time through, such an ending would play a bar of the wrong length.
            self._event("ending_mid_bar", token)
        self._event("ending", token)
        self._boundary()
        self._music(ch)

    # ------------------------------------------------------------------ brackets, tuplets

    def _bracket(self, ch: str) -> None:
        """The character after `[`: a variant ending, a chord, an inline field or `[|`."""
        if self.owe_boundary and ch not in DIGITS and ch != "|":
            self._break_rule()
        if ch in DIGITS:
            self.bar_text = self.bar_text[:-1]  # "[1" is not part of the bar
            self.mode = "ending"
            self.token = ch
        elif ch in NOTE_LETTERS or ch in RESTS or ch in ACCIDENTALS:
            self.mode = "music"
            self.in_chord = True
            self.chord_first = None
            self.chord_factor = self._take_factor()
            self._music(ch)
        elif ch in INLINE_FIELD_LETTERS:
            self._keep(ch)
            self.mode = "inline_start"
            self.field_letter = ch
        elif ch == "|":
            self.bar_text = self.bar_text[:-1]
            self._close_bar("|")
            self.mode = "barline"
            self.token = "[|"
        else:
            self._problem("'[' that opens no chord, ending or field")
            self.mode = "music"
            self._music(ch)

    def _inline_start(self, ch: str) -> None:
        if ch == ":":
            self._keep(ch)
            self.mode = "inline"
            self.line = ""
        else:
            self._problem(f"'[{self.field_letter}' that is not an inline field")
            self.mode = "music"
            self._music(ch)

    def _inline(self, ch: str) -> None:
        if ch == "]":
            self._keep(ch)
            self.mode = "music"
            self._apply_field(self.field_letter, self.line, inline=True)
        elif ch == "\n":
            self._problem("inline field not closed with ']'")
            self.mode = "music"
            self._music(ch)
        else:
            self._keep(ch)
            self.line += ch

    def _tuplet(self, ch: str) -> None:
        if ch in DIGITS or (ch == ":" and self.token):
            self._keep(ch)
            self.token += ch
            return
        spec, self.token = self.token, ""
        self.mode = "music"
        if spec:  # "(3" or "(3:2:3"; a bare "(" was a slur
            self._start_tuplet(spec)
        self._music(ch)

    def _start_tuplet(self, spec: str) -> None:
        parts = spec.split(":")
        p = int(parts[0])
        if p not in _TUPLET_TIME_OF:
            self._problem(f"tuplet ({spec} is not (2 to (9")
            return
        default_q = _TUPLET_TIME_OF[p] or (3 if self.compound else 2)
        q = int(parts[1]) if len(parts) > 1 and parts[1] else default_q
        r = int(parts[2]) if len(parts) > 2 and parts[2] else p
        if q == 0 or r == 0:
            self._problem(f"tuplet ({spec} with a zero")
            return
        self.tuplet_ratio = Fraction(q, p)
        self.tuplet_left = r

    # ------------------------------------------------------------------ text that takes no time

    def _quote(self, ch: str) -> None:
        if ch != "\n":
            self._keep(ch)
        if ch == '"':
            self.mode = "music"
        elif ch == "\n":
            self._problem("chord symbol or annotation not closed with '\"'")
            self.mode = "music"
            self._music(ch)

    def _grace(self, ch: str) -> None:
        if ch != "\n":
            self._keep(ch)
        if ch == "}":
            self.mode = "music"
        elif ch == "\n":
            self._problem("grace notes not closed with '}'")
            self.mode = "music"
            self._music(ch)

    def _deco(self, ch: str) -> None:
        if ch != "\n":
            self._keep(ch)
        if ch == "!":
            self.mode = "music"
        elif ch == "\n":
            # An unclosed ! at the end of a line is the old (ABC 2.0) line-break mark, as
            # irish.abc uses it: not part of the bar.
            self.bar_text = self.bar_text[: self.deco_start]
            self.mode = "music"
            self._music(ch)

    def _plus(self, ch: str) -> None:
        if ch != "\n":
            self._keep(ch)
        if ch == "+":
            self.mode = "music"
        elif ch == "\n":
            self._problem("decoration not closed with '+'")
            self.mode = "music"
            self._music(ch)

    def _comment(self, ch: str) -> None:
        if ch != "\n":
            self._keep(ch)
        if ch == "\n":
            self.bar_text = self.bar_text[: self.deco_start]
            self.mode = "music"
            self._music(ch)

    # ------------------------------------------------------------------ fields in the body

    def _field_char(self, ch: str) -> None:
        if ch != "\n":
            self.line += ch
            return
        letter, value = self.field_letter, self.line
        self.line = ""
        self.mode = "music"
        if letter == "X":
            # A new tune without the blank line before it.
            self._end_tune()
            self._header_line(f"X:{value}")
            self.line_no += 1
            return
        self._apply_field(letter, value, inline=False)
        self.line_no += 1
        self.line_pos = 0
        self.line_blank = True

    def _apply_field(self, letter: str, value: str, inline: bool) -> None:
        self._event("field", letter, value.strip())
        if letter == "M":
            self.meter = self._parse("M", value)
            self.bar_length = self.meter.bar_length if self.meter is not None else None
            self.compound = self.meter.compound if self.meter is not None else False
        elif letter == "L":
            unit = self._parse("L", value)
            if unit is not None:
                self.unit = unit
        if letter in SECTION_FIELDS and not inline:
            self._boundary()

    # ------------------------------------------------------------------ the end

    def _flush_modes(self) -> None:
        """Finish a multi-character token cut off by the end of the text."""
        if self.mode == "barline":
            self._finish_barline()
        elif self.mode == "ending":
            self._ending(" ")
        elif self.mode == "rest_count":
            self.mode = "music"
        elif self.mode == "tuplet":
            self._tuplet(" ")
        elif self.mode == "field":
            self._field_char("\n")
        elif self.mode in _UNCLOSED:
            self._problem(f"the text ended inside {_UNCLOSED[self.mode]}")
            self.mode = "music"
        elif self.mode == "bracket":
            self._problem("text ended after '['")
            self.mode = "music"

    def _end_tune(self) -> None:
        if self.mode == "header":
            return
        self._flush_modes()
        if self.mode == "header":  # a trailing X: line started the next tune
            return
        self._close_bar(None)
        self._boundary()
        self._event("end")
        self._start_header()


# What the text was inside when it ended in these modes, for the problem message.
_UNCLOSED = {
    "quote": 'a chord symbol or annotation (no closing ")',
    "grace": "grace notes (no closing })",
    "plus": "a decoration (no closing +)",
    "inline": "an inline field (no closing ])",
    "inline_start": "an inline field",
}

# Which method reads a character in each mode of the body.
_HANDLERS = {
    "music": AbcReader._music,
    "field": AbcReader._field_char,
    "quote": AbcReader._quote,
    "grace": AbcReader._grace,
    "deco": AbcReader._deco,
    "plus": AbcReader._plus,
    "comment": AbcReader._comment,
    "bracket": AbcReader._bracket,
    "inline_start": AbcReader._inline_start,
    "inline": AbcReader._inline,
    "barline": AbcReader._barline,
    "tuplet": AbcReader._tuplet,
    "ending": AbcReader._ending,
    "rest_count": AbcReader._rest_count,
}

# The reader's attributes that decide whether the next character breaks the bar rule:
# `MeterTracker` caches its answers by them. The rest only record what was read (text,
# line numbers, problems) or are re-derived from these (the meter object, the field
# being read). tests/music/test_meter.py checks that this split covers every attribute.
STATE_ATTRIBUTES = (
    "mode", "bar_length", "unit", "compound", "line_blank", "line_letter",
    "used", "bar_notes", "bar_checkable", "owe_boundary",
    "pend", "pend_base", "pend_phase", "pend_num", "pend_slashes", "pend_den",
    "pend_factor", "pend_counts", "in_chord", "chord_first", "chord_factor",
    "last_value", "broken", "next_factor", "tuplet_left", "tuplet_ratio", "token",
)  # fmt: skip
RECORD_ATTRIBUTES = (
    "record", "events", "problems", "violation", "line_no", "line", "bar_text",
    "deco_start", "meter", "field_letter",
)  # fmt: skip
# ... and two counters of which only the first values matter: the rule asks whether the
# line has 0 or 1 characters so far, and whether the section has any bar yet.
COUNTERS = ("line_pos", "bars_in_section")


def _state_key(reader: AbcReader) -> tuple:
    return tuple(getattr(reader, name) for name in STATE_ATTRIBUTES) + (
        min(reader.line_pos, 2),
        min(reader.bars_in_section, 1),
    )


def _char_class(ch: str) -> str:
    """Characters the reader treats alike stand for one another in the tracker's cache.

    The reader only ever asks whether a letter is a note letter, a rest, `Z`, or another
    letter (and, after `[`, an inline-field letter); other characters are their own class.
    """
    if len(ch) != 1:
        return ch
    if ch in NOTE_LETTERS:
        return "A"
    if ch in INLINE_FIELD_LETTERS:
        return "K"
    if ch.isalpha() and ch not in RESTS and ch != MULTI_MEASURE_REST:
        return "H"
    return ch


class MeterTracker:
    """Meter-aware decoding: which next characters keep every bar the right length.

    Feed it everything the model is given and writes (seed, headers, music, following
    tunes); before sampling each character, ask `allowed_mask(vocab)` and give the
    characters it rules out probability zero. Headers, free meter and the text between
    tunes are never restricted. If no character of the vocabulary is allowed (a bar the
    vocabulary cannot complete), the mask allows everything rather than stall. A sampler
    may instead draw first and ask `allows(ch)`, redrawing on a refusal.

        tracker = MeterTracker()
        tracker.feed(seed)
        for step in range(n):
            mask = tracker.allowed_mask(vocab)      # list[bool], one per vocab entry
            ch = sample(logits, mask)
            tracker.feed(ch)
    """

    # state key -> {character class: allowed}, shared by all trackers: generation revisits
    # the same few states (a bar half full, a note waiting for its length) again and again,
    # so most masks are read from here instead of trying every character. Past
    # CACHE_LIMIT states it starts afresh (a few MB at most).
    _cache: dict[tuple, dict[str, bool]] = {}
    CACHE_LIMIT = 20_000

    def __init__(self, text: str = "") -> None:
        self._reader = AbcReader()
        self._answers: dict[str, bool] | None = None  # this step's entry in the cache
        self.feed(text)

    def feed(self, text: str) -> None:
        self._reader.feed(text)
        self._answers = None

    def allows(self, ch: str) -> bool:
        """Whether `ch` may come next. Cheap when asked again in the same state."""
        reader = self._reader
        if reader.mode == "header" or reader.bar_length is None:
            return True
        if self._answers is None:
            # Hash the state once per step (hashing Fractions is slow), not once per token.
            if len(self._cache) > self.CACHE_LIMIT:
                self._cache.clear()
            self._answers = self._cache.setdefault(_state_key(reader), {})
        char_class = _char_class(ch)
        allowed = self._answers.get(char_class)
        if allowed is None:
            allowed = self._answers[char_class] = reader.allows(ch)
        return allowed

    def allowed_mask(self, vocab: Sequence[str]) -> list[bool]:
        """`allows` for each entry of the vocabulary; all True if none would be."""
        mask = [self.allows(ch) for ch in vocab]
        return mask if any(mask) else [True] * len(vocab)

    @property
    def in_music(self) -> bool:
        """Whether the tracker is inside a tune's body (after its K: line)."""
        return self._reader.mode != "header"

    @property
    def bar_time(self) -> Fraction:
        """Time used in the open bar, in whole notes."""
        return self._reader.used if self.in_music else Fraction(0)


def read_abc(text: str) -> AbcReader:
    """Run a recording reader over `text` (one tune or many) and close it."""
    reader = AbcReader(record=True)
    reader.feed(text)
    reader.close()
    return reader


def bars_of(text: str) -> list[Bar]:
    """The bars of the tune(s) in `text`, in order."""
    return [event[1] for event in read_abc(text).events if event[0] == "bar"]
