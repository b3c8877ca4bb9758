"""Long runs started from a page (`seqlab gradients run`, `seqlab longterm table`), shown with
their progress.

A run is the seqlab command itself in a child process, writing into a folder of the output
store: it keeps the server's threads free and its memory its own, and can be stopped. Its
printed lines are the progress (each command prints one line per finished stage); a run
that passes its time limit is killed. One run per page at a time. The page shows the last
finished run's plots and tables, to start with those the command wrote earlier into
runs/<page> (ServerSettings.runs), if any.
"""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.requests import Request

import seqlab

from .inputs import read_json
from .registry import Api, Page
from .work import WebError

if TYPE_CHECKING:  # the app imports the pages (and so this module): only the type hints need it
    from .app import Runtime

MAX_LINES = 200  # printed lines kept per run
MAX_ROWS = 60  # rows of a table shown on the page


@dataclass(frozen=True)
class Table:
    title: str
    columns: list[str]
    rows: list[list[str]]


@dataclass(frozen=True)
class JobSpec:
    kind: str  # the page's slug, and where the command writes by default: runs/<kind>
    command: tuple[str, ...]  # `seqlab` words, e.g. ("gradients", "run"); --out is added
    options: tuple[str, ...]  # the page's small settings
    about: str  # what the button makes, and about how long it takes
    images: tuple[str, ...]  # the plots it writes
    downloads: tuple[str, ...]  # its tables, as files
    progress: Callable[[list[str]], float]  # printed lines so far -> 0..1
    table: Callable[[Path], Table | None]  # the table to show, from the folder of a finished run


class JobRunner:
    """One page's runs: at most one at a time, and the outputs of the last one that finished."""

    def __init__(self, spec: JobSpec, runtime: Runtime) -> None:
        self.spec = spec
        self.store = runtime.store
        self.options = runtime.settings.job_options.get(spec.kind, spec.options)
        self.seconds = runtime.settings.job_seconds
        self._lock = threading.Lock()
        self._state = "idle"  # idle, running, done, failed
        self._lines: list[str] = []
        self._error: str | None = None
        self._started = self._ended = 0.0
        self._process: subprocess.Popen | None = None
        self._result: Path | None = None  # the folder of the outputs shown
        self._source = ""

    # ------------------------------------------------------------------ outputs made earlier
    def show_earlier(self, runs: Path | None) -> None:
        """Show what `seqlab <kind>` wrote into runs/<kind> earlier: copied into the store,
        the only place files are served from."""
        if runs is None:
            return
        earlier = runs / self.spec.kind
        if not all((earlier / name).is_file() for name in self.spec.images):
            return
        folder = self.store.new_folder(pinned=True)
        for name in self.spec.images + self.spec.downloads:
            if (earlier / name).is_file():
                shutil.copyfile(earlier / name, folder / name)
        self._result, self._source = folder, f"made earlier, read from {earlier}"

    # ------------------------------------------------------------------ a run
    def start(self) -> dict:
        with self._lock:
            if self._state == "running":
                raise WebError(f"a {self.spec.kind} run is already running "
                               f"({round(100 * self.spec.progress(self._lines))}% done); wait for it", 409)
            folder = self.store.new_folder(pinned=True)
            self._state, self._lines, self._error = "running", [], None
            self._started, self._ended = time.time(), 0.0
        threading.Thread(target=self._run, args=(folder,), name=f"seqlab-{self.spec.kind}", daemon=True).start()
        return self.status()

    def _run(self, folder: Path) -> None:
        arguments = [sys.executable, "-m", "seqlab", *self.spec.command, "--out", str(folder), *self.options]
        # The child imports this same seqlab (also when it runs from a source tree), and one
        # thread leaves the other cores to the server's requests.
        root = str(Path(seqlab.__file__).resolve().parent.parent)
        path = os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))
        environment = {**os.environ, "PYTHONPATH": path, "OMP_NUM_THREADS": "1"}
        log_path = folder / "run.log"  # progress bars and errors; a .log is never served
        timed_out = threading.Event()
        try:
            with open(log_path, "w", encoding="utf-8") as log:
                process = subprocess.Popen(arguments, stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL,
                                           text=True, encoding="utf-8", errors="replace", env=environment, cwd=folder)
                with self._lock:
                    self._process = process
                timer = threading.Timer(self.seconds, lambda: (timed_out.set(), process.kill()))
                timer.start()
                for line in process.stdout:
                    with self._lock:
                        self._lines = (self._lines + [line.rstrip("\n")])[-MAX_LINES:]
                code = process.wait()
                timer.cancel()
        except OSError as error:
            return self._finish(folder, f"the run could not start: {error.strerror or error}")
        if code == 0:
            return self._finish(folder, None)
        if timed_out.is_set():
            return self._finish(folder, f"the run took longer than {self.seconds:g} s and was stopped")
        return self._finish(folder, _last_error(log_path) or f"the run stopped with exit code {code}")

    def _finish(self, folder: Path, error: str | None) -> None:
        with self._lock:
            self._process, self._ended = None, time.time()
            if error is not None:
                self._state, self._error = "failed", error
                shutil.rmtree(folder, ignore_errors=True)
                return
            previous, self._result = self._result, folder
            self._state, self._source = "done", f"made here, {time.strftime('%H:%M:%S')}"
        if previous is not None:
            shutil.rmtree(previous, ignore_errors=True)

    def stop(self) -> None:
        with self._lock:
            process = self._process
        if process is not None:
            process.kill()

    # ------------------------------------------------------------------ what the page shows
    def status(self) -> dict:
        with self._lock:
            state, lines, error, result, source = self._state, list(self._lines), self._error, self._result, self._source
            seconds = (self._ended or time.time()) - self._started if self._started else 0.0
        return {
            "kind": self.spec.kind,
            "state": state,
            "progress": 1.0 if state == "done" else self.spec.progress(lines),
            "message": lines[-1] if lines else ("starting: importing torch" if state == "running" else ""),
            "lines": lines[-20:],
            "seconds": round(seconds, 1),
            "error": error,
            "outputs": self.outputs(result, source),
        }

    def outputs(self, folder: Path | None, source: str) -> dict[str, Any] | None:
        if folder is None:
            return None
        table = self.spec.table(folder)
        return {
            "source": source,
            "images": [self._file(folder / name) for name in self.spec.images if (folder / name).is_file()],
            "downloads": [self._file(folder / name) for name in self.spec.downloads if (folder / name).is_file()],
            "table": None if table is None else {"title": table.title, "columns": table.columns, "rows": table.rows},
        }

    def _file(self, path: Path) -> dict[str, str]:
        return {"name": path.name, "url": self.store.url(path)}


