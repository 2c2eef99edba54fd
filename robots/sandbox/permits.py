"""What the resident parking robot does in the sandbox case system, across pages.

No domain, flow or checkpoint imports: this is the target system's side only. Every
write reads first (a rerun after a crash confirms rather than repeats) and is read
back afterwards; anything the robot did not ask for fails closed (robots/errors.py).
Pages are read as the target's rendering says (robots/reading.py); forms are filled in
and sent in the browser.
"""

from __future__ import annotations

import logging
import re
from datetime import date

from robots.errors import BusinessError, SystemFault
from robots.sandbox.permit_models import (
    CLOSED,
    ApplicationRead,
    PermitRead,
    ResidentRead,
    VehicleRead,
)
from robots.sandbox.permit_pages import (
    ApplicationPage,
    ParkingInboxPage,
    PermitFormPage,
    PermitReceiptPage,
    PermitRegisterPage,
    PopulationPage,
    Refused,
    VehicleRegisterPage,
)
from robots.sandbox.system import SystemRobot, Target, _logged_in

__all__ = [
    "ApplicationRead",
    "PermitMismatch",
    "PermitRead",
    "PermitSystemRobot",
    "ResidentRead",
    "Target",
    "VehicleRead",
]

log = logging.getLogger(__name__)


class PermitMismatch(BusinessError):
    """The permit register holds something else than the robot issued: a person must check."""

    code = "business.permit_mismatch"


def plate_key(plate: str) -> str:
    """A plate as the registers compare it (white space and case ignored): `AB12345`."""
    return re.sub(r"\s+", "", plate).upper()


def _iso(day: date | str) -> str:
    return day.isoformat() if isinstance(day, date) else day


def _lines(text: str) -> str:
    # A browser sends a textarea's line breaks as CR LF; the case system keeps LF.
    return text.replace("\r\n", "\n")


