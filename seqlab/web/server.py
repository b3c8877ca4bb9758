"""`seqlab serve`: the command line of the web app (seqlab.web.app), run by uvicorn.

Imported by seqlab.cli only when `serve` runs; the web stack (Starlette, uvicorn, Jinja2) is
imported only once the options are read, so a missing package is a one-line error.
"""

from __future__ import annotations

import argparse
import ipaddress
import socket
from pathlib import Path

from seqlab.errors import SeqlabError
from seqlab.tasks.frame import bounded_int


def add_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1",
                        help="the address to listen on (default 127.0.0.1: this machine only; the app has no login)")
    parser.add_argument("--port", type=bounded_int(1, 65_535), default=8000, help="default 8000")
    parser.add_argument("--workers", type=bounded_int(1, 64), default=None,
                        help="threads for model work, and processes that render tunes (default: the cores, at most 4)")
    parser.add_argument("--timeout", type=bounded_int(1, 3_600), default=60,
                        help="seconds a request may take before it is answered 504 (default 60)")
    for task in ("music", "text", "sentiment"):
        parser.add_argument(f"--{task}-checkpoint", default=None, metavar="DIR",
                            help=f"a {task} checkpoint (default: the model shipped with seqlab)")
    parser.add_argument("--runs", default="runs", metavar="DIR",
                        help="show the plots that `seqlab gradients run` and `seqlab longterm table` wrote into "
                        "DIR/gradients and DIR/longterm (default: runs)")
    parser.set_defaults(run=run_serve)


def run_serve(args) -> int:
    try:
        import uvicorn

        from seqlab.web.app import ServerSettings, create_app
    except ImportError as error:
        raise SeqlabError(f"seqlab serve needs {error.name}: pip install -e . (or pip install starlette uvicorn jinja2)") from None
    check_port_free(args.host, args.port)
    settings = ServerSettings(
        host=args.host,
        port=args.port,
        request_seconds=float(args.timeout),
        checkpoints={task: path for task in ("music", "text", "sentiment")
                     if (path := getattr(args, f"{task}_checkpoint")) is not None},
        runs=Path(args.runs),
    )
    if args.workers is not None:
        settings.workers = args.workers
    # Requests run side by side in threads: one torch thread each is faster than threads
    # that wait on each other for the same cores.
    import torch

    torch.set_num_threads(1)
    if not _is_loopback(args.host):
        print(f"note: --host {args.host} lets other machines reach this app, which has no login")
    print(f"seqlab serve: http://{_shown_host(args.host)}:{args.port}/  (Ctrl+C stops it)", flush=True)
    uvicorn.run(create_app(settings), host=args.host, port=args.port, log_level="warning")
    return 0


def check_port_free(host: str, port: int) -> None:
    """A one-line error now, rather than uvicorn's log lines, when the port is taken."""
    try:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
    except OSError as error:
        raise SeqlabError(f"cannot listen on {host}:{port}: {error.strerror or error}; give another --port or --host") from None


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _shown_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
