"""A case's journal as plain language a caseworker can read out to the citizen."""

from __future__ import annotations

from typing import Any

from checkpoints import processes
from checkpoints.journal import JournalEntry
from checkpoints.process import Locale, Renderer

_DECISIONS = {
    "da": {
        "approve": "godkendte robottens forslag",
        "edit": "godkendte sagen med rettelser",
        "manual": "sendte sagen til manuel behandling",
        "contact_citizen": "besluttede at kontakte borgeren",
        "reject": "afviste sagen",
    },
    "en": {
        "approve": "approved the robot's proposal",
        "edit": "approved the case with corrections",
        "manual": "sent the case to manual handling",
        "contact_citizen": "decided to contact the citizen",
        "reject": "rejected the case",
    },
}
_HEADER = {
    "da": "Sag {case_id}: hvad der skete, og hvorfor",
    "en": "Case {case_id}: what happened, and why",
}
_EMPTY = {
    "da": "Der er ingen journal for sag {case_id}.",
    "en": "There is no journal for case {case_id}.",
}


def explain(case_id: str, entries: list[JournalEntry], locale: Locale = "da") -> list[str]:
    """One line (or a few) per journal entry, oldest first, in the given language.

    Entries of the generic machinery are explained here; the process whose journal this
    is explains its own kinds of entry (`Process.explains`).
    """
    if not entries:
        return [_EMPTY[locale].format(case_id=case_id)]
    key = entries[0].case_id
    owner = next((p for p in processes.load().values() if p.journal_key(case_id) == key), None)
    own: dict[str, Renderer] = owner.explainers if owner is not None else {}
    lines = [_HEADER[locale].format(case_id=case_id), ""]
    for entry in entries:
        when = entry.at.strftime("%Y-%m-%d %H:%M UTC")
        render = own.get(entry.kind) or _RENDERERS.get(entry.kind, _other)
        text = render(entry.data, entry.actor, locale)
        first, *rest = text.splitlines()
        lines.append(f"{when}  {first}")
        lines += [f"{'':18}  {line}" for line in rest]
    return lines


def _t(locale: Locale, da: str, en: str) -> str:
    return da if locale == "da" else en


def _read(data: dict[str, Any], actor: str, locale: Locale) -> str:
    return _read_facts(data, locale)


def _read_facts(data: dict[str, Any], locale: Locale) -> str:
    """What the robot read of a case of any process: its facts, as the process shows them."""
    facts = "; ".join(f"{f['label']}: {f['value']}" for f in data.get("facts", []))
    problems = ", ".join(p["field"] for p in data.get("problems", []))
    lines = [_t(locale, f"Robotten læste sagen: {facts}.", f"The robot read the case: {facts}.")]
    if problems:
        lines.append(
            _t(
                locale,
                f"Disse felter var ikke gyldige: {problems}.",
                f"These fields were not valid: {problems}.",
            )
        )
    remarks = data.get("remarks_chars", 0)
    if remarks:
        lines.append(
            _t(
                locale,
                f"Borgeren skrev en bemærkning ({remarks} tegn).",
                f"The citizen wrote a remark ({remarks} characters).",
            )
        )
    return "\n".join(lines)


def _acting(data: dict[str, Any], actor: str, locale: Locale) -> str:
    by = data.get("decided_by")
    basis = (
        _t(locale, f"som {by} afgjorde", f"as {by} decided")
        if by
        else _t(locale, "som reglerne godkendte", "as the rules cleared it")
    )
    what = _DECISIONS[locale].get(str(data.get("decision")), str(data.get("decision")))
    return _t(
        locale,
        f"Robotten gik i gang med at udføre afgørelsen ({what}), {basis}.",
        f"The robot began carrying out the decision ({what}), {basis}.",
    )


def _done(data: dict[str, Any], actor: str, locale: Locale) -> str:
    by = data.get("decided_by")
    after = _t(locale, f" efter {by}s afgørelse", f" as {by} decided") if by else ""
    refs = ", ".join(str(r) for r in data.get("references", []))
    refs = f" ({refs})" if refs else ""
    note = str(data.get("note") or "")
    return _t(
        locale,
        f"Robotten udførte afgørelsen{after}: {data.get('action', '?')}{refs}. {note}".rstrip(),
        f"The robot carried out the decision{after}: {data.get('action', '?')}{refs}. "
        f"{note}".rstrip(),
    )


def _rules_none(data: dict[str, Any], actor: str, locale: Locale) -> str:
    return _t(
        locale,
        "Reglerne fandt intet, der krævede en person: sagen var rutine.",
        "The rules found nothing that needed a person: the case was routine.",
    )


def _rules_fired(data: dict[str, Any], actor: str, locale: Locale) -> str:
    head = _t(
        locale,
        "Reglerne fandt grunde til, at en person skulle afgøre sagen:",
        "The rules found reasons for a person to decide the case:",
    )
    return "\n".join([head, *(f"- {r['message']} [{r['rule_id']}]" for r in data["reasons"])])


def _opened(data: dict[str, Any], actor: str, locale: Locale) -> str:
    return _t(
        locale,
        f"Sagen blev sat til afgørelse hos en sagsbehandler ({data['checkpoint_id']}) og "
        f"markeret under behandling. Robottens forslag: {data['proposal']}",
        f"The case was set aside for a caseworker ({data['checkpoint_id']}) and marked in "
        f"progress. The robot's proposal: {data['proposal']}",
    )


