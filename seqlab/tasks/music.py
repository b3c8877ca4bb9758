"""Music generation, the lecture's lab (section 7): learn folk tunes in ABC notation, write new ones.

    seqlab music train     [--data PATH|NAME] [--out DIR] [--preset default|lab|tiny] [options]
    seqlab music generate  [--count N] [--out DIR] [--seed S] [--temperature T] [--top-k K]
                           [--start "M:6/8\\nK:D"] [--checkpoint PATH]
    seqlab music evaluate  [--checkpoint PATH] [--samples N] [--json]
    seqlab music export    --checkpoint DIR --out DIR

The model is the generic character-level language model (seqlab.models), trained on the frame
(seqlab.tasks.frame) with stateful truncated BPTT over the concatenated training tunes; the
music is in what surrounds it: the corpus, the held-out split, validity checks, meter-aware
decoding and rendering to MIDI, WAV and SVG (seqlab.music).
"""

from __future__ import annotations

import math
import random
import statistics
import time
from collections.abc import Sequence
from contextlib import closing
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import torch
from tqdm.auto import tqdm

from seqlab.errors import ConfigError, SeqlabError
from seqlab.models import LanguageModelConfig
from seqlab.music import (
    MeterTracker,
    MusicError,
    bar_check,
    clean_tune,
    complete_headers,
    copied_bar_fraction,
    held_out_split,
    load_corpus,
    plays,
    rejection_reason,
    render_tunes,
    renumber,
    split_abc,
    strip_provenance,
    tune_title,
    validate,
)
from seqlab.music.corpus import extra_training_tunes
from seqlab.music.dance import DANCES, MAX_TEMPO, MIN_TEMPO, dance_mix, dance_start, draw_dances, with_tempo
from seqlab.music.form import bar_spans, form_statistics, meter_distribution, total_variation
from seqlab.music.transpose import transposed_copies
from seqlab.sample import SamplingConfig, SamplingJob, StreamSampler, collect, stream_job
from seqlab.tasks import frame
from seqlab.tasks._language import LanguageTask, StreamConfig, held_out_bits_per_char, load_language_model
from seqlab.utils import output_directory

KIND = "music-char-lm"
TUNE_SEPARATOR = "\n\n"  # tunes are blank-line separated blocks, in the corpus as in generation
MAX_COUNT = 1_000  # tunes one `generate` writes
MAX_SAMPLES = 10_000  # tunes one `evaluate` samples
MAX_START = 2_000  # characters of --start: header lines, perhaps a bar or two


# ------------------------------------------------------------------------------- config
@dataclass
class MusicDataConfig(StreamConfig):
    """The corpus and how it is cut into training windows."""

    # a corpus name (irish, or a music21 folk collection), an .abc file or a folder
    data: str = "irish"
    # More corpora for training only, comma-separated (say "oneills1850,ryansMammoth"); the
    # held-out split stays that of `data`, and tunes that may be held-out ones are dropped.
    extra_data: str = ""
    # A music checkpoint to start from (fine-tuning): its vocabulary and weights; the model
    # options must match its shape.
    init_from: str = ""
    # Data augmentation: every training tune also in these transpositions, in letter steps
    # ("2": every step from two down to two up; "-1,1,3": those; each pitch moves by the same
    # interval and the key follows). The held-out tunes stay as they are.
    transpose: str = ""
    # Leave out training tunes (extra corpora included) whose interior bars do not all have
    # the length M: and L: ask for: a model learns such slips as readily as the music. Of the
    # corpora, irish.abc's training tunes pass at 98.9%, O'Neill's 1850 at 90.5%, Ryan's 94.4%.
    drop_wrong_bars: bool = False

    def __post_init__(self) -> None:
        super().__post_init__()
        transpose_steps(self.transpose)  # a bad list fails here, before the corpus is read


# The task's three sections; `seqlab music train` starts from PRESETS["default"].
MusicConfig = frame.task_config("MusicConfig", MusicDataConfig, LanguageModelConfig)


