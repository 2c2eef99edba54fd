"""The change-of-address case as the robot reads it and the rules see it.

What the registers say (robots/sandbox/models.py) is re-exported here with the
notification, the case file, and the clearance the robot needs before it registers.
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
)
from stdnum.dk import cpr as stdnum_cpr
from stdnum.exceptions import ValidationError as StdnumError

from checkpoints.process import Reason as Reason  # re-exported: one Reason model
from checkpoints.text import mask_cpr as mask_cpr  # re-exported: one way to mask
from flows.outcomes import CaseOutcome as CaseOutcome
from flows.outcomes import CaseResult as CaseResult
from flows.outcomes import RegisteredMove as RegisteredMove
from robots.sandbox.models import Address as Address
from robots.sandbox.models import CaseStatus as CaseStatus
from robots.sandbox.models import Person as Person
from robots.sandbox.models import RegisterAddress as RegisterAddress
from robots.sandbox.models import Registration as Registration
from robots.sandbox.models import RelatedCase as RelatedCase
from robots.sandbox.models import UnitType as UnitType


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


def birth_date(cpr: str) -> date:
    """The birth date encoded in a CPR number (python-stdnum's century rules)."""
    return stdnum_cpr.get_birth_date(cpr)


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
