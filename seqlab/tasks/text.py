"""Language models on real text: next character, next word (lecture sections 3 and 7).

    seqlab text train     [--data PATH] [--level char|word] [--out DIR] [--preset NAME] [options]
    seqlab text generate  --prompt "..." [--length N] [--temperature T] [--top-k K] [--checkpoint DIR]
    seqlab text predict   "This morning I took my cat for a" [--top 5] [--checkpoint DIR]
    seqlab text evaluate  [--checkpoint DIR] [--data PATH] [--json]
    seqlab text export    --checkpoint DIR --out DIR

The lecture's three steps for feeding language to a network are seqlab.data's vocabulary and
indexing, and the model's embedding; the model is the generic LanguageModel, trained by the
one training loop with stateful truncated BPTT over the training text, sampled by the one
sampler (seqlab.sample). A checkpoint stores its vocabulary, so it always decodes with the
tokens it was trained on.

Corpus: any UTF-8 text file; by default Tiny Shakespeare, shipped in seqlab/text/data. The
held-out split is the last 10% of the text (the corpus's usual convention), so numbers
compare with published ones.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import time
from dataclasses import asdict, dataclass, fields
from importlib import resources
from pathlib import Path

from seqlab.errors import SeqlabError

KIND = "text-lm"
HELD_OUT = 0.1  # the last 10% of the text
DEFAULT_DATA = "tinyshakespeare"


def pretrained_path() -> Path:
    """The character model shipped inside the package."""
    return Path(str(resources.files("seqlab.text") / "pretrained"))


def shipped_corpus_path() -> Path:
    return Path(str(resources.files("seqlab.text") / "data" / "tinyshakespeare.txt"))


# ------------------------------------------------------------------------------- presets
@dataclass
class TextTrainConfig:
    """Everything `seqlab text train` needs; the presets below fill it in."""

    data: str = DEFAULT_DATA
    out: str = "runs/text"
    level: str = "char"  # "char" or "word"
    max_vocab: int = 10000  # word level: the most frequent words; the rest read as <unk>
    min_count: int = 1  # word level: words seen fewer times read as <unk>
    # model
    embedding_size: int = 64
    hidden_size: int = 512
    num_layers: int = 2
    cell: str = "lstm"
    dropout: float = 0.1
    tie_weights: bool = False  # share embedding and output matrices (needs embedding = hidden size)
    # data
    window: int = 100  # truncated-BPTT window, in tokens
    batch_size: int = 32
    stateful: bool = True  # carry the state across windows (batchify columns)
    # optimisation
    steps: int = 1500
    lr: float = 3e-3
    lr_schedule: str = "cosine"
    weight_decay: float = 0.0
    clip_grad_norm: float | None = 1.0
    eval_every: int = 250
    seed: int = 0
    device: str = "auto"
    backend: str = "fused"


PRESETS: dict[str, dict] = {
    # Characters, sized for the budget: 30 minutes of one CPU thread.
    "default": {},
    # Words: a smaller vocabulary of vectors, tied to the output layer (Press & Wolf 2017).
    "word": dict(
        level="word", embedding_size=256, hidden_size=256, num_layers=2, dropout=0.3, tie_weights=True,
        window=35, batch_size=32, steps=2000, lr=3e-3, min_count=2,
    ),
    # A few seconds, for checking that everything runs (tests, CI).
    "tiny": dict(
        embedding_size=16, hidden_size=32, num_layers=1, dropout=0.0, window=32, batch_size=8,
        steps=20, eval_every=10, lr=1e-2,
    ),
}


# ------------------------------------------------------------------------------- data
@dataclass
class TextData:
    train_text: str
    held_out_text: str
    source: str


def read_text(source: str) -> tuple[str, str]:
    """The text of `source` (a UTF-8 file, or "tinyshakespeare"), and the name to show for it.

    Empty, binary and non-UTF-8 files are one-line errors.
    """
    path = shipped_corpus_path() if source == DEFAULT_DATA else Path(source)
    if not path.exists():
        raise SeqlabError(f"--data {source}: no such file (give a UTF-8 text file, or leave --data out for Tiny Shakespeare)")
    if path.is_dir():
        raise SeqlabError(f"--data {source} is a folder; give one UTF-8 text file")
    raw = path.read_bytes()
    if b"\x00" in raw:
        raise SeqlabError(f"--data {source} is a binary file (it holds NUL bytes); give a UTF-8 text file")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise SeqlabError(f"--data {source} is not UTF-8 text (byte {error.start} cannot be decoded); convert it to UTF-8") from None
    if not text.strip():
        raise SeqlabError(f"--data {source} is empty; give a text file with something in it")
    return text, (DEFAULT_DATA if source == DEFAULT_DATA else str(path))


def load_text_data(source: str) -> TextData:
    """The text, cut at 90%: the first part trains, the last 10% is held out."""
    text, name = read_text(source)
    cut = len(text) - max(1, round(len(text) * HELD_OUT))
    return TextData(text[:cut], text[cut:], name)


def build_vocabulary(config: TextTrainConfig, train_text: str):
    from seqlab.data import Vocabulary

    if config.level == "char":
        return Vocabulary.build(train_text)  # held-out characters it lacks read as <unk>
    return Vocabulary.build(train_text, level="word", min_count=config.min_count, max_size=config.max_vocab)


# ------------------------------------------------------------------------------- training
def evaluation_metrics(nats: float, level: str) -> dict[str, float]:
    """Held-out cross-entropy in a level's usual units: bits/char for characters, perplexity
    for words; nats per token for both (val_loss, the metric that picks the best checkpoint)."""
    if level == "char":
        return {"val_loss": nats, "val_bits_per_char": nats / math.log(2)}
    return {"val_loss": nats, "val_perplexity": math.exp(nats)}


def train_text(config: TextTrainConfig, resume: bool = False, progress: bool = True):
    import torch

    from seqlab.tasks._language import (
        build_model,
        check_resume_vocabulary,
        check_stream_length,
        held_out_nats,
        language_model_loss,
        training_batches,
    )
    from seqlab.train import TrainConfig, train

    data = load_text_data(config.data)
    vocab = build_vocabulary(config, data.train_text)
    train_ids = torch.tensor(vocab.encode(data.train_text))
    held_out_ids = torch.tensor(vocab.encode(data.held_out_text))
    unit = f"{config.level}s" if config.level == "word" else "characters"
    if held_out_ids.numel() < 2:
        raise SeqlabError(f"{data.source}: its last 10% holds {held_out_ids.numel()} {unit}, too few to measure; give a longer text")
    if resume:
        check_resume_vocabulary(config.out, KIND, vocab, config.data)
    check_stream_length(config.window, config.batch_size, config.stateful, train_ids.numel(), data.source, unit)
    torch.manual_seed(config.seed)
    model = build_model(config, len(vocab))
    batches = training_batches(train_ids, config.batch_size, config.window, config.stateful, config.seed)
    unknown = ""
    if config.level == "word":
        share = (train_ids == vocab.index(vocab.unknown)).float().mean().item()
        unknown = f", {100 * share:.1f}% of them <unk>"
    print(
        f"seqlab text train: {train_ids.numel():,} training {unit}{unknown} and {held_out_ids.numel():,} held out "
        f"(the last 10%) from {data.source}; vocabulary of {len(vocab):,} {unit}; "
        f"{sum(p.numel() for p in model.parameters()):,} parameters"
    )
    # Evaluation reads the held-out stream in 32 columns: fast, and each column still holds
    # thousands of tokens, so starting each from a zero state costs next to nothing.
    eval_batch = max(1, min(32, held_out_ids.numel() // 2))

    def evaluate(model):
        return evaluation_metrics(held_out_nats(model, held_out_ids, batch_size=eval_batch), config.level)

    train_config = TrainConfig(
        steps=config.steps,
        lr=config.lr,
        lr_schedule=config.lr_schedule,
        weight_decay=config.weight_decay,
        clip_grad_norm=config.clip_grad_norm,
        eval_every=config.eval_every,
        metric="val_loss",
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
        "text": asdict(config),
        "data": {"source": data.source, "train_tokens": train_ids.numel(), "held_out_tokens": held_out_ids.numel()},
    }
    started = time.perf_counter()
    result = train(model, batches, language_model_loss, train_config, evaluate, checkpoint_config)
    minutes = (time.perf_counter() - started) / 60
    print(
        f"done: {result.steps} steps in {minutes:.1f} min ({torch.get_num_threads()} threads); held-out "
        f"{_describe(result.metrics, config.level)} (best {result.best_metric:.4f} nats/{config.level}); "
        f"best checkpoint: {result.best_checkpoint}"
    )
    return result


def _describe(metrics: dict, level: str) -> str:
    nats = metrics.get("val_loss", float("nan"))
    if level == "char":
        return f"{nats:.4f} nats/char = {nats / math.log(2):.4f} bits/char"
    return f"{nats:.4f} nats/word = perplexity {math.exp(nats):.1f}"


# ------------------------------------------------------------------------------- commands
def add_commands(verbs) -> None:
    train = verbs.add_parser(
        "train",
        help="train a character- or word-level language model on a text",
        description="Train the recurrent language model on a UTF-8 text (Tiny Shakespeare by default) with "
        "stateful truncated BPTT; print the held-out loss (last 10% of the text) at every evaluation and keep "
        "the best checkpoint in OUT/best.",
    )
    train.add_argument("--data", default=DEFAULT_DATA, help="a UTF-8 text file (default: the shipped Tiny Shakespeare)")
    train.add_argument("--out", default="runs/text", help="directory for checkpoints (default: runs/text)")
    train.add_argument("--preset", choices=sorted(PRESETS), default=None,
                       help="default: the character recipe (30 CPU minutes); word: a word-level model; tiny: a smoke test "
                       "(default: default, or word with --level word)")
    train.add_argument("--resume", action="store_true", help="continue from OUT/last")
    train.add_argument("--no-progress", action="store_true", help="no progress bar")
    defaults = TextTrainConfig()
    for item in fields(TextTrainConfig):
        if item.name in ("data", "out"):
            continue
        flag = "--" + item.name.replace("_", "-")
        kind = type(getattr(defaults, item.name))
        if item.name == "level":
            train.add_argument(flag, choices=("char", "word"), default=None, help="tokens: characters or words (default char)")
        elif kind is bool:
            train.add_argument(flag, type=_boolean, default=None, metavar="{true,false}", help=f"(default {getattr(defaults, item.name)})")
        else:
            kind = _clip_norm if item.name == "clip_grad_norm" else kind
            train.add_argument(flag, type=kind, default=None, help=f"(preset default {getattr(defaults, item.name)})")
    train.set_defaults(run=run_train)
    add_use_commands(verbs)


def _clip_norm(text: str) -> float:
    """--clip-grad-norm takes a number, or "none" to train without clipping."""
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


def config_from_args(args) -> TextTrainConfig:
    preset = args.preset or ("word" if args.level == "word" else "default")
    values = {**asdict(TextTrainConfig()), **PRESETS[preset], "data": args.data, "out": args.out}
    for item in fields(TextTrainConfig):
        given = getattr(args, item.name, None)
        if given is not None and item.name not in ("data", "out"):
            values[item.name] = given
    config = TextTrainConfig(**values)
    for name in ("steps", "window", "batch_size", "hidden_size", "embedding_size", "num_layers", "eval_every", "max_vocab", "min_count"):
        if getattr(config, name) < 1:
            raise SeqlabError(f"--{name.replace('_', '-')} must be at least 1, got {getattr(config, name)}")
    if config.level == "word" and config.max_vocab < 2:
        raise SeqlabError(f"--max-vocab must be at least 2 (<unk> and one word), got {config.max_vocab}")
    if not config.lr > 0:
        raise SeqlabError(f"--lr must be > 0, got {config.lr}")
    if config.lr_schedule not in ("constant", "cosine"):
        raise SeqlabError(f"--lr-schedule must be constant or cosine, got {config.lr_schedule!r}")
    if config.clip_grad_norm is not None and not config.clip_grad_norm > 0:
        raise SeqlabError(f"--clip-grad-norm must be > 0, got {config.clip_grad_norm}")
    if not config.weight_decay >= 0:
        raise SeqlabError(f"--weight-decay must be >= 0, got {config.weight_decay}")
    if not 0 <= config.dropout < 1:
        raise SeqlabError(f"--dropout must be in [0, 1), got {config.dropout}")
    if config.tie_weights and config.embedding_size != config.hidden_size:
        raise SeqlabError(
            f"--tie-weights needs --embedding-size equal to --hidden-size, got {config.embedding_size} and {config.hidden_size}"
        )
    return config


def run_train(args) -> int:
    train_text(config_from_args(args), resume=args.resume, progress=not args.no_progress)
    return 0


# ------------------------------------------------------------------------------- using a model
def load_text_model(checkpoint: str | None = None, device: str = "cpu", level: str | None = None):
    """The model, vocabulary and config of a text checkpoint; None means the shipped model.

    With `level`, a checkpoint of the other level (words where characters are needed, or the
    reverse) is a one-line error.
    """
    from seqlab.tasks._language import load_language_model

    path = Path(checkpoint) if checkpoint is not None else pretrained_path()
    if checkpoint is None and not (path / "model.safetensors").is_file():
        raise SeqlabError("seqlab has no shipped text model in this install; train one: seqlab text train")
    model, vocab, config = load_language_model(path, KIND, "text model", device)
    if level is not None and vocab.level != level:
        raise SeqlabError(
            f"checkpoint {path} is a {_LEVEL_NAMES[vocab.level]} model; --level {level} needs a "
            f"{_LEVEL_NAMES[level]} one (train it with seqlab text train --level {level})"
        )
    return model, vocab, config


_LEVEL_NAMES = {"char": "character-level", "word": "word-level"}


def read_prompt(vocab, prompt: str) -> str:
    """Check a prompt; name (on stderr, one line) what in it the model never saw: those
    tokens are read as <unk>."""
    import sys

    if not prompt.strip():
        raise SeqlabError('the prompt is empty; give some text, e.g. "ROMEO:"')
    unknown = vocab.unknown_tokens(prompt)
    if unknown:
        listed = ", ".join(repr(token) for token in unknown[:10]) + (f" and {len(unknown) - 10} more" if len(unknown) > 10 else "")
        print(f"note: the model never saw {listed} in training; read as {vocab.unknown}", file=sys.stderr)
    return prompt


def detokenize(text: str) -> str:
    """Words joined by spaces -> text: no space before punctuation that closes ("word ." ->
    "word."), nor at the end of a line."""
    return re.sub(r" ([.,;:!?\])]|\n)", r"\1", text)


def generate_text(model, vocab, prompt: str, length: int, temperature: float = 1.0, top_k: int | None = None,
                  seed: int = 0) -> str:
    """`length` tokens sampled after `prompt` by the one sampler (seqlab.sample)."""
    import torch

    from seqlab.sample import SamplingConfig, sample

    generator = torch.Generator().manual_seed(seed)
    config = SamplingConfig(temperature=temperature, top_k=top_k)
    return sample(model, vocab, prompt, length, config, generator=generator).texts[0]


# A word, as seqlab.data's word tokenizer reads one: letters, digits and _ , with an inner
# apostrophe (know't); or one punctuation mark.
_WORD_CHARACTER = re.compile(r"\w")


def word_finished(characters: list[str]) -> bool:
    """Whether the characters written after the prompt complete the next word: a boundary
    (space, punctuation, end of line) after at least one word character, or a punctuation
    mark as the first character (a word of its own, as the word tokenizer counts it)."""
    last = characters[-1]
    if len(characters) == 1:
        return not _WORD_CHARACTER.match(last)  # punctuation, or whitespace (a dead end, dropped)
    if last == "'":
        return characters[-2] == "'"  # an inner apostrophe (know't) goes on; a second one ends the word
    return not _WORD_CHARACTER.match(last)


def _word_of(characters: list[str]) -> str | None:
    """The word a finished beam wrote, or None for a beam that wrote only whitespace."""
    if len(characters) == 1:
        return None if characters[0].isspace() else characters[0]
    return "".join(characters[:-1]).rstrip("'")


def predict_next_words(model, vocab, prompt: str, top: int = 5, beam_width: int = 16, max_length: int = 20):
    """The `top` most likely next words after `prompt`, with their probabilities.

    A word-level model: its softmax over the words, directly (<unk> and <eos> masked out). A
    character-level model: a beam search over characters up to the next word boundary
    (seqlab.sample.beam_search); a word's probability is the sum over the beams that wrote
    it, whatever boundary ended them. The prompt is taken to end a word: a space is added if
    it does not end in whitespace.
    """
    import torch

    from seqlab.data import END_OF_LINE
    from seqlab.sample import beam_search

    if vocab.level == "word":
        ids = vocab.encode(prompt)
        with torch.inference_mode():
            logits, _ = model(torch.tensor([ids], device=next(model.parameters()).device))  # (1, P, V)
        # "Something unknown" and "end of line" are not words to suggest: the softmax runs over
        # the words alone, P(word | the line goes on), as a character model's beams start after
        # a space (seqlab.data reads a line break as the token <eos>).
        logits = logits[0, -1].float().cpu().clone()  # (V,), a plain tensor again, to edit
        not_words = [vocab.index(token) for token in (vocab.unknown, END_OF_LINE) if token is not None and token in vocab]
        logits[not_words] = float("-inf")
        probs = torch.softmax(logits, dim=-1)  # (V,)
        best = torch.topk(probs, min(top, len(vocab) - len(not_words)))
        return [(vocab.tokens[int(i)], float(probs[i])) for i in best.indices]
    if not prompt[-1].isspace():
        prompt = prompt + " "
    result = beam_search(model, vocab, prompt, word_finished, beam_width=beam_width, max_length=max_length)
    words: dict[str, float] = {}
    for characters, log_prob in result.finished:
        word = _word_of(characters)
        if word:
            words[word] = words.get(word, 0.0) + math.exp(log_prob)
    return sorted(words.items(), key=lambda item: -item[1])[:top]


def evaluate_text(checkpoint: str | None = None, data: str | None = None, device: str = "cpu", level: str | None = None) -> dict:
    """Held-out cross-entropy of a model on the last 10% of its corpus (or of `data`)."""
    import torch

    from seqlab.tasks._language import held_out_nats

    model, vocab, config = load_text_model(checkpoint, device, level)
    source = data or config.get("data", {}).get("source", DEFAULT_DATA)
    try:
        text = load_text_data(source)
    except SeqlabError as error:
        if data is None:
            raise SeqlabError(f"cannot measure the held-out loss: the checkpoint was trained on {source}: {error}; give --data") from None
        raise
    ids = torch.tensor(vocab.encode(text.held_out_text))
    if ids.numel() < 4:
        raise SeqlabError(f"{source}: its last 10% holds {ids.numel()} {vocab.level}s, too few to measure; give a longer text")
    started = time.perf_counter()
    nats = held_out_nats(model, ids, batch_size=max(1, min(32, ids.numel() // 2)))
    unknown = (ids == vocab.index(vocab.unknown)).float().mean().item() if vocab.unknown is not None else 0.0
    results = {
        "checkpoint": str(checkpoint or pretrained_path()),
        "corpus": text.source,
        "level": vocab.level,
        "held_out_tokens": ids.numel(),
        "held_out_unknown": round(unknown, 5),
        "nats_per_token": round(nats, 4),
        "seconds": round(time.perf_counter() - started, 2),
    }
    if vocab.level == "char":
        results["bits_per_char"] = round(nats / math.log(2), 4)
    else:
        results["perplexity"] = round(math.exp(nats), 2)
    return results


def add_use_commands(verbs) -> None:
    generate = verbs.add_parser(
        "generate",
        help="write text that continues a prompt",
        description="Sample text after a prompt from a trained model (the shipped Shakespeare model by default).",
    )
    generate.add_argument("--prompt", required=True, help='the text to continue, e.g. "ROMEO:"')
    generate.add_argument("--length", type=int, default=500, help="tokens to write: characters or words (default 500)")
    generate.add_argument("--temperature", type=float, default=1.0, help="< 1 safer, > 1 wilder (default 1.0)")
    generate.add_argument("--top-k", type=int, default=None, help="sample among the k most likely tokens only")
    generate.add_argument("--seed", type=int, default=None, help="random seed (default: a new one each run)")
    _add_model_options(generate)
    generate.set_defaults(run=run_generate)

    predict = verbs.add_parser(
        "predict",
        help="the most likely next words after a prompt, with their probabilities",
        description="The k most likely next words: a word-level model's softmax; for a character-level "
        "model, a beam search over characters up to the next word boundary.",
    )
    predict.add_argument("prompt", help='e.g. "This morning I took my cat for a"')
    predict.add_argument("--top", type=int, default=5, help="how many words (default 5)")
    predict.add_argument("--beam-width", type=int, default=16, help="character model: beams kept per step (default 16)")
    _add_model_options(predict)
    predict.set_defaults(run=run_predict)

    evaluate = verbs.add_parser(
        "evaluate",
        help="held-out bits/char (characters) or perplexity (words)",
        description="Cross-entropy of a model on the last 10% of its corpus (or of --data): nats and bits per "
        "character for a character model, nats per word and perplexity for a word model.",
    )
    evaluate.add_argument("--data", default=None, help="a UTF-8 text (default: the corpus the model was trained on)")
    evaluate.add_argument("--json", action="store_true", help="print the numbers as JSON")
    _add_model_options(evaluate)
    evaluate.set_defaults(run=run_evaluate)

    export = verbs.add_parser(
        "export",
        help="copy a trained model for shipping (weights in float16, no optimizer state)",
        description="Write a checkpoint's weights to OUT as a using-only checkpoint: the model in float16 "
        "and its config (vocabulary included), without optimizer and trainer state. This is how "
        "seqlab/text/pretrained was made.",
    )
    export.add_argument("--checkpoint", required=True, help="the checkpoint to export, e.g. runs/text/best")
    export.add_argument("--out", required=True, help="directory to write")
    export.add_argument("--float32", action="store_true", help="keep float32 weights")
    export.set_defaults(run=run_export)


def _add_model_options(parser) -> None:
    parser.add_argument("--checkpoint", default=None, help="a checkpoint directory (default: the shipped model)")
    parser.add_argument("--level", choices=("char", "word"), default=None,
                        help="insist on a character- or word-level model (an error if the checkpoint is the other)")
    parser.add_argument("--device", default="cpu")


def run_generate(args) -> int:
    import os

    from seqlab.tasks._language import check_temperature

    if args.length < 1:
        raise SeqlabError(f"--length must be at least 1, got {args.length}")
    check_temperature(args.temperature)
    if args.top_k is not None and args.top_k < 1:
        raise SeqlabError(f"--top-k must be at least 1, got {args.top_k}")
    if args.seed is not None and not 0 <= args.seed < 2**64:
        raise SeqlabError(f"--seed must be from 0 to 2**64 - 1, got {args.seed}")
    seed = args.seed if args.seed is not None else int.from_bytes(os.urandom(4), "little")
    model, vocab, _ = load_text_model(args.checkpoint, args.device, args.level)
    prompt = read_prompt(vocab, args.prompt.replace("\\n", "\n"))
    text = generate_text(model, vocab, prompt, args.length, args.temperature, args.top_k, seed)
    if vocab.level == "word":
        print(detokenize(prompt.strip() + " " + text))
    else:
        print(prompt + text)
    return 0


def run_predict(args) -> int:
    if args.top < 1:
        raise SeqlabError(f"--top must be at least 1, got {args.top}")
    if args.beam_width < 1:
        raise SeqlabError(f"--beam-width must be at least 1, got {args.beam_width}")
    model, vocab, _ = load_text_model(args.checkpoint, args.device, args.level)
    prompt = read_prompt(vocab, args.prompt)
    words = predict_next_words(model, vocab, prompt, args.top, args.beam_width)
    how = "softmax over words" if vocab.level == "word" else f"beam search over characters, width {args.beam_width}"
    print(f"{prompt.rstrip()} ___   ({how})")
    width = max(len(word) for word, _ in words) if words else 0
    for word, probability in words:
        print(f"  {word:<{width}}  {100 * probability:6.2f}%")
    return 0


def run_evaluate(args) -> int:
    results = evaluate_text(args.checkpoint, args.data, args.device, args.level)
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    unit = "char" if results["level"] == "char" else "word"
    print(f"held-out nats/{unit:<5}  {results['nats_per_token']:.4f}   ({results['corpus']}, last 10%: "
          f"{results['held_out_tokens']:,} {unit}s, {100 * results['held_out_unknown']:.2f}% unknown)")
    if unit == "char":
        print(f"held-out bits/char   {results['bits_per_char']:.4f}")
    else:
        print(f"held-out perplexity  {results['perplexity']:.2f}")
    return 0


def run_export(args) -> int:
    from seqlab.tasks._language import export_model

    model, vocab, config = load_text_model(args.checkpoint)
    metric, label = ("val_bits_per_char", "bits/char") if vocab.level == "char" else ("val_perplexity", "perplexity")
    print(export_model(model, config, args.checkpoint, args.out, KIND, metric, label, args.float32))
    return 0
