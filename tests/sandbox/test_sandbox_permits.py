"""Resident parking pages through the real app: inbox, application, registers, issue, hooks."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sandbox_html import Page

from config.settings import SandboxSettings
from sandbox import create_app, parse_seed
from tests import permit_seeds as ps
from tests import seeds

ISSUE = {"plate": "AB 12 345", "zone": "A", "valid_from": "2026-12-01", "valid_to": "2027-11-30"}


@pytest.fixture
def client() -> Iterator[TestClient]:
    """A logged-in client of the parking seed (page size 4, test hooks on)."""
    settings = SandboxSettings(page_size=4, test_hooks=True)
    app = create_app(parse_seed(copy.deepcopy(ps.parking_batch())), settings)
    with TestClient(app, follow_redirects=False) as client:
        login = {"username": "robot", "password": "robot-demo"}
        assert client.post("/login", data=login).status_code == 303
        yield client


def h1(page: Page) -> list[str]:
    """The page's level-one headings."""
    return [e.text for e in page.elements if e.tag == "h1"]


def state(client: TestClient) -> dict[str, Any]:
    """GET /api/state."""
    return client.get("/api/state").json()  # type: ignore[no-any-return]


def application(client: TestClient, case_id: str) -> dict[str, Any]:
    """One application's entry in the state API."""
    found = [a for a in state(client)["permit_applications"] if a["case_id"] == case_id]
    assert len(found) == 1
    return found[0]


def test_parking_pages_need_a_session(client: TestClient) -> None:
    client.post("/logout")
    for path in [
        "/parkering",
        f"/parkering/{ps.ROUTINE}",
        f"/parkering/{ps.ROUTINE}/tilladelse",
        "/koeretoejer?nummerplade=AB12345",
        "/tilladelser?nummerplade=AB12345",
        "/tilladelser/BP-000001",
    ]:
        response = client.get(path)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/login?next=/"), path
    assert client.post(f"/parkering/{ps.ROUTINE}/tilladelse", data=ISSUE).status_code == 303
    assert client.post(f"/parkering/{ps.HEAVY}/afvis", data={"begrundelse": "x"}).status_code == 303
    assert {a["status"] for a in state(client)["permit_applications"]} == {"open"}


def test_inbox_pages_by_received_at_and_filters(client: TestClient) -> None:
    first = Page(client.get("/parkering").text)
    assert h1(first) == ["Indbakke – beboerparkering"]
    assert first.labelled("Ansøgninger")
    assert first.texts("row-case-id") == ps.OPEN_IN_ORDER[:4]
    assert first.texts("row-plate")[1] == "ab 12 345"
    assert first.one("page-info").text == "Side 1 af 2"
    second = Page(client.get(first.links()["Næste side"]).text)
    assert second.texts("row-case-id") == ps.OPEN_IN_ORDER[4:]
    assert "Forrige side" in second.links()

    by_cpr = Page(
        client.get(f"/parkering?status=alle&cpr={seeds.BO['cpr'][:6]}-{seeds.BO['cpr'][6:]}").text
    )
    assert by_cpr.texts("row-case-id") == [ps.LEASED]
    client.post(f"/parkering/{ps.HEAVY}/afvis", data={"begrundelse": "For tung"})
    rejected = Page(client.get("/parkering?status=rejected").text)
    assert rejected.texts("row-case-id") == [ps.HEAVY]
    assert [e.attrs["data-status"] for e in rejected.by_testid("row-status")] == ["rejected"]
    assert rejected.texts("row-handled-at")[0].startswith("20")
    none = Page(client.get("/parkering?status=manual").text)
    assert none.texts("no-applications") == ["Ingen ansøgninger"]
    assert not none.labelled("Ansøgninger")
    bad = client.get("/parkering?status=afsluttet")
    assert bad.status_code == 422
    assert Page(bad.text).alerts() == ["Ukendt status: afsluttet"]


