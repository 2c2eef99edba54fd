"""Test hooks (injected faults, expiring sessions), session lifetime and the threaded server."""

from __future__ import annotations

import httpx
import pytest
from fastapi.testclient import TestClient
from sandbox_html import Page
from sandbox_testdata import ANNA, NEW, SEED, AppFactory

from config.settings import SandboxSettings
from sandbox import SandboxServer, parse_seed

MOVE = {"cpr": ANNA, "address_id": NEW, "move_date": "2026-11-15", "case_id": "FLY-2026-000001"}


def test_fault_fails_the_next_matching_requests_then_clears(client: TestClient) -> None:
    fault = {"path_prefix": "/cpr/flytning", "method": "POST", "status": 503, "times": 2}
    assert client.post("/api/test/faults", json=fault).status_code == 200

    assert client.get("/cpr/flytning").status_code == 200  # other method: untouched
    for _ in range(2):
        failed = client.post("/cpr/flytning", data=MOVE)
        assert failed.status_code == 503
        page = Page(failed.text)
        assert [e.text for e in page.elements if e.tag == "h1"] == ["Intern fejl"]
        assert page.alerts()[0].startswith("Intern fejl")
    assert client.get("/api/state").json()["registrations"] == []
    assert client.post("/cpr/flytning", data=MOVE).status_code == 303


def test_fault_without_method_and_delete(client: TestClient) -> None:
    client.post("/api/test/faults", json={"path_prefix": "/sager", "times": 5})
    assert client.get("/sager").status_code == 500
    assert client.delete("/api/test/faults").status_code == 200
    assert client.get("/sager").status_code == 200


def test_bad_fault_request_is_422(client: TestClient) -> None:
    response = client.post("/api/test/faults", json={"path_prefix": "/sager", "status": 200})
    assert response.status_code == 422
    assert client.get("/sager").status_code == 200


def test_expire_sessions_logs_everyone_out(client: TestClient) -> None:
    assert client.get("/sager").status_code == 200
    assert client.post("/api/test/expire-sessions").json() == {"expired": 1}
    response = client.get("/sager?side=2")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/sager%3Fside%3D2"


def test_session_expires_after_its_lifetime(make_client: AppFactory) -> None:
    now = [1000.0]
    client = make_client(clock=lambda: now[0], session_minutes=30)
    now[0] += 29 * 60
    assert client.get("/sager").status_code == 200
    now[0] += 61
    response = client.get("/sager")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/sager"


def test_logout_ends_the_session(client: TestClient) -> None:
    assert client.post("/logout").headers["location"] == "/login"
    assert client.get("/sager").status_code == 303


def test_server_runs_on_a_free_port_and_stops() -> None:
    settings = SandboxSettings(port=0)
    with SandboxServer(parse_seed(SEED), settings) as server:
        url = server.url
        assert not url.endswith(":0")
        with httpx.Client(base_url=url) as http:
            assert http.get("/api/health").json() == {"status": "ok", "cases": 6}
            login = {"username": "robot", "password": "robot-demo"}
            assert http.post("/login", data=login).status_code == 303
            assert http.get("/sager").status_code == 200
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/api/health", timeout=2)
    with pytest.raises(RuntimeError, match="not running"):
        _ = server.url


def test_amend_changes_a_notification_and_refuses_an_invalid_one(client: TestClient) -> None:
    case_id = client.get("/api/state").json()["notifications"][0]["case_id"]
    changed = client.post(f"/api/test/cases/{case_id}/amend", json={"remarks": "Ny tekst"})
    assert changed.status_code == 200
    assert "Ny tekst" in client.get(f"/sager/{case_id}").text
    refused = client.post(f"/api/test/cases/{case_id}/amend", json={"movers": "nobody"})
    assert refused.status_code == 422
    unknown = client.post("/api/test/cases/NOPE/amend", json={"remarks": "x"})
    assert unknown.status_code == 404
