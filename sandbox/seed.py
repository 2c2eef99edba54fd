"""The seed file of the sandbox: addresses, residents and notifications (the data contract).

Shape errors are strict (unknown fields, wrong types, broken references), but
notification *data* that is malformed on purpose loads as written: CPR numbers,
dates and times are kept as raw strings, the movers list may be empty and the
addresses may be missing, so the robot sees exactly what a citizen sent.

Resident parking (docs/contracts/resident_parking.md) adds optional parts: a parking
zone per address, the vehicle register, permit applications (raw, like notifications)
and permits already issued. A seed without them loads exactly as before.
"""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

UnitType = Literal["dwelling", "business", "summer_house", "institution"]
CaseStatus = Literal["open", "in_progress", "registered", "manual", "awaiting_citizen"]
CLOSED_STATUSES: frozenset[str] = frozenset({"registered", "manual", "awaiting_citizen"})

# Case ids appear in URLs (/sager/{case_id}), so they are kept to URL-safe characters.
CaseId = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")]
Text = Annotated[str, Field(min_length=1)]
PermitId = Annotated[str, Field(pattern=r"^BP-[0-9]{6}$")]
PARKING_PARTS = ("vehicles", "permit_applications", "permits")
_ISO_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


def normalize_plate(value: str) -> str:
    """A number plate as the registers compare it: `ab 12 345` -> `AB12345`."""
    return re.sub(r"\s+", "", value).upper()


def _iso_date(value: Any) -> Any:
    # Issued permits are the system's own records: a date is ISO text, nothing else
    # (no timestamps, no datetimes), read from JSON as a string.
    if isinstance(value, str):
        if not _ISO_DATE.match(value):
            raise ValueError(f"{value!r} is not a date (YYYY-MM-DD)")
        return date.fromisoformat(value)
    return value


IsoDate = Annotated[date, BeforeValidator(_iso_date)]


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
    parking_zone: Text | None = None


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


class SeedVehicle(_Strict):
    """A vehicle in the vehicle register; the CPR numbers are raw text."""

    plate: Text
    make: str
    model: str
    total_weight_kg: Annotated[int, Field(ge=0)]
    owner_cpr: str
    user_cpr: str | None = None


class SeedPermitApplication(_Strict):
    """A resident parking permit application as received; every data field is raw text."""

    case_id: CaseId
    received_at: str
    applicant_cpr: str
    applicant_name: str
    plate: str
    zone: str
    start_date: str
    remarks: str = ""


class SeedPermit(_Strict):
    """A resident parking permit already issued (the system's own record)."""

    permit_id: PermitId
    plate: Text
    zone: Text
    valid_from: IsoDate
    valid_to: IsoDate
    case_id: CaseId | None = None

    @model_validator(mode="after")
    def _period_runs_forward(self) -> SeedPermit:
        if self.valid_to < self.valid_from:
            raise ValueError(f"valid_to {self.valid_to} is before valid_from {self.valid_from}")
        return self


class Seed(_Strict):
    """A whole seed file."""

    addresses: list[SeedAddress]
    residents: list[SeedResident]
    notifications: list[SeedNotification]
    vehicles: list[SeedVehicle] = Field(default_factory=list)
    permit_applications: list[SeedPermitApplication] = Field(default_factory=list)
    permits: list[SeedPermit] = Field(default_factory=list)

    @model_validator(mode="after")
    def _references_hold(self) -> Seed:
        _unique(self.addresses, "addresses", "address_id")
        _unique(self.residents, "residents", "cpr")
        _unique(self.notifications, "notifications", "case_id")
        # A resident whose address_id is not among the addresses is allowed: the
        # contract's own example abbreviates it ("0a3f5081-..."), and a real
        # population register does hold people at addresses it cannot resolve.
        _unique_plates(self.vehicles)
        applications = _unique(self.permit_applications, "permit_applications", "case_id")
        _unique(self.permits, "permits", "permit_id")
        for index, permit in enumerate(self.permits):
            # Seeded applications are open; one with a permit would be issued twice.
            if permit.case_id in applications:
                raise ValueError(
                    f"permits[{index}].case_id: {permit.case_id!r} is an open application of "
                    "this seed; seed applications without permits"
                )
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


def _unique_plates(vehicles: list[SeedVehicle]) -> None:
    # The register is looked up ignoring spaces and case: two such plates would be one.
    seen: dict[str, int] = {}
    for index, vehicle in enumerate(vehicles):
        key = normalize_plate(vehicle.plate)
        if key in seen:
            raise ValueError(
                f"vehicles[{index}].plate: duplicate {vehicle.plate!r} "
                f"(first at vehicles[{seen[key]}])"
            )
        seen[key] = index


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
