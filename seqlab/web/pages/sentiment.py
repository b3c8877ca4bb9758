"""The sentiment page: a sentence's label and probability, and P(positive) after each word
drawn as an inline SVG curve (the model reading the sentence so far)."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from starlette.requests import Request

from ..inputs import read_json
from ..registry import Api, Page

if TYPE_CHECKING:  # the app imports the pages; only the type hints need it
    from ..app import Runtime

MAX_SENTENCE = 1_000  # characters; the command line takes 5,000


async def explain(request: Request, runtime: Runtime) -> dict:
    fields = await read_json(request, runtime.settings.max_body_bytes)
    sentence = fields.text("sentence", MAX_SENTENCE, required=True)
    fields.done()
    return await runtime.prediction.run(read_sentence, runtime, sentence)


def read_sentence(runtime: Runtime, sentence: str) -> dict:
    from seqlab.tasks import sentiment

    model, vocab, config = runtime.models.get("sentiment", lambda: sentiment.TASK.load(runtime.settings.checkpoints.get("sentiment")))
    label, probability = sentiment.predict(model, vocab, config, sentence)
    words, positive = sentiment.explain(model, vocab, sentence)
    curve = [float(p) for p in positive]
    return {
        "label": label,
        "probability": probability,
        "words": words,
        "positive": curve,
        "unknown": [word for word in dict.fromkeys(words) if word not in vocab][:10],
        "curve_svg": curve_svg(words, curve),
    }


def curve_svg(words: list[str], positive: list[float]) -> str:
    """P(positive) after each word as an SVG line plot: 0.5 dashed, each word under its point."""
    step, left, top, height, bottom = 48, 44, 12, 160, 90  # pixels
    width = left + step * max(1, len(words)) + 12

    def y(p: float) -> float:
        return top + (1 - p) * height

    points = [(left + step * (i + 0.5), y(p)) for i, p in enumerate(positive)]
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="curve" role="img" viewBox="0 0 {width} {top + height + bottom}" '
        f'width="{width}" height="{top + height + bottom}" aria-label="P(positive) after each word">',
        f'<line x1="{left}" y1="{y(0.5)}" x2="{width - 12}" y2="{y(0.5)}" class="middle"/>',
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + height}" class="axis"/>',
    ]
    for p in (0.0, 0.5, 1.0):
        parts.append(f'<text x="{left - 6}" y="{y(p) + 4}" text-anchor="end" class="tick">{p:g}</text>')
    parts.append('<polyline class="line" points="' + " ".join(f"{x:.1f},{py:.1f}" for x, py in points) + '"/>')
    for (x, py), word, p in zip(points, words, positive):
        kind = "positive" if p >= 0.5 else "negative"
        parts.append(f'<circle cx="{x:.1f}" cy="{py:.1f}" r="4" class="{kind}"><title>{html.escape(word)}: {p:.3f}</title></circle>')
        parts.append(f'<text x="{x:.1f}" y="{top + height + 14}" transform="rotate(40 {x:.1f} {top + height + 14})" '
                     f'class="word">{html.escape(word[:20])}</text>')
    parts.append("</svg>")
    return "".join(parts)


PAGE = Page(
    slug="sentiment",
    title="Sentiment",
    summary="A sentence's sentiment, and how it moves word by word.",
    template="sentiment.html",
    apis=(Api("explain", explain),),
    context=lambda runtime: {"max_sentence": MAX_SENTENCE},
)
