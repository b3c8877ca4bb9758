"""Language models on real text: next character, next word (lecture sections 3 and 7).

    seqlab text train     [--data PATH] [--level char|word] [--out DIR] [--preset NAME] [options]
    seqlab text generate  --prompt "..." [--length N] [--temperature T] [--top-k K] [--checkpoint DIR]
    seqlab text predict   "This morning I took my cat for a" [--top 5] [--checkpoint DIR]
    seqlab text evaluate  [--checkpoint DIR] [--data PATH] [--json]
    seqlab text export    --checkpoint DIR --out DIR

The lecture's three steps for feeding language to a network are seqlab.data's vocabulary and
indexing, and the model's embedding; the model is the generic LanguageModel, trained on the
frame (seqlab.tasks.frame) with stateful truncated BPTT over the training text, sampled by the
one sampler (seqlab.sample). A checkpoint stores its vocabulary, so it always decodes with the
tokens it was trained on.

Corpus: any UTF-8 text file; by default Tiny Shakespeare, shipped in seqlab/text/data. The
held-out split is the last 10% of the text (the corpus's usual convention), so numbers
compare with published ones.
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import torch

from seqlab.data import END_OF_LINE, Vocabulary
from seqlab.errors import ConfigError, SeqlabError, check_range
from seqlab.models import LanguageModelConfig
from seqlab.sample import SamplingConfig, beam_search, sample
from seqlab.tasks import frame
from seqlab.tasks._language import LanguageTask, StreamConfig, check_prompt, held_out_nats

KIND = "text-lm"
HELD_OUT = 0.1  # the last 10% of the text
DEFAULT_DATA = "tinyshakespeare"
MAX_LENGTH = 100_000  # tokens one `generate` writes
MAX_BEAM = 1_000
MAX_TOP = 1_000


def shipped_corpus_path() -> Path:
    return Path(str(resources.files("seqlab.text") / "data" / "tinyshakespeare.txt"))


# ------------------------------------------------------------------------------- config
@dataclass
class TextDataConfig(StreamConfig):
    """The text, its tokens and how the stream is cut into training windows."""

    data: str = DEFAULT_DATA  # a UTF-8 text file, or the shipped Tiny Shakespeare
    level: str = field(default="char", metadata={"choices": ("char", "word")})
    max_vocab: int = 10000  # word level: the most frequent words; the rest read as <unk>
    min_count: int = 1  # word level: words seen fewer times read as <unk>

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.level not in ("char", "word"):
            raise ConfigError("level", f"must be char or word, got {self.level!r}")
        check_range("max_vocab", self.max_vocab, 2, 10_000_000, " (<unk> and one word at least)")
        check_range("min_count", self.min_count, 1, 1_000_000_000)


# The task's three sections; `seqlab text train` starts from PRESETS["default"].
TextConfig = frame.task_config("TextConfig", TextDataConfig, LanguageModelConfig)


PRESETS: dict[str, dict] = {
    # The task's recipe, under every other preset: characters, sized for 30 minutes of one
    # CPU thread.
    "default": {
        "model": dict(embedding_size=64, hidden_size=512, num_layers=2, cell="lstm", dropout=0.1),
        "train": dict(steps=1500, lr=3e-3, lr_schedule="cosine", clip_grad_norm=1.0, eval_every=250),
    },
    # Words: a smaller vocabulary of vectors, tied to the output layer (Press & Wolf 2017).
    "word": {
        "data": dict(level="word", window=35, batch_size=32, min_count=2),
        "model": dict(embedding_size=256, hidden_size=256, num_layers=2, dropout=0.3, tie_weights=True),
        "train": dict(steps=2000, lr=3e-3),
    },
    # A few seconds, for checking that everything runs (tests, CI).
    "tiny": {
        "data": dict(window=32, batch_size=8),
        "model": dict(embedding_size=16, hidden_size=32, num_layers=1, dropout=0.0),
        "train": dict(steps=20, eval_every=10, lr=1e-2),
    },
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
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise SeqlabError(f"--data {source}: cannot read it: {error.strerror or error}") from None
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


def evaluation_metrics(nats: float, level: str) -> dict[str, float]:
    """Held-out cross-entropy in a level's usual units: bits/char for characters, perplexity
    for words; nats per token for both (val_loss, the metric that picks the best checkpoint)."""
    if level == "char":
        return {"val_loss": nats, "val_bits_per_char": nats / math.log(2)}
    return {"val_loss": nats, "val_perplexity": math.exp(nats)}


def describe_nats(nats: float, level: str) -> str:
    if level == "char":
        return f"{nats:.4f} nats/char = {nats / math.log(2):.4f} bits/char"
    return f"{nats:.4f} nats/word = perplexity {math.exp(nats):.1f}"


def evaluation_columns(tokens: int) -> int:
    """Evaluation reads the held-out stream in up to 32 columns: fast, and each column still
    holds thousands of tokens, so starting each from a zero state costs next to nothing."""
    return max(1, min(32, tokens // 2))


# ------------------------------------------------------------------------------- the task
class TextTask(LanguageTask):
    name = "text"
    kind = KIND
    what = "text model"
    config_type = TextConfig
    presets = PRESETS
    preset_help = ("default: the character recipe (30 CPU minutes); word: a word-level model; tiny: a smoke test "
                   "(default: default, or word with --level word)")
    default_out = "runs/text"
    train_help = ("train a character- or word-level language model on a text; Tiny Shakespeare by default, "
                  "stateful truncated BPTT, the held-out loss (last 10% of the text) at every evaluation and "
                  "the best checkpoint in OUT/best")
    flag_help = {
        "data": "a UTF-8 text file (default: the shipped Tiny Shakespeare)",
        "level": "tokens: characters or words",
        "max_vocab": "word level: keep the most frequent words; the rest read as <unk>",
        "min_count": "word level: words seen fewer times read as <unk>",
        "window": "truncated-BPTT window, in tokens",
    }

    def choose_preset(self, args) -> str:
        return args.preset or ("word" if getattr(args, "data.level", None) == "word" else "default")

    def load_data(self, config: TextConfig) -> TextData:
        return load_text_data(config.data.data)

    def unit_of(self, config: TextConfig) -> str:
        return "words" if config.data.level == "word" else "characters"

    def vocabulary(self, config: TextConfig, data: TextData) -> Vocabulary:
        if config.data.level == "char":
            return Vocabulary.build(data.train_text)  # held-out characters it lacks read as <unk>
        return Vocabulary.build(data.train_text, level="word", min_count=config.data.min_count,
                                max_size=config.data.max_vocab)

    def evaluate(self, model, data) -> dict[str, float]:
        nats = held_out_nats(model, data.held_out_ids, batch_size=evaluation_columns(data.held_out_ids.numel()))
        return evaluation_metrics(nats, data.vocab.level)

    def describe(self, config: TextConfig, data, model) -> str:
        unknown = ""
        if data.vocab.level == "word":
            share = (data.train_ids == data.vocab.index(data.vocab.unknown)).float().mean().item()
            unknown = f", {100 * share:.1f}% of them <unk>"
        unit = self.unit_of(config)
        return (
            f"{data.train_ids.numel():,} training {unit}{unknown} and {data.held_out_ids.numel():,} held out "
            f"(the last 10%) from {data.corpus.source}; vocabulary of {len(data.vocab):,} {unit}; "
            f"{sum(p.numel() for p in model.parameters()):,} parameters"
        )

    def describe_result(self, result, config: TextConfig) -> str:
        level = config.data.level
        nats = result.metrics.get("val_loss", float("nan"))
        return f"held-out {describe_nats(nats, level)} (best {frame.best_of(result):.4f} nats/{level})"

    def checkpoint_config(self, config: TextConfig, data, model) -> dict:
        return {
            **super().checkpoint_config(config, data, model),
            "data": {"source": data.corpus.source, "train_tokens": data.train_ids.numel(),
                     "held_out_tokens": data.held_out_ids.numel()},
        }

    def export_metric_of(self, config: dict) -> tuple[str, str]:
        if config.get("vocabulary", {}).get("level", "char") == "char":
            return "val_bits_per_char", "bits/char"
        return "val_perplexity", "perplexity"

    # ------------------------------------------------------------------ generate, predict, evaluate
    def add_task_commands(self, verbs) -> None:
        generate = verbs.add_parser(
            "generate",
            help="write text that continues a prompt",
            description="Sample text after a prompt from a trained model (the shipped Shakespeare model by default).",
        )
        generate.add_argument("--prompt", required=True, help='the text to continue, e.g. "ROMEO:"')
        generate.add_argument("--length", type=frame.bounded_int(1, MAX_LENGTH), default=500,
                              help=f"tokens to write: characters or words (default 500, at most {MAX_LENGTH:,})")
        frame.add_sampling_options(generate)
        add_level_options(generate)
        generate.set_defaults(run=run_generate)

        predict = verbs.add_parser(
            "predict",
            help="the most likely next words after a prompt, with their probabilities",
            description="The k most likely next words: a word-level model's softmax; for a character-level "
            "model, a beam search over characters up to the next word boundary.",
        )
        predict.add_argument("prompt", help='e.g. "This morning I took my cat for a"')
        predict.add_argument("--top", type=frame.bounded_int(1, MAX_TOP), default=5, help="how many words (default 5)")
        predict.add_argument("--beam-width", type=frame.bounded_int(1, MAX_BEAM), default=16,
                             help="character model: beams kept per step (default 16)")
        add_level_options(predict)
        predict.set_defaults(run=run_predict)

    def add_evaluate_options(self, parser) -> None:
        parser.description = ("Cross-entropy of a model on the last 10% of its corpus (or of --data): nats and bits "
                              "per character for a character model, nats per word and perplexity for a word model.")
        parser.add_argument("--data", default=None, help="a UTF-8 text (default: the corpus the model was trained on)")
        parser.add_argument("--level", choices=("char", "word"), default=None,
                            help="insist on a character- or word-level model (an error if the checkpoint is the other)")

    def run_evaluate(self, args) -> dict:
        return evaluate_text(args.checkpoint, args.data, args.device, args.level)

    def print_evaluation(self, results: dict) -> None:
        unit = "char" if results["level"] == "char" else "word"
        print(f"held-out nats/{unit:<5}  {results['nats_per_token']:.4f}   ({results['corpus']}, last 10%: "
              f"{results['held_out_tokens']:,} {unit}s, {100 * results['held_out_unknown']:.2f}% unknown)")
        if unit == "char":
            print(f"held-out bits/char   {results['bits_per_char']:.4f}")
        else:
            print(f"held-out perplexity  {results['perplexity']:.2f}")


TASK = TextTask()
add_commands = TASK.add_commands


def pretrained_path() -> Path:
    """The character model shipped inside the package."""
    return TASK.pretrained_path()


def add_level_options(parser) -> None:
    frame.add_model_options(parser)
    parser.add_argument("--level", choices=("char", "word"), default=None,
                        help="insist on a character- or word-level model (an error if the checkpoint is the other)")


# ------------------------------------------------------------------------------- using a model
_LEVEL_NAMES = {"char": "character-level", "word": "word-level"}


def load_text_model(checkpoint: str | None = None, device: str = "cpu", level: str | None = None):
    """The model, vocabulary and config of a text checkpoint; None means the shipped model.

    With `level`, a checkpoint of the other level (words where characters are needed, or the
    reverse) is a one-line error.
    """
    loaded = TASK.load(checkpoint, device)
    if level is not None and loaded.vocab.level != level:
        path = checkpoint or pretrained_path()
        raise SeqlabError(
            f"checkpoint {path} is a {_LEVEL_NAMES[loaded.vocab.level]} model; --level {level} needs a "
            f"{_LEVEL_NAMES[level]} one (train it with seqlab text train --level {level})"
        )
    return loaded


def read_prompt(vocab, prompt: str) -> str:
    """Check a prompt; name (on stderr, one line) what in it the model never saw."""
    return check_prompt(vocab, prompt)


def detokenize(text: str) -> str:
    """Words joined by spaces -> text: no space before punctuation that closes ("word ." ->
    "word."), nor at the end of a line."""
    return re.sub(r" ([.,;:!?\])]|\n)", r"\1", text)


def generate_text(model, vocab, prompt: str, length: int, temperature: float = 1.0, top_k: int | None = None,
                  seed: int = 0) -> str:
    """`length` tokens sampled after `prompt` by the one sampler (seqlab.sample)."""
    generator = torch.Generator().manual_seed(seed)
    config = SamplingConfig(temperature=temperature, top_k=top_k)
    return sample(model, vocab, prompt, length, config, generator=generator, progress=length >= 20_000).texts[0]


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
    nats = held_out_nats(model, ids, batch_size=evaluation_columns(ids.numel()))
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


def run_generate(args) -> int:
    seed = frame.new_seed(args.seed)
    model, vocab, _ = load_text_model(args.checkpoint, args.device, args.level)
    prompt = read_prompt(vocab, args.prompt.replace("\\n", "\n"))
    text = generate_text(model, vocab, prompt, args.length, args.temperature, args.top_k, seed)
    if vocab.level == "word":
        print(detokenize(prompt.strip() + " " + text))
    else:
        print(prompt + text)
    return 0


def run_predict(args) -> int:
    model, vocab, _ = load_text_model(args.checkpoint, args.device, args.level)
    prompt = read_prompt(vocab, args.prompt)
    words = predict_next_words(model, vocab, prompt, args.top, args.beam_width)
    how = "softmax over words" if vocab.level == "word" else f"beam search over characters, width {args.beam_width}"
    print(f"{prompt.rstrip()} ___   ({how})")
    width = max(len(word) for word, _ in words) if words else 0
    for word, probability in words:
        print(f"  {word:<{width}}  {100 * probability:6.2f}%")
    return 0
