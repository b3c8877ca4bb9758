"""The pages of `seqlab serve`, and how a page plugs in.

A page is one module of seqlab/web/pages that defines `PAGE = Page(...)`: its address, its
template, its API calls (served under /api/<slug>/) and, if it keeps state, a `setup` that
makes it when the server starts. Adding an application's page is writing that module and
naming it in PAGE_MODULES below; the server adds its route, its place in the navigation and
on the front page.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # only for the type hints: this module is imported before the web stack
    from starlette.requests import Request

    from .app import Runtime

# The order of the navigation and of the front page.
PAGE_MODULES = (
    "seqlab.web.pages.music",
    "seqlab.web.pages.text",
    "seqlab.web.pages.sentiment",
    "seqlab.web.pages.gradients",
    "seqlab.web.pages.longterm",
)


@dataclass(frozen=True)
class Api:
    """One API call of a page: `handler(request, runtime)` returns what is sent as JSON."""

    path: str  # under /api/<slug>/, e.g. "generate"
    handler: Callable[[Request, Runtime], Awaitable[dict]]
    methods: tuple[str, ...] = ("POST",)


@dataclass(frozen=True)
class Page:
    slug: str  # the page is /<slug>, its API calls /api/<slug>/...
    title: str  # in the navigation
    summary: str  # one sentence on the front page
    template: str  # in seqlab/web/templates, extending layout.html
    apis: tuple[Api, ...] = ()
    # What the template needs beyond the page itself (say the dances to choose from).
    context: Callable[[Runtime], dict[str, Any]] = field(default=lambda runtime: {})
    # Run once when the server starts, for a page that keeps state in runtime.pages[slug].
    setup: Callable[[Runtime], None] | None = None


def load_pages(modules: tuple[str, ...] = PAGE_MODULES) -> list[Page]:
    pages = [importlib.import_module(name).PAGE for name in modules]
    slugs = [page.slug for page in pages]
    duplicated = {slug for slug in slugs if slugs.count(slug) > 1}
    if duplicated:
        raise ValueError(f"two pages have the address /{duplicated.pop()}")
    return pages
