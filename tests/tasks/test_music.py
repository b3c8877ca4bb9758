"""`seqlab music train | generate | evaluate`, end to end through seqlab.cli.main.

One tiny model is trained once for the module (a few seconds) on 30 real tunes from the
shipped irish.abc. A model that small writes mostly invalid tunes, so the generation tests
keep them with --keep-invalid where they need files, and one test checks the rejection path.
"""

import json
import math
import re
import shutil
from functools import partial
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from seqlab.checkpoint import save_checkpoint
from seqlab.cli import main
from tests.helpers import run
from seqlab.errors import SeqlabError
from seqlab.music import clean_tune, held_out_split, load_corpus, split_header, validate
from seqlab.sample import Finished, stream_job
from seqlab.tasks import _language as language
from seqlab.tasks import music as music_task

TUNES = 30
STEPS = 400  # the tiny preset's 20 steps write hardly a bar line; 400 still take seconds
EVAL_EVERY = 200
# With the header given and a cool temperature, the tiny model's tunes mostly render.
RENDERABLE = ("--start", "T:Test\\nM:4/4\\nL:1/8\\nK:D", "--temperature", "0.6")


@pytest.fixture(scope="module")
def corpus_file(tmp_path_factory) -> Path:
    """30 real tunes from irish.abc, as a user's .abc file."""
    path = tmp_path_factory.mktemp("data") / "thirty.abc"
    path.write_text("\n\n".join(load_corpus().tunes[:TUNES]) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def trained(tmp_path_factory, corpus_file):
    """One tiny model, trained once: (run directory, what `train` printed)."""
    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("run")
    code, stdout, stderr = run([
        "music", "train", "--preset", "tiny", "--out", str(out), "--no-progress",
        "--data", str(corpus_file), "--steps", str(STEPS), "--eval-every", str(EVAL_EVERY),
    ])
    assert code == 0, stderr
    return out, stdout


def read_config(checkpoint: Path) -> dict:
    return json.loads((checkpoint / "config.json").read_text(encoding="utf-8"))


def abc_texts(folder: Path) -> dict[str, str]:
    return {path.name: path.read_text(encoding="utf-8") for path in sorted(folder.glob("tune_*.abc"))}


# ------------------------------------------------------------------------------- train
def test_train_writes_best_and_last_checkpoints(trained, corpus_file):
    out, stdout = trained
    tunes = load_corpus(str(corpus_file)).tunes
    train_tunes, held_out = held_out_split([clean_tune(tune) for tune in tunes])  # as trained on
    assert (len(train_tunes), len(held_out)) == (27, 3)
    # The split sizes, as printed, are the fixed 10% split of the file's tunes.
    assert f"{len(train_tunes)} training tunes" in stdout
    assert f"{len(held_out)} held out" in stdout

    for name in ("best", "last"):
        config = read_config(out / name)
        assert config["kind"] == "music-char-lm"
        assert (out / name / "model.safetensors").is_file()
        tokens = config["vocabulary"]["tokens"]
        # Every character of the training tunes is in the vocabulary, and nothing else but <unk>.
        assert set(tokens) - {config["vocabulary"]["unknown"]} == set("\n\n".join(train_tunes) + "\n\n")
        assert config["model"]["vocab_size"] == len(tokens)
        bits = config["metrics"]["val_bits_per_char"]
        assert math.isfinite(bits) and 0 < bits < math.log2(len(tokens))  # better than uniform
        assert config["data"] == {
            "source": str(corpus_file), "train_tunes": 27, "held_out_tunes": 3,
            "extra_tunes": 0, "dropped_as_possible_held_out": 0, "transposed_copies": 0,
            "left_out_for_wrong_bars": 0,
        }
    assert read_config(out / "last")["step"] == STEPS
    # Only last/ can be resumed from: it carries the optimizer and the trainer's state.
    assert (out / "last" / "optimizer.safetensors").is_file()
    assert not (out / "best" / "optimizer.safetensors").exists()


def test_resume_continues_from_last(tmp_path, corpus_file):
    common = ["music", "train", "--preset", "tiny", "--no-progress", "--data", str(corpus_file), "--eval-every", "5"]
    resumed, scratch = tmp_path / "resumed", tmp_path / "scratch"
    assert run(common + ["--out", str(resumed), "--steps", "10"])[0] == 0
    first = load_file(resumed / "last" / "model.safetensors")

    code, stdout, stderr = run(common + ["--out", str(resumed), "--steps", "20", "--resume"])
    assert code == 0, stderr
    assert "done: 20 steps" in stdout
    assert read_config(resumed / "last")["step"] == 20
    after = load_file(resumed / "last" / "model.safetensors")
    assert any(not torch.equal(first[name], after[name]) for name in first)  # it trained on

    # A run that ignored --resume would be this fresh 20-step run, weight for weight (training
    # is deterministic); the resumed run differs, since its first 10 steps followed a 10-step
    # cosine schedule.
    assert run(common + ["--out", str(scratch), "--steps", "20"])[0] == 0
    fresh = load_file(scratch / "last" / "model.safetensors")
    assert any(not torch.equal(fresh[name], after[name]) for name in fresh)


def test_resume_refuses_other_characters(tmp_path, corpus_file, capsys):
    out = tmp_path / "run"
    common = ["music", "train", "--preset", "tiny", "--no-progress", "--steps", "2", "--out", str(out)]
    assert main(common + ["--data", str(corpus_file)]) == 0
    other = tmp_path / "other.abc"  # the same tunes, with a character the model never saw
    other.write_text(corpus_file.read_text(encoding="utf-8").replace("T:", "T:\u00eb "), encoding="utf-8")
    capsys.readouterr()
    assert main(common + ["--data", str(other), "--steps", "4", "--resume"]) != 0
    assert_one_line_error(capsys.readouterr().err, "cannot resume")
    assert read_config(out / "last")["step"] == 2  # left as it was


def test_lab_preset_dry_run_uses_random_windows(tmp_path, corpus_file, monkeypatch):
    calls = []
    original = language.random_windows

    def recording(*args, **kwargs):
        calls.append(args)
        return original(*args, **kwargs)

    monkeypatch.setattr(language, "random_windows", recording)
    out = tmp_path / "lab"
    code, stdout, stderr = run([
        "music", "train", "--preset", "lab", "--steps", "2", "--eval-every", "1", "--hidden-size", "16",
        "--embedding-size", "8", "--data", str(corpus_file), "--out", str(out), "--no-progress",
    ])
    assert code == 0, stderr
    assert len(calls) == 1  # the lab's random windows, not the stateful stream
    config = read_config(out / "last")
    assert config["step"] == 2
    # The task's config, as its three sections: data, model, train.
    assert config["music"]["data"]["stateful"] is False
    assert config["music"]["data"]["batch_size"] == 8 and config["music"]["data"]["window"] == 100  # the lab's
    assert config["music"]["train"]["lr"] == 5e-3 and config["music"]["train"]["clip_grad_norm"] is None
    assert config["model"]["hidden_size"] == 16 and config["model"]["embedding_size"] == 8  # the overrides
    assert config["model"]["num_layers"] == 1


# ------------------------------------------------------------------------------- generate
PRINTED = re.compile(r"^(?P<abc>\S+\.abc)  (?P<title>.*)  \+ (?P<made>.*)$")


def generate(checkpoint: Path, out: Path, *options: str) -> tuple[int, str, str]:
    return run(["music", "generate", "--checkpoint", str(checkpoint), "--out", str(out), *options])


@pytest.mark.parametrize("renderable", [False, True])
def test_generate_writes_and_names_its_files(trained, tmp_path, renderable):
    out_dir, _ = trained
    out = tmp_path / "tunes"
    code, stdout, stderr = generate(out_dir / "best", out, "--keep-invalid", "--count", "2", "--seed", "1",
                                    *(RENDERABLE if renderable else ()))
    assert code == 0, stderr
    lines = [PRINTED.match(line) for line in stdout.splitlines() if PRINTED.match(line)]
    assert [Path(m["abc"]) for m in lines] == [out / "tune_1.abc", out / "tune_2.abc"]
    on_disk = {path.name for path in out.iterdir()}
    named = set()
    for number, match in enumerate(lines, start=1):
        abc = Path(match["abc"]).read_text(encoding="utf-8")
        assert abc.startswith(f"X:{number}\n")
        made = [] if match["made"] == "nothing else" else match["made"].split(", ")
        assert all(name.startswith(f"tune_{number}.") for name in made)
        named |= {f"tune_{number}.abc", *made}
    # What it says it wrote is exactly what is there: a rendering that failed left no file.
    assert on_disk == named
    assert f"wrote 2 tunes to {out}/ (seed 1)" in stdout


def test_generate_with_the_shipped_model_renders_midi_wav_and_svg(tmp_path):
    """The main job as a user runs it: the shipped model, valid tunes only, every file made."""
    out = tmp_path / "tunes"
    code, stdout, stderr = run(["music", "generate", "--count", "2", "--seed", "3", "--out", str(out)])
    assert code == 0, stderr
    rendered = [path for path in out.iterdir() if path.suffix in (".mid", ".wav", ".svg")]
    assert sorted(path.name for path in rendered) == [f"tune_{n}{suffix}" for n in (1, 2) for suffix in (".mid", ".svg", ".wav")], stdout
    for path in rendered:
        assert path.name in stdout  # named in what it printed
        data = path.read_bytes()
        if path.suffix == ".mid":
            assert data[:4] == b"MThd"
        elif path.suffix == ".wav":
            assert data[:4] == b"RIFF" and data[8:12] == b"WAVE"
            assert path.with_suffix(".mid").is_file()  # WAV is made from the MIDI file
        else:
            assert b"<svg" in data


def test_no_audio_and_no_svg_write_only_abc(trained, tmp_path):
    out_dir, _ = trained
    out = tmp_path / "tunes"
    code, stdout, stderr = generate(out_dir / "best", out, "--keep-invalid", "--count", "4", "--seed", "3",
                                    "--no-audio", "--no-svg", *RENDERABLE)
    assert code == 0, stderr
    assert sorted(path.name for path in out.iterdir()) == [f"tune_{n}.abc" for n in range(1, 5)]


def test_same_seed_same_tunes_other_seed_other_tunes(trained, tmp_path):
    out_dir, _ = trained
    options = ("--keep-invalid", "--count", "2", "--no-audio", "--no-svg")
    for name, seed in (("a", "1"), ("b", "1"), ("c", "2")):
        assert generate(out_dir / "best", tmp_path / name, *options, "--seed", seed)[0] == 0
    a, b, c = (abc_texts(tmp_path / name) for name in "abc")
    assert len(a) == 2
    assert a == b
    assert a != c


def test_start_sets_the_header(trained, tmp_path):
    out_dir, _ = trained
    out = tmp_path / "tunes"
    # "\n" as typed in a shell: a backslash and an n.
    code, stdout, stderr = generate(out_dir / "best", out, "--keep-invalid", "--count", "3", "--seed", "4",
                                    "--no-audio", "--no-svg", "--start", "M:6/8\\nK:D")
    assert code == 0, stderr
    texts = abc_texts(out)
    assert len(texts) == 3
    for text in texts.values():
        header, _ = split_header(text)
        assert [letter for letter, _ in header][:2] == ["X", "T"]  # the model's own title first
        assert ("M", "6/8") in header and ("K", "D Major") in header
        assert "M:6/8\nL:1/8\nQ:3/8=110\nK:D Major\n" in text  # a jig's tempo before the key


def test_start_with_a_title_keeps_it(trained, tmp_path):
    out_dir, _ = trained
    out = tmp_path / "tunes"
    code, _, stderr = generate(out_dir / "best", out, "--keep-invalid", "--count", "1", "--seed", "4",
                               "--no-audio", "--no-svg", "--start", "T:Mine\\nM:3/4\\nK:G")
    assert code == 0, stderr
    # The title as given; L: and the key's mode filled in as the corpus writes them, and the
    # tempo of a 3/4 tune (a waltz) before the key.
    assert abc_texts(out)["tune_1.abc"].startswith("X:1\nT:Mine\nM:3/4\nL:1/8\nQ:1/4=150\nK:G Major\n")


def test_invalid_tunes_are_rejected_without_keep_invalid(trained, tmp_path, capsys):
    """At a scalding temperature the tiny model writes nothing valid: without --keep-invalid
    that is a one-line error."""
    out_dir, _ = trained
    out = tmp_path / "tunes"
    code = main(["music", "generate", "--checkpoint", str(out_dir / "best"), "--out", str(out), "--count", "1",
                 "--seed", "5", "--temperature", "3", "--no-audio", "--no-svg"])
    assert code != 0
    message = assert_one_line_error(capsys.readouterr().err, "no valid tune in")
    sampled = int(re.search(r"no valid tune in (\d+) samples", message)[1])
    assert sampled >= 4  # it kept trying past the first invalid one
    assert not out.exists() or not any(out.iterdir())


# ------------------------------------------------------------------------------- evaluate
def test_evaluate_json(trained, capsys):
    out_dir, _ = trained
    capsys.readouterr()
    assert main(["music", "evaluate", "--checkpoint", str(out_dir / "best"), "--samples", "3", "--json"]) == 0
    results = json.loads(capsys.readouterr().out)
    # The same held-out split and measure as training's evaluation of these weights.
    trained_bits = read_config(out_dir / "best")["metrics"]["val_bits_per_char"]
    assert results["held_out_bits_per_char"] == pytest.approx(trained_bits, abs=1e-3)
    assert results["samples"] == 3
    assert results["corpus"] == read_config(out_dir / "best")["data"]["source"]
    for key in ("parse_and_play", "all_bars_right", "valid", "aabb", "copied_bars"):
        assert 0.0 <= results[key] <= 1.0, key
        if key != "copied_bars":  # a share of 3 tunes
            assert results[key] * 3 == pytest.approx(round(results[key] * 3), abs=1e-3), key
    # Tune form, beside the held-out tunes' own (3 held out of the 30-tune corpus).
    assert results["form"]["tunes"] == 3 and results["held_out_form"]["tunes"] == 3
    for key in ("repeated_bars", "tunes_without_repeat", "recurring_phrases", "ending_on_tonic"):
        assert 0.0 <= results["form"][key] <= 1.0 and 0.0 <= results["held_out_form"][key] <= 1.0, key
    assert results["held_out_form"]["repeated_bars"] > 0.1  # real tunes repeat their bars
    assert 0.0 <= results["meter_distance_to_training"] <= 1.0
    assert sum(results["form"]["meters"].values()) == pytest.approx(1.0, abs=1e-3)
    assert 0.0 < results["held_out_repeat_probability"] <= 1.0


def test_evaluate_counts_no_bars_as_no_bar_right(trained, monkeypatch):
    """A tune without music has no bar right: it must not count towards all_bars_right."""
    out_dir, _ = trained
    good = load_corpus().tunes[0]
    assert validate(good).bars_ok
    empty = "X:2\nT:Nothing\nM:4/4\nL:1/8\nK:D"

    def fixed(*args, **kwargs):
        return music_task.GenerationReport(tunes=[good, empty])

    monkeypatch.setattr(music_task, "generate_tunes", fixed)
    results = music_task.evaluate_music(str(out_dir / "best"), samples=2)
    assert results["all_bars_right"] == 0.5


# ------------------------------------------------------------------------------- bad input
def assert_one_line_error(stderr: str, expected: str = "") -> str:
    assert "Traceback" not in stderr
    lines = stderr.strip("\n").split("\n")
    assert len(lines) == 1, stderr
    assert lines[0].startswith("seqlab: error: "), stderr
    assert expected in lines[0], stderr
    return lines[0]


@pytest.fixture(scope="module")
def bad_checkpoints(trained, tmp_path_factory):
    out_dir, _ = trained
    root = tmp_path_factory.mktemp("bad")
    corrupt = root / "corrupt"
    shutil.copytree(out_dir / "best", corrupt)
    (corrupt / "model.safetensors").write_bytes(b"this is not a safetensors file" * 10)
    other = root / "other"
    save_checkpoint(other, torch.nn.Linear(2, 2), {"kind": "other", "model": {}})
    no_vocabulary = root / "no_vocabulary"
    shutil.copytree(out_dir / "best", no_vocabulary)
    config = read_config(no_vocabulary)
    del config["vocabulary"]
    (no_vocabulary / "config.json").write_text(json.dumps(config), encoding="utf-8")
    return {"corrupt": corrupt, "other": other, "no_vocabulary": no_vocabulary, "missing": root / "missing"}


@pytest.mark.parametrize(
    "options, expected",
    [
        (["--count", "0"], "--count"),
        (["--temperature", "-1"], "--temperature"),
        (["--temperature", "0"], "--temperature"),
        (["--temperature", "inf"], "--temperature"),
        (["--top-k", "0"], "--top-k"),
        (["--seed", str(2**70)], "--seed"),
        (["--start", "K:D\\n\u20ac"], "never saw"),
        (["--start", ""], "--start is empty"),
        (["--start", "M:6/8\\n\\nK:D"], "blank line"),
    ],
)
def test_generate_rejects_bad_options(trained, tmp_path, capsys, options, expected):
    out_dir, _ = trained
    out = tmp_path / "tunes"
    code = main(["music", "generate", "--checkpoint", str(out_dir / "best"), "--out", str(out), *options])
    assert code != 0
    assert_one_line_error(capsys.readouterr().err, expected)
    assert not out.exists()


def test_generate_refuses_a_file_as_out(trained, tmp_path, capsys):
    out_dir, _ = trained
    out = tmp_path / "a_file"
    out.write_text("mine", encoding="utf-8")
    assert main(["music", "generate", "--checkpoint", str(out_dir / "best"), "--out", str(out)]) != 0
    assert_one_line_error(capsys.readouterr().err, "is a file")
    assert out.read_text(encoding="utf-8") == "mine"


@pytest.mark.parametrize(
    "name, expected",
    [
        ("missing", "no checkpoint at"),
        ("corrupt", "truncated or corrupt"),
        ("other", "'other'"),
        ("no_vocabulary", "not a complete music model"),
    ],
)
@pytest.mark.parametrize("verb", ["generate", "evaluate"])
def test_bad_checkpoints(bad_checkpoints, tmp_path, capsys, verb, name, expected):
    options = ["--out", str(tmp_path / "tunes")] if verb == "generate" else ["--samples", "1"]
    code = main(["music", verb, "--checkpoint", str(bad_checkpoints[name]), *options])
    assert code != 0
    assert_one_line_error(capsys.readouterr().err, expected)


def test_missing_shipped_model_is_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(music_task.TASK, "pretrained_path", lambda: tmp_path / "not_shipped")
    assert main(["music", "generate", "--out", str(tmp_path / "tunes")]) != 0
    assert_one_line_error(capsys.readouterr().err, "no shipped music model")


def test_evaluate_rejects_bad_options(trained, capsys):
    out_dir, _ = trained
    for options, expected in ((["--samples", "0"], "--samples"), (["--temperature", "0"], "--temperature")):
        assert main(["music", "evaluate", "--checkpoint", str(out_dir / "best"), *options]) != 0
        assert_one_line_error(capsys.readouterr().err, expected)


def test_evaluate_names_a_training_corpus_that_is_gone(trained, tmp_path, capsys):
    out_dir, _ = trained
    moved = tmp_path / "moved"
    shutil.copytree(out_dir / "best", moved)
    config = read_config(moved)
    config["data"]["source"] = str(tmp_path / "gone.abc")
    (moved / "config.json").write_text(json.dumps(config), encoding="utf-8")
    assert main(["music", "evaluate", "--checkpoint", str(moved), "--samples", "1"]) != 0
    assert_one_line_error(capsys.readouterr().err, "gone.abc")


@pytest.fixture(scope="module")
def bad_data(tmp_path_factory, corpus_file):
    root = tmp_path_factory.mktemp("bad_data")
    (root / "empty.abc").write_text("", encoding="utf-8")
    (root / "binary.abc").write_bytes(bytes(range(256)) * 8)
    (root / "no_tunes.abc").write_text("Just some words.\n\nAnd more words, but no X: or K: lines.\n",
                                       encoding="utf-8")
    (root / "four.abc").write_text("\n\n".join(load_corpus().tunes[:4]) + "\n", encoding="utf-8")
    return root


@pytest.mark.parametrize(
    "data, expected",
    [
        ("empty.abc", "is empty"),
        ("binary.abc", "not a text file"),
        ("no_tunes.abc", "no tunes found"),
        ("four.abc", "too few"),
        ("no_such_corpus", "unknown corpus"),
    ],
)
def test_train_rejects_bad_data(bad_data, tmp_path, capsys, data, expected):
    source = str(bad_data / data) if data.endswith(".abc") else data
    out = tmp_path / "run"
    code = main(["music", "train", "--preset", "tiny", "--no-progress", "--out", str(out), "--data", source])
    assert code != 0
    assert_one_line_error(capsys.readouterr().err, expected)
    assert not out.exists()


@pytest.mark.parametrize(
    "options, expected",
    [
        (["--steps", "0"], "--steps"),
        (["--window", "0"], "--window"),
        (["--batch-size", "0"], "--batch-size"),
        (["--lr", "0"], "--lr"),
        (["--lr-schedule", "sometimes"], "--lr-schedule"),
        (["--clip-grad-norm", "0"], "--clip-grad-norm"),
        (["--window", "100000"], "characters of training text"),
        (["--window", "100000", "--stateful", "false"], "characters of training text"),
        (["--batch-size", "100000"], "characters of training text"),
        (["--transpose", "up"], "--transpose takes N (every letter step from -N to N)"),
        (["--transpose=-1,x"], "or a list such as --transpose=-1,1,3, got 'x'"),
        (["--transpose", "9"], "between -6 and 6"),
        (["--max-minutes", "-1"], "--max-minutes must be >= 0"),
    ],
)
def test_train_rejects_bad_options(corpus_file, tmp_path, capsys, options, expected):
    out = tmp_path / "run"
    code = main(["music", "train", "--preset", "tiny", "--no-progress", "--out", str(out),
                 "--data", str(corpus_file), *options])
    assert code != 0
    assert_one_line_error(capsys.readouterr().err, expected)
    assert not out.exists()


def test_longest_window_that_fits_trains(corpus_file, tmp_path):
    """The length check is not stricter than the batch makers: the longest window it allows runs."""
    characters = len(music_task.load_music_data(str(corpus_file)).train_text)
    for stateful, window in (("false", characters - 2), ("true", characters + 1 - 2 * 8)):
        code, _, stderr = run(["music", "train", "--preset", "tiny", "--no-progress", "--steps", "1",
                               "--batch-size", "8", "--window", str(window), "--stateful", stateful,
                               "--out", str(tmp_path / stateful), "--data", str(corpus_file)])
        assert code == 0, stderr
        code, _, stderr = run(["music", "train", "--preset", "tiny", "--no-progress", "--steps", "1",
                               "--batch-size", "8", "--window", str(window + 1), "--stateful", stateful,
                               "--out", str(tmp_path / "longer"), "--data", str(corpus_file)])
        assert code != 0
        assert_one_line_error(stderr, "characters of training text")


def test_export_writes_a_half_precision_using_only_checkpoint(trained, tmp_path):
    from safetensors import safe_open

    out_dir, _ = trained
    shipped = tmp_path / "shipped"
    code, stdout, stderr = run(["music", "export", "--checkpoint", str(out_dir / "best"), "--out", str(shipped)])
    assert code == 0, stderr
    assert sorted(p.name for p in shipped.iterdir()) == ["config.json", "model.safetensors"]  # no optimizer
    with safe_open(shipped / "model.safetensors", "pt") as weights:
        assert {weights.get_tensor(name).dtype for name in weights.keys()} == {torch.float16}
    # It samples like the float32 original, to float16's precision.
    from seqlab.tasks.music import load_music_model

    original, vocab, _ = load_music_model(str(out_dir / "best"))
    exported, _, config = load_music_model(str(shipped))
    tokens = torch.tensor([vocab.encode("X:1\nT:A\nM:6/8\nK:D\nABc|")])
    assert torch.allclose(original(tokens)[0], exported(tokens)[0], atol=2e-2)
    assert config["exported_from"] == str(out_dir / "best")


@pytest.mark.parametrize("start,expected", [
    ("M:6/8\nK:D", "M:6/8\nL:1/8\nK:D Major"),
    ("M:2/4\nK:Em", "M:2/4\nL:1/16\nK:E Minor"),
    ("M:C|\nL:1/4\nK:G Mixolydian", "M:C|\nL:1/4\nK:G Mixolydian"),
])
def test_start_headers_are_completed_as_the_corpus_writes_them(start, expected):
    from seqlab.music import complete_headers

    assert complete_headers(start) == expected


def test_extra_data_joins_training_only(tmp_path, corpus_file):
    extra = tmp_path / "extra.abc"
    extra.write_text("\n\n".join(load_corpus().tunes[100:110]) + "\n", encoding="utf-8")
    plain = music_task.load_music_data(str(corpus_file))
    mixed = music_task.load_music_data(str(corpus_file), extra=str(extra))
    assert mixed.held_out_tunes == plain.held_out_tunes  # the split is the main corpus's
    assert sorted(mixed.train_tunes) == sorted(plain.train_tunes + [clean_tune(t) for t in load_corpus().tunes[100:110]])
    assert mixed.extra_tunes == 10 and mixed.dropped == 0


def test_transpose_steps():
    assert music_task.transpose_steps("") == []
    assert music_task.transpose_steps("2") == [-2, -1, 1, 2]
    assert music_task.transpose_steps("-1, 1,3,1,0") == [-1, 1, 3]


def test_transpose_adds_transposed_training_tunes_only(corpus_file):
    from seqlab.music.transpose import transpose_tune

    plain = music_task.load_music_data(str(corpus_file))
    augmented = music_task.load_music_data(str(corpus_file), transpose=[-1, 2])
    assert augmented.held_out_tunes == plain.held_out_tunes  # never transposed
    expected = plain.train_tunes + [
        moved for step in (-1, 2) for tune in plain.train_tunes if (moved := transpose_tune(tune, step)) is not None
    ]
    assert sorted(augmented.train_tunes) == sorted(expected)
    assert augmented.transposed == len(expected) - len(plain.train_tunes) >= len(plain.train_tunes)
    assert augmented.train_tunes != expected  # shuffled in among the originals


def test_drop_wrong_bars_leaves_out_training_tunes_only(tmp_path):
    from seqlab.music import bar_check

    def slip(tune: str) -> str:
        """One note too many in the body's second bar."""
        header, body = tune.split("\nK:", 1)
        key_line, music = body.split("\n", 1)
        first, second, rest = music.split("|", 2)
        return f"{header}\nK:{key_line}\n{first}|{second}A|{rest}"

    tunes = load_corpus().tunes[:40]
    broken = [slip(tune) if i % 5 == 0 else tune for i, tune in enumerate(tunes)]
    corpus = tmp_path / "some.abc"
    corpus.write_text("\n\n".join(broken) + "\n", encoding="utf-8")
    plain = music_task.load_music_data(str(corpus))
    clean = music_task.load_music_data(str(corpus), drop_wrong_bars=True)
    wrong = [tune for tune in plain.train_tunes if not bar_check(tune).ok]
    assert len(wrong) >= 4  # the slips are there to be found
    assert clean.train_tunes == [tune for tune in plain.train_tunes if tune not in wrong]
    assert clean.wrong_bars == len(wrong)
    assert clean.held_out_tunes == plain.held_out_tunes  # never filtered
    # When nothing is left, say so (not that the text is too short for the window).
    corpus.write_text("\n\n".join(slip(tune) for tune in tunes) + "\n", encoding="utf-8")
    with pytest.raises(SeqlabError, match="--drop-wrong-bars left no training tunes: all 36"):
        music_task.load_music_data(str(corpus), drop_wrong_bars=True)


def test_init_from_starts_from_the_checkpoint_and_checks_its_shape(trained, tmp_path, corpus_file):
    out, _ = trained
    code, stdout, stderr = run([
        "music", "train", "--preset", "tiny", "--no-progress", "--data", str(corpus_file), "--steps", "1",
        "--eval-every", "1", "--lr", "1e-9", "--init-from", str(out / "best"), "--out", str(tmp_path / "tuned"),
    ])
    assert code == 0, stderr
    start, tuned = read_config(out / "best"), read_config(tmp_path / "tuned" / "best")
    assert tuned["vocabulary"] == start["vocabulary"]
    # One step at a negligible learning rate: the held-out score is the starting model's.
    assert tuned["metrics"]["val_bits_per_char"] == pytest.approx(start["metrics"]["val_bits_per_char"], abs=1e-3)
    code, _, stderr = run([
        "music", "train", "--preset", "tiny", "--no-progress", "--data", str(corpus_file), "--steps", "1",
        "--hidden-size", "48", "--init-from", str(out / "best"), "--out", str(tmp_path / "other"),
    ])
    assert code == 2 and "hidden-size is 32" in stderr and stderr.count("\n") == 1


def test_generate_asks_for_a_dance_and_plays_it_at_its_tempo(trained, tmp_path):
    out_dir, _ = trained
    out = tmp_path / "jigs"
    code, _, stderr = run(["music", "generate", "--checkpoint", str(out_dir / "best"), "--out", str(out),
                           "--count", "2", "--rhythm", "jig", "--key", "D", "--tempo", "90", "--keep-invalid",
                           "--no-svg", "--no-audio", "--seed", "1", "--temperature", "0.6"])
    assert code == 0, stderr
    for text in abc_texts(out).values():
        header = split_header(text)[0]
        fields = dict(header)
        assert fields["M"].strip() == "6/8" and fields["K"].strip() == "D Major"
        assert fields["Q"].strip() == "3/8=90"


def test_generate_draws_dances_in_the_training_tunes_proportions(trained, tmp_path):
    """The checkpoint keeps its training tunes' dance mix; each generated tune starts with one
    of its headers (after the model's own title), unless --model-header lets the model choose."""
    out_dir, _ = trained
    mix = read_config(out_dir / "best")["dances"]
    assert sum(mix.values()) == pytest.approx(1.0) and all("M:" in header for header in mix)
    out = tmp_path / "mixed"
    code, _, stderr = generate(out_dir / "best", out, "--keep-invalid", "--count", "6", "--seed", "2",
                               "--no-audio", "--no-svg")
    assert code == 0, stderr
    for text in abc_texts(out).values():
        lines = text.split("\n")
        assert lines[1].startswith("T:") and any("\n".join(lines[2:]).startswith(header) for header in mix), text
    model, vocab, _ = music_task.load_music_model(str(out_dir / "best"))
    here = partial(stream_job, model, vocab)
    free = music_task._prompts(here, vocab, 3, None, music_task.SamplingConfig(), torch.Generator(), dances=None)
    assert free == ["\n\nX:1\nT:"] * 3  # --model-header: the model writes all of it


@pytest.mark.parametrize("options, expected", [
    (["--meter", "7/0"], "zero in the meter"),
    (["--key", "Hmix"], "unknown key"),
    (["--rhythm", "tango"], "unknown rhythm"),
    (["--tempo", "0"], "--tempo must be from 20 to 400"),
    (["--start", "M:6/8", "--key", "D"], "not both"),
])
def test_generate_refuses_bad_dances(trained, tmp_path, options, expected):
    out_dir, _ = trained
    code, _, stderr = run(["music", "generate", "--checkpoint", str(out_dir / "best"), "--out", str(tmp_path / "t"), *options])
    assert code == 2
    assert_one_line_error(stderr, expected)
    assert not (tmp_path / "t").exists()


def test_no_generated_tune_carries_provenance(trained):
    """Whatever the model writes, a tune leaves without source, transcriber or address."""
    out_dir, _ = trained
    model, vocab, _ = music_task.load_music_model(str(out_dir / "best"))
    written = "X:1\nT:Jig\nZ:transcribed by bob@example.com\nB:Ryan's Mammoth Collection\nM:6/8\nL:1/8\nK:D Major\nDEF GAB|]\n\n"

    def sampler(job):
        """What every stream writes: a tune with provenance the model might have learned."""
        for stream in range(job.streams):
            yield Finished(stream, written[len("X:1\nT:"):])

    report = music_task.generate_tunes(model, vocab, 3, keep_valid=False, meter_aware=False, sampler=sampler)
    assert len(report.tunes) == 3
    for tune in report.tunes:
        assert not re.search(r"^[BZSNHF]:|@|https?://", tune, re.M), tune
        assert "K:D Major" in tune and "DEF GAB" in tune


def test_tunes_are_checked_in_stream_order_and_the_streams_left_are_stopped():
    """A stream that ends first waits for the streams before it (the kept tunes do not depend
    on which stream ends first); once enough tunes are kept, the sampler is closed, and the
    streams still running are never waited for."""
    tune = "Tune\nM:6/8\nL:1/8\nK:D\n|:DFA dAF|GBd gdB|AFD DFA|B2A AFD:|\n|:dfa afd|gbg fdB|AFD DFA|B2A AFD:|\n\n"
    fragment = "Bit\nM:6/8\nL:1/8\nK:D\nDFA dAF|\n\n"
    waited = []

    def sampler(job):
        try:
            for stream, text in [(1, tune), (0, fragment), (2, tune), (3, tune)]:  # stream 1 ends first
                waited.append(stream)
                yield Finished(stream, text)
        finally:
            waited.append("closed")

    report = music_task.generate_tunes(None, None, 1, meter_aware=False, sampler=sampler)
    assert waited == [1, 0, "closed"]
    assert [reason for _, reason in report.rejected] == ["too short: 1 bars (a tune has at least 8)"]
    assert report.sampled == 2 and report.tunes == ["X:1\nT:" + tune.strip()]


def test_training_and_held_out_text_carry_no_provenance(tmp_path):
    """Nothing a generated tune must not carry is ever learned: not from the shipped corpus,
    where every tune has a transcription id, nor from a user's file full of addresses."""
    shipped = music_task.load_music_data("irish")
    assert "Z:" in "".join(load_corpus("irish").tunes)  # there was something to clean
    user = tmp_path / "user.abc"
    user.write_text("\n\n".join(
        f"X:{n}\nT:Tune {n} www.example.org\nZ:bob@example.com\nB:Book\nS:Source\nN:note\nH:history\n"
        f"F:https://example.org/{n}.abc\n% by bob@example.com\nM:C\nL:1/8\nK:D\nDEFG ABcd|]" for n in range(1, 11)))
    for data in (shipped, music_task.load_music_data(str(user))):
        for text in (data.train_text, data.held_out_text):
            assert not re.search(r"^[BZSNHF]:|@|https?://|www\.", text, re.M)
    assert "R:jig" in shipped.train_text  # the dance a transcription id named stays


def test_repeat_probability_is_the_models_probability_of_the_repeated_bar(trained):
    """Checked against the model read one character at a time (its one-step path)."""
    import math as _math

    out_dir, _ = trained
    model, vocab, _ = music_task.load_music_model(str(out_dir / "best"))
    tune = "X:1\nT:Test\nM:4/4\nL:1/8\nK:D Major\n|:DEFG ABcd|DEFG ABcd|]"
    text = music_task.TUNE_SEPARATOR + tune + music_task.TUNE_SEPARATOR
    repeated = text.index("DEFG ABcd", text.index("DEFG ABcd") + 1)
    ids = vocab.encode(text)
    log_p, state = 0.0, None
    with torch.no_grad():
        for position in range(repeated + len("DEFG ABcd") - 1):  # the last step predicts the bar's last character
            logits, state = model.step(torch.tensor([ids[position]]), state)
            if position + 1 >= repeated:
                log_p += torch.log_softmax(logits[0].float(), dim=-1)[ids[position + 1]].item()
    assert music_task.repeat_probability(model, vocab, [tune]) == pytest.approx(_math.exp(log_p), rel=1e-3)
    assert music_task.repeat_probability(model, vocab, ["X:1\nT:t\nM:4/4\nL:1/8\nK:D\n|DEFG ABcd|]"]) is None
