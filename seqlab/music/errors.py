"""The one error the music code raises for bad input.

A `MusicError` carries a one-line message meant for the person at the terminal (the CLI
prints it as it is, without a traceback). It is a ValueError, so callers that already
catch bad values catch it too.
"""

from __future__ import annotations

from seqlab.errors import SeqlabError


class MusicError(SeqlabError, ValueError):
    """Bad music input or a failed conversion; the message is one line."""

    def __init__(self, message: str) -> None:
        # One line, whatever the cause said: library messages often span several lines.
        super().__init__(" ".join(str(message).split()))
