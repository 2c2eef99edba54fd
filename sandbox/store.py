"""The sandbox's state in memory: cases, the address and population registers, registrations.

Resident parking (applications, vehicles, permits) lives in `Store.parking`.

One lock guards everything; every function hands out copies or frozen values,
so pages can render them while another request changes the store.
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime
from typing import Any

from pydantic import ValidationError

from sandbox.parking import ParkingStore
from sandbox.persistence import StateLog
from sandbox.records import (
    STATUS_LABELS,
    TZ,
    Case,
    CasePage,
    ConflictError,
    DuplicateRegistrationError,
    InvalidInputError,
    Note,
    NotFoundError,
    Person,
    Registration,
    normalize_cpr,
    page_of,
)
from sandbox.seed import CLOSED_STATUSES, Seed, SeedAddress

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _norm(value: str | None) -> str:
    return (value or "").strip().casefold()


def _received_key(case: Case) -> tuple[float, str, str]:
    raw = case.notification.received_at
    try:
        moment = datetime.fromisoformat(raw)
        stamp = (moment if moment.tzinfo else moment.replace(tzinfo=TZ)).timestamp()
    except ValueError:
        stamp = math.inf  # unreadable times go last, in a stable order
    return stamp, raw, case.case_id


def _copy(case: Case) -> Case:
    return replace(case, notes=list(case.notes))


class Store:
    """Thread-safe in-memory state of the sandbox, built from a seed."""

    def __init__(self, seed: Seed, *, now: Callable[[], datetime] | None = None) -> None:
        self._lock = threading.RLock()
        self._now = now or (lambda: datetime.now(TZ))
        self._cases = {
            n.case_id: Case(n, n.status, n.handled_at)
            for n in sorted(seed.notifications, key=lambda n: n.case_id)
        }
        self._order = sorted(self._cases.values(), key=_received_key)
        self._addresses = {a.address_id: a for a in seed.addresses}
        # Look-ups by key, as a real register has them: a scan of every record per request
        # made the sandbox, not the robot, the limit of a 10,000-case batch.
        self._by_address_key: dict[tuple[str, ...], list[SeedAddress]] = {}
        for address in self._addresses.values():
            self._by_address_key.setdefault(_address_key(address), []).append(address)
        self._by_cpr: dict[str, list[Case]] = {}
        self._index_cases()
        self._people = {
            r.cpr: Person(r.cpr, r.name, r.address_id, r.protected_address) for r in seed.residents
        }
        self._registrations: dict[str, Registration] = {}
        self._log: StateLog | None = None
        self.parking = ParkingStore(
            seed, lock=self._lock, now=lambda: self._now(), record=self._record
        )

    def persist_to(self, log: StateLog) -> None:
        """Replay the changes the log holds, then append every new change to it."""
        with self._lock:
            for event in log.events:
                self._apply(event)
            self._log = log

    def _apply(self, event: dict[str, Any]) -> None:
        at = datetime.fromisoformat(event["at"])
        now, self._now = self._now, lambda: at
        try:
            op = event["op"]
            if op == "in_progress":
                self.mark_in_progress(event["case_id"])
            elif op == "close":
                self.close_case(event["case_id"], outcome=event["outcome"], note=event["note"])
            elif op == "amend":
                self.amend(event["case_id"], event["changes"])
            elif op == "register":
                self.register_move(**event["args"])
            elif op.startswith("permit_"):
                self.parking.apply(event)
        finally:
            self._now = now

    def _record(self, op: str, **fields: Any) -> None:
        if self._log is not None:
            self._log.append({"op": op, "at": self._now().isoformat(), **fields})

    # Cases -----------------------------------------------------------------

    def count_cases(self) -> int:
        """How many cases there are."""
        with self._lock:
            return len(self._cases)

    def list_cases(
        self, *, status: str | None = None, cpr: str | None = None, page: int = 1, page_size: int
    ) -> CasePage:
        """Cases sorted by received_at then case_id, filtered by status and mover/reporter CPR."""
        wanted = normalize_cpr(cpr) if cpr else ""
        with self._lock:
            candidates = self._by_cpr.get(wanted, []) if wanted else self._order
            found = [c for c in candidates if status is None or c.status == status]
            chunk, page, pages = page_of(found, page, page_size)
            return CasePage([_copy(c) for c in chunk], page, pages, len(found))

    def get_case(self, case_id: str) -> Case:
        """One case; NotFoundError when there is none."""
        with self._lock:
            return _copy(self._case(case_id))

    def mark_in_progress(self, case_id: str) -> Case:
        """open -> in_progress; ConflictError from any other status."""
        with self._lock:
            case = self._case(case_id)
            if case.status != "open":
                raise ConflictError(
                    f"Sag {case_id} kan ikke markeres som under behandling: "
                    f"den har status {STATUS_LABELS[case.status].lower()}"
                )
            case.status = "in_progress"
            self._record("in_progress", case_id=case_id)
            return _copy(case)

    def close_case(self, case_id: str, *, outcome: str, note: str = "") -> Case:
        """Set the outcome status and handled_at, keep the note; refuse a closed case."""
        with self._lock:
            case = self._case(case_id)
            if outcome not in CLOSED_STATUSES:
                raise InvalidInputError(f"Ukendt udfald: {outcome!r}")
            if case.status in CLOSED_STATUSES:
                raise ConflictError(
                    f"Sag {case_id} er allerede afsluttet ({STATUS_LABELS[case.status].lower()})"
                )
            now = self._now()
            case.status = outcome
            case.handled_at = now
            if note.strip():
                case.notes.append(Note(now, note))
            self._record("close", case_id=case_id, outcome=outcome, note=note)
            return _copy(case)

    def amend(self, case_id: str, changes: dict[str, Any]) -> Case:
        """Change a notification's fields, as when the citizen sends a correction (tests)."""
        with self._lock:
            case = self._case(case_id)
            merged = case.notification.model_dump() | changes
            try:
                case.notification = type(case.notification).model_validate(merged)
            except ValidationError as exc:
                raise InvalidInputError(f"Ugyldig rettelse: {exc.errors()[0]['msg']}") from exc
            self._index_cases()
            self._record("amend", case_id=case_id, changes=changes)
            return _copy(case)

    def _index_cases(self) -> None:
        """The cases by every CPR number they involve (reporter, movers), in inbox order."""
        by_cpr: dict[str, list[Case]] = {}
        for case in self._order:
            n = case.notification
            for cpr in dict.fromkeys(
                normalize_cpr(c) for c in (n.reporter_cpr, *(m.cpr for m in n.movers))
            ):
                by_cpr.setdefault(cpr, []).append(case)
        self._by_cpr = by_cpr

    def _case(self, case_id: str) -> Case:
        try:
            return self._cases[case_id]
        except KeyError:
            raise NotFoundError(f"Sag {case_id} findes ikke") from None

    # Registers -------------------------------------------------------------

    def search_addresses(
        self, *, street: str, house_number: str, floor: str, door: str, postcode: str
    ) -> list[SeedAddress]:
        """Addresses matching all five parts exactly, ignoring case and surrounding blanks."""
        key = tuple(_norm(v) for v in (street, house_number, floor, door, postcode))
        with self._lock:
            return list(self._by_address_key.get(key, []))

    def has_address(self, address_id: str) -> bool:
        """True when the address register holds this id."""
        with self._lock:
            return address_id.strip() in self._addresses

    def get_address(self, address_id: str) -> SeedAddress:
        """One address; NotFoundError when there is none."""
        with self._lock:
            try:
                return self._addresses[address_id.strip()]
            except KeyError:
                raise NotFoundError(f"Adressen {address_id} findes ikke") from None

    def residents_at(self, address_id: str) -> list[Person]:
        """Everyone registered at an address, by name."""
        with self._lock:
            found = [p for p in self._people.values() if p.address_id == address_id]
        return sorted(found, key=lambda p: (p.name, p.cpr))

    def find_person(self, cpr: str) -> Person | None:
        """The person with that CPR number (dash and blanks ignored), or None."""
        with self._lock:
            return self._people.get(normalize_cpr(cpr))

    def registrations_for(self, cpr: str) -> list[Registration]:
        """The moves registered for a person, oldest first."""
        wanted = normalize_cpr(cpr)
        with self._lock:
            return [r for r in self._registrations.values() if r.cpr == wanted]

    def get_registration(self, registration_id: str) -> Registration:
        """One registration; NotFoundError when there is none."""
        with self._lock:
            try:
                return self._registrations[registration_id]
            except KeyError:
                raise NotFoundError(f"Registrering {registration_id} findes ikke") from None

    def register_move(
        self, *, cpr: str, address_id: str, move_date: str, case_id: str, registered_by: str
    ) -> Registration:
        """Move a person to an address for a case; refuse a second one for the same case."""
        cpr, address_id, case_id = normalize_cpr(cpr), address_id.strip(), case_id.strip()
        move_date = move_date.strip()
        with self._lock:
            if cpr not in self._people:
                raise InvalidInputError(f"CPR-nummeret {cpr or '(tomt)'} findes ikke i CPR")
            if address_id not in self._addresses:
                raise InvalidInputError(f"Adresse-id {address_id or '(tomt)'} findes ikke")
            if case_id not in self._cases:
                raise InvalidInputError(f"Sagsnummeret {case_id or '(tomt)'} findes ikke")
            when = _parse_date(move_date)
            for existing in self._registrations.values():
                if existing.cpr == cpr and existing.case_id == case_id:
                    raise DuplicateRegistrationError(existing.registration_id)
            registration = Registration(
                registration_id=f"REG-{len(self._registrations) + 1:06d}",
                case_id=case_id,
                cpr=cpr,
                address_id=address_id,
                move_date=when,
                registered_by=registered_by,
                registered_at=self._now(),
            )
            self._registrations[registration.registration_id] = registration
            self._people[cpr] = replace(self._people[cpr], address_id=address_id)
            self._record(
                "register",
                args={
                    "cpr": cpr,
                    "address_id": address_id,
                    "move_date": move_date,
                    "case_id": case_id,
                    "registered_by": registered_by,
                },
            )
            return registration

    # State -----------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        """The contracts' GET /api/state JSON, plus where every resident lives now."""
        with self._lock:
            change_of_address = {
                "notifications": [
                    {
                        "case_id": c.case_id,
                        "status": c.status,
                        "received_at": c.notification.received_at,
                        "handled_at": _iso(c.handled_at),
                        "notes": [n.text for n in c.notes],
                    }
                    for c in self._order
                ],
                "registrations": [r.as_json() for r in self._registrations.values()],
                "residents": [
                    {"cpr": p.cpr, "address_id": p.address_id} for p in self._people.values()
                ],
            }
            return change_of_address | self.parking.state()


def _address_key(address: SeedAddress) -> tuple[str, ...]:
    parts = (address.street, address.house_number, address.floor, address.door, address.postcode)
    return tuple(_norm(v) for v in parts)


def _parse_date(value: str) -> date:
    try:
        if not _DATE.match(value):
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInputError(
            f"Flyttedatoen {value or '(tom)'} er ikke en gyldig dato (ÅÅÅÅ-MM-DD)"
        ) from None


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(TZ).isoformat(timespec="seconds")
