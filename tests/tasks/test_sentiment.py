"""The sentiment task on the frame: train, predict, explain, evaluate, crossval; the
many-to-one model's masking; bad input as one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from tests.helpers import one_line_error, run
from seqlab.models import ClassifierConfig, SentenceClassifier
from seqlab.sentiment.data import load_dataset
from seqlab.tasks import sentiment as sentiment_task

TINY = ["--preset", "tiny", "--no-progress"]


@pytest.fixture(scope="module")
def reviews(tmp_path_factory) -> Path:
    """300 real yelp sentences as a user's sentence<TAB>label file."""
    data = load_dataset("uci-yelp")
    path = tmp_path_factory.mktemp("data") / "reviews.tsv"
    path.write_text("".join(f"{s}\t{l}\n" for s, l in list(zip(data.sentences, data.labels))[:300]), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def trained(tmp_path_factory, reviews) -> Path:
    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("run")
    code, stdout, stderr = run(["sentiment", "train", *TINY, "--data", str(reviews), "--out", str(out),
                                "--steps", "60", "--eval-every", "30"])
    assert code == 0, stderr
    assert "270 training sentences" in stdout and "30 held out (fold 0 of 10)" in stdout
    return out


def test_train_writes_a_checkpoint_with_its_vocabulary_and_labels(trained):
    config = json.loads((trained / "best" / "config.json").read_text(encoding="utf-8"))
    assert config["kind"] == "sentiment-classifier"
    assert config["labels"] == ["0", "1"]  # the file's own label names
    assert config["model"]["vocab_size"] == len(config["vocabulary"]["tokens"])
    assert 0.0 <= config["metrics"]["val_accuracy"] <= 1.0
    assert config["data"]["fold"] == 0 and config["data"]["held_out_sentences"] == 30


def test_predict_and_explain(trained, tmp_path):
    code, stdout, stderr = run(["sentiment", "predict", "the food was great", "--checkpoint", str(trained / "best")])
    assert code == 0, stderr
    label, probability = stdout.split("\n")[0].split()
    assert label in ("0", "1") and 0.5 <= float(probability) <= 1.0
    png = tmp_path / "plots" / "why.png"
    code, stdout, stderr = run(["sentiment", "explain", "not good , bad", "--checkpoint", str(trained / "best"),
                                "--out", str(png)])
    assert code == 0, stderr
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    lines = stdout.strip().split("\n")
    assert [line.split()[0] for line in lines[:4]] == ["not", "good", ",", "bad"]  # one line a word


def test_explain_ends_where_predict_does(trained):
    """The prediction after the last word is the sentence's prediction."""
    model, vocab, config = sentiment_task.TASK.load(str(trained / "best"))
    sentence = "the service was slow but the pizza was wonderful"
    words, positive = sentiment_task.explain(model, vocab, sentence)
    label, probability = sentiment_task.predict(model, vocab, config, sentence)
    assert len(words) == 9
    final = positive[-1] if label == "1" else 1 - positive[-1]
    assert final == pytest.approx(probability, abs=1e-5)


def test_evaluate_scores_the_fold_and_the_contrast_set(trained):
    code, stdout, stderr = run(["sentiment", "evaluate", "--checkpoint", str(trained / "best"), "--json"])
    assert code == 0, stderr
    results = json.loads(stdout)
    assert results["held_out"] == 30 and 0 <= results["held_out_accuracy"] <= 1
    assert results["contrast_pairs"] >= 100 and 0 <= results["contrast_accuracy"] <= 1


def test_crossval_scores_every_model_on_the_same_folds(reviews):
    code, stdout, stderr = run(["sentiment", "crossval", *TINY, "--data", str(reviews), "--only", "2",
                                "--steps", "20", "--json"])
    assert code == 0, stderr
    results = json.loads(stdout)
    assert results["folds_run"] == 2
    assert set(results["models"]) == {"majority", "tfidf-logreg", "nbsvm", "lstm (bidirectional)"}
    for scores in results["models"].values():
        assert len(scores["per_fold"]) == 2 and scores["contrast_pairs"] >= 100
    # Majority class on stratified folds: right as often as the larger class is common.
    labels = [line.rsplit("\t", 1)[1] for line in reviews.read_text(encoding="utf-8").splitlines()]
    larger = max(labels.count("0"), labels.count("1")) / len(labels)
    assert abs(results["models"]["majority"]["mean"] - larger) < 0.02


def test_padding_never_reaches_the_prediction():
    """A sentence read alone or beside a longer one (padded) gets the same probabilities."""
    torch.manual_seed(0)
    for pool in ("last", "max", "mean"):
        model = SentenceClassifier(ClassifierConfig(vocab_size=20, embedding_size=8, hidden_size=8,
                                                    bidirectional=True, pool=pool, dropout=0.0)).eval()
        short = torch.tensor([[3, 4, 5]])
        padded = torch.tensor([[3, 4, 5, 0, 0, 0], [1, 2, 3, 4, 5, 6]])
        alone = model(short, torch.tensor([3]))
        together = model(padded, torch.tensor([3, 6]))
        assert torch.allclose(alone, together[:1], atol=1e-6), pool


def test_the_model_overfits_one_batch():
    torch.manual_seed(0)
    model = SentenceClassifier(ClassifierConfig(vocab_size=12, embedding_size=8, hidden_size=16, dropout=0.0))
    tokens = torch.randint(0, 12, (8, 5))
    lengths, labels = torch.tensor([5, 4, 3, 5, 2, 5, 1, 4]), torch.tensor([0, 1, 0, 1, 1, 0, 1, 0])
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    for _ in range(150):
        optimizer.zero_grad()
        loss = model.loss(tokens, lengths, labels)
        loss.backward()
        optimizer.step()
    assert loss.item() < 0.05


@pytest.mark.parametrize("argv, expected", [
    (["predict", "   "], "the sentence is empty"),
    (["train", "--fold", "10"], "--fold must be from 0 to 9"),
    (["train", "--folds", "1"], "--folds must be from 2"),
    (["train", "--pool", "median"], "--pool"),
])
def test_bad_options_are_one_line(argv, expected, trained, tmp_path):
    if argv[0] == "predict":
        argv = [*argv, "--checkpoint", str(trained / "best")]
    else:
        argv = [*argv, *TINY, "--out", str(tmp_path / "run")]
    one_line_error(*run(["sentiment", *argv])[::2], expected)
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("content, expected", [
    (b"", "empty"),
    (b"good movie\t1\nfine film\t1\n", "both classes"),
    (b"caf\xe9 was nice\t1\nbad\t0\n", "UTF-8"),
])
def test_bad_data_is_one_line(content, expected, tmp_path):
    data = tmp_path / "bad.tsv"
    data.write_bytes(content)
    code, _, stderr = run(["sentiment", "train", *TINY, "--data", str(data), "--out", str(tmp_path / "run")])
    one_line_error(code, stderr, "")
    assert expected.lower() in stderr.lower()
    assert not (tmp_path / "run" / "last").exists()


def test_another_tasks_checkpoint_is_one_line(tmp_path):
    from seqlab.tasks import text as text_task

    code, _, stderr = run(["sentiment", "predict", "good", "--checkpoint", str(text_task.pretrained_path())])
    one_line_error(code, stderr, "text-lm")
