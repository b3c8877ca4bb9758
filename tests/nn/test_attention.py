"""seqlab.nn.attention.CopyAttention and the language model that copies from its past."""

import math

import pytest
import torch

from seqlab.models import LanguageModel, LanguageModelConfig
from seqlab.nn.attention import EMPTY, CopyAttention
from seqlab.sample import SamplingConfig, sample
from seqlab.data import Vocabulary
from seqlab.tasks._language import start_from


def copy_model(cell="lstm", memory=7, seed=0, **options) -> LanguageModel:
    torch.manual_seed(seed)
    config = LanguageModelConfig(vocab_size=11, embedding_size=8, hidden_size=16, num_layers=2, cell=cell,
                                 copy_memory=memory, copy_key_size=4, **options)
    model = LanguageModel(config)
    # Away from the start-as-the-plain-model initialisation, so the attention matters.
    torch.nn.init.normal_(model.copy.query.weight)
    model.copy.sentinel.bias.data.fill_(0.0)
    return model.eval()


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_one_window_several_windows_and_one_step_at_a_time_agree(cell):
    model = copy_model(cell)
    tokens = torch.randint(0, 11, (3, 20))  # longer than the memory of 7
    with torch.no_grad():
        whole, _ = model(tokens)
        first, state = model(tokens[:, :9])
        second, _ = model(tokens[:, 9:], state)
        stepped, state = [], None
        for t in range(tokens.shape[1]):
            out, state = model.step(tokens[:, t], state)
            stepped.append(out)
    torch.testing.assert_close(torch.cat([first, second], dim=1), whole, atol=1e-5, rtol=0)
    torch.testing.assert_close(torch.stack(stepped, dim=1), whole, atol=1e-5, rtol=0)


def test_outputs_are_log_probabilities_and_causal():
    model = copy_model()
    tokens = torch.randint(0, 11, (2, 16))
    with torch.no_grad():
        log_p, _ = model(tokens)
        changed = tokens.clone()
        changed[:, 10] = (changed[:, 10] + 1) % 11
        other, _ = model(changed)
    torch.testing.assert_close(log_p.logsumexp(-1), torch.zeros(2, 16), atol=1e-5, rtol=0)
    torch.testing.assert_close(other[:, :10], log_p[:, :10])  # the past does not see the future
    assert (other[:, 10:] - log_p[:, 10:]).abs().max() > 1e-3


def test_copies_only_the_tokens_of_its_last_m_pairs():
    """With the sentinel silenced, all probability goes to tokens written among the last M steps."""
    attention = CopyAttention(hidden_size=4, key_size=4, memory=3)
    attention.sentinel.bias.data.fill_(-1e4)
    torch.nn.init.normal_(attention.query.weight)
    tokens = torch.tensor([[1, 2, 3, 4, 5, 6]])
    h, before = torch.randn(1, 6, 4), torch.randn(1, 6, 4)
    with torch.no_grad():
        log_p, (keys, kept) = attention(h, before, tokens, torch.zeros(1, 6, 8))
    p = log_p.exp()[0]  # (T, V)
    for t in range(6):
        reach = set(tokens[0, max(0, t - 2) : t + 1].tolist())  # its own token and the two before
        assert p[t, sorted(reach)].sum() == pytest.approx(1.0, abs=1e-4), t
    assert kept[:, 0].tolist() == [4, 5, 6] and keys.shape == (3, 1, 4)  # (M, B, ...): batch second


def test_an_empty_memory_copies_nothing():
    attention = CopyAttention(hidden_size=4, key_size=4, memory=5)
    keys, tokens = attention.empty_memory(batch=2)
    assert keys.shape == (5, 2, 4) and (tokens == EMPTY).all()


def test_a_fresh_attention_copies_what_the_plain_model_it_starts_from_has_seen():
    """--init-from a plain model: before any training, the attention finds the earlier state
    most like the present one, so a sequence's second time through becomes likelier."""
    torch.manual_seed(0)
    plain = LanguageModel(LanguageModelConfig(vocab_size=11, embedding_size=8, hidden_size=32, num_layers=1)).eval()
    copying = LanguageModel(LanguageModelConfig(vocab_size=11, embedding_size=8, hidden_size=32, num_layers=1,
                                                copy_memory=64)).eval()
    start_from(copying, plain, "plain")
    first = torch.randint(0, 11, (4, 30))
    tokens = torch.cat([first, first], dim=1)
    with torch.no_grad():
        plain_log_p = torch.log_softmax(plain(tokens)[0], dim=-1)
        copy_log_p, _ = copying(tokens)
    second = tokens[:, 31:, None]  # predicted from step 30 on: the repeat under way
    nats = {name: -log_p[:, 30:-1].gather(2, second).mean().item()
            for name, log_p in (("plain", plain_log_p), ("copy", copy_log_p))}
    assert nats["copy"] < 0.5 * nats["plain"], nats


