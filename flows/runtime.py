"""The generic runtime of a process: carrying out a stored decision, case by case.

What a process declares (checkpoints/process.py) is run here, the same way for every
process: re-read the case, leave it when it was closed elsewhere, send it back to a
person when it changed since the person saw it, else journal what the robot is about
to do, do it through the process's carry-out, and journal what it did. The robot acts
only on a `Decided` made here from a stored decision (or from routing that found
nothing), bound by a fingerprint to the exact values that were cleared.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from checkpoints.channels import enabled as chat_channels
from checkpoints.models import Checkpoint, Proposal
from checkpoints.process import (
    ClearanceError,
    Decided,
    Locale,
    Process,
    Reason,
    Text,
    digest,
)
from checkpoints.processes import rule_settings as rule_settings
from checkpoints.store.repository import CheckpointStore
from config.settings import Settings
from flows.crashpoints import crash_point

ACTING = "robot.acting"
DONE = "robot.done"

_CHANGED = Text(
    da="Sagen er ændret i sagssystemet, efter at den blev sat til afgørelse; "
    "en person skal se den igen.",
    en="The case changed in the case system after it was set aside; "
    "a person must look at it again.",
)


class CarriedOut(BaseModel):
    """What the robot did with a decided checkpoint."""

    checkpoint_id: str
    case_id: str
    action: str = Field(
        description="What was done (`registered`, `issued`, `rejected`, `manual`...), or "
        "`superseded` (back to a person) or `closed_elsewhere`."
    )
    registrations: list[str] = Field(default_factory=list)
    references: list[str] = Field(default_factory=list)
    new_checkpoint_id: str | None = None


def proposal_of(process: Process[Any, Any], case: Any, locale: Locale) -> Proposal:
    """The robot's proposal for a case: the process's own words, or why it has none."""
    action = "act" if process.valid_form(case) is not None else "none"
    return Proposal(action=action, summary=process.proposal(case, locale))


def deadline_hours(settings: Settings, process: Process[Any, Any]) -> float:
    """How long people have for a checkpoint of this process."""
    own = settings.process_settings.get(process.name)
    if own is not None and own.deadline_hours is not None:
        return own.deadline_hours
    return process.deadline_hours or settings.checkpoints.deadline_hours


def open_checkpoint(
    store: CheckpointStore,
    process: Process[Any, Any],
    case: Any,
    reasons: list[Reason],
    settings: Settings,
    *,
    screenshot: str | None,
    target_url: str | None,
    supersedes: str | None = None,
) -> Checkpoint:
    """Store a checkpoint of this process for a case (idempotent per case and process)."""
    return store.open_checkpoint(
        case=case,
        reasons=reasons,
        proposal=proposal_of(process, case, settings.locale),
        screenshot=screenshot,
        process=process.name,
        deadline_hours=deadline_hours(settings, process),
        supersedes=supersedes,
        target_url=target_url,
        channels=chat_channels(settings),
    )


def decided_from(checkpoint: Checkpoint) -> Decided:
    """The stored decision as the robot receives it; refuses a checkpoint without one."""
    decision = checkpoint.decision
    if decision is None:
        raise ClearanceError(
            f"case {checkpoint.case_id}: checkpoint {checkpoint.checkpoint_id} has no stored "
            "decision; the robot may not act on it"
        )
    values = decision.values
    return Decided(
        kind=decision.kind,
        basis="decision",
        decided_by=decision.decided_by,
        values=values,
        comment=decision.comment,
        changes=decision.changes,
        fingerprint=digest(values) if values is not None else "",
    )


async def carry_out(
    process: Process[Any, Any],
    robot: Any,
    store: CheckpointStore,
    checkpoint: Checkpoint,
    settings: Settings,
) -> CarriedOut:
    """Re-read the case; act on the decision only if the case is as the person saw it."""
    decided = decided_from(checkpoint)
    case_id, by = checkpoint.case_id, decided.decided_by
    key = process.journal_key(case_id)
    done = {"checkpoint_id": checkpoint.checkpoint_id, "case_id": case_id}
    crash_point("decision.resumed", case_id)
    assert process.reader is not None
    case = await process.reader(robot, case_id)
    end = process.end_status[decided.kind]
    if case.status == end:
        # A replay after a crash between acting and recording: the work is done already.
        store.finish(
            checkpoint.checkpoint_id,
            status="applied",
            kind="robot.confirmed",
            data={"case_status": case.status, "decided_by": by},
            outcome={"action": case.status},
        )
        return CarriedOut(**done, action=case.status)
    if case.status not in process.open_statuses:
        store.finish(
            checkpoint.checkpoint_id,
            status="superseded",
            kind="case.closed_elsewhere",
            data={"case_status": case.status},
        )
        return CarriedOut(**done, action="closed_elsewhere")
    if process.fingerprint(case) != process.fingerprint(checkpoint.case):
        changed = Reason(rule_id="case.changed", message=_CHANGED.get(settings.locale))
        reasons = [changed, *process.route(case, rule_settings(settings, process), settings.locale)]
        new = open_checkpoint(
            store,
            process,
            case,
            reasons,
            settings,
            screenshot=checkpoint.screenshot,
            target_url=checkpoint.target_url,
            supersedes=checkpoint.checkpoint_id,
        )
        return CarriedOut(**done, action="superseded", new_checkpoint_id=new.checkpoint_id)
    store.record(
        key,
        ACTING,
        {"decision": decided.kind, "fingerprint": decided.fingerprint, "basis": "decision",
         "decided_by": by},
    )  # fmt: skip
    outcome = await process.handlers[decided.kind](robot, case, decided)
    crash_point("decision.registered", case_id)
    store.finish(
        checkpoint.checkpoint_id,
        status="applied",
        kind=DONE,
        data={"decided_by": by, "decision": decided.kind, **outcome.model_dump(mode="json")},
        outcome=outcome.model_dump(mode="json"),
    )
    return CarriedOut(**done, action=outcome.action, references=outcome.references)
