"""Page objects for resident parking in the sandbox case system (docs/sandbox-ui.md).

Pages are read as the system's rendering says (robots/reading.py): as sent, without a
renderer, or as the browser rendered them; forms are sent the same way
(robots/sandbox/navigation.py, `send_form`): as the browser would send them, unrendered,
or typed into and clicked in the rendered page. Fail closed, as pages.py does: each page
must show its heading and the element read (a maintenance page or a changed layout is
`UnexpectedPage`), "nothing found" only when the page says so, and an error status that a
read or a form does not expect is `HttpFault`. Text is read from the HTML as sent
(html_text.py), character for character, not from the DOM; structure and status codes
from the page's `Snapshot`.
"""

from __future__ import annotations

from urllib.parse import quote, urlencode

from playwright.async_api import Page, Response
from selectolax.lexbor import LexborHTMLParser

from robots.errors import BusinessError, SystemFault, UnexpectedPage
from robots.reading import Rendering, Snapshot, read, rendered
from robots.sandbox.html_text import text_by_test_id, texts_by_test_id
from robots.sandbox.navigation import goto, send_form
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
_RECEIPT_HEADING = "Kvittering for beboerparkeringstilladelse"


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
    """A page as read: its snapshot (structure, codes) and its HTML as sent (text)."""

    def __init__(self, shown: Snapshot, html: str) -> None:
        self.shown = shown
        self.html = html
        self.name = shown.name

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
        return self.shown.has(test_id)

    def rows(self, test_ids: dict[str, str]) -> list[dict[str, str]]:
        """A table's rows as {field: text}; a cell missing from a row fails closed."""
        cells = [self.all(test_id) for test_id in test_ids.values()]
        if len({len(column) for column in cells}) > 1:
            raise UnexpectedPage(f"the {self.name} page's table has rows with missing cells")
        return [dict(zip(test_ids, row, strict=True)) for row in zip(*cells, strict=True)]


async def _read(
    page: Page, url: str, *, rendering: Rendering, name: str, heading: str | None
) -> _Sent:
    """Read the page at `url` as the rendering says, with its HTML as sent; check its heading."""
    if rendering == "browser":
        # The HTML as sent, for the text (the DOM is not a faithful copy of it).
        response = await goto(page, url)
        return await _arrived(page, response, name=name, heading=heading)
    shown = await read(page, url, rendering="server", name=name)
    _heading(shown, heading)
    return _Sent(shown, shown.html)


async def _arrived(
    page: Page, response: Response | None, *, name: str, heading: str | None
) -> _Sent:
    """The page the browser shows now (after `goto` or a form), with its HTML as sent."""
    html = await response.text() if response is not None else await page.content()
    shown = await rendered(page, name=name)
    _heading(shown, heading)
    return _Sent(shown, html)


def _heading(shown: Snapshot, name: str | None) -> None:
    # The page's own heading (h1, exactly this text): an error or maintenance page has another.
    if name is None:
        return
    wanted = " ".join(name.split())
    headings = LexborHTMLParser(shown.html).css("h1")
    if not any(" ".join((h.text(deep=True) or "").split()) == wanted for h in headings):
        raise UnexpectedPage(
            f"the {shown.name} page has no heading {name!r}: a changed layout or an error page"
        )


def _refused(answer: Snapshot, what: str) -> None:
    if answer.status in _REFUSALS:
        raise Refused(answer.status, f"the case system refused to {what}: {answer.alert()}")


def _status(shown: Snapshot) -> str:
    # Statuses are machine codes in data-status; the visible text is Danish prose.
    if not shown.has("status"):
        raise UnexpectedPage(
            f"the {shown.name} page has no status: a changed layout or an error page"
        )
    codes = shown.data("status", "status")
    if len(codes) != 1 or codes[0] not in PERMIT_STATUSES:
        raise UnexpectedPage(
            f"the {shown.name} page shows a status the robot does not know: {codes}"
        )
    return codes[0]


class ParkingInboxPage:
    """The list of permit applications, a page at a time."""

    def __init__(self, page: Page, base_url: str, rendering: Rendering = "browser") -> None:
        self.page = page
        self.base_url = base_url
        self.rendering = rendering
        self.sent: _Sent | None = None

    async def open(self, *, status: str = "open", cpr: str | None = None) -> ParkingInboxPage:
        """Open the first page, filtered by status and optionally by applicant CPR."""
        query = {"status": status} | ({"cpr": cpr} if cpr else {})
        await self._read(f"{self.base_url}/parkering?{urlencode(query)}")
        return self

    async def _read(self, url: str) -> None:
        self.sent = await _read(
            self.page,
            url,
            rendering=self.rendering,
            name="parking inbox",
            heading="Indbakke – beboerparkering",
        )

    def _shown(self) -> _Sent:
        if self.sent is None:
            raise RuntimeError("open the parking inbox first")
        return self.sent

    async def rows(self) -> list[tuple[str, str]]:
        """(case id, status) of the applications on this page; none only when the page says so."""
        sent = self._shown()
        shown = sent.shown
        if not shown.one_of(
            found=shown.has_table("Ansøgninger"), empty=shown.has("no-applications")
        ):
            return []
        ids = sent.all("row-case-id")
        statuses = shown.data("row-status", "status")
        if len(ids) != len(statuses) or not set(statuses) <= PERMIT_STATUSES:
            raise UnexpectedPage("the parking inbox has rows without a case id or known status")
        return list(zip(ids, statuses, strict=True))

    async def next_page(self) -> ParkingInboxPage | None:
        """Go to the next page, or None on the last one."""
        url = self._shown().shown.link("Næste side")
        if url is None:
            return None
        await self._read(url)
        return self


