"""Cross-request batching: the streams of every request that samples from one model run
together, one batch through the model, in a process of their own.

One batch: a step of the model is a few matrix products over the batch's rows, and a CPU does
a row's share of one over many rows in about half the time it takes over a few; the Python
around each step is paid once for all. A request's job joins the batch at the next step (no
window to wait for: the batch never idles while a job waits), leaves it when its last stream
ends or when its caller has enough and closes it, and draws from its own generator only
(seqlab.sample.SamplingJob): a request gets the tunes its seed gives alone, whatever else runs.

A process of its own: a tune takes one step a character, so it is as late as the steps are
slow. In the server's process every torch operation of a step gives up Python's interpreter
lock and must win it back from the threads that read tunes with music21 and search the text
model's beams, in pure Python; under load a step took several times its own CPU time.
"""

from __future__ import annotations

import itertools
import multiprocessing
import queue
import threading
import time
import traceback
from collections.abc import Callable, Generator
from multiprocessing.connection import Connection

import torch

from seqlab.sample import Finished, SamplingJob, StreamBatch

from .work import WebError

STOPPED = "the sampler process stopped; try again"


class BatchedSampler:
    """A child process that samples the streams of every caller together through one model.

    `load()` runs in the child and returns the model and its vocabulary first (a task's
    `load`, as `partial(load_music_model, checkpoint)`): it must be picklable. `streams(job)`
    samples a seqlab.sample.SamplingJob, and is a StreamSampler (`generate_tunes(...,
    sampler=...)`).

    The child works on copies of a job's generator and constraints; when the job's last
    stream ends, the caller's generator is set to the state the job left it in, as if it had
    sampled here (a closed job's generator is left as it was: its caller is done with it).
    An error of one job goes to its caller alone; if the child dies, every waiting caller
    gets WebError 503 and the next job starts a new child.
    """

    def __init__(self, load: Callable[[], tuple], name: str = "sampler") -> None:
        self._load = load
        self._name = name
        self._lock = threading.Lock()  # the pipe's sending end, the child, the callers' queues
        self._keys = itertools.count()
        self._waiting: dict[int, tuple[Connection, queue.SimpleQueue]] = {}  # a job's key -> its child's pipe, its events
        self._closed = False
        self._connection: Connection | None = None
        self._process: multiprocessing.process.BaseProcess | None = None
        with self._lock:
            self._start()

    def streams(self, job: SamplingJob, deadline: float | None = None) -> Generator[Finished, None, None]:
        """Each stream of `job` as it ends, sampled in the shared batch. Closing the generator
        early takes the job's streams still running out of the batch. Past `deadline` (a
        time.monotonic() time) the job is taken out and WebError 504 raised: the request
        has been answered already (seqlab.web.work.WorkPool), and its thread is freed."""
        streams, generator = job.streams, job.generator
        events: queue.SimpleQueue = queue.SimpleQueue()
        with self._lock:
            if self._closed:
                raise WebError("the server is stopping", 503)
            if self._connection is None:
                self._start()
            key, connection = next(self._keys), self._connection
            self._waiting[key] = (connection, events)
            try:
                connection.send((key, job))
            except OSError:  # the child has died; the next job starts another
                del self._waiting[key]
                self._connection = None
                raise WebError(STOPPED, 503) from None
        ended = 0
        try:
            while ended < streams:
                timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
                try:
                    event, state = events.get(timeout=timeout)
                except queue.Empty:
                    raise WebError("the request ran past its time limit while sampling", 504) from None
                if isinstance(event, Exception):
                    raise event
                ended += 1
                if state is not None and generator is not None:
                    generator.set_state(state)
                yield event
        finally:
            with self._lock:
                self._waiting.pop(key, None)
                if ended < streams:  # closed early, failed or too late: out of the batch
                    try:
                        connection.send((key, None))
                    except OSError:
                        pass

    def close(self) -> None:
        """Stop the child; the callers still waiting get WebError 503."""
        with self._lock:
            self._closed = True
            connection, process = self._connection, self._process
            if connection is not None:
                try:
                    connection.send(None)
                except OSError:
                    pass
        if process is not None:
            process.join(timeout=10)
            if process.is_alive():
                process.kill()
                process.join()

    def _start(self) -> None:
        """Start a child (the lock held). Spawned, not forked: a fork copies the server's
        threads' locks in whatever state they are."""
        context = multiprocessing.get_context("spawn")
        connection, child_end = context.Pipe()
        process = context.Process(target=_serve, args=(child_end, self._load), name=f"seqlab-{self._name}", daemon=True)
        process.start()
        child_end.close()
        self._connection, self._process = connection, process
        threading.Thread(target=self._read, args=(connection,), name=f"seqlab-{self._name}-replies", daemon=True).start()

    def _read(self, connection: Connection) -> None:
        """Hand each of the child's events to the caller waiting for it."""
        while True:
            try:
                key, event, state = connection.recv()
            except (EOFError, OSError):
                break
            with self._lock:
                waiting = self._waiting.get(key)
            if waiting is not None:
                waiting[1].put((event, state))
        # The child has ended (closed, or died): nothing more will come for its callers.
        with self._lock:
            if self._connection is connection:
                self._connection = None
            orphans = [events for child, events in self._waiting.values() if child is connection]
        stopped = WebError("the server is stopping" if self._closed else STOPPED, 503)
        for events in orphans:
            events.put((stopped, None))


