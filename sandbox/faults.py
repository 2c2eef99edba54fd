"""Test-only fault injection: errors, latency, maintenance, layout changes and lost sessions.

Tests post a `FaultRequest` to /api/test/faults; the app's middleware asks the
`Faults` registry for each request whether a fault fires and applies it (see
`apply_fault`). Each request gets at most one fault: the first that matches and fires.
"""

from __future__ import annotations

import asyncio
import html
import logging
import random
import re
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal, Self

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from sandbox.sessions import COOKIE
from sandbox.web import error_page, sessions_of

logger = logging.getLogger(__name__)

FaultKind = Literal["error", "delay", "maintenance", "layout", "expire_session"]
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_ERRORS = {
    400: ("Fejl", "Forespørgslen kunne ikke behandles"),
    403: ("Adgang nægtet", "Du har ikke adgang til denne side"),
    404: ("Fejl", "Siden findes ikke"),
    409: ("Fejl", "Handlingen er i konflikt med sagens tilstand"),
    429: ("For mange forespørgsler", "For mange forespørgsler: vent lidt, og prøv igen"),
}
_SERVER_ERROR = (
    "Intern fejl",
    "Intern fejl: systemet kunne ikke behandle forespørgslen. Prøv igen.",
)
# A page a proxy would show: no menu, tables, test ids or alerts the robot could read as data.
MAINTENANCE_PAGE = """<!doctype html>
<html lang="da">
<head><meta charset="utf-8"><title>Vedligeholdelse – Flyttesystemet</title></head>
<body>
<h1>Systemet er lukket for vedligeholdelse</h1>
<p>Flyttesystemet er midlertidigt lukket. Prøv igen senere.</p>
</body>
</html>
"""
_VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta"})
_POLL_SECONDS = 0.05  # how soon a held request notices DELETE /api/test/faults


