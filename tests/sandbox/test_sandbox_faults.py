"""Injected faults through the app: each kind's effect, rates, validation, listing and clearing."""

from __future__ import annotations

import logging
import random
import time
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sandbox_html import Page
from sandbox_testdata import ANNA, SCRIPT_REMARKS, AppFactory

FAULTS = "/api/test/faults"
CASE = "/sager/FLY-2026-000002"  # the case with remarks


def inject(client: TestClient, **fault: Any) -> dict[str, Any]:
    """Post a fault; the resolved fault the sandbox answers with."""
    response = client.post(FAULTS, json=fault)
    assert response.status_code == 200, response.text
    resolved: dict[str, Any] = response.json()["fault"]
    return resolved


def statuses(client: TestClient, path: str, count: int) -> list[int]:
    """The status of `count` GETs of a path."""
    return [client.get(path).status_code for _ in range(count)]


@pytest.mark.parametrize(
    ("status", "title"),
    [(400, "Fejl"), (403, "Adgang nægtet"), (404, "Fejl"), (409, "Fejl"), (502, "Intern fejl")],
)
def test_error_fault_answers_any_4xx_or_5xx_with_an_alert(
    client: TestClient, status: int, title: str
) -> None:
    inject(client, path_prefix="/sager", method="GET", status=status)
    failed = client.get("/sager")
    assert failed.status_code == status
    page = Page(failed.text)
    assert [e.text for e in page.elements if e.tag == "h1"] == [title]
    assert page.alerts()
    assert "Retry-After" not in failed.headers
    assert client.get("/sager").status_code == 200


def test_429_carries_retry_after_and_503_can(client: TestClient) -> None:
    inject(client, path_prefix="/sager", status=429)
    assert client.get("/sager").headers["Retry-After"] == "1"
    inject(client, path_prefix="/sager", status=429, retry_after=30)
    too_many = client.get("/sager")
    assert (too_many.status_code, too_many.headers["Retry-After"]) == (429, "30")
    assert Page(too_many.text).alerts() == ["For mange forespørgsler: vent lidt, og prøv igen"]
    inject(client, path_prefix="/sager", status=503, retry_after=5)
    unavailable = client.get("/sager")
    assert (unavailable.status_code, unavailable.headers["Retry-After"]) == (503, "5")


def test_rate_hits_the_share_its_seed_draws(make_client: AppFactory) -> None:
    def run(seed: int) -> list[int]:
        client = make_client()
        inject(client, path_prefix="/sager", method="GET", status=503, rate=0.4, seed=seed)
        return statuses(client, "/sager", 30)

    draws = random.Random(7)
    expected = [503 if draws.random() < 0.4 else 200 for _ in range(30)]
    assert run(7) == expected
    assert run(7) == expected  # the same seed, the same run
    assert {200, 503} <= set(expected)
    assert run(8) != expected


def test_rate_limited_by_times_then_gone(client: TestClient) -> None:
    inject(client, path_prefix="/sager", status=500, rate=1, times=3)
    assert statuses(client, "/sager", 5) == [500, 500, 500, 200, 200]
    assert client.get(FAULTS).json()["faults"] == []


def test_after_lets_requests_pass_first(client: TestClient) -> None:
    inject(client, path_prefix="/sager", status=500, after=2)
    assert statuses(client, "/sager", 4) == [200, 200, 500, 200]


def test_delay_serves_the_page_after_the_delay(client: TestClient) -> None:
    inject(client, path_prefix="/sager", delay_ms=300)
    started = time.monotonic()
    response = client.get("/sager")
    assert time.monotonic() - started >= 0.25
    assert response.status_code == 200
    assert Page(response.text).labelled("Sager")


def test_delay_with_status_fails_after_the_delay(client: TestClient) -> None:
    resolved = inject(client, path_prefix="/sager", status=504, delay_ms=300)
    assert resolved["kind"] == "error"
    started = time.monotonic()
    assert client.get("/sager").status_code == 504
    assert time.monotonic() - started >= 0.25


