"""Hand-made resident parking seed: the small change-of-address batch plus parking parts."""

from __future__ import annotations

from typing import Any

from tests import seeds

ROUTINE = "PRK-2026-000001"  # Anna, her own car, typed with spaces, zone A where she lives
LEASED = "PRK-2026-000002"  # Bo is the registered user of a leased car
HEAVY = "PRK-2026-000003"  # Carl's van weighs 4,200 kg
HAS_PERMIT = "PRK-2026-000004"  # Dorte's car already has a permit running to the end of 2026
HIDDEN_REMARKS = "PRK-2026-000005"  # Emil: only a zero-width space as remarks
MALFORMED = "PRK-2026-000006"  # Freja (outside every zone): no such plate, no such date
APPLICATIONS = [ROUTINE, LEASED, HEAVY, HAS_PERMIT, HIDDEN_REMARKS, MALFORMED]

LEASING_OWNER = "1111111118"
HANS = {"cpr": "0808705432", "name": "Hans Berg"}  # lives at an address the register lacks
PLATES = {
    ROUTINE: "AB12345",
    LEASED: "CD23456",
    HEAVY: "EF34567",
    HAS_PERMIT: "GH45678",
    HIDDEN_REMARKS: "JK56789",
}
ACTIVE_PERMIT = "BP-000001"
EXPIRED_PERMIT = "BP-000002"


def _application(case_id: str, person: dict[str, str], plate: str, **extra: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "case_id": case_id,
        "received_at": "2026-11-20T09:14:00+01:00",
        "applicant_cpr": person["cpr"],
        "applicant_name": person["name"],
        "plate": plate,
        "zone": "A",
        "start_date": "2026-12-01",
        "remarks": "",
    }
    return base | extra


def _vehicle(
    plate: str, make: str, model: str, kg: int, owner: str, user: str | None = None
) -> Any:
    return {
        "plate": plate,
        "make": make,
        "model": model,
        "total_weight_kg": kg,
        "owner_cpr": owner,
        "user_cpr": user,
    }


def parking_batch() -> dict[str, Any]:
    """The small batch, its addresses in zones, vehicles, six applications and two permits."""
    data = seeds.small_batch()
    zones = {"a-old": "A", "a-new": "B", "a-new-2": None}
    for address in data["addresses"]:
        address["parking_zone"] = zones[address["address_id"]]
    for resident in data["residents"]:
        if resident["cpr"] == seeds.FREJA["cpr"]:
            resident["address_id"] = "a-new-2"  # an address outside every zone
    data["residents"].append({**HANS, "address_id": "a-gone", "protected_address": False})
    data["vehicles"] = [
        _vehicle("AB12345", "Toyota", "Yaris", 1090, seeds.ANNA["cpr"]),
        _vehicle("CD23456", "Skoda", "Octavia", 1950, LEASING_OWNER, seeds.BO["cpr"]),
        _vehicle("EF34567", "Mercedes-Benz", "Sprinter", 4200, seeds.CARL["cpr"]),
        _vehicle("GH45678", "Volkswagen", "Golf", 1700, seeds.DORTE["cpr"]),
        _vehicle("JK56789", "Peugeot", "208", 1500, seeds.EMIL["cpr"]),
    ]
    data["permit_applications"] = [
        _application(ROUTINE, seeds.ANNA, "ab 12 345"),
        _application(LEASED, seeds.BO, "CD23456", received_at="2026-11-20T10:00:00+01:00"),
        _application(HEAVY, seeds.CARL, "EF34567", received_at="2026-11-19T08:00:00+01:00"),
        _application(HAS_PERMIT, seeds.DORTE, "GH45678"),
        _application(HIDDEN_REMARKS, seeds.EMIL, "JK56789", remarks="\u200b"),
        _application(
            MALFORMED,
            seeds.FREJA,
            "AB-12!",
            zone=" a ",
            start_date="1. december",
            received_at="i går",
        ),
    ]
    data["permits"] = [
        {
            "permit_id": ACTIVE_PERMIT,
            "plate": "GH45678",
            "zone": "A",
            "valid_from": "2026-01-01",
            "valid_to": "2026-12-31",
            "case_id": None,
        },
        {
            "permit_id": EXPIRED_PERMIT,
            "plate": "AB12345",
            "zone": "A",
            "valid_from": "2025-01-01",
            "valid_to": "2025-12-31",
            "case_id": "PRK-2025-000042",
        },
    ]
    return data


# By received_at, then case id; the malformed received_at ("i går") goes last.
OPEN_IN_ORDER = [HEAVY, ROUTINE, HAS_PERMIT, HIDDEN_REMARKS, LEASED, MALFORMED]
