"""The case system: login, the inbox, a case and what a caseworker does with it."""

from __future__ import annotations

import secrets
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from sandbox.records import STATUSES
from sandbox.sessions import COOKIE
from sandbox.web import (
    StoreDep,
    User,
    error_page,
    render,
    safe_next,
    sessions_of,
    settings_of,
)

router = APIRouter()
FormText = Annotated[str, Form()]
WRONG_LOGIN = "Forkert brugernavn eller adgangskode"


@router.get("/", include_in_schema=False)
def home() -> RedirectResponse:
    """The inbox is the start page."""
    return RedirectResponse("/sager", status_code=303)


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "") -> HTMLResponse:
    """The login form."""
    return render(request, "login.html", next=safe_next(next), username="")


@router.post("/login", response_model=None)
def login(
    request: Request,
    username: FormText = "",
    password: FormText = "",
    next: FormText = "",
) -> Response:
    """Check the one user's credentials; 303 to `next` with a session cookie, or 401."""
    settings = settings_of(request)
    right_user = secrets.compare_digest(username.encode(), settings.username.encode())
    right_password = secrets.compare_digest(
        password.encode(), settings.password.get_secret_value().encode()
    )
    if not (right_user and right_password):
        return render(
            request, "login.html", 401, next=safe_next(next), username=username, error=WRONG_LOGIN
        )
    sessions = sessions_of(request)
    # Logging in again replaces the session the browser had: one user agent, one session.
    sessions.end(request.cookies.get(COOKIE))
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(
        COOKIE,
        sessions.create(username),
        max_age=sessions.lifetime_seconds,
        httponly=True,
        samesite="lax",
        path="/",
    )
    return response


@router.post("/logout")
def logout(request: Request) -> RedirectResponse:
    """End the session."""
    sessions_of(request).end(request.cookies.get(COOKIE))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


@router.get("/sager", response_class=HTMLResponse)
def inbox(
    request: Request,
    user: User,
    store: StoreDep,
    status: str = "open",
    side: str = "1",
    cpr: str = "",
) -> HTMLResponse:
    """The inbox: cases by received_at, filtered by status and CPR, a page at a time."""
    if status != "alle" and status not in STATUSES:
        return error_page(request, 422, f"Ukendt status: {status}")
    try:
        page_number = int(side)
    except ValueError:
        return error_page(request, 422, f"Ugyldigt sidenummer: {side}")
    cpr = cpr.strip()
    page = store.list_cases(
        status=None if status == "alle" else status,
        cpr=cpr or None,
        page=page_number,
        page_size=settings_of(request).page_size,
    )

    def link(number: int) -> str:
        params = {"status": status, "side": str(number)} | ({"cpr": cpr} if cpr else {})
        return f"/sager?{urlencode(params)}"

    return render(
        request,
        "inbox.html",
        page=page,
        status=status,
        cpr=cpr,
        statuses=STATUSES,
        previous_url=link(page.page - 1) if page.page > 1 else None,
        next_url=link(page.page + 1) if page.page < page.pages else None,
    )


@router.get("/sager/{case_id}", response_class=HTMLResponse)
def case_page(request: Request, case_id: str, user: User, store: StoreDep) -> HTMLResponse:
    """One case with every field of the notification, its notes and the actions left."""
    return render(request, "case.html", case=store.get_case(case_id))


@router.post("/sager/{case_id}/under-behandling")
def mark_in_progress(case_id: str, user: User, store: StoreDep) -> RedirectResponse:
    """open -> in_progress, then back to the case."""
    store.mark_in_progress(case_id)
    return RedirectResponse(f"/sager/{case_id}", status_code=303)


@router.post("/sager/{case_id}/afslut")
def close_case(
    case_id: str, user: User, store: StoreDep, outcome: FormText = "", note: FormText = ""
) -> RedirectResponse:
    """Close the case with an outcome and a note, then back to the case."""
    store.close_case(case_id, outcome=outcome, note=note)
    return RedirectResponse(f"/sager/{case_id}", status_code=303)
