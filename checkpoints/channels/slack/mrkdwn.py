"""Outside text made inert for Slack's mrkdwn: shown as written, never as markup.

Case data (remarks, names, addresses, values typed by a person, the case system's
errors, Slack display names) is shown inside mrkdwn blocks next to our own bold
labels, quotes and links, so it must neither format itself nor hide anything:

- `&`, `<`, `>` are entity-escaped (Slack's rule), so `<!channel>`, `<@U…>` and
  `<https://…|link>` are literal text and ping or link no one.
- `*`, `_`, `~` and the backtick become their fullwidth forms (＊ ＿ ～ ｀), and a `>`
  that starts a line becomes ＞. mrkdwn has no backslash escape, a zero-width joiner
  would hide text from the reader, and a code span breaks on a backtick in the text;
  a lookalike keeps every character visible in its shape, keeps our layout (bold
  labels, the quoted remarks) and works in every field, including the notification
  text. We chose this over `plain_text` blocks because the message mixes our labels
  with the data in one section (a plain_text block cannot hold a bold label or a
  quote), and the mrkdwn escaping of `<` and `&` is what Slack documents. The exact
  text stays in the case system.
- Hidden characters (bidi controls, zero-width spaces, BOM, tag characters, control
  characters) are named visibly, `[U+202E]` (checkpoints.text.show_hidden).
- CPR-like numbers are masked as DDMMYY-XXXX (checkpoints.text.mask_cprs) unless full CPR
  numbers are explicitly allowed.
"""

from __future__ import annotations

import re

from checkpoints.text import mask_cprs, show_hidden

_INLINE = str.maketrans({"*": "\uff0a", "_": "\uff3f", "~": "\uff5e", "`": "\uff40"})
_ENTITIES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})
# A `>` first on a line (after blanks) would quote the rest of the line.
_QUOTE_START = re.compile(r"^([ \t]*)>", re.MULTILINE)


def escape(text: str, *, multiline: bool = False, full_cpr: bool = False) -> str:
    """Outside text for a mrkdwn field: inert, visible, CPR numbers masked.

    One line unless `multiline` (line breaks are then kept; otherwise they are named,
    so a value cannot start a quote or a new paragraph of its own).
    """
    shown = text.replace("\r\n", "\n") if multiline else text  # a web form's line ends
    shown = shown if full_cpr else mask_cprs(shown)
    shown = show_hidden(shown, keep_newlines=multiline)
    shown = _QUOTE_START.sub("\\1\uff1e", shown)
    return shown.translate(_INLINE).translate(_ENTITIES)


def plain(text: str, *, full_cpr: bool = False) -> str:
    """Outside text for a plain_text field (a header): one line, hidden characters named."""
    shown = text if full_cpr else mask_cprs(text)
    return show_hidden(shown, keep_newlines=False)
