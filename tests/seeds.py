"""Hand-made seed data with known expected outcomes, in the data contract's shape."""

from __future__ import annotations

from typing import Any

OLD = {
    "street": "Vestergade",
    "house_number": "12",
    "floor": "2",
    "door": "th",
    "postcode": "8800",
    "city": "Viborg",
}
NEW = {
    "street": "Sct. Mathias Gade",
    "house_number": "5",
    "floor": None,
    "door": None,
    "postcode": "8800",
    "city": "Viborg",
}
NEW_2 = {
    "street": "Gravene",
    "house_number": "20",
    "floor": "1",
    "door": "tv",
    "postcode": "8800",
    "city": "Viborg",
}
NOWHERE = {
    "street": "Ingenvej",
    "house_number": "99",
    "floor": None,
    "door": None,
    "postcode": "8800",
    "city": "Viborg",
}

ANNA = {"cpr": "0101901234", "name": "Anna Jensen"}
BO = {"cpr": "0202851235", "name": "Bo Jensen"}
CARL = {"cpr": "0303752345", "name": "Carl Nielsen"}
DORTE = {"cpr": "0404803456", "name": "Dorte Hansen"}
EMIL = {"cpr": "0505704567", "name": "Emil Larsen"}
FREJA = {"cpr": "0606655678", "name": "Freja Olsen"}

ROUTINE = ["FLY-2026-000001", "FLY-2026-000002", "FLY-2026-000003"]
REMARKS = "FLY-2026-000004"
BAD_CPR = "FLY-2026-000005"
NO_NEW_ADDRESS = "FLY-2026-000006"
UNKNOWN_ADDRESS = "FLY-2026-000007"
SCRIPT_REMARKS = '<script>alert("x")</script> <!channel> *fed*'


def _address(
    address_id: str, fields: dict[str, Any], unit_type: str = "dwelling"
) -> dict[str, Any]:
    return {"address_id": address_id, **fields, "municipality_code": "0791", "unit_type": unit_type}


def _notification(case_id: str, movers: list[dict[str, str]], **extra: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "case_id": case_id,
        "received_at": "2026-11-20T09:14:00+01:00",
        "channel": "borger.dk",
        "reporter_cpr": movers[0]["cpr"] if movers else ANNA["cpr"],
        "movers": movers,
        "old_address": OLD,
        "new_address": NEW,
        "move_date": "2026-11-15",
        "remarks": "",
    }
    return base | extra


def small_batch() -> dict[str, Any]:
    """Seven cases: three routine (one with two movers), four that need a human."""
    return {
        "addresses": [
            _address("a-old", OLD),
            _address("a-new", NEW),
            _address("a-new-2", NEW_2),
        ],
        "residents": [
            {**person, "address_id": "a-old", "protected_address": False}
            for person in (ANNA, BO, CARL, DORTE, EMIL, FREJA)
        ],
        "notifications": [
            _notification(ROUTINE[0], [ANNA, BO]),
            _notification(ROUTINE[1], [CARL], new_address=NEW_2, move_date="2026-11-18"),
            _notification(ROUTINE[2], [DORTE], channel="papir"),
            _notification(REMARKS, [EMIL], remarks=SCRIPT_REMARKS),
            _notification(BAD_CPR, [{"cpr": "3113901234", "name": "Ukendt Person"}]),
            _notification(NO_NEW_ADDRESS, [FREJA], new_address=None),
            _notification(
                UNKNOWN_ADDRESS, [{"cpr": "0707604321", "name": "Gitte Berg"}], new_address=NOWHERE
            ),
        ],
    }


EXPECTED_REASONS = {
    REMARKS: {"remarks.present"},
    BAD_CPR: {"data.invalid"},
    NO_NEW_ADDRESS: {"data.invalid"},
    UNKNOWN_ADDRESS: {"address.unknown", "cpr.unknown"},
}
