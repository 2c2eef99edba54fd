"""Fixtures for the sandbox tests: a small hand-made seed and logged-in clients."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sandbox_testdata import SEED, AppFactory

from config.settings import SandboxSettings
from sandbox import create_app, parse_seed


@pytest.fixture
def seed_data() -> dict[str, Any]:
    """A fresh copy of the hand-made seed."""
    return copy.deepcopy(SEED)


@pytest.fixture
def make_client() -> Iterator[AppFactory]:
    """Build a client of a fresh app: `make_client(login=True, clock=None, **settings)`."""
    clients: list[TestClient] = []

    def make(
        *, login: bool = True, clock: Callable[[], float] | None = None, **overrides: Any
    ) -> TestClient:
        settings = SandboxSettings(**({"page_size": 2, "test_hooks": True} | overrides))
        app = create_app(parse_seed(copy.deepcopy(SEED)), settings, clock=clock)
        client = TestClient(app, follow_redirects=False)
        clients.append(client)
        if login:
            response = client.post("/login", data={"username": "robot", "password": "robot-demo"})
            assert response.status_code == 303
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def client(make_client: AppFactory) -> TestClient:
    """A logged-in client (page size 2, test hooks on)."""
    return make_client()
