"""One sampler for every generative task: start from a prompt, then one token at a time,
sample from the predicted distribution, feed it back and keep the state (lecture section 7).

    temperature < 1 sharpens the distribution (safer, more repetitive), > 1 flattens it;
    top_k keeps only the k most likely tokens; greedy takes the most likely one;
    beam_search keeps the most likely partial continuations instead of sampling one (the
    text task's `predict` uses it to find the likeliest next words of a character model).

Many streams run at once as one batch. A `constraint` per stream (for example the music
task's meter tracker) can forbid tokens: a token it rejects is replaced by a draw from the
distribution restricted to the tokens it allows, which is the same as masking those tokens
out before sampling, but costs a check of every token only when the first draw is refused.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from itertools import accumulate
from typing import Callable, Protocol, Sequence

import numpy as np
import torch
from torch import Tensor
from tqdm.auto import tqdm

from seqlab.data.vocab import Vocabulary, join_words


class Constraint(Protocol):
    def allows(self, token: str) -> bool: ...

    def feed(self, token: str) -> None: ...


@dataclass
class SamplingConfig:
    temperature: float = 1.0
    top_k: int | None = None
    greedy: bool = False

    def __post_init__(self) -> None:
        if not 0 < self.temperature < float("inf"):
            raise ValueError(f"temperature must be a finite number > 0, got {self.temperature}")
        if self.top_k is not None and self.top_k < 1:
            raise ValueError(f"top_k must be at least 1, got {self.top_k}")


def distribution(logits: Tensor, config: SamplingConfig) -> Tensor:
    """logits (B, V) -> probabilities (B, V) after temperature and top-k."""
    logits = logits.float()
    if config.temperature != 1.0:  # one operation fewer per token in the common case
        logits = logits / config.temperature
    if config.top_k is not None and config.top_k < logits.shape[-1]:
        kth = torch.topk(logits, config.top_k, dim=-1).values[:, -1:]  # (B, 1)
        logits = logits.masked_fill(logits < kth, float("-inf"))
    return torch.softmax(logits, dim=-1)


def draw(weights: np.ndarray, generator: torch.Generator | None = None) -> list[int]:
    """One token index per row of `weights` (B, V), drawn in proportion to the row's weights
    (probabilities, or probabilities with some set to 0: they need not sum to 1).

    Inverse transform sampling: a uniform number u in [0, 1) per row from `generator`, and the
    first token whose cumulative weight exceeds u times the row's total. A token of weight 0
    adds nothing to the cumulative sum, so it can never be the first to exceed it. This is
    what torch.multinomial does for one draw, but a token-by-token sampler pays for every
    operation's overhead: on this project's CPU, torch.multinomial took 25 us for one row of
    99 probabilities, NumPy's vectorised version 23 us, and plain Python on the row's list 9 us
    (measured). So a few rows go through Python, many through NumPy.
    """
    rows, size = weights.shape
    uniform = torch.rand(rows, generator=generator, dtype=torch.float64)
    if rows <= 4:
        picked = []
        for row, u in zip(weights.tolist(), uniform.tolist()):
            cumulative = list(accumulate(row))
            if not cumulative[-1] > 0:
                raise ValueError("cannot draw a token: every token has probability 0")
            picked.append(bisect_right(cumulative, u * cumulative[-1]))
    else:
        cumulative = np.cumsum(weights, axis=1, dtype=np.float64)  # (B, V)
        total = cumulative[:, -1]
        if not (total > 0).all():
            raise ValueError("cannot draw a token: every token has probability 0")
        picked = (cumulative <= (uniform.numpy() * total)[:, None]).sum(axis=1).tolist()
    # u * total can round up to total itself (u < 1, but not by much): then no token exceeds
    # it, and the draw is the last token of positive weight.
    return [i if i < size else int(np.flatnonzero(weights[row])[-1]) for row, i in enumerate(picked)]


@dataclass
class SampleResult:
    texts: list[str]  # the generated continuation of each stream (the prompt excluded)
    refused: int  # tokens a constraint refused and that were redrawn
    stuck: int  # steps where a constraint allowed no token at all (its refusal was ignored)


@torch.inference_mode()
def sample(
    model: torch.nn.Module,
    vocab: Vocabulary,
    prompt: str | Sequence[str],
    length: int,
    config: SamplingConfig | None = None,
    streams: int = 1,
    generator: torch.Generator | None = None,
    constraints: Sequence[Constraint] | None = None,
    stop: str | None = None,
    progress: bool = False,
) -> SampleResult:
    """Generate `length` tokens after `prompt` in each of `streams` streams.

    `prompt` is one text for all streams, or one per stream.

    `model.step(tokens (B,), state) -> (logits (B, V), state)` is the one-step interface.
    A stream ends early once its text ends with `stop` (say "\n\n", the end of a tune).
    `progress` shows a progress bar over the steps (for long texts).
    """
    config = config or SamplingConfig()
    if length < 0 or streams < 1:
        raise ValueError(f"length must be >= 0 and streams >= 1, got {length} and {streams}")
    if constraints is not None and len(constraints) != streams:
        raise ValueError(f"expected {streams} constraints (one per stream), got {len(constraints)}")
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()

    if isinstance(prompt, str):
        # Read the prompt in one call, then copy its final state to every stream.
        logits, state = _read_prompt(model, vocab, prompt, device)
        logits = logits.expand(streams, -1)  # (B, V)
        state = _repeat(state, streams)
    else:
        if len(prompt) != streams:
            raise ValueError(f"expected {streams} prompts (one per stream), got {len(prompt)}")
        # Prompts of different lengths: read each alone, then stack the streams' states.
        read = [_read_prompt(model, vocab, p, device) for p in prompt]
        logits = torch.cat([one_logits for one_logits, _ in read])  # (B, V)
        state = _concatenate([one_state for _, one_state in read])

    pieces: list[list[str]] = [[] for _ in range(streams)]
    rows = list(range(streams))  # the stream behind each row of the batch still running
    refused = stuck = 0
    # The unknown token stands for "something not in the vocabulary": never write it.
    unknown = vocab.index(vocab.unknown) if vocab.unknown is not None else None
    for _ in tqdm(range(length), desc="sample", unit="token", disable=not progress):
        if unknown is not None and config.top_k is not None:
            # Out before top-k chooses, so that k other tokens stay in the running.
            logits = logits.index_fill(1, torch.tensor([unknown], device=logits.device), float("-inf"))
        # Token by token, the few numbers of each step are cheaper to handle in NumPy and
        # Python than as torch operations (each costs microseconds): weights shares probs' memory.
        probs = distribution(logits, config).cpu()
        weights = probs.numpy()
        if unknown is not None:
            weights[:, unknown] = 0.0  # its probability, renormalised away by draw()
        picked = weights.argmax(axis=1).tolist() if config.greedy else draw(weights, generator)
        running = []
        for row, b in enumerate(rows):
            token = vocab.tokens[picked[row]]
            if constraints is not None and not constraints[b].allows(token):
                redrawn = _redraw(weights[row], vocab, constraints[b], generator, config.greedy)
                if redrawn is None:
                    stuck += 1
                else:
                    refused += 1
                    picked[row] = redrawn
                    token = vocab.tokens[redrawn]
            if constraints is not None:
                constraints[b].feed(token)
            pieces[b].append(token)
            if not (stop and _join(pieces[b][-len(stop):], vocab).endswith(stop)):
                running.append(row)
        if not running:
            break
        if len(running) < len(rows):
            # Finished streams leave the batch, so the others do not carry them to the end.
            picked = [picked[row] for row in running]
            state = _rows(state, torch.tensor(running, device=device))
            rows = [rows[row] for row in running]
        logits, state = model.step(torch.tensor(picked, device=device), state)
    model.train(was_training)
    return SampleResult([_join(p, vocab) for p in pieces], refused, stuck)


def _read_prompt(model, vocab: Vocabulary, prompt: str, device):
    """Run the model over a prompt: (logits for the next token (1, V), state with batch 1)."""
    ids = vocab.encode(prompt)
    if not ids:
        raise ValueError("the prompt must hold at least one token")
    logits, state = model(torch.tensor([ids], device=device))  # (1, P, V)
    return logits[:, -1], state


# A model's state is a tensor whose batch dimension is the second one (L*D, B, H), or a tuple
# of such states, nested as deep as the model likes (an LSTM's (h, c); a copy model's
# ((h, c), keys, tokens)). The three helpers below pick, join and repeat the rows of any.


def _concatenate(states: list):
    """States of single streams (batch dimension 1) -> one state for all of them."""
    if isinstance(states[0], tuple):
        return tuple(_concatenate(list(parts)) for parts in zip(*states))
    return torch.cat(states, dim=1)


def _redraw(weights: np.ndarray, vocab: Vocabulary, constraint: Constraint, generator, greedy: bool) -> int | None:
    """A token the constraint allows, drawn from one stream's weights (V,) restricted to those."""
    allowed = np.fromiter((constraint.allows(token) for token in vocab.tokens), dtype=bool, count=len(vocab.tokens))
    masked = weights * allowed
    if masked.sum() <= 0:
        return None
    if greedy:
        return int(masked.argmax())
    return draw(masked[None], generator)[0]


