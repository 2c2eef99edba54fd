"""`playwright-bare`: the robot's work as a plain hand-written Playwright script.

No framework code of this repository: one browser (found and launched with the same
arguments as robots/session.py), one context and page per lane, logged in once per
lane. Per routine case: open the case page and read its fields with locators, search
the address register and open the address, look each mover up in the population
register, search the inbox for the mover's other cases, look the mover up again before
registering, fill in and send the move form, read the receipt, read the register back,
then open the case page and close it. The same page loads as the robot's, so the ratio
robot / playwright-bare is what the robot's layers cost. A case the robot would set
aside (mixed sample only) gets its screenshot and is marked in progress instead.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote, urlencode

from playwright.async_api import Page, async_playwright

from bench.common import Progress, Work, in_lanes
from config.settings import Settings
from robots.session import CHROMIUM_ARGS

_CASE_FIELDS = ("case-id", "received-at", "channel", "reporter-cpr", "move-date", "remarks")
_ADDRESS_PARTS = ("street", "house-number", "floor", "door", "postcode", "city")


async def _text(page: Page, test_id: str) -> str:
    return ((await page.get_by_test_id(test_id).text_content()) or "").strip()


class Script:
    """The hand-written script's steps."""

    def __init__(self, base_url: str, routine: set[str], shots: Path) -> None:
        self.base = base_url.rstrip("/")
        self.routine = routine
        self.shots = shots
        self.pages: list[Page] = []

    async def log_in(self, page: Page, username: str, password: str) -> None:
        await page.goto(f"{self.base}/login")
        await page.get_by_label("Brugernavn").fill(username)
        await page.get_by_label("Adgangskode").fill(password)
        async with page.expect_navigation():
            await page.get_by_role("button", name="Log ind").click()
        if page.url.endswith("/login"):
            raise RuntimeError("the case system refused the login")

    async def handle(self, lane: int, case_id: str) -> str:
        page = self.pages[lane]
        case_url = f"{self.base}/sager/{quote(case_id)}"
        await page.goto(case_url)
        fields = {name: await _text(page, name) for name in _CASE_FIELDS}
        status = await page.get_by_test_id("status").get_attribute("data-status")
        if status != "open":
            return "skipped"
        cprs = await page.get_by_test_id("mover-cpr").all_text_contents()
        await page.get_by_test_id("mover-name").all_text_contents()
        address = {}
        if not await page.get_by_test_id("new-address-missing").count():
            for which in ("old-address", "new-address"):
                for part in _ADDRESS_PARTS:
                    address[f"{which}-{part}"] = await _text(page, f"{which}-{part}")
        cprs = [c.strip() for c in cprs]
        address_ids: list[str] = []
        if cprs and address:
            query = {
                "vejnavn": address["new-address-street"],
                "husnr": address["new-address-house-number"],
                "etage": address["new-address-floor"],
                "doer": address["new-address-door"],
                "postnr": address["new-address-postcode"],
            }
            await page.goto(f"{self.base}/adresseregister?{urlencode(query)}")
            address_ids = [
                a.strip() for a in await page.get_by_test_id("address-id").all_text_contents()
            ]
            if len(address_ids) == 1:
                await page.goto(f"{self.base}/adresseregister/{quote(address_ids[0])}")
                await _text(page, "address-id")
                await page.get_by_test_id("unit-type").get_attribute("data-unit-type")
                await page.get_by_test_id("resident-cpr").all_text_contents()
            for cpr in cprs:
                await page.goto(f"{self.base}/cpr?{urlencode({'cpr': cpr})}")
                await page.get_by_test_id("person-cpr").all_text_contents()
                await page.get_by_test_id("person-address-id").all_text_contents()
            for cpr in cprs:
                await page.goto(f"{self.base}/sager?{urlencode({'status': 'alle', 'cpr': cpr})}")
                await page.get_by_test_id("row-case-id").all_text_contents()
        if case_id not in self.routine or len(address_ids) != 1:
            await page.goto(case_url)
            await page.screenshot(path=self.shots / f"{case_id}.png", full_page=True)
            await page.goto(case_url)
            async with page.expect_navigation():
                await page.get_by_role("button", name="Markér som under behandling").click()
            return "set_aside"
        registrations = []
        for cpr in cprs:
            await page.goto(f"{self.base}/cpr?{urlencode({'cpr': cpr})}")
            done = await page.get_by_test_id("registration-case-id").all_text_contents()
            if case_id in [d.strip() for d in done]:
                raise RuntimeError("already registered")
            await page.goto(f"{self.base}/cpr/flytning")
            await page.get_by_label("CPR-nummer").fill(cpr)
            await page.get_by_label("Ny adresse-id").fill(address_ids[0])
            await page.get_by_label("Flyttedato").fill(fields["move-date"])
            await page.get_by_label("Sagsnummer").fill(case_id)
            async with page.expect_navigation():
                await page.get_by_role("button", name="Registrér flytning").click()
            registrations.append(await _text(page, "registration-id"))
            await page.goto(f"{self.base}/cpr?{urlencode({'cpr': cpr})}")
            if await _text(page, "person-address-id") != address_ids[0]:
                raise RuntimeError("the registration is not visible in the population register")
        await page.goto(case_url)
        await page.get_by_role("combobox", name="Udfald").select_option("registered")
        note = f"Flytning registreret af robot ({', '.join(registrations)})."
        await page.get_by_role("textbox", name="Notat", exact=True).fill(note)
        async with page.expect_navigation():
            await page.get_by_role("button", name="Afslut sag").click()
        return "registered"


async def playwright_bare(
    settings: Settings,
    executable: Path | None,
    base_url: str,
    case_ids: list[str],
    routine: set[str],
    lanes: int,
    progress: Progress,
    shots: Path,
    before_close: Callable[[], None] | None = None,
) -> Work:
    """Every case through `lanes` pages of one browser."""
    work = Work()
    shots.mkdir(parents=True, exist_ok=True)
    script = Script(base_url, routine, shots)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=executable,
            headless=settings.browser.headless,
            args=list(CHROMIUM_ARGS),
        )
        try:
            for _ in range(lanes):
                context = await browser.new_context(locale="da-DK", timezone_id="Europe/Copenhagen")
                context.set_default_timeout(settings.browser.timeout_ms)
                page = await context.new_page()
                await script.log_in(
                    page, settings.target.username, settings.target.password.get_secret_value()
                )
                script.pages.append(page)
            await in_lanes(case_ids, lanes, work, progress, script.handle)
            if before_close is not None:
                before_close()
        finally:
            await browser.close()
    return work
