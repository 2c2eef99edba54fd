"""Carrying out a stored decision in the case system, step by step."""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from checkpoints.models import Checkpoint
from checkpoints.store.repository import CheckpointStore
from flows.change_of_address.case import CaseFile, ClearanceError, Notification, Reason, mask_cpr
from flows.change_of_address.clearance import clearance_from_decision
from flows.change_of_address.proposal import proposal_for
from flows.change_of_address.robot import CaseSystemRobot
from flows.crashpoints import crash_point
from flows.runtime import CarriedOut

_CHANGED = {
    "da": "Sagen er ændret i sagssystemet, efter at den blev sat til afgørelse; "
    "en person skal se den igen.",
    "en": "The case changed in the case system after it was set aside; "
    "a person must look at it again.",
}


_END_STATE = {
    "approve": "registered",
    "edit": "registered",
    "manual": "manual",
    "contact_citizen": "awaiting_citizen",
}


async def carry_out(
    robot: CaseSystemRobot,
    store: CheckpointStore,
    checkpoint: Checkpoint,
    *,
    reroute: Callable[[CaseFile], list[Reason]],
    deadline_hours: float,
    locale: Literal["da", "en"],
) -> CarriedOut:
    """Re-read the case; act on the decision only if the case is as the person saw it."""
    decision = checkpoint.decision
    if decision is None:
        raise ClearanceError(f"checkpoint {checkpoint.checkpoint_id} has no stored decision")
    case_id, by = checkpoint.case_id, decision.decided_by
    done = {"checkpoint_id": checkpoint.checkpoint_id, "case_id": case_id}
    crash_point("decision.resumed", case_id)
    case = await robot.read_case(case_id)
    if case.status == _END_STATE[decision.kind]:
        # A replay after a crash between acting and recording: the work is done already.
        store.finish(
            checkpoint.checkpoint_id,
            status="applied",
            kind="robot.confirmed",
            data={"case_status": case.status, "decided_by": by},
            outcome={"action": case.status},
        )
        return CarriedOut(**done, action=case.status)
    if case.status not in ("open", "in_progress"):
        store.finish(
            checkpoint.checkpoint_id,
            status="superseded",
            kind="case.closed_elsewhere",
            data={"case_status": case.status},
        )
        return CarriedOut(**done, action="closed_elsewhere")
    if case.raw != checkpoint.case.raw:
        case = await robot.enrich(case)
        reasons = [Reason(rule_id="case.changed", message=_CHANGED[locale]), *reroute(case)]
        new = store.open_checkpoint(
            case=case,
            reasons=reasons,
            proposal=proposal_for(case, reasons, locale),
            screenshot=checkpoint.screenshot,
            process=checkpoint.process,
            deadline_hours=deadline_hours,
            supersedes=checkpoint.checkpoint_id,
            target_url=checkpoint.target_url,
        )
        return CarriedOut(**done, action="superseded", new_checkpoint_id=new.checkpoint_id)

    if decision.kind in ("approve", "edit"):
        notification = Notification.model_validate(decision.values)
        clearance = clearance_from_decision(checkpoint, notification)
        decided = await robot.enrich(
            case.model_copy(update={"notification": notification, "problems": []})
        )
        store.record(
            case_id,
            "robot.registering",
            {"fingerprint": clearance.fingerprint, "basis": "decision", "decided_by": by},
        )
        registrations = await robot.register_move(decided, clearance)
        crash_point("decision.registered", case_id)
        ids = [r.registration_id for r in registrations]
        await robot.close_case(
            case_id,
            "registered",
            f"Flytning registreret af robot efter afgørelse af {by} ({', '.join(ids)}).",
        )
        show = (lambda cpr: cpr) if store.full_cpr else mask_cpr
        store.finish(
            checkpoint.checkpoint_id,
            status="applied",
            kind="robot.registered",
            data={
                "decided_by": by,
                "registrations": [
                    {
                        "registration_id": r.registration_id,
                        "cpr": show(r.cpr),
                        "address": notification.new_address.one_line(),
                        "move_date": r.move_date.isoformat(),
                    }
                    for r in registrations
                ],
            },
            outcome={"action": "registered", "registrations": ids},
        )
        return CarriedOut(**done, action="registered", registrations=ids)

    comment = f" Kommentar: {decision.comment}" if decision.comment else ""
    outcome: Literal["manual", "awaiting_citizen"]
    if decision.kind == "manual":
        outcome = "manual"
        note = f"Sendt til manuel behandling af {by}.{comment}"
    else:
        outcome = "awaiting_citizen"
        note = f"Afventer borgeren. Opfølgning: {by}.{comment}"
    await robot.close_case(case_id, outcome, note)
    store.finish(
        checkpoint.checkpoint_id,
        status="applied",
        kind="robot.closed",
        data={"outcome": outcome, "decided_by": by, "note": note},
        outcome={"action": outcome},
    )
    return CarriedOut(**done, action=outcome)