PRESETS: dict[str, dict] = {
    # The task's recipe, under every other preset. Tuned on this project's 2-core CPU:
    # reaches 1.50 held-out bits/char well within 15 min.
    "default": {
        "model": dict(embedding_size=64, hidden_size=512, num_layers=2, cell="lstm", dropout=0.4),
        "train": dict(steps=1200, lr=3e-3, lr_schedule="cosine", clip_grad_norm=1.0, eval_every=100,
                      metric="val_bits_per_char"),
    },
    # The lab's own recipe (LECTURE.md section 7), rebuilt: embedding 256, one LSTM layer of
    # 1024 units, random 100-character windows in batches of 8, Adam at 5e-3, 3000 steps,
    # no dropout, no state carried between windows.
    "lab": {
        "model": dict(embedding_size=256, hidden_size=1024, num_layers=1, dropout=0.0),
        "data": dict(window=100, batch_size=8, stateful=False),
        "train": dict(steps=3000, lr=5e-3, lr_schedule="constant", clip_grad_norm=None, eval_every=300),
    },
    # A few seconds, for checking that everything runs (tests, CI).
    "tiny": {
        "model": dict(embedding_size=16, hidden_size=32, num_layers=1, dropout=0.0),
        "data": dict(window=32, batch_size=8),
        "train": dict(steps=20, eval_every=10, lr=1e-2),
    },
}


def transpose_steps(text: str) -> list[int]:
    """--transpose's value as letter steps: "2" is every step from -2 to 2, a list such as
    "-1,1,3" those steps; 0 and repeats are dropped (the originals are always in)."""
    if text.strip().isdigit():
        reach = int(text)
        text = ",".join(str(step) for step in range(-reach, reach + 1))
    steps: list[int] = []
    for part in text.split(","):
        if not part.strip():
            continue
        try:
            step = int(part)
        except ValueError:
            raise ConfigError(
                "transpose", f"takes N (every letter step from -N to N) or a list such as --transpose=-1,1,3, "
                f"got {part.strip()!r}"
            ) from None
        if not -6 <= step <= 6:
            raise ConfigError("transpose", f"steps must be between -6 and 6 (a seventh), got {step}")
        if step and step not in steps:
            steps.append(step)
    return steps


# ------------------------------------------------------------------------------- data
@dataclass
class MusicData:
    train_tunes: list[str]
    held_out_tunes: list[str]
    skipped: int
    source: str
    extra_tunes: int = 0  # of train_tunes, how many came from --extra-data
    dropped: int = 0  # --extra-data tunes left out as possible copies of held-out tunes
    transposed: int = 0  # of train_tunes, how many are --transpose copies
    wrong_bars: int = 0  # training tunes left out by --drop-wrong-bars

    @property
    def train_text(self) -> str:
        return TUNE_SEPARATOR.join(self.train_tunes) + TUNE_SEPARATOR

    @property
    def held_out_text(self) -> str:
        return TUNE_SEPARATOR.join(self.held_out_tunes) + TUNE_SEPARATOR


def load_music_data(
    source: str, extra: str = "", transpose: Sequence[int] = (), drop_wrong_bars: bool = False
) -> MusicData:
    """`source`'s fixed split; with `extra` (comma-separated corpora), their tunes join the
    training tunes, and with `transpose` (letter steps) so do the training tunes' transpositions,
    all shuffled together with a fixed seed. With `drop_wrong_bars`, training tunes whose
    interior bars do not all last what M: and L: ask for are left out first. The held-out
    tunes are never touched."""
    corpus = load_corpus(source)
    # What a generated tune must never carry (a source, a transcriber, an address) is never
    # learned: every tune is cleaned before the split (which goes by index, so it is unchanged).
    train_tunes, held_out = held_out_split([clean_tune(tune) for tune in corpus.tunes])
    if not held_out or not train_tunes:
        # 10% rounded half up holds one tune out from 5 tunes on.
        raise SeqlabError(f"{source}: {len(corpus.tunes)} tunes are too few to hold 10% out; give at least 5")
    data = MusicData(train_tunes, held_out, corpus.skipped, corpus.source)
    sources = [name.strip() for name in extra.split(",") if name.strip()]
    if sources:
        extra_tunes, skipped, dropped = extra_training_tunes(sources, held_out)
        data.train_tunes = train_tunes + [clean_tune(tune) for tune in extra_tunes]
        data.skipped += skipped
        data.source = f"{corpus.source} + {', '.join(sources)}"
        data.extra_tunes, data.dropped = len(extra_tunes), dropped
    if drop_wrong_bars:
        kept = [tune for tune in data.train_tunes if _bars_right(tune)]
        if not kept:
            raise SeqlabError(
                f"--drop-wrong-bars left no training tunes: all {len(data.train_tunes)} have bars that do "
                f"not fit their meter; train without it"
            )
        data.wrong_bars = len(data.train_tunes) - len(kept)
        data.train_tunes = kept
    if transpose:
        copies = transposed_copies(data.train_tunes, list(transpose))
        data.train_tunes = data.train_tunes + copies
        data.transposed = len(copies)
    if sources or transpose:
        random.Random(0).shuffle(data.train_tunes)
    return data