def test_application_page_shows_every_field_as_sent(client: TestClient) -> None:
    page = Page(client.get(f"/parkering/{ps.MALFORMED}").text)
    assert h1(page) == [f"Ansøgning {ps.MALFORMED}"]
    assert page.one("status").attrs["data-status"] == "open"
    fields = {
        "case-id": ps.MALFORMED,
        "received-at": "i går",
        "applicant-cpr": seeds.FREJA["cpr"],
        "applicant-name": seeds.FREJA["name"],
        "plate": "AB-12!",
        "zone": " a ",
        "start-date": "1. december",
        "remarks": "",
        "handled-at": "",
    }
    assert {name: page.one(name).text for name in fields} == fields
    assert page.buttons()[-3:] == [
        "Markér som under behandling",
        "Afvis ansøgning",
        "Send til manuel behandling",
    ]
    assert "Begrundelse" in page.label_texts()
    assert page.links()["Udsted tilladelse"] == f"/parkering/{ps.MALFORMED}/tilladelse"
    hidden = Page(client.get(f"/parkering/{ps.HIDDEN_REMARKS}").text)
    assert hidden.one("remarks").text == "\u200b"


def test_markup_in_remarks_is_text(client: TestClient) -> None:
    remarks = '<script>alert("x")</script> <!channel> *fed*'
    assert (
        client.post(f"/api/test/permits/{ps.ROUTINE}/amend", json={"remarks": remarks}).status_code
        == 200
    )
    response = client.get(f"/parkering/{ps.ROUTINE}")
    assert "<script>" not in response.text
    assert Page(response.text).one("remarks").text == remarks


def test_unknown_application_is_404_with_alert(client: TestClient) -> None:
    response = client.get("/parkering/PRK-2026-999999")
    assert response.status_code == 404
    assert Page(response.text).alerts() == ["Ansøgning PRK-2026-999999 findes ikke"]


def test_mark_in_progress_then_not_again(client: TestClient) -> None:
    response = client.post(f"/parkering/{ps.LEASED}/under-behandling")
    assert (response.status_code, response.headers["location"]) == (303, f"/parkering/{ps.LEASED}")
    page = Page(client.get(f"/parkering/{ps.LEASED}").text)
    assert page.one("status").attrs["data-status"] == "in_progress"
    assert "Markér som under behandling" not in page.buttons()
    assert "Afvis ansøgning" in page.buttons()
    again = client.post(f"/parkering/{ps.LEASED}/under-behandling")
    assert again.status_code == 409
    assert "under behandling" in Page(again.text).alerts()[0]


def test_reject_needs_a_reason_and_shows_it(client: TestClient) -> None:
    empty = client.post(f"/parkering/{ps.HEAVY}/afvis", data={"begrundelse": " \n "})
    assert empty.status_code == 422
    assert Page(empty.text).alerts() == ["Angiv en begrundelse for afslaget"]
    assert application(client, ps.HEAVY)["status"] == "open"

    reason = "Køretøjet vejer 4.200 kg;\r\nder gives kun tilladelse op til 3.500 kg."
    done = client.post(f"/parkering/{ps.HEAVY}/afvis", data={"begrundelse": reason})
    assert done.status_code == 303
    page = Page(client.get(f"/parkering/{ps.HEAVY}").text)
    assert page.one("status").attrs["data-status"] == "rejected"
    assert page.one("rejection-reason").text == reason.replace("\r\n", "\n")
    assert page.one("handled-at").text
    assert "Afvis ansøgning" not in page.buttons()
    assert "Udsted tilladelse" not in page.links()
    assert application(client, ps.HEAVY)["reason"] == reason.replace("\r\n", "\n")

    again = client.post(f"/parkering/{ps.HEAVY}/afvis", data={"begrundelse": "igen"})
    assert again.status_code == 409
    assert Page(again.text).alerts() == [f"Ansøgning {ps.HEAVY} er allerede afsluttet (afvist)"]
    assert client.post(f"/parkering/{ps.HEAVY}/tilladelse", data=ISSUE).status_code == 409
    assert application(client, ps.HEAVY)["reason"] == reason.replace("\r\n", "\n")


