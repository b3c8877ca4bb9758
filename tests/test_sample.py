"""The sampler and the language model's one-step interface."""

import pytest
import torch

from seqlab.data import Vocabulary
from seqlab.models import LanguageModel, LanguageModelConfig
from seqlab.sample import SamplingConfig, distribution, sample


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
