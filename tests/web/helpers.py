"""What the web tests share besides fixtures: the app's settings for tests, a free port, and a
raw HTTP GET that sends a path exactly as written."""

from __future__ import annotations

import socket

from seqlab.web.app import ServerSettings

# The gradients button in tests: 2 training steps at T = 5 (a few seconds, most of it imports).
SMALL_JOBS = {"gradients": ("--steps", "2", "--length", "5", "--seed", "0")}


def small_settings(**changes) -> ServerSettings:
    settings = ServerSettings(runs=None, job_options=SMALL_JOBS, workers=2)
    for name, value in changes.items():
        setattr(settings, name, value)
    return settings


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def raw_get(base_url: str, path: str) -> tuple[int, bytes]:
    """GET `path` exactly as written (no client tidies `..` away): the status and the body."""
    host, port = base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode("latin-1"))
        response = b""
        while chunk := connection.recv(65536):
            response += chunk
    head, _, body = response.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), body