def test_close_to_manual_handling_with_a_note(client: TestClient) -> None:
    assert (
        client.post(
            f"/parkering/{ps.MALFORMED}/manuel", data={"note": "Ring til borgeren"}
        ).status_code
        == 303
    )
    page = Page(client.get(f"/parkering/{ps.MALFORMED}").text)
    assert page.one("status").attrs["data-status"] == "manual"
    assert page.one("manual-note").text == "Ring til borgeren"
    entry = application(client, ps.MALFORMED)
    assert (entry["status"], entry["note"], entry["reason"]) == (
        "manual",
        "Ring til borgeren",
        None,
    )
    assert client.post(f"/parkering/{ps.MALFORMED}/manuel", data={"note": "x"}).status_code == 409


def test_vehicle_lookup_ignores_spaces_and_case(client: TestClient) -> None:
    page = Page(client.get("/koeretoejer?nummerplade= cd 23 456 ").text)
    assert h1(page) == ["Køretøjsregister"]
    assert {t: page.one(t).text for t in ("vehicle-plate", "vehicle-make", "vehicle-model")} == {
        "vehicle-plate": "CD23456",
        "vehicle-make": "Skoda",
        "vehicle-model": "Octavia",
    }
    assert page.one("vehicle-total-weight").text == "1950"
    assert page.one("vehicle-owner-cpr").text == ps.LEASING_OWNER
    assert page.one("vehicle-user-cpr").text == seeds.BO["cpr"]
    assert page.by_testid("vehicle-no-user") == []
    own = Page(client.get("/koeretoejer?nummerplade=AB12345").text)
    assert own.texts("vehicle-no-user") == ["Ingen registreret bruger"]
    assert own.by_testid("vehicle-user-cpr") == []


def test_vehicle_not_found_is_a_page_of_its_own(client: TestClient) -> None:
    response = client.get("/koeretoejer?nummerplade=ZZ99999")
    assert response.status_code == 200
    page = Page(response.text)
    assert page.texts("vehicle-not-found") == ["Intet køretøj med nummerplade ZZ99999"]
    assert page.by_testid("vehicle-plate") == []
    assert page.alerts() == []
    form = Page(client.get("/koeretoejer").text)
    assert form.label_texts() == ["Nummerplade"]
    assert form.by_testid("vehicle-not-found") == form.by_testid("vehicle-plate") == []


def test_permit_register_lists_every_permit_for_a_plate(client: TestClient) -> None:
    page = Page(client.get("/tilladelser?nummerplade=gh 45 678").text)
    assert page.labelled("Tilladelser")
    assert page.texts("permit-id") == [ps.ACTIVE_PERMIT]
    assert page.texts("permit-zone") == ["A"]
    assert page.texts("permit-valid-from") == ["2026-01-01"]
    assert page.texts("permit-valid-to") == ["2026-12-31"]
    assert page.texts("permit-case-id") == [""]
    expired = Page(client.get("/tilladelser?nummerplade=AB12345").text)
    assert expired.texts("permit-case-id") == ["PRK-2025-000042"]
    none = Page(client.get("/tilladelser?nummerplade=EF34567").text)
    assert none.texts("no-permits") == ["Ingen tilladelser for nummerplade EF34567"]
    assert not none.labelled("Tilladelser")


def test_issue_shows_a_receipt_and_closes_the_application(client: TestClient) -> None:
    form = Page(client.get(f"/parkering/{ps.ROUTINE}/tilladelse").text)
    assert h1(form) == ["Udsted beboerparkeringstilladelse"]
    assert form.label_texts() == ["Nummerplade", "Zone", "Gyldig fra", "Gyldig til"]
    assert "Udsted tilladelse" in form.buttons()

    issued = client.post(f"/parkering/{ps.ROUTINE}/tilladelse", data=ISSUE)
    assert (issued.status_code, issued.headers["location"]) == (303, "/tilladelser/BP-000003")
    receipt = Page(client.get("/tilladelser/BP-000003").text)
    assert h1(receipt) == ["Kvittering for beboerparkeringstilladelse"]
    assert {
        t: receipt.one(t).text
        for t in (
            "permit-id",
            "permit-case-id",
            "permit-plate",
            "permit-zone",
            "permit-valid-from",
            "permit-valid-to",
            "permit-issued-by",
        )
    } == {
        "permit-id": "BP-000003",
        "permit-case-id": ps.ROUTINE,
        "permit-plate": "AB12345",
        "permit-zone": "A",
        "permit-valid-from": "2026-12-01",
        "permit-valid-to": "2027-11-30",
        "permit-issued-by": "robot",
    }
    page = Page(client.get(f"/parkering/{ps.ROUTINE}").text)
    assert page.one("status").attrs["data-status"] == "issued"
    assert page.one("permit-id").text == "BP-000003"
    register = Page(client.get("/tilladelser?nummerplade=AB12345").text)
    assert register.texts("permit-id") == [ps.EXPIRED_PERMIT, "BP-000003"]
    assert register.texts("permit-case-id") == ["PRK-2025-000042", ps.ROUTINE]

    entry = application(client, ps.ROUTINE)
    assert (entry["status"], entry["permit_id"]) == ("issued", "BP-000003")
    assert entry["handled_at"]
    permit = state(client)["permits"][-1]
    assert permit | {"issued_at": None} == {
        "permit_id": "BP-000003",
        "plate": "AB12345",
        "zone": "A",
        "valid_from": "2026-12-01",
        "valid_to": "2027-11-30",
        "case_id": ps.ROUTINE,
        "issued_by": "robot",
        "issued_at": None,
    }


