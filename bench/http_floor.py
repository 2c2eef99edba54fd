"""`http-floor`: the HTTP requests the robot causes for a case, made with httpx, no browser.

The case system's own limit. Per routine case, in the robot's order (flows/change_of_address/
robot.py and the page objects of robots/sandbox/pages.py): the case page, the address
search and the address record, the population register and the related-cases search
per mover, then per mover the register look-up before registering, the move form, its
POST (303 to the receipt), the read-back; then the case page and the close form's POST
(303 to the case page). A case the robot would set aside (only in the mixed sample) gets
the robot's set-aside requests instead: the case page twice and the in-progress POST.
Redirects are followed, as a browser does. Every lane shares one client and one login.
"""

from __future__ import annotations

from urllib.parse import quote

import httpx
from selectolax.lexbor import LexborHTMLParser as HTMLParser

from bench.common import Progress, Work, in_lanes
from config.settings import Settings

ADDRESS_PARTS = ("street", "house-number", "floor", "door", "postcode", "city")


def _texts(page: HTMLParser, test_id: str) -> list[str]:
    return [node.text().strip() for node in page.css(f'[data-testid="{test_id}"]')]


def _text(page: HTMLParser, test_id: str) -> str:
    found = _texts(page, test_id)
    return found[0] if found else ""


class Floor:
    """One client, logged in once, working cases by plain HTTP."""

    def __init__(self, client: httpx.AsyncClient, routine: set[str]) -> None:
        self.client = client
        self.routine = routine
        self.requests = 0

    async def get(self, url: str, **params: str) -> HTMLParser:
        response = await self.client.get(url, params=params or None)
        return self._page(response)

    async def post(self, url: str, data: dict[str, str]) -> HTMLParser:
        response = await self.client.post(url, data=data)
        return self._page(response)

    def _page(self, response: httpx.Response) -> HTMLParser:
        self.requests += 1 + len(response.history)
        if response.status_code != 200:
            raise RuntimeError(f"{response.request.url.path} answered {response.status_code}")
        if response.url.path == "/login":
            raise RuntimeError("the case system logged the client out")
        return HTMLParser(response.text)

    async def log_in(self, username: str, password: str) -> None:
        await self.post("/login", {"username": username, "password": password, "next": "/sager"})

    async def handle(self, lane: int, case_id: str) -> str:
        path = f"/sager/{quote(case_id)}"
        case = await self.get(path)
        movers = _texts(case, "mover-cpr")
        new = {part: _text(case, f"new-address-{part}") for part in ADDRESS_PARTS}
        missing = bool(case.css('[data-testid="new-address-missing"]'))
        address_ids: list[str] = []
        if movers and not missing:
            search = await self.get(
                "/adresseregister",
                vejnavn=new["street"],
                husnr=new["house-number"],
                etage=new["floor"],
                doer=new["door"],
                postnr=new["postcode"],
            )
            address_ids = _texts(search, "address-id")
            if len(address_ids) == 1:
                await self.get(f"/adresseregister/{quote(address_ids[0])}")
            for cpr in movers:
                await self.get("/cpr", cpr=cpr)
            for cpr in movers:
                await self.get("/sager", status="alle", cpr=cpr)
        if case_id not in self.routine or len(address_ids) != 1:
            await self.get(path)  # the page a person is shown (the robot screenshots it)
            await self.get(path)
            await self.post(f"{path}/under-behandling", {})
            return "set_aside"
        move_date = _text(case, "move-date")
        registrations = []
        for cpr in movers:
            before = await self.get("/cpr", cpr=cpr)
            if case_id in _texts(before, "registration-case-id"):
                raise RuntimeError("already registered before the floor registered it")
            await self.get("/cpr/flytning")
            form = {
                "cpr": cpr,
                "address_id": address_ids[0],
                "move_date": move_date,
                "case_id": case_id,
            }
            receipt = await self.post("/cpr/flytning", form)
            registrations.append(_text(receipt, "registration-id"))
            after = await self.get("/cpr", cpr=cpr)
            if _text(after, "person-address-id") != address_ids[0]:
                raise RuntimeError("the registration is not visible in the population register")
        await self.get(path)
        note = f"Flytning registreret af robot ({', '.join(registrations)})."
        closed = await self.post(f"{path}/afslut", {"outcome": "registered", "note": note})
        if not closed.css('[data-status="registered"]'):
            raise RuntimeError("the case did not close as registered")
        return "registered"


async def http_floor(
    settings: Settings,
    base_url: str,
    case_ids: list[str],
    routine: set[str],
    lanes: int,
    progress: Progress,
) -> Work:
    """Every case through `lanes` asyncio tasks sharing one logged-in client."""
    work = Work()
    limits = httpx.Limits(max_connections=lanes + 1, max_keepalive_connections=lanes + 1)
    async with httpx.AsyncClient(
        base_url=base_url,
        follow_redirects=True,
        trust_env=False,
        timeout=settings.browser.timeout_ms / 1000,
        limits=limits,
    ) as client:
        floor = Floor(client, routine)
        await floor.log_in(settings.target.username, settings.target.password.get_secret_value())
        await in_lanes(case_ids, lanes, work, progress, floor.handle)
        work.extra["requests_per_case"] = round(floor.requests / max(1, len(case_ids)), 2)
    return work
