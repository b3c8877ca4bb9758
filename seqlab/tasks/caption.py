"""Image captioning, the lecture's one-to-many problem: a CNN reads an image, an LSTM writes
its caption, with or without attention over the image's regions.

    seqlab caption train     [--dataset shapes|digits] [--attention additive|none] [--out DIR]
    seqlab caption evaluate  --checkpoint DIR [--beam-width K]
    seqlab caption caption   IMAGE.png --checkpoint DIR

Data (seqlab.caption): synthetic scenes of one to three shapes with captions from a small
grammar and a checker that judges any caption; strips of 3-5 handwritten digits from
scikit-learn, captioned with number words. Beside the model, in the same run: the most
frequent training caption, the caption of the nearest training image, and (digits) a
per-digit classifier reading the strip cell by cell into the template "d1 d2 d3".
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from seqlab.caption.digits import digit_scans, make_strips, read_number
from seqlab.caption.metrics import cider_d
from seqlab.caption.scenes import describe, draw, is_true, random_scene
from seqlab.data import Vocabulary
from seqlab.errors import ConfigError, SeqlabError, check_range
from seqlab.models.captioner import Captioner, CaptionerConfig
from seqlab.tasks import frame
from seqlab.tasks._seq2seq import END, decode_words, nats_per_word, target_tensors, word_vocabulary
from seqlab.tasks.frame import Loaded, Task, load_model

KIND = "captioner"
DATASETS = ("shapes", "digits")


@dataclass
class CaptionDataConfig:
    dataset: str = field(default="shapes", metadata={"choices": DATASETS})
    train_size: int = 20_000  # images generated for training
    test_size: int = 1_000  # and for validation and for test, each
    batch_size: int = 64

    def __post_init__(self) -> None:
        if self.dataset not in DATASETS:
            raise ConfigError("dataset", f"must be one of {', '.join(DATASETS)}, got {self.dataset!r}")
        check_range("train_size", self.train_size, 10, 1_000_000)
        check_range("test_size", self.test_size, 1, 100_000)
        check_range("batch_size", self.batch_size, 1, 100_000)


CaptionConfig = frame.task_config("CaptionConfig", CaptionDataConfig, CaptionerConfig)

PRESETS: dict[str, dict] = {
    "default": {
        "model": dict(embedding_size=64, hidden_size=256, cell="lstm", attention="additive", channels=64, dropout=0.1,
                      positions=True),
        "train": dict(steps=6000, lr=2e-3, lr_schedule="cosine", clip_grad_norm=1.0, eval_every=250, metric="val_loss"),
    },
    "tiny": {
        "model": dict(embedding_size=16, hidden_size=32, channels=16, attention_size=16),
        "data": dict(train_size=300, test_size=40, batch_size=16),
        "train": dict(steps=30, eval_every=15, lr=1e-2),
    },
}


@dataclass
class Images:
    images: np.ndarray  # (N, H, W, 3) uint8
    captions: list[str]
    truth: list  # what judges a caption: a scene's shapes, or a strip's digits


@dataclass
class CaptionData:
    dataset: str
    train: Images
    validation: Images
    test: Images


def make_data(dataset: str, train_size: int, test_size: int) -> CaptionData:
    """The fixed, seeded parts: training, validation and test images drawn independently (for
    digits, from disjoint sets of scans: training from one, validation and test from the other)."""
    def part(size: int, seed: int, scans) -> Images:
        rng = np.random.default_rng(seed)
        if dataset == "shapes":
            scenes = [random_scene(rng) for _ in range(size)]
            return Images(np.stack([draw(s) for s in scenes]), [describe(s, rng) for s in scenes], scenes)
        strips, captions, numbers = make_strips(*scans, size, rng)
        return Images(np.stack(strips), captions, numbers)

    train_scans, held_scans = digit_scans() if dataset == "digits" else (None, None)
    return CaptionData(dataset, part(train_size, 1, train_scans), part(test_size, 2, held_scans), part(test_size, 3, held_scans))


@dataclass
class Prepared:
    data: CaptionData
    vocab: Vocabulary
    train_ids: list[list[int]]
    validation_ids: list[list[int]]


class CaptionTask(Task):
    name = "caption"
    kind = KIND
    what = "captioning model"
    config_type = CaptionConfig
    presets = PRESETS
    preset_help = "default: tuned for a CPU; tiny: a smoke test"
    default_out = "runs/caption"
    export_metric = ("val_loss", "nats/word")
    train_help = ("train a CNN + LSTM captioner (with or without attention over the image) on synthetic "
                  "scenes or digit strips; keeps the best checkpoint in OUT/best")
    flag_help = {
        "dataset": "shapes (synthetic scenes, a checker judges captions) or digits (strips of handwritten digits)",
        "train_size": "training images to generate",
        "test_size": "validation and test images to generate, each",
        "attention": "additive: look at the image's regions while writing; none: only their mean",
        "channels": "the CNN's last layer: each region's vector",
        "positions": "end each region's vector with its (x, y) centre, so the decoder knows where it looks",
    }

    def load_data(self, config) -> CaptionData:
        d = config.data
        return make_data(d.dataset, d.train_size, d.test_size)

    def prepare(self, config, data: CaptionData, resume: bool) -> Prepared:
        vocab = word_vocabulary([c.split() for c in data.train.captions], 1)
        def ids(images: Images) -> list[list[int]]:
            return [[vocab.index(w) for w in caption.split()] for caption in images.captions]
        return Prepared(data, vocab, ids(data.train), ids(data.validation))

    def model_config(self, config, data: Prepared) -> CaptionerConfig:
        return replace(config.model, vocab_size=len(data.vocab))

    def build_model(self, config, data: Prepared) -> Captioner:
        return Captioner(self.model_config(config, data))

    def batches(self, config, data: Prepared):
        generator = torch.Generator().manual_seed(config.train.seed)
        images = torch.from_numpy(data.data.train.images)
        size = min(config.data.batch_size, len(data.train_ids))
        end = data.vocab.index(END)
        while True:
            picked = torch.randperm(len(data.train_ids), generator=generator)[:size].tolist()
            yield images[picked], *target_tensors([data.train_ids[i] for i in picked], end)

    def loss(self, model, batch, state):
        images, target_in, target_out = batch
        return model.loss(images, target_in, target_out, 0), None, int((target_out != 0).sum())

    def evaluate(self, model, data: Prepared) -> dict[str, float]:
        return {"val_loss": held_out_nats(model, data.data.validation.images, data.validation_ids, data.vocab)}

    def describe(self, config, data: Prepared, model) -> str:
        return (f"{len(data.train_ids):,} training images of {config.data.dataset} "
                f"({data.data.train.images.shape[1]}x{data.data.train.images.shape[2]}), "
                f"{len(data.validation_ids):,} validation; vocabulary of {len(data.vocab)} words; attention "
                f"{config.model.attention}; {sum(p.numel() for p in model.parameters()):,} parameters")

    def describe_result(self, result, config) -> str:
        return f"held-out nats/word {result.metrics.get('val_loss', float('nan')):.3f} (best {frame.best_of(result):.3f})"

    def checkpoint_config(self, config, data: Prepared, model) -> dict:
        images = data.data.train.images
        return {"model": model.config.to_json(), "vocabulary": data.vocab.to_json(),
                "images": {"dataset": config.data.dataset, "height": int(images.shape[1]), "width": int(images.shape[2]),
                           "train_size": config.data.train_size, "test_size": config.data.test_size}}

    def load_checkpoint(self, path: Path, device: str) -> Loaded:
        model, config = load_model(path, KIND, self.what, Captioner, CaptionerConfig, device, also=("vocabulary", "images"))
        return Loaded(model, Vocabulary.from_json(config["vocabulary"]), config)

    def add_task_commands(self, verbs) -> None:
        parser = verbs.add_parser("caption", help="caption an image (PNG)", description="Caption an image (PNG).")
        parser.add_argument("image", help="a PNG of the size the model was trained on")
        parser.add_argument("--beam-width", type=frame.bounded_int(1, 100), default=1)
        frame.add_model_options(parser)
        parser.set_defaults(run=run_caption)

    def add_evaluate_options(self, parser) -> None:
        parser.add_argument("--beam-width", type=frame.bounded_int(1, 100), default=1)

    def run_evaluate(self, args) -> dict:
        return evaluate_captions(args.checkpoint, args.beam_width, args.device)

    def print_evaluation(self, results: dict) -> None:
        print(f"{results['dataset']}: {results['images']} test images; attention {results['attention']}")
        print(f"{'':<34} {'BLEU-4':>7} {'CIDEr-D':>8} {'correct':>8} {'distinct':>9}")
        for name, s in results["scores"].items():
            print(f"{name:<34} {s['bleu4']:7.2f} {s['cider_d']:8.3f} {100 * s['correct']:7.1f}% {100 * s['distinct']:8.1f}%")


TASK = CaptionTask()
add_commands = TASK.add_commands


def held_out_nats(model: Captioner, images: np.ndarray, ids: list[list[int]], vocab: Vocabulary, batch: int = 256) -> float:
    return nats_per_word(model, ((torch.from_numpy(images[start : start + batch]),
                                  *target_tensors(ids[start : start + batch], vocab.index(END)))
                                 for start in range(0, len(ids), batch)))


def caption_image(model: Captioner, vocab: Vocabulary, image: np.ndarray, beam_width: int = 1) -> str:
    return " ".join(decode_words(model.decoding(torch.from_numpy(image[None])), vocab, beam_width, max_length=30))


def correct(dataset: str, caption: str, truth) -> bool:
    """True of the scene (the checker), or the strip's digits read exactly."""
    return is_true(caption, truth) if dataset == "shapes" else read_number(caption) == truth


