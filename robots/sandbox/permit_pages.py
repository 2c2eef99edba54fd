"""Page objects for resident parking in the sandbox case system (docs/sandbox-ui.md).

Fail closed, as pages.py does: each page must show its heading and the element read
(a maintenance page or a changed layout is `UnexpectedPage`), "nothing found" only when
the page says so, and an error status that a form does not expect is `HttpFault`. Text
is read from the HTML as sent (html_text.py), not from the DOM.
"""

from __future__ import annotations

from urllib.parse import quote, urlencode

from playwright.async_api import Locator, Page, Response

from robots.errors import BusinessError, SystemFault, UnexpectedPage
from robots.sandbox.html_text import text_by_test_id, texts_by_test_id
from robots.sandbox.navigation import goto, require, require_one_of, submit
from robots.sandbox.permit_models import (
    PERMIT_STATUSES,
    ApplicationRead,
    PermitRead,
    ResidentRead,
    VehicleRead,
)

# The statuses with which the case system refuses a form for a business reason; every
# other error status is a fault (fail closed).
_REFUSALS = (409, 422)
_APPLICATION_FIELDS = (
    "case_id",
    "received_at",
    "applicant_cpr",
    "applicant_name",
    "plate",
    "zone",
    "start_date",
    "remarks",
    "handled_at",
)
# A permit's fields and their test ids, in the register's rows and on the receipt.
_PERMIT_FIELDS = {
    "permit_id": "permit-id",
    "plate": "permit-plate",
    "zone": "permit-zone",
    "valid_from": "permit-valid-from",
    "valid_to": "permit-valid-to",
    "case_id": "permit-case-id",
}


class Refused(BusinessError):
    """The case system refused a form (409: the case's state; 422: the values)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = "business.conflict" if status == 409 else "business.refused"


def _testid(field: str) -> str:
    return field.replace("_", "-")


def _path(value: str) -> str:
    return quote(value, safe="")


class _Sent:
    """A page's HTML as the case system sent it, read by test id."""

    def __init__(self, html: str, name: str) -> None:
        self.html = html
        self.name = name

    def one(self, test_id: str) -> str:
        """The text of the one element with this test id; absent or twice fails closed."""
        try:
            value = text_by_test_id(self.html, test_id)
        except ValueError as exc:
            raise UnexpectedPage(f"the {self.name} page's {test_id} is ambiguous: {exc}") from exc
        if value is None:
            raise UnexpectedPage(f"the {self.name} page as sent has no {test_id} element")
        return value

    def all(self, test_id: str) -> list[str]:
        """The text of every element with this test id, in page order."""
        return texts_by_test_id(self.html, test_id)

    def has(self, test_id: str) -> bool:
        """True when the page has an element with this test id."""
        return bool(self.all(test_id))

    def rows(self, test_ids: dict[str, str]) -> list[dict[str, str]]:
        """A table's rows as {field: text}; a cell missing from a row fails closed."""
        cells = [self.all(test_id) for test_id in test_ids.values()]
        if len({len(column) for column in cells}) > 1:
            raise UnexpectedPage(f"the {self.name} page's table has rows with missing cells")
        return [dict(zip(test_ids, row, strict=True)) for row in zip(*cells, strict=True)]


async def _sent(page: Page, response: Response | None, name: str) -> _Sent:
    html = await response.text() if response is not None else await page.content()
    return _Sent(html, name)


async def _heading(page: Page, name: str, *, where: str) -> None:
    heading = page.get_by_role("heading", name=name, exact=True, level=1)
    await require(heading, page=where, what=f"heading {name!r}")


async def _alert(page: Page) -> str:
    alert = page.get_by_role("alert")
    return ((await alert.first.text_content()) or "").strip() if await alert.count() else ""


async def _refused(page: Page, response: Response | None, what: str) -> None:
    if response is not None and response.status in _REFUSALS:
        raise Refused(response.status, f"the case system refused to {what}: {await _alert(page)}")


