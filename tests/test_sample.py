"""The sampler and the language model's one-step interface."""

import math

import pytest
import torch

from seqlab.data import Vocabulary
from seqlab.models import LanguageModel, LanguageModelConfig
from seqlab.sample import (
    SamplingConfig,
    SamplingJob,
    StreamBatch,
    beam_search,
    collect,
    distribution,
    sample,
    stream_job,
)


@pytest.fixture
def model_and_vocab():
    torch.manual_seed(0)
    vocab = Vocabulary.build("abcdefgh |")
    model = LanguageModel(LanguageModelConfig(len(vocab), 8, 16, 2, backend="scratch"))
    return model, vocab


def test_step_matches_full_forward(model_and_vocab):
    """Stateful one-step decoding gives the logits of running the whole sequence at once."""
    model, vocab = model_and_vocab
    model.eval()
    tokens = torch.tensor([vocab.encode("abcab|c")])
    full, _ = model(tokens)
    state = None
    for t in range(tokens.shape[1]):
        logits, state = model.step(tokens[:, t], state)
        assert torch.allclose(logits, full[:, t], atol=1e-6)


def test_temperature_and_top_k():
    logits = torch.tensor([[2.0, 1.0, 0.0, -1.0]])
    cold = distribution(logits, SamplingConfig(temperature=0.1))
    hot = distribution(logits, SamplingConfig(temperature=10.0))
    assert cold[0, 0] > 0.99 and hot[0, 0] < 0.35
    top2 = distribution(logits, SamplingConfig(top_k=2))
    assert top2[0, 2:].sum() == 0 and torch.isclose(top2.sum(), torch.tensor(1.0))
    with pytest.raises(ValueError, match="temperature must be a finite number > 0"):
        SamplingConfig(temperature=-1)


def test_sampling_is_seeded_batched_and_greedy_is_deterministic(model_and_vocab):
    model, vocab = model_and_vocab
    run = lambda seed: sample(model, vocab, "ab", 30, streams=4, generator=torch.Generator().manual_seed(seed)).texts
    first, again, other = run(1), run(1), run(2)
    assert first == again and first != other
    assert len(first) == 4 and all(len(t) == 30 for t in first)
    assert len(set(first)) > 1  # the streams are independent draws
    greedy = sample(model, vocab, "ab", 10, SamplingConfig(greedy=True), streams=2).texts
    assert greedy[0] == greedy[1]


class NoVowel:
    """Forbids 'a' and 'e'; records what it was fed."""

    def __init__(self):
        self.fed = []

    def allows(self, token):
        return token not in "ae"

    def feed(self, token):
        self.fed.append(token)


def test_constraints_mask_tokens_and_stop_ends_streams(model_and_vocab):
    model, vocab = model_and_vocab
    constraints = [NoVowel(), NoVowel()]
    result = sample(model, vocab, "b", 200, streams=2, constraints=constraints,
                    generator=torch.Generator().manual_seed(0))
    for text, constraint in zip(result.texts, constraints):
        assert "a" not in text and "e" not in text
        assert "".join(constraint.fed) == text
    assert result.refused > 0  # the untrained model does propose vowels
    stopped = sample(model, vocab, "b", 200, stop="|", generator=torch.Generator().manual_seed(0))
    assert stopped.texts[0].endswith("|") and stopped.texts[0].count("|") == 1


def test_one_prompt_per_stream_matches_separate_runs(model_and_vocab):
    model, vocab = model_and_vocab
    prompts = ["ab", "hgfedc|"]
    together = sample(model, vocab, prompts, 15, SamplingConfig(greedy=True), streams=2).texts
    alone = [sample(model, vocab, p, 15, SamplingConfig(greedy=True)).texts[0] for p in prompts]
    assert together == alone


@pytest.mark.parametrize("backend", ["scratch", "fused"])
def test_model_step_matches_forward_for_both_backends(backend):
    torch.manual_seed(3)
    model = LanguageModel(LanguageModelConfig(12, 6, 10, 3, cell="gru", backend=backend)).eval()
    tokens = torch.randint(0, 12, (2, 9))
    full, final = model(tokens)
    state = None
    for t in range(9):
        logits, state = model.step(tokens[:, t], state)
        assert torch.allclose(logits, full[:, t], atol=1e-5)
    assert torch.allclose(state, final, atol=1e-5)


