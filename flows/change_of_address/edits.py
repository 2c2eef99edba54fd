"""Edits a caseworker makes to a case: `FIELD=VALUE` by the data contract's names.

Edits apply to the values as read from the case (the extraction) and are validated by
the same pydantic model the robot uses, so an edited case is exactly as trustworthy
as one the robot read itself.
"""

from __future__ import annotations

import copy
import itertools
from typing import Any

from checkpoints.forms import Change, EditError, parse_edits
from flows.change_of_address.case import Notification, validate_notification

_ADDRESS_FIELDS = ("street", "house_number", "floor", "door", "postcode", "city")
_MOVER_FIELDS = ("cpr", "name")
_NULLABLE = {"floor", "door"}
# The case's identity and arrival are facts of the case system, not the citizen's data.
_FIXED = {"case_id", "received_at"}
EDITABLE = (
    "reporter_cpr",
    "move_date",
    "channel",
    *(f"old_address.{f}" for f in _ADDRESS_FIELDS),
    *(f"new_address.{f}" for f in _ADDRESS_FIELDS),
    "movers.N.cpr",
    "movers.N.name",
)


__all__ = ["EDITABLE", "Change", "EditError", "apply_edits", "parse_edits"]


def apply_edits(raw: dict[str, Any], edits: dict[str, str]) -> tuple[Notification, list[Change]]:
    """The case as read with the edits applied, validated; and the field-by-field diff."""
    if not edits:
        raise EditError("an edit needs at least one FIELD=VALUE")
    edited = copy.deepcopy(raw)
    changes = []
    for field, value in edits.items():
        parts = _path(field, edited)
        before = _get(edited, parts)
        new_value: str | None = value.strip()
        if parts[-1] in _NULLABLE and new_value in ("", "null", "-"):
            new_value = None
        _set(edited, parts, new_value)
        if before != new_value:
            changes.append(
                Change(
                    field=field,
                    before=None if before is None else str(before),
                    after=new_value,
                )
            )
    notification, problems = validate_notification(edited)
    if notification is None:
        detail = "; ".join(f"{p.field}: {p.message} (value {p.raw!r})" for p in problems)
        raise EditError(
            f"the edited case does not validate: {detail}",
            {p.field: p.message for p in problems},
        )
    return notification, changes


def _path(field: str, raw: dict[str, Any]) -> list[str | int]:
    parts = field.split(".")
    head = parts[0]
    if head in _FIXED:
        raise EditError(
            f"{field} cannot be edited: it belongs to the case system",
            {field: "belongs to the case system"},
        )
    if head in ("old_address", "new_address") and len(parts) == 2 and parts[1] in _ADDRESS_FIELDS:
        return [head, parts[1]]
    if head == "movers" and len(parts) == 3 and parts[2] in _MOVER_FIELDS:
        movers = raw.get("movers")
        count = len(movers) if isinstance(movers, list) else 0
        if not parts[1].isdigit() or int(parts[1]) > count:
            raise EditError(
                f"{field}: movers are numbered 0 to {count - 1} (or {count} to add one)",
                {field: "no such mover"},
            )
        return ["movers", int(parts[1]), parts[2]]
    if len(parts) == 1 and head in ("reporter_cpr", "move_date", "channel"):
        return [head]
    raise EditError(
        f"unknown field {field!r}; editable fields: {', '.join(EDITABLE)}",
        {field: "not an editable field"},
    )


def _get(raw: Any, parts: list[str | int]) -> Any:
    value = raw
    for part in parts:
        try:
            value = value[part]
        except (KeyError, IndexError, TypeError):
            return None
    return value


def _set(raw: dict[str, Any], parts: list[str | int], value: str | None) -> None:
    container: Any = raw
    for part, following in itertools.pairwise(parts):
        if isinstance(part, int):
            while len(container) <= part:
                container.append({})
            container = container[part]
            continue
        if not isinstance(container.get(part), dict | list):
            container[part] = [] if isinstance(following, int) else {}
        container = container[part]
    last = parts[-1]
    if isinstance(last, int):
        raise EditError("an edit names a field, not a whole list entry")
    container[last] = value
