"""A person's edits to a process's form: `FIELD=VALUE` by the form model's own field names.

The edits apply to the values as read from the case and are validated by the same
pydantic form model that validates the Slack modal and the robot's own reading, so an
edited case is exactly as trustworthy as one the robot read itself.
"""

from __future__ import annotations

import copy
import types
import typing
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

if TYPE_CHECKING:
    from checkpoints.process import Process

_EMPTY = ("", "null", "-")


class EditError(ValueError):
    """An edit names no editable field, or its value does not validate."""

    def __init__(self, message: str, problems: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or {}


class Change(BaseModel):
    """One field a person changed: before and after, as text."""

    field: str
    before: str | None
    after: str | None


def parse_edits(pairs: list[str]) -> dict[str, str]:
    """`["zone=B", ...]` to a mapping; later pairs win."""
    edits: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise EditError(f"an edit is FIELD=VALUE, got {pair!r}")
        edits[name.strip()] = value
    return edits


def editable_fields(form: type[BaseModel]) -> list[str]:
    """The form's fields a person may edit: every field not marked `fixed`."""
    return [name for name, info in form.model_fields.items() if not _fixed(info)]


def _fixed(info: Any) -> bool:
    extra = info.json_schema_extra
    return isinstance(extra, dict) and bool(extra.get("fixed"))


def nullable(annotation: Any) -> bool:
    """True when a field's type admits None (an empty input means "none")."""
    origin = typing.get_origin(annotation)
    if origin is typing.Union or origin is types.UnionType:
        return type(None) in typing.get_args(annotation)
    return annotation is None


def apply_form_edits(
    process: Process[Any, Any], case: Any, edits: Mapping[str, str]
) -> tuple[dict[str, Any], list[Change]]:
    """The form's values with `edits` applied and validated; and the field-by-field diff."""
    if not edits:
        raise EditError("an edit needs at least one FIELD=VALUE")
    form = process.form
    values = copy.deepcopy(process.form_values(case))
    editable = editable_fields(form)
    changes: list[Change] = []
    for name, raw in edits.items():
        info = form.model_fields.get(name)
        if info is None:
            raise EditError(
                f"unknown field {name!r}; editable fields: {', '.join(editable)}",
                {name: "not an editable field"},
            )
        if _fixed(info):
            raise EditError(
                f"{name} cannot be edited: it belongs to the case system",
                {name: "belongs to the case system"},
            )
        value: str | None = raw.strip()
        if nullable(info.annotation) and value in _EMPTY:
            value = None
        before = values.get(name)
        values[name] = value
        if (None if before is None else str(before)) != value:
            changes.append(
                Change(field=name, before=None if before is None else str(before), after=value)
            )
    try:
        validated = form.model_validate(values).model_dump(mode="json")
    except ValidationError as exc:
        problems = {".".join(str(p) for p in e["loc"]): e["msg"] for e in exc.errors()}
        detail = "; ".join(f"{field}: {message}" for field, message in problems.items())
        raise EditError(f"the edited case does not validate: {detail}", problems) from None
    return validated, changes