def test_finished_streams_leave_the_batch(model_and_vocab):
    """A stream that stops does not change what the others write (greedy, so no RNG)."""
    model, vocab = model_and_vocab
    with torch.no_grad():  # large random weights: lively greedy output, unlike a fresh model's
        for p in model.parameters():
            p.normal_(0, 1.5)
    greedy = SamplingConfig(greedy=True)
    prompts = ["ab", "hgfedc", "d|"]
    together = sample(model, vocab, prompts, 40, greedy, streams=3, stop="g").texts
    alone = [sample(model, vocab, p, 40, greedy, stop="g").texts[0] for p in prompts]
    assert together == alone
    lengths = sorted(len(text) for text in together)
    assert lengths[0] < lengths[-1]  # some stopped early while others went on


# --------------------------------------------------------------------------- beam search
class BigramTable(torch.nn.Module):
    """A language model whose probabilities are written by hand: P(next | previous token) is
    row `previous` of a table; the state is the previous token."""

    def __init__(self, probabilities: torch.Tensor) -> None:
        super().__init__()
        self.table = torch.nn.Parameter(probabilities.clamp_min(1e-30).log())  # (V, V) log P

    def forward(self, tokens, state=None):
        return self.table[tokens], tokens[:, -1].float().view(1, -1, 1)  # (B, T, V), (1, B, 1)

    def step(self, tokens, state=None):
        return self.table[tokens], tokens.float().view(1, -1, 1)  # (B, V), (1, B, 1)


def ends_at_space(tokens):
    return tokens[-1] == " "


def test_beam_search_finds_the_likeliest_word_that_greedy_misses():
    """After a space: "a" is likelier than "b" as a first letter (0.6 against 0.4), but the
    words starting with "a" split their 0.6 ("a" 0.3, "aa" 0.15, ...), so the likeliest word
    is "b" (0.4), which greedy decoding never writes."""
    vocab = Vocabulary(["a", "b", " "], unknown="<unk>")  # <unk>, a, b, space
    p = torch.zeros(4, 4)
    p[3, 1], p[3, 2] = 0.6, 0.4  # after a space
    p[1, 1], p[1, 3] = 0.5, 0.5  # after a: go on, or end the word
    p[2, 3] = 1.0  # after b: end the word
    p[0, 3] = 1.0
    model = BigramTable(p)
    greedy = sample(model, vocab, "b ", 2, SamplingConfig(greedy=True)).texts[0]
    assert greedy == "aa"  # greedy starts with the likelier letter
    result = beam_search(model, vocab, "b ", ends_at_space, beam_width=2, max_length=12)
    best_tokens, best_log_prob = result.finished[0]
    assert "".join(best_tokens) == "b " and math.isclose(math.exp(best_log_prob), 0.4, rel_tol=1e-5)
    words = {"".join(t): math.exp(lp) for t, lp in result.finished}
    assert math.isclose(words["a "], 0.3, rel_tol=1e-5) and math.isclose(words["aa "], 0.15, rel_tol=1e-5)


def brute_force(model, vocab, prompt, letters, finishers, max_length):
    """log P(w + f | prompt) of every string of letters w (up to max_length - 1) followed by a
    finisher f, each scored by one full forward pass over prompt + string."""
    import itertools

    scores = {}
    for length in range(max_length):
        for word in itertools.product(letters, repeat=length):
            for end in finishers:
                tokens = list(word) + [end]
                ids = torch.tensor([vocab.encode(prompt + "".join(tokens))])
                with torch.no_grad():
                    log_probs = torch.log_softmax(model(ids)[0][0], dim=-1)  # (T, V)
                start = len(prompt) - 1
                scores["".join(tokens)] = sum(
                    float(log_probs[start + i, ids[0, start + i + 1]]) for i in range(len(tokens))
                )
    return scores


def test_beam_search_as_wide_as_the_tree_is_exact_enumeration():
    """On a trained-looking LSTM (random large weights), a beam wide enough to keep every
    branch sets aside exactly the finished strings and probabilities that brute force gives:
    this holds the beam's bookkeeping (which state row each beam continues) to the truth."""
    torch.manual_seed(0)
    vocab = Vocabulary(["a", "b", " ", "|"], unknown="<unk>")
    model = LanguageModel(LanguageModelConfig(len(vocab), 6, 12, 2)).eval()
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.normal_(0, 1.0)
    unk = vocab.index(vocab.unknown)
    with torch.no_grad():
        model.output.bias[unk] = -1e4  # the beam never proposes <unk>; brute force must not count it
    finished = lambda tokens: tokens[-1] in " |"
    result = beam_search(model, vocab, "ab a", finished, beam_width=2**5, max_length=6)
    expected = brute_force(model, vocab, "ab a", "ab", " |", max_length=6)
    got = {"".join(tokens): log_prob for tokens, log_prob in result.finished}
    assert got.keys() == expected.keys()
    for text, log_prob in expected.items():
        assert math.isclose(got[text], log_prob, abs_tol=1e-4), text
    assert [score for _, score in result.finished] == sorted(got.values(), reverse=True)
    # What is set aside plus what was dropped or still runs is all the probability there is.
    total = sum(math.exp(v) for v in got.values()) + result.unfinished
    assert math.isclose(total, 1.0, abs_tol=1e-5)
    # A narrow beam keeps the likeliest one here too, with the same probability.
    narrow = beam_search(model, vocab, "ab a", finished, beam_width=4, max_length=6)
    assert narrow.finished[0] == result.finished[0]
    assert math.isclose(sum(math.exp(v) for _, v in narrow.finished) + narrow.unfinished, 1.0, abs_tol=1e-5)


