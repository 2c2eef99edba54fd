"""Playwright traces of failed cases: the case's pages are in them, the robot's login never.

Real headless Chromium with tracing on, against the real sandbox; the kept trace is
unzipped and every file in it searched as bytes.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote_plus

import httpx
import pytest
from playwright.async_api import BrowserContext
from pydantic import SecretStr

from config.settings import BrowserSettings
from flows.change_of_address.robot import CaseSystemRobot, Target
from robots.session import BrowserSession
from sandbox import SandboxServer, parse_seed
from tests import seeds
from tests.conftest import SANDBOX_USER, Runner, sandbox_settings

# Not the demo password, and with characters a form body encodes (`!` and `#`).
PASSWORD = "Hemmelig!Kode#2026"
LOGIN_SECRETS = (
    PASSWORD.encode(),
    quote_plus(PASSWORD).encode(),
    b"password=",  # any form body with the password field, whatever its value
)


@pytest.fixture(scope="module")
def traced(run: Runner, tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrowserSession]:
    """A browser session of its own with tracing on, as RPA_BROWSER__TRACE=true gives."""
    session = BrowserSession(
        BrowserSettings(timeout_ms=10_000, trace=True), tmp_path_factory.mktemp("traces")
    )
    run(session.__aenter__)
    yield session
    run(session.__aexit__, None, None, None)


@pytest.fixture
def sandbox_url() -> Iterator[str]:
    """The sandbox with the small batch, and a password only this test knows."""
    settings = sandbox_settings(password=SecretStr(PASSWORD))
    with SandboxServer(parse_seed(seeds.small_batch()), settings) as server:
        yield server.url


@pytest.fixture
def lane(run: Runner, traced: BrowserSession) -> Iterator[BrowserContext]:
    """A traced context, as a batch's lane has; closed after the test."""
    context = run(traced.new_context)
    yield context
    run(context.close)


def robot_in(run: Runner, context: BrowserContext, url: str) -> CaseSystemRobot:
    """The change-of-address robot in a page of the context."""
    page = run(context.new_page)
    return CaseSystemRobot(
        page, Target(base_url=url, username=SANDBOX_USER, password=SecretStr(PASSWORD))
    )


def kept_trace(run: Runner, session: BrowserSession, context: BrowserContext, name: str) -> Path:
    """End the case as failed, so its trace is kept; the trace's path."""

    async def end() -> Path | None:
        return await session.end_case(context, name, failed=True)

    path = run(end)
    assert path is not None
    assert path.exists()
    return path


def files_in(trace: Path) -> dict[str, bytes]:
    """Every file inside a trace zip, by name."""
    with zipfile.ZipFile(trace) as zipped:
        return {name: zipped.read(name) for name in zipped.namelist()}


def holding(files: dict[str, bytes], needle: bytes) -> list[str]:
    """The names of the files that contain `needle`."""
    return [name for name, data in files.items() if needle in data]


def test_a_kept_trace_has_the_case_but_not_the_login_even_one_made_mid_case(
    run: Runner, traced: BrowserSession, lane: BrowserContext, sandbox_url: str
) -> None:
    robot = robot_in(run, lane, sandbox_url)
    first, second = seeds.ROUTINE[0], seeds.ROUTINE[1]
    run(traced.start_case, lane)
    run(robot.read_case, first)  # the lane's first login: inside the case's trace
    httpx.post(f"{sandbox_url}/api/test/expire-sessions").raise_for_status()
    run(robot.read_case, second)  # the session is gone: logs in again, mid-case
    assert robot.logged_in

    files = files_in(kept_trace(run, traced, lane, "FLY-traced"))

    for secret in LOGIN_SECRETS:
        assert holding(files, secret) == [], f"{secret!r} is in the trace"
    # It recorded the case: both case pages, before and after the second login, whose
    # recordings are merged into the one file the trace viewer opens.
    recordings = [name for name in files if name.endswith(".trace")]
    assert len(recordings) >= 2, sorted(files)
    assert holding(files, f"/sager/{first}".encode())
    assert holding(files, f"/sager/{second}".encode())
    assert any(name.startswith("resources/") for name in files)


def test_a_kept_trace_holds_its_own_case_only(
    run: Runner, traced: BrowserSession, lane: BrowserContext, sandbox_url: str
) -> None:
    robot = robot_in(run, lane, sandbox_url)
    earlier, failing = seeds.ROUTINE[0], seeds.ROUTINE[1]
    run(traced.start_case, lane)
    run(robot.read_case, earlier)

    async def end_done() -> Path | None:
        return await traced.end_case(lane, earlier, failed=False)

    assert run(end_done) is None  # a case that went well leaves no trace
    run(traced.start_case, lane)
    run(robot.read_case, failing)

    files = files_in(kept_trace(run, traced, lane, failing))

    assert holding(files, f"/sager/{failing}".encode())
    # Playwright keeps one network log across a context's chunks; a fresh recording per
    # case keeps the earlier case (another citizen) and the lane's login out of it.
    assert holding(files, f"/sager/{earlier}".encode()) == []
    for secret in LOGIN_SECRETS:
        assert holding(files, secret) == [], f"{secret!r} is in the trace"


def test_without_tracing_the_robot_logs_in_and_nothing_is_kept(
    run: Runner, browser_session: BrowserSession, sandbox_url: str
) -> None:
    assert not browser_session.settings.trace

    async def case_without_trace() -> tuple[str, Path | None]:
        async with browser_session.context() as context:
            robot = CaseSystemRobot(
                await context.new_page(),
                Target(base_url=sandbox_url, username=SANDBOX_USER, password=SecretStr(PASSWORD)),
            )
            await browser_session.start_case(context)
            case = await robot.read_case(seeds.ROUTINE[0])
            return case.case_id, await browser_session.end_case(context, "x", failed=True)

    case_id, trace = run(case_without_trace)
    assert case_id == seeds.ROUTINE[0]
    assert trace is None
