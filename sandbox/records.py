"""The values the store hands out, and the errors it raises (messages in Danish)."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TypeVar
from zoneinfo import ZoneInfo

from sandbox.seed import SeedNotification

TZ = ZoneInfo("Europe/Copenhagen")
STATUSES = ("open", "in_progress", "registered", "manual", "awaiting_citizen")
STATUS_LABELS = {
    "open": "Åben",
    "in_progress": "Under behandling",
    "registered": "Flytning registreret",
    "manual": "Sendt til manuel behandling",
    "awaiting_citizen": "Afventer borger",
}


class StoreError(Exception):
    """A request the store refuses; the message is Danish and shown to the user."""


class NotFoundError(StoreError):
    """No case, address, person or registration with that id."""


class ConflictError(StoreError):
    """The case is not in a state that allows the change."""


class InvalidInputError(StoreError):
    """A value that cannot be used (unknown outcome, bad date, unknown person or address)."""


class DuplicateRegistrationError(ConflictError):
    """The person's move is already registered for this case."""

    def __init__(self, registration_id: str) -> None:
        super().__init__(
            f"Flytningen er allerede registreret for denne sag (registreringsnr. {registration_id})"
        )
        self.registration_id = registration_id


@dataclass(frozen=True)
class Note:
    """A caseworker's note on a case."""

    at: datetime
    text: str


@dataclass
class Case:
    """A notification and what has happened to it."""

    notification: SeedNotification
    status: str
    handled_at: datetime | None = None
    notes: list[Note] = field(default_factory=list)

    @property
    def case_id(self) -> str:
        """The case number."""
        return self.notification.case_id


@dataclass(frozen=True)
class CasePage:
    """One page of the inbox."""

    cases: list[Case]
    page: int
    pages: int
    total: int


@dataclass(frozen=True)
class Person:
    """A person in the population register."""

    cpr: str
    name: str
    address_id: str
    protected_address: bool


@dataclass(frozen=True)
class Registration:
    """A move registered in the population register."""

    registration_id: str
    case_id: str
    cpr: str
    address_id: str
    move_date: date
    registered_by: str
    registered_at: datetime

    def as_json(self) -> dict[str, str]:
        """The contract's JSON shape."""
        return {
            "registration_id": self.registration_id,
            "case_id": self.case_id,
            "cpr": self.cpr,
            "address_id": self.address_id,
            "move_date": self.move_date.isoformat(),
            "registered_by": self.registered_by,
            "registered_at": self.registered_at.isoformat(timespec="seconds"),
        }


def normalize_cpr(value: str) -> str:
    """A CPR number as typed, without blanks and the dash: `010190-1234` -> `0101901234`."""
    return re.sub(r"[\s-]", "", value)


T = TypeVar("T")


def page_of(found: Sequence[T], page: int, page_size: int) -> tuple[Sequence[T], int, int]:
    """One page of a listing (pages count from 1; out of range: the nearest page)."""
    pages = max(1, math.ceil(len(found) / page_size))
    page = min(max(page, 1), pages)
    return found[(page - 1) * page_size : page * page_size], page, pages
