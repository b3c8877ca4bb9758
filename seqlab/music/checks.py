"""Is a tune valid ABC? Bar lengths, headers, repeats, form, and copying from training.

The checks the issue "Music generation" asks for, each usable on its own:

* `bar_check(tune)`: every interior bar lasts what `M:` and `L:` ask for (the rule for
  "interior" is in `meter.py`'s docstring);
* `repeat_problems(tune)`: repeat signs and variant endings that make sense;
* `has_aabb(tune)`: two repeated sections;
* `parse_error(tune)`: music21's ABC reader accepts it and finds notes (the step before
  MIDI; music21 is imported only here, on first use, because it is slow to import);
* `validate(tune)`: all of the above and the required headers, with reasons;
* `rejection_reason(tune)`: why a generated tune is not kept (it fails `validate`, or it
  is too short to be a tune);
* `copied_bar_fraction(generated, training)`: how much of the generated music is copied;
* `bar_statistics(tunes)`: the corpus-level bar figures.
"""

from __future__ import annotations

import contextlib
import io
import re
import warnings
from dataclasses import dataclass
from fractions import Fraction
from typing import Iterable, Sequence

from .abc import (
    REQUIRED_HEADERS,
    Tune,
    field_value,
    header_fields,
    header_value,
    parse_meter,
    parse_unit_length,
)
from .errors import MusicError
from .meter import Bar, read_abc


def _text(tune) -> str:
    return tune.text if isinstance(tune, Tune) else str(tune)


# --------------------------------------------------------------------------- bars


@dataclass(frozen=True)
class BarCheck:
    """The bars of one tune and which of them are interior (and so must be full).

    `wrong` are the interior bars whose length is not what M: asks for. A section's first
    and last bars may be short, but no bar may be longer than M: asks: those are
    `overlong` (mostly a bar line left out). `ok` when there are neither.
    """

    bars: tuple[Bar, ...]
    interior: tuple[Bar, ...]
    unit: Fraction | None  # L:, to report lengths in the tune's own units

    @property
    def wrong(self) -> tuple[Bar, ...]:
        return tuple(bar for bar in self.interior if not bar.right)

    @property
    def overlong(self) -> tuple[Bar, ...]:
        return tuple(
            bar
            for bar in self.bars
            if bar.checkable and bar.expected is not None and bar.duration > bar.expected
        )

    @property
    def ok(self) -> bool:
        return not self.wrong and not self.overlong

    def describe(self, bar: Bar) -> str:
        """ "line 8: bar 'a^gaf defa' lasts 9 units of L:1/8, M: asks for 8"."""
        if self.unit is None or bar.expected is None:
            return f"line {bar.line}: bar {bar.text!r} lasts {bar.duration} of a whole note"
        return (
            f"line {bar.line}: bar {bar.text!r} lasts {_units(bar.duration, self.unit)} units "
            f"of L:{self.unit}, M: asks for {_units(bar.expected, self.unit)}"
        )


def _units(duration: Fraction, unit: Fraction) -> str:
    count = duration / unit
    return str(count.numerator) if count.denominator == 1 else str(count)


def _sections(events: Iterable[tuple]) -> list[list[Bar]]:
    """The bars grouped by section, using the reader's boundary events."""
    sections: list[list[Bar]] = [[]]
    for event in events:
        if event[0] == "bar":
            sections[-1].append(event[1])
        elif event[0] == "boundary" and sections[-1]:
            sections.append([])
    return [section for section in sections if section]


def bar_check(tune) -> BarCheck:
    """Read one tune's bars and pick out the interior ones (all but each section's first
    and last, among the bars the reader could time under a known meter)."""
    text = _text(tune)
    return _bar_check(read_abc(text), text)


def _bar_check(reader, text: str) -> BarCheck:
    bars = tuple(event[1] for event in reader.events if event[0] == "bar")
    interior = tuple(
        bar
        for section in _sections(reader.events)
        for bar in section[1:-1]
        if bar.checkable and bar.expected is not None
    )
    unit_text = header_value(text, "L")
    try:
        unit = parse_unit_length(unit_text) if unit_text is not None else None
    except MusicError:
        unit = None
    return BarCheck(bars, interior, unit)


@dataclass(frozen=True)
class BarStatistics:
    """Bar figures over many tunes (shared/data/README.md quotes them for irish.abc)."""

    tunes: int
    tunes_all_right: int  # tunes whose interior bars are all right (README's measure)
    interior_bars: int
    interior_bars_right: int
    tunes_ok: int  # ... and that have no overlong bar either (BarCheck.ok)

    @property
    def tune_fraction(self) -> float:
        return self.tunes_all_right / self.tunes if self.tunes else 0.0

    @property
    def bar_fraction(self) -> float:
        return self.interior_bars_right / self.interior_bars if self.interior_bars else 0.0


