"""What every language-model task shares: build the model, cut the batches, score held-out
text, load a checkpoint back, export it for shipping.

The music task (ABC tunes) and the text task (Shakespeare, any UTF-8 text) are the same
model, LanguageModel, trained by the same loop; they differ in their corpus, their split
and what they do with the samples. The code they share lives here, once.
"""

from __future__ import annotations

import math
from pathlib import Path

from seqlab.errors import SeqlabError


def build_model(config, vocab_size: int):
    """A LanguageModel from any task config that has the model fields (embedding_size,
    hidden_size, num_layers, cell, dropout, backend; tie_weights if it has one)."""
    from seqlab.models import LanguageModel, LanguageModelConfig

    model_config = LanguageModelConfig(
        vocab_size=vocab_size,
        embedding_size=config.embedding_size,
        hidden_size=config.hidden_size,
        num_layers=config.num_layers,
        cell=config.cell,
        dropout=config.dropout,
        tie_weights=getattr(config, "tie_weights", False),
        backend=config.backend,
    )
    return LanguageModel(model_config)


def random_windows(ids, batch_size: int, length: int, seed: int):
    """The lab's batches: random (input, target) windows, no state carried between them."""
    import torch

    from seqlab.data import Window

    generator = torch.Generator().manual_seed(seed)
    while True:
        starts = torch.randint(0, ids.numel() - length - 1, (batch_size,), generator=generator)
        chunk = torch.stack([ids[s : s + length + 1] for s in starts.tolist()])  # (B, length + 1)
        yield Window(chunk[:, :-1], chunk[:, 1:], reset=True)


def training_batches(ids, batch_size: int, window: int, stateful: bool, seed: int):
    """Stateful tBPTT windows over the batchified stream, or the lab's random windows."""
    from seqlab.data import endless_windows

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


def language_model_loss(model, batch, state):
    """The training loss of one window: mean cross-entropy, with the carried state unless the
    window starts a new pass (then from zeros)."""
    loss, new_state = model.loss(batch.input, batch.target, None if batch.reset else state)
    return loss, new_state, batch.target.numel()


def held_out_nats(model, ids, batch_size: int = 8, window: int = 256) -> float:
    """Cross-entropy in nats per token of a held-out stream, state carried across windows.

    The stream is cut into `batch_size` columns (seqlab.data.batchify), each read from a
    zero state; a few thousand tokens per column make that cold start negligible.
    """
    import torch

    from seqlab.data import batchify, windows

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


def check_resume_vocabulary(out: str | Path, kind: str, vocab, data: str) -> None:
    """--resume with other data would silently give the weights other tokens' meanings."""
    from seqlab.checkpoint import checkpoint_exists, load_checkpoint

    last = Path(out) / "last"
    if not checkpoint_exists(last):
        return
    stored = load_checkpoint(last, expected_kind=kind).config.get("vocabulary", {})
    if stored.get("tokens") != vocab.tokens or stored.get("level", "char") != vocab.level:
        raise SeqlabError(
            f"cannot resume {last}: it was trained on other {vocab.level}s than {data} holds; "
            f"resume with the --data it was trained on, or train afresh into another --out"
        )


def load_language_model(path: Path, kind: str, what: str, device: str = "cpu"):
    """The LanguageModel, Vocabulary and config of the checkpoint at `path`, in eval mode on
    `device` (always with the fused backend: the layers' weights interchange)."""
    from seqlab.checkpoint import CheckpointError, load_checkpoint, load_model_weights
    from seqlab.data import Vocabulary
    from seqlab.models import LanguageModel, LanguageModelConfig
    from seqlab.utils import choose_device

    loaded = load_checkpoint(path, expected_kind=kind)
    try:
        model = LanguageModel(LanguageModelConfig(**{**loaded.config["model"], "backend": "fused"}))
        vocab = Vocabulary.from_json(loaded.config["vocabulary"])
    except (KeyError, TypeError) as error:
        raise CheckpointError(f"checkpoint {loaded.path} is not a complete {what}: its config.json lacks or garbles {error}") from None
    if len(vocab) != model.config.vocab_size:
        raise CheckpointError(
            f"checkpoint {loaded.path} is inconsistent: {len(vocab)} {vocab.level}s in its vocabulary, "
            f"{model.config.vocab_size} in its model"
        )
    load_model_weights(model, loaded)
    model.to(choose_device(device)).eval()
    return model, vocab, loaded.config


def export_model(model, config: dict, checkpoint: str, out: str, kind: str, metric: str, label: str, float32: bool = False) -> str:
    """Write `model` and its `config` to `out` as a using-only checkpoint: float16 weights
    (half the size; sampling converts back to float32) unless `float32`, no optimizer or
    trainer state. `metric` names the stored metric to report, `label` how to print it.
    Returns the line to print."""
    from seqlab.checkpoint import load_checkpoint, save_checkpoint

    if not float32:
        model.half()
    shipped = {key: value for key, value in config.items() if key not in ("format", "version")}
    shipped["exported_from"] = str(checkpoint)
    path = save_checkpoint(out, model, shipped)
    size = sum(f.stat().st_size for f in Path(path).iterdir())
    loaded = load_checkpoint(path, expected_kind=kind)
    return (
        f"wrote {path} ({size / 1e6:.1f} MB, {'float32' if float32 else 'float16'}); "
        f"held-out {label} at export: "
        f"{loaded.config.get('metrics', {}).get(metric, float('nan')):.3f}"
    )


def check_temperature(temperature: float) -> None:
    # inf passes "> 0", but logits / inf is NaN wherever a logit is -inf (a refused
    # token), and sampling then fails deep inside torch.
    if not (temperature > 0 and math.isfinite(temperature)):
        raise SeqlabError(f"--temperature must be a finite number > 0, got {temperature}")
