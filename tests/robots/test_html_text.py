"""Reading fields from the HTML as sent: every character kept, one parse per page."""

from __future__ import annotations

import pytest

from robots.sandbox.html_text import text_by_test_id, texts_by_test_id

PAGE = (
    '<main><dd data-testid="remarks">Flyt\x00 <b>nu</b>\r\nTak &amp; hej</dd>'
    '<table><tr><td data-testid="mover-cpr">0101901234</td>'
    '<td data-testid="mover-name">Anna <span data-testid="nick">A</span></td></tr>'
    '<tr><td data-testid="mover-cpr">0202851235</td><td data-testid="mover-name">Bo</td></tr>'
    '</table><input data-testid="void"><dd data-testid="empty"></dd><p data-testid="open">left'
)


def test_every_character_of_a_field_is_kept_as_sent() -> None:
    assert text_by_test_id(PAGE, "remarks") == "Flyt\x00 nu\r\nTak & hej"


def test_repeated_and_nested_fields_are_read_in_page_order() -> None:
    assert texts_by_test_id(PAGE, "mover-cpr") == ["0101901234", "0202851235"]
    assert texts_by_test_id(PAGE, "mover-name") == ["Anna A", "Bo"]
    assert texts_by_test_id(PAGE, "nick") == ["A"]


def test_empty_void_absent_and_unclosed_fields() -> None:
    assert text_by_test_id(PAGE, "empty") == ""
    assert text_by_test_id(PAGE, "void") == ""
    assert text_by_test_id(PAGE, "missing") is None
    assert text_by_test_id(PAGE, "open") == "left"


def test_a_field_that_is_there_twice_is_not_a_page_the_robot_understands() -> None:
    with pytest.raises(ValueError, match="2 elements"):
        text_by_test_id(PAGE, "mover-cpr")


def test_a_caller_cannot_change_what_the_next_caller_reads() -> None:
    texts_by_test_id(PAGE, "mover-cpr").append("injected")
    assert texts_by_test_id(PAGE, "mover-cpr") == ["0101901234", "0202851235"]