def nearest_neighbour_captions(train: Images, test: Images) -> list[str]:
    """Each test image gets the caption of the training image nearest in pixels (16x16 grey)."""
    def small(images: np.ndarray) -> np.ndarray:
        grey = images.astype(np.float32).mean(axis=3)
        h, w = grey.shape[1] // 16 or 1, grey.shape[2] // 16 or 1
        return grey[:, : 16 * h, : 16 * w].reshape(len(grey), 16, h, -1, w).mean(axis=(2, 4)).reshape(len(grey), -1)
    a, b = small(test.images), small(train.images)
    distances = (a ** 2).sum(1)[:, None] - 2 * a @ b.T + (b ** 2).sum(1)[None, :]
    return [train.captions[i] for i in distances.argmin(axis=1)]


def digit_classifier_captions(test: Images) -> list[str]:
    """Cell by cell: a logistic regression on the training scans reads each 16x16 cell that
    holds ink, and the template writes the number words."""
    from sklearn.linear_model import LogisticRegression

    from seqlab.caption.digits import SCALE, WORDS

    (train_x, train_y), _ = digit_scans()
    classifier = LogisticRegression(max_iter=2000).fit(train_x.reshape(len(train_x), -1), train_y)
    captions = []
    for image in test.images:
        grey = image[..., 0].astype(np.float32) / 255.0
        cells = [grey[:, i : i + 8 * SCALE] for i in range(0, grey.shape[1], 8 * SCALE)]
        cells = [c.reshape(8, SCALE, 8, SCALE).mean(axis=(1, 3)) for c in cells if c.max() > 0]
        labels = classifier.predict(np.stack([c.reshape(-1) for c in cells])) if cells else []
        captions.append(" ".join(WORDS[label] for label in labels))
    return captions


