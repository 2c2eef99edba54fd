"""The notification model reads dates and digits as the contract writes them, nothing else."""

from __future__ import annotations

from typing import Any

import pytest

from flows.change_of_address.case import validate_notification
from tests import seeds


def notification(**changes: Any) -> dict[str, Any]:
    """A valid notification with some fields changed."""
    raw = dict(next(n for n in seeds.small_batch()["notifications"]))
    raw["remarks"] = ""
    return raw | changes


def test_the_example_is_valid() -> None:
    assert validate_notification(notification())[1] == []


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("received_at", "1795160000"),  # pydantic alone reads it as a Unix timestamp
        ("received_at", "20. november 2026"),
        ("move_date", "0"),
        ("move_date", "2026-11-15\x00"),
        ("move_date", "15.11.2026"),
        ("reporter_cpr", "\u0660\u0661\u0660\u0661\u0669\u0660\u0661\u0662\u0663\u0664"),
    ],
)
def test_dates_and_numbers_are_read_only_as_written_in_the_contract(field: str, value: str) -> None:
    parsed, problems = validate_notification(notification(**{field: value}))
    assert parsed is None
    assert [p.field for p in problems] == [field]


def test_a_postcode_in_another_script_is_not_a_postcode() -> None:
    raw = notification()
    raw["new_address"] = raw["new_address"] | {"postcode": "\u0668\u0668\u0660\u0660"}
    parsed, problems = validate_notification(raw)
    assert parsed is None
    assert [p.field for p in problems] == ["new_address.postcode"]
