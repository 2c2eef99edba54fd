"""Hypothesis strategies for change-of-address notifications: each field valid or hostile.

A generated notification comes with what a reader of the data contract expects of it
(`Generated.invalid`, `Generated.routine`), worked out here from the values alone and
never by calling product code, so the properties compare the product with the contract.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st

from tests import seeds

# Unicode's White_Space property. Python's str.isspace() also counts U+001C-U+001F
# (control characters), which the contract does not: they are written text.
WHITE_SPACE = frozenset(
    "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007"
    "\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
LONG = 2000  # the longest generated value: long, yet a case page stays reasonable

# Seed people and addresses the generated cases may name: adults at the old address.
PEOPLE = (seeds.ANNA, seeds.BO, seeds.CARL)
CPRS = tuple(p["cpr"] for p in PEOPLE)
RECEIVED_AT = ("2026-11-20T09:14:00+01:00", "2026-11-20T08:14:00Z")
MOVE_DATES = ("2026-11-15", "2026-11-20", "2026-12-01")  # within the date rules' limits
CHANNELS = ("borger.dk", "papir", "")
ADDRESS_PARTS = ("street", "house_number", "floor", "door", "postcode", "city")

# Single characters that hide, reorder, control or format text.
SPECIAL = (
    *("\x00", "\x07", "\x08", "\x1b", "\r", "\n", "\t", "\x0b", "\x7f", "\x85", "\x9b"),
    *("\x1c", "\x1f", "\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u034f"),
    *("\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u200e", "\u200f", "\u061c"),
    *("\u2066", "\u2067", "\u2068", "\u2069", "\u2028", "\u2029"),
    *("\U000e0000", "\U000e0001", "\U000e0041", "\U000e007f"),
    *("*", "_", "~", "`", ">", "<", "&", "!", '"', "'", "\\", "|", "@", "#", ":"),
)
# Markup, mrkdwn, terminal escapes, CPR numbers written into free text, lookalike digits.
PIECES = (
    "<script>alert(1)</script>",
    "<b>fed</b>",
    '<img src="x" onerror="alert(1)">',
    "<svg/onload=alert(1)>",
    "<iframe src=//evil.example>",
    "<!channel>",
    "<!here|here>",
    "<@U0BOSS>",
    "<https://evil.example|klik her>",
    "&amp;&lt;b&gt;",
    "]]><!--",
    "{{ 7*7 }}{% raw %}",
    "*fed*",
    "_kursiv_",
    "~slet~",
    "`kode`",
    "```blok```",
    "> citat",
    "\x1b[2J\x1b[31mrød",
    "\x1b]8;;https://evil.example\x07link\x1b]8;;\x07",
    "\r\n",
    "\u202eevil\u202c",
    "\u2066isoleret\u2069",
    "e\u0301",
    "\U0001f44d\U0001f3fd",
    "\U000e0068\U000e0065\U000e006a",
    "Øresundsvej æøå",
    "CPR 010190-1234",
    "0202851235",
    "tlf. 0303752345.",
    "\u0668\u0668\u0660\u0660",  # Arabic-Indic 8800
    "\uff18\uff18\uff10\uff10",  # fullwidth 8800
)
# What is spliced into a valid value to spoil it: never white space and never `-`
# (the contract lets both surround or separate a value), so the result is invalid.
_SPOILERS = (
    *(s for s in SPECIAL if s not in WHITE_SPACE and s != "-"),
    *("<b>", "x", "\u0668"),
)

_CHAR = st.characters(codec="utf-8")  # any code point but the surrogates
_ARBITRARY = st.text(_CHAR, max_size=40)
_MIXED = st.lists(
    st.one_of(st.sampled_from(PIECES), st.sampled_from(SPECIAL), st.text(_CHAR, max_size=4)),
    min_size=1,
    max_size=8,
).map("".join)
_LONG = st.builds(
    lambda piece, n: (piece * n)[:LONG],
    st.sampled_from((*PIECES, *SPECIAL, "x", "æ")),
    st.integers(min_value=50, max_value=LONG),
)
HOSTILE_TEXT: st.SearchStrategy[str] = st.one_of(_ARBITRARY, _MIXED, _LONG)


@dataclass(frozen=True)
class Reading:
    """How the contract says a written value is read: what counts as surrounding white
    space, and what (if anything) may be lost on the way from the case system."""

    space: frozenset[str] = WHITE_SPACE
    loses: Callable[[str], str] = str
    postcode: str = "[0-9]{4}"  # ASCII digits, after compatibility normalization (NFKC)
    timestamps_are_dates: bool = False  # a run of digits taken as seconds since 1970

    def strip(self, text: str) -> str:
        """`text` without surrounding white space."""
        start, end = 0, len(text)
        while start < end and text[start] in self.space:
            start += 1
        while end > start and text[end - 1] in self.space:
            end -= 1
        return text[start:end]

    def blank(self, text: str) -> bool:
        """True when every character is white space."""
        return all(ch in self.space for ch in text)

    def field(self, text: str) -> str:
        """A field other than the remarks as the robot must read it: stripped."""
        return self.strip(self.loses(text))


CONTRACT = Reading()


@st.composite
def _padded(draw: st.DrawFn, value: str) -> str:
    """A valid value as a web form might keep it: white space around."""
    pad = st.text(st.sampled_from(sorted(WHITE_SPACE)), max_size=3)
    return draw(pad) + value + draw(pad)


@st.composite
def _spoiled(draw: st.DrawFn, value: str) -> str:
    """A valid value with something that does not belong spliced in."""
    at = draw(st.integers(min_value=0, max_value=len(value)))
    return value[:at] + draw(st.sampled_from(_SPOILERS)) + value[at:]


# Digits of other scripts, and digits in compatibility forms (fullwidth, mathematical).
_DIGIT_ZEROS = ("\u0660", "\u06f0", "\u0966", "\uff10", "\U0001d7ce")


@st.composite
def _lookalike(draw: st.DrawFn, value: str) -> str:
    """A valid value with its digits written in another script or form."""
    zero = ord(draw(st.sampled_from(_DIGIT_ZEROS)))
    return "".join(chr(zero + int(ch)) if ch.isascii() and ch.isdigit() else ch for ch in value)


def _hostile(valid: str) -> st.SearchStrategy[str]:
    digits = st.from_regex(r"[0-9]{1,12}", fullmatch=True)
    return st.one_of(HOSTILE_TEXT, _spoiled(valid), _lookalike(valid), digits)


def _cpr_form(cpr: str) -> st.SearchStrategy[str]:
    return st.sampled_from((cpr, f"{cpr[:6]}-{cpr[6:]}")).flatmap(_padded)


@st.composite
def _address_part(draw: st.DrawFn, value: str) -> str:
    """An address part as written: case and surrounding white space do not matter."""
    return draw(_padded(draw(st.sampled_from((value, value.upper(), value.lower())))))


FIELDS = (
    "received_at",
    "channel",
    "reporter_cpr",
    "move_date",
    "remarks",
    "movers",
    *(f"movers.{i}.{part}" for i in range(2) for part in ("cpr", "name")),
    "old_address",
    *(f"old_address.{part}" for part in ADDRESS_PARTS),
    "new_address",
    *(f"new_address.{part}" for part in ADDRESS_PARTS),
)
# Free text that no rule judges: any valid value there leaves a routine case routine.
NEUTRAL = frozenset(
    {"channel", *(f"old_address.{p}" for p in ("street", "house_number", "floor", "door", "city"))}
)


@dataclass
class Generated:
    """A notification to write into the case system, and what the contract says of it."""

    values: dict[str, Any]
    hostile: set[str] = field(default_factory=set)  # fields given a hostile value
    texts: dict[str, str] = field(default_factory=dict)  # every written text, by field path

    @property
    def remarks(self) -> str:
        """The remarks as written."""
        return str(self.values["remarks"])

    def invalid(self, reading: Reading = CONTRACT) -> set[str]:
        """The fields the contract calls malformed, judged from the written values alone."""
        return _invalid_fields(self.values, reading)

    def routine(self, reading: Reading = CONTRACT) -> bool:
        """Valid, blank remarks, and nothing but free text changed: the robot's case."""
        free = not self.invalid(reading) and reading.blank(self.remarks)
        return free and self.hostile <= NEUTRAL