async def _status(locator: Locator, where: str) -> str:
    # Statuses are machine codes in data-status; the visible text is Danish prose.
    await require(locator, page=where, what="status")
    codes: list[str] = await locator.evaluate_all("els => els.map(e => e.dataset.status ?? '')")
    if len(codes) != 1 or codes[0] not in PERMIT_STATUSES:
        raise UnexpectedPage(f"the {where} page shows a status the robot does not know: {codes}")
    return codes[0]


class ParkingInboxPage:
    """The list of permit applications, a page at a time."""

    def __init__(self, page: Page, base_url: str) -> None:
        self.page = page
        self.base_url = base_url
        self.table = page.get_by_role("table", name="Ansøgninger")
        self.no_applications = page.get_by_test_id("no-applications")
        self.next_link = page.get_by_role("link", name="Næste side")
        self.sent = _Sent("", "parking inbox")

    async def open(self, *, status: str = "open", cpr: str | None = None) -> ParkingInboxPage:
        """Open the first page, filtered by status and optionally by applicant CPR."""
        query = {"status": status} | ({"cpr": cpr} if cpr else {})
        response = await goto(self.page, f"{self.base_url}/parkering?{urlencode(query)}")
        return await self._arrived(response)

    async def _arrived(self, response: Response | None) -> ParkingInboxPage:
        await _heading(self.page, "Indbakke – beboerparkering", where="parking inbox")
        self.sent = await _sent(self.page, response, "parking inbox")
        return self

    async def rows(self) -> list[tuple[str, str]]:
        """(case id, status) of the applications on this page; none only when the page says so."""
        if not await require_one_of(
            self.page, name="parking inbox", found=self.table, empty=self.no_applications
        ):
            return []
        ids = self.sent.all("row-case-id")
        rows = self.page.get_by_test_id("row-status")
        statuses: list[str] = await rows.evaluate_all("els => els.map(e => e.dataset.status ?? '')")
        if len(ids) != len(statuses) or not set(statuses) <= PERMIT_STATUSES:
            raise UnexpectedPage("the parking inbox has rows without a case id or known status")
        return list(zip(ids, statuses, strict=True))

    async def next_page(self) -> ParkingInboxPage | None:
        """Go to the next page, or None on the last one."""
        if not await self.next_link.count():
            return None
        return await self._arrived(await submit(self.page, self.next_link))


class ApplicationPage:
    """One permit application and what a caseworker can do with it."""

    def __init__(self, page: Page, base_url: str) -> None:
        self.page = page
        self.base_url = base_url
        self.in_progress_button = page.get_by_role("button", name="Markér som under behandling")
        self.reason = page.get_by_role("textbox", name="Begrundelse", exact=True)
        self.reject_button = page.get_by_role("button", name="Afvis ansøgning")
        self.note = page.get_by_role("textbox", name="Notat", exact=True)
        self.manual_button = page.get_by_role("button", name="Send til manuel behandling")
        self.case_id = ""
        self.sent = _Sent("", "application")

    async def open(self, case_id: str) -> ApplicationPage:
        """Open an application by its case id; a page that is not that case is a fault."""
        self.case_id = case_id
        response = await goto(self.page, f"{self.base_url}/parkering/{_path(case_id)}")
        return await self._arrived(response)

    async def _arrived(self, response: Response | None) -> ApplicationPage:
        await _heading(self.page, f"Ansøgning {self.case_id}", where="application")
        self.sent = await _sent(self.page, response, "application")
        return self

    async def read(self) -> ApplicationRead:
        """Every field as sent, the status, and the outcome's reason, note or permit id."""
        status = await _status(self.page.get_by_test_id("status"), "application")
        values: dict[str, str | None] = {f: self.sent.one(_testid(f)) for f in _APPLICATION_FIELDS}
        if status == "rejected":
            values["reason"] = self.sent.one("rejection-reason")
        elif status == "manual":
            values["note"] = self.sent.one("manual-note")
        elif status == "issued":
            values["permit_id"] = self.sent.one("permit-id")
        return ApplicationRead.model_validate(values | {"status": status})

    async def mark_in_progress(self) -> None:
        """Mark the application as being handled."""
        await require(self.in_progress_button, page="application", what="in-progress button")
        response = await submit(self.page, self.in_progress_button, expect=_REFUSALS)
        await _refused(self.page, response, "mark the application in progress")
        await self._arrived(response)

    async def reject(self, reason: str) -> None:
        """Reject the application with a reason."""
        await require(self.reject_button, page="application", what="'Afvis ansøgning' button")
        await self.reason.fill(reason)
        response = await submit(self.page, self.reject_button, expect=_REFUSALS)
        await _refused(self.page, response, "reject the application")
        await self._arrived(response)

    async def close_manual(self, note: str) -> None:
        """Send the application to manual handling with a note."""
        await require(self.manual_button, page="application", what="manual handling button")
        await self.note.fill(note)
        response = await submit(self.page, self.manual_button, expect=_REFUSALS)
        await _refused(self.page, response, "send the application to manual handling")
        await self._arrived(response)


