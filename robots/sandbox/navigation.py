"""Going to a page and submitting a form, with the checks every step needs.

Fail closed: any answer the robot did not ask for (a 4xx or 5xx it does not expect, a
bounce to the login page, a page without the element it reads) is a system fault,
never data. A rule must not read an error page as "nothing found".
"""

from __future__ import annotations

from collections.abc import Collection
from urllib.parse import urlsplit

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Locator, Page, Response

from robots.errors import HttpFault, SessionLost, TargetUnreachable, UnexpectedPage
from robots.forms import form_request
from robots.reading import LOGIN_PATH, Rendering, Snapshot, fetched, shown
from robots.reading import UNREACHABLE as _UNREACHABLE


async def goto(page: Page, url: str, *, expect: Collection[int] = ()) -> Response | None:
    """Open `url`; a status >= 400 not in `expect`, or the login page, is a system fault."""
    shown(page)
    try:
        response = await page.goto(url)
    except PlaywrightError as exc:
        if any(code in str(exc) for code in _UNREACHABLE):
            raise TargetUnreachable(f"the case system does not answer at {_path(url)}") from exc
        raise
    _check(page, response, wanted=url, expect=expect)
    return response


async def submit(page: Page, button: Locator, *, expect: Collection[int] = ()) -> Response | None:
    """Click a form's submit button and wait for the page it leads to."""
    came_from = page.url
    shown(page)
    async with page.expect_navigation() as navigation:
        await button.click()
    response = await navigation.value
    _check(page, response, wanted=came_from, expect=expect)
    return response


async def send_form(
    page: Page,
    form_page: Snapshot,
    *,
    fields: dict[str, str],
    button: str,
    rendering: Rendering,
    expect: Collection[int] = (),
) -> Snapshot:
    """Fill in the form of the page just read (fields by their label), send it with `button`.

    `form_page` is the page as read right before (robots/reading.py, `read`): for a
    server-rendered system the form is sent as the browser would send it, without
    rendering (robots/forms.py); for a JavaScript system the rendered page's fields are
    typed into and the button clicked, so its scripts see every input. Either way a
    missing field or button, or a value a field does not take, is an unexpected page,
    never a form sent without it; the answer is the page the form led to, with its status.
    """
    if rendering == "server":
        request = form_request(form_page, button=button, fields=fields)
        headers = {"origin": request.origin, "referer": request.referer}
        if request.method == "POST":
            headers["content-type"] = "application/x-www-form-urlencoded"
        return await fetched(
            page,
            request.url,
            name=form_page.name,
            expect=expect,
            method=request.method,
            body=request.body() if request.method == "POST" else None,
            headers=headers,
        )
    for label, value in fields.items():
        field = page.get_by_label(label, exact=True)
        await require(field, page=form_page.name, what=f"field {label!r}")
        if await field.evaluate("e => e.tagName") == "SELECT":
            await field.select_option(value)
        else:
            await field.fill(value)
    submit_button = page.get_by_role("button", name=button, exact=True)
    await require(submit_button, page=form_page.name, what=f"{button!r} button")
    response = await submit(page, submit_button, expect=expect)
    status = response.status if response is not None else 200
    rendered = await page.content()
    sent = await response.text() if response is not None else rendered
    return Snapshot(rendered, page.url, name=form_page.name, status=status, sent=sent)


async def require(locator: Locator, *, page: str, what: str) -> Locator:
    """The locator, which must be on the page now; else fail fast naming page and locator."""
    if not await locator.count():
        raise UnexpectedPage(f"the {page} page has no {what}: a changed layout or an error page")
    return locator


async def require_one_of(page: Page, *, name: str, found: Locator, empty: Locator) -> bool:
    """True when `found` is on the page, False when `empty` is; a page with neither fails."""
    if await found.count():
        return True
    if await empty.count():
        return False
    raise UnexpectedPage(
        f"the {name} page shows neither results nor 'none found' ({urlsplit(page.url).path}): "
        "a changed layout or an error page"
    )


def _check(page: Page, response: Response | None, *, wanted: str, expect: Collection[int]) -> None:
    if response is not None and response.status >= 400 and response.status not in expect:
        raise HttpFault(response.status, _path(response.url))
    on_login = urlsplit(page.url).path == LOGIN_PATH
    if on_login and urlsplit(wanted).path != LOGIN_PATH:
        raise SessionLost("the case system logged the robot out")


def _path(url: str) -> str:
    # The path only: a query string can carry a CPR number (the register's lookups).
    return urlsplit(url).path
