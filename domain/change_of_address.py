"""The change-of-address case as the robot reads it and the rules see it.

These models are shared by robots/ (which fill them from the case system) and
checkpoints/ (which route them), so they live in a package of their own that
imports neither.
"""

from __future__ import annotations

import hashlib
import re
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)
from stdnum.dk import cpr as stdnum_cpr
from stdnum.exceptions import ValidationError as StdnumError

from checkpoints.process import Reason as Reason  # re-exported: one Reason model

UnitType = Literal["dwelling", "business", "summer_house", "institution"]
CaseStatus = Literal["open", "in_progress", "registered", "manual", "awaiting_citizen"]


def _valid_cpr(value: str) -> str:
    if not all(ch in "0123456789- " for ch in value):
        raise ValueError("not a valid CPR number (only the digits 0-9 and a hyphen)")
    try:
        return str(stdnum_cpr.validate(value))
    except StdnumError as exc:
        raise ValueError(f"not a valid CPR number ({exc})") from exc


Cpr = Annotated[str, AfterValidator(_valid_cpr)]
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_ISO_DATETIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?"
    r"(Z|[+-][0-9]{2}:?[0-9]{2})?"
)


def _iso(pattern: re.Pattern[str], what: str) -> Any:
    """Text must be written as ISO 8601: pydantic alone reads `1795160000` as a timestamp."""

    def check(value: Any) -> Any:
        if isinstance(value, str) and not pattern.fullmatch(value):
            raise ValueError(f"not an ISO 8601 {what}")
        if isinstance(value, int | float):
            raise ValueError(f"not an ISO 8601 {what}")
        return value

    return BeforeValidator(check)


IsoDate = Annotated[date, _iso(_ISO_DATE, "date")]
IsoDateTime = Annotated[datetime, _iso(_ISO_DATETIME, "date and time")]
NonEmpty = Annotated[str, Field(min_length=1)]


def mask_cpr(cpr: str) -> str:
    """DDMMYY-XXXX: the birth date part only, never the serial number."""
    digits = "".join(ch for ch in cpr if ch.isdigit())
    return f"{digits[:6]}-XXXX" if len(digits) >= 6 else "XXXXXX-XXXX"


def birth_date(cpr: str) -> date:
    """The birth date encoded in a CPR number (python-stdnum's century rules)."""
    return stdnum_cpr.get_birth_date(cpr)


class Address(BaseModel):
    """An address as written on a notification."""

    model_config = ConfigDict(str_strip_whitespace=True, frozen=True)

    street: NonEmpty
    house_number: NonEmpty
    floor: str | None = None
    door: str | None = None
    postcode: Annotated[str, Field(pattern=r"^[0-9]{4}$")]
    city: NonEmpty

    def key(self) -> tuple[str, str, str, str, str]:
        """Matching key: street, number, floor, door, postcode; case and blanks ignored."""
        parts = (self.street, self.house_number, self.floor, self.door, self.postcode)
        return tuple((p or "").strip().casefold() for p in parts)  # type: ignore[return-value]

    def one_line(self) -> str:
        """`Vestergade 12, 2. th, 8800 Viborg`."""
        unit = ", ".join(p for p in (f"{self.floor}." if self.floor else "", self.door or "") if p)
        head = f"{self.street} {self.house_number}"
        return (
            f"{head}, {unit}, {self.postcode} {self.city}"
            if unit
            else (f"{head}, {self.postcode} {self.city}")
        )


class Mover(BaseModel):
    """One person who moves."""

    model_config = ConfigDict(str_strip_whitespace=True, frozen=True)

    cpr: Cpr
    name: NonEmpty


class Notification(BaseModel):
    """A validated change-of-address notification (the data contract's fields)."""

    model_config = ConfigDict(str_strip_whitespace=False, frozen=True)

    case_id: NonEmpty
    received_at: IsoDateTime
    channel: str = ""
    reporter_cpr: Cpr
    movers: Annotated[list[Mover], Field(min_length=1)]
    old_address: Address
    new_address: Address
    move_date: IsoDate
    remarks: str = ""


class FieldProblem(BaseModel):
    """A field that could not be read or validated: which one, its raw text, and why."""

    field: str
    raw: str
    message: str


def validate_notification(raw: dict[str, Any]) -> tuple[Notification | None, list[FieldProblem]]:
    """Validate raw values read from a case page; problems instead of exceptions."""
    try:
        return Notification.model_validate(raw), []
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            loc = [str(part) for part in error["loc"]]
            problems.append(
                FieldProblem(
                    field=".".join(loc),
                    raw=_raw_at(raw, error["loc"]),
                    message=error["msg"],
                )
            )
        return None, problems


