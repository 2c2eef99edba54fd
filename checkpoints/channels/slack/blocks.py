"""Block Kit for checkpoints, built by pure functions from the checkpoint model.

Everything that comes from the case or from a person is made inert for mrkdwn
(`mrkdwn.escape`): a citizen's `<!channel>`, `*bold*` or bidi control is shown as
visible text and pings, formats or hides nothing; CPR numbers in it are masked.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from checkpoints import processes
from checkpoints.channels.slack.mrkdwn import escape, plain
from checkpoints.models import Checkpoint
from checkpoints.process import Process

__all__ = ["escape"]  # re-exported: what every caller escapes outside text with

Locale = Literal["da", "en"]
Block = dict[str, Any]

ACTION_APPROVE = "checkpoint_approve"
ACTION_EDIT = "checkpoint_edit"
ACTION_MANUAL = "checkpoint_manual"
ACTION_CONTACT = "checkpoint_contact_citizen"
ACTION_REJECT_CASE = "checkpoint_reject_case"
REJECT_VIEW = "checkpoint_reject_view"
DECISION_ACTIONS = {
    ACTION_APPROVE: "approve",
    ACTION_MANUAL: "manual",
    ACTION_CONTACT: "contact_citizen",
}
ACTION_CONFIRM = "checkpoint_confirm_edit"
ACTION_REJECT = "checkpoint_reject_edit"
EDIT_VIEW = "checkpoint_edit_view"

SECTION_LIMIT = 3000  # characters of text in one section block
BLOCK_LIMIT = 50  # blocks in one message
REMARKS_LIMIT = 2500  # leave room for the quote marks and the note
_OUR_NAME = re.compile(r"[a-z0-9_.]+")

_T = {
    "da": {
        "locale": "da",
        "header": "{title} {case_id}: afventer afgørelse",
        "invalid": "Kunne ikke læses",
        "why": "Hvorfor en person skal afgøre sagen",
        "remarks": "Borgerens bemærkning",
        "cut": "_(forkortet: {shown} af {total} tegn vises; hele teksten står i sagssystemet)_",
        "proposal": "Robottens forslag",
        "case_link": "Sagen i sagssystemet",
        "run_link": "Robotkørslen i Prefect",
        "approve": "Godkend",
        "edit": "Ret og godkend",
        "manual": "Manuel behandling",
        "contact": "Kontakt borgeren",
        "reject_case": "Afvis",
        "reject_title": "Afvis sagen",
        "reject_reason": "Begrundelse (skrives på sagen og gives til borgeren)",
        "reject_done": "Afvist",
        "done": "Robotten har udført afgørelsen ({action}): {note}",
        "unloaded": "Processen {process} kører ikke her; sagen venter.",
        "text": "Sag {case_id} venter på en afgørelse: {reasons}",
        "decided": "{what} af {who}, {when}",
        "approve_done": "Godkendt",
        "edit_done": "Rettet og godkendt",
        "manual_done": "Sendt til manuel behandling",
        "contact_citizen_done": "Borgeren kontaktes",
        "changes": "Rettelser",
        "failed": "Robotten kunne ikke udføre afgørelsen: {error}. Driften kan prøve igen.",
        "superseded": "Sagen var ændret i sagssystemet; den er sat til en ny afgørelse.",
        "reminder": "Påmindelse: sag {case_id} venter stadig på en afgørelse (siden {since}).",
        "escalation": "Sag {case_id} har ventet på en afgørelse siden {since}: {link}",
        "already": "Sagen er allerede afgjort af {who} {when}. Intet blev ændret.",
        "refused": "Du har ikke adgang til at afgøre sager fra robotten. Intet blev ændret.",
        "modal_title": "Ret og godkend",
        "modal_submit": "Godkend",
        "comment": "Kommentar",
        "proposed": "Rettelser foreslået af {who}, {when}; en anden skal bekræfte:",
        "confirm": "Bekræft rettelsen",
        "reject": "Afvis rettelsen",
        "confirmed_by": ", bekræftet af {who}",
        "same_person": "En anden person end den, der foreslog rettelsen, skal bekræfte den.",
        "not_found": "Sagen findes ikke (længere) hos robotten. Intet blev ændret.",
        "try_again": "Det lykkedes ikke lige nu. Intet blev ændret; prøv igen om lidt.",
    },
    "en": {
        "locale": "en",
        "header": "{title} {case_id}: waiting for a decision",
        "invalid": "Could not be read",
        "why": "Why a person must decide",
        "remarks": "The citizen's remarks",
        "cut": "_(shortened: {shown} of {total} characters shown; the full text is in the "
        "case system)_",
        "proposal": "The robot's proposal",
        "case_link": "The case in the case system",
        "run_link": "The robot's run in Prefect",
        "approve": "Approve",
        "edit": "Edit and approve",
        "manual": "Manual handling",
        "contact": "Contact citizen",
        "reject_case": "Reject",
        "reject_title": "Reject the case",
        "reject_reason": "Reason (written to the case and given to the citizen)",
        "reject_done": "Rejected",
        "done": "The robot carried out the decision ({action}): {note}",
        "unloaded": "The process {process} does not run here; the case waits.",
        "text": "Case {case_id} waits for a decision: {reasons}",
        "decided": "{what} by {who}, {when}",
        "approve_done": "Approved",
        "edit_done": "Edited and approved",
        "manual_done": "Sent to manual handling",
        "contact_citizen_done": "The citizen will be contacted",
        "changes": "Changes",
        "failed": "The robot could not carry out the decision: {error}. Operations can retry.",
        "superseded": "The case had changed in the case system; it waits for a new decision.",
        "reminder": "Reminder: case {case_id} still waits for a decision (since {since}).",
        "escalation": "Case {case_id} has waited for a decision since {since}: {link}",
        "already": "This case was already decided by {who} {when}. Nothing was changed.",
        "refused": "You may not decide the robot's cases. Nothing was changed.",
        "modal_title": "Edit and approve",
        "modal_submit": "Approve",
        "comment": "Comment",
        "proposed": "Corrections proposed by {who}, {when}; a different person must confirm:",
        "confirm": "Confirm the edit",
        "reject": "Reject the edit",
        "confirmed_by": ", confirmed by {who}",
        "same_person": "Someone other than the person who proposed the edit must confirm it.",
        "not_found": "The robot does not know this case (any more). Nothing was changed.",
        "try_again": "That did not work just now. Nothing was changed; try again shortly.",
    },
}


def _section(text: str) -> Block:
    # verbatim: Slack links bare URLs and channel names of its own accord otherwise; our
    # own links are written out as <url|label>, which verbatim text still shows.
    return {
        "type": "section",
        "text": {"type": "mrkdwn", "text": _cut(text, SECTION_LIMIT), "verbatim": True},
    }


def _cut(text: str, limit: int) -> str:
    """At most `limit` characters, never ending inside an escape (`&lt;`), a `[U+202E]` or
    a code span of ours (a rule id in backticks: an unclosed one would be shown raw)."""
    if len(text) <= limit:
        return text
    cut = text[:limit]
    amp, bracket = cut.rfind("&"), cut.rfind("[U+")
    if amp > cut.rfind(";"):
        cut = cut[:amp]
    if bracket > cut.rfind("]"):
        cut = cut[:bracket]
    if cut.count("`") % 2:
        cut = cut[: cut.rfind("`")].removesuffix("(").rstrip()
    return cut


def _field(name: str) -> str:
    """A field path or rule id: ours (`form.field`, `rule.id`) as it is, anything else escaped."""
    return name if _OUR_NAME.fullmatch(name) else escape(name)


def _when(moment: Any) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC"


def checkpoint_message(
    checkpoint: Checkpoint,
    *,
    locale: Locale = "da",
    case_url: str | None = None,
    run_url: str | None = None,
    full_cpr: bool = False,
) -> dict[str, Any]:
    """The message asking for a decision: `text` and `blocks` for chat.postMessage."""
    t = _T[locale]
    blocks = _case_blocks(checkpoint, t, case_url=case_url, run_url=run_url, full_cpr=full_cpr)
    if checkpoint.status == "open":
        blocks.append(_buttons(checkpoint, t))
    elif checkpoint.status == "proposed":
        blocks += _proposed_blocks(checkpoint, t)
    else:
        blocks += _decided_blocks(checkpoint, t)
    reasons = ", ".join(r.rule_id for r in checkpoint.reasons)
    text = t["text"].format(case_id=escape(checkpoint.case_id), reasons=reasons)
    return {"text": text, "blocks": blocks[:BLOCK_LIMIT]}


def _case_blocks(
    c: Checkpoint, t: dict[str, str], *, case_url: str | None, run_url: str | None, full_cpr: bool
) -> list[Block]:
    process = processes.find(c.process)
    locale: Locale = "en" if t["locale"] == "en" else "da"
    title = process.title.get(locale) if process else c.process
    header = t["header"].format(title=title, case_id=plain(c.case_id, full_cpr=full_cpr))[:150]
    blocks: list[Block] = [
        {"type": "header", "text": {"type": "plain_text", "text": header, "emoji": False}}
    ]
    if process is None:
        blocks.append(_section(t["unloaded"].format(process=escape(c.process))))
        return blocks
    view = process.show(c.case, locale, full_cpr=full_cpr)
    facts = [f"*{escape(f.label)}:* {escape(f.value, full_cpr=full_cpr)}" for f in view.facts]
    if view.problems:
        facts.append(f"*{t['invalid']}:* " + ", ".join(_field(p.label) for p in view.problems))
    if facts:
        blocks.append(_section("\n".join(facts)))
    reasons = "\n".join(
        f"• {escape(r.message, full_cpr=full_cpr)} (`{_field(r.rule_id)}`)" for r in c.reasons
    )
    blocks.append(_section(f"*{t['why']}:*\n{reasons}"))
    remarks = view.remarks.strip()
    if remarks:
        blocks.append(_section(_quoted_remarks(remarks, t, full_cpr=full_cpr)))
    summary = escape(c.proposal.summary, full_cpr=full_cpr)
    blocks.append(_section(f"*{t['proposal']}:* {summary}"))
    links = []
    if case_url:
        links.append(f"<{case_url}|{t['case_link']}>")
    if run_url:
        links.append(f"<{run_url}|{t['run_link']}>")
    if links:
        blocks.append(
            {"type": "context", "elements": [{"type": "mrkdwn", "text": " · ".join(links)}]}
        )
    return blocks


def _quoted_remarks(remarks: str, t: dict[str, str], *, full_cpr: bool) -> str:
    shown = remarks[:REMARKS_LIMIT]
    lines = escape(shown, multiline=True, full_cpr=full_cpr).split("\n")
    quoted = "\n".join(f"> {line}" if line else ">" for line in lines)
    text = f"*{t['remarks']}:*\n{quoted}"
    if len(shown) < len(remarks) or len(text) > SECTION_LIMIT - 200:
        # Escaping can lengthen the text; cut again so the note always fits.
        text = _cut(text, SECTION_LIMIT - 200)
        note = t["cut"].format(shown=len(shown), total=len(remarks))
        text = f"{text}\n{note}"
    return text


def _buttons(c: Checkpoint, t: dict[str, str]) -> Block:
    """One button per decision the case's process takes (none when it is not loaded)."""

    def button(action_id: str, label: str, style: str | None = None) -> Block:
        element: Block = {
            "type": "button",
            "action_id": action_id,
            "text": {"type": "plain_text", "text": label},
            "value": c.checkpoint_id,
        }
        if style:
            element["style"] = style
        return element

    process = processes.find(c.process)
    offered = process.decisions if process else ()
    buttons = {
        "approve": button(ACTION_APPROVE, t["approve"], "primary"),
        "edit": button(ACTION_EDIT, t["edit"]),
        "manual": button(ACTION_MANUAL, t["manual"]),
        "contact_citizen": button(ACTION_CONTACT, t["contact"]),
        "reject": button(ACTION_REJECT_CASE, t["reject_case"], "danger"),
    }
    return {
        "type": "actions",
        "block_id": f"decide:{c.checkpoint_id}",
        "elements": [element for kind, element in buttons.items() if kind in offered],
    }


