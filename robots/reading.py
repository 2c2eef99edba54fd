"""How a robot reads a page: rendered by the browser, or as the server sent it.

A system whose pages are complete as sent (server-rendered, no JavaScript needed to show
the data) is read without rendering: the browser context's own session fetches the HTML
(`context.request`: the same cookies, the same login, the same timeout) and a fast HTML
parser reads it. That costs a few milliseconds of the robot's CPU instead of a renderer's
tenths of a second. A system that needs JavaScript is read from the rendered DOM. Either
way the page objects read the same `Snapshot`, so a page object is written once and the
choice is the system's (`Rendering`), declared with its target.

Writing follows the same choice: a server-rendered system's form is read as sent and its
entry list sent through the same session, with the checks the browser would make
(robots/forms.py); a JavaScript system's form is filled in and clicked in the rendered
page, so its scripts see every input (robots/sandbox/navigation.py, `send_form`).

The same fail-closed rules hold on both paths (robots/sandbox/navigation.py): a status
the robot did not ask for is a fault, the login page is a lost session, and a page
without the element a page object reads is an unexpected page, never "nothing found".
"""

from __future__ import annotations

from collections.abc import Collection
from html import escape
from typing import Literal
from urllib.parse import urljoin, urlsplit
from weakref import WeakKeyDictionary

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Page
from selectolax.lexbor import LexborHTMLParser, LexborNode

from robots.errors import HttpFault, SessionLost, TargetUnreachable, UnexpectedPage

Rendering = Literal["server", "browser"]
"""`server`: read the HTML as sent, unrendered; `browser`: read the rendered DOM."""

LOGIN_PATH = "/login"
UNREACHABLE = (
    "ERR_CONNECTION_REFUSED",
    "ERR_NAME_NOT_RESOLVED",
    "ERR_ADDRESS_UNREACHABLE",
    "ERR_UNSAFE_PORT",
    "ECONNREFUSED",
    "ENOTFOUND",
    "EHOSTUNREACH",
    "ECONNRESET",
)


class Snapshot:
    """One page as read: its HTML parsed once, asked by data-testid, label and link text."""

    def __init__(
        self, html: str, url: str, *, name: str, status: int = 200, sent: str | None = None
    ) -> None:
        self.html = html
        self.sent = html if sent is None else sent
        """The HTML as the system sent it (the rendered DOM is not a faithful copy of text)."""
        self.url = url
        self.name = name
        """What the page is, for error messages (`case`, `population register`)."""
        self.status = status
        """The HTTP status the page came with (a refused form comes back with 409 or 422)."""
        self._tree = LexborHTMLParser(html)

    @property
    def tree(self) -> LexborNode:
        """The parsed page (for robots/forms.py)."""
        root = self._tree.root
        if root is None:
            raise UnexpectedPage(f"the {self.name} page is empty")
        return root

    def _nodes(self, test_id: str) -> list[LexborNode]:
        return list(self._tree.css(f'[data-testid="{css_string(test_id)}"]'))

    def has(self, test_id: str) -> bool:
        """True when an element with this data-testid is on the page."""
        return self._tree.css_first(f'[data-testid="{css_string(test_id)}"]') is not None

    def texts(self, test_id: str) -> list[str]:
        """The text of every element with this data-testid, stripped, in page order."""
        return [(node.text(deep=True) or "").strip() for node in self._nodes(test_id)]

    def text(self, test_id: str) -> str:
        """The text of the one element with this data-testid; absent is an unexpected page."""
        texts = self.texts(test_id)
        if not texts:
            raise UnexpectedPage(
                f"the {self.name} page has no {test_id}: a changed layout or an error page"
            )
        return texts[0]

    def data(self, test_id: str, attribute: str) -> list[str]:
        """A data-* attribute (`data-{attribute}`) of every element with this data-testid.

        Status codes and flags are machine codes in data attributes: the visible text is
        prose that may change, the codes may not.
        """
        return [node.attributes.get(f"data-{attribute}") or "" for node in self._nodes(test_id)]

    def has_table(self, label: str) -> bool:
        """True when a table with this accessible name (aria-label) is on the page."""
        return self._tree.css_first(f'table[aria-label="{css_string(label)}"]') is not None

    def one_of(self, *, found: bool, empty: bool) -> bool:
        """True for results, False for the page's own "none found"; neither is a fault."""
        if found:
            return True
        if empty:
            return False
        raise UnexpectedPage(
            f"the {self.name} page shows neither results nor 'none found' "
            f"({urlsplit(self.url).path}): a changed layout or an error page"
        )

    def alert(self) -> str:
        """The text of the page's first alert (role="alert"), or "" when it has none."""
        node = self._tree.css_first('[role="alert"]')
        return (node.text(deep=True) or "").strip() if node is not None else ""

    def has_heading(self, text: str) -> bool:
        """True when a heading (h1-h6) with exactly this text is on the page."""
        return any(
            (node.text(deep=True) or "").strip() == text
            for node in self._tree.css("h1, h2, h3, h4, h5, h6")
        )

    def link(self, text: str) -> str | None:
        """The absolute URL of the link with exactly this text, or None."""
        for node in self._tree.css("a[href]"):
            if (node.text(deep=True) or "").strip() == text:
                return urljoin(self.url, node.attributes.get("href") or "")
        return None


