"""Rendering tunes (MIDI, WAV, SVG sheet music) in worker processes.

Rendering is music21 (read the ABC, play the repeats out, write MIDI) and NumPy, nearly all of
it pure Python, and music21 leaves many objects for the garbage collector. In the server's
process it would hold Python's interpreter lock against the threads that answer the other
pages (the text page's beam search is pure Python too): a busy music page would slow every
other answer. Each worker keeps its own verovio worker (render.Engraver) between requests.
"""

from __future__ import annotations

import multiprocessing
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from seqlab.music.render import Engraver, Rendering, render_tunes

from .work import WebError

# A tune music21 reads in full (beams, repeats, MIDI): rendered once as a worker starts, so
# that the first request it takes does not wait for music21's imports.
WARM_UP_TUNE = "X:1\nT:Warm up\nM:6/8\nL:1/8\nK:D\n|:DFA dAF|GBd gdB:|\n"

_engraver: Engraver | None = None  # in a worker process: its verovio worker, kept between requests


class RenderPool:
    """`workers` processes that write tunes' files (render_tunes) into the server's store.

    A worker that dies (killed, out of memory) breaks the pool: the request that saw it gets
    WebError 503, and the next request gets a new pool.
    """

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._lock = threading.Lock()
        self._pool: ProcessPoolExecutor | None = None

    def start(self) -> None:
        """Start the workers now (each reads music21 first: a second or two), rather than
        when the first requests arrive."""
        pool = self._current()
        for _ in range(self.workers):
            pool.submit(_warm_up)

    def render(self, tunes: list[str], folder: Path, timeout: float | None = None) -> list[Rendering]:
        """render_tunes(tunes, folder) in a worker: blocks until it is done (the caller is a
        thread of the server's generation pool, which bounds how many wait here)."""
        pool = self._current()
        try:
            return pool.submit(_render, tunes, folder).result(timeout)
        except TimeoutError:  # the request has been answered 504 already; free this thread
            raise WebError("the request ran past its time limit while rendering", 504) from None
        except BrokenProcessPool:
            with self._lock:
                if self._pool is pool:
                    self._pool = None  # the next request starts new workers
            raise WebError("a rendering process stopped; try again", 503) from None

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

    def _current(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                # Spawned, not forked: a fork copies the server's threads' locks in whatever
                # state they are.
                self._pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"))
            return self._pool


def _render(tunes: list[str], folder: Path) -> list[Rendering]:
    global _engraver
    if _engraver is None:
        _engraver = Engraver()  # stopped with the worker: its stdin closes, and it ends
    return render_tunes(tunes, folder, engraver=_engraver)


def _warm_up() -> None:
    import tempfile

    with tempfile.TemporaryDirectory(prefix="seqlab-") as folder:
        _render([WARM_UP_TUNE], Path(folder))
