"""The address register, person lookup and registering moves."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sandbox_html import Page
from sandbox_testdata import ANNA, BO, BUSINESS, CARL, NEW, NEW_1TV, OLD

MOVE = {"cpr": ANNA, "address_id": NEW, "move_date": "2026-11-15", "case_id": "FLY-2026-000001"}
DUPLICATE = "Flytningen er allerede registreret for denne sag (registreringsnr. REG-000001)"


def _search(client: TestClient, **query: str) -> Page:
    response = client.get("/adresseregister", params=query)
    assert response.status_code == 200
    return Page(response.text)


def test_search_form_without_query_shows_no_result(client: TestClient) -> None:
    page = _search(client)
    assert page.label_texts() == ["Vejnavn", "Husnummer", "Etage", "Dør", "Postnummer"]
    assert "Søg" in page.buttons()
    assert not page.labelled("Adresser")
    assert page.by_testid("no-addresses") == []


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"vejnavn": "  sct. MATHIAS gade ", "husnr": "5 ", "postnr": "8800"}, [NEW]),
        (
            {
                "vejnavn": "Sct. Mathias Gade",
                "husnr": "5",
                "etage": "",
                "doer": "",
                "postnr": "8800",
            },
            [NEW],
        ),
        (
            {
                "vejnavn": "Sct. Mathias Gade",
                "husnr": "5",
                "etage": "1",
                "doer": "TV",
                "postnr": "8800",
            },
            [NEW_1TV],
        ),
        (
            {"vejnavn": "Vestergade", "husnr": "12", "etage": "2", "doer": "th", "postnr": "8800"},
            [OLD],
        ),
        ({"vejnavn": "Vestergade", "husnr": "12", "postnr": "8800"}, []),
        (
            {"vejnavn": "Vestergade", "husnr": "12", "etage": "2", "doer": "th", "postnr": "8000"},
            [],
        ),
        ({"vejnavn": "Vestergad", "husnr": "12", "etage": "2", "doer": "th", "postnr": "8800"}, []),
        ({"vejnavn": "Industrivej", "husnr": "3", "postnr": "8800"}, [BUSINESS]),
    ],
)
def test_address_search_matching(
    client: TestClient, query: dict[str, str], expected: list[str]
) -> None:
    page = _search(client, **query)
    assert page.texts("address-id") == expected
    if expected:
        assert page.labelled("Adresser")
        assert page.by_testid("no-addresses") == []
    else:
        assert page.one("no-addresses").text == "Ingen adresser fundet"


def test_address_result_row(client: TestClient) -> None:
    page = _search(client, vejnavn="Industrivej", husnr="3", postnr="8800")
    assert page.one("address-text").text == "Industrivej 3, 8800 Viborg"
    assert page.one("unit-type").attrs["data-unit-type"] == "business"
    assert page.one("municipality-code").text == "0791"
    assert page.links()[BUSINESS] == f"/adresseregister/{BUSINESS}"
    one_tv = _search(
        client, vejnavn="sct. mathias gade", husnr="5", etage="1", doer="tv", postnr="8800"
    )
    assert one_tv.one("address-text").text == "Sct. Mathias Gade 5, 1. tv, 8800 Viborg"


def test_address_page_lists_residents(client: TestClient) -> None:
    page = Page(client.get(f"/adresseregister/{OLD}").text)
    fields = ["address-id", "street", "house-number", "floor", "door", "postcode", "city"]
    assert [page.one(f).text for f in fields] == [
        OLD,
        "Vestergade",
        "12",
        "2",
        "th",
        "8800",
        "Viborg",
    ]
    assert page.one("unit-type").attrs["data-unit-type"] == "dwelling"
    assert page.labelled("Beboere")
    assert page.texts("resident-cpr") == [ANNA, BO]
    assert page.texts("resident-name") == ["Anna Jensen", "Bo Jensen"]
    protected = Page(client.get(f"/adresseregister/{NEW_1TV}").text).one("resident-protected")
    assert protected.attrs["data-protected"] == "true"
    assert client.get("/adresseregister/nowhere").status_code == 404


def test_person_lookup(client: TestClient) -> None:
    page = Page(client.get("/cpr", params={"cpr": "020285-1235"}).text)
    assert page.label_texts() == ["CPR-nummer"]
    assert "Slå op" in page.buttons()
    assert page.one("person-cpr").text == CARL
    assert page.one("person-name").text == "Carl Holm"
    assert page.one("person-address-id").text == NEW_1TV
    assert page.one("person-address").text == "Sct. Mathias Gade 5, 1. tv, 8800 Viborg"
    assert page.one("person-protected").attrs["data-protected"] == "true"
    assert page.labelled("Registrerede flytninger")
    assert page.by_testid("registration-id") == []
    missing = Page(client.get("/cpr", params={"cpr": "0303951238"}).text)
    assert missing.by_testid("person-not-found")
    assert missing.by_testid("person-cpr") == []
    blank_form = Page(client.get("/cpr").text)
    assert blank_form.by_testid("person-not-found") == []


def _registrations(client: TestClient) -> list[dict[str, Any]]:
    registrations: list[dict[str, Any]] = client.get("/api/state").json()["registrations"]
    return registrations


def test_register_move_receipt_and_state(client: TestClient) -> None:
    form = Page(client.get("/cpr/flytning").text)
    assert form.label_texts() == ["CPR-nummer", "Ny adresse-id", "Flyttedato", "Sagsnummer"]
    assert "Registrér flytning" in form.buttons()

    response = client.post("/cpr/flytning", data=MOVE)
    assert (response.status_code, response.headers["location"]) == (303, "/cpr/flytning/REG-000001")
    receipt = Page(client.get("/cpr/flytning/REG-000001").text)
    assert "Kvittering for flytning" in [e.text for e in receipt.elements if e.tag == "h1"]
    assert [
        receipt.one(t).text
        for t in (
            "registration-id",
            "registration-case-id",
            "registration-cpr",
            "registration-address-id",
            "registration-move-date",
        )
    ] == ["REG-000001", "FLY-2026-000001", ANNA, NEW, "2026-11-15"]

    [registration] = _registrations(client)
    assert {k: registration[k] for k in ("registration_id", "case_id", "cpr", "address_id")} == {
        "registration_id": "REG-000001",
        "case_id": "FLY-2026-000001",
        "cpr": ANNA,
        "address_id": NEW,
    }
    assert registration["move_date"] == "2026-11-15"
    assert registration["registered_by"] == "robot"
    assert registration["registered_at"]

    person = Page(client.get("/cpr", params={"cpr": ANNA}).text)
    assert person.one("person-address-id").text == NEW
    assert person.texts("registration-id") == ["REG-000001"]
    assert person.texts("registration-case-id") == ["FLY-2026-000001"]
    assert person.texts("registration-address-id") == [NEW]
    assert person.texts("registration-move-date") == ["2026-11-15"]
    residents = Page(client.get(f"/adresseregister/{NEW}").text).texts("resident-cpr")
    assert residents == [ANNA]


def test_second_registration_for_same_case_is_refused(client: TestClient) -> None:
    assert client.post("/cpr/flytning", data=MOVE).status_code == 303
    again = client.post("/cpr/flytning", data=MOVE | {"address_id": NEW_1TV})
    assert again.status_code == 409
    assert Page(again.text).alerts() == [DUPLICATE]
    assert len(_registrations(client)) == 1
    other_case = client.post("/cpr/flytning", data=MOVE | {"case_id": "FLY-2026-000003"})
    assert other_case.status_code == 303
    assert [r["registration_id"] for r in _registrations(client)] == ["REG-000001", "REG-000002"]


@pytest.mark.parametrize(
    ("change", "alert"),
    [
        ({"cpr": "0303951238"}, "CPR-nummeret 0303951238 findes ikke i CPR"),
        ({"address_id": "nowhere"}, "Adresse-id nowhere findes ikke"),
        (
            {"move_date": "31-02-2026"},
            "Flyttedatoen 31-02-2026 er ikke en gyldig dato (ÅÅÅÅ-MM-DD)",
        ),
        (
            {"move_date": "2026-02-31"},
            "Flyttedatoen 2026-02-31 er ikke en gyldig dato (ÅÅÅÅ-MM-DD)",
        ),
        ({"case_id": "FLY-0"}, "Sagsnummeret FLY-0 findes ikke"),
    ],
)
def test_register_move_refuses_bad_input(
    client: TestClient, change: dict[str, str], alert: str
) -> None:
    response = client.post("/cpr/flytning", data=MOVE | change)
    assert response.status_code == 422
    page = Page(response.text)
    assert page.alerts() == [alert]
    assert [e.attrs.get("value") for e in page.elements if e.tag == "input"] == list(
        (MOVE | change).values()
    )
    assert _registrations(client) == []


def test_unknown_receipt_is_404(client: TestClient) -> None:
    response = client.get("/cpr/flytning/REG-999999")
    assert response.status_code == 404
    assert Page(response.text).alerts() == ["Registrering REG-999999 findes ikke"]
