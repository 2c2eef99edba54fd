"""Sending a form of a server-rendered system without rendering it.

A server-rendered form is plain HTML: what the browser sends when a person submits it is
fixed by the HTML standard (the form's "entry list": every named control of the form,
the value the person gave or the page set, the submit button pressed). This module
builds that entry list from the form as the system sent it, with the values the robot
fills in by their labels, and sends it through the browser context's own session
(`context.request`: the same cookies and login as the rendered page would use), so a
routine write costs the renderer nothing.

It keeps what the browser would check and what the robot relies on:
- the form is the one the system sent just now (read right before), found by its submit
  button's text, and every field is found by its label, as a person finds it; a missing
  button or field is a changed layout, never a form sent without it;
- a value a field cannot take (an option a select does not have, a disabled or
  read-only field) is refused, as the JavaScript path's `field.value !== value` check
  refuses it; so are the form's own constraints (`required`, `pattern`), which the
  browser checks before sending;
- hidden fields the system put in the form (tokens, versions) are sent as they came;
- the answer is read with the same fail-closed rules as any read (robots/reading.py).

A system that needs JavaScript (its scripts listen to the fields, or build the request)
is not sent this way: its forms are filled in and clicked in the rendered page
(robots/sandbox/navigation.py, `send_form`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlencode, urljoin, urlsplit

from selectolax.lexbor import LexborNode

from robots.errors import UnexpectedPage
from robots.reading import Snapshot, css_string

_CONTROLS = "input, select, textarea, button"
_NOT_SENT_INPUTS = {"submit", "button", "reset", "image", "file"}
_LABELABLE = "input:not([type=hidden]), select, textarea, button"


@dataclass(frozen=True)
class FormRequest:
    """What the browser would send for a form: the method, the URL and the entry list."""

    method: str
    url: str
    entries: tuple[tuple[str, str], ...]
    origin: str
    referer: str

    def body(self) -> str:
        """The entry list as application/x-www-form-urlencoded (the default enctype)."""
        return urlencode(self.entries)


def form_request(page: Snapshot, *, button: str, fields: dict[str, str]) -> FormRequest:
    """The request the browser would send for `button`'s form with `fields` filled in.

    `fields` maps a field's label text (exactly, as shown) to the value to give it.
    """
    tree = page.tree
    submitter = _submitter(tree, button, page)
    form = _owner(tree, submitter)
    if form is None:
        raise UnexpectedPage(f"the {page.name} page's {button!r} button is in no form")
    enctype = (form.attributes.get("enctype") or "").strip().lower()
    if enctype not in ("", "application/x-www-form-urlencoded"):
        raise UnexpectedPage(
            f"the {page.name} page's form is sent as {enctype}: send it from the rendered page"
        )
    given: dict[int, str] = {}
    for label, value in fields.items():
        control = _labelled(tree, label, page)
        if control is None or not _same(_owner(tree, control), form):
            raise UnexpectedPage(f"the {page.name} page has no field labelled {label!r}")
        _check_takes(control, label, value, page)
        given[control.mem_id] = value
    entries: list[tuple[str, str]] = []
    for control in tree.css(_CONTROLS):
        if not _same(_owner(tree, control), form) or "disabled" in control.attributes:
            continue
        entries += _entries(control, given.get(control.mem_id), submitter)
    _check_constraints(tree, form, given, page)
    method = (
        submitter.attributes.get("formmethod") or form.attributes.get("method") or "get"
    ).lower()
    action = submitter.attributes.get("formaction") or form.attributes.get("action") or ""
    url = urljoin(page.url, action.strip())
    parts = urlsplit(page.url)
    origin = f"{parts.scheme}://{parts.netloc}"
    if method == "get":
        url = urljoin(url, "?" + urlencode(entries))
        return FormRequest("GET", url, (), origin, page.url)
    if method != "post":
        raise UnexpectedPage(f"the {page.name} page's form has an unknown method {method!r}")
    return FormRequest("POST", url, tuple(entries), origin, page.url)


def _submitter(tree: LexborNode, text: str, page: Snapshot) -> LexborNode:
    for node in tree.css("button, input[type=submit]"):
        shown = node.attributes.get("value") if node.tag == "input" else node.text(deep=True)
        kind = (node.attributes.get("type") or "submit").lower()
        if (shown or "").strip() == text and kind == "submit":
            if "disabled" in node.attributes:
                raise UnexpectedPage(f"the {page.name} page's {text!r} button is disabled")
            return node
    raise UnexpectedPage(f"the {page.name} page has no {text!r} button")


def _owner(tree: LexborNode, control: LexborNode) -> LexborNode | None:
    """The form a control belongs to: its `form` attribute's form, else its ancestor."""
    named = control.attributes.get("form")
    if named is not None:
        return tree.css_first(f'form[id="{css_string(named)}"]')
    node = control.parent
    while node is not None and node.tag != "form":
        node = node.parent
    return node