def _proposed_blocks(c: Checkpoint, t: dict[str, str]) -> list[Block]:
    p = c.pending_edit
    if p is None:
        return []
    changes = "\n".join(
        f"• {_field(ch.field)}: {escape(str(ch.before))} → {escape(str(ch.after))}"
        for ch in p.changes
        if "cpr" not in ch.field
    )
    who = t["proposed"].format(who=escape(p.proposed_by), when=_when(p.proposed_at))
    confirm: Block = {
        "type": "button",
        "action_id": ACTION_CONFIRM,
        "text": {"type": "plain_text", "text": t["confirm"]},
        "value": c.checkpoint_id,
        "style": "primary",
    }
    reject: Block = {
        "type": "button",
        "action_id": ACTION_REJECT,
        "text": {"type": "plain_text", "text": t["reject"]},
        "value": c.checkpoint_id,
    }
    return [
        _section(f"*{who}*\n{changes}"),
        {"type": "actions", "block_id": f"review:{c.checkpoint_id}", "elements": [confirm, reject]},
    ]


def _decided_blocks(c: Checkpoint, t: dict[str, str]) -> list[Block]:
    d = c.decision
    if d is None:
        return []
    what = t[f"{d.kind}_done"]
    line = t["decided"].format(what=what, who=escape(d.decided_by), when=_when(d.decided_at))
    if d.confirmed_by:
        line += t["confirmed_by"].format(who=escape(d.confirmed_by))
    blocks = [_section(f"*{line}*")]
    if d.changes:
        changes = "\n".join(
            f"• {_field(ch.field)}: {escape(str(ch.before))} → {escape(str(ch.after))}"
            for ch in d.changes
            if "cpr" not in ch.field
        )
        if changes:
            blocks.append(_section(f"*{t['changes']}:*\n{changes}"))
    outcome = outcome_text(c, t)
    if outcome:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": outcome}]})
    return blocks


