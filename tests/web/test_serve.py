"""`seqlab serve` on the command line, and the pieces that make requests safe to share: the
models loaded once, the worker pools' queue and time limits."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from seqlab.web.work import SharedModels, WebError, WorkPool
from tests.helpers import one_line_error, run

from .helpers import free_port

ROOT = Path(__file__).resolve().parents[2]


def test_help_names_serve_without_importing_the_web_stack():
    script = ("import sys; from seqlab.cli import main; main(['--help']); "
              "print(any(name.startswith(('starlette', 'uvicorn', 'seqlab.web')) for name in sys.modules))")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert "serve" in done.stdout and done.stdout.strip().endswith("False")


def test_serve_help_says_it_binds_this_machine_only():
    code, out, _ = run(["serve", "--help"])
    assert code == 0 and "--host" in out and "127.0.0.1" in out and "--port" in out


@pytest.mark.parametrize("argv, expected", [
    (["serve", "--port", "0"], "--port must be from 1 to 65,535"),
    (["serve", "--port", "http"], "--port expected a whole number"),
    (["serve", "--workers", "0"], "--workers must be from 1"),
])
def test_serve_refuses_bad_options_in_one_line(argv, expected):
    code, _, err = run(argv)
    one_line_error(code, err, expected)


def test_a_port_in_use_is_one_line():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, _, err = run(["serve", "--port", str(port)])
    one_line_error(code, err, f"cannot listen on 127.0.0.1:{port}")


def test_serve_answers_on_127_0_0_1():
    port = free_port()
    environment = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    server = subprocess.Popen([sys.executable, "-m", "seqlab", "serve", "--port", str(port), "--runs", "no-such-folder"],
                              cwd=ROOT, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=5) as answer:
                    health = json.load(answer)
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, server.stdout.read()
                time.sleep(0.2)
        assert health["ok"] and "music" in health["pages"]
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=30)
    assert f"http://127.0.0.1:{port}/" in output and "Traceback" not in output


# ----------------------------------------------------------------------------- shared pieces
def test_a_model_loads_once_for_concurrent_requests():
    models, loads = SharedModels(), []

    def load():
        loads.append(1)
        time.sleep(0.1)
        return "model"

    threads = [threading.Thread(target=models.get, args=("music", load)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(loads) == 1 and models.get("music", load) == "model"


def test_a_full_pool_answers_busy_and_a_slow_request_times_out():
    async def scenario():
        release = threading.Event()
        pool = WorkPool("generation", workers=1, max_pending=1, seconds=5)
        first = asyncio.ensure_future(pool.run(release.wait))
        await asyncio.sleep(0.05)
        with pytest.raises(WebError, match="busy: 1 generation requests") as busy:
            await pool.run(time.sleep, 0)
        assert busy.value.status == 503
        release.set()
        assert await first is True
        assert pool.pending == 0

        slow = WorkPool("generation", workers=1, max_pending=4, seconds=0.05)
        with pytest.raises(WebError, match="took longer than 0.05 s") as late:
            await slow.run(time.sleep, 0.5)
        assert late.value.status == 504
        slow.close()
        pool.close()

    asyncio.run(scenario())


def test_a_request_in_two_pools_has_one_time_limit():
    """The music page samples in one pool and renders in another: the second pool gives the
    request only the time the first left it."""
    async def scenario():
        first = WorkPool("music sampling", workers=1, max_pending=4, seconds=1.0)
        second = WorkPool("generation", workers=2, max_pending=4, seconds=1.0)
        arrived = time.monotonic()
        await first.run(time.sleep, 0.6, started=arrived)
        with pytest.raises(WebError, match="took longer than 1 s") as late:
            await second.run(time.sleep, 0.6, started=arrived)  # alone it would have been in time
        assert late.value.status == 504
        assert await second.run(time.sleep, 0.6) is None  # counted from now: in time
        first.close()
        second.close()

    asyncio.run(scenario())