def _raw_at(raw: Any, loc: tuple[int | str, ...]) -> str:
    value = raw
    for part in loc:
        try:
            value = value[part]
        except (KeyError, IndexError, TypeError):
            return ""
    return "" if value is None else str(value)


class RegisterAddress(BaseModel):
    """An address in the address register."""

    address_id: str
    street: str
    house_number: str
    floor: str | None = None
    door: str | None = None
    postcode: str
    city: str
    municipality_code: str = ""
    unit_type: UnitType


class Person(BaseModel):
    """A person in the population register."""

    cpr: str
    name: str
    address_id: str | None = None
    protected_address: bool = False


class RelatedCase(BaseModel):
    """Another notification in the case system for one of the same movers."""

    case_id: str
    status: CaseStatus
    received_at: datetime | None = None
    handled_at: datetime | None = None


class Enrichment(BaseModel):
    """What the registers say about a notification."""

    new_address: RegisterAddress | None = None
    residents_at_new_address: list[Person] = Field(default_factory=list)
    movers: dict[str, Person | None] = Field(
        default_factory=dict,
        description="Population register record per mover CPR (None: unknown).",
    )
    related_cases: list[RelatedCase] = Field(default_factory=list)


class CaseFile(BaseModel):
    """Everything the robot knows about one case when the rules run."""

    case_id: str
    status: CaseStatus = "open"
    raw: dict[str, Any] = Field(
        default_factory=dict, description="The values as read from the case page, unvalidated."
    )
    notification: Notification | None = None
    problems: list[FieldProblem] = Field(default_factory=list)
    enrichment: Enrichment | None = None

    @property
    def remarks(self) -> str:
        """The citizen's remarks as read, even when other fields did not validate."""
        value = self.raw.get("remarks", "")
        return value if isinstance(value, str) else ""


class Registration(BaseModel):
    """A move registered in the population register, as read back from its receipt."""

    registration_id: str
    case_id: str
    cpr: str
    address_id: str
    move_date: date


CaseResult = Literal["registered", "done", "set_aside", "failed", "skipped"]
"""`done`: a process other than change-of-address did its work (see `action`)."""


class RegisteredMove(BaseModel):
    """A registration as a batch reports it: its number and the mover's CPR masked.

    Batch results are persisted by Prefect and shown in its UI, so they never carry a
    full CPR number; the full one stays in the case system and the checkpoint store.
    """

    model_config = ConfigDict(frozen=True)

    registration_id: str
    cpr_masked: Annotated[str, Field(pattern=r"^\d{6}-XXXX$")]

    @model_validator(mode="before")
    @classmethod
    def _from_registration(cls, value: Any) -> Any:
        """Accept a `Registration` (or its dump) and keep only what may be shown."""
        if isinstance(value, Registration):
            value = value.model_dump()
        if isinstance(value, dict) and "cpr" in value:
            return {
                "registration_id": value.get("registration_id"),
                "cpr_masked": mask_cpr(str(value["cpr"])),
            }
        return value


class CaseOutcome(BaseModel):
    """What happened to one case in a batch (persisted and shown by Prefect: no full CPR)."""

    case_id: str
    result: CaseResult
    reasons: list[Reason] = Field(default_factory=list)
    registrations: list[RegisteredMove] = Field(
        default_factory=list,
        description="The moves registered; a `Registration` given here is reduced to its "
        "number and masked CPR.",
    )
    action: str | None = Field(default=None, description="What the robot did (`issued`...).")
    references: list[str] = Field(
        default_factory=list, description="Ids the target system gave for the work done."
    )
    error: str | None = None
    screenshot: str | None = None
    robot_seconds: float = 0.0


class ClearanceError(RuntimeError):
    """A move was about to be registered without a valid clearance."""


class Clearance(BaseModel):
    """Permission to register one case's move, bound to the exact data that was checked.

    Issued only by routing when no rule fired (basis `routine`) or by a stored human
    decision (basis `decision`); the robot refuses to register without one.
    """

    model_config = ConfigDict(frozen=True)

    case_id: str
    basis: Literal["routine", "decision"]
    fingerprint: str
    issued_at: datetime

    def check(self, notification: Notification) -> None:
        """Raise ClearanceError unless this clearance covers exactly this notification."""
        if self.case_id != notification.case_id:
            raise ClearanceError(
                f"clearance for case {self.case_id} used for case {notification.case_id}"
            )
        if self.fingerprint != fingerprint(notification):
            raise ClearanceError(
                f"case {notification.case_id} changed after it was cleared; it must be routed again"
            )


def fingerprint(notification: Notification) -> str:
    """A digest of a notification's content, to tell whether it changed."""
    return hashlib.sha256(notification.model_dump_json().encode()).hexdigest()