def _bars_right(tune: str) -> bool:
    """Every interior bar of the tune has its meter's length (a tune the bar reader cannot
    read counts as wrong)."""
    try:
        return bar_check(tune).ok
    except MusicError:
        return False


# ------------------------------------------------------------------------------- the task
class MusicTask(LanguageTask):
    name = "music"
    kind = KIND
    what = "music model"
    config_type = MusicConfig
    presets = PRESETS
    preset_help = "default: tuned for a CPU; lab: the lecture lab's recipe; tiny: a smoke test"
    default_out = "runs/music"
    export_metric = ("val_bits_per_char", "bits/char")
    train_help = ("train a character-level model on ABC tunes; the LSTM learns with stateful truncated "
                  "BPTT, prints held-out bits/char at every evaluation and keeps the best checkpoint in OUT/best")
    flag_help = {
        "data": "corpus name (irish, or a music21 folk corpus), an .abc file or a folder",
        "extra_data": "more corpora for training only, comma-separated (e.g. oneills1850,ryansMammoth); "
        "tunes that may be held-out ones are dropped",
        "init_from": "start from this music checkpoint's weights and vocabulary (fine-tuning)",
        "transpose": "also train on every training tune transposed: N moves it by every letter step from "
        "-N to N, --transpose=-1,1,3 by those (the key moves with it; held-out tunes stay as they are)",
        "drop_wrong_bars": "leave out training tunes whose interior bars do not all have the length M: and L: ask for",
        "window": "truncated-BPTT window, in characters",
        "stateful": "carry the state across windows (false: the lab's random windows)",
    }

    def load_data(self, config: MusicConfig) -> MusicData:
        data = config.data
        return load_music_data(data.data, data.extra_data, transpose_steps(data.transpose), data.drop_wrong_bars)

    def starting_model(self, config: MusicConfig):
        if not config.data.init_from:
            return None
        return load_language_model(Path(config.data.init_from), KIND, self.what)

    def evaluate(self, model, data) -> dict[str, float]:
        return {"val_bits_per_char": held_out_bits_per_char(model, data.held_out_ids)}

    def describe(self, config: MusicConfig, data, model) -> str:
        tunes: MusicData = data.corpus
        return (
            f"{len(tunes.train_tunes)} training tunes ({data.train_ids.numel():,} characters"
            + (f"; {tunes.extra_tunes} from --extra-data, {tunes.dropped} of those dropped as possible held-out tunes" if tunes.extra_tunes else "")
            + (f"; {tunes.wrong_bars} left out for wrong bar lengths" if config.data.drop_wrong_bars else "")
            + (f"; {tunes.transposed} transposed copies" if tunes.transposed else "")
            + f"), {len(tunes.held_out_tunes)} held out, {tunes.skipped} skipped, from {tunes.source}; "
            f"{sum(p.numel() for p in model.parameters()):,} parameters"
        )

    def describe_result(self, result, config) -> str:
        bits = result.metrics.get("val_bits_per_char", float("nan"))
        return f"held-out bits/char {bits:.3f} (best {frame.best_of(result):.3f})"

    def checkpoint_config(self, config: MusicConfig, data, model) -> dict:
        tunes: MusicData = data.corpus
        return {
            **super().checkpoint_config(config, data, model),
            "data": {
                "source": tunes.source,
                "train_tunes": len(tunes.train_tunes),
                "held_out_tunes": len(tunes.held_out_tunes),
                "extra_tunes": tunes.extra_tunes,
                "dropped_as_possible_held_out": tunes.dropped,
                "transposed_copies": tunes.transposed,
                "left_out_for_wrong_bars": tunes.wrong_bars,
            },
            # What generation draws its dances from, so that new tunes keep the corpus's mix.
            "dances": dance_mix(tunes.train_tunes),
        }

    # ------------------------------------------------------------------ generate, evaluate
    def add_task_commands(self, verbs) -> None:
        generate = verbs.add_parser(
            "generate",
            help="write new tunes as ABC, MIDI, WAV and SVG sheet music",
            description="Sample new tunes from a trained model (the shipped one by default), keep the valid "
            "ones, and write each as .abc, .mid, .wav and .svg into OUT.",
        )
        generate.add_argument("--count", type=frame.bounded_int(1, MAX_COUNT), default=5, help="how many tunes (default 5)")
        generate.add_argument("--out", default="tunes", help="output directory (default: tunes)")
        frame.add_sampling_options(generate)
        generate.add_argument("--start", default=None, help='how each tune starts, e.g. "M:6/8\\nK:D"')
        generate.add_argument("--rhythm", default=None, help=f"the dance: {', '.join(DANCES)} (sets the meter)")
        generate.add_argument("--meter", default=None, help="e.g. 6/8, C (4/4), C| (2/2), 3/4")
        generate.add_argument("--key", default=None, help="e.g. D, Em, Ador, Gmix")
        generate.add_argument("--model-header", action="store_true",
                              help="let the model choose each tune's dance and meter (default: drawn in the "
                              "training tunes' proportions)")
        generate.add_argument("--tempo", type=frame.bounded_int(MIN_TEMPO, MAX_TEMPO), default=None,
                              help="beats a minute in the dance's beat (default: the dance's usual tempo, "
                              "or the tune's own Q:)")
        frame.add_model_options(generate)
        generate.add_argument("--no-meter-aware", dest="meter_aware", action="store_false",
                              help="sample freely instead of keeping every bar the right length while sampling")
        generate.add_argument("--keep-invalid", action="store_true", help="write tunes even if they fail validation")
        generate.add_argument("--no-audio", action="store_true", help="skip MIDI and WAV")
        generate.add_argument("--no-svg", action="store_true", help="skip sheet music")
        generate.set_defaults(run=run_generate)

    def add_evaluate_options(self, parser) -> None:
        parser.description = (
            "Measure a model: held-out bits/char on its corpus's fixed split, and of N tunes sampled "
            "without filtering, how many parse and play, have every bar right, have AABB form, and how "
            "much is copied from the training tunes."
        )
        parser.add_argument("--samples", type=frame.bounded_int(1, MAX_SAMPLES), default=200,
                            help=f"tunes to sample (default 200, at most {MAX_SAMPLES:,})")
        parser.add_argument("--temperature", type=frame.temperature, default=1.0)
        parser.add_argument("--meter-aware", action="store_true", help="sample with meter-aware decoding")
        parser.add_argument("--model-header", action="store_true",
                            help="let the model choose each tune's dance and meter, as generate --model-header")
        parser.add_argument("--seed", type=frame.seed, default=0)

    def run_evaluate(self, args) -> dict:
        return evaluate_music(args.checkpoint, args.samples, args.temperature, args.meter_aware, args.seed, args.device,
                              progress=True, model_header=args.model_header)

    def print_evaluation(self, results: dict) -> None:
        print(f"held-out bits/char        {results['held_out_bits_per_char']:.3f}   ({results['corpus']}, fixed 10% split)")
        print(f"tunes sampled             {results['samples']} at temperature {results['temperature']}"
              f"{' with meter-aware decoding' if results['meter_aware'] else ', no filtering'}; dances {results['dances']}")
        for key, label in [("parse_and_play", "parse and play"), ("all_bars_right", "every bar right"),
                           ("valid", "pass every check"), ("aabb", "AABB form"), ("copied_bars", "bars copied (runs of 4+)")]:
            print(f"{label:<25} {100 * results[key]:5.1f}%")
        form, held_out = results["form"], results["held_out_form"]
        print(f"{'':<25} {'samples':>6}  held-out tunes")
        for key, label in [("repeated_bars", "bars repeating a bar"), ("tunes_without_repeat", "tunes with no repeat"),
                           ("recurring_phrases", "2-bar phrases recurring"), ("ending_on_tonic", "ending on the tonic")]:
            print(f"{label:<25} {100 * form[key]:5.1f}%  {100 * held_out[key]:5.1f}%")
        print(f"{'tunes opening as another':<25} {form['shared_openings']:6d}  {held_out['shared_openings']:6d}"
              "   (same first two bars as an earlier tune of the set)")
        print(f"{'meter TV to training':<25} {results['meter_distance_to_training']:6.3f}  "
              f"{results['held_out_meter_distance_to_training']:6.3f}")
        repeat = results["held_out_repeat_probability"]
        if repeat is not None:
            print(f"P(writing a repeated bar again), held-out tunes, median: {repeat:.3g}")


