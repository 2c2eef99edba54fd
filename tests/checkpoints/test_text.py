"""Outside text made safe to judge and to show."""

from __future__ import annotations

import pytest

from checkpoints.text import (
    hidden_characters,
    is_blank,
    mask_cprs,
    show_hidden,
    terminal_safe,
    written,
)

TAGS = "".join(chr(0xE0000 + ord(c)) for c in "hello")


@pytest.mark.parametrize(
    "text",
    [
        "\u200b\u200b\ufeff\u2060",
        TAGS,
        "\x00",
        "\u202e",
        "a",
        " x ",
        "\x1b[31m",
        "\x1c\x1d\x1e\x1f",
    ],
)
def test_anything_but_white_space_is_written(text: str) -> None:
    assert not is_blank(text)
    assert written(text)


@pytest.mark.parametrize("text", ["", " ", "\n\t\r", "\u00a0\u2003\u3000"])
def test_white_space_alone_is_blank(text: str) -> None:
    assert is_blank(text)
    assert written(text) == ""


def test_hidden_characters_are_named() -> None:
    assert show_hidden("a\u200bb\u202ec") == "a[U+200B]b[U+202E]c"
    assert show_hidden("line one\nline two") == "line one\nline two"
    assert hidden_characters(TAGS + "\u200b" + TAGS) == [
        "U+E0068",
        "U+E0065",
        "U+E006C",
        "U+E006F",
        "U+200B",
    ]


def test_terminal_safe_is_one_line_without_escape_sequences() -> None:
    shown = terminal_safe("Anna\x1b[2J\nBo\r")
    assert "\x1b" not in shown
    assert "\n" not in shown
    assert "\r" not in shown
    assert shown == "Anna[U+001B][2J[U+000A]Bo[U+000D]"


def test_cpr_numbers_in_text_are_masked() -> None:
    text = "Min søn 0101901234 og jeg 020285-4321 flytter; tlf 12345678, sag 1234567890123"
    assert mask_cprs(text) == (
        "Min søn 010190-XXXX og jeg 020285-XXXX flytter; tlf 12345678, sag 1234567890123"
    )
