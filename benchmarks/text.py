"""The text task against the issue's targets, each beside a peer measured in the same run.

    OMP_NUM_THREADS=1 python benchmarks/text.py                        # the shipped model (~1.5 min)
    python benchmarks/text.py --checkpoint runs/text/best --seed 1

Two tables, in markdown:

1. held-out nats/char and bits/char on the last 10% of the corpus (Tiny Shakespeare for the
   shipped model), beside a 5-gram Witten-Bell character model and a unigram model, both
   fitted on the same training text and scored on the same characters now, and the issue's
   quoted anchors;
2. sampling speed of seqlab's sampler, one stream, against a plain Python loop over
   torch.nn.Embedding + torch.nn.LSTM + torch.nn.Linear holding the same weights.

The n-gram model, the plain loop and the table printer are benchmarks/music.py's, imported,
not copied. Threads: torch's default, or OMP_NUM_THREADS; on a busy 2-core machine use 1.
Exits 2 when there is no character-level checkpoint to measure.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.util
import math
import os
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

import torch

from seqlab.errors import SeqlabError
from seqlab.sample import SamplingConfig, sample
from seqlab.tasks._language import held_out_nats
from seqlab.tasks.text import load_text_data, load_text_model, pretrained_path


def _music_benchmark():
    """benchmarks/music.py as a module (benchmarks/ is not a package)."""
    spec = importlib.util.spec_from_file_location("benchmarks_music", Path(__file__).with_name("music.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


music = _music_benchmark()
PlainLoop, WittenBell, ngram_bits_per_char, table, met, machine = (
    music.PlainLoop, music.WittenBell, music.ngram_bits_per_char, music.table, music.met, music.machine,
)

# The anchors, quoted (not measured here): nanoGPT's shakespeare_char on the same split.
QUOTED_SMALL_GPT_CPU = 1.88  # a small GPT trained a few minutes on a CPU, nats/char
QUOTED_GPT_GPU = 1.47  # a 6-layer GPT trained on a GPU, nats/char
TARGET_NATS = 1.55
TARGET_CHARS_PER_S = 1000
COLUMNS = 32  # the held-out stream is read in 32 columns, as `seqlab text train` evaluates


def unigram_bits_per_char(train: str, held_out: str, vocabulary_size: int) -> float:
    """Each character by its training frequency alone (add-one smoothed): the floor any
    model with context must beat."""
    counts = Counter(train)
    total = len(train) + vocabulary_size
    return -sum(math.log2((counts[c] + 1) / total) for c in held_out) / len(held_out)


# --------------------------------------------------------------------------- 1. nats/char
def loss_section(model, vocab, data, recorded: dict) -> float:
    started = time.perf_counter()
    held_out_ids = torch.tensor(vocab.encode(data.held_out_text))
    nats = held_out_nats(model, held_out_ids, batch_size=COLUMNS)
    model_seconds = time.perf_counter() - started

    def as_model_sees(text: str) -> str:
        """Characters the vocabulary lacks read as one unknown symbol, as for the model."""
        return "".join(c if c in vocab else "\x00" for c in text)

    started = time.perf_counter()
    train, held_out = as_model_sees(data.train_text), as_model_sees(data.held_out_text)
    ngram = WittenBell(5, len(vocab)).fit(train)
    ngram_bits = ngram_bits_per_char(ngram, held_out, columns=COLUMNS)
    ngram_seconds = time.perf_counter() - started
    unigram_bits = unigram_bits_per_char(train, held_out, len(vocab))
    bits = nats / math.log(2)
    ln2 = math.log(2)
    table(
        f"1. Held-out loss ({data.source}, last 10%: {held_out_ids.numel():,} characters; lower is better)",
        [
            ("held-out nats/char", f"{nats:.3f}", f"{ngram_bits * ln2:.3f} (5-gram Witten-Bell, measured now)",
             f"<= {TARGET_NATS}", met(nats <= TARGET_NATS)),
            ("held-out bits/char", f"{bits:.3f}", f"{ngram_bits:.3f} (5-gram Witten-Bell, measured now)",
             f"<= {TARGET_NATS / ln2:.3f}", met(bits <= TARGET_NATS / ln2)),
            ("ratio to the 5-gram", f"{bits / ngram_bits:.2f}", "1.00", "", ""),
            ("beside a unigram model, bits/char", f"{bits:.3f}", f"{unigram_bits:.3f} (measured now)", "", ""),
            ("beside a small GPT, a few CPU minutes", f"{nats:.3f}", f"{QUOTED_SMALL_GPT_CPU} nats (quoted)", "", ""),
            ("beside a 6-layer GPT on a GPU", f"{nats:.3f}", f"{QUOTED_GPT_GPU} nats (quoted)", "", ""),
        ],
        f"model {model_seconds:.1f} s (recorded in its checkpoint: {recorded}); 5-gram fitted on the "
        f"{len(data.train_text):,} training characters and scored in {ngram_seconds:.1f} s.",
    )
    return nats


# --------------------------------------------------------------------------- 2. speed
def speed_section(model, vocab, seed: int, length: int, repeats: int = 3) -> None:
    peer = PlainLoop(model)
    prompt = "ROMEO:\n"
    ids = vocab.encode(prompt)
    unknown = vocab.index(vocab.unknown) if vocab.unknown is not None else None
    with torch.inference_mode():
        difference = (model(torch.tensor([ids]))[0] - peer(torch.tensor([ids]))[0]).abs().max().item()
    generator = torch.Generator().manual_seed(seed)
    config = SamplingConfig(temperature=1.0)
    runs = {
        "seqlab": lambda n: sample(model, vocab, prompt, n, config, generator=generator),
        "peer": lambda n: peer.sample(ids, n, 1, unknown, generator),
    }
    for run in runs.values():
        run(20)  # warm up
    speeds = {name: [] for name in runs}
    for _ in range(repeats):  # interleaved, so a neighbour's load falls on both alike
        for name, run in runs.items():
            started = time.perf_counter()
            run(length)
            speeds[name].append(length / (time.perf_counter() - started))
    median = {name: statistics.median(values) for name, values in speeds.items()}
    ratio = median["seqlab"] / median["peer"]
    c = model.config
    table(
        f"2. Generation speed, one stream, {length:,} characters (higher is better): {c.cell.upper()} "
        f"{c.num_layers}x{c.hidden_size}, embedding {c.embedding_size}, vocabulary {c.vocab_size}",
        [("characters/s", f"{median['seqlab']:,.0f} ({ratio:.2f}x)", f"{median['peer']:,.0f} (plain torch.nn loop, 1.00x)",
          f">= {TARGET_CHARS_PER_S:,}", met(median["seqlab"] >= TARGET_CHARS_PER_S))],
        f"median of {repeats}, interleaved, after a warm-up; `seqlab` is `seqlab text generate`'s sampler "
        f"(seqlab.sample over the model's one-step path). Logits of both agree to {difference:.1e}.",
    )


# --------------------------------------------------------------------------- main
def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", default=None,
                        help="a character-level checkpoint (default: the model shipped in seqlab/text/pretrained)")
    parser.add_argument("--length", type=int, default=2000, help="characters per speed run (default 2000)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    path = args.checkpoint if args.checkpoint is not None else str(pretrained_path())
    try:
        model, vocab, config = load_text_model(args.checkpoint, level="char")
        data = load_text_data(config.get("data", {}).get("source", "tinyshakespeare"))
    except SeqlabError as error:
        print(f"benchmarks/text.py: no character model to measure at {path}: {error}", file=sys.stderr)
        print("give one with --checkpoint DIR (for example runs/text/best after `seqlab text train`)", file=sys.stderr)
        return 2
    torch.manual_seed(args.seed)
    allocator = music.keep_freed_memory()  # before anything is measured: see its docstring
    print(f"# seqlab text benchmark: {machine()}, torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"python {sys.version.split()[0]}, {datetime.datetime.now().isoformat(timespec='seconds')}, "
          f"load average {os.getloadavg()[0]:.1f} at the start (other work on the CPUs slows every row); {allocator}")
    size = sum(f.stat().st_size for f in Path(path).iterdir() if f.is_file())
    print(f"# checkpoint {path} ({size / 1e6:.1f} MB, step {config.get('step')}); corpus {data.source}; "
          f"{sum(p.numel() for p in model.parameters()):,} parameters")
    started = time.perf_counter()
    loss_section(model, vocab, data, config.get("metrics", {}))
    speed_section(model, vocab, args.seed, args.length)
    print(f"\n# total {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
