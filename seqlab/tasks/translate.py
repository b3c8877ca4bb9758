"""Machine translation, the lecture's many-to-many problem: an encoder-decoder, with and
without attention, on English-French sentence pairs from Tatoeba.

    seqlab translate train     [--source en --target fr] [--attention additive|multiplicative|none]
                               [--filter tutorial] [--preset default|tiny] [--out DIR]
    seqlab translate evaluate  --checkpoint DIR [--sentences N] [--beam-width K]
    seqlab translate translate "I am cold." --checkpoint DIR [--beam-width K]
    seqlab translate attention "I am cold." --checkpoint DIR [--out attention.png]
    seqlab translate export    --checkpoint DIR --out DIR

Words are lower-cased (seqlab.translate.corpus); BLEU and chrF come from sacreBLEU, against
every translation of a test sentence, and its signature is printed with them. Beside the
models, in the same run: a word-by-word dictionary built from the training pairs.
"""

from __future__ import annotations

import math
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

from seqlab.data import Vocabulary  # noqa: E402
from seqlab.errors import ConfigError, SeqlabError, check_range  # noqa: E402
from seqlab.models.seq2seq import Seq2Seq, Seq2SeqConfig, Translator  # noqa: E402
from seqlab.tasks import frame  # noqa: E402
from seqlab.tasks._seq2seq import END, PAD, UNKNOWN, decode_words, nats_per_word, target_tensors  # noqa: E402
from seqlab.tasks._seq2seq import word_vocabulary as words_vocabulary  # noqa: E402
from seqlab.tasks.frame import Loaded, Task, load_model  # noqa: E402
from seqlab.translate.corpus import (  # noqa: E402
    LANGUAGES,
    Pair,
    Split,
    detokenize,
    read_pairs,
    split_pairs,
    tokenize,
    tutorial_subset,
)

KIND = "translation"
MAX_WORDS = 100  # a sentence to translate: Tatoeba's have at most ~40
MAX_SENTENCES = 100_000


@dataclass
class Vocabularies:
    source: Vocabulary
    target: Vocabulary

    def to_json(self) -> dict:
        return {"source": self.source.to_json(), "target": self.target.to_json()}

    @classmethod
    def from_json(cls, data: dict) -> "Vocabularies":
        return cls(Vocabulary.from_json(data["source"]), Vocabulary.from_json(data["target"]))


@dataclass
class TranslateDataConfig:
    data: str = ""  # a tab-separated file of English<TAB>French pairs; "": the shipped Tatoeba pairs
    source: str = field(default="en", metadata={"choices": LANGUAGES})
    target: str = field(default="fr", metadata={"choices": LANGUAGES})
    filter: str = field(default="", metadata={"choices": ("", "tutorial")})  # tutorial: PyTorch tutorial's subset
    min_count: int = 2  # rarer training words read as <unk>
    batch_size: int = 64

    def __post_init__(self) -> None:
        if self.source not in LANGUAGES or self.target not in LANGUAGES or self.source == self.target:
            raise ConfigError("source", f"and --target must be en and fr, one each way, got {self.source} -> {self.target}")
        if self.filter not in ("", "tutorial"):
            raise ConfigError("filter", f"must be tutorial or empty, got {self.filter!r}")
        check_range("min_count", self.min_count, 1, 1_000_000)
        check_range("batch_size", self.batch_size, 1, 100_000)


TranslateConfig = frame.task_config("TranslateConfig", TranslateDataConfig, Seq2SeqConfig)

PRESETS: dict[str, dict] = {
    "default": {
        "model": dict(embedding_size=128, hidden_size=256, num_layers=1, cell="gru", dropout=0.2, bidirectional=True,
                      attention="additive", attention_size=256),
        "train": dict(steps=3000, lr=2e-3, lr_schedule="cosine", clip_grad_norm=1.0, eval_every=250, metric="val_loss"),
    },
    "tiny": {
        "model": dict(embedding_size=16, hidden_size=32, attention_size=16, dropout=0.0),
        "data": dict(batch_size=16),
        "train": dict(steps=20, eval_every=10, lr=1e-2),
    },
}