class VehicleRegisterPage:
    """The vehicle register: look a vehicle up by its plate."""

    def __init__(self, page: Page, base_url: str) -> None:
        self.page = page
        self.base_url = base_url

    async def look_up(self, plate: str) -> VehicleRead | None:
        """The vehicle; None only when the register's page says it has no such vehicle."""
        url = f"{self.base_url}/koeretoejer?{urlencode({'nummerplade': plate})}"
        response = await goto(self.page, url)
        await _heading(self.page, "Køretøjsregister", where="vehicle register")
        field = self.page.get_by_test_id
        if not await require_one_of(
            self.page,
            name="vehicle register",
            found=field("vehicle-plate"),
            empty=field("vehicle-not-found"),
        ):
            return None
        sent = await _sent(self.page, response, "vehicle register")
        if sent.has("vehicle-user-cpr"):
            user: str | None = sent.one("vehicle-user-cpr")
        elif sent.has("vehicle-no-user"):
            user = None
        else:
            raise UnexpectedPage("the vehicle register page shows neither a user nor 'no user'")
        return VehicleRead(
            plate=sent.one("vehicle-plate"),
            make=sent.one("vehicle-make"),
            model=sent.one("vehicle-model"),
            total_weight_kg=sent.one("vehicle-total-weight"),
            owner_cpr=sent.one("vehicle-owner-cpr"),
            user_cpr=user,
        )


class PermitRegisterPage:
    """The permit register: every permit for a plate."""

    def __init__(self, page: Page, base_url: str) -> None:
        self.page = page
        self.base_url = base_url

    async def permits_for(self, plate: str) -> list[PermitRead]:
        """The permits for a plate; none only when the register's page says so."""
        url = f"{self.base_url}/tilladelser?{urlencode({'nummerplade': plate})}"
        response = await goto(self.page, url)
        await _heading(self.page, "Tilladelsesregister – beboerparkering", where="permit register")
        if not await require_one_of(
            self.page,
            name="permit register",
            found=self.page.get_by_role("table", name="Tilladelser"),
            empty=self.page.get_by_test_id("no-permits"),
        ):
            return []
        sent = await _sent(self.page, response, "permit register")
        return [_permit(row) for row in sent.rows(_PERMIT_FIELDS)]


