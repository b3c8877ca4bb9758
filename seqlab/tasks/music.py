"""Music generation, the lecture's lab (section 7): learn folk tunes in ABC notation, write new ones.

    seqlab music train     [--data PATH|NAME] [--out DIR] [--preset default|lab] [options]
    seqlab music generate  [--count N] [--out DIR] [--seed S] [--temperature T] [--top-k K]
                           [--start "M:6/8\\nK:D"] [--checkpoint PATH]
    seqlab music evaluate  [--checkpoint PATH] [--samples N] [--json]

The model is the generic character-level language model (seqlab.models), trained by the one
training loop with stateful truncated BPTT over the concatenated training tunes; the music
is in what surrounds it: the corpus, the held-out split, validity checks, meter-aware
decoding and rendering to MIDI, WAV and SVG (seqlab.music).
"""

from __future__ import annotations

import argparse
import json
import math
import random
import re
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields
from importlib import resources
from pathlib import Path

from seqlab.errors import SeqlabError
from seqlab.tasks._language import (  # the code every language-model task shares
    build_model,
    check_resume_vocabulary,
    check_stream_length,
    check_temperature,
    export_model,
    held_out_bits_per_char,
    language_model_loss,
    load_language_model,
    training_batches,
)

KIND = "music-char-lm"
TUNE_SEPARATOR = "\n\n"  # tunes are blank-line separated blocks, in the corpus as in generation


def pretrained_path() -> Path:
    """The model shipped inside the package."""
    return Path(str(resources.files("seqlab.music") / "pretrained"))


# ------------------------------------------------------------------------------- presets
@dataclass
class MusicTrainConfig:
    """Everything `seqlab music train` needs; the presets below fill it in."""

    data: str = "irish"
    out: str = "runs/music"
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
    # model
    embedding_size: int = 64
    hidden_size: int = 512
    num_layers: int = 2
    cell: str = "lstm"
    dropout: float = 0.4
    # data
    window: int = 100  # truncated-BPTT window, in characters
    batch_size: int = 32
    stateful: bool = True  # carry the state across windows; the lab samples random windows
    # optimisation
    steps: int = 1200
    lr: float = 3e-3
    lr_schedule: str = "cosine"
    weight_decay: float = 0.0
    clip_grad_norm: float | None = 1.0
    eval_every: int = 100
    max_minutes: float = 0.0  # stop (evaluated and saved) after this long; 0: no limit
    seed: int = 0
    device: str = "auto"
    backend: str = "fused"


PRESETS: dict[str, dict] = {
    # Tuned on this 2-core CPU: reaches the 1.50 held-out bits/char well within 15 min.
    "default": {},
    # The lab's own recipe (LECTURE.md section 7), rebuilt: embedding 256, one LSTM layer of
    # 1024 units, random 100-character windows in batches of 8, Adam at 5e-3, 3000 steps,
    # no dropout, no state carried between windows.
    "lab": dict(
        embedding_size=256, hidden_size=1024, num_layers=1, dropout=0.0, window=100, batch_size=8,
        stateful=False, steps=3000, lr=5e-3, lr_schedule="constant", clip_grad_norm=None, eval_every=300,
    ),
    # A few seconds, for checking that everything runs (tests, CI).
    "tiny": dict(
        embedding_size=16, hidden_size=32, num_layers=1, dropout=0.0, window=32, batch_size=8,
        steps=20, eval_every=10, lr=1e-2,
    ),
}


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
    from seqlab.music.corpus import extra_training_tunes, held_out_split, load_corpus

    corpus = load_corpus(source)
    train_tunes, held_out = held_out_split(corpus.tunes)
    if not held_out or not train_tunes:
        # 10% rounded half up holds one tune out from 5 tunes on.
        raise SeqlabError(f"{source}: {len(corpus.tunes)} tunes are too few to hold 10% out; give at least 5")
    data = MusicData(train_tunes, held_out, corpus.skipped, corpus.source)
    sources = [name.strip() for name in extra.split(",") if name.strip()]
    if sources:
        extra_tunes, skipped, dropped = extra_training_tunes(sources, held_out)
        data.train_tunes = train_tunes + extra_tunes
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
        from seqlab.music.transpose import transposed_copies

        copies = transposed_copies(data.train_tunes, list(transpose))
        data.train_tunes = data.train_tunes + copies
        data.transposed = len(copies)
    if sources or transpose:
        random.Random(0).shuffle(data.train_tunes)
    return data