@dataclass
class Batch:
    source: torch.Tensor  # (B, S) padded
    lengths: torch.Tensor  # (B,)
    target_in: torch.Tensor  # (B, T): <eos> then the words
    target_out: torch.Tensor  # (B, T): the words then <eos>


@dataclass
class Prepared:
    split: Split
    vocabularies: Vocabularies
    train: list[tuple[list[int], list[int]]]  # (source ids, target ids)
    validation: list[tuple[list[int], list[int]]]
    source_name: str


def encode(vocab: Vocabulary, sentence: str) -> list[int]:
    return [vocab.index(word) for word in tokenize(sentence)]


def make_batch(pairs: list[tuple[list[int], list[int]]], pad: int, end: int) -> Batch:
    source = torch.full((len(pairs), max(len(s) for s, _ in pairs)), pad)
    for row, (s, _) in enumerate(pairs):
        source[row, : len(s)] = torch.tensor(s)
    target_in, target_out = target_tensors([t for _, t in pairs], end)
    return Batch(source, torch.tensor([len(s) for s, _ in pairs]), target_in, target_out)


def shuffled_batches(pairs, batch_size: int, seed: int, pad: int, end: int):
    generator = torch.Generator().manual_seed(seed)
    while True:
        order = torch.randperm(len(pairs), generator=generator).tolist()
        for start in range(0, len(order) - batch_size + 1, batch_size):
            yield make_batch([pairs[i] for i in order[start : start + batch_size]], pad, end)