def test_a_second_issue_for_the_same_case_is_a_409_conflict(client: TestClient) -> None:
    assert client.post(f"/parkering/{ps.ROUTINE}/tilladelse", data=ISSUE).status_code == 303
    again = client.post(f"/parkering/{ps.ROUTINE}/tilladelse", data=ISSUE | {"zone": "B"})
    assert again.status_code == 409
    page = Page(again.text)
    assert page.alerts() == [
        "Der er allerede udstedt en tilladelse for denne sag (tilladelsesnr. BP-000003)"
    ]
    assert "Udsted tilladelse" in page.buttons()  # the form, filled in as sent
    assert [p["permit_id"] for p in state(client)["permits"]] == [
        "BP-000001",
        "BP-000002",
        "BP-000003",
    ]
    assert (
        client.post(f"/parkering/{ps.ROUTINE}/afvis", data={"begrundelse": "x"}).status_code == 409
    )
    assert client.post(f"/parkering/{ps.ROUTINE}/under-behandling").status_code == 409


@pytest.mark.parametrize(
    ("change", "alert"),
    [
        ({"plate": "AB-12!"}, "Nummerpladen AB-12! er ikke gyldig"),
        ({"plate": "  "}, "Nummerpladen (tom) er ikke gyldig"),
        ({"zone": "Q"}, "Ukendt parkeringszone: Q"),
        (
            {"valid_from": "1. december"},
            "Gyldig fra 1. december er ikke en gyldig dato (ÅÅÅÅ-MM-DD)",
        ),
        ({"valid_to": "2026-11-30"}, "Gyldig til ligger før gyldig fra"),
    ],
)
def test_invalid_permit_values_are_422_and_issue_nothing(
    client: TestClient, change: dict[str, str], alert: str
) -> None:
    response = client.post(f"/parkering/{ps.ROUTINE}/tilladelse", data=ISSUE | change)
    assert response.status_code == 422
    assert Page(response.text).alerts() == [alert]
    assert len(state(client)["permits"]) == 2
    assert application(client, ps.ROUTINE)["status"] == "open"


def test_a_period_over_a_year_is_cut_to_a_year(client: TestClient) -> None:
    long = ISSUE | {"valid_to": "2028-12-31"}
    assert (
        client.post(
            f"/parkering/{ps.LEASED}/tilladelse", data=long | {"plate": "CD23456"}
        ).status_code
        == 303
    )
    assert state(client)["permits"][-1]["valid_to"] == "2027-11-30"


def test_address_page_shows_the_parking_zone_and_person_page_the_known_address(
    client: TestClient,
) -> None:
    zoned = Page(client.get("/adresseregister/a-old").text)
    assert zoned.one("parking-zone").text == "A"
    assert zoned.by_testid("no-parking-zone") == []
    unzoned = Page(client.get("/adresseregister/a-new-2").text)
    assert unzoned.texts("no-parking-zone") == ["Ingen zone"]
    assert unzoned.by_testid("parking-zone") == []
    person = Page(client.get(f"/cpr?cpr={seeds.ANNA['cpr']}").text)
    assert person.one("person-address").attrs["data-address-known"] == "true"


