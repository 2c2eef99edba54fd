"""What every page of the sandbox shares: templates, the login check and error pages."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

import jinja2
from fastapi import Depends, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from config.settings import SandboxSettings
from sandbox.parking import PERMIT_STATUS_LABELS
from sandbox.records import STATUS_LABELS, TZ
from sandbox.seed import NotifiedAddress, SeedAddress
from sandbox.sessions import COOKIE, Sessions
from sandbox.store import Store

OUTCOMES = (
    ("registered", STATUS_LABELS["registered"]),
    ("manual", STATUS_LABELS["manual"]),
    ("awaiting_citizen", STATUS_LABELS["awaiting_citizen"]),
)
UNIT_LABELS = {
    "dwelling": "Bolig",
    "business": "Erhverv",
    "summer_house": "Sommerhus",
    "institution": "Institution",
}


def address_text(address: SeedAddress | NotifiedAddress) -> str:
    """`Vestergade 12, 2. th, 8800 Viborg`."""
    floor = f"{address.floor}." if address.floor else ""
    unit = " ".join(p for p in (floor, address.door or "") if p)
    head = f"{address.street} {address.house_number}"
    middle = f", {unit}" if unit else ""
    return f"{head}{middle}, {address.postcode} {address.city}"


def iso_time(value: datetime | None) -> str:
    """An ISO time with seconds in Copenhagen time; empty for None."""
    return "" if value is None else value.astimezone(TZ).isoformat(timespec="seconds")


def _environment() -> jinja2.Environment:
    # Autoescape everything: remarks and names are citizens' text, never markup.
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(
        status_labels=STATUS_LABELS,
        permit_status_labels=PERMIT_STATUS_LABELS,
        outcomes=OUTCOMES,
        unit_labels=UNIT_LABELS,
    )
    env.filters["address_text"] = address_text
    env.filters["iso"] = iso_time
    return env


templates = Jinja2Templates(env=_environment())


class LoginRequired(Exception):
    """The request has no live session; the handler sends it to the login page."""

    def __init__(self, target: str) -> None:
        super().__init__(target)
        self.target = target


def login_url(target: str) -> str:
    """`/login?next=<target>`."""
    return f"/login?next={quote(target, safe='/')}"


def safe_next(value: str | None) -> str:
    """A local path to go to after login; anything else (other hosts too) becomes /sager."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/sager"


def store_of(request: Request) -> Store:
    """The app's store."""
    store: Store = request.app.state.store
    return store


def sessions_of(request: Request) -> Sessions:
    """The app's sessions."""
    sessions: Sessions = request.app.state.sessions
    return sessions


def settings_of(request: Request) -> SandboxSettings:
    """The app's settings."""
    settings: SandboxSettings = request.app.state.settings
    return settings


def current_user(request: Request) -> str:
    """The logged-in user; LoginRequired (a redirect to /login) without a live session."""
    user = sessions_of(request).user(request.cookies.get(COOKIE))
    if user is None:
        query = request.url.query
        raise LoginRequired(request.url.path + (f"?{query}" if query else ""))
    request.state.user = user
    return user


User = Annotated[str, Depends(current_user)]
StoreDep = Annotated[Store, Depends(store_of)]


def render(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """A page from a template, with the logged-in user (if any) for the header."""
    context.setdefault("user", getattr(request.state, "user", None))
    context.setdefault("error", None)
    return templates.TemplateResponse(request, name, context, status_code=status_code)


def error_page(
    request: Request, status_code: int, message: str, *, title: str = "Fejl"
) -> HTMLResponse:
    """A page with the Danish message in a role=alert element."""
    return render(request, "error.html", status_code, title=title, error=message)
