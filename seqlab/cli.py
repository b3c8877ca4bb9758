"""`seqlab <task> <verb> [options]`: the command line.

Each task lives in seqlab/tasks/<task>.py and adds its own sub-commands through
`add_commands(subparsers)`; its heavy imports (torch, music21) happen only when one of its
commands runs, so `seqlab --help` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from seqlab import __version__

# task name -> (module, one-line description); the order is the order in --help.
TASKS = {
    "music": ("seqlab.tasks.music", "music generation: learn folk tunes in ABC notation, write new ones"),
    "core": ("seqlab.tasks.core", "the recurrent core: check seqlab's cells against torch.nn"),
    "gradients": ("seqlab.tasks.gradients", "gradient flow through time: vanishing and exploding gradients, plotted"),
    "longterm": ("seqlab.tasks.longterm", "long-term dependencies: adding, copy and pixel-by-pixel digits, by cell"),
    "text": ("seqlab.tasks.text", "language models on text: next character, next word (Tiny Shakespeare or any UTF-8 file)"),
}


class Parser(argparse.ArgumentParser):
    """argparse, but a wrong option is one line (argparse prints the whole usage first)."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see: {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="seqlab",
        description="Deep sequence modeling with recurrent neural networks.",
    )
    parser.add_argument("--version", action="version", version=f"seqlab {__version__}")
    tasks = parser.add_subparsers(dest="task", metavar="TASK")
    tasks.required = True
    for name, (module, description) in TASKS.items():
        task_parser = tasks.add_parser(name, help=description, description=description)
        verbs = task_parser.add_subparsers(dest="verb", metavar="VERB")
        verbs.required = True
        importlib.import_module(module).add_commands(verbs)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args) or 0
    except KeyboardInterrupt:
        print("seqlab: interrupted", file=sys.stderr)
        return 130
    except Exception as error:  # noqa: BLE001 - sorted below
        if not _is_user_error(error):
            raise
        message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        print(f"seqlab: error: {message}", file=sys.stderr)
        return 2


def _is_user_error(error: Exception) -> bool:
    """Errors caused by what the user gave us: bad values, missing or unreadable files."""
    from seqlab.errors import SeqlabError

    return isinstance(error, (SeqlabError, ValueError, OSError))


if __name__ == "__main__":
    raise SystemExit(main())
