"""The text page: the next word as you type (the k likeliest, with their probabilities) and
text written after a prompt, by the shipped Shakespeare model (or --text-checkpoint DIR)."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING

from starlette.requests import Request

from ..inputs import read_json
from ..registry import Api, Page

if TYPE_CHECKING:  # the app imports the pages; only the type hints need it
    from ..app import Runtime

MAX_PROMPT = 2_000  # characters: a paragraph; the command line takes 10,000
MAX_TOP = 20
MAX_LENGTH = 2_000  # tokens one request writes (about a second on a CPU)
BEAM_WIDTH = 16  # `seqlab text predict`'s default
MAX_SEED = 2**32 - 1
MIN_TEMPERATURE, MAX_TEMPERATURE = 0.1, 3.0


def text_model(runtime: Runtime):
    from seqlab.tasks.text import load_text_model

    return runtime.models.get("text", lambda: load_text_model(runtime.settings.checkpoints.get("text")))


def checked_prompt(vocab, prompt: str) -> tuple[str, list[str]]:
    """The prompt as seqlab reads it, and the tokens in it the model never saw (read as <unk>)."""
    from seqlab.tasks.text import read_prompt

    return read_prompt(vocab, prompt), vocab.unknown_tokens(prompt)[:10]


async def predict(request: Request, runtime: Runtime) -> dict:
    fields = await read_json(request, runtime.settings.max_body_bytes)
    prompt = fields.text("prompt", MAX_PROMPT, required=True)
    top = fields.integer("top", 1, MAX_TOP, default=5)
    fields.done()
    return await runtime.prediction.run(next_words, runtime, prompt, top)


def next_words(runtime: Runtime, prompt: str, top: int) -> dict:
    from seqlab.tasks.text import predict_next_words

    model, vocab, _ = text_model(runtime)
    prompt, unknown = checked_prompt(vocab, prompt)
    words = predict_next_words(model, vocab, prompt, top, BEAM_WIDTH)
    how = "softmax over words" if vocab.level == "word" else f"beam search over characters, width {BEAM_WIDTH}"
    return {"prompt": prompt, "how": how, "unknown": unknown,
            "words": [{"word": word, "probability": probability} for word, probability in words]}


async def generate(request: Request, runtime: Runtime) -> dict:
    fields = await read_json(request, runtime.settings.max_body_bytes)
    prompt = fields.text("prompt", MAX_PROMPT, required=True)
    length = fields.integer("length", 1, MAX_LENGTH, default=300)
    temperature = fields.number("temperature", MIN_TEMPERATURE, MAX_TEMPERATURE, default=0.8)
    top_k = fields.integer("top_k", 1, 1_000_000)
    seed = fields.integer("seed", 0, MAX_SEED, default=secrets.randbelow(MAX_SEED + 1))
    fields.done()
    return await runtime.generation.run(write_text, runtime, prompt, length, temperature, top_k, seed)


def write_text(runtime: Runtime, prompt: str, length: int, temperature: float, top_k: int | None, seed: int) -> dict:
    from seqlab.tasks.text import detokenize, generate_text

    model, vocab, _ = text_model(runtime)
    prompt = prompt.replace("\\n", "\n")  # as `seqlab text generate --prompt` reads it
    prompt, unknown = checked_prompt(vocab, prompt)
    text = generate_text(model, vocab, prompt, length, temperature, top_k, seed)
    # As `seqlab text generate` prints it: a word model's tokens joined back into text.
    whole = detokenize(prompt.strip() + " " + text) if vocab.level == "word" else prompt + text
    return {"prompt": prompt, "text": whole, "seed": seed, "unknown": unknown}


PAGE = Page(
    slug="text",
    title="Text",
    summary="Next-word prediction as you type, and Shakespeare written after your prompt.",
    template="text.html",
    apis=(Api("predict", predict), Api("generate", generate)),
    context=lambda runtime: {"max_prompt": MAX_PROMPT, "max_length": MAX_LENGTH},
)
