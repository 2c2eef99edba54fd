"""A server-rendered form is sent as the browser would send it, or not at all."""

from __future__ import annotations

from urllib.parse import parse_qsl

import pytest

from robots.errors import UnexpectedPage
from robots.forms import form_request
from robots.reading import Snapshot

PAGE = "http://cases.test/sager/FLY-1"

FORM = """
<h1>Sag</h1>
<form method="post" action="/sager/FLY-1/afslut">
  <input type="hidden" name="version" value="7">
  <label for="outcome">Udfald</label>
  <select id="outcome" name="outcome">
    <option value="registered">Registreret</option>
    <option value="rejected" selected>Afvist</option>
    <option value="manual" disabled>Manuel</option>
  </select>
  <label for="note">Notat</label>
  <textarea id="note" name="note">
</textarea>
  <label>Sagsnummer <input name="case_id" pattern="FLY-[0-9]+" required></label>
  <input type="checkbox" name="notify" value="yes" checked>
  <input type="checkbox" name="urgent">
  <input name="off" value="x" disabled>
  <button type="submit" name="action" value="close">Afslut sag</button>
  <button type="submit" name="action" value="park">Parkér</button>
</form>
<input form="other" name="elsewhere" value="no">
<form method="post" action="/sager/FLY-1/under-behandling">
  <button>Markér som under behandling</button>
</form>
"""


def _page(html: str = FORM) -> Snapshot:
    return Snapshot(html, PAGE, name="case")


def test_the_entry_list_is_the_browsers_own():
    sent = form_request(
        _page(),
        button="Afslut sag",
        fields={"Udfald": "registered", "Notat": "Line one\nline two", "Sagsnummer": "FLY-1"},
    )
    assert (sent.method, sent.url) == ("POST", "http://cases.test/sager/FLY-1/afslut")
    # hidden fields as they came, the checked box only, the pressed button only, line
    # breaks as CRLF, nothing disabled and nothing of another form
    assert sent.entries == (
        ("version", "7"),
        ("outcome", "registered"),
        ("note", "Line one\r\nline two"),
        ("case_id", "FLY-1"),
        ("notify", "yes"),
        ("action", "close"),
    )
    assert parse_qsl(sent.body()) == list(sent.entries)
    assert (sent.origin, sent.referer) == ("http://cases.test", PAGE)


def test_a_field_left_alone_sends_what_the_page_set():
    sent = form_request(_page(), button="Parkér", fields={"Sagsnummer": "FLY-9"})
    assert ("outcome", "rejected") in sent.entries
    assert ("action", "park") in sent.entries
    assert ("action", "close") not in sent.entries


def test_a_form_without_fields_is_sent_by_its_button():
    sent = form_request(_page(), button="Markér som under behandling", fields={})
    assert sent.url.endswith("/under-behandling")
    assert sent.entries == ()


@pytest.mark.parametrize(
    ("button", "fields", "problem"),
    [
        ("Gem", {}, "no 'Gem' button"),
        ("Afslut sag", {"Begrundelse": "x", "Sagsnummer": "FLY-1"}, "no field labelled"),
        ("Afslut sag", {"Udfald": "deleted", "Sagsnummer": "FLY-1"}, "has no such option"),
        ("Afslut sag", {"Udfald": "manual", "Sagsnummer": "FLY-1"}, "has no such option"),
        ("Afslut sag", {"Notat": "x"}, "needs 'case_id', left empty"),
        ("Afslut sag", {"Sagsnummer": "1; DROP"}, "does not match the field's pattern"),
        ("Afslut sag", {"Sagsnummer": "FLY-1\n2"}, "would not arrive as given"),
        ("Afslut sag", {"Notat": "a\x00b", "Sagsnummer": "FLY-1"}, "would not arrive as given"),
        # a field of another form on the same page is not this form's field
        ("Markér som under behandling", {"Notat": "x"}, "no field labelled 'Notat'"),
    ],
)
def test_a_form_that_cannot_be_sent_as_asked_is_a_fault(button, fields, problem):
    with pytest.raises(UnexpectedPage, match=problem):
        form_request(_page(), button=button, fields=fields)


def test_a_get_form_puts_its_entries_in_the_query():
    html = (
        '<form action="/sager"><label for="s">Status</label>'
        '<input id="s" name="status" value="open"><button>Søg</button></form>'
    )
    sent = form_request(_page(html), button="Søg", fields={"Status": "alle"})
    assert (sent.method, sent.url) == ("GET", "http://cases.test/sager?status=alle")


def test_a_multipart_form_is_left_to_the_rendered_page():
    html = '<form method="post" enctype="multipart/form-data"><button>Send</button></form>'
    with pytest.raises(UnexpectedPage, match="multipart/form-data"):
        form_request(_page(html), button="Send", fields={})
