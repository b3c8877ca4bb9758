"""The command line's frame: --help, --version, one-line errors, and `seqlab core check`."""

import pytest

from seqlab import __version__
from seqlab.cli import main


def test_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"seqlab {__version__}"


def test_help_lists_the_tasks(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "music" in out and "core" in out


@pytest.mark.parametrize("argv", [[], ["music", "frobnicate"], ["music", "generate", "--count", "abc"], ["core", "check", "--steps", "0"]])
def test_a_wrong_command_is_one_line(capsys, argv):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "error:" in err


def test_core_check_agrees_with_torch(capsys):
    assert main(["core", "check", "--steps", "5", "--layers", "1"]) == 0
    out = capsys.readouterr().out
    assert "seqlab and torch.nn agree" in out
    assert out.count("scratch") == 3 and out.count("fused") == 3