def _join(pieces: list[str], vocab: Vocabulary) -> str:
    return "".join(pieces) if vocab.level == "char" else join_words(pieces)


def _rows(state, keep: Tensor):
    """Keep the batch rows `keep` of a state (L*D, B, H)."""
    if isinstance(state, tuple):
        return tuple(_rows(part, keep) for part in state)
    return state.index_select(1, keep)


def _repeat(state, streams: int):
    """A state for one stream (batch dimension 1) -> the same state for `streams` streams."""
    if isinstance(state, tuple):
        return tuple(_repeat(s, streams) for s in state)
    shape = list(state.shape)
    shape[1] = streams
    return state.expand(shape).contiguous()  # (L*D, 1, H) -> (L*D, B, H)


# --------------------------------------------------------------------------- beam search
@dataclass
class BeamResult:
    finished: list[tuple[list[str], float]]  # (tokens after the prompt, log-probability), best first
    unfinished: float  # the probability of everything not set aside: beams dropped or still running


@torch.inference_mode()
def beam_search(
    model: torch.nn.Module,
    vocab: Vocabulary,
    prompt: str,
    finished: Callable[[list[str]], bool],
    beam_width: int = 16,
    max_length: int = 20,
) -> BeamResult:
    """The most likely continuations of `prompt` that `finished` accepts, by beam search.

    At each step every running beam is extended by every token. An extension that
    `finished(tokens)` accepts is set aside with its log-probability (log P(tokens | prompt));
    of the others, the `beam_width` most likely keep running. The search stops after
    `max_length` tokens, or when the running beams hold less than 1e-6 of the probability.
    All finished extensions of the beams kept are set aside, so a beam as wide as the tree is
    an exact enumeration; what was set aside plus `unfinished` is 1.
    """
    if beam_width < 1 or max_length < 1:
        raise ValueError(f"beam_width and max_length must be at least 1, got {beam_width} and {max_length}")
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    logits, state = _read_prompt(model, vocab, prompt, device)  # (1, V), batch of 1
    beams: list[list[str]] = [[]]
    scores = torch.zeros(1)  # (N,) log P(beam | prompt)
    done: list[tuple[list[str], float]] = []
    unfinished = 0.0
    banned = vocab.index(vocab.unknown) if vocab.unknown is not None else None
    for step in range(max_length):
        log_probs = torch.log_softmax(logits.float().cpu(), dim=-1)  # (N, V)
        if banned is not None:
            log_probs[:, banned] = float("-inf")  # never propose "something unknown"
        candidates = scores[:, None] + log_probs  # (N, V) log P(beam + token | prompt)
        running = candidates.clone()  # the same, with the finished extensions taken out
        for n, (beam, row) in enumerate(zip(beams, candidates.tolist())):
            for v, (token, score) in enumerate(zip(vocab.tokens, row)):
                if score != float("-inf") and finished(beam + [token]):
                    done.append((beam + [token], score))
                    running[n, v] = float("-inf")
        running_mass = float(torch.logsumexp(running.flatten(), 0).exp())
        kept = torch.topk(running.flatten(), min(beam_width, running.numel()))
        alive = kept.values > float("-inf")
        kept_mass = float(torch.logsumexp(kept.values, 0).exp())
        if step == max_length - 1 or kept_mass < 1e-6:
            unfinished += running_mass
            break
        unfinished += running_mass - kept_mass  # the beams dropped here
        parents = torch.div(kept.indices[alive], running.shape[1], rounding_mode="floor")  # (N',)
        tokens = kept.indices[alive] % running.shape[1]  # (N',)
        beams = [beams[int(p)] + [vocab.tokens[int(t)]] for p, t in zip(parents, tokens)]
        scores = kept.values[alive]
        logits, state = model.step(tokens.to(device), _rows(state, parents.to(device)))
    model.train(was_training)
    return BeamResult(sorted(done, key=lambda item: -item[1]), unfinished)
