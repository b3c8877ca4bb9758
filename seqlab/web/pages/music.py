"""The music page: new tunes as sheet music (SVG), sound (WAV) and ABC, with downloads and the
validity report of each, and "more like this" (the tune's start again, a new seed).

The model is the shipped one (or `seqlab serve --music-checkpoint DIR`), loaded by the first
request; seqlab.tasks.music and music21 are imported then too, so the server starts fast.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from starlette.requests import Request

from ..inputs import read_json
from ..registry import Api, Page
from ..work import WebError

if TYPE_CHECKING:  # the app imports the pages; only the type hints need it
    from ..app import Runtime

MAX_TUNES = 8  # a batch the page waits for: about a second a tune on a 2-core CPU
MAX_SEED = 2**32 - 1  # what a browser's number holds exactly, and shows in full
MIN_TEMPERATURE, MAX_TEMPERATURE = 0.1, 3.0
MAX_TOP_K = 1_000
MAX_START = 2_000  # as `seqlab music generate --start`
MAX_NAME = 40  # a meter or a key


@dataclass(frozen=True)
class TuneRequest:
    count: int
    seed: int
    temperature: float
    top_k: int | None
    start: str | None
    rhythm: str | None
    meter: str | None
    key: str | None
    tempo: int | None


def dances() -> list[str]:
    from seqlab.music.dance import DANCES

    return list(DANCES)


async def generate(request: Request, runtime: Runtime) -> dict:
    from seqlab.music.dance import MAX_TEMPO, MIN_TEMPO

    fields = await read_json(request, runtime.settings.max_body_bytes)
    asked = TuneRequest(
        count=fields.integer("count", 1, MAX_TUNES, default=1),
        seed=fields.integer("seed", 0, MAX_SEED, default=secrets.randbelow(MAX_SEED + 1)),
        temperature=fields.number("temperature", MIN_TEMPERATURE, MAX_TEMPERATURE, default=1.0),
        top_k=fields.integer("top_k", 1, MAX_TOP_K),
        start=fields.text("start", MAX_START),
        rhythm=fields.choice("rhythm", dances()),
        meter=fields.text("meter", MAX_NAME),
        key=fields.text("key", MAX_NAME),
        tempo=fields.integer("tempo", MIN_TEMPO, MAX_TEMPO),
    )
    fields.done()
    if asked.start is not None and (asked.rhythm or asked.meter or asked.key):
        raise WebError("give either a start or a rhythm, meter and key, not both")
    return await runtime.generation.run(make_tunes, runtime, asked)


def make_tunes(runtime: Runtime, asked: TuneRequest) -> dict:
    """Sample, check, render: runs in a worker thread."""
    from seqlab.music import render_tunes, tune_title
    from seqlab.music.dance import dance_start, with_tempo
    from seqlab.tasks.music import generate_tunes, load_music_model

    start = asked.start
    if asked.rhythm or asked.meter or asked.key:
        start = dance_start(asked.meter, asked.key, asked.rhythm)
    model, vocab, config = runtime.models.get("music", lambda: load_music_model(runtime.settings.checkpoints.get("music")))
    report = generate_tunes(
        model, vocab, asked.count, temperature=asked.temperature, top_k=asked.top_k, seed=asked.seed, start=start,
        meter_aware=True, keep_valid=True, dances=config.get("dances"),
    )
    if not report.tunes:
        advice = "give header lines like \"M:6/8\\nK:D\", or leave the start out" if asked.start else "try a lower temperature"
        raise WebError(f"no valid tune in {report.sampled} samples; {advice}", 422)
    tunes = [with_tempo(tune, asked.tempo) for tune in report.tunes]
    folder = runtime.store.new_folder()
    renderings = render_tunes(tunes, folder)
    answer = {
        "seed": asked.seed,
        "sampled": report.sampled,
        "rejected": len(report.rejected),
        "first_rejection": report.rejected[0][1] if report.rejected else None,
        "tunes": [],
    }
    # generate_tunes (keep_valid) checked each kept tune already; a Q: line changes nothing it checks.
    for number, (tune, rendering, verdict) in enumerate(zip(tunes, renderings, report.verdicts), start=1):
        svg = rendering.svg.read_text(encoding="utf-8") if rendering.svg is not None else None
        files = {"abc": folder / f"tune_{number}.abc", "midi": rendering.midi, "wav": rendering.wav, "svg": rendering.svg}
        answer["tunes"].append({
            "number": number,
            "title": tune_title(tune),
            "abc": tune,
            # "More like this" starts from here: the asked start, or the tune's own dance and key.
            "start": start or dance_header(tune),
            "svg": svg,
            "files": {kind: runtime.store.url(Path(path)) for kind, path in files.items() if path is not None},
            "validity": {
                "valid": verdict.valid,
                "reasons": list(verdict.reasons),
                "parses": verdict.parses,
                "bars_ok": verdict.bars_ok,
                "interior_bars": verdict.interior_bars,
                "wrong_bars": verdict.wrong_bars,
                "repeats_ok": verdict.repeats_ok,
                "ends_with_bar_line": verdict.ends_with_bar_line,
                "aabb": verdict.aabb,
            },
            "errors": rendering.errors,
        })
    return answer


def dance_header(tune: str) -> str:
    """The tune's R:, M: and K: lines, the start that asks for another tune like it."""
    from seqlab.music.abc import header_value

    lines = [f"{letter}:{value.strip()}" for letter in "RMK" if (value := header_value(tune, letter))]
    return "\n".join(lines)


PAGE = Page(
    slug="music",
    title="Music",
    summary="New Irish folk tunes: sheet music, sound and ABC, checked bar by bar.",
    template="music.html",
    apis=(Api("generate", generate),),
    context=lambda runtime: {"dances": dances(), "max_tunes": MAX_TUNES},
)