def _decision(data: dict[str, Any], actor: str, locale: Locale) -> str:
    what = _DECISIONS[locale].get(data["decision"], data["decision"])
    channel = data.get("channel", "")
    lines = [_t(locale, f"{actor} {what} (via {channel}).", f"{actor} {what} (via {channel}).")]
    for change in data.get("changes", []):
        lines.append(
            _t(
                locale,
                f"- {change['field']}: {change['before']!r} blev rettet til {change['after']!r}",
                f"- {change['field']}: {change['before']!r} was corrected to {change['after']!r}",
            )
        )
    if data.get("comment"):
        lines.append(_t(locale, f"Kommentar: {data['comment']}", f"Comment: {data['comment']}"))
    if data.get("confirmed_by"):
        who = data["confirmed_by"]
        lines.append(
            _t(locale, f"Bekræftet af {who} (fire øjne).", f"Confirmed by {who} (four eyes).")
        )
    return "\n".join(lines)


def _proposed(data: dict[str, Any], actor: str, locale: Locale) -> str:
    lines = [
        _t(
            locale,
            f"{actor} foreslog rettelser (via {data.get('channel', '')}); en anden person skal "
            "bekræfte dem:",
            f"{actor} proposed corrections (via {data.get('channel', '')}); a different person "
            "must confirm them:",
        )
    ]
    lines += [f"- {c['field']}: {c['before']!r} -> {c['after']!r}" for c in data.get("changes", [])]
    return "\n".join(lines)


def _rejected(data: dict[str, Any], actor: str, locale: Locale) -> str:
    comment = f" ({data['comment']})" if data.get("comment") else ""
    return _t(
        locale,
        f"{actor} afviste {data.get('proposed_by', '?')}s rettelser{comment}; sagen venter igen.",
        f"{actor} rejected the corrections by {data.get('proposed_by', '?')}{comment}; the case "
        "waits again.",
    )


def _robot_failed(data: dict[str, Any], actor: str, locale: Locale) -> str:
    code = data.get("code", "?")
    return _t(
        locale,
        f"Robotten kunne ikke gøre sagen færdig (fejl {code}); en person afgør den.",
        f"The robot could not finish the case (error {code}); a person decides it.",
    )


def _failed(data: dict[str, Any], actor: str, locale: Locale) -> str:
    return _t(
        locale,
        f"Robotten kunne ikke udføre afgørelsen: {data['error']}. Sagen venter på et nyt forsøg.",
        f"The robot could not carry out the decision: {data['error']}. The case waits for a retry.",
    )


def _retried(data: dict[str, Any], actor: str, locale: Locale) -> str:
    who = data.get("requested_by", "?")
    return _t(locale, f"{who} bad robotten prøve igen.", f"{who} asked the robot to try again.")


def _superseded(data: dict[str, Any], actor: str, locale: Locale) -> str:
    old, new = data["checkpoint_id"], data["new_checkpoint_id"]
    if data.get("because") == "robot.refused":
        return _t(
            locale,
            f"Robotten kunne ikke udføre afgørelsen ({old}); sagen blev sat til en ny afgørelse "
            f"({new}) med robottens begrundelse.",
            f"The robot could not carry out the decision ({old}); the case was set aside again "
            f"({new}) with the robot's reason.",
        )
    return _t(
        locale,
        f"Sagen var ændret, da robotten læste den igen; afgørelsen ({old}) blev ikke udført, "
        f"og sagen blev sat til en ny afgørelse ({new}).",
        f"The case had changed when the robot read it again; the decision ({old}) was not "
        f"carried out and the case was set aside again ({new}).",
    )


def _closed_elsewhere(data: dict[str, Any], actor: str, locale: Locale) -> str:
    return _t(
        locale,
        f"Sagen var allerede afsluttet i sagssystemet ({data['case_status']}); robotten gjorde "
        "intet.",
        f"The case was already closed in the case system ({data['case_status']}); the robot "
        "did nothing.",
    )


def _confirmed(data: dict[str, Any], actor: str, locale: Locale) -> str:
    return _t(
        locale,
        "Robotten bekræftede, at sagen allerede var afsluttet som besluttet "
        f"({data['case_status']}).",
        f"The robot confirmed that the case was already closed as decided ({data['case_status']}).",
    )


def _refused(data: dict[str, Any], actor: str, locale: Locale) -> str:
    who = data.get("user", actor)
    return _t(
        locale,
        f"{who} forsøgte at afgøre sagen via {data.get('channel', '?')} uden adgang; intet blev "
        "ændret.",
        f"{who} tried to decide the case via {data.get('channel', '?')} without access; nothing "
        "was changed.",
    )


def _other(data: dict[str, Any], actor: str, locale: Locale) -> str:
    return f"{actor}: {data}"


def explain_generic(kind: str, data: dict[str, Any], actor: str, locale: Locale) -> str:
    """A generic entry in plain words (for a process's explainer that falls back)."""
    return _RENDERERS.get(kind, _other)(data, actor, locale)


_RENDERERS: dict[str, Renderer] = {
    "case.read": _read,
    "rules.none": _rules_none,
    "rules.fired": _rules_fired,
    "checkpoint.opened": _opened,
    "decision.recorded": _decision,
    "robot.acting": _acting,
    "robot.done": _done,
    "robot.failed": _robot_failed,
    "checkpoint.failed": _failed,
    "checkpoint.retried": _retried,
    "checkpoint.superseded": _superseded,
    "case.closed_elsewhere": _closed_elsewhere,
    "robot.confirmed": _confirmed,
    "decision.refused": _refused,
    "decision.proposed": _proposed,
    "decision.rejected": _rejected,
}