def _labelled(tree: LexborNode, text: str, page: Snapshot) -> LexborNode | None:
    """The control the label with exactly this text labels (its `for`, else inside it)."""
    for label in tree.css("label"):
        if (label.text(deep=True) or "").strip() != text:
            continue
        target = label.attributes.get("for")
        if target is not None:
            return tree.css_first(f'[id="{css_string(target)}"]')
        return label.css_first(_LABELABLE)
    return None


def _same(a: LexborNode | None, b: LexborNode) -> bool:
    return a is not None and a.mem_id == b.mem_id


def _options(select: LexborNode) -> list[tuple[str, bool, bool]]:
    """A select's options as (value, selected, disabled)."""
    options = []
    for option in select.css("option"):
        value = option.attributes.get("value")
        if value is None:
            value = _collapse(option.text(deep=True) or "")
        options.append((value, "selected" in option.attributes, "disabled" in option.attributes))
    return options


def _check_takes(control: LexborNode, label: str, value: str, page: Snapshot) -> None:
    refused = f"the {page.name} page's field {label!r} does not take the value given"
    kind = (control.attributes.get("type") or "text").lower()
    if "disabled" in control.attributes or "readonly" in control.attributes:
        raise UnexpectedPage(f"{refused}: it is read-only")
    if control.tag == "select":
        if not any(v == value and not off for v, _, off in _options(control)):
            raise UnexpectedPage(f"{refused}: it has no such option")
    elif control.tag == "input" and kind in ("checkbox", "radio", "hidden", *_NOT_SENT_INPUTS):
        raise UnexpectedPage(f"{refused}: it is a {kind}, not a field to type into")
    elif control.tag == "button":
        raise UnexpectedPage(f"{refused}: it is a button")
    if "\x00" in value or (control.tag == "input" and ("\n" in value or "\r" in value)):
        # The browser strips line breaks from a one-line field and no field holds NUL:
        # a value that would arrive altered is refused, not sent changed.
        raise UnexpectedPage(f"{refused}: it would not arrive as given")


def _entries(
    control: LexborNode, given: str | None, submitter: LexborNode
) -> list[tuple[str, str]]:
    name = control.attributes.get("name")
    if not name:
        return []
    kind = (control.attributes.get("type") or "").lower()
    if control.tag == "button" or (control.tag == "input" and kind in _NOT_SENT_INPUTS):
        if control.mem_id != submitter.mem_id:
            return []
        return [(name, control.attributes.get("value") or "")]
    if control.tag == "select":
        if given is not None:
            return [(name, given)]
        options = _options(control)
        chosen = [v for v, selected, off in options if selected and not off]
        if "multiple" in control.attributes:
            return [(name, v) for v in chosen]
        if not chosen:
            # A one-line select shows (and sends) its first option when none is selected.
            chosen = [v for v, _, off in options if not off][:1]
        return [(name, chosen[-1])] if chosen else []
    if control.tag == "textarea":
        value = given if given is not None else control.text(deep=True) or ""
        return [(name, _crlf(value))]
    if kind in ("checkbox", "radio"):
        if "checked" not in control.attributes:
            return []
        return [(name, control.attributes.get("value") or "on")]
    return [(name, given if given is not None else control.attributes.get("value") or "")]


def _check_constraints(
    tree: LexborNode, form: LexborNode, given: dict[int, str], page: Snapshot
) -> None:
    """The checks the browser makes before sending: `required` and `pattern`."""
    for control in tree.css(_CONTROLS):
        if not _same(_owner(tree, control), form) or "disabled" in control.attributes:
            continue
        kind = (control.attributes.get("type") or "text").lower()
        if control.tag == "button" or kind in (*_NOT_SENT_INPUTS, "hidden"):
            continue
        if kind in ("checkbox", "radio"):
            if "required" in control.attributes and "checked" not in control.attributes:
                raise UnexpectedPage(f"the {page.name} page's form needs a box ticked")
            continue
        value = given.get(control.mem_id)
        if value is None:
            entries = _entries(control, None, control)
            value = entries[0][1] if entries else ""
        name = control.attributes.get("name") or control.attributes.get("id") or "a field"
        if "required" in control.attributes and value == "":
            raise UnexpectedPage(f"the {page.name} page's form needs {name!r}, left empty")
        pattern = control.attributes.get("pattern")
        mismatched = pattern and re.fullmatch(f"(?:{pattern})", value) is None
        if control.tag == "input" and value != "" and mismatched:
            raise UnexpectedPage(
                f"the {page.name} page's field {name!r} does not take the value given: "
                "it does not match the field's pattern"
            )


def _crlf(value: str) -> str:
    return re.sub(r"\r\n|\r|\n", "\r\n", value)


def _collapse(text: str) -> str:
    return " ".join(text.split())