def _bars_right(tune: str) -> bool:
    """Every interior bar of the tune has its meter's length (a tune the bar reader cannot
    read counts as wrong)."""
    from seqlab.music import MusicError, bar_check

    try:
        return bar_check(tune).ok
    except MusicError:
        return False


# ------------------------------------------------------------------------------- training
def train_music(config: MusicTrainConfig, resume: bool = False, progress: bool = True):
    import torch

    from seqlab.data import Vocabulary
    from seqlab.train import TrainConfig, train

    data = load_music_data(config.data, config.extra_data, transpose_steps(config.transpose), config.drop_wrong_bars)
    if config.init_from:
        # Fine-tuning: the starting model's vocabulary, so every id keeps its meaning.
        start, vocab, _ = load_language_model(Path(config.init_from), KIND, "music model")
    else:
        vocab = Vocabulary.build(data.train_text)  # held-out characters it lacks read as <unk>
    train_ids = torch.tensor(vocab.encode(data.train_text))
    held_out_ids = torch.tensor(vocab.encode(data.held_out_text))
    if resume:
        check_resume_vocabulary(config.out, KIND, vocab, config.data)
    check_stream_length(config.window, config.batch_size, config.stateful, train_ids.numel(), data.source)
    model = build_model(config, len(vocab))
    if config.init_from:
        _start_from(model, start, config.init_from)
    batches = training_batches(train_ids, config.batch_size, config.window, config.stateful, config.seed)
    print(
        f"seqlab music train: {len(data.train_tunes)} training tunes ({train_ids.numel():,} characters"
        + (f"; {data.extra_tunes} from --extra-data, {data.dropped} of those dropped as possible held-out tunes" if data.extra_tunes else "")
        + (f"; {data.wrong_bars} left out for wrong bar lengths" if config.drop_wrong_bars else "")
        + (f"; {data.transposed} transposed copies" if data.transposed else "")
        + f"), {len(data.held_out_tunes)} held out, {data.skipped} skipped, from {data.source}; "
        f"{sum(p.numel() for p in model.parameters()):,} parameters"
    )

    def evaluate(model):
        bits = held_out_bits_per_char(model, held_out_ids)
        return {"val_bits_per_char": bits}

    train_config = TrainConfig(
        steps=config.steps,
        lr=config.lr,
        lr_schedule=config.lr_schedule,
        weight_decay=config.weight_decay,
        clip_grad_norm=config.clip_grad_norm,
        eval_every=config.eval_every,
        max_minutes=config.max_minutes or None,
        metric="val_bits_per_char",
        seed=config.seed,
        device=config.device,
        out_dir=config.out,
        resume=resume,
        progress=progress,
    )
    checkpoint_config = {
        "kind": KIND,
        "model": model.config.to_json(),
        "vocabulary": vocab.to_json(),
        "music": asdict(config),
        "data": {
            "source": data.source,
            "train_tunes": len(data.train_tunes),
            "held_out_tunes": len(data.held_out_tunes),
            "extra_tunes": data.extra_tunes,
            "dropped_as_possible_held_out": data.dropped,
            "transposed_copies": data.transposed,
            "left_out_for_wrong_bars": data.wrong_bars,
        },
    }
    started = time.perf_counter()
    result = train(model, batches, language_model_loss, train_config, evaluate, checkpoint_config)
    minutes = (time.perf_counter() - started) / 60
    print(
        f"done: {result.steps} steps in {minutes:.1f} min{' (--max-minutes reached)' if result.out_of_time else ''}; held-out bits/char "
        f"{result.metrics.get('val_bits_per_char', float('nan')):.3f} (best {result.best_metric:.3f}); "
        f"best checkpoint: {result.best_checkpoint}"
    )
    return result


def _start_from(model, start, path: str) -> None:
    """Copy the weights of `start` (a loaded music model) into `model`, whose shape must match."""
    ours, theirs = model.config, start.config
    for name in ("embedding_size", "hidden_size", "num_layers", "cell", "tie_weights"):
        if getattr(ours, name) != getattr(theirs, name):
            raise SeqlabError(
                f"--init-from {path}: its {name.replace('_', '-')} is {getattr(theirs, name)}, this run's "
                f"{getattr(ours, name)}; give the same model options as the checkpoint"
            )
    model.load_state_dict({name: tensor.float() for name, tensor in start.state_dict().items()})


