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

`sample` is one caller's streams, run to the end; `stream_job` gives each stream of a
`SamplingJob` as it ends, and stops the rest when the caller has enough. Both are a
`StreamBatch` with one `SamplingJob`; a server puts many callers' jobs in one batch (seqlab.web.batching), each
job drawing from its own generator.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from itertools import accumulate
from typing import Callable, Generator, Iterable, Protocol, Sequence

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


@dataclass(frozen=True)
class Finished:
    """One stream that has ended: its place among its caller's streams, its text (the prompt
    excluded), and the tokens its constraint refused or could not replace."""

    stream: int
    text: str
    refused: int = 0
    stuck: int = 0


class SamplingJob:
    """One caller's streams: their prompt(s), settings, generator and constraints, and what
    each has written. A StreamBatch steps the streams of one job or of many together; a job's
    draws come from its own generator only, so what it writes does not depend on the other
    jobs in the batch (up to the rounding of the model's arithmetic, see StreamBatch)."""

    def __init__(
        self,
        prompt: str | Sequence[str],
        length: int,
        config: SamplingConfig | None = None,
        streams: int = 1,
        generator: torch.Generator | None = None,
        constraints: Sequence[Constraint] | None = None,
        stop: str | None = None,
    ) -> None:
        if length < 0 or streams < 1:
            raise ValueError(f"length must be >= 0 and streams >= 1, got {length} and {streams}")
        if constraints is not None and len(constraints) != streams:
            raise ValueError(f"expected {streams} constraints (one per stream), got {len(constraints)}")
        if not isinstance(prompt, str) and len(prompt) != streams:
            raise ValueError(f"expected {streams} prompts (one per stream), got {len(prompt)}")
        self.prompt = prompt
        self.length = length
        self.config = config or SamplingConfig()
        self.streams = streams
        self.generator = generator
        self.constraints = constraints
        self.stop = stop
        self.pieces: list[list[str]] = [[] for _ in range(streams)]
        self.refused = [0] * streams
        self.stuck = [0] * streams
        # Its streams still running, in order: they are its rows of the batch, one after another.
        self.running: list[int] = list(range(streams))
        self.cancelled = False  # set by its caller (from any thread): the batch drops it before the next step

    def advance(self, logits: Tensor, vocab: Vocabulary, unknown: int | None) -> tuple[list[int], list[Finished]]:
        """Draw the next token of each running stream from its row of `logits` (R, V): the
        tokens drawn (one per row, in order) and the streams that ended with them (they
        leave `running`)."""
        config = self.config
        if unknown is not None and config.top_k is not None:
            # Out before top-k chooses, so that k other tokens stay in the running.
            logits = logits.index_fill(1, torch.tensor([unknown], device=logits.device), float("-inf"))
        # Token by token, the few numbers of each step are cheaper to handle in NumPy and
        # Python than as torch operations (each costs microseconds): weights shares probs' memory.
        probs = distribution(logits, config).cpu()
        weights = probs.numpy()
        if unknown is not None:
            weights[:, unknown] = 0.0  # its probability, renormalised away by draw()
        picked = weights.argmax(axis=1).tolist() if config.greedy else draw(weights, self.generator)
        ended, running = [], []
        for row, b in enumerate(self.running):
            token = vocab.tokens[picked[row]]
            constraint = self.constraints[b] if self.constraints is not None else None
            if constraint is not None and not constraint.allows(token):
                redrawn = _redraw(weights[row], vocab, constraint, self.generator, config.greedy)
                if redrawn is None:
                    self.stuck[b] += 1
                else:
                    self.refused[b] += 1
                    picked[row] = redrawn
                    token = vocab.tokens[redrawn]
            if constraint is not None:
                constraint.feed(token)
            pieces = self.pieces[b]
            pieces.append(token)
            if len(pieces) >= self.length or (self.stop and _join(pieces[-len(self.stop):], vocab).endswith(self.stop)):
                ended.append(self.finish(b, vocab))
            else:
                running.append(b)
        self.running = running
        return picked, ended

    def finish(self, stream: int, vocab: Vocabulary) -> Finished:
        return Finished(stream, _join(self.pieces[stream], vocab), self.refused[stream], self.stuck[stream])


