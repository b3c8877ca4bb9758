"""`seqlab serve` under load: concurrent clients against the music and text endpoints.

    python benchmarks/serve.py                  # 20 clients for 60 s
    python benchmarks/serve.py --seconds 20     # a shorter run
    python benchmarks/serve.py --music-clients 2 --text-clients 18   # another mix of the 20

Starts the server in a subprocess on a free port of 127.0.0.1, warms it up (the first request
of each endpoint loads its model; not counted), then runs the clients for --seconds: half ask
POST /api/music/generate for one tune (sampled, checked, rendered as MIDI, WAV and SVG sheet
music; a new seed each time), half POST /api/text/predict for the next words of a prompt that
grows as if typed (10 and 10 by default). Each client sends its next request when the last is answered. Prints a
markdown table per endpoint: requests/s, p50 and p95 latency, errors, beside the issue's
target (0 errors; p95 of generate-1-tune <= 3 s).

The server samples every request's tunes in one batch, in a process of its own, renders them
in worker processes, and runs other model work in threads, one torch thread each (seqlab
serve's setting); the load average at the start is printed, since another job on the machine
slows every number.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from machine import machine  # benchmarks/machine.py

ROOT = Path(__file__).resolve().parent.parent
TARGET_GENERATE_P95 = 3.0  # seconds, the target for one tune with audio and sheet music
SENTENCE = "This morning I took my cat for a walk in the park and she saw the king of the birds"


@dataclass
class Endpoint:
    name: str
    path: str
    p95_target: float | None  # seconds, or None when only errors have a target
    latencies: list[float] = field(default_factory=list)
    errors: Counter = field(default_factory=Counter)  # "503 the server is busy ..." -> count
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, seconds: float, error: str | None) -> None:
        with self.lock:
            if error is None:
                self.latencies.append(seconds)
            else:
                self.errors[error] += 1


def music_body(client: int, number: int) -> dict:
    return {"count": 1, "seed": client * 100_000 + number}


def text_body(client: int, number: int) -> dict:
    # A prompt as it grows while someone types: 3 characters, 4, ..., then it starts over.
    length = 3 + (client * 7 + number) % (len(SENTENCE) - 3)
    return {"prompt": SENTENCE[:length], "top": 5}


def post(connection: http.client.HTTPConnection, path: str, body: dict) -> tuple[int, dict]:
    connection.request("POST", path, body=json.dumps(body), headers={"Content-Type": "application/json"})
    response = connection.getresponse()
    return response.status, json.loads(response.read() or b"{}")


def client_loop(port: int, endpoint: Endpoint, make_body, client: int, deadline: float) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    number = 0
    while time.monotonic() < deadline:
        started = time.monotonic()
        try:
            status, answer = post(connection, endpoint.path, make_body(client, number))
            error = None if status == 200 else f"{status} {answer.get('error', '')}"
        except (OSError, http.client.HTTPException, ValueError) as failure:
            error = f"{type(failure).__name__}: {failure}"
            connection.close()
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
        endpoint.record(time.monotonic() - started, error)
        number += 1
    connection.close()


def start_server(port: int, runs: str, workers: int | None) -> subprocess.Popen:
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    server = subprocess.Popen(
        [sys.executable, "-m", "seqlab", "serve", "--port", str(port), "--runs", runs]
        + ([] if workers is None else ["--workers", str(workers)]),
        env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"seqlab serve stopped: {server.stdout.read()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return server
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit("seqlab serve did not start within 120 s")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))] if ordered else float("nan")


def report(endpoints: list[Endpoint], clients: dict[str, int], seconds: float) -> None:
    print("| endpoint | clients | requests | requests/s | p50 (s) | p95 (s) | errors | target | met? |")
    print("|---|---:|---:|---:|---:|---:|---:|---|:---:|")
    for endpoint in endpoints:
        answered, errors = endpoint.latencies, sum(endpoint.errors.values())
        p50, p95 = statistics.median(answered) if answered else float("nan"), percentile(answered, 0.95)
        target = "0 errors" + (f", p95 <= {endpoint.p95_target:g} s" if endpoint.p95_target else "")
        met = errors == 0 and bool(answered) and (endpoint.p95_target is None or p95 <= endpoint.p95_target)
        print(f"| {endpoint.name} | {clients[endpoint.name]} | {len(answered) + errors} | "
              f"{(len(answered) + errors) / seconds:.2f} | {p50:.2f} | {p95:.2f} | {errors} | {target} | "
              f"{'yes' if met else 'no'} |")
    for endpoint in endpoints:
        for message, count in endpoint.errors.most_common(3):
            print(f"\n{endpoint.name}: {count} x {message[:200]}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="how long the clients run (default 60)")
    parser.add_argument("--music-clients", type=int, default=10, help="clients asking for tunes (default 10)")
    parser.add_argument("--text-clients", type=int, default=10, help="clients asking for next words (default 10)")
    parser.add_argument("--workers", type=int, default=None, help="seqlab serve --workers (default: its own)")
    args = parser.parse_args()
    if args.seconds <= 0 or min(args.music_clients, args.text_clients) < 0 or args.music_clients + args.text_clients < 1:
        parser.error("--seconds must be > 0, and the clients 0 or more, at least one in all")

    endpoints = [
        Endpoint("music generate (1 tune, WAV + SVG)", "/api/music/generate", TARGET_GENERATE_P95),
        Endpoint("text predict (top 5 next words)", "/api/text/predict", None),
    ]
    bodies = [music_body, text_body]
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="seqlab-bench-") as runs:
        server = start_server(port, runs, args.workers)
        try:
            warm = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
            for endpoint, make_body in zip(endpoints, bodies):
                status, answer = post(warm, endpoint.path, make_body(0, 0))
                if status != 200:
                    raise SystemExit(f"warm-up {endpoint.path} answered {status}: {answer}")
            warm.close()

            load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
            counts = {endpoints[0].name: args.music_clients, endpoints[1].name: args.text_clients}
            deadline = time.monotonic() + args.seconds
            threads = [
                threading.Thread(target=client_loop, args=(port, endpoint, make_body, client, deadline))
                for endpoint, make_body in zip(endpoints, bodies)
                for client in range(counts[endpoint.name])
            ]
            started = time.monotonic()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            elapsed = time.monotonic() - started
        finally:
            server.terminate()
            server.wait(timeout=30)

    print(f"# seqlab serve: {args.music_clients + args.text_clients} concurrent clients for {args.seconds:g} s "
          f"(measured {elapsed:.1f} s, the last answers included)\n")
    threads = "seqlab serve's default" if args.workers is None else f"--workers {args.workers}"
    print(f"{machine()}; load average {load:.2f} when the clients started; server threads: {threads}\n")
    report([endpoint for endpoint in endpoints if counts[endpoint.name]], counts, elapsed)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