TASK = MusicTask()
add_commands = TASK.add_commands


def pretrained_path() -> Path:
    """The model shipped inside the package."""
    return TASK.pretrained_path()


def load_music_model(checkpoint: str | None = None, device: str = "cpu"):
    """The model, vocabulary and config of a checkpoint; None means the model shipped with seqlab."""
    return TASK.load(checkpoint, device)


# ------------------------------------------------------------------------------- generation
@dataclass
class GenerationReport:
    tunes: list[str]  # the kept tunes, numbered X:1, X:2, ...
    # Each kept tune's `validate` verdict (None where keep_valid=False checked nothing), so a
    # caller showing them need not read every tune with music21 a second time.
    verdicts: list = field(default_factory=list)
    rejected: list[tuple[str, str]] = field(default_factory=list)  # (tune, first reason)
    sampled: int = 0
    constraint_redraws: int = 0


def generate_tunes(
    model,
    vocab,
    count: int,
    temperature: float = 1.0,
    top_k: int | None = None,
    seed: int = 0,
    start: str | None = None,
    meter_aware: bool = True,
    keep_valid: bool = True,
    max_length: int = 1500,
    max_rounds: int = 6,
    progress: bool = False,
    dances: dict[str, float] | None = None,
    spare_streams: bool = True,
    sampler: StreamSampler | None = None,
) -> GenerationReport:
    """Sample tunes, many streams at once, until `count` of them pass
    seqlab.music.rejection_reason (or, with keep_valid=False, until `count` have been written).

    Without a `start`, each tune's dance (R: and M:) is drawn from `dances` (a dance_mix: the
    training tunes' proportions); without `dances` either, the model writes its own header.

    With `spare_streams`, a round samples half as many streams again as tunes are missing (at
    least 4), so that one round is nearly always enough; without, one stream a missing tune,
    and a rejected tune is sampled again in the next round (a server's shared batch, where
    every stream slows every request, does that). Streams are checked in their order, each as
    soon as it and those before it have ended; once `count` are kept, the streams still
    running are stopped (they would not be used). `sampler` says where streams are sampled:
    here by default; `seqlab serve` passes its batch shared by concurrent requests. The tunes
    depend only on the arguments and the seed."""
    if count < 1:
        raise SeqlabError(f"--count must be at least 1, got {count}")
    config = SamplingConfig(temperature=temperature, top_k=top_k)
    generator = torch.Generator().manual_seed(seed)
    sampler = sampler or partial(stream_job, model, vocab)
    report = GenerationReport(tunes=[])
    bar = tqdm(total=count, desc="tunes", unit="tune", disable=not progress)

    def check(prompt: str, text: str) -> None:
        """Keep the stream's tune, or reject it with the first reason."""
        report.sampled += 1
        tunes = split_abc(prompt.lstrip("\n") + text).tunes
        tune = tunes[0].strip() if tunes else (prompt.lstrip("\n") + text).strip()
        # Whatever the model learned, no tune leaves with a transcriber, a source or an address.
        tune = strip_provenance(tune)
        verdict = validate(tune) if keep_valid else None
        problem = rejection_reason(tune, verdict) if verdict is not None else None
        if problem is not None:
            report.rejected.append((tune, problem))
        else:
            report.tunes.append(renumber(tune, len(report.tunes) + 1))
            report.verdicts.append(verdict)
            bar.update(1)

    with bar:
        for _ in range(max_rounds):
            missing = count - len(report.tunes)
            if missing <= 0:
                break
            streams = max(4, math.ceil(missing * 1.5)) if keep_valid and spare_streams else missing
            prompts = _prompts(sampler, vocab, streams, start, config, generator, dances)
            constraints = [MeterTracker(prompt) for prompt in prompts] if meter_aware else None
            ended: dict[int, str] = {}  # streams that have ended and wait for those before them
            checked = 0
            job = SamplingJob(prompts, max_length, config, streams, generator, constraints, TUNE_SEPARATOR)
            with closing(sampler(job)) as finished_streams:
                for finished in finished_streams:
                    report.constraint_redraws += finished.refused
                    ended[finished.stream] = finished.text
                    while checked in ended and len(report.tunes) < count:
                        check(prompts[checked], ended.pop(checked))
                        checked += 1
                    if len(report.tunes) >= count:
                        break  # the streams left are neither needed nor checked (music21 is slow): stopped
    return report


