"""`seqlab text train | generate | predict | evaluate | export`, end to end through seqlab.cli.main.

One tiny character model and one tiny word model are trained once for the module (a few
seconds) on the first 30,000 characters of the shipped Tiny Shakespeare, copied to a
temporary file as a user's text would be.
"""

import itertools
import json
import math
import re
from pathlib import Path

import pytest
import torch

from tests.helpers import run
from seqlab.data import Vocabulary
from seqlab.tasks import text as text_task

CHARACTERS = 30_000


def assert_one_line_error(code: int, stderr: str, expected: str = "") -> None:
    assert code == 2
    assert "Traceback" not in stderr
    lines = stderr.strip("\n").split("\n")
    assert len(lines) == 1, stderr
    assert lines[0].startswith("seqlab: error: "), stderr
    assert expected in lines[0], stderr


def read_config(checkpoint: Path) -> dict:
    return json.loads((checkpoint / "config.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def corpus_file(tmp_path_factory) -> Path:
    text = text_task.shipped_corpus_path().read_text(encoding="utf-8")[:CHARACTERS]
    path = tmp_path_factory.mktemp("data") / "shakespeare.txt"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def char_run(tmp_path_factory, corpus_file):
    """A tiny character model: (run directory, what train printed)."""
    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("char")
    code, stdout, stderr = run([
        "text", "train", "--preset", "tiny", "--data", str(corpus_file), "--out", str(out), "--no-progress",
        "--hidden-size", "64", "--embedding-size", "16", "--steps", "240", "--eval-every", "40", "--lr", "1e-2",
    ])
    assert code == 0, stderr
    return out, stdout


@pytest.fixture(scope="module")
def word_run(tmp_path_factory, corpus_file):
    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("word")
    code, stdout, stderr = run([
        "text", "train", "--preset", "tiny", "--level", "word", "--data", str(corpus_file), "--out", str(out),
        "--no-progress", "--steps", "40", "--eval-every", "20", "--max-vocab", "500", "--min-count", "2",
        "--embedding-size", "32", "--hidden-size", "32", "--tie-weights", "true",
    ])
    assert code == 0, stderr
    return out, stdout


# ------------------------------------------------------------------------------- data
def test_held_out_split_is_the_last_ten_percent(corpus_file):
    data = text_task.load_text_data(str(corpus_file))
    text = corpus_file.read_text(encoding="utf-8")
    assert data.train_text + data.held_out_text == text
    assert len(data.held_out_text) == round(0.1 * len(text))
    shipped = text_task.load_text_data("tinyshakespeare")
    assert len(shipped.train_text) + len(shipped.held_out_text) == 1_115_394
    assert shipped.held_out_text.endswith("Whiles thou art waking.\n")  # the corpus's last line


# ------------------------------------------------------------------------------- train
def test_train_lowers_held_out_loss_and_stores_what_decoding_needs(char_run):
    out, stdout = char_run
    assert "27,000 training characters and 3,000 held out (the last 10%)" in stdout
    best, last = read_config(out / "best"), read_config(out / "last")
    assert best["kind"] == "text-lm" and last["step"] == 240
    vocab = Vocabulary.from_json(best["vocabulary"])
    assert vocab.level == "char" and vocab.unknown == "<unk>" and "z" in vocab
    # A uniform guess over the vocabulary scores ln(V) nats/char; the model learned well below it.
    assert best["metrics"]["val_loss"] < math.log(len(vocab)) - 1.0
    assert math.isclose(best["metrics"]["val_bits_per_char"], best["metrics"]["val_loss"] / math.log(2))
    assert "held-out" in stdout and "bits/char" in stdout


def test_evaluate_reproduces_the_stored_metric(char_run):
    """Loading the checkpoint back (weights and vocabulary) gives the number training measured."""
    out, _ = char_run
    code, stdout, stderr = run(["text", "evaluate", "--checkpoint", str(out / "best"), "--json"])
    assert code == 0, stderr
    results = json.loads(stdout)
    stored = read_config(out / "best")["metrics"]
    assert math.isclose(results["nats_per_token"], stored["val_loss"], abs_tol=1e-4)
    assert math.isclose(results["bits_per_char"], stored["val_bits_per_char"], abs_tol=1e-4)
    assert results["held_out_tokens"] == 3_000


def test_evaluate_other_text_reads_unknown_characters_as_unk(char_run, tmp_path):
    out, _ = char_run
    other = tmp_path / "other.txt"
    other.write_text("Ωmega " * 200, encoding="utf-8")  # Ω is in no Shakespeare
    results = text_task.evaluate_text(str(out / "best"), str(other))
    assert 0 < results["held_out_unknown"] < 1


def test_word_level_reports_perplexity_and_caps_its_vocabulary(word_run):
    out, stdout = word_run
    config = read_config(out / "best")
    vocab = Vocabulary.from_json(config["vocabulary"])
    assert vocab.level == "word" and len(vocab) <= 500
    assert config["model"]["tie_weights"] is True
    assert "% of them <unk>" in stdout and "perplexity" in stdout
    assert math.isclose(config["metrics"]["val_perplexity"], math.exp(config["metrics"]["val_loss"]), rel_tol=1e-9)
    model, _, _ = text_task.load_text_model(str(out / "best"))
    assert model.output.weight is model.embedding.weight  # tied, after loading too


def test_resume_refuses_another_level(char_run, corpus_file):
    out, _ = char_run
    code, _, stderr = run([
        "text", "train", "--preset", "tiny", "--level", "word", "--data", str(corpus_file), "--out", str(out),
        "--resume", "--no-progress",
    ])
    assert_one_line_error(code, stderr, "cannot resume")


# ------------------------------------------------------------------------------- generate
def test_generate_is_seeded_and_writes_the_length_asked(char_run):
    out, _ = char_run
    argv = ["text", "generate", "--checkpoint", str(out / "best"), "--prompt", "ROMEO:", "--length", "120"]
    first, again, other = run(argv + ["--seed", "3"]), run(argv + ["--seed", "3"]), run(argv + ["--seed", "4"])
    assert first[0] == 0 and first == again and first[1] != other[1]
    text = first[1][:-1]  # print's newline
    assert text.startswith("ROMEO:") and len(text) == len("ROMEO:") + 120
    assert "<unk>" not in text


def test_prompt_with_unknown_characters_is_read_as_unk_with_a_note(char_run):
    out, _ = char_run
    code, stdout, stderr = run(["text", "generate", "--checkpoint", str(out / "best"), "--prompt", "Ωmega ✓",
                                "--length", "10", "--seed", "0"])
    assert code == 0
    assert stderr.strip().count("\n") == 0 and "'Ω', '✓'" in stderr and "<unk>" in stderr
    assert stdout.startswith("Ωmega ✓")


def test_word_generation_writes_words(word_run):
    out, _ = word_run
    code, stdout, stderr = run(["text", "generate", "--checkpoint", str(out / "best"), "--prompt", "The king",
                                "--length", "12", "--seed", "1"])
    assert code == 0, stderr
    # The prompt, then words (a punctuation mark may follow it directly), never <unk>.
    assert re.match(r"The king[ ,.;:!?'\n]", stdout) and "<unk>" not in stdout
    assert len(stdout.split()) >= 6


# ------------------------------------------------------------------------------- predict
def test_word_level_predict_is_the_softmax(word_run):
    out, _ = word_run
    model, vocab, _ = text_task.load_text_model(str(out / "best"))
    prompt = "I will tell you"
    words = text_task.predict_next_words(model, vocab, prompt, top=5)
    with torch.no_grad():
        logits, _ = model(torch.tensor([vocab.encode(prompt)]))
    last = logits[0, -1].clone()
    last[vocab.index("<unk>")] = last[vocab.index("<eos>")] = float("-inf")  # not words to suggest
    probs = torch.softmax(last, dim=-1)
    top = torch.topk(probs, 5)
    assert [w for w, _ in words] == [vocab.tokens[i] for i in top.indices]
    for (_, p), q in zip(words, top.values):
        assert math.isclose(p, float(q), rel_tol=1e-5)
    code, stdout, _ = run(["text", "predict", prompt, "--checkpoint", str(out / "best"), "--top", "3"])
    assert code == 0 and "softmax over words" in stdout
    assert stdout.split("\n")[1].split()[0] == words[0][0]


class Bigram(torch.nn.Module):
    """P(next character | previous character) from a hand-written table; the state is the
    previous character."""

    def __init__(self, probabilities):
        super().__init__()
        self.table = torch.nn.Parameter(probabilities.clamp_min(1e-30).log())

    def forward(self, tokens, state=None):
        return self.table[tokens], tokens[:, -1].float().view(1, -1, 1)

    def step(self, tokens, state=None):
        return self.table[tokens], tokens.float().view(1, -1, 1)


def test_character_predict_sums_the_beams_of_each_word_as_brute_force_does():
    """On a model with known probabilities, the words predict reports, and their
    probabilities, are those of enumerating every string up to the next boundary; a word
    ended by a space and by a comma counts both."""
    vocab = Vocabulary(["a", "b", " ", ",", "\n"], unknown="<unk>")
    torch.manual_seed(1)
    p = torch.rand(len(vocab), len(vocab)) ** 3
    p[:, 0] = 0  # never <unk>
    p = p / p.sum(dim=1, keepdim=True)
    model = Bigram(p)
    got = dict(text_task.predict_next_words(model, vocab, "ab", top=1000, beam_width=2**7, max_length=8))

    def prob(previous: str, string: str) -> float:
        total = 1.0
        for character in string:
            total *= float(p[vocab.index(previous), vocab.index(character)])
            previous = character
        return total

    expected: dict[str, float] = {}
    for length in range(1, 8):  # the word's letters, then one boundary: at most 8 characters
        for letters in itertools.product("ab", repeat=length):
            word = "".join(letters)
            expected[word] = sum(prob(" ", word + end) for end in " ,\n")  # after "ab" + added space
    expected[","] = prob(" ", ",")  # punctuation first: a word of its own
    assert got.keys() == expected.keys()
    for word, probability in expected.items():
        assert math.isclose(got[word], probability, rel_tol=1e-4, abs_tol=1e-9), word


def test_word_finished_follows_the_word_tokenizer():
    finished = text_task.word_finished
    assert not finished(list("cat")) and finished(list("cat ")) and finished(list("cat,"))
    assert not finished(list("know'")) and not finished(list("know't")) and finished(list("know't "))
    assert finished([","]) and finished(["\n"])


def test_predict_through_the_command_line(char_run):
    out, _ = char_run
    code, stdout, stderr = run(["text", "predict", "This morning I took my cat for a", "--checkpoint",
                                str(out / "best"), "--top", "4"])
    assert code == 0, stderr
    lines = stdout.strip().split("\n")
    assert "beam search over characters" in lines[0] and len(lines) == 5
    probabilities = [float(line.split()[-1].rstrip("%")) for line in lines[1:]]
    assert probabilities == sorted(probabilities, reverse=True) and 0 < sum(probabilities) <= 100


# ------------------------------------------------------------------------------- export and the shipped model
def test_export_writes_a_half_precision_copy(char_run, tmp_path):
    out, _ = char_run
    code, stdout, stderr = run(["text", "export", "--checkpoint", str(out / "best"), "--out", str(tmp_path / "x")])
    assert code == 0, stderr
    assert "float16" in stdout and "bits/char" in stdout
    exported, vocab, config = text_task.load_text_model(str(tmp_path / "x"))
    original, _, _ = text_task.load_text_model(str(out / "best"))
    tokens = torch.tensor([vocab.encode("ROMEO: what")])
    assert torch.allclose(original(tokens)[0], exported(tokens)[0], atol=2e-2)
    assert config["exported_from"] == str(out / "best")
    assert not (tmp_path / "x" / "optimizer.safetensors").exists()


def test_shipped_model_loads_generates_and_met_its_target():
    path = text_task.pretrained_path()
    assert (path / "model.safetensors").stat().st_size <= 8_000_000
    model, vocab, config = text_task.load_text_model()
    assert vocab.level == "char" and config["data"]["source"] == "tinyshakespeare"
    assert config["metrics"]["val_loss"] <= 1.55  # the target, nats/char on the last 10%
    code, stdout, stderr = run(["text", "generate", "--prompt", "ROMEO:", "--length", "200", "--seed", "0"])
    assert code == 0, stderr
    assert len(stdout) == len("ROMEO:") + 200 + 1
    # Trained Shakespeare: mostly letters, spaces and newlines, and real words among them.
    words = stdout.split()
    assert sum(w.strip(",.:;!?").lower() in {"the", "and", "i", "to", "of", "a", "my", "you", "that", "is"} for w in words) >= 3


# ------------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    "content, expected",
    [(b"", "is empty"), (b"  \n\n ", "is empty"), (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
     (b"caf\xe9 au lait", "not UTF-8")],
)
def test_bad_corpus_is_one_line(tmp_path, content, expected):
    path = tmp_path / "corpus.txt"
    path.write_bytes(content)
    code, _, stderr = run(["text", "train", "--data", str(path), "--out", str(tmp_path / "run"), "--preset", "tiny"])
    assert_one_line_error(code, stderr, expected)


def test_missing_corpus_and_too_short_text_are_one_line(tmp_path):
    code, _, stderr = run(["text", "train", "--data", str(tmp_path / "nothing.txt"), "--out", str(tmp_path / "r")])
    assert_one_line_error(code, stderr, "no such file")
    short = tmp_path / "short.txt"
    short.write_text("To be, or not to be.\n" * 2, encoding="utf-8")
    code, _, stderr = run(["text", "train", "--data", str(short), "--out", str(tmp_path / "r"), "--preset", "tiny"])
    assert_one_line_error(code, stderr, "needs at least")


def test_wrong_level_and_wrong_kind_are_one_line(char_run, word_run, tmp_path):
    char_out, word_out = char_run[0] / "best", word_run[0] / "best"
    code, _, stderr = run(["text", "predict", "to be", "--checkpoint", str(word_out), "--level", "char"])
    assert_one_line_error(code, stderr, "is a word-level model; --level char needs a character-level one")
    code, _, stderr = run(["text", "generate", "--prompt", "to", "--checkpoint", str(char_out), "--level", "word"])
    assert_one_line_error(code, stderr, "is a character-level model")
    code, _, stderr = run(["music", "generate", "--checkpoint", str(char_out), "--out", str(tmp_path / "t")])
    assert_one_line_error(code, stderr, "'text-lm' model, not a 'music-char-lm'")


def test_bad_options_and_prompts_are_one_line(char_run, word_run, monkeypatch, tmp_path):
    out = str(char_run[0] / "best")
    for argv, expected in [
        (["generate", "--prompt", "   ", "--checkpoint", out], "the prompt is empty"),
        (["generate", "--prompt", "a", "--length", "0", "--checkpoint", out], "--length must be from 1"),
        (["generate", "--prompt", "a", "--temperature", "inf", "--checkpoint", out], "--temperature"),
        (["predict", "a", "--top", "0", "--checkpoint", out], "--top must be from 1"),
        (["train", "--preset", "tiny", "--tie-weights", "true", "--out", str(tmp_path)], "--tie-weights needs"),
    ]:
        code, _, stderr = run(["text", *argv])
        assert_one_line_error(code, stderr, expected)
    monkeypatch.setattr(text_task.TASK, "pretrained_path", lambda: tmp_path / "not_shipped")
    code, _, stderr = run(["text", "generate", "--prompt", "a"])
    assert_one_line_error(code, stderr, "no shipped text model")
