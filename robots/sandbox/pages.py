"""Page objects for the sandbox case system and its two registers (docs/sandbox-ui.md)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import urlencode

from playwright.async_api import Page

from checkpoints.text import strip_white as _strip
from robots.errors import BusinessError, SystemFault, UnexpectedPage
from robots.reading import Rendering, Snapshot, read, rendered
from robots.sandbox.html_text import text_by_test_id, texts_by_test_id
from robots.sandbox.models import Address, Person, RegisterAddress, Registration, RelatedCase
from robots.sandbox.navigation import goto, send_form

# The statuses with which the case system refuses a form for a business reason (a
# conflict, invalid values); every other error status is a fault (fail closed).
_REFUSALS = (409, 422)
ADDRESS_PARTS = ("street", "house_number", "floor", "door", "postcode", "city")
_OPTIONAL_PARTS = {"floor", "door"}


def _testid(field: str) -> str:
    return field.replace("_", "-")


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

    def __init__(self, page: Page, base_url: str, rendering: Rendering = "browser") -> None:
        self.page = page
        self.base_url = base_url
        self.rendering = rendering
        self.snapshot: Snapshot | None = None

    async def open(self, *, status: str = "open", cpr: str | None = None) -> InboxPage:
        """Open the first page of the inbox, filtered by status and optionally by CPR."""
        query = {"status": status} | ({"cpr": cpr} if cpr else {})
        await self._read(f"{self.base_url}/sager?{urlencode(query)}")
        return self

    async def _read(self, url: str) -> None:
        self.snapshot = await read(self.page, url, rendering=self.rendering, name="inbox")

    def _shown(self) -> Snapshot:
        if self.snapshot is None:
            raise RuntimeError("open the inbox first")
        return self.snapshot

    def _has_rows(self) -> bool:
        # "No cases" must be said by the page; an error page is not an empty inbox.
        shown = self._shown()
        return shown.one_of(found=shown.has_table("Sager"), empty=shown.has("no-cases"))

    async def rows(self) -> list[InboxRow]:
        """The cases on this page."""
        if not self._has_rows():
            return []
        shown = self._shown()
        ids, statuses = shown.texts("row-case-id"), shown.data("row-status", "status")
        return [InboxRow(c, s) for c, s in zip(ids, statuses, strict=True)]

    async def related_cases(self) -> list[RelatedCase]:
        """The cases on this page with their dates (for duplicate checks)."""
        if not self._has_rows():
            return []
        shown = self._shown()
        columns = (
            shown.texts("row-case-id"),
            shown.data("row-status", "status"),
            shown.texts("row-received-at"),
            shown.texts("row-handled-at"),
        )
        return [
            RelatedCase.model_validate(
                {"case_id": c, "status": s, "received_at": r or None, "handled_at": h or None}
            )
            for c, s, r, h in zip(*columns, strict=True)
        ]

    async def next_page(self) -> InboxPage | None:
        """Go to the next page, or None on the last one."""
        url = self._shown().link("Næste side")
        if url is None:
            return None
        await self._read(url)
        return self


class CasePage:
    """One notification in the case system."""

    def __init__(self, page: Page, base_url: str, rendering: Rendering = "browser") -> None:
        self.page = page
        self.base_url = base_url
        self.rendering = rendering
        self.html = ""
        self.url = ""
        self.snapshot: Snapshot | None = None

    async def open(self, case_id: str) -> CasePage:
        """Read a case by its id; a page that is not that case is a system fault."""
        self.url = f"{self.base_url}/sager/{case_id}"
        if self.rendering == "browser":
            # The HTML as sent, for the remarks (the DOM is not a faithful copy of them).
            response = await goto(self.page, self.url)
            self.html = await response.text() if response else await self.page.content()
            self.snapshot = await rendered(self.page, name="case")
        else:
            self.snapshot = await read(self.page, self.url, rendering="server", name="case")
            self.html = self.snapshot.html
        if not self.snapshot.has("status"):
            raise UnexpectedPage(
                "the case page has no case status: a changed layout or an error page"
            )
        return self

    async def show(self) -> CasePage:
        """The case in the browser, to act on it (or to take a screenshot of it)."""
        if self.rendering == "server":
            await goto(self.page, self.url)
            self.snapshot = await rendered(self.page, name="case")
            if not self.snapshot.has("status"):
                raise UnexpectedPage("the case page has no case status: a changed layout")
        return self

    async def status(self) -> str:
        """The case's status code."""
        if self.snapshot is None:
            raise RuntimeError("open the case first")
        return self.snapshot.data("status", "status")[0]

    async def read(self) -> dict[str, Any]:
        """Every field of the notification as raw text, in the data contract's shape.

        Read from the HTML as sent, not the DOM: the browser's parser drops NUL and folds
        CR LF, and a field must reach the rules with every character the system holds
        (`2026-11-15\\x00` is not a date). Remarks are kept exactly as written; other
        fields lose their surrounding Unicode white space only.
        """
        if self.snapshot is None or not self.snapshot.has("remarks"):
            raise UnexpectedPage(
                "the case page has no remarks field: a changed layout or an error page"
            )
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
        answer = await send_form(
            self.page,
            self._read_first(),
            fields={},
            button="Markér som under behandling",
            rendering=self.rendering,
            expect=_REFUSALS,
        )
        if answer.status >= 400:
            raise BusinessError(f"could not mark the case in progress: {answer.alert()}")

    async def close(self, outcome: str, note: str) -> None:
        """Close the case with an outcome and a note."""
        answer = await send_form(
            self.page,
            self._read_first(),
            fields={"Udfald": outcome, "Notat": note},
            button="Afslut sag",
            rendering=self.rendering,
            expect=_REFUSALS,
        )
        if answer.status >= 400:
            raise BusinessError(f"could not close the case: {answer.alert()}")

    def _read_first(self) -> Snapshot:
        if self.snapshot is None:
            raise RuntimeError("open the case first")
        return self.snapshot


