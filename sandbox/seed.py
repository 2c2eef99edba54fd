"""The seed file of the sandbox: addresses, residents and notifications (the data contract).

Shape errors are strict (unknown fields, wrong types, broken references), but
notification *data* that is malformed on purpose loads as written: CPR numbers,
dates and times are kept as raw strings, the movers list may be empty and the
addresses may be missing, so the robot sees exactly what a citizen sent.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, model_validator

UnitType = Literal["dwelling", "business", "summer_house", "institution"]
CaseStatus = Literal["open", "in_progress", "registered", "manual", "awaiting_citizen"]
CLOSED_STATUSES: frozenset[str] = frozenset({"registered", "manual", "awaiting_citizen"})

# Case ids appear in URLs (/sager/{case_id}), so they are kept to URL-safe characters.
CaseId = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")]
Text = Annotated[str, Field(min_length=1)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class SeedAddress(_Strict):
    """An address in the address register."""

    address_id: Text
    street: Text
    house_number: Text
    floor: str | None = None
    door: str | None = None
    postcode: Text
    city: Text
    municipality_code: str = ""
    unit_type: UnitType


class SeedResident(_Strict):
    """A person in the population register, living at an address of the register."""

    cpr: Text
    name: Text
    address_id: Text
    protected_address: bool = False


class NotifiedAddress(_Strict):
    """An address as the citizen wrote it on the notification (any text)."""

    street: str
    house_number: str
    floor: str | None = None
    door: str | None = None
    postcode: str
    city: str


class SeedMover(_Strict):
    """A person the citizen says moves; the CPR number is raw text."""

    cpr: str
    name: str


class SeedNotification(_Strict):
    """A change-of-address notification as received; dates and CPRs are raw text."""

    case_id: CaseId
    received_at: str
    channel: str = ""
    reporter_cpr: str
    movers: list[SeedMover]
    old_address: NotifiedAddress | None = None
    new_address: NotifiedAddress | None = None
    move_date: str
    remarks: str = ""
    status: CaseStatus = "open"
    handled_at: AwareDatetime | None = Field(default=None, strict=False)

    @model_validator(mode="after")
    def _handled_at_matches_status(self) -> SeedNotification:
        if self.status in CLOSED_STATUSES and self.handled_at is None:
            raise ValueError(f"status {self.status!r} needs handled_at (an ISO datetime)")
        if self.status not in CLOSED_STATUSES and self.handled_at is not None:
            raise ValueError(f"status {self.status!r} cannot have handled_at; use null")
        return self


class Seed(_Strict):
    """A whole seed file."""

    addresses: list[SeedAddress]
    residents: list[SeedResident]
    notifications: list[SeedNotification]

    @model_validator(mode="after")
    def _references_hold(self) -> Seed:
        _unique(self.addresses, "addresses", "address_id")
        _unique(self.residents, "residents", "cpr")
        _unique(self.notifications, "notifications", "case_id")
        # A resident whose address_id is not among the addresses is allowed: the
        # contract's own example abbreviates it ("0a3f5081-..."), and a real
        # population register does hold people at addresses it cannot resolve.
        return self


class SeedError(ValueError):
    """A seed file that cannot be loaded; the message names the file and the first bad field."""


def _unique(items: list[Any], section: str, key: str) -> set[str]:
    seen: dict[str, int] = {}
    for index, item in enumerate(items):
        value = getattr(item, key)
        if value in seen:
            raise ValueError(
                f"{section}[{index}].{key}: duplicate {value!r} (first at {section}[{seen[value]}])"
            )
        seen[value] = index
    return set(seen)


def _location(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return text


def parse_seed(data: Any, *, source: str = "<seed>") -> Seed:
    """Validate seed data already parsed from JSON; raise SeedError naming the first bad field."""
    try:
        return Seed.model_validate(data)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        message = first["msg"].removeprefix("Value error, ")
        where = _location(first["loc"])
        raise SeedError(
            f"{source}: {where}: {message}" if where else f"{source}: {message}"
        ) from None


def load_seed(path: str | Path) -> Seed:
    """Read and validate a seed file; raise SeedError naming the file and the first problem."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SeedError(f"{source}: cannot read the file: {exc}") from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SeedError(
            f"{source}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from None
    return parse_seed(data, source=source)
