"""Page objects for the sandbox case system and its two registers (docs/sandbox-ui.md)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import urlencode

from playwright.async_api import Locator, Page

from checkpoints.text import strip_white as _strip
from robots.errors import BusinessError, SystemFault, UnexpectedPage
from robots.sandbox.html_text import text_by_test_id, texts_by_test_id
from robots.sandbox.models import Address, Person, RegisterAddress, Registration, RelatedCase
from robots.sandbox.navigation import goto, require, require_one_of, submit

# The statuses with which the case system refuses a form for a business reason (a
# conflict, invalid values); every other error status is a fault (fail closed).
_REFUSALS = (409, 422)
ADDRESS_PARTS = ("street", "house_number", "floor", "door", "postcode", "city")
_OPTIONAL_PARTS = {"floor", "door"}


def _testid(field: str) -> str:
    return field.replace("_", "-")


async def _text(locator: Locator) -> str:
    return ((await locator.text_content()) or "").strip()


async def _alert(page: Page) -> str:
    alert = page.get_by_role("alert")
    return await _text(alert.first) if await alert.count() else ""


class AlreadyRegistered(BusinessError):
    """The register refused a move as a conflict (it may be this very case's, made just now)."""

    code = "business.conflict"


@dataclass(frozen=True)
class InboxRow:
    """One line of the inbox."""

    case_id: str
    status: str


class InboxPage:
    """The list of change-of-address notifications, a page at a time."""

    def __init__(self, page: Page, base_url: str) -> None:
        self.page = page
        self.base_url = base_url
        self.table = page.get_by_role("table", name="Sager")
        self.no_cases = page.get_by_test_id("no-cases")
        self.next_link = page.get_by_role("link", name="Næste side")

    async def open(self, *, status: str = "open", cpr: str | None = None) -> InboxPage:
        """Open the first page of the inbox, filtered by status and optionally by CPR."""
        query = {"status": status} | ({"cpr": cpr} if cpr else {})
        await goto(self.page, f"{self.base_url}/sager?{urlencode(query)}")
        return self

    async def _has_rows(self) -> bool:
        # "No cases" must be said by the page; an error page is not an empty inbox.
        return await require_one_of(self.page, name="inbox", found=self.table, empty=self.no_cases)

    async def rows(self) -> list[InboxRow]:
        """The cases on this page."""
        if not await self._has_rows():
            return []
        ids = await self.page.get_by_test_id("row-case-id").all_text_contents()
        statuses = await _data_attribute(self.page.get_by_test_id("row-status"), "status")
        return [InboxRow(c.strip(), s) for c, s in zip(ids, statuses, strict=True)]

    async def related_cases(self) -> list[RelatedCase]:
        """The cases on this page with their dates (for duplicate checks)."""
        if not await self._has_rows():
            return []
        ids = await self.page.get_by_test_id("row-case-id").all_text_contents()
        statuses = await _data_attribute(self.page.get_by_test_id("row-status"), "status")
        received = await self.page.get_by_test_id("row-received-at").all_text_contents()
        handled = await self.page.get_by_test_id("row-handled-at").all_text_contents()
        return [
            RelatedCase.model_validate(
                {
                    "case_id": c.strip(),
                    "status": s,
                    "received_at": r.strip() or None,
                    "handled_at": h.strip() or None,
                }
            )
            for c, s, r, h in zip(ids, statuses, received, handled, strict=True)
        ]

    async def next_page(self) -> InboxPage | None:
        """Go to the next page, or None on the last one."""
        if not await self.next_link.count():
            return None
        await submit(self.page, self.next_link)
        return self


class CasePage:
    """One notification in the case system."""

    def __init__(self, page: Page, base_url: str) -> None:
        self.page = page
        self.base_url = base_url
        self.movers_table = page.get_by_role("table", name="Flyttere")
        self.in_progress_button = page.get_by_role("button", name="Markér som under behandling")
        self.outcome = page.get_by_role("combobox", name="Udfald")
        self.note = page.get_by_role("textbox", name="Notat", exact=True)
        self.close_button = page.get_by_role("button", name="Afslut sag")
        self.html = ""

    async def open(self, case_id: str) -> CasePage:
        """Open a case by its id; a page that is not that case is a system fault."""
        response = await goto(self.page, f"{self.base_url}/sager/{case_id}")
        await require(self.page.get_by_test_id("status"), page="case", what="case status")
        self.html = await response.text() if response is not None else await self.page.content()
        return self

    async def status(self) -> str:
        """The case's status code."""
        status = self.page.get_by_test_id("status")
        await require(status, page="case", what="case status")
        return (await _data_attribute(status, "status"))[0]

    async def read(self) -> dict[str, Any]:
        """Every field of the notification as raw text, in the data contract's shape.

        Read from the HTML as sent, not the DOM: the browser's parser drops NUL and folds
        CR LF, and a field must reach the rules with every character the system holds
        (`2026-11-15\\x00` is not a date). Remarks are kept exactly as written; other
        fields lose their surrounding Unicode white space only.
        """
        await require(self.page.get_by_test_id("remarks"), page="case", what="remarks field")
        raw: dict[str, Any] = {
            name: _strip(self._one(_testid(name)))
            for name in ("case_id", "received_at", "channel", "reporter_cpr", "move_date")
        }
        raw["remarks"] = self._one("remarks")
        for which in ("old_address", "new_address"):
            raw[which] = self._read_address(which)
        cprs, names = self._all("mover-cpr"), self._all("mover-name")
        if len(cprs) != len(names):
            raise UnexpectedPage("the case page's movers table has rows without a CPR or name")
        raw["movers"] = [
            {"cpr": _strip(c), "name": _strip(n)} for c, n in zip(cprs, names, strict=True)
        ]
        return raw

    def _one(self, test_id: str) -> str:
        try:
            value = text_by_test_id(self.html, test_id)
        except ValueError as exc:
            raise UnexpectedPage(f"the case page's {test_id} field is ambiguous: {exc}") from exc
        if value is None:
            raise UnexpectedPage(f"the case page as sent has no {test_id} field")
        return value

    def _all(self, test_id: str) -> list[str]:
        return texts_by_test_id(self.html, test_id)

    def _read_address(self, which: str) -> dict[str, str | None] | None:
        prefix = _testid(which)
        if self._all(f"{prefix}-missing"):
            return None
        address: dict[str, str | None] = {}
        for part in ADDRESS_PARTS:
            value = _strip(self._one(f"{prefix}-{_testid(part)}"))
            address[part] = (value or None) if part in _OPTIONAL_PARTS else value
        return address

    async def mark_in_progress(self) -> None:
        """Mark the case as being handled (by a human)."""
        response = await submit(self.page, self.in_progress_button, expect=_REFUSALS)
        if response is not None and response.status >= 400:
            raise BusinessError(f"could not mark the case in progress: {await _alert(self.page)}")

    async def close(self, outcome: str, note: str) -> None:
        """Close the case with an outcome and a note."""
        await self.outcome.select_option(outcome)
        await self.note.fill(note)
        response = await submit(self.page, self.close_button, expect=_REFUSALS)
        if response is not None and response.status >= 400:
            raise BusinessError(f"could not close the case: {await _alert(self.page)}")


class AddressRegisterPage:
    """The address register: search and one address with its residents."""

    def __init__(self, page: Page, base_url: str) -> None:
        self.page = page
        self.base_url = base_url

    async def search(self, address: Address) -> list[str]:
        """The ids of register addresses matching a notification's address."""
        query = {
            "vejnavn": address.street,
            "husnr": address.house_number,
            "etage": address.floor or "",
            "doer": address.door or "",
            "postnr": address.postcode,
        }
        await goto(self.page, f"{self.base_url}/adresseregister?{urlencode(query)}")
        found = await require_one_of(
            self.page,
            name="address search",
            found=self.page.get_by_role("table", name="Adresser"),
            empty=self.page.get_by_test_id("no-addresses"),
        )
        if not found:
            return []
        return [
            text.strip()
            for text in await self.page.get_by_test_id("address-id").all_text_contents()
        ]

    async def open(self, address_id: str) -> tuple[RegisterAddress, list[Person]]:
        """One address and the people registered there."""
        await goto(self.page, f"{self.base_url}/adresseregister/{address_id}")
        field = self.page.get_by_test_id
        await require(field("address-id"), page="address", what="address id")
        values = {part: await _text(field(_testid(part))) for part in ADDRESS_PARTS}
        address = RegisterAddress(
            address_id=await _text(field("address-id")),
            street=values["street"],
            house_number=values["house_number"],
            floor=values["floor"] or None,
            door=values["door"] or None,
            postcode=values["postcode"],
            city=values["city"],
            municipality_code=await _text(field("municipality-code")),
            unit_type=(await _data_attribute(field("unit-type"), "unitType"))[0],
        )
        cprs = await field("resident-cpr").all_text_contents()
        names = await field("resident-name").all_text_contents()
        protected = await _data_attribute(field("resident-protected"), "protected")
        residents = [
            Person(
                cpr=c.strip(), name=n.strip(), address_id=address_id, protected_address=p == "true"
            )
            for c, n, p in zip(cprs, names, protected, strict=True)
        ]
        return address, residents


class PopulationRegisterPage:
    """The population register (CPR): look up a person and their registered moves."""

    def __init__(self, page: Page, base_url: str) -> None:
        self.page = page
        self.base_url = base_url

    async def look_up(self, cpr: str) -> tuple[Person | None, list[Registration]]:
        """The person with this CPR number (None if unknown) and their registrations."""
        await goto(self.page, f"{self.base_url}/cpr?{urlencode({'cpr': cpr})}")
        field = self.page.get_by_test_id
        found = await require_one_of(
            self.page,
            name="population register",
            found=field("person-cpr"),
            empty=field("person-not-found"),
        )
        if not found:
            return None, []
        person = Person(
            cpr=await _text(field("person-cpr")),
            name=await _text(field("person-name")),
            address_id=await _text(field("person-address-id")) or None,
            protected_address=(await _data_attribute(field("person-protected"), "protected"))[0]
            == "true",
        )
        columns = [
            await field(name).all_text_contents()
            for name in (
                "registration-id",
                "registration-case-id",
                "registration-address-id",
                "registration-move-date",
            )
        ]
        registrations = [
            Registration(
                registration_id=rid.strip(),
                case_id=case.strip(),
                cpr=person.cpr,
                address_id=addr.strip(),
                move_date=date.fromisoformat(moved.strip()),
            )
            for rid, case, addr, moved in zip(*columns, strict=True)
        ]
        return person, registrations


class MoveFormPage:
    """The form that registers one person's move."""

    def __init__(self, page: Page, base_url: str) -> None:
        self.page = page
        self.base_url = base_url
        self.cpr = page.get_by_label("CPR-nummer")
        self.address_id = page.get_by_label("Ny adresse-id")
        self.move_date = page.get_by_label("Flyttedato")
        self.case_id = page.get_by_label("Sagsnummer")
        self.submit_button = page.get_by_role("button", name="Registrér flytning")

    async def open(self) -> MoveFormPage:
        """Open an empty move form."""
        await goto(self.page, f"{self.base_url}/cpr/flytning")
        await require(self.submit_button, page="move form", what="'Registrér flytning' button")
        return self

    async def register(
        self, *, cpr: str, address_id: str, move_date: date, case_id: str
    ) -> ReceiptPage:
        """Fill in and send the form; a refusal by the register is a business error."""
        await self.cpr.fill(cpr)
        await self.address_id.fill(address_id)
        await self.move_date.fill(move_date.isoformat())
        await self.case_id.fill(case_id)
        response = await submit(self.page, self.submit_button, expect=_REFUSALS)
        if response is not None and response.status == 409:
            raise AlreadyRegistered(f"the population register refused: {await _alert(self.page)}")
        if response is not None and response.status >= 400:
            raise BusinessError(
                f"the population register refused the move: {await _alert(self.page)}"
            )
        return ReceiptPage(self.page)


class ReceiptPage:
    """The receipt shown after a registered move."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.heading = page.get_by_role("heading", name="Kvittering for flytning")

    async def read(self) -> Registration:
        """The registration as the register reports it."""
        if not await self.heading.count():
            raise SystemFault("the register did not show a receipt after registering a move")
        field = self.page.get_by_test_id
        return Registration(
            registration_id=await _text(field("registration-id")),
            case_id=await _text(field("registration-case-id")),
            cpr=await _text(field("registration-cpr")),
            address_id=await _text(field("registration-address-id")),
            move_date=date.fromisoformat(await _text(field("registration-move-date"))),
        )


async def _data_attribute(locator: Locator, name: str) -> list[str]:
    # Status and flags are machine codes in data-* attributes: the visible text is
    # Danish prose that may change, the codes may not.
    values: list[str] = await locator.evaluate_all(
        "(els, name) => els.map(e => e.dataset[name] ?? '')", name
    )
    return values
