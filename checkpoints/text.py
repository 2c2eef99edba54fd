"""Outside text made safe to judge and to show: one place for every channel.

Citizen text (remarks, names) can hold characters a reader cannot see: zero-width
spaces, byte order marks, Unicode tag characters that spell hidden text, bidi
controls that reverse what follows, NUL and other control characters. A rule must
count them as written text, and a person must see that they are there.
"""

from __future__ import annotations

import re
import unicodedata

# Categories a reader cannot see or that change how the text around them is shown:
# control, format (zero-width, bidi, tags), private use, surrogates, unassigned,
# and the line/paragraph separators that terminals and chat render as breaks.
_HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Co", "Cs", "Cn", "Zl", "Zp"})
_CPR_LIKE = re.compile(r"(?<![0-9])([0-9]{6})[ \-]?[0-9]{4}(?![0-9])")
# The Unicode White_Space property, exactly: str.isspace() also counts U+001C-U+001F,
# control characters that a reader does not see and a rule must not ignore.
WHITE_SPACE = frozenset(
    "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
    "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)


_WHITE = "".join(sorted(WHITE_SPACE))


def is_blank(text: str) -> bool:
    """True only when every character is Unicode white space (format and control count)."""
    return all(ch in WHITE_SPACE for ch in text)


def strip_white(text: str) -> str:
    """`text` without surrounding Unicode white space (control characters stay)."""
    return text.strip(_WHITE)


def written(text: str) -> str:
    """`text` without its Unicode white space: what a rule counts as written."""
    return "".join(ch for ch in text if ch not in WHITE_SPACE)


def is_hidden(ch: str) -> bool:
    """True for a character that shows as nothing, or changes how other text shows."""
    return unicodedata.category(ch) in _HIDDEN_CATEGORIES


def code_point(ch: str) -> str:
    """`U+200B`: how a hidden character is named to a person."""
    return f"U+{ord(ch):04X}"


def show_hidden(text: str, *, keep_newlines: bool = True) -> str:
    """Hidden characters named visibly (`[U+200B]`), so a reader sees they are there.

    Newlines and tabs are kept when `keep_newlines` (a remark's lines); otherwise they
    are named too (one terminal line).
    """
    kept = "\n\t" if keep_newlines else ""
    return "".join(f"[{code_point(ch)}]" if is_hidden(ch) and ch not in kept else ch for ch in text)


def hidden_characters(text: str) -> list[str]:
    """The distinct hidden characters in `text` (newline and tab aside), as `U+XXXX`."""
    seen = dict.fromkeys(code_point(ch) for ch in text if is_hidden(ch) and ch not in "\n\t")
    return list(seen)


def mask_cprs(text: str) -> str:
    """Every CPR-like number (DDMMYY-SSSS, with or without hyphen) as DDMMYY-XXXX."""
    return _CPR_LIKE.sub(lambda m: f"{m.group(1)}-XXXX", text)


def terminal_safe(text: str) -> str:
    """One line for a terminal: escape sequences and line breaks named, never executed."""
    return show_hidden(text, keep_newlines=False)


def mask_cpr(cpr: str) -> str:
    """DDMMYY-XXXX: the birth date part only, never the serial number."""
    digits = "".join(ch for ch in cpr if ch.isdigit())
    return f"{digits[:6]}-XXXX" if len(digits) >= 6 else "XXXXXX-XXXX"
