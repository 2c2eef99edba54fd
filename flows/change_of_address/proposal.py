"""The change-of-address robot's proposal: what it would register if a person approves."""

from __future__ import annotations

from typing import Literal

from checkpoints.models import Proposal
from flows.change_of_address.case import CaseFile, Reason


def proposal_for(case: CaseFile, reasons: list[Reason], locale: Literal["da", "en"]) -> Proposal:
    """What the robot would do if a person approves the case as read."""
    notification = case.notification
    if notification is None or case.problems:
        fields = ", ".join(p.field for p in case.problems) or "?"
        summary = {
            "da": f"Robotten kan ikke foreslå en registrering: felterne {fields} er ikke gyldige. "
            "Ret dem, eller send sagen til manuel behandling.",
            "en": f"The robot cannot propose a registration: the fields {fields} are not valid. "
            "Correct them, or send the case to manual handling.",
        }[locale]
        return Proposal(action="none", summary=summary)
    names = ", ".join(m.name for m in notification.movers)
    old, new = notification.old_address.one_line(), notification.new_address.one_line()
    day = notification.move_date.isoformat()
    summary = {
        "da": f"Registrér flytningen af {names} fra {old} til {new} pr. {day}, og luk sagen.",
        "en": f"Register the move of {names} from {old} to {new} as of {day}, and close the case.",
    }[locale]
    return Proposal(action="register_move", summary=summary)
