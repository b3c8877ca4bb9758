"""The web app of `seqlab serve`: the shared layout, the pages of the registry, their API
calls, the output store's files and the static files, and the one way errors are answered.

Errors: an API call that fails answers its HTTP status and `{"error": "<one line>"}`; a page
that fails shows the message in the layout. A user's error (SeqlabError, from seqlab or from
the checks here) keeps its message; anything else is a bug, logged with its traceback on
the server's console and answered 500 with a line that says so: never a traceback in the
browser, and the server goes on.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from seqlab import __version__
from seqlab.errors import SeqlabError

from .registry import Page, load_pages
from .store import MEDIA_TYPES, OutputStore
from .work import SharedModels, WebError, WorkPool, one_line

logger = logging.getLogger("seqlab.web")
HERE = Path(__file__).parent
INTERNAL_ERROR = "internal error: the server could not answer this request (its console has the details)"

# Every page loads only from this server (no CDN, no other host). Inline styles: verovio's
# SVG carries its own <style>.
PAGE_POLICY = ("default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; media-src 'self'; "
               "object-src 'none'; base-uri 'none'; frame-ancestors 'none'")
# A stored file opened on its own (an SVG) runs nothing.
FILE_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox"


@dataclass
class ServerSettings:
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = max(1, min(4, os.cpu_count() or 1))  # threads for model work, per pool; processes that render tunes
    max_pending: int = 32  # requests waiting or running per pool; one more is answered 503
    request_seconds: float = 60.0  # a request waits this long for its answer, then 504
    max_body_bytes: int = 64 * 1024
    checkpoints: dict[str, str] = field(default_factory=dict)  # "music" -> a checkpoint folder
    # Where `seqlab gradients run` and `seqlab longterm table` wrote by default (runs/gradients,
    # runs/longterm): their plots and tables are shown until the page makes new ones.
    runs: Path | None = Path("runs")
    # A page's job (gradients, longterm) with other options than its small default ones.
    job_options: dict[str, tuple[str, ...]] = field(default_factory=dict)
    job_seconds: float = 900.0
    keep_folders: int = 200  # answers whose files are kept (the oldest go first)


class Runtime:
    """What every request shares: the settings, the models, the worker threads, the output
    store, and the pages' own state (`pages[slug]`)."""

    def __init__(self, settings: ServerSettings) -> None:
        self.settings = settings
        self.models = SharedModels()
        self.store = OutputStore(keep=settings.keep_folders)
        # Two pools: quick answers (next words, sentiment) never wait behind a batch of tunes.
        self.generation = WorkPool("generation", settings.workers, settings.max_pending, settings.request_seconds)
        self.prediction = WorkPool("prediction", settings.workers, settings.max_pending, settings.request_seconds)
        self.pages: dict[str, Any] = {}
        self.closers: list[Callable[[], None]] = []

    def close(self) -> None:
        for close in self.closers:
            close()
        self.generation.close()
        self.prediction.close()
        self.store.close()


def error_json(message: str, status: int) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def api_endpoint(handler: Callable[[Request, Runtime], Awaitable[dict]], runtime: Runtime):
    """A page's API call, answered as JSON, every failure as a status and one line."""

    async def endpoint(request: Request) -> Response:
        try:
            return JSONResponse(await handler(request, runtime))
        except WebError as error:
            return error_json(str(error), error.status)
        except SeqlabError as error:
            return error_json(one_line(error), 400)
        except Exception:  # noqa: BLE001 - a bug: logged in full here, one line for the browser
            logger.exception("%s %s failed", request.method, request.url.path)
            return error_json(INTERNAL_ERROR, 500)

    return endpoint


class SecurityHeaders:
    """Adds the page policy and nosniff to every answer that has not set its own."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {name.lower() for name, _ in headers}
                for name, value in ((b"content-security-policy", PAGE_POLICY), (b"x-content-type-options", "nosniff"),
                                    (b"referrer-policy", "no-referrer")):
                    if name not in names:
                        headers.append((name, value.encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def create_app(settings: ServerSettings | None = None, pages: list[Page] | None = None) -> Starlette:
    """The app; `pages` defaults to the registry's (seqlab.web.registry.PAGE_MODULES)."""
    settings = settings or ServerSettings()
    pages = load_pages() if pages is None else pages
    runtime = Runtime(settings)
    for page in pages:
        if page.setup is not None:
            page.setup(runtime)
    templates = Jinja2Templates(directory=HERE / "templates")

    def render(request: Request, template: str, context: dict[str, Any], status: int = 200) -> Response:
        shared = {"pages": pages, "version": __version__, "page": None}
        return templates.TemplateResponse(request, template, {**shared, **context}, status_code=status)

    def page_view(page: Page):
        async def view(request: Request) -> Response:
            return render(request, page.template, {"page": page, **page.context(runtime)})

        return view

    async def index(request: Request) -> Response:
        return render(request, "index.html", {})

    async def health(request: Request) -> Response:
        return JSONResponse({
            "ok": True, "version": __version__, "pages": [page.slug for page in pages],
            "pending": {"generation": runtime.generation.pending, "prediction": runtime.prediction.pending},
        })

    async def stored_file(request: Request) -> Response:
        try:
            path = runtime.store.resolve(request.path_params["path"])
        except WebError as error:
            return error_json(str(error), error.status)
        return FileResponse(path, media_type=MEDIA_TYPES[path.suffix], headers={"Content-Security-Policy": FILE_POLICY})

    def wants_json(request: Request) -> bool:
        return request.url.path.startswith(("/api/", "/files/"))

    async def http_error(request: Request, error: Exception) -> Response:
        status = getattr(error, "status_code", 500)
        if status == 404:
            message = f"no such page: {request.url.path}"
        elif status == 405:
            message = f"{request.method} is not allowed at {request.url.path}"
        else:
            message = one_line(error) if status < 500 else INTERNAL_ERROR
        if wants_json(request):
            return error_json(message, status)
        return render(request, "error.html", {"status": status, "message": message}, status)

    async def server_error(request: Request, error: Exception) -> Response:
        # Starlette logs the traceback on the console after this answer.
        if wants_json(request):
            return error_json(INTERNAL_ERROR, 500)
        return render(request, "error.html", {"status": 500, "message": INTERNAL_ERROR}, 500)

    routes: list[Route | Mount] = [
        Route("/", index),
        Route("/api/health", health),
        Route("/files/{path:path}", stored_file),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    for page in pages:
        routes.append(Route(f"/{page.slug}", page_view(page)))
        for api in page.apis:
            routes.append(Route(f"/api/{page.slug}/{api.path}", api_endpoint(api.handler, runtime), methods=list(api.methods)))

    @asynccontextmanager
    async def lifespan(app: Starlette):
        yield
        runtime.close()

    app = Starlette(
        routes=routes,
        middleware=[Middleware(SecurityHeaders)],
        exception_handlers={HTTPException: http_error, Exception: server_error},
        lifespan=lifespan,
    )
    app.state.runtime = runtime
    app.state.pages = pages
    return app