def test_maintenance_answers_200_without_any_case_content(client: TestClient) -> None:
    inject(client, path_prefix="/sager", kind="maintenance", rate=1)
    for path in ("/sager", CASE):
        response = client.get(path)
        assert response.status_code == 200
        page = Page(response.text)
        headings = [e.text for e in page.elements if e.tag == "h1"]
        assert headings == ["Systemet er lukket for vedligeholdelse"]
        assert not [e for e in page.elements if e.tag in ("table", "form", "dl")]
        assert not [e for e in page.elements if "data-testid" in e.attrs or "role" in e.attrs]
        assert SCRIPT_REMARKS not in page.elements[0].text
    closed = client.post(f"{CASE}/afslut", data={"outcome": "manual", "note": ""})
    assert closed.status_code == 200
    state = {n["case_id"]: n["status"] for n in client.get("/api/state").json()["notifications"]}
    assert state["FLY-2026-000002"] == "open"  # the request never reached the case system
    assert client.get("/cpr/flytning").status_code == 200  # other paths: untouched


def test_layout_removes_the_element_with_a_test_id(client: TestClient) -> None:
    inject(client, path_prefix=CASE, method="GET", kind="layout", test_id="remarks")
    response = client.get(CASE)
    assert response.status_code == 200
    assert int(response.headers["content-length"]) == len(response.content)
    page = Page(response.text)
    assert page.by_testid("remarks") == []
    assert "&lt;script&gt;" not in response.text  # its content went with it
    assert page.one("case-id").text == "FLY-2026-000002"
    assert page.label_texts() == ["Udfald", "Notat"]
    assert Page(client.get(CASE).text).one("remarks").text == SCRIPT_REMARKS  # used up


def test_layout_removes_every_row_cell_and_renames(client: TestClient) -> None:
    inject(client, path_prefix="/sager", kind="layout", test_id="row-case-id")
    page = Page(client.get("/sager").text)
    assert page.by_testid("row-case-id") == []
    assert len(page.by_testid("row-status")) == 2
    inject(client, path_prefix=CASE, kind="layout", test_id="remarks", rename_to="bemaerkninger")
    page = Page(client.get(CASE).text)
    assert page.by_testid("remarks") == []
    assert page.one("bemaerkninger").text == SCRIPT_REMARKS


def test_layout_renames_or_removes_a_table_by_aria_label(client: TestClient) -> None:
    inject(client, path_prefix="/sager", kind="layout", aria_label="Sager", rename_to="Sagsliste")
    page = Page(client.get("/sager").text)
    assert page.labelled("Sager") == []
    assert [e.tag for e in page.labelled("Sagsliste")] == ["table"]
    inject(client, path_prefix="/sager", kind="layout", aria_label="Sager")
    page = Page(client.get("/sager").text)
    assert [e for e in page.elements if e.tag == "table"] == []
    assert page.one("page-info")


def test_layout_is_not_fooled_by_citizens_text(client: TestClient) -> None:
    trap = '<dd data-testid="status">x</dd> data-testid="status"'
    client.post("/api/test/cases/FLY-2026-000002/amend", json={"remarks": trap})
    inject(client, path_prefix=CASE, kind="layout", test_id="status")
    page = Page(client.get(CASE).text)
    assert page.by_testid("status") == []
    assert page.one("remarks").text == trap


def test_expire_session_logs_the_robot_out_after_n_requests(client: TestClient) -> None:
    inject(client, path_prefix="/", kind="expire_session", after=2)
    assert client.get("/sager").status_code == 200
    assert client.get(CASE).status_code == 200
    ended = client.post(f"{CASE}/under-behandling")
    assert ended.status_code == 303
    assert ended.headers["location"].startswith("/login?next=")
    assert client.get("/sager").status_code == 303  # still logged out
    assert client.get(FAULTS).json()["faults"] == []
    login = client.post("/login", data={"username": "robot", "password": "robot-demo"})
    assert login.status_code == 303
    assert client.get("/sager").status_code == 200
    state = {n["case_id"]: n["status"] for n in client.get("/api/state").json()["notifications"]}
    assert state["FLY-2026-000002"] == "open"