class TranslateTask(Task):
    name = "translate"
    kind = KIND
    what = "translation model"
    config_type = TranslateConfig
    presets = PRESETS
    preset_help = "default: tuned for a CPU; tiny: a smoke test"
    default_out = "runs/translate"
    export_metric = ("val_loss", "nats/word")
    train_help = ("train an encoder-decoder (with or without attention) on English-French pairs; "
                  "prints held-out nats per word at every evaluation and keeps the best checkpoint in OUT/best")
    flag_help = {
        "data": "a file of English<TAB>French pairs (default: the shipped Tatoeba pairs)",
        "source": "the language read: en or fr",
        "target": "the language written: fr or en",
        "filter": "tutorial: only PyTorch's tutorial pairs (English starting 'i am', 'he is', 'you are'...)",
        "min_count": "training words seen fewer times read as <unk>",
        "attention": "additive (Bahdanau), multiplicative (Luong) or none (the encoder's summary only)",
        "attention_size": "the additive score's hidden layer",
        "bidirectional": "the encoder reads each sentence both ways",
    }

    def load_data(self, config) -> tuple[Split, str]:
        pairs = read_pairs(config.data.data or None)
        if config.data.filter == "tutorial":
            pairs = tutorial_subset(pairs)
        return split_pairs(pairs, config.data.source), config.data.data or "Tatoeba eng-fra"

    def prepare(self, config, data, resume: bool) -> Prepared:
        split, name = data
        d = config.data
        vocabularies = Vocabularies(*(word_vocabulary([p.side(language) for p in split.train], d.min_count)
                                      for language in (d.source, d.target)))
        def ids(pairs: list[Pair]):
            return [(encode(vocabularies.source, p.side(d.source)), encode(vocabularies.target, p.side(d.target)))
                    for p in pairs]
        train = [pair for pair in ids(split.train) if pair[0] and pair[1]]
        if len(train) < d.batch_size:
            raise SeqlabError(f"{name}: {len(train)} training pairs are fewer than one batch of {d.batch_size}")
        return Prepared(split, vocabularies, train, ids(split.validation)[:2000], name)

    def model_config(self, config, data: Prepared) -> Seq2SeqConfig:
        return replace(config.model, vocab_size=len(data.vocabularies.target),
                       source_vocab_size=len(data.vocabularies.source))

    def build_model(self, config, data: Prepared) -> Seq2Seq:
        return Seq2Seq(self.model_config(config, data))

    def batches(self, config, data: Prepared):
        target = data.vocabularies.target
        return shuffled_batches(data.train, config.data.batch_size, config.train.seed, target.index(PAD), target.index(END))

    def loss(self, model, batch: Batch, state):
        pad = 0  # PAD is the first token of both vocabularies (word_vocabulary)
        loss = model.loss(batch.source, batch.lengths, batch.target_in, batch.target_out, pad)
        return loss, None, int((batch.target_out != pad).sum())

    def evaluate(self, model, data: Prepared) -> dict[str, float]:
        return {"val_loss": held_out_nats(model, data.validation, data.vocabularies.target)}

    def describe(self, config, data: Prepared, model) -> str:
        d = config.data
        return (f"{len(data.train):,} training pairs {d.source} -> {d.target} from {data.source_name}"
                + (" (tutorial subset)" if d.filter else "")
                + f", {len(data.split.validation):,} validation, {len(data.split.test):,} test; vocabularies of "
                f"{len(data.vocabularies.source):,} and {len(data.vocabularies.target):,} words; attention "
                f"{config.model.attention}; {sum(p.numel() for p in model.parameters()):,} parameters")

    def describe_result(self, result, config) -> str:
        return f"held-out nats/word {result.metrics.get('val_loss', float('nan')):.3f} (best {frame.best_of(result):.3f})"

    def checkpoint_config(self, config, data: Prepared, model) -> dict:
        return {"model": model.config.to_json(), "vocabulary": data.vocabularies.to_json(),
                "languages": {"source": config.data.source, "target": config.data.target},
                "data": {"source": data.source_name, "filter": config.data.filter}}

    def load_checkpoint(self, path: Path, device: str) -> Loaded:
        model, config = load_model(path, KIND, self.what, Seq2Seq, Seq2SeqConfig, device, also=("vocabulary", "languages"))
        return Loaded(model, Vocabularies.from_json(config["vocabulary"]), config)

    # ------------------------------------------------------------------ translate, attention, evaluate
    def add_task_commands(self, verbs) -> None:
        for verb, help_text in (("translate", "translate a sentence"),
                                ("attention", "translate a sentence and draw where each word looked (PNG)")):
            parser = verbs.add_parser(verb, help=help_text, description=help_text[0].upper() + help_text[1:] + ".")
            parser.add_argument("sentence", help='e.g. "I am cold."')
            parser.add_argument("--beam-width", type=frame.bounded_int(1, 100), default=5,
                                help="beam search width (1: greedy; default 5)")
            frame.add_model_options(parser)
            add_direction_option(parser)
            if verb == "attention":
                parser.add_argument("--out", default="attention.png", help="the heat map to write (default attention.png)")
            parser.set_defaults(run=run_translate if verb == "translate" else run_attention)

    def add_evaluate_options(self, parser) -> None:
        add_direction_option(parser)
        parser.add_argument("--sentences", type=frame.bounded_int(1, MAX_SENTENCES), default=1000,
                            help="test source sentences to translate (default 1000)")
        parser.add_argument("--beam-width", type=frame.bounded_int(1, 100), default=5)

    def run_evaluate(self, args) -> dict:
        return evaluate_translation(shipped_or(args.checkpoint, args.direction), args.sentences, args.beam_width,
                                    args.device)

    def print_evaluation(self, results: dict) -> None:
        print(f"{results['languages']}: {results['sentences']} test sentences, {results['references']} references")
        print(f"{'':<26} {'BLEU':>6} {'chrF':>6}")
        for name, scores in results["scores"].items():
            print(f"{name:<26} {scores['bleu']:6.2f} {scores['chrf']:6.2f}")
        print(f"held-out nats/word {results['test_nats_per_word']:.3f}; sacreBLEU {results['signature']}")


TASK = TranslateTask()
add_commands = TASK.add_commands
# The shipped models, one a direction: English to French in the task's own pretrained folder.
SHIPPED = {"en-fr": "pretrained", "fr-en": "pretrained_fr_en"}


def add_direction_option(parser) -> None:
    parser.add_argument("--direction", choices=sorted(SHIPPED), default=None,
                        help="which shipped model, without --checkpoint (default en-fr)")