@st.composite
def notifications(draw: st.DrawFn) -> Generated:
    """A notification in the data contract's shape with a few fields (often none) hostile."""
    chosen: set[str] = draw(st.sets(st.sampled_from(FIELDS), max_size=len(FIELDS)))
    texts: dict[str, str] = {}

    def text(path: str, valid: st.SearchStrategy[str], spoil: str | None = None) -> str:
        if path not in chosen:
            texts[path] = draw(valid)
        else:
            texts[path] = draw(HOSTILE_TEXT if spoil is None else _hostile(spoil))
        return texts[path]

    received, reporter, move_date = (
        draw(st.sampled_from(pool)) for pool in (RECEIVED_AT, CPRS, MOVE_DATES)
    )
    values: dict[str, Any] = {
        "received_at": text("received_at", _padded(received), received),
        "channel": text("channel", st.sampled_from(CHANNELS)),
        "reporter_cpr": text("reporter_cpr", _cpr_form(reporter), reporter),
        "move_date": text("move_date", _padded(move_date), move_date),
        "remarks": text("remarks", st.text(st.sampled_from(sorted(WHITE_SPACE)), max_size=5)),
        "movers": [],
    }
    people = draw(
        st.lists(st.sampled_from(PEOPLE), min_size=1, max_size=2, unique_by=lambda p: p["cpr"])
    )
    for i, person in enumerate([] if "movers" in chosen else people):
        cpr = text(f"movers.{i}.cpr", _cpr_form(person["cpr"]), person["cpr"])
        name = text(f"movers.{i}.name", _padded(person["name"]), person["name"])
        values["movers"].append({"cpr": cpr, "name": name})
    new: dict[str, Any] = draw(st.sampled_from((seeds.NEW, seeds.NEW_2)))
    addresses: tuple[tuple[str, dict[str, Any]], ...] = (
        ("old_address", seeds.OLD),
        ("new_address", new),
    )
    for which, address in addresses:
        if which in chosen:
            values[which] = None  # the notification has no such address
            continue
        parts: dict[str, str | None] = {}
        for part in ADDRESS_PARTS:
            valid = address[part]
            path = f"{which}.{part}"
            if valid is None:
                parts[part] = text(path, st.just("")) if path in chosen else None
            else:
                parts[part] = text(path, _address_part(valid), valid)
        values[which] = parts
    # A field counts as hostile only when the notification has it (a second mover may not).
    hostile = {f for f in chosen if f in texts or f in ("movers", "old_address", "new_address")}
    return Generated(values=values, hostile=hostile, texts=texts)