def _prompts(sampler: StreamSampler, vocab, streams: int, start: str | None, config, generator,
             dances=None) -> list[str]:
    """What each stream starts from: a new tune's first line, and the user's `start` if any,
    or else a dance drawn from `dances`.

    With a start that has no title, the model first writes a title for each stream, then
    the start (say "M:6/8\nK:D") follows it, so the tune keeps the corpus's header order.
    """
    opening = TUNE_SEPARATOR + "X:1\n"
    if start is None and not dances:
        return [opening + "T:"] * streams
    if start is None:
        starts = draw_dances(dances, streams, generator)
    else:
        start = check_start(vocab, start)
        if "T:" in start:
            return [opening + start + "\n"] * streams
        starts = [start] * streams
    titles = collect(sampler(SamplingJob(opening + "T:", 80, config, streams, generator, stop="\n")), streams).texts
    return [opening + "T:" + title.split("\n")[0] + "\n" + begin + "\n" for title, begin in zip(titles, starts)]


def check_start(vocab, start: str) -> str:
    """A user's --start, checked and written the way the corpus writes its headers."""
    start = start.replace("\\n", "\n").strip("\n")
    if not start.strip():
        raise SeqlabError("--start is empty; give header lines such as \"M:6/8\\nK:D\", or leave it out")
    if len(start) > MAX_START:
        raise SeqlabError(f"--start has {len(start):,} characters; give at most {MAX_START:,} (header lines, a bar or two)")
    if "\n\n" in start:
        raise SeqlabError("--start holds a blank line, which ends a tune; give header lines one after another")
    start = complete_headers(start)
    unknown = vocab.unknown_tokens(start)
    if unknown:
        raise SeqlabError(f"--start holds characters the model never saw: {''.join(unknown)!r}")
    return start


