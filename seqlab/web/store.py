"""The server's output store: a temporary folder of its own, the only place files are served
from.

Every answer that makes files (a batch of tunes, a gradients run) gets a folder named by a
random 32-hex-digit id; a file is asked for as `/files/<id>/<name>`. Anything else is
refused before the disk is touched: `..` and `.` segments, absolute paths, backslashes,
NUL, and any `%` left after the server's one decoding (a double-encoded `%252e%252e`);
and the resolved path must still lie inside the store (a symbolic link cannot lead out).
"""

from __future__ import annotations

import re
import secrets
import shutil
import tempfile
import threading
from collections import deque
from pathlib import Path

from .work import WebError

FOLDER = re.compile(r"[0-9a-f]{32}")
FILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")  # no leading dot, no separators
# The kinds of file the store serves, and how: everything else in a folder stays private.
MEDIA_TYPES = {
    ".abc": "text/plain; charset=utf-8",
    ".mid": "audio/midi",
    ".wav": "audio/wav",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".csv": "text/csv; charset=utf-8",
}


class OutputStore:
    """A temporary folder for one server's outputs; removed when the server stops.

    At most `keep` unpinned folders are kept: the oldest goes when a new one is made, so a
    long-running server does not fill the disk. Pinned folders (the latest plots) stay.
    """

    def __init__(self, keep: int = 200) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="seqlab-serve-")).resolve()
        self.keep = keep
        self._recent: deque[Path] = deque()
        self._lock = threading.Lock()

    def new_folder(self, pinned: bool = False) -> Path:
        folder = self.root / secrets.token_hex(16)
        folder.mkdir()
        if not pinned:
            with self._lock:
                self._recent.append(folder)
                while len(self._recent) > self.keep:
                    shutil.rmtree(self._recent.popleft(), ignore_errors=True)
        return folder

    def url(self, path: Path) -> str:
        """The address the browser asks for `path`, a file in one of the store's folders."""
        return f"/files/{path.parent.name}/{path.name}"

    def resolve(self, requested: str) -> Path:
        """The file `requested` ("<id>/<name>", as the server decoded it) names, or a WebError:
        400 for a name that tries to leave the store or is not a store name, 404 for none."""
        if "%" in requested:
            raise WebError("file names never hold %: encoded (or double-encoded) names are refused")
        if "\\" in requested or "\x00" in requested:
            raise WebError("file names never hold backslashes or NUL characters")
        if requested.startswith("/"):
            raise WebError("absolute paths are refused: ask for /files/<folder>/<name>")
        parts = requested.split("/")
        if any(part in ("", ".", "..") for part in parts):
            raise WebError("'.', '..' and empty path segments are refused")
        if len(parts) != 2 or not FOLDER.fullmatch(parts[0]) or not FILE_NAME.fullmatch(parts[1]):
            raise WebError("not a file of this server: ask for /files/<folder>/<name>")
        if Path(parts[1]).suffix not in MEDIA_TYPES:
            raise WebError(f"this server serves only {', '.join(MEDIA_TYPES)} files")
        path = (self.root / parts[0] / parts[1]).resolve()
        if not path.is_relative_to(self.root):
            raise WebError("the path leads out of the server's output folder")
        if not path.is_file():
            raise WebError("no such file (outputs are kept while the server runs; older ones are removed)", 404)
        return path

    def close(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)
