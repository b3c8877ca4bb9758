"""The frame every application shares: flags made from the config sections, presets, seeding,
bounds, --resume and --out checks, export, and the lazy task registry."""

from __future__ import annotations

import contextlib
import io
import subprocess
import sys
from pathlib import Path

import pytest
from safetensors.torch import load_file

from seqlab.cli import TASKS, main
from tests.helpers import one_line_error, run
from seqlab.tasks import text as text_task

TINY_TEXT = ["text", "train", "--preset", "tiny", "--no-progress", "--steps", "6", "--eval-every", "3"]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("data") / "small.txt"
    path.write_text(text_task.shipped_corpus_path().read_text(encoding="utf-8")[:20_000], encoding="utf-8")
    return path


@pytest.mark.parametrize("task", ["text", "music"])
def test_same_seed_same_weights(task, tmp_path, corpus):
    """Seeding comes before the model is built: the same command gives the same numbers."""
    data = str(corpus) if task == "text" else "irish"
    weights = []
    for name in ("a", "b"):
        out = tmp_path / name
        code, _, stderr = run([task, "train", "--preset", "tiny", "--no-progress", "--steps", "3",
                               "--eval-every", "3", "--data", data, "--out", str(out), "--seed", "5"])
        assert code == 0, stderr
        weights.append(load_file(out / "last" / "model.safetensors"))
    assert weights[0].keys() == weights[1].keys()
    assert all((weights[0][k] == weights[1][k]).all() for k in weights[0])
    # ... and another seed gives other weights.
    out = tmp_path / "c"
    assert run([task, "train", "--preset", "tiny", "--no-progress", "--steps", "3", "--eval-every", "3",
                "--data", data, "--out", str(out), "--seed", "6"])[0] == 0
    other = load_file(out / "last" / "model.safetensors")
    assert any(not (other[k] == weights[0][k]).all() for k in other)


def test_flags_come_from_the_config_sections():
    parser_help = io.StringIO()
    with contextlib.redirect_stdout(parser_help):
        assert main(["text", "train", "--help"]) == 0
    text = parser_help.getvalue()
    # data section, model section, train section: each field once
    for flag in ("--window", "--level", "--hidden-size", "--tie-weights", "--lr", "--warmup-steps", "--max-minutes"):
        assert text.count(f"\n  {flag} ") == 1, flag
    # what the task sets itself is no flag
    for hidden in ("--vocab-size", "--metric", "--maximize", "--out-dir"):
        assert hidden not in text


@pytest.mark.parametrize("argv, expected", [
    (["--hidden-size", "100000000"], "--hidden-size must be from 1 to 65,536"),
    (["--num-layers", "0"], "--num-layers must be from 1"),
    (["--window", "10000000"], "--window must be from 1 to 100,000"),
    (["--dropout", "1.5"], "--dropout must be in [0, 1)"),
    (["--lr-schedule", "linear"], "--lr-schedule"),
    (["--hidden-size", "20000", "--num-layers", "8"], "GiB of memory"),
    (["--out", ""], "--out is empty"),
    (["--resume"], "holds no run to resume"),
])
def test_bad_training_options_are_one_line(argv, expected, tmp_path, corpus):
    argv = [*argv] if "--out" in argv else [*argv, "--out", str(tmp_path / "run")]
    code, _, stderr = run([*TINY_TEXT, "--data", str(corpus), *argv])
    one_line_error(code, stderr, expected)
    assert not (tmp_path / "run" / "last").exists()


def test_export_refuses_to_overwrite_without_force(tmp_path, corpus):
    out = tmp_path / "run"
    assert run([*TINY_TEXT, "--data", str(corpus), "--out", str(out)])[0] == 0
    target = tmp_path / "shipped"
    code, stdout, _ = run(["text", "export", "--checkpoint", str(out / "best"), "--out", str(target)])
    assert code == 0 and "float16" in stdout
    before = (target / "model.safetensors").read_bytes()
    one_line_error(*run(["text", "export", "--checkpoint", str(out / "last"), "--out", str(target)])[::2], "--force")
    assert (target / "model.safetensors").read_bytes() == before
    assert run(["text", "export", "--checkpoint", str(out / "last"), "--out", str(target), "--force"])[0] == 0
    # The model shipped inside the package is named as such.
    shipped = text_task.pretrained_path()
    code, _, stderr = run(["text", "export", "--checkpoint", str(out / "best"), "--out", str(shipped)])
    one_line_error(code, stderr, "shipped with seqlab")


def test_help_imports_no_task_module():
    """`seqlab --help` names every task without importing one (nor torch)."""
    script = ("import sys, contextlib, io\nfrom seqlab.cli import main\n"
              "with contextlib.redirect_stdout(io.StringIO()): main(['--help'])\n"
              "print(sorted(m for m in sys.modules if m.startswith('seqlab.tasks') or m == 'torch'))")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
    for name in TASKS:
        assert name in subprocess.run([sys.executable, "-m", "seqlab", "--help"], capture_output=True, text=True).stdout


def test_an_internal_bug_keeps_its_traceback(monkeypatch):
    """Only SeqlabError is a one-line message; anything else propagates."""
    def broken(*args, **kwargs):
        raise ValueError("a bug")

    monkeypatch.setattr(text_task, "load_text_model", broken)
    with pytest.raises(ValueError, match="a bug"):
        main(["text", "generate", "--prompt", "a"])
