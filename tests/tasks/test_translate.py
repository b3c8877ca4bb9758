"""`seqlab translate train | translate | attention | evaluate`, end to end through seqlab.cli.main,
on a small file of real Tatoeba pairs (the tutorial subset's first 600)."""

import json

import pytest
import torch
from PIL import Image

from seqlab.models.seq2seq import Seq2Seq, Seq2SeqConfig, Translator
from seqlab.tasks import translate as translate_task
from seqlab.translate.corpus import read_pairs, tutorial_subset
from tests.helpers import run


@pytest.fixture(scope="module")
def pairs_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "pairs.txt"
    pairs = tutorial_subset(read_pairs())[:600]
    path.write_text("".join(f"{p.en}\t{p.fr}\n" for p in pairs), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def trained(tmp_path_factory, pairs_file):
    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("run")
    code, stdout, stderr = run(["translate", "train", "--preset", "tiny", "--data", str(pairs_file), "--steps", "150",
                                "--eval-every", "50", "--out", str(out), "--no-progress"])
    assert code == 0, stderr
    return out, stdout


def test_train_describes_the_split_and_learns(trained):
    out, stdout = trained
    assert "training pairs en -> fr" in stdout and "attention additive" in stdout
    config = json.loads((out / "best" / "config.json").read_text())
    assert config["languages"] == {"source": "en", "target": "fr"}
    assert config["vocabulary"]["target"]["tokens"][:3] == ["<pad>", "<unk>", "<eos>"]
    assert config["metrics"]["val_loss"] < 5.0  # from ~log(V) = 6 at the start


def test_translate_and_attention_write_french_and_a_heat_map(trained, tmp_path):
    out, _ = trained
    code, stdout, stderr = run(["translate", "translate", "I am cold.", "--checkpoint", str(out / "best")])
    assert code == 0, stderr
    assert stdout.strip() and "<" not in stdout  # words, no special tokens
    png = tmp_path / "a.png"
    code, stdout, stderr = run(["translate", "attention", "You are tall.", "--checkpoint", str(out / "best"),
                                "--out", str(png), "--beam-width", "1"])
    assert code == 0, stderr
    with Image.open(png) as image:
        assert image.size[0] > 100 and image.size[1] > 100


def test_evaluate_scores_models_and_the_dictionary_with_sacrebleu(trained, capsys):
    pytest.importorskip("sacrebleu")
    out, _ = trained
    code, stdout, stderr = run(["translate", "evaluate", "--checkpoint", str(out / "best"), "--sentences", "10",
                                "--beam-width", "3", "--json"])
    assert code == 0, stderr
    results = json.loads(stdout)
    assert set(results["scores"]) == {"dictionary (word by word)", "greedy", "beam search (3)"}
    assert results["signature"].startswith("nrefs:") and results["sentences"] == 10
    assert all(0 <= s["bleu"] <= 100 and 0 <= s["chrf"] <= 100 for s in results["scores"].values())


def test_greedy_and_beam_decode_through_the_one_sampler():
    """A width-1 beam and the greedy sampler agree on the likeliest translation, and the
    decoder's one-step path matches teacher forcing."""
    torch.manual_seed(0)
    model = Seq2Seq(Seq2SeqConfig(vocab_size=9, source_vocab_size=7, embedding_size=8, hidden_size=12,
                                  attention_size=8)).eval()
    vocabularies = translate_task.Vocabularies(
        translate_task.word_vocabulary(["a b c d"], 1), translate_task.word_vocabulary(["e f g h i j"], 1))
    source = [3, 4, 5]
    greedy = translate_task.translate_ids(model, vocabularies, source, beam_width=1, max_length=6)
    translator = Translator(model, torch.tensor([source]), torch.tensor([3]))
    tokens = torch.tensor([[vocabularies.target.index("<eos>")] + [vocabularies.target.index(w) for w in greedy]])
    with torch.no_grad():
        logits, _ = translator(tokens)
    logits[..., vocabularies.target.index("<unk>")] = float("-inf")  # the sampler never writes <unk>
    assert logits[0, :-1].argmax(-1).tolist() == tokens[0, 1:].tolist()  # each word was the likeliest


@pytest.mark.parametrize("sentence, expected", [
    ("", "the sentence is empty"),
    ("zzqx qqzx", "knows none of the words"),
    (" ".join(["word"] * 10_000), "give at most 100"),
])
def test_bad_sentences_are_one_line_errors(trained, sentence, expected):
    out, _ = trained
    code, _, stderr = run(["translate", "translate", sentence, "--checkpoint", str(out / "best")])
    assert code == 2 and expected in stderr and stderr.count("\n") == 1


def test_a_checkpoint_of_another_task_is_refused(trained, tmp_path):
    code, _, stderr = run(["translate", "translate", "I am cold.", "--checkpoint", str(translate_task.Path(__file__).parent)])
    assert code == 2 and stderr.count("\n") == 1


def test_bad_options_are_one_line_errors(pairs_file, tmp_path):
    code, _, stderr = run(["translate", "train", "--preset", "tiny", "--data", str(pairs_file), "--source", "fr",
                           "--target", "fr", "--out", str(tmp_path / "x")])
    assert code == 2 and "en and fr" in stderr and stderr.count("\n") == 1


def test_the_shipped_model_translates_after_install():
    code, stdout, stderr = run(["translate", "translate", "She doesn't like cats.", "--beam-width", "3"])
    assert code == 0, stderr
    assert "chats" in stdout  # cats, in French


def test_direction_picks_a_shipped_model_and_refuses_a_checkpoint_beside_it(trained):
    from pathlib import Path

    out, _ = trained
    code, _, stderr = run(["translate", "translate", "I am cold.", "--checkpoint", str(out / "best"), "--direction", "fr-en"])
    assert code == 2 and "not both" in stderr and stderr.count("\n") == 1
    shipped = Path(translate_task.TASK.pretrained_path()).parent / "pretrained_fr_en"
    if (shipped / "model.safetensors").is_file():
        code, stdout, stderr = run(["translate", "translate", "Elle n'aime pas les chats.", "--direction", "fr-en"])
        assert code == 0 and "cats" in stdout, stderr