def _last_error(log: Path) -> str | None:
    """The command's one-line error (`seqlab: error: ...`), or its last line of output."""
    try:
        lines = [line.strip() for line in log.read_text(encoding="utf-8", errors="replace").splitlines() if line.strip()]
    except OSError:
        return None
    errors = [line for line in lines if line.startswith("seqlab: error:")]
    return (errors or lines or [None])[-1]


def read_csv(path: Path) -> list[dict[str, str]]:
    try:
        with open(path, newline="", encoding="utf-8") as file:
            return list(csv.DictReader(file))
    except (OSError, csv.Error, UnicodeDecodeError):
        return []


def page_context(runner: JobRunner, description: str) -> dict[str, str]:
    spec = runner.spec
    return {
        "description": description,
        # The settings in words only when they are the page's own (a server may be given others).
        "about": spec.about if runner.options == spec.options else "the settings this server was given",
        "command": " ".join(("seqlab", *spec.command, "--out", "DIR", *runner.options)),
    }


def job_page(spec: JobSpec, title: str, summary: str, description: str) -> Page:
    """A page that runs `spec` with a button and shows its progress, plots and table."""

    async def run(request: Request, runtime: Runtime) -> dict:
        fields = await read_json(request, runtime.settings.max_body_bytes)
        fields.done()
        return runtime.pages[spec.kind].start()

    async def status(request: Request, runtime: Runtime) -> dict:
        return runtime.pages[spec.kind].status()

    def setup(runtime: Runtime) -> None:
        runner = JobRunner(spec, runtime)
        runner.show_earlier(runtime.settings.runs)
        runtime.pages[spec.kind] = runner
        runtime.closers.append(runner.stop)

    return Page(
        slug=spec.kind,
        title=title,
        summary=summary,
        template="job.html",
        apis=(Api("run", run), Api("status", status, methods=("GET",))),
        context=lambda runtime: page_context(runtime.pages[spec.kind], description),
        setup=setup,
    )
