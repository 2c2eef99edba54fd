"""The hand-made seed the sandbox's page tests run against."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

AppFactory = Callable[..., TestClient]

OLD = "0a3f5081-0b6f-32b8-e044-0003ba298018"
NEW = "0a3f5081-1111-32b8-e044-0003ba298019"
NEW_1TV = "0a3f5081-2222-32b8-e044-0003ba298020"
BUSINESS = "0a3f5081-3333-32b8-e044-0003ba298021"
ANNA, BO, CARL = "0101901234", "1502921357", "0202851235"

VESTERGADE = {
    "street": "Vestergade",
    "house_number": "12",
    "floor": "2",
    "door": "th",
    "postcode": "8800",
    "city": "Viborg",
}
MATHIAS = {
    "street": "Sct. Mathias Gade",
    "house_number": "5",
    "floor": None,
    "door": None,
    "postcode": "8800",
    "city": "Viborg",
}
SCRIPT_REMARKS = "<script>alert(1)</script>\n  anden linje med *fed* & <!channel>  "


def _address(address_id: str, unit_type: str, **parts: Any) -> dict[str, Any]:
    return {"address_id": address_id, **parts, "municipality_code": "0791", "unit_type": unit_type}


def _notification(case_id: str, received_at: str, **fields: Any) -> dict[str, Any]:
    base = {
        "case_id": case_id,
        "received_at": received_at,
        "channel": "borger.dk",
        "reporter_cpr": ANNA,
        "movers": [{"cpr": ANNA, "name": "Anna Jensen"}],
        "old_address": dict(VESTERGADE),
        "new_address": dict(MATHIAS),
        "move_date": "2026-11-15",
        "remarks": "",
    }
    return base | fields


SEED: dict[str, Any] = {
    "addresses": [
        _address(OLD, "dwelling", **VESTERGADE),
        _address(NEW, "dwelling", **MATHIAS),
        _address(NEW_1TV, "dwelling", **(MATHIAS | {"floor": "1", "door": "tv"})),
        _address(
            BUSINESS,
            "business",
            street="Industrivej",
            house_number="3",
            floor=None,
            door=None,
            postcode="8800",
            city="Viborg",
        ),
    ],
    "residents": [
        {"cpr": ANNA, "name": "Anna Jensen", "address_id": OLD, "protected_address": False},
        {"cpr": BO, "name": "Bo Jensen", "address_id": OLD, "protected_address": False},
        {"cpr": CARL, "name": "Carl Holm", "address_id": NEW_1TV, "protected_address": True},
    ],
    "notifications": [
        _notification("FLY-2026-000001", "2026-11-20T09:14:00+01:00"),
        _notification(
            "FLY-2026-000002",
            "2026-11-20T10:00:00+01:00",
            reporter_cpr=BO,
            movers=[{"cpr": BO, "name": "Bo Jensen"}],
            remarks=SCRIPT_REMARKS,
        ),
        _notification(
            "FLY-2026-000003",
            "2026-11-19T08:00:00+01:00",
            reporter_cpr="3113901234",
            movers=[],
            old_address=None,
            move_date="i morgen",
            channel="papirblanket",
        ),
        _notification(
            "FLY-2026-000004",
            "2026-11-20T09:14:00+01:00",
            reporter_cpr=BO,
            movers=[{"cpr": "0303951238", "name": "Dorte Ny"}],
        ),
        _notification(
            "FLY-2026-000005",
            "2026-11-18T12:00:00+01:00",
            reporter_cpr=CARL,
            movers=[{"cpr": CARL, "name": "Carl Holm"}],
            status="registered",
            handled_at="2026-11-18T15:30:00+01:00",
        ),
        _notification("FLY-2026-000000", "ikke en dato"),
    ],
}
del SEED["notifications"][2]["new_address"]
OPEN_IN_ORDER = [
    "FLY-2026-000003",
    "FLY-2026-000001",
    "FLY-2026-000004",
    "FLY-2026-000002",
    "FLY-2026-000000",
]