def shipped_or(checkpoint: str | None, direction: str | None) -> str | None:
    """The checkpoint to load: the one given, or the shipped model of `direction` (None: the
    task's own, English to French)."""
    if checkpoint is not None and direction is not None:
        raise SeqlabError("give --checkpoint or --direction, not both: a checkpoint knows its languages")
    if direction is None or direction == "en-fr":
        return checkpoint
    path = TASK.pretrained_path().parent / SHIPPED[direction]
    if not (path / "model.safetensors").is_file():
        raise SeqlabError(f"seqlab has no shipped {direction} model in this install; train one: "
                          f"seqlab translate train --source {direction[:2]} --target {direction[3:]}")
    return str(path)


def word_vocabulary(sentences: list[str], min_count: int) -> Vocabulary:
    return words_vocabulary([tokenize(sentence) for sentence in sentences], min_count)


def held_out_nats(model: Seq2Seq, pairs, target: Vocabulary, batch_size: int = 256) -> float:
    batches = (make_batch([p for p in pairs[start : start + batch_size] if p[0]], target.index(PAD), target.index(END))
               for start in range(0, len(pairs), batch_size))
    return nats_per_word(model, ((b.source, b.lengths, b.target_in, b.target_out) for b in batches))


def check_sentence(vocabularies: Vocabularies, sentence: str) -> list[int]:
    words = tokenize(sentence)
    if not words:
        raise SeqlabError("the sentence is empty; give some words, e.g. \"I am cold.\"")
    if len(words) > MAX_WORDS:
        raise SeqlabError(f"the sentence has {len(words):,} words; give at most {MAX_WORDS}")
    unknown = [word for word in words if word not in vocabularies.source]
    if len(unknown) == len(words):
        raise SeqlabError(f"the model knows none of the words of {sentence[:60]!r}; is it in the source language?")
    if unknown:
        print(f"note: the model never saw {', '.join(repr(w) for w in unknown[:10])} in training; read as {UNKNOWN}",
              file=sys.stderr)
    return [vocabularies.source.index(word) for word in words]


def translate_ids(model: Seq2Seq, vocabularies: Vocabularies, source: list[int], beam_width: int = 5,
                  max_length: int = 40) -> list[str]:
    """The target words for one source sentence (seqlab.tasks._seq2seq.decode_words)."""
    translator = Translator(model, torch.tensor([source]), torch.tensor([len(source)]))
    return decode_words(translator, vocabularies.target, beam_width, max_length)


def dictionary_baseline(pairs: list[Pair], source: str, target: str):
    """Word by word: each source word becomes the target word that co-occurs with it most
    (Dice coefficient over the training pairs); unknown words are left out."""
    source_counts, target_counts, both = Counter(), Counter(), defaultdict(Counter)
    for pair in pairs:
        s, t = set(tokenize(pair.side(source))), set(tokenize(pair.side(target)))
        source_counts.update(s)
        target_counts.update(t)
        for word in s:
            both[word].update(t)
    # Ties go to the alphabetically first word, so the table is the same in every process.
    table = {word: min(co, key=lambda t: (-2 * co[t] / (source_counts[word] + target_counts[t]), t))
             for word, co in both.items()}
    return lambda sentence: [table[w] for w in tokenize(sentence) if w in table]


