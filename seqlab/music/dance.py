"""The dances of the folk repertoire: which meter each is written in, the tempo it is played
at, and how to ask for one (`seqlab music generate --rhythm jig --key Dmix`).

Without a `Q:` field every tune plays at music21's one tempo (120 quarter notes a minute: a
jig bar takes 1.5 s, a slow air's pace); a tune gets the tempo of its dance instead, read
from its `R:` field or, lacking one, from its meter. Tempos are common session speeds, given
in the beat a dancer feels (half notes for reels, dotted quarters for jigs).
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Iterable, NamedTuple

import torch

from .abc import field_letter, header_value, parse_meter
from .errors import MusicError


class Dance(NamedTuple):
    meter: str  # as the corpus writes it
    beat: str  # the Q: unit
    tempo: int  # beats per minute


DANCES: dict[str, Dance] = {
    "reel": Dance("C", "1/2", 100),
    "hornpipe": Dance("C|", "1/2", 80),
    "jig": Dance("6/8", "3/8", 110),
    "slip jig": Dance("9/8", "3/8", 120),
    "slide": Dance("12/8", "3/8", 130),
    "polka": Dance("2/4", "1/4", 130),
    "waltz": Dance("3/4", "1/4", 150),
}
# A meter with no R: field plays as the dance most often written in it.
BY_METER = {"C": "reel", "4/4": "reel", "C|": "reel", "2/2": "reel", "6/8": "jig", "9/8": "slip jig",
            "12/8": "slide", "2/4": "polka", "3/4": "waltz"}
DEFAULT_BEAT, DEFAULT_TEMPO = "1/4", 120  # any other meter
MIN_TEMPO, MAX_TEMPO = 20, 400

MODES = {
    "": "Major", "maj": "Major", "major": "Major", "ion": "Major", "ionian": "Major",
    "m": "Minor", "min": "Minor", "minor": "Minor", "aeo": "Minor", "aeolian": "Minor",
    "dor": "Dorian", "dorian": "Dorian", "mix": "Mixolydian", "mixolydian": "Mixolydian",
}


def dance_of(tune: str) -> str | None:
    """The tune's dance: its R: field if it names one, else the dance of its meter."""
    rhythm = (header_value(tune, "R") or "").strip().lower().replace("-", " ")
    if rhythm in DANCES:
        return rhythm
    return BY_METER.get((header_value(tune, "M") or "").strip())


def with_tempo(tune: str, tempo: int | None = None) -> str:
    """The tune with a Q: line before its K: line: its own Q: stays unless `tempo` (beats a
    minute, in the beat of its dance) is given; otherwise its dance's usual tempo."""
    if tempo is not None and not MIN_TEMPO <= tempo <= MAX_TEMPO:
        raise MusicError(f"a tempo must be from {MIN_TEMPO} to {MAX_TEMPO} beats a minute, got {tempo}")
    lines = tune.split("\n")
    has_tempo = any(field_letter(line) == "Q" for line in lines)
    if has_tempo and tempo is None:
        return tune
    dance = dance_of(tune)
    beat, usual = (DANCES[dance].beat, DANCES[dance].tempo) if dance else (DEFAULT_BEAT, DEFAULT_TEMPO)
    line = f"Q:{beat}={tempo or usual}"
    lines = [text for text in lines if field_letter(text) != "Q"]
    key = next((i for i, text in enumerate(lines) if field_letter(text) == "K"), len(lines))
    return "\n".join(lines[:key] + [line] + lines[key:])


def key_value(text: str) -> str:
    """A key as the corpus writes it: "Dmix" -> "D Mixolydian", "Em" -> "E Minor", "G" -> "G Major"."""
    match = re.fullmatch(r"\s*([A-Ga-g])([#b]?)\s*([A-Za-z]*)\s*", text)
    mode = MODES.get(match.group(3).lower()) if match else None
    if match is None or mode is None:
        raise MusicError(
            f"unknown key {text!r}: give a tonic A-G, perhaps # or b, and a mode (major, m, dor, mix), e.g. Dmix"
        )
    return f"{match.group(1).upper()}{match.group(2)} {mode}"


def dance_mix(tunes: Iterable[str]) -> dict[str, float]:
    """The share of each dance header among tunes: their R: (if any) and M: lines as written,
    e.g. {"R:reel\nM:C": 0.48, "R:jig\nM:6/8": 0.22, ...}; tunes without M: are left out."""
    headers = []
    for tune in tunes:
        lines = [line.strip() for line in tune.split("\n") if field_letter(line) in ("R", "M")]
        if any(field_letter(line) == "M" for line in lines):
            headers.append("\n".join(lines[:2]))
    counts = Counter(headers)
    return {header: round(n / max(1, len(headers)), 6) for header, n in counts.most_common()}


def draw_dances(mix: dict[str, float], count: int, generator: torch.Generator | None = None) -> list[str]:
    """`count` dance headers drawn from a dance_mix, so that generated tunes keep its proportions."""
    headers = list(mix)
    picked = torch.multinomial(torch.tensor([mix[h] for h in headers], dtype=torch.float64), count,
                               replacement=True, generator=generator)
    return [headers[i] for i in picked.tolist()]


def dance_start(meter: str | None = None, key: str | None = None, rhythm: str | None = None) -> str:
    """Header lines asking for a dance, a meter and/or a key ("M:6/8\\nK:D Mixolydian")."""
    asked = None
    if meter is not None:
        try:
            asked = parse_meter(meter)
        except MusicError as error:
            raise MusicError(f"--meter {meter!r}: {error}") from None
        if asked.bar_length is None:
            raise MusicError(f"--meter {meter!r} is free meter; give one such as 6/8, C or 3/4")
    if rhythm is not None:
        name = rhythm.strip().lower().replace("-", " ")
        if name not in DANCES:
            raise MusicError(f"unknown rhythm {rhythm!r}; choose one of {', '.join(DANCES)}")
        usual = parse_meter(DANCES[name].meter)
        # C and 4/4 are one meter; 6/8 and 3/4 are not (the same length, other beats).
        if asked is not None and (asked.bar_length, asked.compound) != (usual.bar_length, usual.compound):
            raise MusicError(f"a {name} is in {DANCES[name].meter}, not {meter}: give --meter or --rhythm, not both")
        meter = meter or DANCES[name].meter
    # The dance named as the corpus names it (R:), which the model reads, and the tempo follows.
    lines = [] if rhythm is None else [f"R:{name}"]
    lines += [] if meter is None else [f"M:{meter.strip()}"]
    if key is not None:
        lines.append(f"K:{key_value(key)}")
    return "\n".join(lines)
