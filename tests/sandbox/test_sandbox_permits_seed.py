"""Resident parking in the seed and the state log: old seeds unchanged, new parts strict."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sandbox_testdata import SEED

from sandbox import SeedError, load_seed, parse_seed
from sandbox.persistence import StateLog, seed_digest
from sandbox.store import Store
from tests import permit_seeds, seeds

# sha256 of model_dump_json() of these seeds before resident parking existed: the
# header of every state log an earlier version wrote for them.
DIGESTS_BEFORE_PARKING = {
    "small_batch": "c806b115f946ff78da13fde189dc7b5ccec3f167cd5a17706eb29267132a955f",
    "sandbox_testdata": "73e5a61d4f8375f3c55f4d5920375722590c275538e66a5cd759e69c5bd5f9ac",
}


def _write(tmp_path: Path, data: Any) -> Path:
    path = tmp_path / "seed.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_old_seeds_load_as_before_with_no_parking(tmp_path: Path) -> None:
    for name, data in [("small_batch", seeds.small_batch()), ("sandbox_testdata", SEED)]:
        seed = load_seed(_write(tmp_path, data))
        assert (seed.vehicles, seed.permit_applications, seed.permits) == ([], [], [])
        assert {a.parking_zone for a in seed.addresses} == {None}
        assert seed_digest(seed) == DIGESTS_BEFORE_PARKING[name], name


def test_a_state_log_written_before_parking_existed_is_replayed(tmp_path: Path) -> None:
    path = tmp_path / "state.jsonl"
    lines = [
        json.dumps({"seed": DIGESTS_BEFORE_PARKING["small_batch"]}),
        json.dumps(
            {"op": "in_progress", "at": "2026-11-20T10:00:00+01:00", "case_id": seeds.REMARKS}
        ),
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    seed = parse_seed(seeds.small_batch())
    store = Store(seed)
    store.persist_to(StateLog(path, seed))
    assert store.get_case(seeds.REMARKS).status == "in_progress"
    assert not (tmp_path / "state.previous.jsonl").exists()


def test_parking_parts_load_with_raw_application_data() -> None:
    seed = parse_seed(permit_seeds.parking_batch())
    assert [a.parking_zone for a in seed.addresses] == ["A", "B", None]
    assert len(seed.vehicles) == 5
    leased = seed.vehicles[1]
    assert (leased.owner_cpr, leased.user_cpr) == (permit_seeds.LEASING_OWNER, seeds.BO["cpr"])
    assert seed.vehicles[0].user_cpr is None
    malformed = seed.permit_applications[-1]
    assert (malformed.plate, malformed.zone, malformed.start_date, malformed.received_at) == (
        "AB-12!",
        " a ",
        "1. december",
        "i går",
    )
    assert seed.permit_applications[4].remarks == "\u200b"
    assert seed.permits[0].valid_to == date(2026, 12, 31)
    assert seed.permits[0].case_id is None
    # A seed with parking parts is another seed: its log starts over.
    assert seed_digest(seed) != DIGESTS_BEFORE_PARKING["small_batch"]


def _set(section: str, index: int, **values: Any) -> Callable[[dict[str, Any]], None]:
    return lambda data: data[section][index].update(values)


def _drop(section: str, index: int, key: str) -> Callable[[dict[str, Any]], None]:
    return lambda data: data[section][index].pop(key)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (_set("addresses", 0, parking_zone=""), "addresses[0].parking_zone: String should have"),
        (
            _set("addresses", 0, parking_zone=1),
            "addresses[0].parking_zone: Input should be a valid",
        ),
        (_drop("vehicles", 0, "plate"), "vehicles[0].plate: Field required"),
        (
            _set("vehicles", 0, total_weight_kg="1500"),
            "vehicles[0].total_weight_kg: Input should be a valid integer",
        ),
        (_set("vehicles", 1, colour="rød"), "vehicles[1].colour: Extra inputs are not permitted"),
        (_set("vehicles", 2, owner_cpr=None), "vehicles[2].owner_cpr: Input should be a valid"),
        (
            _set("vehicles", 4, plate="ab 12345"),
            "vehicles[4].plate: duplicate 'ab 12345' (first at vehicles[0])",
        ),
        (_drop("permit_applications", 0, "plate"), "permit_applications[0].plate: Field required"),
        (
            _set("permit_applications", 1, start_date=None),
            "permit_applications[1].start_date: Input should be a valid string",
        ),
        (
            _set("permit_applications", 2, status="issued"),
            "permit_applications[2].status: Extra inputs are not permitted",
        ),
        (
            _set("permit_applications", 3, case_id="PRK/1"),
            "permit_applications[3].case_id: String should match",
        ),
        (
            _set("permit_applications", 1, case_id=permit_seeds.ROUTINE),
            f"permit_applications[1].case_id: duplicate '{permit_seeds.ROUTINE}'",
        ),
        (_set("permits", 0, permit_id="BP-1"), "permits[0].permit_id: String should match"),
        (
            _set("permits", 0, valid_from="1. januar"),
            "permits[0].valid_from: '1. januar' is not a date",
        ),
        (
            _set("permits", 0, valid_to="2025-12-31"),
            "permits[0]: valid_to 2025-12-31 is before valid_from 2026-01-01",
        ),
        (_set("permits", 1, permit_id="BP-000001"), "permits[1].permit_id: duplicate"),
        (
            _set("permits", 0, case_id=permit_seeds.HEAVY),
            f"permits[0].case_id: '{permit_seeds.HEAVY}' is an open application of this seed",
        ),
        (lambda d: d.update(vehicles=None), "vehicles: Input should be a valid list"),
        (lambda d: d.update(parking=[]), "parking: Extra inputs are not permitted"),
    ],
)
def test_parking_shape_errors_name_the_first_bad_field(
    tmp_path: Path, change: Callable[[dict[str, Any]], None], message: str
) -> None:
    data = permit_seeds.parking_batch()
    change(data)
    path = _write(tmp_path, data)
    with pytest.raises(SeedError) as caught:
        load_seed(path)
    assert str(caught.value).startswith(f"{path}: {message}")


def _started(path: Path) -> Store:
    seed = parse_seed(permit_seeds.parking_batch())
    store = Store(seed)
    store.persist_to(StateLog(path, seed))
    return store


def test_parking_changes_are_replayed_after_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "state.jsonl"
    first = _started(path)
    parking = first.parking
    parking.mark_in_progress(permit_seeds.ROUTINE)
    parking.amend(permit_seeds.ROUTINE, {"plate": "AB12345"})
    permit = parking.issue(
        case_id=permit_seeds.ROUTINE,
        plate="AB12345",
        zone="A",
        valid_from="2026-12-01",
        valid_to="2028-06-30",  # cut to a year: the replay must cut it the same way
        issued_by="robot",
    )
    parking.reject(permit_seeds.HEAVY, reason="Køretøjet vejer over 3.500 kg.\r\nRing til os.")
    parking.close_manual(permit_seeds.MALFORMED, note="Nummerpladen kan ikke læses")
    first.mark_in_progress(seeds.REMARKS)

    again = _started(path)
    assert again.state() == first.state()
    assert again.parking.get_permit(permit.permit_id).valid_to == date(2027, 11, 30)
    assert again.parking.get(permit_seeds.ROUTINE).submitted.plate == "AB12345"
    assert again.parking.get(permit_seeds.HEAVY).reason == (
        "Køretøjet vejer over 3.500 kg.\nRing til os."
    )
    # And it keeps logging: a third start sees the later change too.
    again.parking.mark_in_progress(permit_seeds.LEASED)
    assert _started(path).parking.get(permit_seeds.LEASED).status == "in_progress"


def test_the_contracts_example_loads_as_written() -> None:
    contract = Path(__file__).parents[2] / "docs" / "contracts" / "resident_parking.md"
    example = contract.read_text(encoding="utf-8").split("```json", 1)[1].split("```", 1)[0]
    seed = parse_seed(json.loads(example), source=contract.name)
    assert seed.addresses[0].parking_zone == "A"
    assert seed.vehicles[0].total_weight_kg == 1500
    assert seed.permit_applications[0].plate == "AB 12 345"
    assert seed.permits[0].valid_from == date(2026, 1, 1)
    store = Store(seed)
    assert store.parking.find_vehicle("ab12345") is not None
    assert [p.permit_id for p in store.parking.permits_for("AB 12 345")] == ["BP-000001"]
