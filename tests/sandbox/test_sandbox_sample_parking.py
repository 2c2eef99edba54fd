"""The sample's resident parking part: notifications unchanged, one rule tripped per case."""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sandbox_html import Page

from config.settings import SandboxSettings
from sandbox import create_app, generate_sample, parse_seed
from sandbox._parking_sample import PERMIT_KINDS

TODAY = date(2026, 11, 20)
NOTIFICATIONS_BEFORE_PARKING = "d2cd994d1af94cd241a71408436e33db7a0a8825fba488d2e8d9447b1df59292"
RESIDENTS_BEFORE_PARKING = "b8e64034ce7fc5f49b98961ee186097e897c9657e1fd42d2f2b5c60f3610683c"
ADDRESSES_BEFORE_PARKING = "1155c7869bd4e8bd6ac056643fd8be11eff0d7805ce54bd8d5328817f48e0eb5"
WHITE_SPACE = frozenset(
    "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
    "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)


def _plate(text: str) -> str:
    return re.sub(r"\s+", "", text).upper()


def classify(sample: dict[str, Any]) -> list[set[str]]:
    """The future rules each application would trip, worked out from the data alone."""
    people = {r["cpr"]: r for r in sample["residents"]}
    zones = {a["address_id"]: a.get("parking_zone") for a in sample["addresses"]}
    vehicles = {_plate(v["plate"]): v for v in sample["vehicles"]}
    fired_per_case = []
    for a in sample["permit_applications"]:
        fired: set[str] = set()
        if any(ch not in WHITE_SPACE for ch in a["remarks"]):
            fired.add("remarks.present")
        plate = _plate(a["plate"])
        try:
            start = date.fromisoformat(a["start_date"])
            if not re.fullmatch(r"[A-Z]{2}[0-9]{5}", plate):
                raise ValueError(plate)
        except ValueError:
            fired_per_case.append(fired | {"data.invalid"})
            continue
        vehicle = vehicles.get(plate)
        if vehicle is None:
            fired.add("vehicle.unknown")
        else:
            if a["applicant_cpr"] not in (vehicle["owner_cpr"], vehicle["user_cpr"]):
                fired.add("vehicle.not_applicants")
            if vehicle["total_weight_kg"] > 3500:
                fired.add("vehicle.too_heavy")
        person = people.get(a["applicant_cpr"])
        if person is None or person["name"] != a["applicant_name"]:
            fired.add("applicant.unknown")
        elif zones.get(person["address_id"]) != a["zone"]:
            fired.add("address.outside_zone")
        for permit in sample["permits"]:
            ends = date.fromisoformat(permit["valid_to"])
            if _plate(permit["plate"]) == plate and ends >= min(start, TODAY):
                fired.add("permit.already_active")
        fired_per_case.append(fired)
    return fired_per_case


@pytest.mark.parametrize(("n_cases", "seed"), [(40, 7), (12, 3), (0, 11)])
def test_every_kind_trips_its_one_rule_and_routine_ones_none(n_cases: int, seed: int) -> None:
    sample = generate_sample(n_cases, seed=seed, today=TODAY)
    parse_seed(sample)
    fired = classify(sample)
    assert len(fired) == len(PERMIT_KINDS)
    assert all(len(rules) <= 1 for rules in fired), fired
    expected = Counter(rule for _, rule in PERMIT_KINDS)
    assert Counter(next(iter(rules), None) for rules in fired) == expected


def _digest(value: Any) -> str:
    return hashlib.sha256(
        json.dumps(value, sort_keys=True, ensure_ascii=False).encode()
    ).hexdigest()


def test_the_parking_part_leaves_the_notifications_as_they_were() -> None:
    sample = generate_sample(40, today=TODAY)
    # As generate_sample(40, today=TODAY) made them before resident parking existed (163
    # residents at 120 addresses); an applicant the register lacks would come after them.
    assert _digest(sample["notifications"]) == NOTIFICATIONS_BEFORE_PARKING
    assert _digest(sample["residents"][:163]) == RESIDENTS_BEFORE_PARKING
    zoneless = [
        {k: v for k, v in a.items() if k != "parking_zone"} for a in sample["addresses"][:120]
    ]
    assert _digest(zoneless) == ADDRESSES_BEFORE_PARKING
    applicants = {a["applicant_cpr"] for a in sample["permit_applications"]}
    movers = {m["cpr"] for n in sample["notifications"] for m in n["movers"]}
    assert not applicants & movers
    assert {a.get("parking_zone") for a in sample["addresses"]} == {None, "A", "B", "C"}
    assert all(
        a["postcode"] == "8800" and a["unit_type"] == "dwelling"
        for a in sample["addresses"]
        if a.get("parking_zone")
    )


def test_malformed_and_hidden_values_are_there_as_written() -> None:
    sample = generate_sample(40, today=TODAY)
    applications = sample["permit_applications"]
    assert [a["case_id"] for a in applications] == [f"PRK-2026-{i:06d}" for i in range(101, 113)]
    assert any(a["remarks"] == "\u200b\u2060" for a in applications)
    assert any(a["start_date"] == "01-12-2026" for a in applications)
    assert any(len(_plate(a["plate"])) == 8 for a in applications)
    assert any(" " in a["plate"] and a["plate"] != a["plate"].upper() for a in applications)
    assert any(v["user_cpr"] for v in sample["vehicles"])


def test_every_sample_application_renders_its_raw_values() -> None:
    sample = generate_sample(40, today=TODAY)
    app = create_app(parse_seed(sample), SandboxSettings(page_size=500))
    with TestClient(app) as client:
        client.post("/login", data={"username": "robot", "password": "robot-demo"})
        inbox = Page(client.get("/parkering").text)
        assert len(inbox.texts("row-case-id")) == len(PERMIT_KINDS)
        for a in sample["permit_applications"]:
            page = Page(client.get(f"/parkering/{a['case_id']}").text)
            assert page.one("remarks").text == a["remarks"]
            assert page.one("plate").text == a["plate"]
            assert page.one("start-date").text == a["start_date"]