class AddressRegisterPage:
    """The address register: search and one address with its residents."""

    def __init__(self, page: Page, base_url: str, rendering: Rendering = "browser") -> None:
        self.page = page
        self.base_url = base_url
        self.rendering = rendering

    async def search(self, address: Address) -> list[str]:
        """The ids of register addresses matching a notification's address."""
        query = {
            "vejnavn": address.street,
            "husnr": address.house_number,
            "etage": address.floor or "",
            "doer": address.door or "",
            "postnr": address.postcode,
        }
        shown = await read(
            self.page,
            f"{self.base_url}/adresseregister?{urlencode(query)}",
            rendering=self.rendering,
            name="address search",
        )
        if not shown.one_of(found=shown.has_table("Adresser"), empty=shown.has("no-addresses")):
            return []
        return shown.texts("address-id")

    async def open(self, address_id: str) -> tuple[RegisterAddress, list[Person]]:
        """One address and the people registered there."""
        shown = await read(
            self.page,
            f"{self.base_url}/adresseregister/{address_id}",
            rendering=self.rendering,
            name="address",
        )
        values = {part: shown.text(_testid(part)) for part in ADDRESS_PARTS}
        address = RegisterAddress(
            address_id=shown.text("address-id"),
            street=values["street"],
            house_number=values["house_number"],
            floor=values["floor"] or None,
            door=values["door"] or None,
            postcode=values["postcode"],
            city=values["city"],
            municipality_code=shown.text("municipality-code"),
            unit_type=_first(shown.data("unit-type", "unit-type"), "unit type", shown),
        )
        columns = (
            shown.texts("resident-cpr"),
            shown.texts("resident-name"),
            shown.data("resident-protected", "protected"),
        )
        residents = [
            Person(cpr=c, name=n, address_id=address_id, protected_address=p == "true")
            for c, n, p in zip(*columns, strict=True)
        ]
        return address, residents