@pytest.mark.parametrize("rows", [1, 3, 8])  # up to 4 rows go through Python, more through NumPy
def test_draw_follows_the_weights_and_never_picks_a_zero(rows):
    import numpy as np

    from seqlab.sample import draw

    weights = np.array([[0.0, 0.1, 0.0, 0.6, 0.3, 0.0]] * rows, dtype=np.float32)
    generator = torch.Generator().manual_seed(0)
    counts = np.zeros(weights.shape[1])
    draws = 0
    while draws < 12000:
        for index in draw(weights, generator):
            counts[index] += 1
            draws += 1
    assert counts[[0, 2, 5]].sum() == 0
    # Binomial standard deviation at p = 0.3, n = 12000 is 0.004: 0.015 is ~4 of them.
    assert np.abs(counts / draws - weights[0] / weights[0].sum()).max() < 0.015
    # The same generator state, the same draws.
    assert draw(weights, torch.Generator().manual_seed(5)) == draw(weights, torch.Generator().manual_seed(5))


def test_draw_edge_cases(monkeypatch):
    import numpy as np

    from seqlab import sample as sample_module

    with pytest.raises(ValueError, match="every token has probability 0"):
        sample_module.draw(np.zeros((1, 4)))
    with pytest.raises(ValueError, match="every token has probability 0"):
        sample_module.draw(np.zeros((6, 4)))
    # A uniform number just below 1 times the total can round up to the total. A uniform
    # number of exactly 1 stands for that rounding: the draw must then be the last token of
    # positive weight, not the zero-weight one after it (nor an index past the end).
    one = lambda shape, **kwargs: torch.ones(shape, dtype=torch.float64)  # noqa: E731
    monkeypatch.setattr(sample_module.torch, "rand", one)
    weights = np.array([[0.2, 0.7, 0.1, 0.0]] * 2)
    assert sample_module.draw(weights) == [2, 2]
    assert sample_module.draw(np.array([[0.2, 0.7, 0.1, 0.0]] * 6)) == [2] * 6


def test_top_k_keeps_k_tokens_other_than_unknown():
    """<unk> is never written, and with top_k=2 the two likeliest other tokens share the draws
    even when <unk> itself is among the two likeliest."""
    vocab = Vocabulary.build("ab c")
    assert vocab.unknown is not None

    class Fixed(torch.nn.Module):
        """A model whose next-token logits never change: <unk> first, then 'a', then 'b'."""

        def __init__(self):
            super().__init__()
            self.anchor = torch.nn.Parameter(torch.zeros(1))
            self.logits = torch.full((len(vocab),), -10.0)
            self.logits[vocab.index(vocab.unknown)] = 5.0
            self.logits[vocab.index("a")] = 2.0
            self.logits[vocab.index("b")] = 1.5

        def forward(self, tokens, state=None):
            state = torch.zeros(1, tokens.shape[0], 1)  # (L, B, H): the sampler carries it along
            return self.logits.expand(tokens.shape[0], tokens.shape[1], -1).clone(), state

        def step(self, tokens, state=None):
            return self.logits.expand(tokens.shape[0], -1).clone(), state

    text = sample(Fixed(), vocab, "a", 400, SamplingConfig(top_k=2), generator=torch.Generator().manual_seed(0)).texts[0]
    assert set(text) == {"a", "b"}  # both kept, nothing else, never <unk>


# --------------------------------------------------------------------------- many callers, one batch
def lively_table(vocab) -> BigramTable:
    """A bigram model with random probabilities: lively samples, and each row's logits are a
    lookup, the same whatever else is in the batch (no matrix kernel rounds them)."""
    torch.manual_seed(0)
    return BigramTable(torch.rand(len(vocab), len(vocab)))


def run_alone(model, vocab, seed, prompt, streams, config, constraints=None):
    finished = stream_job(model, vocab, SamplingJob(prompt, 30, config, streams, torch.Generator().manual_seed(seed),
                                                    constraints, stop="|"))
    return collect(finished, streams).texts


