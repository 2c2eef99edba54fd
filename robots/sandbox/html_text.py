"""Reading an element's text from the HTML the case system sent, character for character.

A browser's DOM is not a faithful copy of the text a system holds: the HTML parser
drops NUL and folds CR LF into LF. Free text that a rule must judge (the citizen's
remarks) is therefore read from the response body itself.
"""

from __future__ import annotations

from html.parser import HTMLParser

# Void elements never hold text and have no end tag to balance.
_VOID = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}
)


class _ByTestId(HTMLParser):
    def __init__(self, test_id: str) -> None:
        super().__init__(convert_charrefs=True)
        self.test_id = test_id
        self.depth = 0
        self.found = 0
        self.parts: list[str] = []
        self.texts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.depth:
            if tag not in _VOID:
                self.depth += 1
        elif ("data-testid", self.test_id) in attrs:
            self.found += 1
            self.depth = 0 if tag in _VOID else 1
            if not self.depth:
                self.texts.append("")

    def handle_endtag(self, tag: str) -> None:
        if self.depth and tag not in _VOID:
            self.depth -= 1
            if not self.depth:
                self.texts.append("".join(self.parts))
                self.parts = []

    def handle_data(self, data: str) -> None:
        if self.depth:
            self.parts.append(data)


def text_by_test_id(html: str, test_id: str) -> str | None:
    """The exact text inside the one element with this data-testid; None when absent.

    More than one such element is not a page the robot understands: ValueError.
    """
    texts = texts_by_test_id(html, test_id)
    if len(texts) > 1:
        raise ValueError(f"{len(texts)} elements with data-testid={test_id!r}")
    return texts[0] if texts else None


def texts_by_test_id(html: str, test_id: str) -> list[str]:
    """The exact text inside every element with this data-testid, in page order."""
    parser = _ByTestId(test_id)
    parser.feed(html)
    parser.close()
    if parser.depth:  # an element left open at the end of the page
        parser.texts.append("".join(parser.parts))
    return parser.texts