class StreamBatch:
    """The running streams of one model, of one job or of many, stepped together: one call of
    `model.step` a token for all of them. Rows are grouped by job, jobs in the order they
    joined, each job's rows in stream order; a stream that ends leaves the batch, so the
    others do not carry it to the end, and a job can join between any two steps.

    Each row's arithmetic is its own, but a matrix kernel can round differently for another
    number of rows (this project's CPU: identical for 4 rows or more, 1e-6 apart in a logit for
    1 to 3), so a job's tokens can, very rarely, differ between batches of different sizes.
    """

    def __init__(self, model: torch.nn.Module, vocab: Vocabulary) -> None:
        self.model = model
        self.vocab = vocab
        self.device = next(model.parameters()).device
        # The unknown token stands for "something not in the vocabulary": never write it.
        self.unknown = vocab.index(vocab.unknown) if vocab.unknown is not None else None
        self.jobs: list[SamplingJob] = []
        self.logits: Tensor | None = None  # (B, V): each row's prediction of its next token
        self.state = None  # the model's state, batch B
        self._ended: list[tuple[SamplingJob, Finished]] = []  # streams of length 0, ended on joining

    @property
    def running(self) -> bool:
        """Whether a step would do anything: rows to draw for, or ended streams to report."""
        return bool(self.jobs or self._ended)

    @torch.inference_mode()
    def add(self, job: SamplingJob) -> None:
        """Read the job's prompt(s) and add its streams to the batch (the prompt's errors,
        such as an empty prompt, are raised here, before the job joins)."""
        if isinstance(job.prompt, str):
            # Read the prompt in one call, then copy its final state to every stream.
            logits, state = _read_prompt(self.model, self.vocab, job.prompt, self.device)
            logits = logits.expand(job.streams, -1)  # (S, V)
            state = _repeat(state, job.streams)
        else:
            # Prompts of different lengths: read each alone, then stack the streams' states.
            read = [_read_prompt(self.model, self.vocab, p, self.device) for p in job.prompt]
            logits = torch.cat([one_logits for one_logits, _ in read])  # (S, V)
            state = _concatenate([one_state for _, one_state in read])
        if job.length == 0:  # nothing to write: every stream ends at once, empty
            self._ended.extend((job, job.finish(b, self.vocab)) for b in job.running)
            job.running = []
            return
        self.jobs.append(job)
        if self.logits is None:
            self.logits, self.state = logits, state
        else:
            self.logits = torch.cat([self.logits, logits])  # (B + S, V)
            self.state = _concatenate([self.state, state])

    @torch.inference_mode()
    def step(self) -> list[tuple[SamplingJob, Finished | Exception]]:
        """Draw one token for every running stream and feed them to the model. Returns the
        streams that ended, and the jobs that failed with the error that stopped them (an
        error of one job, say its constraint's, stops that job alone)."""
        events: list[tuple[SamplingJob, Finished | Exception]] = self._ended
        self._ended = []
        if any(job.cancelled for job in self.jobs):
            self._keep([job for job in self.jobs if not job.cancelled])
        kept_rows, tokens, first = [], [], 0
        for job in list(self.jobs):
            streams = job.running  # the job's rows of the batch, in order
            try:
                picked, ended = job.advance(self.logits[first : first + len(streams)], self.vocab, self.unknown)
            except Exception as error:  # noqa: BLE001 - its caller gets the error; the other jobs go on
                events.append((job, error))
                picked, ended = [], []
                job.running = []
            events.extend((job, finished) for finished in ended)
            going_on = set(job.running)
            for row, (stream, token) in enumerate(zip(streams, picked)):
                if stream in going_on:
                    kept_rows.append(first + row)
                    tokens.append(token)
            if not job.running:
                self.jobs.remove(job)
            first += len(streams)
        if not kept_rows:
            self.logits = self.state = None
            return events
        if len(kept_rows) < first:
            self.state = _rows(self.state, torch.tensor(kept_rows, device=self.device))
        self.logits, self.state = self.model.step(torch.tensor(tokens, device=self.device), self.state)
        return events

    def _keep(self, jobs: list[SamplingJob]) -> None:
        """Drop every job but `jobs` (in the batch's order) and their rows."""
        rows, first = [], 0
        kept = set(jobs)
        for job in self.jobs:
            if job in kept:
                rows.extend(range(first, first + len(job.running)))
            first += len(job.running)
        self.jobs = jobs
        if not rows:
            self.logits = self.state = None
            return
        index = torch.tensor(rows, device=self.device)
        self.logits = self.logits.index_select(0, index)
        self.state = _rows(self.state, index)


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
    job = SamplingJob(prompt, length, config, streams, generator, constraints, stop)
    return collect(stream_job(model, vocab, job, progress), streams)


def stream_job(model: torch.nn.Module, vocab: Vocabulary, job: SamplingJob,
               progress: bool = False) -> Generator[Finished, None, None]:
    """`sample` of one job, each stream given as it ends (the streams that end at one step in
    stream order). Closing the iterator early stops the streams still running: a caller that
    has what it needs from the first ones (say, enough valid tunes) need not wait for the rest."""
    batch = StreamBatch(model, vocab)
    was_training = model.training
    model.eval()
    try:
        batch.add(job)
        with tqdm(total=job.length, desc="sample", unit="token", disable=not progress) as bar:
            while batch.running:
                for _, event in batch.step():
                    if isinstance(event, Exception):
                        raise event
                    yield event
                bar.update(1)
    finally:
        model.train(was_training)


# Where a caller's streams are sampled: `partial(stream_job, model, vocab)` samples them here
# and now; a server passes one that samples them in a batch shared with other requests
# (seqlab.web.batching). Either gives each stream as it ends, and closing the generator stops
# the others.
StreamSampler = Callable[[SamplingJob], Generator[Finished, None, None]]


def collect(finished: Iterable[Finished], streams: int) -> SampleResult:
    """Every stream's text, in stream order, once all have ended."""
    texts = [""] * streams
    refused = stuck = 0
    for one in finished:
        texts[one.stream] = one.text
        refused += one.refused
        stuck += one.stuck
    return SampleResult(texts, refused, stuck)


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
