"""Four eyes on edits: one person proposes the corrected values, a different person confirms.

Only a confirmed edit becomes a decision the robot acts on; a rejected one puts the
checkpoint back to open. Each step is journalled.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from checkpoints import journal
from checkpoints.forms import Change
from checkpoints.models import Decision
from checkpoints.store import outbox as chat
from checkpoints.store.models import CheckpointRow, DecisionRow, EditProposalRow
from checkpoints.store.repository import AlreadyDecided, CheckpointNotFound, CheckpointStore


class SameApprover(ValueError):
    """The person who proposed an edit tried to confirm it too."""


class NothingProposed(ValueError):
    """There is no edit waiting for a second person on this checkpoint."""


def propose(
    store: CheckpointStore,
    *,
    checkpoint_id: str,
    proposed_by: str,
    channel: str,
    changes: list[Change],
    values: dict[str, Any],
    comment: str,
) -> None:
    """Store an edit that waits for a second person; the checkpoint becomes `proposed`."""

    def work(session: Session) -> None:
        row = _open_row(session, checkpoint_id, from_status="open")
        now = datetime.now(UTC)
        session.add(
            EditProposalRow(
                checkpoint_id=checkpoint_id,
                proposed_by=proposed_by,
                channel=channel,
                proposed_at=now,
                changes=[c.model_dump() for c in changes],
                values=values,
                comment=comment,
                status="pending",
            )
        )
        journal.append(
            session,
            case_id=row.case_id,
            kind="decision.proposed",
            actor=proposed_by,
            at=now,
            data={
                "checkpoint_id": checkpoint_id,
                "channel": channel,
                "changes": [store.shown_change(c) for c in changes],
                "comment": comment,
            },
        )
        chat.notify(session, checkpoint_id, chat.DECISION)

    _moving(store, checkpoint_id, work, to="proposed", from_status="open")


def confirm(
    store: CheckpointStore, *, checkpoint_id: str, confirmed_by: str, channel: str
) -> Decision:
    """A second, different person confirms the proposed edit: now it is the decision."""

    def work(session: Session) -> Decision:
        row = _open_row(session, checkpoint_id, from_status="proposed")
        proposal = _pending(session, checkpoint_id)
        if proposal.proposed_by == confirmed_by:
            raise SameApprover(
                f"{confirmed_by} proposed this edit; a different person must confirm it"
            )
        now = datetime.now(UTC)
        proposal.status, proposal.reviewed_by, proposal.reviewed_at = "confirmed", confirmed_by, now
        row.decided_at = now
        session.add(
            DecisionRow(
                checkpoint_id=checkpoint_id,
                kind="edit",
                decided_by=proposal.proposed_by,
                channel=proposal.channel,
                decided_at=now,
                changes=proposal.changes,
                values=proposal.values,
                comment=proposal.comment,
                confirmed_by=confirmed_by,
            )
        )
        journal.append(
            session,
            case_id=row.case_id,
            kind="decision.recorded",
            actor=proposal.proposed_by,
            at=now,
            data={
                "checkpoint_id": checkpoint_id,
                "decision": "edit",
                "channel": proposal.channel,
                "changes": [store.shown_change(Change.model_validate(c)) for c in proposal.changes],
                "comment": proposal.comment,
                "confirmed_by": confirmed_by,
                "confirmed_via": channel,
            },
        )
        chat.notify(session, checkpoint_id, chat.DECISION)
        return Decision(
            checkpoint_id=checkpoint_id,
            kind="edit",
            decided_by=proposal.proposed_by,
            channel=proposal.channel,
            decided_at=now,
            changes=[Change.model_validate(c) for c in proposal.changes],
            values=proposal.values,
            comment=proposal.comment,
            confirmed_by=confirmed_by,
        )

    decision: Decision = _moving(store, checkpoint_id, work, to="decided", from_status="proposed")
    return decision


def reject(
    store: CheckpointStore, *, checkpoint_id: str, rejected_by: str, channel: str, comment: str
) -> None:
    """The second person does not agree: the edit is dropped and the checkpoint is open again."""

    def work(session: Session) -> None:
        row = _open_row(session, checkpoint_id, from_status="proposed")
        proposal = _pending(session, checkpoint_id)
        proposal.status = "rejected"
        proposal.reviewed_by, proposal.reviewed_at = rejected_by, datetime.now(UTC)
        journal.append(
            session,
            case_id=row.case_id,
            kind="decision.rejected",
            actor=rejected_by,
            data={
                "checkpoint_id": checkpoint_id,
                "channel": channel,
                "proposed_by": proposal.proposed_by,
                "comment": comment,
            },
        )
        chat.notify(session, checkpoint_id, chat.DECISION)

    _moving(store, checkpoint_id, work, to="open", from_status="proposed")


def _moving(
    store: CheckpointStore, checkpoint_id: str, work: Any, *, to: str, from_status: str
) -> Any:
    """Run `work` in a transaction that only one caller wins (conditional status update)."""

    def guarded(session: Session) -> Any:
        won = session.execute(
            update(CheckpointRow)
            .where(CheckpointRow.id == checkpoint_id, CheckpointRow.status == from_status)
            .values(status=to)
            .execution_options(synchronize_session=False)
        )
        if won.rowcount != 1:  # type: ignore[attr-defined]
            row = session.get(CheckpointRow, checkpoint_id)
            if row is None:
                raise CheckpointNotFound(f"no checkpoint {checkpoint_id}")
            raise _Lost(row.status)
        return work(session)

    try:
        return store.tx(guarded)
    except _Lost as lost:
        current = store.get(checkpoint_id)
        if lost.status in ("open",) and from_status == "proposed":
            raise NothingProposed(f"checkpoint {checkpoint_id} has no edit waiting") from None
        raise AlreadyDecided(checkpoint_id, current.decision, current.status) from None


class _Lost(Exception):
    def __init__(self, status: str) -> None:
        super().__init__(status)
        self.status = status


def _open_row(session: Session, checkpoint_id: str, *, from_status: str) -> CheckpointRow:
    row = session.get(CheckpointRow, checkpoint_id)
    if row is None:
        raise CheckpointNotFound(f"no checkpoint {checkpoint_id}")
    return row


def _pending(session: Session, checkpoint_id: str) -> EditProposalRow:
    proposal = session.execute(
        select(EditProposalRow).where(
            EditProposalRow.checkpoint_id == checkpoint_id, EditProposalRow.status == "pending"
        )
    ).scalar_one_or_none()
    if proposal is None:
        raise NothingProposed(f"checkpoint {checkpoint_id} has no edit waiting")
    return proposal
