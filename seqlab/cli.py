"""`seqlab <task> <verb> [options]`: the command line.

Each task lives in seqlab/tasks/<task>.py and adds its own verbs through
`add_commands(verbs)`. The registry below names the tasks without importing them: a task's
module (and torch, music21, ...) is imported only when one of its commands runs, so
`seqlab --help` stays fast. Commands without verbs (`seqlab serve`) are named in COMMANDS the
same way; their module's `add_options(parser)` adds the options.

Only `SeqlabError` is a user's error, shown as one line; any other exception is a bug and
keeps its traceback.
"""

from __future__ import annotations

import argparse
import importlib
import re
import sys

from seqlab import __version__
from seqlab.errors import SeqlabError

# task name -> (module, one-line description); the order is the order in --help.
TASKS = {
    "music": ("seqlab.tasks.music", "music generation: learn folk tunes in ABC notation, write new ones"),
    "text": ("seqlab.tasks.text", "language models on text: next character, next word (Tiny Shakespeare or any UTF-8 file)"),
    "sentiment": ("seqlab.tasks.sentiment", "sentiment of a sentence (many-to-one): movie reviews, product reviews"),
    "forecast": ("seqlab.tasks.forecast", "environmental forecasting: CO2, sunspots, El Nino, weather, any CSV, beside the classical forecasters"),
    "core": ("seqlab.tasks.core", "the recurrent core: check seqlab's cells against torch.nn"),
    "gradients": ("seqlab.tasks.gradients", "gradient flow through time: vanishing and exploding gradients, plotted"),
    "trajectory": ("seqlab.tasks.trajectory", "where will it go next: a ball from its frames (CNN + LSTM) beside Kalman and physics"),
    "longterm": ("seqlab.tasks.longterm", "long-term dependencies: adding, copy and pixel-by-pixel digits, by cell"),
    "translate": ("seqlab.tasks.translate", "machine translation (many-to-many): an encoder-decoder with attention, English-French"),
    "caption": ("seqlab.tasks.caption", "image captioning (one-to-many): a CNN and an LSTM, shapes scenes and digit strips"),
}

# command name -> (module, one-line description): commands that take options but no verb.
COMMANDS = {
    "serve": ("seqlab.web.server", "a local web app: every task in the browser (http://127.0.0.1:8000)"),
}


class Parser(argparse.ArgumentParser):
    """argparse, but a wrong option is one line (argparse prints the whole usage first)."""

    def error(self, message: str):
        # "argument --length: must be ..." reads better as "--length must be ...".
        message = re.sub(r"^argument (-[-\w]+)(?:/-[-\w]+)?: ", r"\1 ", message)
        self.exit(2, f"seqlab: error: {message} (see: {self.prog} --help)\n")


def build_parser(task: str | None = None) -> argparse.ArgumentParser:
    """The parser; only `task`'s verbs are built (importing its module), the other tasks are
    named in --help and nothing more."""
    parser = Parser(
        prog="seqlab",
        description="Deep sequence modeling with recurrent neural networks.",
    )
    parser.add_argument("--version", action="version", version=f"seqlab {__version__}")
    tasks = parser.add_subparsers(dest="task", metavar="TASK")
    tasks.required = True
    for name, (module, description) in TASKS.items():
        task_parser = tasks.add_parser(name, help=description, description=description)
        if name == task:
            verbs = task_parser.add_subparsers(dest="verb", metavar="VERB")
            verbs.required = True
            importlib.import_module(module).add_commands(verbs)
    for name, (module, description) in COMMANDS.items():
        command_parser = tasks.add_parser(name, help=description, description=description)
        if name == task:
            importlib.import_module(module).add_options(command_parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    task = next((word for word in argv if not word.startswith("-")), None)
    parser = build_parser(task if task in TASKS or task in COMMANDS else None)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit:  # --help, --version, or a wrong option (already printed)
        return exit.code if isinstance(exit.code, int) else 2
    try:
        return args.run(args) or 0
    except KeyboardInterrupt:
        print("seqlab: interrupted", file=sys.stderr)
        return 130
    except SeqlabError as error:
        message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        print(f"seqlab: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