def _serve(connection: Connection, load: Callable[[], tuple]) -> None:
    """The child: read jobs (and cancellations) between steps, step the batch, send each
    ended stream back with its job's key, until told to stop."""
    torch.set_num_threads(1)  # one core for the batch; the server's threads have the other
    model, vocab = load()[:2]
    model.eval()
    batch = StreamBatch(model, vocab)
    jobs: dict[int, SamplingJob] = {}
    keys: dict[SamplingJob, int] = {}
    left: dict[SamplingJob, int] = {}  # its streams not reported yet
    while True:
        # Every message waiting is read before the next step; with nothing to step, wait.
        while connection.poll(0 if batch.running else None):
            message = connection.recv()
            if message is None:
                return
            key, job = message
            if job is None:  # its caller closed it
                if key in jobs:
                    jobs[key].cancelled = True
                continue
            try:
                batch.add(job)
            except Exception as error:  # noqa: BLE001 - its own prompt's error, for its caller alone
                traceback.print_exc()
                _send(connection, key, error)
                continue
            jobs[key], keys[job], left[job] = job, key, job.streams
        try:
            events = batch.step()
        except Exception as error:  # noqa: BLE001 - the model's step failed: every job in the batch gets it
            traceback.print_exc()  # a bug: its traceback on the server's console
            for key in jobs:
                _send(connection, key, error)
            jobs.clear()
            keys.clear()
            left.clear()
            batch = StreamBatch(model, vocab)
            continue
        for job, event in events:
            if isinstance(event, Exception):
                traceback.print_exception(event)
                _send(connection, keys[job], event)
                left[job] = 0
                continue
            left[job] -= 1
            # The job's last stream: its caller's generator goes on from where this one is.
            state = job.generator.get_state() if left[job] == 0 and job.generator is not None else None
            _send(connection, keys[job], event, state)
        running = set(batch.jobs)
        for job in [job for job in keys if job not in running]:  # ended, failed or cancelled
            del jobs[keys.pop(job)], left[job]


def _send(connection: Connection, key: int, event: Finished | Exception, state: torch.Tensor | None = None) -> None:
    """One event to the server. An error's traceback does not travel with it (the child has
    printed it on the server's console, which it shares)."""
    if isinstance(event, Exception):
        try:
            connection.send((key, event, None))
        except Exception:  # noqa: BLE001 - an error that cannot be pickled goes as its message
            connection.send((key, RuntimeError(f"{type(event).__name__}: {event}"), None))
        return
    connection.send((key, event, state))
