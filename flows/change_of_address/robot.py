"""What the change-of-address robot does in the case system, across pages."""

from __future__ import annotations

import logging
from datetime import date

from flows.change_of_address.case import (
    CaseFile,
    Clearance,
    Enrichment,
    Person,
    Registration,
    validate_notification,
)
from robots.errors import BusinessError, SystemFault
from robots.sandbox.pages import (
    AddressRegisterPage,
    AlreadyRegistered,
    CasePage,
    InboxPage,
    MoveFormPage,
    PopulationRegisterPage,
)
from robots.sandbox.system import SystemRobot, _logged_in
from robots.sandbox.system import Target as Target  # re-exported: flows and tests import it here

log = logging.getLogger(__name__)


class CaseSystemRobot(SystemRobot):
    """The change-of-address robot's hands in one browser context of the case system.

    Logging in (and again, once, when the system ends the session) is the system's,
    shared with every robot of it (robots/sandbox/system.py).
    """

    @_logged_in
    async def list_open_cases(self, limit: int | None = None) -> list[str]:
        """Page through the inbox and collect the ids of open notifications."""
        inbox: InboxPage | None = await InboxPage(self.page, self.base_url, self.rendering).open(
            status="open"
        )
        case_ids: list[str] = []
        while inbox is not None:
            case_ids += [row.case_id for row in await inbox.rows() if row.status == "open"]
            if limit is not None and len(case_ids) >= limit:
                return case_ids[:limit]
            inbox = await inbox.next_page()
        return case_ids

    @_logged_in
    async def read_case(self, case_id: str) -> CaseFile:
        """Read a notification from its case page and validate it (extraction)."""
        page = await CasePage(self.page, self.base_url, self.rendering).open(case_id)
        raw = await page.read()
        notification, problems = validate_notification(raw)
        return CaseFile(
            case_id=case_id,
            status=await page.status(),
            raw=raw,
            notification=notification,
            problems=problems,
        )

    @_logged_in
    async def enrich(self, case: CaseFile) -> CaseFile:
        """Look the case up in the address and population registers (enrichment)."""
        notification = case.notification
        if notification is None:
            return case
        registry = AddressRegisterPage(self.page, self.base_url, self.rendering)
        matches = await registry.search(notification.new_address)
        enrichment = Enrichment()
        if len(matches) == 1:
            enrichment.new_address, enrichment.residents_at_new_address = await registry.open(
                matches[0]
            )
        elif len(matches) > 1:
            # An ambiguous address is not an address the robot may pick for a citizen.
            log.info(
                "Case %s: the new address matches %d register entries", case.case_id, len(matches)
            )
        population = PopulationRegisterPage(self.page, self.base_url, self.rendering)
        movers: dict[str, Person | None] = {}
        for mover in notification.movers:
            movers[mover.cpr], _ = await population.look_up(mover.cpr)
        enrichment.movers = movers
        inbox = InboxPage(self.page, self.base_url, self.rendering)
        related = {}
        for mover in notification.movers:
            await inbox.open(status="alle", cpr=mover.cpr)
            for other in await inbox.related_cases():
                if other.case_id != case.case_id:
                    related[other.case_id] = other
        enrichment.related_cases = list(related.values())
        return case.model_copy(update={"enrichment": enrichment})

    @_logged_in
    async def register_move(self, case: CaseFile, clearance: Clearance) -> list[Registration]:
        """Register every mover's move, once, and verify it by reading it back.

        The register is read first: a registration that already exists for this case
        (a rerun after a crash) is verified and reused, never made twice.
        """
        notification = case.notification
        if notification is None:
            raise BusinessError(f"case {case.case_id} has no valid notification to register")
        clearance.check(notification)
        if case.enrichment is None or case.enrichment.new_address is None:
            raise BusinessError(f"case {case.case_id}: the new address is not in the register")
        address_id = case.enrichment.new_address.address_id
        population = PopulationRegisterPage(self.page, self.base_url, self.rendering)
        registrations = []
        for mover in notification.movers:
            _, existing = await population.look_up(mover.cpr)
            done = [r for r in existing if r.case_id == case.case_id]
            if done:
                log.info(
                    "Case %s: a mover's move was already registered (%s); reusing it",
                    case.case_id,
                    done[0].registration_id,
                )
                registration = done[0]
            else:
                registration = await self._register_one(
                    population,
                    cpr=mover.cpr,
                    address_id=address_id,
                    move_date=notification.move_date,
                    case=case,
                )
            expected = (case.case_id, mover.cpr, address_id, notification.move_date)
            got = (
                registration.case_id,
                registration.cpr,
                registration.address_id,
                registration.move_date,
            )
            if got != expected:
                raise BusinessError(
                    f"case {case.case_id}: registration {registration.registration_id} "
                    "does not match the notification; a caseworker must check it"
                )
            person, _ = await population.look_up(mover.cpr)
            if person is None or person.address_id != address_id:
                raise SystemFault(
                    f"case {case.case_id}: registration {registration.registration_id} "
                    "is not visible in the population register"
                )
            registrations.append(registration)
        return registrations

    async def _register_one(
        self,
        population: PopulationRegisterPage,
        *,
        cpr: str,
        address_id: str,
        move_date: date,
        case: CaseFile,
    ) -> Registration:
        form = await MoveFormPage(self.page, self.base_url, self.rendering).open()
        try:
            receipt = await form.register(
                cpr=cpr,
                address_id=address_id,
                move_date=move_date,
                case_id=case.case_id,
            )
        except AlreadyRegistered:
            # Another run registered this very case between our read and our write (a
            # replay, a second batch): that is the work done, confirmed, not a refusal.
            _, existing = await population.look_up(cpr)
            done = [r for r in existing if r.case_id == case.case_id]
            if not done:
                raise
            log.info(
                "Case %s: the register already holds this case's move (%s); confirmed",
                case.case_id,
                done[0].registration_id,
            )
            return done[0]
        return await receipt.read()

    @_logged_in
    async def show_case(self, case_id: str) -> None:
        """Open a case's page in the browser (for a screenshot a person will look at)."""
        page = await CasePage(self.page, self.base_url, self.rendering).open(case_id)
        await page.show()

    @_logged_in
    async def mark_in_progress(self, case_id: str) -> None:
        """Mark a case as in progress, so no one else picks it up (idempotent)."""
        page = await CasePage(self.page, self.base_url, self.rendering).open(case_id)
        if await page.status() == "open":
            await page.mark_in_progress()

    @_logged_in
    async def close_case(self, case_id: str, outcome: str, note: str) -> None:
        """Close a case with an outcome and a note (idempotent: a closed case is left)."""
        page = await CasePage(self.page, self.base_url, self.rendering).open(case_id)
        status = await page.status()
        if status in ("open", "in_progress"):
            await page.close(outcome, note)
        elif status != outcome:
            raise BusinessError(f"case {case_id} was already closed as {status}, not {outcome}")
