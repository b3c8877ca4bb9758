"""What requests share, kept safe to share: the models (each loaded once, on first use), the
worker threads that run model work off the event loop (with a queue limit and a time limit),
and the errors a request can end with.

Sampling never shares state between requests: each request seeds its own torch.Generator
(generate_tunes and generate_text make one from the request's seed), and a model is only
read, never changed, by sampling. Requests that sample tunes share a batch
(seqlab.web.batching), each job in it drawing from its own request's generator.
"""

from __future__ import annotations

import asyncio
import gc
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Callable, TypeVar

from seqlab.errors import SeqlabError

T = TypeVar("T")


class WebError(SeqlabError):
    """A request the server refuses or cannot answer: the HTTP status and a one-line reason."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(" ".join(str(message).split()))  # one line, whatever the cause said
        self.status = status


def one_line(error: BaseException) -> str:
    """An error's message as one line (the first), or its type's name when it has none."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


class SharedModels:
    """Each model loaded once, by the first request that needs it, and shared by all.

    A lock per model: a second request that arrives while the model loads waits for that
    load instead of starting its own; requests for other models do not wait.
    """

    def __init__(self) -> None:
        self._loaded: dict[str, Any] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def get(self, name: str, load: Callable[[], T]) -> T:
        if name in self._loaded:
            return self._loaded[name]
        with self._guard:
            lock = self._locks.setdefault(name, threading.Lock())
        with lock:
            if name not in self._loaded:
                try:
                    self._loaded[name] = load()
                except SeqlabError as error:
                    # The server's own model is missing or broken: not the request's fault.
                    raise WebError(f"the {name} model cannot be loaded: {one_line(error)}", 503) from None
                # What was just loaded (the model, the modules its requests use: torch,
                # music21) lives as long as the server. Frozen, the garbage collector leaves it
                # out of its full passes, which otherwise read every object each time: about
                # 0.1 s with the music page's, taken from every running request.
                gc.freeze()
        return self._loaded[name]


class WorkPool:
    """Threads for model work, so the event loop keeps answering while a model samples.

    At most `max_pending` requests wait or run at once; one more is answered 503 at once
    (a person sees "busy, try again" instead of an endless spinner). A request that waits
    longer than `seconds` is answered 504; if its work has not started it never will, and
    work already running finishes in its thread (Python cannot stop a thread) before its
    place is given back.
    """

    def __init__(self, name: str, workers: int, max_pending: int, seconds: float) -> None:
        self.name = name
        self.max_pending = max_pending
        self.seconds = seconds
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"seqlab-{name}")
        self._pending = 0
        self._lock = threading.Lock()

    @property
    def pending(self) -> int:
        with self._lock:
            return self._pending

    async def run(self, function: Callable[..., T], *args: Any, started: float | None = None) -> T:
        """`function(*args)` in a worker thread. `started`: when the request arrived
        (time.monotonic()), for a request that runs in more than one pool; its time limit
        counts from then."""
        limit = self.seconds if started is None else self.seconds - (time.monotonic() - started)
        with self._lock:
            if self._pending >= self.max_pending:
                raise WebError(
                    f"the server is busy: {self._pending} {self.name} requests are waiting or running; "
                    "try again in a moment", 503)
            self._pending += 1
        try:
            future = self._executor.submit(function, *args)
        except RuntimeError:  # shut down: the server is stopping
            self._finished(None)
            raise WebError("the server is stopping", 503) from None
        future.add_done_callback(self._finished)
        try:
            return await asyncio.wait_for(asyncio.wrap_future(future), max(0.0, limit))
        except asyncio.TimeoutError:  # wait_for has cancelled the work if it had not started
            raise WebError(f"the request took longer than {self.seconds:g} s; ask for less (fewer tunes, a shorter "
                           "text) or try again when the server is less busy", 504) from None

    def _finished(self, future: Future | None) -> None:
        with self._lock:
            self._pending -= 1

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
