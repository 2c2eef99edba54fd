"""Login, the inbox, the case page and closing cases, through the real app."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sandbox_html import Page
from sandbox_testdata import ANNA, BO, OPEN_IN_ORDER, SCRIPT_REMARKS, AppFactory


def test_pages_need_a_session(make_client: AppFactory) -> None:
    client = make_client(login=False)
    for path, target in [
        ("/sager", "/login?next=/sager"),
        ("/sager/FLY-2026-000001", "/login?next=/sager/FLY-2026-000001"),
        ("/cpr?cpr=0101901234", "/login?next=/cpr%3Fcpr%3D0101901234"),
    ]:
        response = client.get(path)
        assert response.status_code == 303
        assert response.headers["location"] == target
    assert client.post("/sager/FLY-2026-000001/under-behandling").status_code == 303
    assert client.get("/api/health").json() == {"status": "ok", "cases": 6}


def test_wrong_password_is_401_with_alert(make_client: AppFactory) -> None:
    client = make_client(login=False)
    response = client.post("/login", data={"username": "robot", "password": "wrong"})
    assert response.status_code == 401
    assert Page(response.text).alerts() == ["Forkert brugernavn eller adgangskode"]
    assert "sandbox_session" not in response.cookies
    assert client.get("/sager").status_code == 303


def test_login_goes_to_next_with_a_safe_cookie(make_client: AppFactory) -> None:
    client = make_client(login=False)
    page = Page(client.get("/login?next=/sager/FLY-2026-000002").text)
    assert page.label_texts() == ["Brugernavn", "Adgangskode"]
    assert "Log ind" in page.buttons()
    form = {"username": "robot", "password": "robot-demo", "next": "/sager/FLY-2026-000002"}
    response = client.post("/login", data=form)
    assert response.status_code == 303
    assert response.headers["location"] == "/sager/FLY-2026-000002"
    cookie = response.headers["set-cookie"].lower()
    assert "sandbox_session=" in cookie
    assert "httponly" in cookie
    assert "samesite=lax" in cookie
    assert client.get("/sager/FLY-2026-000002").status_code == 200


def test_login_never_redirects_to_another_site(make_client: AppFactory) -> None:
    client = make_client(login=False)
    form = {"username": "robot", "password": "robot-demo", "next": "//evil.example/x"}
    assert client.post("/login", data=form).headers["location"] == "/sager"


def test_inbox_pages_open_cases_by_received_at_then_case_id(client: TestClient) -> None:
    first = Page(client.get("/sager").text)
    assert "Indbakke – flytteanmeldelser" in [e.text for e in first.elements if e.tag == "h1"]
    assert first.labelled("Sager")
    assert first.texts("row-case-id") == OPEN_IN_ORDER[:2]
    assert first.one("page-info").text == "Side 1 af 3"
    assert "Næste side" in first.links()
    assert "Forrige side" not in first.links()

    second = Page(client.get(first.links()["Næste side"]).text)
    assert second.texts("row-case-id") == OPEN_IN_ORDER[2:4]
    assert "Side 2 af 3" in second.one("page-info").text

    last = Page(client.get("/sager?status=open&side=3").text)
    assert last.texts("row-case-id") == OPEN_IN_ORDER[4:]
    assert "Forrige side" in last.links()
    assert "Næste side" not in last.links()
    assert [e.attrs["data-status"] for e in last.by_testid("row-status")] == ["open"]


def test_inbox_status_filter(client: TestClient) -> None:
    closed = Page(client.get("/sager?status=registered").text)
    assert closed.texts("row-case-id") == ["FLY-2026-000005"]
    assert closed.texts("row-handled-at") == ["2026-11-18T15:30:00+01:00"]
    everything = Page(client.get("/sager?status=alle&side=1").text)
    assert everything.texts("row-case-id") == ["FLY-2026-000005", "FLY-2026-000003"]
    assert everything.one("page-info").text == "Side 1 af 3"
    nothing = Page(client.get("/sager?status=manual").text)
    assert "Ingen sager" in nothing.one("no-cases").text
    assert not nothing.labelled("Sager")
    bad = client.get("/sager?status=lukket")
    assert bad.status_code == 422
    assert Page(bad.text).alerts()


def test_inbox_cpr_filter_matches_movers_and_reporters(client: TestClient) -> None:
    as_mover = Page(client.get(f"/sager?status=alle&cpr={BO}").text)
    as_reporter = Page(client.get("/sager?status=alle&cpr=150292-1357&side=2").text)
    assert as_mover.texts("row-case-id") == ["FLY-2026-000004", "FLY-2026-000002"]
    assert as_reporter.texts("row-case-id") == ["FLY-2026-000004", "FLY-2026-000002"]
    only_mover = Page(client.get("/sager?cpr=0303951238").text)
    assert only_mover.texts("row-case-id") == ["FLY-2026-000004"]
    assert Page(client.get("/sager?cpr=9999999999").text).texts("no-cases") == ["Ingen sager"]


def test_case_page_shows_every_field_as_text(client: TestClient) -> None:
    page = Page(client.get("/sager/FLY-2026-000001").text)
    assert [e.text for e in page.elements if e.tag == "h1"] == ["Sag FLY-2026-000001"]
    expected = {
        "case-id": "FLY-2026-000001",
        "received-at": "2026-11-20T09:14:00+01:00",
        "channel": "borger.dk",
        "reporter-cpr": ANNA,
        "move-date": "2026-11-15",
        "remarks": "",
        "old-address-street": "Vestergade",
        "old-address-house-number": "12",
        "old-address-floor": "2",
        "old-address-door": "th",
        "old-address-postcode": "8800",
        "old-address-city": "Viborg",
        "new-address-street": "Sct. Mathias Gade",
        "new-address-house-number": "5",
        "new-address-floor": "",
        "new-address-door": "",
        "new-address-postcode": "8800",
        "new-address-city": "Viborg",
        "mover-cpr": ANNA,
        "mover-name": "Anna Jensen",
    }
    assert {testid: page.one(testid).text for testid in expected} == expected
    status = page.one("status")
    assert (status.text, status.attrs["data-status"]) == ("Åben", "open")
    assert page.labelled("Flyttere")
    assert page.labelled("Notater")
    assert page.label_texts() == ["Udfald", "Notat"]
    assert {"Markér som under behandling", "Afslut sag"} <= set(page.buttons())
    options = [(e.attrs["value"], e.text) for e in page.elements if e.tag == "option"]
    assert options == [
        ("registered", "Flytning registreret"),
        ("manual", "Sendt til manuel behandling"),
        ("awaiting_citizen", "Afventer borger"),
    ]


def test_remarks_are_escaped_text_never_markup(client: TestClient) -> None:
    response = client.get("/sager/FLY-2026-000002")
    assert "<script>" not in response.text
    assert "<!channel>" not in response.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in response.text
    assert Page(response.text).one("remarks").text == SCRIPT_REMARKS


def test_malformed_case_shows_what_is_missing(client: TestClient) -> None:
    page = Page(client.get("/sager/FLY-2026-000003").text)
    assert page.one("reporter-cpr").text == "3113901234"
    assert page.one("move-date").text == "i morgen"
    assert page.by_testid("movers-empty")
    assert page.by_testid("mover-cpr") == []
    assert page.by_testid("new-address-missing")
    assert page.by_testid("old-address-missing")
    assert page.by_testid("new-address-street") == []


def test_unknown_case_is_404_with_alert(client: TestClient) -> None:
    response = client.get("/sager/FLY-1999-000001")
    assert response.status_code == 404
    assert Page(response.text).alerts() == ["Sag FLY-1999-000001 findes ikke"]


def _state(client: TestClient, case_id: str) -> dict[str, object]:
    notifications = client.get("/api/state").json()["notifications"]
    found: dict[str, object] = next(n for n in notifications if n["case_id"] == case_id)
    return found


def test_mark_in_progress_then_close(client: TestClient) -> None:
    case = "/sager/FLY-2026-000001"
    response = client.post(f"{case}/under-behandling")
    assert (response.status_code, response.headers["location"]) == (303, case)
    page = Page(client.get(case).text)
    assert page.one("status").attrs["data-status"] == "in_progress"
    assert "Markér som under behandling" not in page.buttons()
    assert "Afslut sag" in page.buttons()
    again = client.post(f"{case}/under-behandling")
    assert again.status_code == 409
    assert Page(again.text).alerts()

    note = "Sendt videre: <b>borger</b> skal kontaktes"
    closed = client.post(f"{case}/afslut", data={"outcome": "manual", "note": note})
    assert (closed.status_code, closed.headers["location"]) == (303, case)
    page = Page(client.get(case).text)
    assert page.one("status").attrs["data-status"] == "manual"
    assert page.one("status").text == "Sendt til manuel behandling"
    assert page.one("handled-at").text.startswith("20")
    assert page.texts("note-text") == [note]
    assert "Afslut sag" not in page.buttons()
    state = _state(client, "FLY-2026-000001")
    assert state["status"] == "manual"
    assert state["handled_at"] == page.one("handled-at").text
    assert state["notes"] == [note]

    twice = client.post(f"{case}/afslut", data={"outcome": "registered", "note": ""})
    assert twice.status_code == 409
    assert "allerede afsluttet" in Page(twice.text).alerts()[0]
    assert _state(client, "FLY-2026-000001")["status"] == "manual"


def test_close_needs_a_known_outcome(client: TestClient) -> None:
    response = client.post("/sager/FLY-2026-000002/afslut", data={"outcome": "done", "note": "x"})
    assert response.status_code == 422
    assert Page(response.text).alerts() == ["Ukendt udfald: 'done'"]
    assert _state(client, "FLY-2026-000002")["status"] == "open"


def test_close_an_open_case_directly(client: TestClient) -> None:
    response = client.post(
        "/sager/FLY-2026-000004/afslut", data={"outcome": "awaiting_citizen", "note": "  "}
    )
    assert response.status_code == 303
    state = _state(client, "FLY-2026-000004")
    assert (state["status"], state["notes"]) == ("awaiting_citizen", [])
    assert state["handled_at"]
    page = Page(client.get("/sager?status=awaiting_citizen").text)
    assert page.texts("row-case-id") == ["FLY-2026-000004"]
    assert page.texts("row-handled-at") == [state["handled_at"]]


@pytest.mark.parametrize(
    ("settings", "path"),
    [({"state_api": False}, "/api/state"), ({"test_hooks": False}, "/api/test/expire-sessions")],
)
def test_apis_switched_off_are_404(
    make_client: AppFactory, settings: dict[str, bool], path: str
) -> None:
    client = make_client(**settings)
    response = client.get(path) if path == "/api/state" else client.post(path)
    assert response.status_code == 404
    assert client.get("/api/health").status_code == 200


def test_state_lists_every_notification(client: TestClient) -> None:
    state = client.get("/api/state").json()
    statuses = {n["case_id"]: n["status"] for n in state["notifications"]}
    assert statuses == {case_id: "open" for case_id in OPEN_IN_ORDER} | {
        "FLY-2026-000005": "registered"
    }
    assert state["registrations"] == []
