"""Resident parking in the sandbox: permit applications, the vehicle register and permits.

Part of the `Store`: it shares the store's lock, clock and change log, so a restart
replays parking changes with the rest (ops named `permit_*`).
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

from pydantic import ValidationError

from sandbox.records import (
    TZ,
    ConflictError,
    InvalidInputError,
    NotFoundError,
    normalize_cpr,
    page_of,
)
from sandbox.seed import Seed, SeedPermitApplication, SeedVehicle, normalize_plate

PERMIT_STATUSES = ("open", "in_progress", "issued", "rejected", "manual")
PERMIT_CLOSED = frozenset({"issued", "rejected", "manual"})
PERMIT_STATUS_LABELS = {
    "open": "Åben",
    "in_progress": "Under behandling",
    "issued": "Tilladelse udstedt",
    "rejected": "Afvist",
    "manual": "Sendt til manuel behandling",
}
_PLATE = re.compile(r"^[A-Z0-9]{1,7}$")
_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


class PermitExistsError(ConflictError):
    """The application already has a permit; the sandbox refuses a second one."""

    def __init__(self, permit_id: str) -> None:
        super().__init__(
            f"Der er allerede udstedt en tilladelse for denne sag (tilladelsesnr. {permit_id})"
        )
        self.permit_id = permit_id


@dataclass
class Application:
    """A permit application and what has happened to it."""

    submitted: SeedPermitApplication
    status: str = "open"
    handled_at: datetime | None = None
    reason: str = ""  # why it was rejected
    note: str = ""  # the note it went to manual handling with
    permit_id: str | None = None

    @property
    def case_id(self) -> str:
        """The case number."""
        return self.submitted.case_id


@dataclass(frozen=True)
class ApplicationPage:
    """One page of the parking inbox."""

    applications: list[Application]
    page: int
    pages: int
    total: int


@dataclass(frozen=True)
class Permit:
    """A resident parking permit in the permit register (plate as the register keeps it)."""

    permit_id: str
    plate: str
    zone: str
    valid_from: date
    valid_to: date
    case_id: str | None
    issued_by: str | None = None
    issued_at: datetime | None = None

    def as_json(self) -> dict[str, str | None]:
        """The contract's JSON shape."""
        return {
            "permit_id": self.permit_id,
            "plate": self.plate,
            "zone": self.zone,
            "valid_from": self.valid_from.isoformat(),
            "valid_to": self.valid_to.isoformat(),
            "case_id": self.case_id,
            "issued_by": self.issued_by,
            "issued_at": _iso(self.issued_at),
        }


