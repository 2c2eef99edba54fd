"""Going to a page and submitting a form, with the checks every step needs."""

from __future__ import annotations

from urllib.parse import urlsplit

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Locator, Page, Response

from robots.errors import SessionLost, SystemFault, TargetUnreachable

LOGIN_PATH = "/login"
_UNREACHABLE = (
    "ERR_CONNECTION_REFUSED",
    "ERR_NAME_NOT_RESOLVED",
    "ERR_ADDRESS_UNREACHABLE",
    "ERR_UNSAFE_PORT",
)


async def goto(page: Page, url: str) -> Response | None:
    """Open `url`; a 5xx answer or a bounce to the login page is a system fault."""
    try:
        response = await page.goto(url)
    except PlaywrightError as exc:
        if any(code in str(exc) for code in _UNREACHABLE):
            raise TargetUnreachable(f"the case system does not answer at {url}") from exc
        raise
    _check(page, response, wanted=url)
    return response


async def submit(page: Page, button: Locator) -> Response | None:
    """Click a form's submit button and wait for the page it leads to."""
    came_from = page.url
    async with page.expect_navigation() as navigation:
        await button.click()
    response = await navigation.value
    _check(page, response, wanted=came_from)
    return response


def _check(page: Page, response: Response | None, *, wanted: str) -> None:
    if response is not None and response.status >= 500:
        raise SystemFault(f"the case system answered {response.status} at {_path(response.url)}")
    on_login = urlsplit(page.url).path == LOGIN_PATH
    if on_login and urlsplit(wanted).path != LOGIN_PATH:
        raise SessionLost("the case system logged the robot out")


def _path(url: str) -> str:
    return urlsplit(url).path