class ApplicationPage:
    """One permit application and what a caseworker can do with it."""

    def __init__(self, page: Page, base_url: str, rendering: Rendering = "browser") -> None:
        self.page = page
        self.base_url = base_url
        self.rendering = rendering
        self.case_id = ""
        self.url = ""
        self.sent: _Sent | None = None
        self._in_browser = False
        """True when the browser shows this application as last read (forms act on it)."""

    async def open(self, case_id: str) -> ApplicationPage:
        """Read an application by its case id; a page that is not that case is a fault."""
        self.case_id = case_id
        self.url = f"{self.base_url}/parkering/{_path(case_id)}"
        self.sent = await _read(
            self.page,
            self.url,
            rendering=self.rendering,
            name="application",
            heading=self._title,
        )
        self._in_browser = self.rendering == "browser"
        return self

    @property
    def _title(self) -> str:
        return f"Ansøgning {self.case_id}"

    async def _arrived(self, response: Response | None) -> None:
        self.sent = await _arrived(self.page, response, name="application", heading=self._title)
        self._in_browser = True

    async def show(self) -> ApplicationPage:
        """The application in the browser, to act on it (or to take a screenshot of it)."""
        if self.sent is None:
            raise RuntimeError("open the application first")
        if not self._in_browser:
            await self._arrived(await goto(self.page, self.url))
        return self

    async def read(self) -> ApplicationRead:
        """Every field as sent, the status, and the outcome's reason, note or permit id."""
        if self.sent is None:
            raise RuntimeError("open the application first")
        sent = self.sent
        status = _status(sent.shown)
        values: dict[str, str | None] = {f: sent.one(_testid(f)) for f in _APPLICATION_FIELDS}
        if status == "rejected":
            values["reason"] = sent.one("rejection-reason")
        elif status == "manual":
            values["note"] = sent.one("manual-note")
        elif status == "issued":
            values["permit_id"] = sent.one("permit-id")
        return ApplicationRead.model_validate(values | {"status": status})

    async def mark_in_progress(self) -> None:
        """Mark the application as being handled."""
        await self._send({}, "Markér som under behandling", "mark the application in progress")

    async def reject(self, reason: str) -> None:
        """Reject the application with a reason."""
        await self._send({"Begrundelse": reason}, "Afvis ansøgning", "reject the application")

    async def close_manual(self, note: str) -> None:
        """Send the application to manual handling with a note."""
        await self._send(
            {"Notat": note},
            "Send til manuel behandling",
            "send the application to manual handling",
        )

    async def _send(self, fields: dict[str, str], button: str, what: str) -> None:
        # The form of the application as last read (and, in the browser, as shown).
        if self.sent is None:
            raise RuntimeError("open the application first")
        if self.rendering == "browser":
            await self.show()
        answer = await send_form(
            self.page,
            self.sent.shown,
            fields=fields,
            button=button,
            rendering=self.rendering,
            expect=_REFUSALS,
        )
        _refused(answer, what)
        _heading(answer, self._title)
        self.sent = _Sent(answer, answer.sent)
        self._in_browser = self.rendering == "browser"


class VehicleRegisterPage:
    """The vehicle register: look a vehicle up by its plate."""

    def __init__(self, page: Page, base_url: str, rendering: Rendering = "browser") -> None:
        self.page = page
        self.base_url = base_url
        self.rendering = rendering

    async def look_up(self, plate: str) -> VehicleRead | None:
        """The vehicle; None only when the register's page says it has no such vehicle."""
        sent = await _read(
            self.page,
            f"{self.base_url}/koeretoejer?{urlencode({'nummerplade': plate})}",
            rendering=self.rendering,
            name="vehicle register",
            heading="Køretøjsregister",
        )
        if not sent.shown.one_of(
            found=sent.has("vehicle-plate"), empty=sent.has("vehicle-not-found")
        ):
            return None
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

    def __init__(self, page: Page, base_url: str, rendering: Rendering = "browser") -> None:
        self.page = page
        self.base_url = base_url
        self.rendering = rendering

    async def permits_for(self, plate: str) -> list[PermitRead]:
        """The permits for a plate; none only when the register's page says so."""
        sent = await _read(
            self.page,
            f"{self.base_url}/tilladelser?{urlencode({'nummerplade': plate})}",
            rendering=self.rendering,
            name="permit register",
            heading="Tilladelsesregister – beboerparkering",
        )
        shown = sent.shown
        if not shown.one_of(found=shown.has_table("Tilladelser"), empty=shown.has("no-permits")):
            return []
        return [_permit(row) for row in sent.rows(_PERMIT_FIELDS)]


