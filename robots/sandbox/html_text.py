"""Reading an element's text from the HTML the case system sent, character for character.

A browser's DOM is not a faithful copy of the text a system holds: the HTML parser
drops NUL and folds CR LF into LF. Free text that a rule must judge (the citizen's
remarks) is therefore read from the response body itself.
"""

from __future__ import annotations

from functools import lru_cache
from html.parser import HTMLParser

# Void elements never hold text and have no end tag to balance.
_VOID = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}
)


class _AllTestIds(HTMLParser):
    """One pass over a page: the exact text of every element with a data-testid."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.open: list[tuple[str, int, list[str]]] = []
        """The test-id elements being read: (test id, depth inside it, text so far)."""
        self.texts: dict[str, list[str]] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        void = tag in _VOID
        if not void:
            self.open = [(test_id, depth + 1, parts) for test_id, depth, parts in self.open]
        test_id = dict(attrs).get("data-testid")
        if test_id is None:
            return
        if void:
            self.texts.setdefault(test_id, []).append("")
            return
        slot = self.texts.setdefault(test_id, [])
        slot.append("")
        self.open.append((test_id, 1, [str(len(slot) - 1)]))

    def handle_endtag(self, tag: str) -> None:
        if tag in _VOID:
            return
        still = []
        for test_id, depth, parts in self.open:
            if depth - 1 == 0:
                self._finish(test_id, parts)
            else:
                still.append((test_id, depth - 1, parts))
        self.open = still

    def handle_data(self, data: str) -> None:
        for _, _, parts in self.open:
            parts.append(data)

    def _finish(self, test_id: str, parts: list[str]) -> None:
        index, text = int(parts[0]), "".join(parts[1:])
        self.texts[test_id][index] = text

    def finish(self) -> dict[str, list[str]]:
        """Elements left open at the end of the page keep the text read so far."""
        for test_id, _, parts in self.open:
            self._finish(test_id, parts)
        self.open = []
        return self.texts


@lru_cache(maxsize=16)
def _texts(html: str) -> dict[str, list[str]]:
    # Page objects ask one page for many fields: it is parsed once (a str caches its hash).
    parser = _AllTestIds()
    parser.feed(html)
    parser.close()
    return parser.finish()


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
    return list(_texts(html).get(test_id, []))