# ------------------------------------------------------------------------------- generation
def load_music_model(checkpoint: str | None = None, device: str = "cpu"):
    """The model and vocabulary of a checkpoint; None means the model shipped with seqlab."""
    path = Path(checkpoint) if checkpoint is not None else pretrained_path()
    if checkpoint is None and not (path / "model.safetensors").is_file():
        raise SeqlabError("seqlab has no shipped music model in this install; train one: seqlab music train")
    return load_language_model(path, KIND, "music model", device)


@dataclass
class GenerationReport:
    tunes: list[str]  # the kept tunes, numbered X:1, X:2, ...
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
) -> GenerationReport:
    """Sample tunes, many streams at once, until `count` of them pass `validate` (or,
    with keep_valid=False, until `count` have been written)."""
    import torch

    from seqlab.music import MeterTracker, split_abc
    from seqlab.sample import SamplingConfig, sample

    if count < 1:
        raise SeqlabError(f"--count must be at least 1, got {count}")
    config = SamplingConfig(temperature=temperature, top_k=top_k)
    generator = torch.Generator().manual_seed(seed)
    report = GenerationReport(tunes=[])
    for _ in range(max_rounds):
        missing = count - len(report.tunes)
        if missing <= 0:
            break
        streams = missing if not keep_valid else max(4, math.ceil(missing * 1.5))
        prompts = _prompts(model, vocab, streams, start, config, generator)
        constraints = [MeterTracker(prompt) for prompt in prompts] if meter_aware else None
        result = sample(
            model, vocab, prompts, max_length, config, streams=streams, generator=generator,
            constraints=constraints, stop=TUNE_SEPARATOR,
        )
        report.constraint_redraws += result.refused
        for prompt, text in zip(prompts, result.texts):
            report.sampled += 1
            tunes = split_abc(prompt.lstrip("\n") + text).tunes
            tune = tunes[0].strip() if tunes else (prompt.lstrip("\n") + text).strip()
            problem = _problem(tune) if keep_valid else None
            if problem is not None:
                report.rejected.append((tune, problem))
            elif len(report.tunes) < count:
                report.tunes.append(_renumber(tune, len(report.tunes) + 1))
    return report


MIN_BARS = 8  # the shortest tune of irish.abc has 8 bars; a 2-bar "tune" is a fragment


def _problem(tune: str) -> str | None:
    """Why a generated tune is not kept (the first reason), or None to keep it."""
    from seqlab.music import bar_check, validate

    verdict = validate(tune)
    if not verdict.valid:
        return verdict.reasons[0]
    bars = len(bar_check(tune).bars)
    if bars < MIN_BARS:
        return f"too short: {bars} bars (a tune has at least {MIN_BARS})"
    return None


def _prompts(model, vocab, streams: int, start: str | None, config, generator) -> list[str]:
    """What each stream starts from: a new tune's first line, and the user's `start` if any.

    With a `start` that has no title, the model first writes a title for each stream, then
    the start (say "M:6/8\nK:D") follows it, so the tune keeps the corpus's header order.
    """
    from seqlab.sample import sample

    opening = TUNE_SEPARATOR + "X:1\n"
    if start is None:
        return [opening + "T:"] * streams
    start = start.replace("\\n", "\n").strip("\n")
    if not start.strip():
        raise SeqlabError("--start is empty; give header lines such as \"M:6/8\\nK:D\", or leave it out")
    if "\n\n" in start:
        raise SeqlabError("--start holds a blank line, which ends a tune; give header lines one after another")
    start = _complete_headers(start)
    unknown = vocab.unknown_tokens(start)
    if unknown:
        raise SeqlabError(f"--start holds characters the model never saw: {''.join(unknown)!r}")
    if "T:" in start:
        return [opening + start + "\n"] * streams
    titles = sample(model, vocab, opening + "T:", 80, config, streams=streams, generator=generator,
                    stop="\n").texts
    return [opening + "T:" + title.split("\n")[0] + "\n" + start + "\n" for title in titles]


def _complete_headers(start: str) -> str:
    """Write a user's start the way the corpus writes its headers, so the model reads what it
    learned: add the L: line it implies (ABC 2.1's default for its M:; a tune needs L: to pass
    the checks) before the K: line, and spell a bare key out ("K:D" -> "K:D Major", "K:Em" ->
    "K:E Minor"), or the model would go on writing the mode on the next line."""
    from seqlab.music.abc import default_unit_length, parse_meter

    lines = start.split("\n")
    for i, line in enumerate(lines):
        bare = re.fullmatch(r"K:\s*([A-G][#b]?)(m?)\s*", line)
        if bare:
            lines[i] = f"K:{bare[1]} {'Minor' if bare[2] else 'Major'}"
    if not any(line.startswith("L:") for line in lines):
        meter = next((line[2:].strip() for line in lines if line.startswith("M:")), None)
        unit = default_unit_length(parse_meter(meter) if meter else None)
        keys = [i for i, line in enumerate(lines) if line.startswith("K:")]
        at = keys[0] if keys else len(lines)
        lines = lines[:at] + [f"L:{unit.numerator}/{unit.denominator}"] + lines[at:]
    return "\n".join(lines)


