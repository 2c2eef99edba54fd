"""The change-of-address journal in plain words: its own kinds of entry.

The machinery explains what every process shares (decisions, checkpoints, failures);
these are the entries only this process writes (reading a notification, registering
the move, closing the case), registered on the process with `explains`.
"""

from __future__ import annotations

from typing import Any

from checkpoints.explain import explain_generic
from checkpoints.process import Locale


def _t(locale: Locale, da: str, en: str) -> str:
    return da if locale == "da" else en


_OUTCOMES = {
    "da": {
        "manual": "Robotten lukkede sagen i sagssystemet som sendt til manuel behandling.",
        "awaiting_citizen": "Robotten markerede sagen som afventende borgeren.",
    },
    "en": {
        "manual": "The robot closed the case in the case system as sent to manual handling.",
        "awaiting_citizen": "The robot marked the case as awaiting the citizen.",
    },
}


def read(data: dict[str, Any], actor: str, locale: Locale) -> str:
    """What the robot read of a notification (`case.read`)."""
    if "facts" in data:
        return explain_generic("case.read", data, actor, locale)
    movers = data.get("movers")
    if not movers:
        problems = ", ".join(p["field"] for p in data.get("problems", [])) or "?"
        return _t(
            locale,
            "Robotten læste anmeldelsen. Disse felter kunne ikke læses eller var ugyldige: "
            f"{problems}.",
            f"The robot read the notification. These fields could not be read or were not valid: "
            f"{problems}.",
        )
    who = ", ".join(f"{m['name']} ({m['cpr']})" for m in movers)
    remarks = data.get("remarks_chars", 0)
    remark_text = (
        _t(
            locale,
            f" Borgeren skrev en bemærkning ({remarks} tegn).",
            f" The citizen wrote a remark ({remarks} characters).",
        )
        if remarks
        else ""
    )
    return _t(
        locale,
        f"Robotten læste anmeldelsen: {who} flytter fra {data['old_address']} til "
        f"{data['new_address']} pr. {data['move_date']}.{remark_text}",
        f"The robot read the notification: {who} move from {data['old_address']} to "
        f"{data['new_address']} as of {data['move_date']}.{remark_text}",
    )


def _registered(data: dict[str, Any], actor: str, locale: Locale) -> str:
    ids = ", ".join(
        r["registration_id"] if isinstance(r, dict) else r for r in data["registrations"]
    )
    by = data.get("decided_by")
    after = _t(locale, f" efter {by}s afgørelse", f" as {by} decided") if by else ""
    return _t(
        locale,
        f"Robotten registrerede flytningen i folkeregistret{after} (registrering {ids}), "
        "kontrollerede den og lukkede sagen.",
        f"The robot registered the move in the population register{after} (registration "
        f"{ids}), checked it and closed the case.",
    )


def _registering(data: dict[str, Any], actor: str, locale: Locale) -> str:
    return _t(
        locale,
        "Robotten gik i gang med at registrere flytningen med de oplysninger, reglerne havde "
        "godkendt.",
        "The robot began registering the move with the data the rules had cleared.",
    )


def _closing(data: dict[str, Any], actor: str, locale: Locale) -> str:
    ids = ", ".join(str(r) for r in data.get("registrations", []))
    return _t(
        locale,
        f"Robotten registrerede flytningen (registrering {ids}) og gik i gang med at lukke sagen.",
        f"The robot registered the move (registration {ids}) and began closing the case.",
    )


def _closed(data: dict[str, Any], actor: str, locale: Locale) -> str:
    outcome = str(data["outcome"])
    return _OUTCOMES[locale].get(outcome, outcome) + f" ({data.get('note', '')})"


EXPLAINERS = {
    "case.read": read,
    "robot.registering": _registering,
    "robot.closing": _closing,
    "robot.registered": _registered,
    "robot.closed": _closed,
}