def _invalid_fields(values: dict[str, Any], reading: Reading) -> set[str]:
    invalid = set()
    read = reading.field
    for name, valid in (("received_at", RECEIVED_AT), ("move_date", MOVE_DATES)):
        value = read(values[name])
        if value not in valid and not (
            reading.timestamps_are_dates and value.isascii() and value.isdigit()
        ):
            invalid.add(name)
    if not _is_cpr(read(values["reporter_cpr"])):
        invalid.add("reporter_cpr")
    if not values["movers"]:
        invalid.add("movers")
    for i, mover in enumerate(values["movers"]):
        if not _is_cpr(read(mover["cpr"])):
            invalid.add(f"movers.{i}.cpr")
        if not read(mover["name"]):
            invalid.add(f"movers.{i}.name")
    for which in ("old_address", "new_address"):
        address = values[which]
        if address is None:
            invalid.add(which)
            continue
        for part in ("street", "house_number", "city"):
            if not read(address[part]):
                invalid.add(f"{which}.{part}")
        postcode = unicodedata.normalize("NFKC", read(address["postcode"]))
        if not re.fullmatch(reading.postcode, postcode):
            invalid.add(f"{which}.postcode")
    return invalid


def _is_cpr(text: str) -> bool:
    """One of the seed's CPR numbers; blanks, hyphens and compatibility forms (fullwidth
    digits) ignored."""
    return unicodedata.normalize("NFKC", text).replace(" ", "").replace("-", "") in CPRS


def written(changes: dict[str, Any]) -> Generated:
    """A routine notification (Anna moves to Sct. Mathias Gade) with fields changed by path:
    `{"old_address.floor": "0101901234", "remarks": "\\x1f"}`; the changed ones are hostile."""
    values: dict[str, Any] = {
        "received_at": RECEIVED_AT[0],
        "channel": CHANNELS[0],
        "reporter_cpr": seeds.ANNA["cpr"],
        "move_date": MOVE_DATES[0],
        "remarks": "",
        "movers": [dict(seeds.ANNA)],
        "old_address": dict(seeds.OLD),
        "new_address": dict(seeds.NEW),
    }
    for path, value in changes.items():
        *parents, name = path.split(".")
        holder: Any = values
        for part in parents:
            holder = holder[int(part)] if part.isdigit() else holder[part]
        holder[name] = value
    texts = {
        path: value
        for path, value in _flatten(values).items()
        if isinstance(value, str) and path != "movers"
    }
    return Generated(values=values, hostile=set(changes), texts=texts)


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    items: Iterable[tuple[Any, Any]]
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list):
        items = ((str(i), v) for i, v in enumerate(value))
    else:
        return {prefix: value}
    flat: dict[str, Any] = {}
    for key, inner in items:
        flat |= _flatten(inner, f"{prefix}.{key}" if prefix else key)
    return flat