def bar_statistics(tunes: Iterable) -> BarStatistics:
    count = all_right = bars = bars_right = ok = 0
    for tune in tunes:
        check = bar_check(tune)
        count += 1
        all_right += not check.wrong
        bars += len(check.interior)
        bars_right += len(check.interior) - len(check.wrong)
        ok += check.ok
    return BarStatistics(count, all_right, bars, bars_right, ok)


# --------------------------------------------------------------------------- repeats and form


def repeat_problems(tune) -> list[str]:
    """What is wrong with the repeat signs and variant endings (empty when nothing).

    The rules: `|:` may not open a repeat while one is open, and every one it opens must
    be closed by `:|` (or `::`); a `:|` without `|:` repeats from the start of the tune
    or the last section end, as players read it. Variant endings count up from 1 (`[1`
    then `[2`), every ending but the last ends with `:|`, and a first ending needs a
    second.
    """
    return _repeat_problems(read_abc(_text(tune)).events)


def _repeat_problems(events: list[tuple]) -> list[str]:
    problems: list[str] = []
    open_repeat = False
    last_ending = 0  # number of the variant ending we are in (0: none)
    ending_closed = False  # whether the current ending has met its :|
    for event in events:
        if event[0] == "ending_mid_bar":
            problems.append(f"ending [{event[1]} starts in the middle of a bar")
            continue
        if event[0] == "barline":
            token = event[1]
            if token.startswith(":"):
                open_repeat = False
                ending_closed = True
            if token.endswith(":") and token != ":":
                if open_repeat:
                    problems.append("a repeat |: opened while another is open")
                open_repeat = True
            continue
        if event[0] != "ending":
            continue
        number = int(re.match(r"\d+", event[1]).group())
        if number == 1:
            if last_ending == 1 and not ending_closed:
                problems.append("a first ending [1 follows another first ending")
        elif number != last_ending + 1:
            problems.append(f"ending [{number} does not follow ending [{number - 1}")
        elif not ending_closed:
            problems.append(f"ending [{last_ending} does not end with :| before [{number}")
        last_ending = number
        ending_closed = False
    if open_repeat:
        problems.append("a repeat |: is never closed with :|")
    if last_ending == 1:
        problems.append("a first ending [1 has no second ending")
    return problems


def repeat_count(tune) -> int:
    """How many repeated sections end in the tune (bar lines that start with `:`)."""
    return _repeat_count(read_abc(_text(tune)).events)


def _repeat_count(events: list[tuple]) -> int:
    return sum(1 for event in events if event[0] == "barline" and event[1].startswith(":"))


def has_aabb(tune) -> bool:
    """AABB form: exactly two repeated sections, i.e. exactly two end-of-repeat bar lines
    (`:|`, or `::` which ends one repeat and starts the next). Variant endings belong to
    the section they end, so `[1 ..:|[2 ..` is one repeat. In irish.abc 66.0% of tunes
    have this form (shared/data/README.md: 66%)."""
    return repeat_count(tune) == 2


# --------------------------------------------------------------------------- music21


def parse_error(tune) -> str | None:
    """Why music21 cannot read the tune (None when it reads it and finds notes).

    music21's ABC reader is lenient: it reads much that is broken. It is the step before
    MIDI, so "parses" here means "music21 turns it into notes", nothing stricter.
    """
    score = _music21_score(_text(tune))
    if isinstance(score, str):
        return score
    if not score.recurse().notes:
        return "music21 found no notes"
    return None


def _music21_score(text: str):
    """The music21 score for `text`, or a one-line reason why there is none."""
    from music21 import converter  # slow to import: only when a tune is checked

    quiet = io.StringIO()
    try:
        # music21 prints its warnings to stderr and through `warnings`; keep them quiet.
        with contextlib.redirect_stderr(quiet), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return converter.parse(text, format="abc")
    except Exception as error:  # music21 raises many kinds; any of them means "cannot read"
        message = " ".join(str(error).split()) or type(error).__name__
        return f"music21 cannot read it: {message[:200]}"


# --------------------------------------------------------------------------- validate


@dataclass(frozen=True)
class Validation:
    """Everything `validate` found about one tune; `valid` when there is nothing wrong."""

    parses: bool | None  # music21 reads it into notes; None when not checked
    missing_headers: tuple[str, ...]
    syntax_problems: tuple[str, ...]  # what the ABC reader could not make sense of
    bars_ok: bool  # every interior bar has the length M: and L: ask for
    interior_bars: int
    wrong_bars: int  # interior bars of the wrong length, and overlong bars anywhere
    repeats_ok: bool
    ends_with_bar_line: bool  # False when the text stops mid-bar (cut off?)
    aabb: bool  # two repeated sections (a statistic, not a requirement)
    reasons: tuple[str, ...]  # why it is not valid, one line each

    @property
    def valid(self) -> bool:
        return not self.reasons