def test_listing_shows_resolved_faults_with_counts_and_delete_clears(
    client: TestClient,
) -> None:
    inject(client, path_prefix="/sager", method="get", status=429, rate=0.5)
    inject(client, path_prefix="/cpr", delay_ms=10, times=2)
    statuses(client, "/sager", 6)
    listed = client.get(FAULTS).json()
    assert listed["held"] == 0
    first, second = listed["faults"]
    assert first | {"matched": 0, "injected": 0} == {
        "path_prefix": "/sager",
        "method": "GET",
        "kind": "error",
        "status": 429,
        "times": None,
        "rate": 0.5,
        "seed": 0,
        "after": 0,
        "delay_ms": None,
        "retry_after": 1,
        "test_id": None,
        "aria_label": None,
        "rename_to": None,
        "matched": 0,
        "injected": 0,
    }
    assert first["matched"] == 6
    draws = random.Random(0)
    assert first["injected"] == sum(draws.random() < 0.5 for _ in range(6))
    assert (second["kind"], second["times"], second["matched"]) == ("delay", 2, 0)
    assert client.delete(FAULTS).json() == {"status": "ok"}
    assert client.get(FAULTS).json() == {"faults": [], "held": 0}
    assert statuses(client, "/sager", 3) == [200, 200, 200]


def test_the_first_fault_that_fires_wins(client: TestClient) -> None:
    inject(client, path_prefix="/sager", status=500, rate=0)
    inject(client, path_prefix="/sager", status=502)
    assert statuses(client, "/sager", 2) == [502, 200]


@pytest.mark.parametrize(
    ("fault", "complaint"),
    [
        ({"path_prefix": "/sager", "rate": 1.5}, "less than or equal to 1"),
        ({"path_prefix": "/sager", "kind": "maintenance", "status": 503}, "takes no status"),
        ({"path_prefix": "/sager", "kind": "layout"}, "exactly one of test_id and aria_label"),
        (
            {"path_prefix": "/sager", "kind": "layout", "test_id": "a", "aria_label": "b"},
            "exactly one of test_id and aria_label",
        ),
        ({"path_prefix": "/sager", "test_id": "remarks"}, "with kind 'layout' only"),
        ({"path_prefix": "/sager", "seed": 3}, "seed goes with rate only"),
        ({"path_prefix": "/sager", "kind": "delay"}, "needs delay_ms"),
        ({"path_prefix": "/sager", "status": 500, "retry_after": 2}, "429 or 503"),
        ({"path_prefix": "/sager", "status": 200}, "greater than or equal to 400"),
        ({"path_prefix": "/sager", "times": 0}, "greater than or equal to 1"),
        ({"path_prefix": "/sager", "delay_ms": 0}, "greater than or equal to 1"),
        ({"path_prefix": "/sager", "kind": "outage"}, "Input should be"),
        ({"path_prefix": "/sager", "method": "FETCH"}, "unknown HTTP method"),
        ({"path_prefix": "sager"}, "should match pattern"),
        ({"path_prefix": "/api/test/faults"}, "never faulted"),
        ({"path_prefix": "/sager", "percent": 50}, "Extra inputs are not permitted"),
    ],
)
def test_nonsense_faults_are_422_saying_why(
    client: TestClient, fault: dict[str, Any], complaint: str
) -> None:
    response = client.post(FAULTS, json=fault)
    assert response.status_code == 422
    assert any(complaint in error["msg"] for error in response.json()["detail"])
    assert client.get(FAULTS).json()["faults"] == []


def test_injected_faults_are_logged_without_the_query(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    inject(client, path_prefix="/cpr", method="GET", status=503)
    with caplog.at_level(logging.WARNING, logger="sandbox.faults"):
        assert client.get(f"/cpr?cpr={ANNA}").status_code == 503
    assert [r.getMessage() for r in caplog.records] == ["injected fault error 503 for GET /cpr"]
    assert [r.levelno for r in caplog.records] == [logging.WARNING]


def test_no_fault_hooks_without_test_hooks(make_client: AppFactory) -> None:
    client = make_client(test_hooks=False)
    assert client.get(FAULTS).status_code == 404
    assert client.post(FAULTS, json={"path_prefix": "/sager"}).status_code == 404
    assert client.get("/sager").status_code == 200
