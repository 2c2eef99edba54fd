"""Reading the sandbox's pages in tests the way the robot does: by test id, role and label."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

_VOID = {
    "area",
    "base",
    "br",
    "col",
    "embed",
    "hr",
    "img",
    "input",
    "link",
    "meta",
    "source",
    "wbr",
}


@dataclass
class Element:
    """One element: its tag, attributes and text content (like the DOM's textContent)."""

    tag: str
    attrs: dict[str, str]
    parts: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        """The text inside, exactly as served."""
        return "".join(self.parts)


class Page(HTMLParser):
    """A parsed page."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[Element] = []
        self._open: list[Element] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {k: v or "" for k, v in attrs})
        self.elements.append(element)
        if tag not in _VOID:
            self._open.append(element)

    def handle_endtag(self, tag: str) -> None:
        for index in range(len(self._open) - 1, -1, -1):
            if self._open[index].tag == tag:
                del self._open[index:]
                return

    def handle_data(self, data: str) -> None:
        for element in self._open:
            element.parts.append(data)

    def by_testid(self, testid: str) -> list[Element]:
        """Every element with that data-testid."""
        return [e for e in self.elements if e.attrs.get("data-testid") == testid]

    def texts(self, testid: str) -> list[str]:
        """The text of every element with that data-testid."""
        return [e.text for e in self.by_testid(testid)]

    def one(self, testid: str) -> Element:
        """The one element with that data-testid."""
        found = self.by_testid(testid)
        assert len(found) == 1, f"{len(found)} elements with data-testid={testid!r}"
        return found[0]

    def alerts(self) -> list[str]:
        """The text of every role=alert element."""
        return [e.text.strip() for e in self.elements if e.attrs.get("role") == "alert"]

    def labelled(self, aria_label: str) -> list[Element]:
        """Elements with that aria-label."""
        return [e for e in self.elements if e.attrs.get("aria-label") == aria_label]

    def label_texts(self) -> list[str]:
        """The text of every <label>."""
        return [e.text.strip() for e in self.elements if e.tag == "label"]

    def buttons(self) -> list[str]:
        """The text of every <button>."""
        return [e.text.strip() for e in self.elements if e.tag == "button"]

    def links(self) -> dict[str, str]:
        """Link text -> href."""
        return {e.text.strip(): e.attrs.get("href", "") for e in self.elements if e.tag == "a"}