def test_state_api_keeps_its_keys_and_adds_parking(client: TestClient) -> None:
    body = state(client)
    assert list(body) == [
        "notifications",
        "registrations",
        "residents",
        "permit_applications",
        "permits",
    ]
    assert [a["case_id"] for a in body["permit_applications"]] == ps.OPEN_IN_ORDER
    assert body["permit_applications"][0] == {
        "case_id": ps.HEAVY,
        "status": "open",
        "received_at": "2026-11-19T08:00:00+01:00",
        "handled_at": None,
        "reason": None,
        "note": None,
        "permit_id": None,
    }
    assert client.get("/api/health").json() == {"status": "ok", "cases": 7}


def test_amend_hook_changes_an_application_and_refuses_nonsense(client: TestClient) -> None:
    hook = f"/api/test/permits/{ps.ROUTINE}/amend"
    assert client.post(hook, json={"plate": "XY 99 999", "zone": "B"}).status_code == 200
    page = Page(client.get(f"/parkering/{ps.ROUTINE}").text)
    assert (page.one("plate").text, page.one("zone").text) == ("XY 99 999", "B")
    assert client.post(hook, json={"plate": 12345}).status_code == 422
    assert client.post(hook, json={"colour": "rød"}).status_code == 422
    assert client.post(hook, json={"case_id": "PRK-2026-000099"}).status_code == 422
    assert client.post("/api/test/permits/NOPE/amend", json={"zone": "A"}).status_code == 404
    assert Page(client.get(f"/parkering/{ps.ROUTINE}").text).one("plate").text == "XY 99 999"


@pytest.mark.parametrize(
    "path",
    [
        "/parkering",
        f"/parkering/{ps.ROUTINE}",
        f"/parkering/{ps.ROUTINE}/tilladelse",
        "/koeretoejer?nummerplade=AB12345",
        "/tilladelser?nummerplade=AB12345",
    ],
)
def test_error_and_maintenance_faults_hit_the_parking_paths(client: TestClient, path: str) -> None:
    prefix = path.split("?")[0]
    client.post("/api/test/faults", json={"path_prefix": prefix, "status": 429, "method": "GET"})
    failed = client.get(path)
    assert failed.status_code == 429
    assert failed.headers["retry-after"] == "1"
    assert Page(failed.text).alerts() == ["For mange forespørgsler: vent lidt, og prøv igen"]
    client.post("/api/test/faults", json={"path_prefix": prefix, "kind": "maintenance"})
    closed = Page(client.get(path).text)
    assert h1(closed) == ["Systemet er lukket for vedligeholdelse"]
    assert closed.by_testid("vehicle-not-found") == closed.by_testid("row-case-id") == []
    assert client.get(path).status_code == 200


def test_a_faulted_issue_issues_nothing_and_a_layout_fault_hides_the_table(
    client: TestClient,
) -> None:
    fault = {"path_prefix": "/parkering/", "method": "POST", "status": 503}
    client.post("/api/test/faults", json=fault)
    assert client.post(f"/parkering/{ps.ROUTINE}/tilladelse", data=ISSUE).status_code == 503
    assert len(state(client)["permits"]) == 2
    layout = {"path_prefix": "/tilladelser", "kind": "layout", "aria_label": "Tilladelser"}
    client.post("/api/test/faults", json=layout)
    hidden = Page(client.get("/tilladelser?nummerplade=GH45678").text)
    assert hidden.by_testid("permit-id") == hidden.by_testid("no-permits") == []


def test_a_person_at_an_address_the_register_lacks_is_shown_as_unknown() -> None:
    data = ps.parking_batch()
    data["residents"][0]["address_id"] = "0a3f5081-..."  # as the contract's example has it
    app = create_app(parse_seed(data), SandboxSettings())
    with TestClient(app) as client:
        client.post("/login", data={"username": "robot", "password": "robot-demo"})
        response = client.get(f"/cpr?cpr={data['residents'][0]['cpr']}")
    assert response.status_code == 200
    address = Page(response.text).one("person-address")
    assert (address.attrs["data-address-known"], address.text) == ("false", "")