class PermitSystemRobot(SystemRobot):
    """The permit robot's hands in one browser context of the case system."""

    @_logged_in
    async def open_case_ids(self, limit: int | None = None) -> list[str]:
        """Page through the parking inbox and collect the ids of open applications."""
        first = ParkingInboxPage(self.page, self.base_url, self.rendering)
        inbox: ParkingInboxPage | None = await first.open()
        case_ids: list[str] = []
        while inbox is not None:
            case_ids += [case_id for case_id, status in await inbox.rows() if status == "open"]
            if limit is not None and len(case_ids) >= limit:
                return case_ids[:limit]
            inbox = await inbox.next_page()
        return case_ids

    @_logged_in
    async def read_application(self, case_id: str) -> ApplicationRead:
        """An application with every field as sent, its status and outcome."""
        page = await ApplicationPage(self.page, self.base_url, self.rendering).open(case_id)
        return await page.read()

    @_logged_in
    async def lookup_vehicle(self, plate: str) -> VehicleRead | None:
        """The vehicle register's entry; None only when the register says it has none."""
        return await VehicleRegisterPage(self.page, self.base_url, self.rendering).look_up(plate)

    @_logged_in
    async def lookup_resident(self, cpr: str) -> ResidentRead | None:
        """The person in CPR and their address's parking zone; None when CPR has no such person."""
        return await PopulationPage(self.page, self.base_url, self.rendering).look_up(cpr)

    @_logged_in
    async def permits_for(self, plate: str) -> list[PermitRead]:
        """Every permit the register holds for a plate (white space and case ignored)."""
        return await PermitRegisterPage(self.page, self.base_url, self.rendering).permits_for(plate)

    @_logged_in
    async def show_case(self, case_id: str) -> None:
        """Open an application's page in the browser (for a screenshot a person will look at)."""
        page = await ApplicationPage(self.page, self.base_url, self.rendering).open(case_id)
        await page.show()

    @_logged_in
    async def mark_in_progress(self, case_id: str) -> None:
        """Mark an open application as in progress (idempotent: any other status is left)."""
        page = await ApplicationPage(self.page, self.base_url, self.rendering).open(case_id)
        if (await page.read()).status != "open":
            return
        try:
            await page.mark_in_progress()
        except Refused as exc:
            # Someone else moved it on between our read and our write: fine if it is not open.
            if exc.status != 409 or (await self._read(case_id)).status == "open":
                raise

    @_logged_in
    async def issue_permit(
        self,
        case_id: str,
        plate: str,
        zone: str,
        valid_from: date | str,
        valid_to: date | str,
    ) -> PermitRead:
        """Issue the application's permit once, and verify it in the permit register.

        The dates are dates or their ISO text (`2026-12-01`). The register is read first:
        a permit for this case already there (a rerun after a crash) is verified and
        returned, never issued twice. A permit that differs from what was asked (the
        system changed a value) raises PermitMismatch.
        """
        wanted = PermitRead(
            permit_id="",
            plate=plate,
            zone=zone,
            valid_from=_iso(valid_from),
            valid_to=_iso(valid_to),
            case_id=case_id,
        )
        register = PermitRegisterPage(self.page, self.base_url, self.rendering)
        done = [p for p in await register.permits_for(plate) if p.case_id == case_id]
        if done:
            log.info(
                "Case %s: permit %s was already issued; reusing it", case_id, done[0].permit_id
            )
            return _verified(done[0], wanted)
        form = await PermitFormPage(self.page, self.base_url, self.rendering).open(case_id)
        try:
            receipt = await form.issue(
                plate=plate, zone=zone, valid_from=wanted.valid_from, valid_to=wanted.valid_to
            )
        except Refused as exc:
            if exc.status != 409:
                raise
            return await self._issued_meanwhile(case_id, wanted, exc)
        issued = _verified(receipt.read(), wanted)
        back = [p for p in await register.permits_for(plate) if p.permit_id == issued.permit_id]
        if len(back) != 1:
            raise SystemFault(
                f"case {case_id}: permit {issued.permit_id} is not in the permit register "
                "after issuing it"
            )
        return _verified(back[0], wanted)

    async def _issued_meanwhile(
        self, case_id: str, wanted: PermitRead, refusal: Refused
    ) -> PermitRead:
        # Another run issued this very case between our read and our write (or under
        # another plate): that is the work done, if it is what we meant to issue.
        application = await self._read(case_id)
        if application.permit_id is None:
            raise refusal
        receipt = PermitReceiptPage(self.page, self.base_url, self.rendering)
        await receipt.open(application.permit_id)
        log.info("Case %s: permit %s was issued meanwhile", case_id, application.permit_id)
        return _verified(receipt.read(), wanted)

    @_logged_in
    async def reject(self, case_id: str, reason: str) -> None:
        """Reject with a reason (idempotent: already rejected with that reason is done)."""
        if not reason.strip():
            raise ValueError("a rejection needs a reason the citizen can read")
        page = await ApplicationPage(self.page, self.base_url, self.rendering).open(case_id)
        if _closed_as(await page.read(), "rejected", reason):
            return
        try:
            await page.reject(reason)
        except Refused as exc:
            # Closed between our read and our write: done only if closed this very way.
            if exc.status == 409 and _closed_as(await self._read(case_id), "rejected", reason):
                return
            raise
        after = await page.read()
        if after.status != "rejected" or _lines(after.reason or "") != _lines(reason):
            raise SystemFault(f"case {case_id}: the rejection is not on the application")

    @_logged_in
    async def close_manual(self, case_id: str, note: str) -> None:
        """Send to manual handling with a note (idempotent: already manual is done)."""
        page = await ApplicationPage(self.page, self.base_url, self.rendering).open(case_id)
        if _closed_as(await page.read(), "manual", None):
            return
        try:
            await page.close_manual(note)
        except Refused as exc:
            if exc.status == 409 and _closed_as(await self._read(case_id), "manual", None):
                return
            raise
        if (await page.read()).status != "manual":
            raise SystemFault(f"case {case_id}: the application is not in manual handling")

    async def _read(self, case_id: str) -> ApplicationRead:
        page = await ApplicationPage(self.page, self.base_url, self.rendering).open(case_id)
        return await page.read()


def _closed_as(application: ApplicationRead, status: str, text: str | None) -> bool:
    """True when already closed this way; False when still open; else BusinessError."""
    if application.status not in CLOSED:
        return False
    same_text = text is None or _lines(application.reason or "") == _lines(text)
    if application.status == status and same_text:
        log.info("Case %s: already closed as %s", application.case_id, status)
        return True
    how = "with another reason" if application.status == status else "as " + application.status
    raise BusinessError(
        f"case {application.case_id} was already closed {how}, not {status}: "
        "a caseworker must look at it"
    )


def _verified(permit: PermitRead, wanted: PermitRead) -> PermitRead:
    """The permit, when every field is what the robot asked for; else PermitMismatch."""
    differs = [
        name
        for name, got, asked in (
            ("case_id", permit.case_id, wanted.case_id),
            ("plate", plate_key(permit.plate), plate_key(wanted.plate)),
            ("zone", permit.zone, wanted.zone),
            ("valid_from", permit.valid_from, wanted.valid_from),
            ("valid_to", permit.valid_to, wanted.valid_to),
        )
        if got != asked
    ]
    if differs:
        shown = ", ".join(
            f"{name} {getattr(permit, name)!r} (asked {getattr(wanted, name)!r})"
            for name in differs
        )
        raise PermitMismatch(
            f"case {wanted.case_id}: permit {permit.permit_id} in the register differs from "
            f"what the robot issued: {shown}; a caseworker must check it"
        )
    return permit
