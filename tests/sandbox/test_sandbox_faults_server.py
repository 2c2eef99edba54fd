"""Slow pages on the real threaded server: the rest of the sandbox keeps answering."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import httpx
import pytest
from sandbox_html import Page
from sandbox_testdata import SEED

from config.settings import SandboxSettings
from sandbox import SandboxServer, parse_seed

LOGIN = {"username": "robot", "password": "robot-demo"}


@pytest.fixture
def server() -> Iterator[SandboxServer]:
    """The sandbox with test hooks on a free port; its faults cleared before it stops."""
    with SandboxServer(parse_seed(SEED), SandboxSettings(port=0, test_hooks=True)) as running:
        yield running
        httpx.delete(f"{running.url}/api/test/faults").raise_for_status()


@contextmanager
def logged_in(url: str, timeout: float = 30) -> Iterator[httpx.Client]:
    """A client with a live session."""
    with httpx.Client(base_url=url, timeout=timeout) as http:
        assert http.post("/login", data=LOGIN).status_code == 303
        yield http


def held(url: str) -> int:
    """How many requests a delay holds right now."""
    count: int = httpx.get(f"{url}/api/test/faults").json()["held"]
    return count


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 10) -> None:
    """Poll until the condition holds; fail naming what never happened."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"waited {timeout} s for {what}"
        time.sleep(0.02)


def test_other_requests_are_answered_while_a_slow_page_waits(server: SandboxServer) -> None:
    fault = {"path_prefix": "/sager", "method": "GET", "delay_ms": 60_000}
    httpx.post(f"{server.url}/api/test/faults", json=fault).raise_for_status()
    slow: list[httpx.Response] = []
    with logged_in(server.url, timeout=120) as robot, logged_in(server.url) as other:
        waiting = threading.Thread(target=lambda: slow.append(robot.get("/sager")))
        waiting.start()
        wait_until(lambda: held(server.url) == 1, "the slow request to be held")

        assert other.get("/api/health").json()["status"] == "ok"
        assert Page(other.get("/sager").text).labelled("Sager")  # the fault fired once
        assert other.get("/cpr/flytning").status_code == 200
        assert held(server.url) == 1
        assert slow == []

        # Clearing the faults answers the held request now, as a normal page.
        httpx.delete(f"{server.url}/api/test/faults").raise_for_status()
        waiting.join(30)
    assert not waiting.is_alive()
    assert [r.status_code for r in slow] == [200]
    assert Page(slow[0].text).labelled("Sager")
    assert held(server.url) == 0


def test_a_page_slower_than_the_robots_timeout_times_out_and_the_server_lives_on(
    server: SandboxServer,
) -> None:
    fault = {"path_prefix": "/sager/", "delay_ms": 60_000, "rate": 1}
    httpx.post(f"{server.url}/api/test/faults", json=fault).raise_for_status()
    with logged_in(server.url, timeout=0.5) as robot:
        with pytest.raises(httpx.ReadTimeout):
            robot.get("/sager/FLY-2026-000001")
        with pytest.raises(httpx.ReadTimeout):
            robot.get("/sager/FLY-2026-000002")
        # The next page is answered; the robot's short timeout is not the point
        # here, and on a loaded machine a normal page can take longer than 0.5 s.
        assert robot.get("/sager", timeout=30).status_code == 200
    listed = httpx.get(f"{server.url}/api/test/faults").json()
    assert listed["faults"][0]["injected"] == 2


def test_a_delay_is_at_least_as_long_as_asked(server: SandboxServer) -> None:
    fault = {"path_prefix": "/sager", "method": "GET", "delay_ms": 400}
    httpx.post(f"{server.url}/api/test/faults", json=fault).raise_for_status()
    with logged_in(server.url) as robot:
        started = time.monotonic()
        assert robot.get("/sager").status_code == 200
        assert time.monotonic() - started >= 0.35