class PermitFormPage:
    """The form that issues an application's permit."""

    def __init__(self, page: Page, base_url: str) -> None:
        self.page = page
        self.base_url = base_url
        self.plate = page.get_by_label("Nummerplade")
        self.zone = page.get_by_label("Zone")
        self.valid_from = page.get_by_label("Gyldig fra")
        self.valid_to = page.get_by_label("Gyldig til")
        self.submit_button = page.get_by_role("button", name="Udsted tilladelse")

    async def open(self, case_id: str) -> PermitFormPage:
        """Open the empty form of an application."""
        await goto(self.page, f"{self.base_url}/parkering/{_path(case_id)}/tilladelse")
        await _heading(self.page, "Udsted beboerparkeringstilladelse", where="permit form")
        await require(self.submit_button, page="permit form", what="'Udsted tilladelse' button")
        return self

    async def issue(
        self, *, plate: str, zone: str, valid_from: str, valid_to: str
    ) -> PermitReceiptPage:
        """Fill in and send the form (dates as ISO text); a refusal (409, 422) raises `Refused`."""
        await self.plate.fill(plate)
        await self.zone.fill(zone)
        await self.valid_from.fill(valid_from)
        await self.valid_to.fill(valid_to)
        response = await submit(self.page, self.submit_button, expect=_REFUSALS)
        await _refused(self.page, response, "issue the permit")
        return await PermitReceiptPage(self.page, self.base_url).arrived(response)


class PermitReceiptPage:
    """One permit: the receipt after issuing it."""

    def __init__(self, page: Page, base_url: str) -> None:
        self.page = page
        self.base_url = base_url
        self.sent = _Sent("", "permit receipt")

    async def open(self, permit_id: str) -> PermitReceiptPage:
        """Open a permit's receipt by its id."""
        response = await goto(self.page, f"{self.base_url}/tilladelser/{_path(permit_id)}")
        return await self.arrived(response)

    async def arrived(self, response: Response | None) -> PermitReceiptPage:
        """The receipt the browser is on now (after issuing); any other page is a fault."""
        heading = self.page.get_by_role(
            "heading", name="Kvittering for beboerparkeringstilladelse", level=1
        )
        if not await heading.count():
            raise SystemFault("the case system did not show a receipt after issuing a permit")
        self.sent = await _sent(self.page, response, "permit receipt")
        return self

    def read(self) -> PermitRead:
        """The permit as the receipt shows it."""
        return _permit({name: self.sent.one(test_id) for name, test_id in _PERMIT_FIELDS.items()})


class PopulationPage:
    """The population register (CPR) and the address register behind it, for one person."""

    def __init__(self, page: Page, base_url: str) -> None:
        self.page = page
        self.base_url = base_url

    async def look_up(self, cpr: str) -> ResidentRead | None:
        """The person, their address and its parking zone; None when CPR says no such person."""
        response = await goto(self.page, f"{self.base_url}/cpr?{urlencode({'cpr': cpr})}")
        await _heading(self.page, "CPR-register", where="population register")
        field = self.page.get_by_test_id
        if not await require_one_of(
            self.page,
            name="population register",
            found=field("person-cpr"),
            empty=field("person-not-found"),
        ):
            return None
        sent = await _sent(self.page, response, "population register")
        flags: list[str] = await field("person-address").evaluate_all(
            "els => els.map(e => e.dataset.addressKnown ?? '')"
        )
        protected: list[str] = await field("person-protected").evaluate_all(
            "els => els.map(e => e.dataset.protected ?? '')"
        )
        if flags not in (["true"], ["false"]) or protected not in (["true"], ["false"]):
            raise UnexpectedPage("the population register page lacks its address or flags")
        address_id = sent.one("person-address-id")
        known = flags == ["true"]
        return ResidentRead(
            cpr=sent.one("person-cpr"),
            name=sent.one("person-name"),
            protected_address=protected == ["true"],
            address_id=address_id,
            address=sent.one("person-address"),
            address_known=known,
            parking_zone=await self._zone(address_id) if known else None,
        )

    async def _zone(self, address_id: str) -> str | None:
        response = await goto(self.page, f"{self.base_url}/adresseregister/{_path(address_id)}")
        field = self.page.get_by_test_id
        await require(field("address-id"), page="address", what="address id")
        if not await require_one_of(
            self.page, name="address", found=field("parking-zone"), empty=field("no-parking-zone")
        ):
            return None
        return (await _sent(self.page, response, "address")).one("parking-zone")


def _permit(row: dict[str, str]) -> PermitRead:
    # A permit issued outside the case system has no case: its cell is empty.
    return PermitRead.model_validate(row | {"case_id": row["case_id"] or None})