def evaluate_captions(checkpoint: str | None, beam_width: int = 1, device: str = "cpu") -> dict:
    import sacrebleu

    model, vocab, config = TASK.load(checkpoint, device)
    info = config["images"]
    data = make_data(info["dataset"], info["train_size"], info["test_size"])
    test = data.test
    outputs = {
        "most frequent caption": [Counter(data.train.captions).most_common(1)[0][0]] * len(test.captions),
        "nearest training image": nearest_neighbour_captions(data.train, test),
    }
    if info["dataset"] == "digits":
        outputs["digit classifier + template"] = digit_classifier_captions(test)
    label = "model (greedy)" if beam_width == 1 else f"model (beam {beam_width})"
    outputs[label] = [caption_image(model, vocab, image, beam_width) for image in test.images]
    scores = {}
    for name, captions in outputs.items():
        scores[name] = {
            "bleu4": round(sacrebleu.corpus_bleu(captions, [test.captions], tokenize="none").score, 2),
            "cider_d": round(cider_d(captions, [[c] for c in test.captions]), 3),
            "correct": round(float(np.mean([correct(info["dataset"], c, t) for c, t in zip(captions, test.truth)])), 4),
            "distinct": round(len(set(captions)) / len(captions), 4),
        }
    return {"checkpoint": str(checkpoint), "dataset": info["dataset"], "attention": model.config.attention,
            "images": len(test.captions), "scores": scores,
            "examples": [{"reference": r, "model": m} for r, m in zip(test.captions[:5], outputs[label][:5])]}


def run_caption(args) -> int:
    from PIL import Image, UnidentifiedImageError

    model, vocab, config = TASK.load(args.checkpoint, args.device)
    try:
        with Image.open(args.image) as opened:
            image = np.asarray(opened.convert("RGB"))
    except (OSError, UnidentifiedImageError) as error:
        raise SeqlabError(f"cannot read {args.image} as an image: {error}") from None
    expected = (config["images"]["height"], config["images"]["width"])
    if image.shape[:2] != expected:
        raise SeqlabError(f"{args.image} is {image.shape[1]}x{image.shape[0]}; this model reads "
                          f"{expected[1]}x{expected[0]} images of {config['images']['dataset']}")
    print(caption_image(model, vocab, image, args.beam_width))
    return 0