def _renumber(tune: str, number: int) -> str:
    lines = tune.split("\n")
    return "\n".join(f"X:{number}" if line.startswith("X:") else line for line in lines)


# ------------------------------------------------------------------------------- commands
OPTION_HELP = {
    "extra_data": "more corpora for training only, comma-separated (e.g. oneills1850,ryansMammoth); "
    "tunes that may be held-out ones are dropped",
    "init_from": "start from this music checkpoint's weights and vocabulary (fine-tuning)",
    "transpose": "also train on every training tune transposed: N moves it by every letter step from "
    "-N to N, --transpose=-1,1,3 by those (the key moves with it; held-out tunes stay as they are)",
    "max_minutes": "stop after this many minutes, evaluated and saved (default 0: no limit)",
    "drop_wrong_bars": "leave out training tunes whose interior bars do not all have the length M: and L: "
    "ask for (default false)",
}


def add_commands(verbs) -> None:
    train = verbs.add_parser(
        "train",
        help="train a character-level model on ABC tunes",
        description="Train the character-level LSTM on a corpus of ABC tunes with stateful truncated "
        "BPTT; print held-out bits/char at every evaluation and keep the best checkpoint in OUT/best.",
    )
    train.add_argument("--data", default="irish", help="corpus name (irish, or a music21 folk corpus), an .abc file or a folder (default: irish)")
    train.add_argument("--out", default="runs/music", help="directory for checkpoints (default: runs/music)")
    train.add_argument("--preset", choices=sorted(PRESETS), default="default",
                       help="default: tuned for a CPU; lab: the lecture lab's recipe; tiny: a smoke test")
    train.add_argument("--resume", action="store_true", help="continue from OUT/last")
    train.add_argument("--no-progress", action="store_true", help="no progress bar")
    defaults = MusicTrainConfig()
    for item in fields(MusicTrainConfig):
        if item.name in ("data", "out"):
            continue
        flag = "--" + item.name.replace("_", "-")
        kind = type(getattr(defaults, item.name))
        if kind is bool:
            help_text = OPTION_HELP.get(item.name, f"(default {getattr(defaults, item.name)})")
            train.add_argument(flag, type=_boolean, default=None, metavar="{true,false}", help=help_text)
        else:
            kind = _clip_norm if item.name == "clip_grad_norm" else kind
            train.add_argument(flag, type=kind, default=None, help=OPTION_HELP.get(item.name, f"(preset default {getattr(defaults, item.name)})"))
    train.set_defaults(run=run_train)
    add_generate_and_evaluate(verbs)
    add_export(verbs)


def _clip_norm(text: str) -> float:
    """--clip-grad-norm takes a number, or "none" to train without clipping (as the lab does)."""
    if text.lower() in ("none", "off"):
        return float("inf")  # "no cap": the trainer then measures the norm but never rescales
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number or none, got {text!r}") from None