async def read(
    page: Page,
    url: str,
    *,
    rendering: Rendering,
    name: str,
    expect: Collection[int] = (),
) -> Snapshot:
    """Read the page at `url` as the system's rendering says; fail closed on the unexpected."""
    if rendering == "browser":
        from robots.sandbox.navigation import goto

        _LAST_READ.pop(page, None)
        response = await goto(page, url, expect=expect)
        status = response.status if response is not None else 200
        return Snapshot(await page.content(), page.url, name=name, status=status)
    return await fetched(page, url, name=name, expect=expect)


async def fetched(
    page: Page,
    url: str,
    *,
    name: str,
    expect: Collection[int] = (),
    method: str = "GET",
    body: str | None = None,
    headers: dict[str, str] | None = None,
) -> Snapshot:
    """Ask the system through the page's context session, unrendered; fail closed.

    Redirects are followed (a form's 303 to the page it leads to); the snapshot is of
    the last page, with its status.
    """
    try:
        response = await page.context.request.fetch(url, method=method, data=body, headers=headers)
    except PlaywrightError as exc:
        if any(code in str(exc) for code in UNREACHABLE):
            raise TargetUnreachable(f"the case system does not answer at {_path(url)}") from exc
        raise
    try:
        html = await response.text()
    finally:
        # Else the driver keeps every body until the context closes: memory per case.
        await response.dispose()
    _LAST_READ[page] = (response.url, html)
    if response.status >= 400 and response.status not in expect:
        raise HttpFault(response.status, _path(response.url))
    if _path(response.url) == LOGIN_PATH and _path(url) != LOGIN_PATH:
        raise SessionLost("the case system logged the robot out")
    return Snapshot(html, response.url, name=name, status=response.status)


async def rendered(page: Page, *, name: str) -> Snapshot:
    """The page the browser shows now (after a form was sent), as a snapshot."""
    _LAST_READ.pop(page, None)
    return Snapshot(await page.content(), page.url, name=name)


async def show_last_read(page: Page) -> None:
    """Put the page last read without rendering on the screen (for a screenshot).

    Evidence must show what the robot saw: after a server-side read, the browser still
    shows an earlier page (another case, even). Called before every screenshot.
    """
    last = _LAST_READ.pop(page, None)
    if last is None or page.is_closed():
        return
    url, html = last
    base = f'<base href="{escape(url, quote=True)}">'
    await page.set_content(base + html)


def shown(page: Page) -> None:
    """The browser has just shown a page: it, not an earlier read, is what the robot saw."""
    _LAST_READ.pop(page, None)


_LAST_READ: WeakKeyDictionary[Page, tuple[str, str]] = WeakKeyDictionary()
"""Per page: the URL and HTML of its last read that the browser did not render."""


def css_string(value: str) -> str:
    """A value quoted for a CSS attribute selector (`[id="..."]`)."""
    return value.replace("\\", "\\\\").replace('"', '\\"')


def _path(url: str) -> str:
    # The path only: a query string can carry a CPR number (the register's lookups).
    return urlsplit(url).path