class PopulationRegisterPage:
    """The population register (CPR): look up a person and their registered moves."""

    def __init__(self, page: Page, base_url: str, rendering: Rendering = "browser") -> None:
        self.page = page
        self.base_url = base_url
        self.rendering = rendering

    async def look_up(self, cpr: str) -> tuple[Person | None, list[Registration]]:
        """The person with this CPR number (None if unknown) and their registrations."""
        shown = await read(
            self.page,
            f"{self.base_url}/cpr?{urlencode({'cpr': cpr})}",
            rendering=self.rendering,
            name="population register",
        )
        if not shown.one_of(found=shown.has("person-cpr"), empty=shown.has("person-not-found")):
            return None, []
        person = Person(
            cpr=shown.text("person-cpr"),
            name=shown.text("person-name"),
            address_id=shown.text("person-address-id") or None,
            protected_address=_first(shown.data("person-protected", "protected"), "flag", shown)
            == "true",
        )
        columns = [
            shown.texts(name)
            for name in (
                "registration-id",
                "registration-case-id",
                "registration-address-id",
                "registration-move-date",
            )
        ]
        registrations = [
            Registration(
                registration_id=rid,
                case_id=case,
                cpr=person.cpr,
                address_id=addr,
                move_date=_date(moved, shown),
            )
            for rid, case, addr, moved in zip(*columns, strict=True)
        ]
        return person, registrations


class MoveFormPage:
    """The form that registers one person's move."""

    def __init__(self, page: Page, base_url: str, rendering: Rendering = "browser") -> None:
        self.page = page
        self.base_url = base_url
        self.rendering = rendering
        self.snapshot: Snapshot | None = None

    async def open(self) -> MoveFormPage:
        """Open an empty move form."""
        self.snapshot = await read(
            self.page, f"{self.base_url}/cpr/flytning", rendering=self.rendering, name="move form"
        )
        if not self.snapshot.has_heading("Registrér flytning"):
            raise UnexpectedPage("the move form page is not the move form: a changed layout")
        return self

    async def register(
        self, *, cpr: str, address_id: str, move_date: date, case_id: str
    ) -> ReceiptPage:
        """Fill in and send the form; a refusal by the register is a business error."""
        if self.snapshot is None:
            raise RuntimeError("open the move form first")
        answer = await send_form(
            self.page,
            self.snapshot,
            fields={
                "CPR-nummer": cpr,
                "Ny adresse-id": address_id,
                "Flyttedato": move_date.isoformat(),
                "Sagsnummer": case_id,
            },
            button="Registrér flytning",
            rendering=self.rendering,
            expect=_REFUSALS,
        )
        if answer.status == 409:
            raise AlreadyRegistered(f"the population register refused: {answer.alert()}")
        if answer.status >= 400:
            raise BusinessError(f"the population register refused the move: {answer.alert()}")
        return ReceiptPage(answer)


class ReceiptPage:
    """The receipt shown after a registered move."""

    def __init__(self, shown: Snapshot) -> None:
        self.shown = shown

    async def read(self) -> Registration:
        """The registration as the register reports it."""
        shown = self.shown
        if not shown.has_heading("Kvittering for flytning"):
            raise SystemFault("the register did not show a receipt after registering a move")
        shown.name = "receipt"
        return Registration(
            registration_id=shown.text("registration-id"),
            case_id=shown.text("registration-case-id"),
            cpr=shown.text("registration-cpr"),
            address_id=shown.text("registration-address-id"),
            move_date=_date(shown.text("registration-move-date"), shown),
        )


def _first(values: list[str], what: str, shown: Snapshot) -> str:
    if not values:
        raise UnexpectedPage(f"the {shown.name} page has no {what}: a changed layout")
    return values[0]


def _date(text: str, shown: Snapshot) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UnexpectedPage(f"the {shown.name} page shows a date that is not one") from None
