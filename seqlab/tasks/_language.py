"""What every language-model task shares, on the frame: a vocabulary built from the training
text, the stream cut into truncated-BPTT windows, the next-token loss, held-out nats per token,
and loading a LanguageModel back with its vocabulary.

The music task (ABC tunes) and the text task (Shakespeare, any UTF-8 text) are the same
model, LanguageModel, trained by the same loop; they differ in their corpus, their split
and what they do with the samples.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch

from seqlab.checkpoint import CheckpointError, checkpoint_exists, load_checkpoint
from seqlab.data import Vocabulary, Window, batchify, endless_windows, windows
from seqlab.errors import SeqlabError, check_range
from seqlab.models import LanguageModel, LanguageModelConfig
from seqlab.tasks.frame import Loaded, Task, load_model

MAX_WINDOW = 100_000
MAX_BATCH = 100_000
MAX_PROMPT = 10_000  # characters a prompt may have: reading it is one forward pass


@dataclass
class StreamConfig:
    """How a token stream is cut into training batches (the data section's shared fields)."""

    window: int = 100  # truncated-BPTT window, in tokens
    batch_size: int = 32
    stateful: bool = True  # carry the state across windows; the lab samples random windows

    def __post_init__(self) -> None:
        check_range("window", self.window, 1, MAX_WINDOW)
        check_range("batch_size", self.batch_size, 1, MAX_BATCH)


@dataclass
class Stream:
    """A corpus made ready for a language model: its vocabulary and both parts as token ids."""

    corpus: Any  # the task's own data (tunes, text): what describe() reports
    vocab: Vocabulary
    train_ids: torch.Tensor  # (N,)
    held_out_ids: torch.Tensor  # (M,)
    start: LanguageModel | None = None  # a model to start from (fine-tuning)


def random_windows(ids, batch_size: int, length: int, seed: int):
    """The lab's batches: random (input, target) windows, no state carried between them."""
    generator = torch.Generator().manual_seed(seed)
    while True:
        starts = torch.randint(0, ids.numel() - length - 1, (batch_size,), generator=generator)
        chunk = torch.stack([ids[s : s + length + 1] for s in starts.tolist()])  # (B, length + 1)
        yield Window(chunk[:, :-1], chunk[:, 1:], reset=True)


def training_batches(ids, batch_size: int, window: int, stateful: bool, seed: int):
    """Stateful tBPTT windows over the batchified stream, or the lab's random windows."""
    if stateful:
        return endless_windows(ids, batch_size, window, seed=seed)
    return random_windows(ids, batch_size, window, seed=seed)


def check_stream_length(window: int, batch_size: int, stateful: bool, tokens: int, source: str, unit: str = "characters") -> None:
    """Say in one line when the training text cannot fill one batch of windows, before the
    batch makers fail deep inside: random windows need `window + 1` tokens after their
    start; the stateful stream starts each pass at an offset below `window` and then needs
    at least 2 tokens per batch row."""
    needed = window - 1 + 2 * batch_size if stateful else window + 2
    if tokens < needed:
        raise SeqlabError(
            f"--window {window} with --batch-size {batch_size} needs at least {needed:,} "
            f"{unit} of training text; {source} has {tokens:,}: give smaller values or more text"
        )


def held_out_nats(model, ids, batch_size: int = 8, window: int = 256) -> float:
    """Cross-entropy in nats per token of a held-out stream, state carried across windows.

    The stream is cut into `batch_size` columns (seqlab.data.batchify), each read from a
    zero state; a few thousand tokens per column make that cold start negligible.
    """
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    total, count, state = 0.0, 0, None
    with torch.no_grad():
        for part in windows(batchify(ids, batch_size), window):
            loss, state = model.loss(part.input.to(device), part.target.to(device), state)
            total += loss.item() * part.target.numel()
            count += part.target.numel()
    model.train(was_training)
    return total / count


def held_out_bits_per_char(model, ids, batch_size: int = 8, window: int = 256) -> float:
    """held_out_nats in bits (a character model's usual unit)."""
    return held_out_nats(model, ids, batch_size, window) / math.log(2)


def load_language_model(path: Path, kind: str, what: str, device: str = "cpu") -> Loaded:
    """The LanguageModel, Vocabulary and config of the checkpoint at `path`, in eval mode on
    `device` (always with the fused backend: the layers' weights interchange)."""
    model, config = load_model(path, kind, what, LanguageModel, LanguageModelConfig, device, also=("vocabulary",))
    vocab = Vocabulary.from_json(config["vocabulary"])
    if len(vocab) != model.config.vocab_size:
        raise CheckpointError(
            f"checkpoint {path} is inconsistent: {len(vocab)} {vocab.level}s in its vocabulary, "
            f"{model.config.vocab_size} in its model"
        )
    return Loaded(model, vocab, config)


def check_prompt(vocab: Vocabulary, prompt: str, flag: str = "the prompt", example: str = "ROMEO:") -> str:
    """A prompt the model can read: not empty, not huge; what in it the model never saw is
    named on stderr (one line) and read as <unk>."""
    if not prompt.strip():
        raise SeqlabError(f'{flag} is empty; give some text, e.g. "{example}"')
    if len(prompt) > MAX_PROMPT:
        raise SeqlabError(f"{flag} has {len(prompt):,} characters; give at most {MAX_PROMPT:,}")
    unknown = vocab.unknown_tokens(prompt)
    if unknown:
        listed = ", ".join(repr(token) for token in unknown[:10]) + (f" and {len(unknown) - 10} more" if len(unknown) > 10 else "")
        print(f"note: the model never saw {listed} in training; read as {vocab.unknown}", file=sys.stderr)
    return prompt


class LanguageTask(Task):
    """A next-token task: the task supplies its corpus (`load_data`, whose result has
    `train_text`, `held_out_text` and `source`) and its vocabulary; the rest is shared."""

    def unit_of(self, config) -> str:
        """What the stream's tokens are, for messages."""
        return "characters"

    def vocabulary(self, config, data) -> Vocabulary:
        return Vocabulary.build(data.train_text)  # held-out characters it lacks read as <unk>

    def starting_model(self, config) -> Loaded | None:
        """A model whose weights and vocabulary training starts from (fine-tuning), or None."""
        return None

    def prepare(self, config, data, resume: bool) -> Stream:
        start = self.starting_model(config)
        # Fine-tuning keeps the starting model's vocabulary, so every id keeps its meaning.
        vocab = self.vocabulary(config, data) if start is None else start.vocab
        stream = Stream(
            corpus=data,
            vocab=vocab,
            train_ids=torch.tensor(vocab.encode(data.train_text)),
            held_out_ids=torch.tensor(vocab.encode(data.held_out_text)),
            start=None if start is None else start.model,
        )
        if stream.held_out_ids.numel() < 2:
            raise SeqlabError(
                f"{data.source}: its held-out part holds {stream.held_out_ids.numel()} {self.unit_of(config)}, too few to measure; give a longer text"
            )
        if resume:
            self.check_resume_vocabulary(config, vocab)
        check_stream_length(config.data.window, config.data.batch_size, config.data.stateful,
                            stream.train_ids.numel(), data.source, self.unit_of(config))
        return stream

    def check_resume_vocabulary(self, config, vocab: Vocabulary) -> None:
        """--resume with other data would silently give the weights other tokens' meanings."""
        last = Path(config.train.out_dir) / "last"
        if not checkpoint_exists(last):
            return
        stored = load_checkpoint(last, expected_kind=self.kind).config.get("vocabulary", {})
        if stored.get("tokens") != vocab.tokens or stored.get("level", "char") != vocab.level:
            raise SeqlabError(
                f"cannot resume {last}: it was trained on other {vocab.level}s than {config.data.data} holds; "
                f"resume with the --data it was trained on, or train afresh into another --out"
            )

    def model_config(self, config, data: Stream) -> LanguageModelConfig:
        return replace(config.model, vocab_size=len(data.vocab))

    def training_bytes(self, config, data: Stream) -> int:
        return self.model_config(config, data).training_bytes(config.data.batch_size, config.data.window)

    def build_model(self, config, data: Stream) -> LanguageModel:
        model = LanguageModel(self.model_config(config, data))
        if data.start is not None:
            start_from(model, data.start, config.data.init_from)
        return model

    def batches(self, config, data: Stream):
        return training_batches(data.train_ids, config.data.batch_size, config.data.window,
                                config.data.stateful, config.train.seed)

    def loss(self, model, batch, state):
        """Mean cross-entropy of one window, from the carried state unless the window starts a
        new pass (then from zeros)."""
        loss, new_state = model.loss(batch.input, batch.target, None if batch.reset else state)
        return loss, new_state, batch.target.numel()

    def checkpoint_config(self, config, data: Stream, model) -> dict:
        return {"model": model.config.to_json(), "vocabulary": data.vocab.to_json()}

    def load_checkpoint(self, path: Path, device: str) -> Loaded:
        return load_language_model(path, self.kind, self.what, device)


def start_from(model: LanguageModel, start: LanguageModel, path: str) -> None:
    """Copy the weights of `start` (a loaded model) into `model`, whose shape must match.

    A plain model may start a copy model (--copy-memory): its attention starts fresh, comparing
    the plain model's states (seqlab.nn.attention)."""
    ours, theirs = model.config, start.config
    shape = ["embedding_size", "hidden_size", "num_layers", "cell", "tie_weights"]
    if theirs.copy_memory:
        shape += ["copy_memory"] if not ours.copy_memory else ["copy_key_size"]
    for name in shape:
        if getattr(ours, name) != getattr(theirs, name):
            raise SeqlabError(
                f"--init-from {path}: its {name.replace('_', '-')} is {getattr(theirs, name)}, this run's "
                f"{getattr(ours, name)}; give the same model options as the checkpoint"
            )
    weights = {name: tensor.float() for name, tensor in start.state_dict().items()}
    missing, _ = model.load_state_dict(weights, strict=False)
    # Only a fresh attention may be missing; any other gap is a shape the checks above missed.
    assert all(name.startswith("copy.") for name in missing), missing