def run_generate(args) -> int:
    output_directory(args.out, create=False)  # checked before sampling, made once there are tunes
    seed = frame.new_seed(args.seed)
    start = args.start
    if args.rhythm is not None or args.meter is not None or args.key is not None:
        if start is not None:
            raise SeqlabError("give either --start or --rhythm/--meter/--key, not both")
        start = dance_start(args.meter, args.key, args.rhythm)
    model, vocab, config = load_music_model(args.checkpoint, args.device)
    report = generate_tunes(  # checks the start (check_start) before it samples anything
        model, vocab, args.count, args.temperature, args.top_k, seed, start,
        meter_aware=args.meter_aware, keep_valid=not args.keep_invalid, progress=args.count >= 20,
        dances=None if args.model_header else config.get("dances"),
    )
    if not report.tunes:
        raise SeqlabError(f"no valid tune in {report.sampled} samples; {_advice(args)}")
    output_directory(args.out)  # now that there are tunes to write: one line if it cannot be made
    # Each tune played at its dance's tempo (or --tempo), not music21's one slow pace.
    tunes = [with_tempo(tune, args.tempo) for tune in report.tunes]
    renderings = render_tunes(tunes, args.out, midi=not args.no_audio, wav=not args.no_audio, svg=not args.no_svg)
    for number, rendering in enumerate(renderings, start=1):
        made = [p.name for p in (rendering.midi, rendering.wav, rendering.svg) if p is not None]
        abc_file = Path(args.out) / f"tune_{number}.abc"  # render_tunes' names: {stem}_{n}.abc, n from 1
        print(f"{abc_file}  {tune_title(rendering.abc)!r}  + {', '.join(made) or 'nothing else'}")
        for error in rendering.errors:
            print(f"    {error}")
    print(
        f"wrote {len(report.tunes)} tunes to {args.out}/ (seed {seed}); sampled {report.sampled}, "
        f"rejected {len(report.rejected)} as invalid" + (f" (first: {report.rejected[0][1]})" if report.rejected else "")
    )
    if len(report.tunes) < args.count:
        print(f"only {len(report.tunes)} of {args.count} tunes were valid; {_advice(args)}")
    return 0