def test_a_copy_model_cannot_start_a_plain_one():
    plain = LanguageModel(LanguageModelConfig(vocab_size=11, embedding_size=8, hidden_size=16, num_layers=1))
    copying = LanguageModel(LanguageModelConfig(vocab_size=11, embedding_size=8, hidden_size=16, num_layers=1,
                                                copy_memory=64))
    with pytest.raises(Exception, match="copy-memory is 64, this run's 0"):
        start_from(plain, copying, "copying")


def test_parameter_count_counts_the_attention():
    config = LanguageModelConfig(vocab_size=11, embedding_size=8, hidden_size=16, num_layers=2, copy_memory=7,
                                 copy_key_size=4)
    assert config.parameter_count() == sum(p.numel() for p in LanguageModel(config).parameters())


def test_the_sampler_runs_streams_of_different_prompts_with_the_memory():
    """Prompts of different lengths are read one by one and joined; finished streams leave."""
    vocab = Vocabulary.build("abcdefghij")
    model = copy_model(memory=5)
    texts = sample(model, vocab, ["ab", "abcdefgh", "c"], 12, SamplingConfig(), streams=3,
                   generator=torch.Generator().manual_seed(0), stop="a").texts
    assert len(texts) == 3 and all(0 < len(text) <= 12 for text in texts)


def test_attention_learns_to_copy_what_a_plain_lstm_of_its_size_cannot():
    """Eight random tokens, a separator, the same eight again: with attention the second half
    becomes nearly certain; the same small LSTM alone stays near chance (log 20 = 3.0 nats)."""
    def batch(generator, size=32):
        first = torch.randint(1, 21, (size, 8), generator=generator)
        return torch.cat([first, torch.zeros(size, 1, dtype=torch.long), first], dim=1)

    losses = {}
    for memory in (0, 16):
        torch.manual_seed(0)
        model = LanguageModel(LanguageModelConfig(vocab_size=21, embedding_size=16, hidden_size=32, num_layers=1,
                                                  copy_memory=memory, copy_key_size=16))
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
        generator = torch.Generator().manual_seed(0)
        for _ in range(150):
            tokens = batch(generator)
            loss, _ = model.loss(tokens[:, :-1], tokens[:, 1:])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        tokens = batch(torch.Generator().manual_seed(1), 256)
        with torch.no_grad():
            log_p = torch.log_softmax(model(tokens[:, :-1])[0], dim=-1)
        second_half = -log_p[:, 8:].gather(2, tokens[:, 9:, None]).mean()
        losses[memory] = float(second_half)
    assert losses[16] < 0.3 and losses[0] > 2.0, losses
    assert math.log(20) > losses[0]  # it learned the token distribution, no more


@pytest.mark.parametrize("kind", ["additive", "multiplicative"])
def test_encoder_decoder_attention_weights_are_a_distribution_over_the_real_words(kind):
    from seqlab.nn.attention import ATTENTIONS

    torch.manual_seed(0)
    attention = ATTENTIONS[kind](query_size=6, key_size=10, hidden_size=8)
    keys = torch.randn(3, 5, 10)
    mask = torch.tensor([[True] * 5, [True] * 3 + [False] * 2, [True] + [False] * 4])
    query = torch.randn(3, 6)
    context, weights = attention(query, keys, attention.prepare(keys), mask)
    torch.testing.assert_close(weights.sum(-1), torch.ones(3))
    assert (weights[~mask] == 0).all()  # padding gets no attention
    torch.testing.assert_close(context, (weights[..., None] * keys).sum(1))
    torch.testing.assert_close(context[2], keys[2, 0])  # one real word: all attention on it
    # Padding's content cannot leak in.
    changed = keys.clone()
    changed[1, 3:] = 100.0
    torch.testing.assert_close(attention(query, changed, attention.prepare(changed), mask)[0], context)
