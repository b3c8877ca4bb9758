"""How a tune is built, measured: bars and two-bar phrases that come back, whether the tune
ends on its key's tonic, and its meter.

A folk tune repeats itself (in irish.abc about a third of the bars repeat an earlier bar of
the same tune) and comes home to its tonic; these numbers say whether generated tunes do, set
beside the corpus's own (`seqlab music evaluate`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Iterable, Mapping

from .abc import field_letter, header_value
from .checks import bar_texts
from .errors import MusicError
from .lexer import BARLINE, NOTE, NOTE_LETTERS, tokenize


@dataclass(frozen=True)
class TuneForm:
    bars: int
    repeated_bars: int  # bars equal to an earlier bar of the same tune (spaces ignored)
    phrases: int  # pairs of consecutive bars
    recurring_phrases: int  # pairs equal to an earlier pair of the same tune
    ends_on_tonic: bool  # the last note's letter is the key's tonic (octave and accidental aside)
    meter: str  # the M: value, "" if none
    opening: str  # the first two bars ("" with fewer): two tunes that share it are one tune twice


def repeats(items: list[str]) -> int:
    """How many items equal an earlier item of the list."""
    seen: set[str] = set()
    count = 0
    for item in items:
        count += item in seen
        seen.add(item)
    return count


def tonic(tune: str) -> str | None:
    """The tonic letter of the tune's key (K:D Mixolydian -> "D"), None without a usable key."""
    key = (header_value(tune, "K") or "").strip()
    return key[0].upper() if key[:1].upper() in "ABCDEFG" and key[:1] else None


def last_note(tune: str) -> str | None:
    """The letter of the tune's last note, upper case, or None if it has none."""
    lines = tune.split("\n")
    body = next((i + 1 for i, line in enumerate(lines) if field_letter(line) == "K"), len(lines))
    for line in reversed(lines[body:]):
        if field_letter(line) is not None:
            continue
        notes = [token.text for token in tokenize(line) if token.kind == NOTE]
        if notes:
            return next(ch for ch in notes[-1] if ch in NOTE_LETTERS).upper()
    return None


def form_of(tune: str) -> TuneForm:
    try:
        bars = bar_texts(tune)
    except MusicError:  # a tune the bar reader cannot read has no bars to compare
        bars = []
    phrases = [first + "|" + second for first, second in zip(bars, bars[1:])]
    key = tonic(tune)
    return TuneForm(
        bars=len(bars),
        repeated_bars=repeats(bars),
        phrases=len(phrases),
        recurring_phrases=repeats(phrases),
        ends_on_tonic=key is not None and last_note(tune) == key,
        meter=(header_value(tune, "M") or "").strip(),
        opening=phrases[0] if phrases else "",
    )


def form_statistics(tunes: Iterable[str]) -> dict:
    """Shares over a set of tunes: bars that repeat an earlier bar of their tune, tunes with no
    repeated bar, two-bar phrases that recur, tunes ending on the tonic; the number of tunes
    that open with the same two bars as an earlier tune of the set; and the meters."""
    forms = [form_of(tune) for tune in tunes]
    bars = sum(form.bars for form in forms)
    phrases = sum(form.phrases for form in forms)
    count = max(1, len(forms))
    return {
        "tunes": len(forms),
        "repeated_bars": round(sum(form.repeated_bars for form in forms) / max(1, bars), 4),
        "tunes_without_repeat": round(sum(form.repeated_bars == 0 for form in forms) / count, 4),
        "recurring_phrases": round(sum(form.recurring_phrases for form in forms) / max(1, phrases), 4),
        "ending_on_tonic": round(sum(form.ends_on_tonic for form in forms) / count, 4),
        "shared_openings": repeats([form.opening for form in forms if form.opening]),
        "meters": shares(form.meter for form in forms),
    }


def meter_distribution(tunes: Iterable[str]) -> dict[str, float]:
    """The share of tunes in each meter (M: value), most common first; reads headers only."""
    return shares((header_value(tune, "M") or "").strip() for tune in tunes)


def shares(labels: Iterable[str]) -> dict[str, float]:
    counts = Counter(labels)
    total = max(1, sum(counts.values()))
    return {label: round(n / total, 4) for label, n in counts.most_common()}


def bar_spans(tune: str) -> list[tuple[int, int, str]]:
    """Each bar of the tune's body that ends at a bar line: (start, end) as character offsets
    into `tune` (spaces included, as written) and its text without spaces, to compare."""
    spans = []
    offset = 0
    in_body = False
    for line in tune.split("\n"):
        letter = field_letter(line)
        if in_body and letter is None:
            start = 0  # a line of music starts a bar
            for token in tokenize(line):
                if token.kind == BARLINE:
                    text = "".join(line[start : token.start].split())
                    if text:
                        spans.append((offset + start, offset + token.start, text))
                    start = token.end
        in_body = in_body or letter == "K"
        offset += len(line) + 1
    return spans


def total_variation(p: Mapping[str, float], q: Mapping[str, float]) -> float:
    """Half the L1 distance between two distributions over the same kind of labels."""
    return round(0.5 * sum(abs(p.get(label, 0.0) - q.get(label, 0.0)) for label in set(p) | set(q)), 4)
