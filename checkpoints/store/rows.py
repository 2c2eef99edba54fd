"""Stored rows as the rest of the product sees them (pydantic models)."""

from __future__ import annotations

from typing import Any

from checkpoints import processes
from checkpoints.forms import Change
from checkpoints.models import Checkpoint, Decision, EditProposal, Proposal, UnloadedCase
from checkpoints.process import Reason
from checkpoints.store.models import CheckpointRow, DecisionRow, EditProposalRow


def case_of(process_name: str, case_id: str, data: dict[str, Any]) -> Any:
    """The stored case as its process's model; kept as stored when the process is not loaded."""
    process = processes.find(process_name)
    if process is None:
        return UnloadedCase(case_id=case_id, data=data)
    return process.load_case(data)


def to_checkpoint(
    row: CheckpointRow, decision: DecisionRow | None, pending: EditProposalRow | None = None
) -> Checkpoint:
    """A checkpoint row with its decision and pending edit, as a model."""
    return Checkpoint(
        checkpoint_id=row.id,
        case_id=row.case_id,
        process=row.process,
        case=case_of(row.process, row.case_id, row.case_data),
        reasons=[Reason.model_validate(r) for r in row.reasons],
        proposal=Proposal.model_validate(row.proposal),
        screenshot=row.screenshot,
        status=row.status,
        created_at=row.created_at,
        deadline_at=row.deadline_at,
        decided_at=row.decided_at,
        applied_at=row.applied_at,
        flow_run_id=row.flow_run_id,
        outcome=row.outcome,
        error=row.error,
        error_screenshot=row.error_screenshot,
        attempts=row.attempts,
        supersedes=row.supersedes,
        target_url=row.target_url,
        decision=None
        if decision is None
        else Decision(
            checkpoint_id=decision.checkpoint_id,
            kind=decision.kind,
            decided_by=decision.decided_by,
            channel=decision.channel,
            decided_at=decision.decided_at,
            changes=[Change.model_validate(c) for c in decision.changes],
            values=decision.values,
            comment=decision.comment,
            confirmed_by=decision.confirmed_by,
        ),
        pending_edit=None
        if pending is None
        else EditProposal(
            checkpoint_id=pending.checkpoint_id,
            proposed_by=pending.proposed_by,
            channel=pending.channel,
            proposed_at=pending.proposed_at,
            changes=[Change.model_validate(c) for c in pending.changes],
            values=pending.values,
            comment=pending.comment,
        ),
    )