def validate(tune, check_parse: bool = True) -> Validation:
    """Check one tune: headers X, T, M, L, K; the music reads; bars; repeats.

    `check_parse=False` skips music21 (about 60 ms a tune on this machine) when only the
    cheap checks are wanted. Each failed check adds one line to `reasons`.
    """
    text = _text(tune)
    reasons: list[str] = []

    fields = header_fields(text)
    present = {letter for letter, _ in fields}
    missing = tuple(letter for letter in REQUIRED_HEADERS if letter not in present)
    if missing:
        reasons.append(
            "missing header"
            + ("s " if len(missing) > 1 else " ")
            + ", ".join(f"{m}:" for m in missing)
        )
    for letter, parse in (("M", parse_meter), ("L", parse_unit_length)):
        value = field_value(fields, letter)
        if value is not None:
            try:
                parse(value)
            except MusicError as error:
                reasons.append(str(error))

    reader = read_abc(text)  # once: the bar, repeat and form checks all use it
    syntax = tuple(reader.problems)
    reasons.extend(syntax[:3])
    if len(syntax) > 3:
        reasons.append(f"... and {len(syntax) - 3} more syntax problems")

    bars = _bar_check(reader, text)
    if not bars.bars:
        reasons.append("no music")
    wrong = sorted(set(bars.wrong) | set(bars.overlong), key=bars.bars.index)
    for bar in wrong[:3]:
        reasons.append(bars.describe(bar))
    if len(wrong) > 3:
        reasons.append(f"... and {len(wrong) - 3} more bars of the wrong length")
    ends = bool(bars.bars) and bars.bars[-1].closer is not None
    if bars.bars and not ends:
        reasons.append("the music stops in the middle of a bar (cut off?)")

    repeats = _repeat_problems(reader.events)
    reasons.extend(repeats)

    parses: bool | None = None
    if check_parse:
        error = parse_error(text)
        parses = error is None
        if error is not None:
            reasons.append(error)

    return Validation(
        parses=parses,
        missing_headers=missing,
        syntax_problems=syntax,
        bars_ok=bars.ok,
        interior_bars=len(bars.interior),
        wrong_bars=len(wrong),
        repeats_ok=not repeats,
        ends_with_bar_line=ends,
        aabb=_repeat_count(reader.events) == 2,
        reasons=tuple(reasons),
    )


# --------------------------------------------------------------------------- generated tunes

MIN_BARS = 8  # the shortest tune of irish.abc has 8 bars; a 2-bar "tune" is a fragment


# The longest run of one bar written again and again that a tune may have. In irish.abc one
# tune of 804 plays a bar four times in a row, none more; a model that copies from its own
# past can fall into a loop (the bar it just wrote is always the likest place to copy from).
MAX_BAR_RUN = 4


def longest_bar_run(tune) -> int:
    """The most times one bar follows itself in a row (1: no bar is repeated right away)."""
    bars = bar_texts(tune)
    longest = current = min(1, len(bars))
    for previous, bar in zip(bars, bars[1:]):
        current = current + 1 if bar == previous else 1
        longest = max(longest, current)
    return longest


def rejection_reason(tune, verdict=None) -> str | None:
    """Why a generated tune is not kept (the first reason), or None to keep it: the policy
    of `seqlab music generate`. A tune is kept when it passes `validate` (music21 included),
    has at least MIN_BARS bars and no bar in a row more than MAX_BAR_RUN times. `verdict`:
    the tune's `validate` verdict when the caller already has it (music21's read is slow)."""
    verdict = verdict if verdict is not None else validate(tune)
    if not verdict.valid:
        return verdict.reasons[0]
    bars = len(bar_check(tune).bars)
    if bars < MIN_BARS:
        return f"too short: {bars} bars (a tune has at least {MIN_BARS})"
    run = longest_bar_run(tune)
    if run > MAX_BAR_RUN:
        return f"stuck in a loop: one bar {run} times in a row (the corpus has at most {MAX_BAR_RUN})"
    return None


# --------------------------------------------------------------------------- copying


def bar_texts(tune) -> list[str]:
    """The tune's bars as text with spaces taken out (`dAFA DFAd` -> `dAFADFAd`), so the
    same notes compare equal however they are beamed."""
    return ["".join(bar.text.split()) for bar in bar_check(tune).bars]


def copied_bar_fraction(generated: Sequence, training: Iterable, run: int = 4) -> float:
    """The fraction of generated bars that sit in a run of `run` or more consecutive bars
    found, consecutively and verbatim, in one training tune.

    A bar sits in such a run exactly when one of the windows of `run` bars that contain it
    occurs in a training tune, so we index every window of the training tunes once and
    mark the generated windows found there. Bars are compared as `bar_texts` gives them.
    """
    if run < 1:
        raise MusicError(f"run must be at least 1, got {run}")
    seen: set[tuple[str, ...]] = set()
    for tune in training:
        bars = bar_texts(tune)
        for start in range(len(bars) - run + 1):
            seen.add(tuple(bars[start : start + run]))
    total = copied = 0
    for tune in generated:
        bars = bar_texts(tune)
        marked = [False] * len(bars)
        for start in range(len(bars) - run + 1):
            if tuple(bars[start : start + run]) in seen:
                marked[start : start + run] = [True] * run
        total += len(bars)
        copied += sum(marked)
    return copied / total if total else 0.0
