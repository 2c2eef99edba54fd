"""The sample generator: deterministic, loadable, valid CPR numbers and a realistic mix."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sandbox_html import Page
from stdnum.dk import cpr as stdnum_cpr

from config.settings import SandboxSettings
from sandbox import create_app, generate_sample, load_seed, parse_seed

TODAY = date(2026, 11, 20)
N = 40


@pytest.fixture(scope="module")
def sample() -> dict[str, Any]:
    """The default-sized sample on a fixed day."""
    return generate_sample(N, today=TODAY)


def _key(address: dict[str, Any]) -> tuple[str, ...]:
    parts = ("street", "house_number", "floor", "door", "postcode")
    return tuple((address.get(p) or "").strip().casefold() for p in parts)


def _age(cpr: str, on: date) -> int:
    born = stdnum_cpr.get_birth_date(cpr)
    return on.year - born.year - int((on.month, on.day) < (born.month, born.day))


def _classify(sample: dict[str, Any]) -> list[set[str]]:
    """The rules each notification would fire, worked out independently of the generator."""
    people = {r["cpr"]: r for r in sample["residents"]}
    by_key = {_key(a): a for a in sample["addresses"]}
    residents_at = Counter(r["address_id"] for r in sample["residents"])
    mover_counts = Counter(m["cpr"] for n in sample["notifications"] for m in n["movers"])
    kinds = []
    for n in sample["notifications"]:
        fired: set[str] = set()
        if n["remarks"].strip():
            fired.add("remarks.present")
        try:
            move_date = date.fromisoformat(n["move_date"])
            for m in n["movers"]:
                stdnum_cpr.validate(m["cpr"])
            if not n["movers"] or n.get("new_address") is None:
                raise ValueError("incomplete")
        except Exception:
            kinds.append(fired | {"data.invalid"})
            continue
        received = datetime.fromisoformat(n["received_at"]).date()
        new = by_key.get(_key(n["new_address"]))
        old = by_key.get(_key(n["old_address"]))
        for m in n["movers"]:
            person = people.get(m["cpr"])
            if person is None or person["name"] != m["name"]:
                fired.add("cpr.unknown")
            elif old is None or person["address_id"] != old["address_id"]:
                fired.add("mover.elsewhere")
            elif person["protected_address"]:
                fired.add("address.protected")
            if mover_counts[m["cpr"]] > 1:
                fired.add("case.duplicate")
        if new is None:
            fired.add("address.unknown")
        elif new["unit_type"] != "dwelling":
            fired.add("address.not_dwelling")
        elif residents_at[new["address_id"]] > 2:
            fired.add("address.crowded")
        if all(_age(m["cpr"], move_date) < 18 for m in n["movers"]):
            fired.add("movers.minor_alone")
        if (move_date - received).days > 28:
            fired.add("date.far_ahead")
        if (received - move_date).days > 365:
            fired.add("date.long_ago")
        if abs((move_date - received).days) > 14 and not fired & {
            "date.far_ahead",
            "date.long_ago",
        }:
            fired.add("date.odd")
        kinds.append(fired)
    return kinds


def test_sample_is_deterministic() -> None:
    first = generate_sample(12, seed=3, today=TODAY)
    assert generate_sample(12, seed=3, today=TODAY) == first
    assert generate_sample(12, seed=4, today=TODAY) != first


def test_sample_round_trips_through_load_seed(tmp_path: Path, sample: dict[str, Any]) -> None:
    path = tmp_path / "sample.json"
    path.write_text(json.dumps(sample, ensure_ascii=False), encoding="utf-8")
    seed = load_seed(path)
    assert len(seed.notifications) == N
    assert len(seed.addresses) >= 3 * N
    assert {a.unit_type for a in seed.addresses} == {
        "dwelling",
        "business",
        "summer_house",
        "institution",
    }


def test_register_cprs_are_valid_and_pass_modulus_11(sample: dict[str, Any]) -> None:
    cprs = [r["cpr"] for r in sample["residents"]]
    assert len(set(cprs)) == len(cprs)
    for cpr in cprs:
        assert stdnum_cpr.validate(cpr) == cpr
        assert stdnum_cpr.checksum(cpr) == 0


def test_residents_per_address_are_one_to_four(sample: dict[str, Any]) -> None:
    counts = Counter(r["address_id"] for r in sample["residents"])
    assert counts
    assert max(counts.values()) <= 4


def test_received_in_the_last_days_in_copenhagen_time(sample: dict[str, Any]) -> None:
    for n in sample["notifications"]:
        received = datetime.fromisoformat(n["received_at"])
        assert received.utcoffset() is not None
        assert received.isoformat(timespec="seconds") == n["received_at"]
        assert 1 <= (TODAY - received.date()).days <= 6
    assert len({n["case_id"] for n in sample["notifications"]}) == N


def test_routine_cases_are_the_majority_and_plain(sample: dict[str, Any]) -> None:
    kinds = _classify(sample)
    routine = [n for n, fired in zip(sample["notifications"], kinds, strict=True) if not fired]
    assert len(routine) >= N // 2
    for n in routine:
        assert n["remarks"] == ""
        assert n["channel"]
        assert any(_age(m["cpr"], date.fromisoformat(n["move_date"])) >= 18 for m in n["movers"])


def test_mix_has_every_unusual_kind(sample: dict[str, Any]) -> None:
    fired = Counter(rule for rules in _classify(sample) for rule in rules)
    for rule in (
        "remarks.present",
        "data.invalid",
        "address.unknown",
        "address.not_dwelling",
        "address.protected",
        "movers.minor_alone",
        "date.far_ahead",
        "date.long_ago",
        "case.duplicate",
    ):
        assert fired[rule] >= 1, rule
    assert fired["case.duplicate"] >= 2
    assert fired["remarks.present"] >= N // 8
    # Nothing the generator did not mean: every mover found where they live.
    assert fired["cpr.unknown"] == fired["mover.elsewhere"] == fired["address.crowded"] == 0
    assert fired["date.odd"] == 0


def test_malformed_kinds_and_remarks_are_present(sample: dict[str, Any]) -> None:
    notes = sample["notifications"]
    assert any(n["movers"] == [] for n in notes)
    assert any("new_address" not in n or n["new_address"] is None for n in notes)
    assert any(n["move_date"] in (f"31-02-{TODAY.year}", "i morgen") for n in notes)
    bad_cprs = [m["cpr"] for n in notes for m in n["movers"] if not stdnum_cpr.is_valid(m["cpr"])]
    assert bad_cprs
    assert all(c[2:4] == "13" for c in bad_cprs)
    remarks = [n["remarks"] for n in notes]
    assert any("<script>alert(1)</script>" in r for r in remarks)
    assert any("<!channel>" in r for r in remarks)
    assert any("*fed*" in r for r in remarks)
    assert any(len(r) > 1000 for r in remarks)


@pytest.mark.parametrize("n_cases", [0, 1, 5, 100])
def test_any_size_loads(tmp_path: Path, n_cases: int) -> None:
    path = tmp_path / "sample.json"
    path.write_text(json.dumps(generate_sample(n_cases, seed=11, today=TODAY)), encoding="utf-8")
    assert len(load_seed(path).notifications) == n_cases


def test_every_sample_case_renders_its_raw_values(sample: dict[str, Any]) -> None:
    app = create_app(parse_seed(sample), SandboxSettings(page_size=500))
    with TestClient(app) as client:
        client.post("/login", data={"username": "robot", "password": "robot-demo"})
        inbox = Page(client.get("/sager").text)
        assert len(inbox.texts("row-case-id")) == N
        for n in sample["notifications"]:
            page = Page(client.get(f"/sager/{n['case_id']}").text)
            assert page.one("remarks").text == n["remarks"]
            assert page.one("move-date").text == n["move_date"]
            assert page.texts("mover-cpr") == [m["cpr"] for m in n["movers"]]
            missing = page.by_testid("new-address-missing")
            assert bool(missing) == (n.get("new_address") is None)