def outcome_text(c: Checkpoint, t: dict[str, str] | None = None, locale: Locale = "da") -> str:
    """What the robot did, in one line (empty while it has not finished)."""
    t = t or _T[locale]
    locale = "en" if t["locale"] == "en" else "da"
    if c.status == "applied" and c.outcome:
        action = c.outcome.get("action")
        process = processes.find(c.process)
        own = process.outcome_text(c.outcome, locale) if process is not None else None
        if own is not None:
            return escape(own)
        note = str(c.outcome.get("note") or "")
        refs = ", ".join(str(r) for r in c.outcome.get("references", []))
        return t["done"].format(
            action=escape(str(action)), note=escape(f"{note} {refs}".strip()[:300])
        )
    if c.status == "failed":
        return t["failed"].format(error=escape((c.error or "?")[:300]))
    if c.status == "superseded":
        return t["superseded"]
    return ""


def reply(key: str, locale: Locale = "da", **values: str) -> str:
    """A short text (reminder, refusal, already decided...), values escaped."""
    return _T[locale][key].format(**{k: escape(v) for k, v in values.items()})


def edit_view(checkpoint: Checkpoint, *, locale: Locale = "da") -> dict[str, Any]:
    """The modal for Edit and approve: the process's form, pre-filled with the values as read."""
    t = _T[locale]
    process: Process[Any, Any] = processes.get(checkpoint.process)
    blocks: list[Block] = [
        _input(i.field, i.label, i.value, optional=i.optional, placeholder=i.placeholder)
        for i in process.edit_form(checkpoint.case, locale)
    ]
    blocks.append(_input("comment", t["comment"], None, optional=True, multiline=True))
    return {
        "type": "modal",
        "callback_id": EDIT_VIEW,
        "private_metadata": checkpoint.checkpoint_id,
        "title": {"type": "plain_text", "text": t["modal_title"][:24]},
        "submit": {"type": "plain_text", "text": t["modal_submit"]},
        "blocks": blocks[:100],
    }