def evaluate_translation(checkpoint: str | None, sentences: int, beam_width: int, device: str = "cpu") -> dict:
    import sacrebleu

    model, vocabularies, config = TASK.load(checkpoint, device)
    source, target = config["languages"]["source"], config["languages"]["target"]
    pairs = read_pairs(None if config["data"]["source"] == "Tatoeba eng-fra" else config["data"]["source"])
    if config["data"].get("filter") == "tutorial":
        pairs = tutorial_subset(pairs)
    split = split_pairs(pairs, source)
    grouped: dict[str, list[str]] = defaultdict(list)
    for pair in split.test:
        grouped[pair.side(source)].append(pair.side(target))
    chosen = sorted(grouped)[:sentences]
    width = max(len(grouped[s]) for s in chosen)
    # sacreBLEU takes references as streams: the k-th reference of every sentence ("" when it has fewer).
    references = [[detokenize(tokenize(grouped[s][k])) if k < len(grouped[s]) else "" for s in chosen] for k in range(width)]
    dictionary = dictionary_baseline(split.train, source, target)
    outputs = {
        "dictionary (word by word)": [detokenize(dictionary(s)) for s in chosen],
        "greedy": [detokenize(translate_ids(model, vocabularies, encode(vocabularies.source, s), 1)) for s in chosen],
    }
    if beam_width > 1:
        outputs[f"beam search ({beam_width})"] = [
            detokenize(translate_ids(model, vocabularies, encode(vocabularies.source, s), beam_width)) for s in chosen]
    scores, signature = {}, ""
    for name, hypotheses in outputs.items():
        bleu = sacrebleu.metrics.BLEU()
        scores[name] = {"bleu": round(bleu.corpus_score(hypotheses, references).score, 2),
                        "chrf": round(sacrebleu.metrics.CHRF().corpus_score(hypotheses, references).score, 2)}
        signature = str(bleu.get_signature())
    test_ids = [(encode(vocabularies.source, p.side(source)), encode(vocabularies.target, p.side(target))) for p in split.test]
    return {
        "checkpoint": str(checkpoint or TASK.pretrained_path()),
        "languages": f"{source} -> {target}",
        "attention": model.config.attention,
        "parameters": sum(p.numel() for p in model.parameters()),
        "sentences": len(chosen),
        "references": sum(len(grouped[s]) for s in chosen),
        "scores": scores,
        "signature": signature,
        "test_nats_per_word": round(held_out_nats(model, [p for p in test_ids if p[0]], vocabularies.target), 4),
        "examples": [{"source": s, "greedy": outputs["greedy"][i], "references": grouped[s]} for i, s in enumerate(chosen[:5])],
    }


def run_translate(args) -> int:
    model, vocabularies, _ = TASK.load(shipped_or(args.checkpoint, args.direction), args.device)
    words = translate_ids(model, vocabularies, check_sentence(vocabularies, args.sentence), args.beam_width)
    print(detokenize(words))
    return 0


def run_attention(args) -> int:
    out = Path(args.out)
    if out.suffix.lower() != ".png":
        raise SeqlabError(f"--out must name a .png file, got {args.out}")
    model, vocabularies, _ = TASK.load(shipped_or(args.checkpoint, args.direction), args.device)
    if model.attention is None:
        raise SeqlabError("this model has no attention to draw (trained with --attention none)")
    source = check_sentence(vocabularies, args.sentence)
    words = translate_ids(model, vocabularies, source, args.beam_width)
    # Teacher-force the chosen translation once more, keeping each step's attention weights.
    translator = Translator(model, torch.tensor([source]), torch.tensor([len(source)])).eval()
    state, rows = translator.start, []
    with torch.no_grad():
        for word in [END, *words]:
            _, state, weights = model.decode_step(torch.tensor([vocabularies.target.index(word)]), state, keep_weights=True)
            rows.append(weights[0].tolist())
    plot_attention([vocabularies.source.tokens[i] for i in source], [*words, END], rows, out)
    print(f"{detokenize(words)}\nwrote {out}")
    return 0


def plot_attention(source: list[str], target: list[str], weights: list[list[float]], path: Path) -> Path:
    figure, axes = plt.subplots(figsize=(max(4.0, 0.6 * len(source) + 2), max(3.0, 0.45 * len(target) + 1.5)))
    axes.imshow(weights, cmap="viridis", vmin=0.0, vmax=1.0, aspect="auto")
    axes.set_xticks(range(len(source)), source, rotation=45, ha="right")
    axes.set_yticks(range(len(target)), target)
    axes.set_xlabel("source")
    axes.set_ylabel("translation, word by word")
    figure.tight_layout()
    try:
        figure.savefig(path, dpi=120)
    except OSError as error:
        raise SeqlabError(f"cannot write {path}: {error}") from None
    finally:
        plt.close(figure)
    return path