class PermitFormPage:
    """The form that issues an application's permit."""

    def __init__(self, page: Page, base_url: str, rendering: Rendering = "browser") -> None:
        self.page = page
        self.base_url = base_url
        self.rendering = rendering
        self.sent: _Sent | None = None

    async def open(self, case_id: str) -> PermitFormPage:
        """Open the empty form of an application."""
        self.sent = await _read(
            self.page,
            f"{self.base_url}/parkering/{_path(case_id)}/tilladelse",
            rendering=self.rendering,
            name="permit form",
            heading="Udsted beboerparkeringstilladelse",
        )
        return self

    async def issue(
        self, *, plate: str, zone: str, valid_from: str, valid_to: str
    ) -> PermitReceiptPage:
        """Fill in and send the form (dates as ISO text); a refusal (409, 422) raises `Refused`."""
        if self.sent is None:
            raise RuntimeError("open the permit form first")
        answer = await send_form(
            self.page,
            self.sent.shown,
            fields={
                "Nummerplade": plate,
                "Zone": zone,
                "Gyldig fra": valid_from,
                "Gyldig til": valid_to,
            },
            button="Udsted tilladelse",
            rendering=self.rendering,
            expect=_REFUSALS,
        )
        _refused(answer, "issue the permit")
        return PermitReceiptPage(self.page, self.base_url, self.rendering).arrived(answer)


class PermitReceiptPage:
    """One permit: the receipt after issuing it."""

    def __init__(self, page: Page, base_url: str, rendering: Rendering = "browser") -> None:
        self.page = page
        self.base_url = base_url
        self.rendering = rendering
        self.sent: _Sent | None = None

    async def open(self, permit_id: str) -> PermitReceiptPage:
        """Read a permit's receipt by its id."""
        self.sent = _receipt(
            await _read(
                self.page,
                f"{self.base_url}/tilladelser/{_path(permit_id)}",
                rendering=self.rendering,
                name="permit receipt",
                heading=None,
            )
        )
        return self

    def arrived(self, answer: Snapshot) -> PermitReceiptPage:
        """The receipt a form led to (after issuing); any other page is a fault."""
        self.sent = _receipt(_Sent(answer, answer.sent))
        return self

    def read(self) -> PermitRead:
        """The permit as the receipt shows it."""
        if self.sent is None:
            raise RuntimeError("open the permit receipt first")
        sent = self.sent
        return _permit({name: sent.one(test_id) for name, test_id in _PERMIT_FIELDS.items()})


def _receipt(sent: _Sent) -> _Sent:
    try:
        _heading(sent.shown, _RECEIPT_HEADING)
    except UnexpectedPage:
        raise SystemFault("the case system did not show a receipt after issuing a permit") from None
    return sent


class PopulationPage:
    """The population register (CPR) and the address register behind it, for one person."""

    def __init__(self, page: Page, base_url: str, rendering: Rendering = "browser") -> None:
        self.page = page
        self.base_url = base_url
        self.rendering = rendering

    async def look_up(self, cpr: str) -> ResidentRead | None:
        """The person, their address and its parking zone; None when CPR says no such person."""
        sent = await _read(
            self.page,
            f"{self.base_url}/cpr?{urlencode({'cpr': cpr})}",
            rendering=self.rendering,
            name="population register",
            heading="CPR-register",
        )
        shown = sent.shown
        if not shown.one_of(found=shown.has("person-cpr"), empty=shown.has("person-not-found")):
            return None
        flags = shown.data("person-address", "address-known")
        protected = shown.data("person-protected", "protected")
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
        sent = await _read(
            self.page,
            f"{self.base_url}/adresseregister/{_path(address_id)}",
            rendering=self.rendering,
            name="address",
            heading=None,
        )
        shown = sent.shown
        if not shown.has("address-id"):
            raise UnexpectedPage(
                "the address page has no address id: a changed layout or an error page"
            )
        if not shown.one_of(found=shown.has("parking-zone"), empty=shown.has("no-parking-zone")):
            return None
        return sent.one("parking-zone")


def _permit(row: dict[str, str]) -> PermitRead:
    # A permit issued outside the case system has no case: its cell is empty.
    return PermitRead.model_validate(row | {"case_id": row["case_id"] or None})