class Outcome:
    """What a batch's steps reported: each job's texts by stream, and the jobs that failed."""

    def __init__(self, jobs):
        self.texts = {job: [None] * job.streams for job in jobs}
        self.errors = {}

    def record(self, events):
        for job, event in events:
            if isinstance(event, Exception):
                self.errors[job] = event
            else:
                self.texts[job][event.stream] = event.text


def test_jobs_sharing_a_batch_write_what_they_write_alone():
    """Each job draws from its own generator: in one batch with other jobs, which join at other
    steps, with other settings, prompts and constraints, it writes what it writes alone."""
    vocab = Vocabulary.build("abcdefgh |")
    model = lively_table(vocab)
    specs = [  # seed, prompt(s), streams, config, constraints
        (1, "ab", 3, SamplingConfig(), lambda: [NoVowel() for _ in range(3)]),
        (2, ["h", "gf"], 2, SamplingConfig(temperature=0.5, top_k=3), lambda: None),
        (3, "c", 4, SamplingConfig(temperature=2.0), lambda: None),
    ]
    alone = [run_alone(model, vocab, seed, prompt, n, config, make()) for seed, prompt, n, config, make in specs]
    batch = StreamBatch(model, vocab)
    jobs = [SamplingJob(prompt, 30, config, n, torch.Generator().manual_seed(seed), make(), stop="|")
            for seed, prompt, n, config, make in specs]
    outcome = Outcome(jobs)
    for job in jobs:  # the second joins after one step, the third after two
        batch.add(job)
        outcome.record(batch.step())
    while batch.running:
        outcome.record(batch.step())
    assert [outcome.texts[job] for job in jobs] == alone
    lengths = [len(text) for texts in alone for text in texts]
    assert min(lengths) < 30 == max(lengths)  # streams left the batch while others went on


class FailsAt:
    """A constraint with a bug: it raises when fed its n-th token."""

    def __init__(self, n):
        self.n, self.fed = n, 0

    def allows(self, token):
        return True

    def feed(self, token):
        self.fed += 1
        if self.fed == self.n:
            raise RuntimeError("a bug in a constraint")


def test_a_job_that_fails_or_is_closed_leaves_the_others_alone():
    vocab = Vocabulary.build("abcdefgh |")
    model = lively_table(vocab)
    alone = run_alone(model, vocab, 4, "ab", 2, SamplingConfig())
    batch = StreamBatch(model, vocab)
    failing = SamplingJob("c", 30, streams=2, generator=torch.Generator().manual_seed(5), constraints=[FailsAt(5), FailsAt(99)])
    going_on = SamplingJob("ab", 30, streams=2, generator=torch.Generator().manual_seed(4), stop="|")
    closed = SamplingJob("d", 30, streams=3, generator=torch.Generator().manual_seed(6))
    outcome = Outcome([failing, going_on, closed])
    for job in (failing, going_on, closed):
        batch.add(job)
    for _ in range(3):
        outcome.record(batch.step())
    closed.cancelled = True  # its caller has what it needs
    while batch.running:
        outcome.record(batch.step())
    assert outcome.texts[going_on] == alone
    assert str(outcome.errors[failing]) == "a bug in a constraint" and outcome.texts[failing] == [None, None]
    assert outcome.texts[closed] == [None] * 3 and not outcome.errors.get(closed)
    assert batch.jobs == [] and batch.state is None


class CountingTable(BigramTable):
    def __init__(self, probabilities):
        super().__init__(probabilities)
        self.steps = 0

    def step(self, tokens, state=None):
        self.steps += 1
        return super().step(tokens, state)


def test_streams_come_as_they_end_and_closing_stops_the_rest():
    """Greedy on a table where "a" leads to the stop "|" and "b" to itself: stream 1 ends
    first; the caller that has what it needs closes the iterator, and no more steps run."""
    vocab = Vocabulary.build("ab|")
    p = torch.full((len(vocab), len(vocab)), 0.01)
    p[vocab.index("a"), vocab.index("|")] = 1.0
    p[vocab.index("b"), vocab.index("b")] = 1.0
    model = CountingTable(p)
    streams = stream_job(model, vocab, SamplingJob(["b", "a"], 50, SamplingConfig(greedy=True), streams=2, stop="|"))
    first = next(streams)
    assert (first.stream, first.text) == (1, "|")
    streams.close()
    assert model.steps == 1  # stream 0 would have taken 49 more
    assert sample(model, vocab, ["b", "a"], 50, SamplingConfig(greedy=True), streams=2, stop="|").texts == ["b" * 50, "|"]
