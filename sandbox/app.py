"""The sandbox web app: a stand-in municipal case system with its two registers."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from config.settings import SandboxSettings
from sandbox import routes_cases, routes_parking, routes_registers
from sandbox.faults import FaultRequest, Faults, apply_fault, faults_of
from sandbox.persistence import StateLog
from sandbox.records import ConflictError, InvalidInputError, NotFoundError, StoreError
from sandbox.seed import Seed
from sandbox.sessions import Sessions
from sandbox.store import Store
from sandbox.web import LoginRequired, error_page, login_url, sessions_of, store_of

_STATUS_OF: tuple[tuple[type[StoreError], int], ...] = (
    (NotFoundError, 404),
    (ConflictError, 409),
    (InvalidInputError, 422),
)
_MESSAGES = {404: "Siden findes ikke", 405: "Handlingen er ikke tilladt her"}


def create_app(
    seed: Seed,
    settings: SandboxSettings,
    *,
    clock: Callable[[], float] | None = None,
    state_file: Path | None = None,
) -> FastAPI:
    """The sandbox app over a store built from the seed (`clock` ages sessions in tests).

    With `state_file`, changes are kept there and replayed on the next start.
    """
    app = FastAPI(title="Flyttesystemet – Sandkasse", docs_url=None, redoc_url=None)
    app.state.settings = settings
    app.state.store = Store(seed)
    app.state.faults = Faults()
    if state_file is not None:
        app.state.store.persist_to(StateLog(state_file, seed))
    app.state.sessions = (
        Sessions(settings.session_minutes, clock=clock)
        if clock
        else Sessions(settings.session_minutes)
    )
    app.include_router(routes_cases.router)
    app.include_router(routes_registers.router)
    app.include_router(routes_parking.router)
    app.include_router(_api_router(settings))
    _add_error_handlers(app)

    if settings.test_hooks:
        app.middleware("http")(apply_fault)
    return app


def _api_router(settings: SandboxSettings) -> APIRouter:
    router = APIRouter(prefix="/api")

    @router.get("/health")
    def health(request: Request) -> dict[str, Any]:
        """Liveness and the number of cases."""
        return {"status": "ok", "cases": store_of(request).count_cases()}

    if settings.state_api:

        @router.get("/state")
        def state(request: Request) -> dict[str, Any]:
            """Every notification's and application's status, registration and permit."""
            return store_of(request).state()

        @router.get("/sessions")
        def sessions(request: Request) -> dict[str, int]:
            """Logged-in sessions now (`live`) and the most at once since the start (`peak`)."""
            return sessions_of(request).counts()

    if settings.test_hooks:

        @router.post("/test/faults")
        def add_fault(request: Request, fault: FaultRequest) -> dict[str, Any]:
            """Inject a fault into the matching requests (kinds in docs/sandbox-ui.md)."""
            faults_of(request).add(fault)
            return {"status": "ok", "fault": fault.model_dump()}

        @router.get("/test/faults")
        def list_faults(request: Request) -> dict[str, Any]:
            """The active faults, how often each matched and fired, and the held requests."""
            return faults_of(request).listing()

        @router.delete("/test/faults")
        def clear_faults(request: Request) -> dict[str, str]:
            """Remove every injected fault and release the requests a delay holds."""
            faults_of(request).clear()
            return {"status": "ok"}

        @router.post("/test/cases/{case_id}/amend")
        def amend_case(request: Request, case_id: str, changes: dict[str, Any]) -> dict[str, str]:
            """Change fields of a notification, as a citizen's correction would."""
            store_of(request).amend(case_id, changes)
            return {"status": "ok"}

        @router.post("/test/permits/{case_id}/amend")
        def amend_application(
            request: Request, case_id: str, changes: dict[str, Any]
        ) -> dict[str, str]:
            """Change fields of a permit application, as a citizen's correction would."""
            store_of(request).parking.amend(case_id, changes)
            return {"status": "ok"}

        @router.post("/test/expire-sessions")
        def expire_sessions(request: Request) -> dict[str, int]:
            """Log every session out."""
            return {"expired": sessions_of(request).end_all()}

    return router


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(LoginRequired)
    async def to_login(request: Request, exc: LoginRequired) -> Response:
        return RedirectResponse(login_url(exc.target), status_code=303)

    @app.exception_handler(StoreError)
    async def store_error(request: Request, exc: StoreError) -> Response:
        status = next((code for kind, code in _STATUS_OF if isinstance(exc, kind)), 400)
        return error_page(request, status, str(exc))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)
        message = _MESSAGES.get(exc.status_code, f"Fejl {exc.status_code}")
        return error_page(request, exc.status_code, message)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": jsonable_encoder(exc.errors())}, status_code=422)
        return error_page(request, 422, "Forespørgslen indeholder ugyldige værdier")
