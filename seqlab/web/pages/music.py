"""The music page: new tunes as sheet music (SVG), sound (WAV) and ABC, with downloads and the
validity report of each, and "more like this" (the tune's start again, a new seed).

The model is the shipped one (or `seqlab serve --music-checkpoint DIR`), loaded by the first
request; seqlab.tasks.music and music21 are imported then too, so the server starts fast.

A request has two parts. Sampling: its streams join the batch that every request's streams
share (seqlab.web.batching, a process of its own), from a thread of the page's own pool, one
thread a waiting request (a thread that waits costs nothing; the batch does the work), and
each tune is checked as its stream ends. Rendering (MIDI, WAV, SVG): in worker processes
(seqlab.web.rendering), as many at once as the server's generation pool has threads (the
cores). The time limit counts from the request's arrival, across both.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.requests import Request

from ..inputs import read_json
from ..registry import Api, Page
from ..work import WebError, WorkPool

if TYPE_CHECKING:  # the app imports the pages; only the type hints need it
    from ..app import Runtime
    from ..rendering import RenderPool

MAX_TUNES = 8  # a batch the page waits for: about a second a tune on a 2-core CPU
MAX_SEED = 2**32 - 1  # what a browser's number holds exactly, and shows in full
MIN_TEMPERATURE, MAX_TEMPERATURE = 0.1, 3.0
MAX_TOP_K = 1_000
MAX_START = 2_000  # as `seqlab music generate --start`
MAX_NAME = 40  # a meter or a key
SAMPLE_ROUNDS = 24  # rounds of one stream a missing tune: `seqlab music generate`'s 6 rounds of 4 spares
# Characters a tune may run to on the page (the command line allows 1,500). The longest tune of
# the training corpus has 603; about one stream in twenty misses the blank line that ends a tune
# and runs on, and every step it takes is a step its request waits for.
TUNE_LENGTH = 800


@dataclass
class MusicPage:
    """The page's state: the threads its requests sample from, and the rendering processes."""

    sampling: WorkPool
    rendering: RenderPool


def setup(runtime: Runtime) -> None:
    from ..rendering import RenderPool

    settings = runtime.settings
    # A thread for every request that may be pending: they wait on the shared batch.
    threads = max(1, settings.max_pending)
    page = MusicPage(WorkPool("music sampling", threads, settings.max_pending, settings.request_seconds),
                     RenderPool(settings.workers))
    runtime.pages["music"] = page
    runtime.closers.extend([page.sampling.close, page.rendering.close])


def music_model(runtime: Runtime) -> tuple[Any, Any, dict, Any]:
    """The model, its vocabulary and config, and the batch its requests sample in."""

    def load():
        from seqlab.music.checks import validate
        from seqlab.tasks.music import load_music_model

        from ..batching import BatchedSampler
        from ..rendering import WARM_UP_TUNE

        checkpoint = runtime.settings.checkpoints.get("music")
        # Here for its vocabulary and config (the sampler's process loads its own copy), and
        # so that a checkpoint that cannot load is one line here, not a dead child process.
        model, vocab, config = load_music_model(checkpoint)
        # music21 read once here (the tunes are checked in this process), so that the first
        # request does not pay for its imports, and they are frozen with the model (SharedModels).
        validate(WARM_UP_TUNE)
        sampler = BatchedSampler(partial(load_music_model, checkpoint), "music-sampler")
        runtime.closers.append(sampler.close)
        runtime.pages["music"].rendering.start()
        return model, vocab, config, sampler

    return runtime.models.get("music", load)


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

    arrived = time.monotonic()  # the request's time limit counts from here, through both pools
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
    page: MusicPage = runtime.pages["music"]
    start, report = await page.sampling.run(sample_tunes, runtime, asked, arrived, started=arrived)
    return await runtime.generation.run(render_answer, runtime, asked, start, report, arrived, started=arrived)


def sample_tunes(runtime: Runtime, asked: TuneRequest, arrived: float):
    """Sample and check, in the shared batch: runs in a thread of the page's sampling pool.
    The start the tunes were asked with, and generate_tunes' report."""
    from seqlab.music.dance import dance_start
    from seqlab.tasks.music import generate_tunes

    start = asked.start
    if asked.rhythm or asked.meter or asked.key:
        start = dance_start(asked.meter, asked.key, asked.rhythm)
    model, vocab, config, sampler = music_model(runtime)
    # No spare streams: in the shared batch every stream slows every request's steps, and
    # spares are mostly thrown away (about one tune in nine is rejected; that one is sampled
    # again), with as many samples in all before giving up as `seqlab music generate` takes.
    report = generate_tunes(
        model, vocab, asked.count, temperature=asked.temperature, top_k=asked.top_k, seed=asked.seed, start=start,
        meter_aware=True, keep_valid=True, dances=config.get("dances"), spare_streams=False, max_rounds=SAMPLE_ROUNDS,
        max_length=TUNE_LENGTH,
        sampler=partial(sampler.streams, deadline=arrived + runtime.settings.request_seconds),
    )
    if not report.tunes:
        advice = "give header lines like \"M:6/8\\nK:D\", or leave the start out" if asked.start else "try a lower temperature"
        raise WebError(f"no valid tune in {report.sampled} samples; {advice}", 422)
    return start, report


def render_answer(runtime: Runtime, asked: TuneRequest, start: str | None, report, arrived: float) -> dict:
    """Render the kept tunes (in a rendering process) and write the answer: runs in a thread
    of the generation pool."""
    from seqlab.music import tune_title
    from seqlab.music.dance import with_tempo

    tunes = [with_tempo(tune, asked.tempo) for tune in report.tunes]
    folder = runtime.store.new_folder()
    left = runtime.settings.request_seconds - (time.monotonic() - arrived)
    renderings = runtime.pages["music"].rendering.render(tunes, folder, timeout=max(0.0, left))
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
    setup=setup,
)