def reject_view(checkpoint: Checkpoint, *, locale: Locale = "da") -> dict[str, Any]:
    """The modal for Reject: the reason is required (it is written to the case)."""
    t = _T[locale]
    return {
        "type": "modal",
        "callback_id": REJECT_VIEW,
        "private_metadata": checkpoint.checkpoint_id,
        "title": {"type": "plain_text", "text": t["reject_title"][:24]},
        "submit": {"type": "plain_text", "text": t["reject_case"]},
        "blocks": [_input("reason", t["reject_reason"], None, multiline=True)],
    }


def _input(
    field: str,
    label: str,
    value: Any,
    *,
    optional: bool = False,
    placeholder: str | None = None,
    multiline: bool = False,
) -> Block:
    element: Block = {"type": "plain_text_input", "action_id": "value", "multiline": multiline}
    if value not in (None, ""):
        element["initial_value"] = str(value)[:3000]
    if placeholder:
        element["placeholder"] = {"type": "plain_text", "text": placeholder}
    return {
        "type": "input",
        "block_id": field,
        "optional": optional,
        "label": {"type": "plain_text", "text": label[:2000]},
        "element": element,
    }


def submitted_values(view: dict[str, Any]) -> dict[str, str]:
    """Field -> text from a submitted edit modal (empty inputs left out)."""
    values: dict[str, str] = {}
    for block_id, actions in view.get("state", {}).get("values", {}).items():
        value = actions.get("value", {}).get("value")
        if value is not None:
            values[block_id] = value
    return values
