"""Reading a request: a JSON body of bounded size, and each field checked against its limits
with a one-line reason (the same words for every page)."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from typing import Any

from starlette.requests import Request

from .work import WebError

WHOLE_NUMBER = re.compile(r"[+-]?[0-9]{1,30}")  # as text from an HTML input; longer is no count


async def read_json(request: Request, limit: int) -> Fields:
    """The request's JSON object, refused when it is not JSON (415, 400) or larger than
    `limit` bytes (413: read no further than that, whatever Content-Length claims).

    Requiring Content-Type application/json also means another web site cannot post to this
    server from a person's browser without the browser asking first (CORS), which it does
    not allow."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "application/json":
        raise WebError("send the request body as JSON (Content-Type: application/json)", 415)
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise WebError(f"the request body has {int(declared):,} bytes; the limit is {limit:,}", 413)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise WebError(f"the request body is larger than the limit of {limit:,} bytes", 413)
    try:
        data = json.loads(bytes(body) or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise WebError("the request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise WebError("the request body must be a JSON object, such as {\"count\": 1}")
    return Fields(data)


def _shown(value: Any) -> str:
    """A value as an error message quotes it: short, on one line."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


class Fields:
    """A request's fields. A missing field, null or an empty string takes the default; a
    number may come as a string (an HTML input's value). `done()` refuses unknown fields,
    so a misspelt one is not silently ignored."""

    def __init__(self, data: dict[str, Any]) -> None:
        self._data = data
        self._read: set[str] = set()

    def _value(self, name: str) -> Any:
        self._read.add(name)
        value = self._data.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        return value

    def integer(self, name: str, low: int, high: int, default: int | None = None) -> int | None:
        value = self._value(name)
        if value is None:
            return default
        number = None
        if isinstance(value, int) and not isinstance(value, bool):
            number = value
        elif isinstance(value, str) and WHOLE_NUMBER.fullmatch(value.strip()):
            number = int(value.strip())
        if number is None:
            raise WebError(f"{name} must be a whole number, got {_shown(value)}")
        if not low <= number <= high:
            raise WebError(f"{name} must be from {low:,} to {high:,}, got {number:,}")
        return number

    def number(self, name: str, low: float, high: float, default: float | None = None) -> float | None:
        value = self._value(name)
        if value is None:
            return default
        number = None
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            number = float(value)
        elif isinstance(value, str):
            try:
                number = float(value)
            except ValueError:
                pass
        if number is None or not math.isfinite(number):
            raise WebError(f"{name} must be a number, got {_shown(value)}")
        if not low <= number <= high:
            raise WebError(f"{name} must be from {low:g} to {high:g}, got {number:g}")
        return number

    def text(self, name: str, limit: int, default: str | None = None, required: bool = False) -> str | None:
        value = self._value(name)
        if value is None:
            if required:
                raise WebError(f"{name} is empty; give some text")
            return default
        if not isinstance(value, str):
            raise WebError(f"{name} must be text, got {_shown(value)}")
        if len(value) > limit:
            raise WebError(f"{name} has {len(value):,} characters; give at most {limit:,}")
        return value

    def choice(self, name: str, options: Iterable[str], default: str | None = None) -> str | None:
        value = self.text(name, 100, default)
        options = list(options)
        if value is not None and value not in options:
            raise WebError(f"{name} must be one of {', '.join(options)}, got {_shown(value)}")
        return value

    def done(self) -> None:
        unknown = [name for name in self._data if name not in self._read]
        if unknown:
            known = ", ".join(sorted(self._read)) or "none"
            raise WebError(f"unknown field {_shown(unknown[0])} (this request takes: {known})")