def _boolean(text: str) -> bool:
    if text.lower() in ("true", "yes", "1", "on"):
        return True
    if text.lower() in ("false", "no", "0", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def config_from_args(args) -> MusicTrainConfig:
    values = {**asdict(MusicTrainConfig()), **PRESETS[args.preset], "data": args.data, "out": args.out}
    for item in fields(MusicTrainConfig):
        given = getattr(args, item.name, None)
        if given is not None and item.name not in ("data", "out"):
            values[item.name] = given
    config = MusicTrainConfig(**values)
    for name in ("steps", "window", "batch_size", "hidden_size", "embedding_size", "num_layers", "eval_every"):
        if getattr(config, name) < 1:
            raise SeqlabError(f"--{name.replace('_', '-')} must be at least 1, got {getattr(config, name)}")
    if not config.lr > 0:
        raise SeqlabError(f"--lr must be > 0, got {config.lr}")
    if config.lr_schedule not in ("constant", "cosine"):
        raise SeqlabError(f"--lr-schedule must be constant or cosine, got {config.lr_schedule!r}")
    if config.clip_grad_norm is not None and not config.clip_grad_norm > 0:
        raise SeqlabError(f"--clip-grad-norm must be > 0, got {config.clip_grad_norm}")
    if not config.weight_decay >= 0:
        raise SeqlabError(f"--weight-decay must be >= 0, got {config.weight_decay}")
    if not config.max_minutes >= 0:
        raise SeqlabError(f"--max-minutes must be >= 0 (0: no limit), got {config.max_minutes}")
    transpose_steps(config.transpose)  # a bad list fails here, before the corpus is read
    return config


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
            raise SeqlabError(
                f"--transpose takes N (every letter step from -N to N) or a list such as --transpose=-1,1,3, "
                f"got {part.strip()!r}"
            ) from None
        if not -6 <= step <= 6:
            raise SeqlabError(f"--transpose steps must be between -6 and 6 (a seventh), got {step}")
        if step and step not in steps:
            steps.append(step)
    return steps


def run_train(args) -> int:
    train_music(config_from_args(args), resume=args.resume, progress=not args.no_progress)
    return 0


def add_generate_and_evaluate(verbs) -> None:
    generate = verbs.add_parser(
        "generate",
        help="write new tunes as ABC, MIDI, WAV and SVG sheet music",
        description="Sample new tunes from a trained model (the shipped one by default), keep the valid "
        "ones, and write each as .abc, .mid, .wav and .svg into OUT.",
    )
    generate.add_argument("--count", type=int, default=5, help="how many tunes (default 5)")
    generate.add_argument("--out", default="tunes", help="output directory (default: tunes)")
    generate.add_argument("--seed", type=int, default=None, help="random seed (default: a new one each run)")
    generate.add_argument("--temperature", type=float, default=1.0)
    generate.add_argument("--top-k", type=int, default=None)
    generate.add_argument("--start", default=None, help='how each tune starts, e.g. "M:6/8\\nK:D"')
    generate.add_argument("--checkpoint", default=None, help="a checkpoint directory (default: the shipped model)")
    generate.add_argument("--no-meter-aware", dest="meter_aware", action="store_false",
                          help="sample freely instead of keeping every bar the right length while sampling")
    generate.add_argument("--keep-invalid", action="store_true", help="write tunes even if they fail validation")
    generate.add_argument("--no-audio", action="store_true", help="skip MIDI and WAV")
    generate.add_argument("--no-svg", action="store_true", help="skip sheet music")
    generate.add_argument("--device", default="cpu")
    generate.set_defaults(run=run_generate)

    evaluate = verbs.add_parser(
        "evaluate",
        help="held-out bits/char and how valid the sampled tunes are",
        description="Measure a model: held-out bits/char on its corpus's fixed split, and of N tunes "
        "sampled without filtering, how many parse and play, have every bar right, have AABB form, "
        "and how much is copied from the training tunes.",
    )
    evaluate.add_argument("--checkpoint", default=None, help="a checkpoint directory (default: the shipped model)")
    evaluate.add_argument("--samples", type=int, default=200)
    evaluate.add_argument("--temperature", type=float, default=1.0)
    evaluate.add_argument("--meter-aware", action="store_true", help="sample with meter-aware decoding")
    evaluate.add_argument("--seed", type=int, default=0)
    evaluate.add_argument("--json", action="store_true", help="print the numbers as JSON")
    evaluate.add_argument("--device", default="cpu")
    evaluate.set_defaults(run=run_evaluate)


def run_generate(args) -> int:
    from seqlab.music import render_tunes

    if args.count < 1:
        raise SeqlabError(f"--count must be at least 1, got {args.count}")
    check_temperature(args.temperature)
    if args.top_k is not None and args.top_k < 1:
        raise SeqlabError(f"--top-k must be at least 1, got {args.top_k}")
    if args.seed is not None and not 0 <= args.seed < 2**64:
        raise SeqlabError(f"--seed must be from 0 to 2**64 - 1, got {args.seed}")
    if Path(args.out).exists() and not Path(args.out).is_dir():
        raise SeqlabError(f"--out {args.out} is a file; give a folder for the tunes")
    seed = args.seed if args.seed is not None else int.from_bytes(__import__("os").urandom(4), "little")
    model, vocab, _ = load_music_model(args.checkpoint, args.device)
    report = generate_tunes(
        model, vocab, args.count, args.temperature, args.top_k, seed, args.start,
        meter_aware=args.meter_aware, keep_valid=not args.keep_invalid,
    )
    if not report.tunes:
        raise SeqlabError(f"no valid tune in {report.sampled} samples; try a lower --temperature")
    renderings = render_tunes(report.tunes, args.out, midi=not args.no_audio, wav=not args.no_audio, svg=not args.no_svg)
    for number, rendering in enumerate(renderings, start=1):
        title = next((line[2:].strip() for line in rendering.abc.split("\n") if line.startswith("T:")), "")
        made = [p.name for p in (rendering.midi, rendering.wav, rendering.svg) if p is not None]
        abc_file = Path(args.out) / f"tune_{number}.abc"  # render_tunes' names: {stem}_{n}.abc, n from 1
        print(f"{abc_file}  {title!r}  + {', '.join(made) or 'nothing else'}")
        for error in rendering.errors:
            print(f"    {error}")
    print(
        f"wrote {len(report.tunes)} tunes to {args.out}/ (seed {seed}); sampled {report.sampled}, "
        f"rejected {len(report.rejected)} as invalid" + (f" (first: {report.rejected[0][1]})" if report.rejected else "")
    )
    if len(report.tunes) < args.count:
        print(f"only {len(report.tunes)} of {args.count} tunes were valid; try a lower --temperature")
    return 0


def evaluate_music(checkpoint: str | None, samples: int, temperature: float = 1.0, meter_aware: bool = False,
                   seed: int = 0, device: str = "cpu") -> dict:
    import torch

    from seqlab.music import copied_bar_fraction, plays, validate

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
    report = generate_tunes(model, vocab, samples, temperature, None, seed, meter_aware=meter_aware, keep_valid=False)
    sampling_seconds = time.perf_counter() - started
    verdicts = [validate(tune) for tune in report.tunes]
    playing = [v.parses and plays(tune) for v, tune in zip(verdicts, report.tunes)]
    return {
        "checkpoint": str(checkpoint or pretrained_path()),
        "corpus": source,
        "held_out_bits_per_char": round(bits, 4),
        "samples": len(report.tunes),
        "temperature": temperature,
        "meter_aware": meter_aware,
        "parse_and_play": _share(playing),
        # A tune with no bar that can be checked (no music, no M:) has no bar right.
        "all_bars_right": _share([v.bars_ok and v.interior_bars > 0 for v in verdicts]),
        "valid": _share([v.valid for v in verdicts]),
        "aabb": _share([v.aabb for v in verdicts]),
        "copied_bars": round(copied_bar_fraction(report.tunes, data.train_tunes, run=4), 4),
        "sampling_seconds": round(sampling_seconds, 2),
    }


def _share(flags) -> float:
    flags = list(flags)
    return round(sum(bool(f) for f in flags) / max(1, len(flags)), 4)


def run_evaluate(args) -> int:
    check_temperature(args.temperature)
    if args.seed is not None and not 0 <= args.seed < 2**64:
        raise SeqlabError(f"--seed must be from 0 to 2**64 - 1, got {args.seed}")
    results = evaluate_music(args.checkpoint, args.samples, args.temperature, args.meter_aware, args.seed, args.device)
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    print(f"held-out bits/char        {results['held_out_bits_per_char']:.3f}   ({results['corpus']}, fixed 10% split)")
    print(f"tunes sampled             {results['samples']} at temperature {results['temperature']}"
          f"{' with meter-aware decoding' if results['meter_aware'] else ', no filtering'}")
    for key, label in [("parse_and_play", "parse and play"), ("all_bars_right", "every bar right"),
                       ("valid", "pass every check"), ("aabb", "AABB form"), ("copied_bars", "bars copied (runs of 4+)")]:
        print(f"{label:<25} {100 * results[key]:5.1f}%")
    return 0


def add_export(verbs) -> None:
    export = verbs.add_parser(
        "export",
        help="copy a trained model for shipping (weights in float16, no optimizer state)",
        description="Write a checkpoint's best weights to OUT as a using-only checkpoint: the model "
        "in float16 (half the size; sampling converts back to float32) and its config, without "
        "the optimizer and trainer state. This is how seqlab/music/pretrained was made.",
    )
    export.add_argument("--checkpoint", required=True, help="the checkpoint to export, e.g. runs/music/best")
    export.add_argument("--out", required=True, help="directory to write")
    export.add_argument("--float32", action="store_true", help="keep float32 weights")
    export.set_defaults(run=run_export)


def run_export(args) -> int:
    model, _, config = load_music_model(args.checkpoint)
    print(export_model(model, config, args.checkpoint, args.out, KIND, "val_bits_per_char", "bits/char", args.float32))
    return 0