class FaultRequest(BaseModel):
    """POST /api/test/faults: what the matching requests suffer, how often and for how long."""

    model_config = ConfigDict(extra="forbid")

    path_prefix: str = Field(min_length=1, pattern=r"^/", description="Paths it applies to.")
    method: str | None = Field(default=None, description="Only this HTTP method; None: any.")
    kind: FaultKind | None = Field(
        default=None, description="None: `delay` for delay_ms without status, else `error`."
    )
    status: int | None = Field(default=None, ge=400, le=599, description="`error`: the status.")
    times: int | None = Field(
        default=None, ge=1, description="Fire at most this often (default 1; with rate: no limit)."
    )
    rate: float | None = Field(default=None, ge=0, le=1, description="Share of requests hit.")
    seed: int | None = Field(default=None, description="Seed of the rate's draws (default 0).")
    after: int = Field(default=0, ge=0, description="Let this many matching requests pass first.")
    delay_ms: int | None = Field(
        default=None, ge=1, le=600_000, description="Wait this long before answering."
    )
    retry_after: int | None = Field(
        default=None, ge=0, description="Retry-After seconds for 429 (default 1) or 503."
    )
    test_id: str | None = Field(default=None, min_length=1, description="`layout`: data-testid.")
    aria_label: str | None = Field(default=None, min_length=1, description="`layout`: aria-label.")
    rename_to: str | None = Field(
        default=None, min_length=1, description="`layout`: new name; None removes the element."
    )

    @field_validator("method")
    @classmethod
    def _known_method(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if value.upper() not in _METHODS:
            raise ValueError(f"unknown HTTP method {value!r}; use one of {sorted(_METHODS)}")
        return value.upper()

    @field_validator("path_prefix")
    @classmethod
    def _not_a_hook(cls, value: str) -> str:
        if value.startswith("/api/test/"):
            raise ValueError("the test hooks under /api/test/ are never faulted")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.kind is None:
            self.kind = "delay" if self.delay_ms is not None and self.status is None else "error"
        if self.kind == "error" and self.status is None:
            self.status = 500
        if self.kind == "delay" and self.delay_ms is None:
            raise ValueError("kind 'delay' needs delay_ms")
        if self.kind != "error" and self.status is not None:
            raise ValueError(
                f"kind {self.kind!r} takes no status; for an error after a delay use "
                "kind 'error' with status and delay_ms"
            )
        if self.retry_after is not None and self.status not in (429, 503):
            raise ValueError("retry_after goes with status 429 or 503 only")
        if self.status == 429 and self.retry_after is None:
            self.retry_after = 1
        if self.seed is not None and self.rate is None:
            raise ValueError("seed goes with rate only")
        if self.rate is not None and self.seed is None:
            self.seed = 0
        if self.rate is None and self.times is None:
            self.times = 1
        layout = (self.test_id, self.aria_label, self.rename_to)
        if self.kind == "layout":
            if (self.test_id is None) == (self.aria_label is None):
                raise ValueError("kind 'layout' needs exactly one of test_id and aria_label")
        elif any(v is not None for v in layout):
            raise ValueError("test_id, aria_label and rename_to go with kind 'layout' only")
        return self

    def matches(self, method: str, path: str) -> bool:
        """True when the request is one this fault is about."""
        return (self.method is None or self.method == method.upper()) and path.startswith(
            self.path_prefix
        )

    def summary(self) -> str:
        """What the fault does, for the log (names no data)."""
        what = {"error": str(self.status), "layout": self.test_id or self.aria_label}
        detail = what.get(self.kind or "error")
        delay = f" after {self.delay_ms} ms" if self.delay_ms else ""
        return f"{self.kind}{f' {detail}' if detail else ''}{delay}"


@dataclass
class _Active:
    spec: FaultRequest
    draws: random.Random | None
    matched: int = 0
    injected: int = 0


class Faults:
    """The injected faults of one app; thread-safe (the server answers requests concurrently)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._active: list[_Active] = []
        self._generation = 0  # bumped by clear(): held requests stop waiting
        self._held = 0

    def add(self, spec: FaultRequest) -> None:
        """Start injecting a fault."""
        draws = random.Random(spec.seed) if spec.rate is not None else None  # noqa: S311
        with self._lock:
            self._active.append(_Active(spec, draws))

    def clear(self) -> None:
        """Remove every fault and answer the requests a delay holds now."""
        with self._lock:
            self._active.clear()
            self._generation += 1

    def take(self, method: str, path: str) -> FaultRequest | None:
        """The fault to apply to this request (counting it), or None."""
        with self._lock:
            for active in list(self._active):
                spec = active.spec
                if not spec.matches(method, path):
                    continue
                active.matched += 1
                if active.matched <= spec.after:
                    continue
                if active.draws is not None and active.draws.random() >= (spec.rate or 0.0):
                    continue
                active.injected += 1
                if spec.times is not None and active.injected >= spec.times:
                    self._active.remove(active)
                return spec
            return None

    def listing(self) -> dict[str, Any]:
        """The active faults with how many requests matched and were hit, and held requests."""
        with self._lock:
            faults = [
                a.spec.model_dump() | {"matched": a.matched, "injected": a.injected}
                for a in self._active
            ]
            return {"faults": faults, "held": self._held}

    async def hold(self, seconds: float) -> None:
        """Wait without blocking the server, until the time is up or the faults are cleared."""
        with self._lock:
            generation = self._generation
            self._held += 1
        deadline = time.monotonic() + seconds
        try:
            while (left := deadline - time.monotonic()) > 0 and self._generation == generation:
                await asyncio.sleep(min(left, _POLL_SECONDS))
        finally:
            with self._lock:
                self._held -= 1


def faults_of(request: Request) -> Faults:
    """The app's fault registry."""
    faults: Faults = request.app.state.faults
    return faults


async def apply_fault(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    """Middleware: answer the request as an injected fault says, or normally."""
    path = request.url.path
    fault = None if path.startswith("/api/test/") else faults_of(request).take(request.method, path)
    if fault is None:
        return await call_next(request)
    # The path only: the query string can hold a CPR number (/cpr?cpr=...).
    logger.warning("injected fault %s for %s %s", fault.summary(), request.method, path)
    if fault.delay_ms:
        await faults_of(request).hold(fault.delay_ms / 1000)
    if fault.kind == "error":
        return _error(request, fault)
    if fault.kind == "maintenance":
        return HTMLResponse(MAINTENANCE_PAGE)
    if fault.kind == "expire_session":
        sessions_of(request).end(request.cookies.get(COOKIE))
    response = await call_next(request)
    if fault.kind == "layout":
        return await _change_layout(response, fault)
    return response


def _error(request: Request, fault: FaultRequest) -> Response:
    status = fault.status or 500
    if status >= 500:
        title, message = _SERVER_ERROR
    else:
        title, message = _ERRORS.get(status, ("Fejl", f"Fejl {status}"))
    response = error_page(request, status, message, title=title)
    if fault.retry_after is not None:
        response.headers["Retry-After"] = str(fault.retry_after)
    return response


async def _change_layout(response: Response, fault: FaultRequest) -> Response:
    if not response.headers.get("content-type", "").startswith("text/html"):
        return response
    body = await _body(response)
    attr, value = (
        ("data-testid", fault.test_id) if fault.test_id else ("aria-label", fault.aria_label)
    )
    page = relabel(body.decode("utf-8"), attr, value or "", fault.rename_to)
    changed = Response(content=page, status_code=response.status_code)
    changed.raw_headers = [
        (k, v) for k, v in response.raw_headers if k.lower() != b"content-length"
    ] + [(b"content-length", str(len(page.encode("utf-8"))).encode())]
    return changed


async def _body(response: Response) -> bytes:
    chunks = getattr(response, "body_iterator", None)  # what call_next hands back streams
    if chunks is None:
        return bytes(response.body)
    return b"".join([c if isinstance(c, bytes) else c.encode() async for c in chunks])


def relabel(page: str, attr: str, value: str, rename_to: str | None) -> str:
    """The page with every element whose `attr` is `value` renamed (or removed, for None).

    Plain text scanning is enough here: the sandbox's templates quote attributes with
    double quotes and escape every `<`, `>` and `"` in citizens' text.
    """
    quoted = re.escape(html.escape(value, quote=True))
    if rename_to is not None:
        renamed = html.escape(rename_to, quote=True)
        return re.sub(rf'(\s{attr}=)"{quoted}"', lambda m: f'{m.group(1)}"{renamed}"', page)
    start = re.compile(rf'<([a-zA-Z][a-zA-Z0-9]*)\b[^>]*\s{attr}="{quoted}"[^>]*>')
    while (found := start.search(page)) is not None:
        page = page[: found.start()] + page[_element_end(page, found) :]
    return page


def _element_end(page: str, start: re.Match[str]) -> int:
    name = start.group(1).lower()
    if name in _VOID or start.group(0).endswith("/>"):
        return start.end()
    depth = 1
    for tag in re.finditer(rf"<(/?){name}\b[^>]*>", page[start.end() :], re.IGNORECASE):
        depth += -1 if tag.group(1) else 1
        if depth == 0:
            return start.end() + tag.end()
    return start.end()  # never closed: drop the start tag only
