"""What the command-line tests share: run `seqlab` in-process and read a one-line error."""

from __future__ import annotations

import contextlib
import io

from seqlab.cli import main


def run(argv: list[str]) -> tuple[int, str, str]:
    """main(argv) -> (exit code, stdout, stderr), without pytest's capsys (usable in fixtures)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


def one_line_error(code: int, stderr: str, expected: str) -> None:
    """A user's error: exit 2 and one line, `seqlab: error: ...`, that says `expected`."""
    assert code == 2, stderr
    lines = stderr.strip("\n").split("\n")
    assert len(lines) == 1 and lines[0].startswith("seqlab: error: "), stderr
    assert expected in lines[0], stderr
