"""The web tests' fixtures: the app with the shipped models and small job settings, a
TestClient on it, and the same kind of app served by uvicorn on a free port (for raw HTTP and
the browser)."""

from __future__ import annotations

import threading
import time

import pytest

pytest.importorskip("starlette", reason="the web app needs starlette: pip install -e .")

from starlette.testclient import TestClient  # noqa: E402

from seqlab.web.app import create_app  # noqa: E402

from .helpers import free_port, small_settings  # noqa: E402


@pytest.fixture(scope="session")
def client():
    """One app for the session: its models load once, as in a running server."""
    with TestClient(create_app(small_settings())) as client:
        yield client


@pytest.fixture(scope="session")
def live_server():
    """The app served by uvicorn in a background thread: its base URL."""
    uvicorn = pytest.importorskip("uvicorn")
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(small_settings()), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="seqlab-test-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("uvicorn did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