class ParkingStore:
    """The parking part of the sandbox's state; every method takes the store's lock."""

    def __init__(
        self,
        seed: Seed,
        *,
        lock: threading.RLock,
        now: Callable[[], datetime],
        record: Callable[..., None],
    ) -> None:
        self._lock = lock
        self._now = now
        self._record = record
        self._applications = {a.case_id: Application(a) for a in seed.permit_applications}
        self._order = sorted(self._applications.values(), key=_received_key)
        self._vehicles = {normalize_plate(v.plate): v for v in seed.vehicles}
        self._permits = {
            p.permit_id: Permit(
                p.permit_id, normalize_plate(p.plate), p.zone, p.valid_from, p.valid_to, p.case_id
            )
            for p in seed.permits
        }
        self._zones = {a.parking_zone for a in seed.addresses if a.parking_zone} | {
            p.zone for p in seed.permits
        }

    def apply(self, event: dict[str, Any]) -> None:
        """Replay one logged parking change."""
        op = event["op"]
        if op == "permit_in_progress":
            self.mark_in_progress(event["case_id"])
        elif op == "permit_reject":
            self.reject(event["case_id"], reason=event["reason"])
        elif op == "permit_manual":
            self.close_manual(event["case_id"], note=event["note"])
        elif op == "permit_issue":
            self.issue(**event["args"])
        elif op == "permit_amend":
            self.amend(event["case_id"], event["changes"])

    # Applications ----------------------------------------------------------

    def count(self) -> int:
        """How many applications there are."""
        with self._lock:
            return len(self._applications)

    def list_applications(
        self, *, status: str | None = None, cpr: str | None = None, page: int = 1, page_size: int
    ) -> ApplicationPage:
        """Applications by received_at then case_id, filtered by status and applicant CPR."""
        wanted = normalize_cpr(cpr) if cpr else ""
        with self._lock:
            found = [
                a
                for a in self._order
                if (status is None or a.status == status)
                and (not wanted or normalize_cpr(a.submitted.applicant_cpr) == wanted)
            ]
            chunk, page, pages = page_of(found, page, page_size)
            return ApplicationPage([replace(a) for a in chunk], page, pages, len(found))

    def get(self, case_id: str) -> Application:
        """One application; NotFoundError when there is none."""
        with self._lock:
            return replace(self._application(case_id))

    def mark_in_progress(self, case_id: str) -> Application:
        """open -> in_progress; ConflictError from any other status."""
        with self._lock:
            application = self._application(case_id)
            if application.status != "open":
                raise ConflictError(
                    f"Ansøgning {case_id} kan ikke markeres som under behandling: "
                    f"den har status {PERMIT_STATUS_LABELS[application.status].lower()}"
                )
            application.status = "in_progress"
            self._record("permit_in_progress", case_id=case_id)
            return replace(application)

    def reject(self, case_id: str, *, reason: str) -> Application:
        """Close as rejected with a reason (required); refuse a closed application."""
        reason = _lines(reason)
        with self._lock:
            application = self._open_application(case_id)
            if not reason.strip():
                raise InvalidInputError("Angiv en begrundelse for afslaget")
            application.status, application.reason = "rejected", reason
            application.handled_at = self._now()
            self._record("permit_reject", case_id=case_id, reason=reason)
            return replace(application)

    def close_manual(self, case_id: str, *, note: str) -> Application:
        """Close to manual handling with a note; refuse a closed application."""
        note = _lines(note)
        with self._lock:
            application = self._open_application(case_id)
            application.status, application.note = "manual", note
            application.handled_at = self._now()
            self._record("permit_manual", case_id=case_id, note=note)
            return replace(application)

    def amend(self, case_id: str, changes: dict[str, Any]) -> Application:
        """Change an application's fields, as when the citizen sends a correction (tests)."""
        with self._lock:
            application = self._application(case_id)
            merged = application.submitted.model_dump() | changes
            try:
                submitted = SeedPermitApplication.model_validate(merged)
            except ValidationError as exc:
                raise InvalidInputError(f"Ugyldig rettelse: {exc.errors()[0]['msg']}") from exc
            if submitted.case_id != case_id:
                raise InvalidInputError("Ugyldig rettelse: sagsnummeret kan ikke ændres")
            application.submitted = submitted
            self._record("permit_amend", case_id=case_id, changes=changes)
            return replace(application)

    def _application(self, case_id: str) -> Application:
        try:
            return self._applications[case_id]
        except KeyError:
            raise NotFoundError(f"Ansøgning {case_id} findes ikke") from None

    def _open_application(self, case_id: str) -> Application:
        application = self._application(case_id)
        if application.permit_id is not None:
            raise PermitExistsError(application.permit_id)
        if application.status in PERMIT_CLOSED:
            label = PERMIT_STATUS_LABELS[application.status].lower()
            raise ConflictError(f"Ansøgning {case_id} er allerede afsluttet ({label})")
        return application

    # Registers -------------------------------------------------------------

    def find_vehicle(self, plate: str) -> SeedVehicle | None:
        """The vehicle with that plate (spaces and case ignored), or None."""
        with self._lock:
            return self._vehicles.get(normalize_plate(plate))

    def permits_for(self, plate: str) -> list[Permit]:
        """Every permit for a plate (spaces and case ignored), by valid_from then id."""
        wanted = normalize_plate(plate)
        with self._lock:
            found = [p for p in self._permits.values() if p.plate == wanted]
        return sorted(found, key=lambda p: (p.valid_from, p.permit_id))

    def get_permit(self, permit_id: str) -> Permit:
        """One permit; NotFoundError when there is none."""
        with self._lock:
            try:
                return self._permits[permit_id]
            except KeyError:
                raise NotFoundError(f"Tilladelse {permit_id} findes ikke") from None

    def issue(
        self,
        *,
        case_id: str,
        plate: str,
        zone: str,
        valid_from: str,
        valid_to: str,
        issued_by: str,
    ) -> Permit:
        """Issue a permit for an open application and close it as issued; once per case.

        A period longer than a year is cut to one year from valid_from, as the real
        system does without a word: the receipt and the register show what was issued.
        """
        args = {"plate": plate, "zone": zone, "valid_from": valid_from, "valid_to": valid_to}
        with self._lock:
            application = self._open_application(case_id)
            wanted = normalize_plate(plate)
            if not _PLATE.match(wanted):
                raise InvalidInputError(f"Nummerpladen {plate.strip() or '(tom)'} er ikke gyldig")
            zone = zone.strip()
            if zone not in self._zones:
                raise InvalidInputError(f"Ukendt parkeringszone: {zone or '(tom)'}")
            start = _parse_date(valid_from, "Gyldig fra")
            end = _parse_date(valid_to, "Gyldig til")
            if end < start:
                raise InvalidInputError("Gyldig til ligger før gyldig fra")
            numbers = [int(p.removeprefix("BP-")) for p in self._permits]
            permit = Permit(
                permit_id=f"BP-{max(numbers, default=0) + 1:06d}",
                plate=wanted,
                zone=zone,
                valid_from=start,
                valid_to=min(end, _year_from(start)),
                case_id=case_id,
                issued_by=issued_by,
                issued_at=self._now(),
            )
            self._permits[permit.permit_id] = permit
            application.status, application.permit_id = "issued", permit.permit_id
            application.handled_at = permit.issued_at
            self._record("permit_issue", args={"case_id": case_id, "issued_by": issued_by} | args)
            return permit

    # State -----------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        """The parking part of GET /api/state."""
        with self._lock:
            return {
                "permit_applications": [
                    {
                        "case_id": a.case_id,
                        "status": a.status,
                        "received_at": a.submitted.received_at,
                        "handled_at": _iso(a.handled_at),
                        "reason": a.reason or None,
                        "note": a.note or None,
                        "permit_id": a.permit_id,
                    }
                    for a in self._order
                ],
                "permits": [p.as_json() for p in self._permits.values()],
            }


def _received_key(application: Application) -> tuple[float, str, str]:
    raw = application.submitted.received_at
    try:
        moment = datetime.fromisoformat(raw)
        stamp = (moment if moment.tzinfo else moment.replace(tzinfo=TZ)).timestamp()
    except ValueError:
        stamp = math.inf  # unreadable times go last, in a stable order
    return stamp, raw, application.case_id


def _lines(text: str) -> str:
    # A browser sends a textarea's line breaks as CR LF; the system keeps LF.
    return text.replace("\r\n", "\n")


def _parse_date(value: str, label: str) -> date:
    value = value.strip()
    try:
        if not _DATE.match(value):
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInputError(
            f"{label} {value or '(tom)'} er ikke en gyldig dato (ÅÅÅÅ-MM-DD)"
        ) from None


def _year_from(start: date) -> date:
    """The last day of a year's permit from `start` (29 February: to 28 February)."""
    try:
        return start.replace(year=start.year + 1) - timedelta(days=1)
    except ValueError:
        return date(start.year + 1, 2, 28)


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(TZ).isoformat(timespec="seconds")
