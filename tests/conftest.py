"""Shared fixtures: real Chromium, the real sandbox on a free port, a real Prefect server."""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal
from pydantic import SecretStr

from config.settings import BrowserSettings, SandboxSettings, Settings
from flows.change_of_address.robot import CaseSystemRobot, Target
from robots.reading import Rendering
from robots.session import BrowserSession

# slack-sdk and httpx honour proxies; tests talk to localhost only.
for _proxy in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY"):
    os.environ.pop(_proxy, None)
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")

T = TypeVar("T")

SANDBOX_USER = "robot"
SANDBOX_PASSWORD = "robot-demo"  # the default, so flows run with default settings


@pytest.fixture(scope="session")
def portal() -> Iterator[BlockingPortal]:
    """One event loop in a thread for the whole session: the async robots run there."""
    with start_blocking_portal() as portal:
        yield portal


class Runner:
    """Runs coroutines on the session's event loop from plain test functions."""

    def __init__(self, portal: BlockingPortal) -> None:
        self.portal = portal

    def __call__(self, fn: Callable[..., Awaitable[T]], *args: Any) -> T:
        return self.portal.call(fn, *args)


@pytest.fixture(scope="session")
def run(portal: BlockingPortal) -> Runner:
    """`run(coroutine_function, *args)` from a sync test."""
    return Runner(portal)


@pytest.fixture(scope="session")
def browser_settings() -> BrowserSettings:
    """Headless Chromium with a short timeout, so a broken page fails fast."""
    return BrowserSettings(timeout_ms=10_000)


@pytest.fixture(scope="session")
def browser_session(
    run: Runner, browser_settings: BrowserSettings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[BrowserSession]:
    """One real browser for the whole test session."""
    session = BrowserSession(browser_settings, tmp_path_factory.mktemp("artifacts"))
    run(session.__aenter__)
    yield session
    run(session.__aexit__, None, None, None)


def sandbox_settings(**overrides: Any) -> SandboxSettings:
    """Sandbox settings for tests: state API and fault hooks on, any free port."""
    values: dict[str, Any] = {
        "port": 0,
        "username": SANDBOX_USER,
        "password": SecretStr(SANDBOX_PASSWORD),
        "state_api": True,
        "test_hooks": True,
        "page_size": 10,
    }
    return SandboxSettings(**(values | overrides))


@pytest.fixture(params=["server", "browser"])
def rendering(request: pytest.FixtureRequest) -> Rendering:
    """Both ways a robot reads pages: as sent (server-rendered systems) and rendered."""
    value: Rendering = request.param
    return value


@pytest.fixture
def target_for(rendering: Rendering) -> Callable[[str], Target]:
    """The robot's view of a sandbox at a URL, read both ways (each test runs twice)."""

    def make(url: str) -> Target:
        return Target(
            base_url=url,
            username=SANDBOX_USER,
            password=SecretStr(SANDBOX_PASSWORD),
            rendering=rendering,
        )

    return make


@pytest.fixture
def robot_for(
    run: Runner, browser_session: BrowserSession, target_for: Callable[[str], Target]
) -> Iterator[Callable[[str], CaseSystemRobot]]:
    """A robot in a fresh browser context per test; fails the test if a context leaks."""
    contexts: list[Any] = []

    async def open_robot(url: str) -> CaseSystemRobot:
        context = await browser_session.new_context()
        contexts.append(context)
        return CaseSystemRobot(await context.new_page(), target_for(url))

    def make(url: str) -> CaseSystemRobot:
        return run(open_robot, url)

    yield make
    for context in contexts:
        run(context.close)
    leaked = len(browser_session.browser.contexts)
    assert leaked == 0, f"{leaked} browser contexts leaked by the test"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings with an RPA_HOME of the test's own."""
    return Settings(home=tmp_path / "rpa-home")


POSTGRES_ENV = "RPA_TEST_DATABASE_URL"


@contextmanager
def postgres_schema_url() -> Iterator[str]:
    """A URL to a fresh, empty schema in the test PostgreSQL; the schema is dropped after."""
    import psycopg
    from sqlalchemy.engine import make_url

    base = os.environ[POSTGRES_ENV]
    schema = f"t_{secrets.token_hex(6)}"
    dsn = make_url(base).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as connection:
        connection.execute(f'CREATE SCHEMA "{schema}"')
    try:
        url = make_url(base).set(drivername="postgresql+psycopg")
        url = url.update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False)
    finally:
        with psycopg.connect(dsn, autocommit=True) as connection:
            connection.execute(f'DROP SCHEMA "{schema}" CASCADE')


def database_params() -> list[Any]:
    """SQLite always; PostgreSQL when RPA_TEST_DATABASE_URL is set (CI sets it)."""
    postgres = pytest.param(
        "postgresql",
        marks=pytest.mark.skipif(
            not os.environ.get(POSTGRES_ENV), reason=f"{POSTGRES_ENV} is not set"
        ),
    )
    return ["sqlite", postgres]


@pytest.fixture(params=database_params())
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty checkpoint store database: SQLite in the test's directory, or PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
        return
    with postgres_schema_url() as url:
        yield url


def wait_until(check: Callable[[], Any], what: str, timeout: float = 120) -> Any:
    """Poll until `check()` is truthy; fail naming `what` when it never is."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := check():
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


# Hypothesis: 200 examples per property unless HYPOTHESIS_PROFILE says otherwise ("dev":
# 25, for a quick look); browser round trips make examples slow, so no deadline.
from hypothesis import HealthCheck  # noqa: E402
from hypothesis import settings as hypothesis_settings  # noqa: E402

hypothesis_settings.register_profile(
    "ci", max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
hypothesis_settings.register_profile(
    "dev", parent=hypothesis_settings.get_profile("ci"), max_examples=25
)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
