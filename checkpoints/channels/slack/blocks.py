"""Block Kit for checkpoints, built by pure functions from the checkpoint model.

Everything that comes from the case or from a person is made inert for mrkdwn
(`mrkdwn.escape`): a citizen's `<!channel>`, `*bold*` or bidi control is shown as
visible text and pings, formats or hides nothing; CPR numbers in it are masked.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from checkpoints.channels.slack.mrkdwn import escape, plain
from checkpoints.models import Checkpoint
from domain.change_of_address import mask_cpr

__all__ = ["escape"]  # re-exported: what every caller escapes outside text with

Locale = Literal["da", "en"]
Block = dict[str, Any]

ACTION_APPROVE = "checkpoint_approve"
ACTION_EDIT = "checkpoint_edit"
ACTION_MANUAL = "checkpoint_manual"
ACTION_CONTACT = "checkpoint_contact_citizen"
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
        "header": "Flytning {case_id}: afventer afgørelse",
        "movers": "Flytter",
        "from": "Fra",
        "to": "Til",
        "date": "Flyttedato",
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
        "text": "Sag {case_id} venter på en afgørelse: {reasons}",
        "decided": "{what} af {who}, {when}",
        "approve_done": "Godkendt",
        "edit_done": "Rettet og godkendt",
        "manual_done": "Sendt til manuel behandling",
        "contact_citizen_done": "Borgeren kontaktes",
        "changes": "Rettelser",
        "registered": "Robotten registrerede flytningen ({ids}) og lukkede sagen.",
        "closed_manual": "Robotten lukkede sagen som sendt til manuel behandling.",
        "closed_citizen": "Robotten markerede sagen som afventende borgeren.",
        "failed": "Robotten kunne ikke udføre afgørelsen: {error}. Driften kan prøve igen.",
        "superseded": "Sagen var ændret i sagssystemet; den er sat til en ny afgørelse.",
        "reminder": "Påmindelse: sag {case_id} venter stadig på en afgørelse (siden {since}).",
        "escalation": "Sag {case_id} har ventet på en afgørelse siden {since}: {link}",
        "already": "Sagen er allerede afgjort af {who} {when}. Intet blev ændret.",
        "refused": "Du har ikke adgang til at afgøre sager fra robotten. Intet blev ændret.",
        "modal_title": "Ret og godkend",
        "modal_submit": "Godkend",
        "street": "Vej",
        "house_number": "Husnummer",
        "floor": "Etage",
        "door": "Dør",
        "postcode": "Postnummer",
        "city": "By",
        "mover_name": "Flytter {n}: navn",
        "mover_cpr": "Flytter {n}: CPR (tom: uændret {masked})",
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
        "header": "Move {case_id}: waiting for a decision",
        "movers": "Moving",
        "from": "From",
        "to": "To",
        "date": "Move date",
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
        "text": "Case {case_id} waits for a decision: {reasons}",
        "decided": "{what} by {who}, {when}",
        "approve_done": "Approved",
        "edit_done": "Edited and approved",
        "manual_done": "Sent to manual handling",
        "contact_citizen_done": "The citizen will be contacted",
        "changes": "Changes",
        "registered": "The robot registered the move ({ids}) and closed the case.",
        "closed_manual": "The robot closed the case as sent to manual handling.",
        "closed_citizen": "The robot marked the case as awaiting the citizen.",
        "failed": "The robot could not carry out the decision: {error}. Operations can retry.",
        "superseded": "The case had changed in the case system; it waits for a new decision.",
        "reminder": "Reminder: case {case_id} still waits for a decision (since {since}).",
        "escalation": "Case {case_id} has waited for a decision since {since}: {link}",
        "already": "This case was already decided by {who} {when}. Nothing was changed.",
        "refused": "You may not decide the robot's cases. Nothing was changed.",
        "modal_title": "Edit and approve",
        "modal_submit": "Approve",
        "street": "Street",
        "house_number": "House number",
        "floor": "Floor",
        "door": "Door",
        "postcode": "Postcode",
        "city": "City",
        "mover_name": "Mover {n}: name",
        "mover_cpr": "Mover {n}: CPR (empty: unchanged {masked})",
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
    """At most `limit` characters, never ending inside an escape (`&lt;`) or a `[U+202E]`."""
    if len(text) <= limit:
        return text
    cut = text[:limit]
    amp, bracket = cut.rfind("&"), cut.rfind("[U+")
    if amp > cut.rfind(";"):
        cut = cut[:amp]
    if bracket > cut.rfind("]"):
        cut = cut[:bracket]
    return cut


def _field(name: str) -> str:
    """A field path or rule id: ours (`new_address.street`) as it is, anything else escaped."""
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
    header = t["header"].format(case_id=plain(c.case_id, full_cpr=full_cpr))[:150]
    blocks: list[Block] = [
        {"type": "header", "text": {"type": "plain_text", "text": header, "emoji": False}}
    ]
    show = (lambda cpr: cpr) if full_cpr else mask_cpr
    n = c.case.notification
    if n is not None:
        movers = ", ".join(f"{escape(m.name, full_cpr=full_cpr)} ({show(m.cpr)})" for m in n.movers)
        facts = [
            f"*{t['movers']}:* {movers}",
            f"*{t['from']}:* {escape(n.old_address.one_line(), full_cpr=full_cpr)}",
            f"*{t['to']}:* {escape(n.new_address.one_line(), full_cpr=full_cpr)}",
            f"*{t['date']}:* {n.move_date.isoformat()}",
        ]
    else:
        facts = [f"*{t['invalid']}:* " + ", ".join(_field(p.field) for p in c.case.problems)]
    blocks.append(_section("\n".join(facts)))
    reasons = "\n".join(
        f"• {escape(r.message, full_cpr=full_cpr)} (`{_field(r.rule_id)}`)" for r in c.reasons
    )
    blocks.append(_section(f"*{t['why']}:*\n{reasons}"))
    remarks = c.case.remarks.strip()
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

    return {
        "type": "actions",
        "block_id": f"decide:{c.checkpoint_id}",
        "elements": [
            button(ACTION_APPROVE, t["approve"], "primary"),
            button(ACTION_EDIT, t["edit"]),
            button(ACTION_MANUAL, t["manual"]),
            button(ACTION_CONTACT, t["contact"]),
        ],
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
    if c.status == "applied" and c.outcome:
        action = c.outcome.get("action")
        if action == "registered":
            ids = ", ".join(escape(str(r)) for r in c.outcome.get("registrations", []))
            return t["registered"].format(ids=ids)
        return t["closed_manual"] if action == "manual" else t["closed_citizen"]
    if c.status == "failed":
        return t["failed"].format(error=escape((c.error or "?")[:300]))
    if c.status == "superseded":
        return t["superseded"]
    return ""


def reply(key: str, locale: Locale = "da", **values: str) -> str:
    """A short text (reminder, refusal, already decided...), values escaped."""
    return _T[locale][key].format(**{k: escape(v) for k, v in values.items()})


def edit_view(checkpoint: Checkpoint, *, locale: Locale = "da") -> dict[str, Any]:
    """The modal for Edit and approve, pre-filled with the values as read."""
    t = _T[locale]
    raw = checkpoint.case.raw
    address = raw.get("new_address") if isinstance(raw.get("new_address"), dict) else {}
    blocks: list[Block] = []
    for field in ("street", "house_number", "floor", "door", "postcode", "city"):
        value = address.get(field) if address else None
        blocks.append(
            _input(f"new_address.{field}", t[field], value, optional=field in ("floor", "door"))
        )
    move_date = str(raw.get("move_date") or "")
    blocks.append(_input("move_date", t["date"], move_date, placeholder="YYYY-MM-DD"))
    movers = raw.get("movers") if isinstance(raw.get("movers"), list) else []
    for index, mover in enumerate(movers or []):
        if not isinstance(mover, dict):
            continue
        n = str(index + 1)
        blocks.append(
            _input(f"movers.{index}.name", t["mover_name"].format(n=n), mover.get("name"))
        )
        masked = mask_cpr(str(mover.get("cpr") or ""))
        blocks.append(
            _input(
                f"movers.{index}.cpr",
                t["mover_cpr"].format(n=n, masked=masked),
                None,
                optional=True,
            )
        )
    blocks.append(_input("comment", t["comment"], None, optional=True, multiline=True))
    return {
        "type": "modal",
        "callback_id": EDIT_VIEW,
        "private_metadata": checkpoint.checkpoint_id,
        "title": {"type": "plain_text", "text": t["modal_title"][:24]},
        "submit": {"type": "plain_text", "text": t["modal_submit"]},
        "blocks": blocks[:100],
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