def _advice(args) -> str:
    """What to try when too few tunes pass: a start the model cannot continue is the likelier
    cause when one was given (a lower temperature does not mend a strange header)."""
    if args.start is not None:
        return ("the model could not continue --start into valid tunes: give header lines like the corpus's "
                "(e.g. \"M:6/8\\nK:D\"), or leave --start out")
    return "try a lower --temperature"


def evaluate_music(checkpoint: str | None, samples: int, temperature: float = 1.0, meter_aware: bool = False,
                   seed: int = 0, device: str = "cpu", progress: bool = False, model_header: bool = False) -> dict:
    """Held-out bits/char, and measures of `samples` tunes sampled as `generate` does (dances
    drawn in the training tunes' proportions, unless `model_header`), none filtered out."""
    if samples < 1:
        raise SeqlabError(f"--samples must be at least 1, got {samples}")
    model, vocab, config = load_music_model(checkpoint, device)
    source = config.get("data", {}).get("source", "irish")
    try:
        data = load_music_data(source)
    except SeqlabError as error:
        raise SeqlabError(f"cannot measure held-out bits/char: the checkpoint was trained on {source}: {error}") from None
    held_out = torch.tensor(vocab.encode(data.held_out_text))
    bits = held_out_bits_per_char(model, held_out)
    started = time.perf_counter()
    dances = None if model_header else config.get("dances")
    report = generate_tunes(model, vocab, samples, temperature, None, seed, meter_aware=meter_aware, keep_valid=False,
                            progress=progress, dances=dances)
    sampling_seconds = time.perf_counter() - started
    verdicts = [validate(tune) for tune in report.tunes]
    form, held_out_form = form_statistics(report.tunes), form_statistics(data.held_out_tunes)
    training_meters = meter_distribution(data.train_tunes)
    playing = [v.parses and plays(tune) for v, tune in zip(verdicts, report.tunes)]
    return {
        "checkpoint": str(checkpoint or pretrained_path()),
        "corpus": source,
        "held_out_bits_per_char": round(bits, 4),
        "samples": len(report.tunes),
        "temperature": temperature,
        "meter_aware": meter_aware,
        "dances": "the model's own" if dances is None else "drawn in the training tunes' proportions",
        "parse_and_play": _share(playing),
        # A tune with no bar that can be checked (no music, no M:) has no bar right.
        "all_bars_right": _share([v.bars_ok and v.interior_bars > 0 for v in verdicts]),
        "valid": _share([v.valid for v in verdicts]),
        "aabb": _share([v.aabb for v in verdicts]),
        "copied_bars": round(copied_bar_fraction(report.tunes, data.train_tunes, run=4), 4),
        "sampling_seconds": round(sampling_seconds, 2),
        # How the tunes are built, beside the held-out tunes' own values (seqlab.music.form).
        "form": form,
        "held_out_form": held_out_form,
        "meter_distance_to_training": total_variation(form["meters"], training_meters),
        "held_out_meter_distance_to_training": total_variation(held_out_form["meters"], training_meters),
        "held_out_repeat_probability": repeat_probability(model, vocab, data.held_out_tunes),
    }


@torch.no_grad()
def repeat_probability(model, vocab, tunes: list[str]) -> float | None:
    """The model's median probability of writing out again, character for character, a bar
    that repeats an earlier bar of the same tune (held-out tunes: can it copy from its past?).
    None if no bar repeats."""
    device = next(model.parameters()).device
    probabilities = []
    for tune in tunes:
        text = TUNE_SEPARATOR + tune + TUNE_SEPARATOR  # read as in training: a tune follows a blank line
        ids = torch.tensor([vocab.encode(text)], device=device)  # (1, N)
        logits, _ = model(ids[:, :-1])  # (1, N-1, V): position j predicts character j + 1
        log_p = torch.log_softmax(logits.float(), dim=-1)[0].gather(1, ids[0, 1:, None])[:, 0].cpu()  # (N-1,)
        seen: set[str] = set()
        for start, end, bar in bar_spans(tune):
            if bar in seen:
                first = len(TUNE_SEPARATOR) + start  # the bar's first character in `text`
                probabilities.append(math.exp(float(log_p[first - 1 : first - 1 + end - start].sum())))
            seen.add(bar)
    return statistics.median(probabilities) if probabilities else None


def _share(flags) -> float:
    flags = list(flags)
    return round(sum(bool(f) for f in flags) / max(1, len(flags)), 4)
