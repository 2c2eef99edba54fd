"""Loading seed files: the contract's example, data malformed on purpose, and shape errors."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from sandbox import SeedError, load_seed
from sandbox.seed import parse_seed

# The contract's example as written, except the resident's abbreviated "0a3f5081-..."
# spelled out: it refers to the one address above it.
CONTRACT_EXAMPLE = """
{
  "addresses": [
    {"address_id": "0a3f5081-0b6f-32b8-e044-0003ba298018",
     "street": "Vestergade", "house_number": "12", "floor": "2", "door": "th",
     "postcode": "8800", "city": "Viborg", "municipality_code": "0791",
     "unit_type": "dwelling"}
  ],
  "residents": [
    {"cpr": "0101901234", "name": "Anna Jensen",
     "address_id": "0a3f5081-0b6f-32b8-e044-0003ba298018", "protected_address": false}
  ],
  "notifications": [
    {"case_id": "FLY-2026-000123",
     "received_at": "2026-11-20T09:14:00+01:00",
     "channel": "borger.dk",
     "reporter_cpr": "0101901234",
     "movers": [{"cpr": "0101901234", "name": "Anna Jensen"}],
     "old_address": {"street": "Vestergade", "house_number": "12", "floor": "2",
                     "door": "th", "postcode": "8800", "city": "Viborg"},
     "new_address": {"street": "Sct. Mathias Gade", "house_number": "5",
                     "floor": null, "door": null, "postcode": "8800", "city": "Viborg"},
     "move_date": "2026-11-15",
     "remarks": ""}
  ]
}
"""


def _write(tmp_path: Path, data: Any) -> Path:
    path = tmp_path / "seed.json"
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return path


def test_contract_example_loads(tmp_path: Path) -> None:
    seed = load_seed(_write(tmp_path, CONTRACT_EXAMPLE))
    notification = seed.notifications[0]
    assert notification.case_id == "FLY-2026-000123"
    assert notification.status == "open"
    assert notification.handled_at is None
    assert notification.new_address is not None
    assert notification.new_address.floor is None
    assert seed.addresses[0].unit_type == "dwelling"
    assert seed.residents[0].protected_address is False


def test_malformed_notification_data_loads_as_written(seed_data: dict[str, Any]) -> None:
    bad = seed_data["notifications"][0]
    bad |= {
        "reporter_cpr": "3113901234",
        "received_at": "i går ved 10-tiden",
        "move_date": "31-02-2026",
        "movers": [],
        "old_address": None,
        "remarks": "",
    }
    del bad["new_address"]
    seed_data["notifications"][1]["movers"][0]["cpr"] = "12345"

    seed = parse_seed(seed_data)

    loaded = seed.notifications[0]
    assert (loaded.reporter_cpr, loaded.received_at, loaded.move_date) == (
        "3113901234",
        "i går ved 10-tiden",
        "31-02-2026",
    )
    assert loaded.movers == []
    assert loaded.old_address is None
    assert loaded.new_address is None
    assert seed.notifications[1].movers[0].cpr == "12345"


def test_closed_case_with_handled_at_loads(seed_data: dict[str, Any]) -> None:
    seed = parse_seed(seed_data)
    closed = next(n for n in seed.notifications if n.case_id == "FLY-2026-000005")
    assert closed.status == "registered"
    assert closed.handled_at is not None
    assert closed.handled_at.isoformat() == "2026-11-18T15:30:00+01:00"


def _drop(section: str, index: int, key: str) -> Callable[[dict[str, Any]], None]:
    return lambda data: data[section][index].pop(key)


def _set(section: str, index: int, **values: Any) -> Callable[[dict[str, Any]], None]:
    return lambda data: data[section][index].update(values)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (_drop("notifications", 3, "case_id"), "notifications[3].case_id: Field required"),
        (_drop("notifications", 0, "move_date"), "notifications[0].move_date: Field required"),
        (
            _set("notifications", 1, remark="typo"),
            "notifications[1].remark: Extra inputs are not permitted",
        ),
        (
            lambda d: d["notifications"][0]["new_address"].update(husnr="5"),
            "notifications[0].new_address.husnr: Extra inputs are not permitted",
        ),
        (
            lambda d: d["notifications"][0]["movers"][0].update(cpr=101901234),
            "notifications[0].movers[0].cpr: Input should be a valid string",
        ),
        (
            _set("notifications", 0, movers=None),
            "notifications[0].movers: Input should be a valid list",
        ),
        (
            _set("addresses", 2, unit_type="castle"),
            "addresses[2].unit_type: Input should be 'dwelling', 'business', 'summer_house' "
            "or 'institution'",
        ),
        (
            _set("addresses", 0, house_number=12),
            "addresses[0].house_number: Input should be a valid string",
        ),
        (
            _set("residents", 0, protected_address="nej"),
            "residents[0].protected_address: Input should be a valid boolean",
        ),
        (
            _set("notifications", 4, case_id="FLY-2026-000001"),
            "notifications[4].case_id: duplicate 'FLY-2026-000001' (first at notifications[0])",
        ),
        (
            _set("addresses", 1, address_id="0a3f5081-0b6f-32b8-e044-0003ba298018"),
            "addresses[1].address_id: duplicate '0a3f5081-0b6f-32b8-e044-0003ba298018' "
            "(first at addresses[0])",
        ),
        (
            _set("notifications", 0, status="manual"),
            "notifications[0]: status 'manual' needs handled_at (an ISO datetime)",
        ),
        (_set("notifications", 0, status="done"), "notifications[0].status: Input should be"),
        (
            _set("notifications", 0, case_id="FLY/1"),
            "notifications[0].case_id: String should match",
        ),
        (lambda d: d.pop("residents"), "residents: Field required"),
    ],
)
def test_shape_errors_name_the_file_and_the_first_bad_field(
    tmp_path: Path,
    seed_data: dict[str, Any],
    change: Callable[[dict[str, Any]], None],
    message: str,
) -> None:
    change(seed_data)
    path = _write(tmp_path, seed_data)

    with pytest.raises(SeedError) as caught:
        load_seed(path)

    assert str(caught.value).startswith(f"{path}: {message}")


def test_invalid_json_names_the_line(tmp_path: Path) -> None:
    path = _write(tmp_path, '{\n  "addresses": [],\n  "residents": [\n}\n')
    with pytest.raises(SeedError, match=r"seed\.json: invalid JSON at line 4, column 1"):
        load_seed(path)


def test_missing_file_is_a_seed_error(tmp_path: Path) -> None:
    with pytest.raises(SeedError, match=r"nope\.json: cannot read the file"):
        load_seed(tmp_path / "nope.json")


def test_contract_example_loads_exactly_as_written_in_the_contract() -> None:
    contract = Path(__file__).parents[2] / "docs" / "contracts" / "change_of_address.md"
    example = contract.read_text(encoding="utf-8").split("```json", 1)[1].split("```", 1)[0]
    seed = parse_seed(json.loads(example), source=contract.name)
    assert [n.case_id for n in seed.notifications] == ["FLY-2026-000123"]
    assert seed.residents[0].address_id == "0a3f5081-..."
