"""The checkpoint store: every write in one transaction, with its journal entries."""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import Engine, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from checkpoints import journal, processes
from checkpoints.forms import Change
from checkpoints.journal import ChainBreak, JournalEntry
from checkpoints.models import (
    Checkpoint,
    CheckpointStatus,
    Decision,
    DecisionKind,
    Proposal,
)
from checkpoints.process import Reason
from checkpoints.store import claims
from checkpoints.store import outbox as chat
from checkpoints.store.db import StoreUnavailable, make_engine, session_scope, upgrade
from checkpoints.store.models import (
    CheckpointRow,
    DecisionRow,
    EditProposalRow,
)
from checkpoints.store.rows import to_checkpoint

T = TypeVar("T")

ROBOT = "robot"
# Journal entries that announce an action: a journal ending in one is unfinished.
UNFINISHED = ("robot.registering", "robot.closing")
_RECONNECT_WAITS_S = (0.5, 1.0, 2.0, 3.0, 4.0)
log = logging.getLogger(__name__)
_ACTIVE: tuple[CheckpointStatus, ...] = ("open", "proposed", "decided", "failed")


def journal_key(process: str, case_id: str) -> str:
    """The key of a case's journal (and claim): case ids are unique per process only."""
    found = processes.find(process)
    return found.journal_key(case_id) if found is not None else f"{process}:{case_id}"


def _summary(process: str, case: Any, full_cpr: bool) -> dict[str, Any]:
    found = processes.find(process)
    if found is None:
        return {"case_status": str(getattr(case, "status", "unknown"))}
    return found.journal_summary(case, full_cpr=full_cpr)


class CheckpointNotFound(LookupError):
    """No checkpoint has this id."""


class AlreadyDecided(RuntimeError):
    """Someone decided this checkpoint first."""

    def __init__(self, checkpoint_id: str, decision: Decision | None, status: str) -> None:
        self.checkpoint_id = checkpoint_id
        self.decision = decision
        if decision is not None:
            when = decision.decided_at.strftime("%Y-%m-%d %H:%M:%S UTC")
            message = (
                f"checkpoint {checkpoint_id} was already decided by {decision.decided_by} "
                f"at {when} ({decision.kind}); nothing was changed"
            )
        else:
            message = f"checkpoint {checkpoint_id} is {status}, not open; nothing was changed"
        super().__init__(message)


class CheckpointStore:
    """Checkpoints, decisions and journals in SQLite or PostgreSQL (same code)."""

    def __init__(self, engine: Engine, *, full_cpr: bool = False) -> None:
        self.engine = engine
        self.full_cpr = full_cpr
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    @classmethod
    def connect(cls, url: str, *, full_cpr: bool = False) -> CheckpointStore:
        """Open the store at a URL and bring its schema up to date."""
        engine = make_engine(url)
        upgrade(engine)
        return cls(engine, full_cpr=full_cpr)

    def close(self) -> None:
        """Release the store's connections."""
        self.engine.dispose()

    def tx(self, work: Callable[[Session], T]) -> T:
        # Two first writers of one case's journal can collide on its head (PostgreSQL);
        # the loser retries the whole transaction, which then sees the winner's row.
        # A dropped connection (a database restart, a network blip) is retried with
        # backoff for about ten seconds, so the store recovers without a restart; past
        # that, StoreUnavailable stops the caller before it touches a case.
        collisions = 0
        waits = list(_RECONNECT_WAITS_S)
        while True:
            try:
                with session_scope(self._sessions) as session:
                    return work(session)
            except IntegrityError:
                collisions += 1
                if collisions == 5:
                    raise
            except StoreUnavailable as exc:
                if not waits:
                    raise
                wait = waits.pop(0)
                log.warning("The checkpoint store failed (%s); trying again in %.1f s", exc, wait)
                time.sleep(wait)

    # --- writing -------------------------------------------------------------------

    def record(self, case_id: str, kind: str, data: dict[str, Any], actor: str = ROBOT) -> None:
        """A journal entry of its own (what the robot read or did)."""
        self.tx(lambda s: journal.append(s, case_id=case_id, kind=kind, actor=actor, data=data))

    def record_reading(self, case: Any, reasons: list[Reason], *, process: str) -> None:
        """Journal what the robot read and what the rules said about it."""

        def work(session: Session) -> None:
            self._journal_reading(session, case, reasons, process)

        self.tx(work)

    def _journal_reading(
        self, session: Session, case: Any, reasons: list[Reason], process: str
    ) -> None:
        key = journal_key(process, case.case_id)
        journal.append(
            session,
            case_id=key,
            kind="case.read",
            actor=ROBOT,
            data=_summary(process, case, self.full_cpr),
        )
        journal.append(
            session,
            case_id=key,
            kind="rules.fired" if reasons else "rules.none",
            actor=ROBOT,
            data={"reasons": [r.model_dump(mode="json") for r in reasons]},
        )

    def open_checkpoint(
        self,
        *,
        case: Any,
        reasons: list[Reason],
        proposal: Proposal,
        screenshot: str | None,
        process: str,
        deadline_hours: float,
        supersedes: str | None = None,
        target_url: str | None = None,
        channels: tuple[str, ...] = (),
    ) -> Checkpoint:
        """Store a checkpoint for a case, or return the one it already has (idempotent)."""

        key = journal_key(process, case.case_id)

        def work(session: Session) -> str:
            existing = session.execute(
                select(CheckpointRow.id)
                .where(CheckpointRow.case_id == case.case_id)
                .where(CheckpointRow.process == process)
                .where(CheckpointRow.status.in_(_ACTIVE))
            ).scalar_one_or_none()
            if existing is not None and existing != supersedes:
                return existing
            now = datetime.now(UTC)
            checkpoint_id = "cp-" + secrets.token_hex(5)
            post_to = set(channels)
            if supersedes is not None:
                old = session.get(CheckpointRow, supersedes)
                if old is None or old.status not in _ACTIVE:
                    raise AlreadyDecided(supersedes, None, old.status if old else "missing")
                old.status = "superseded"
                chat.notify(session, supersedes, chat.OUTCOME)
                post_to |= set(chat.channels_of(session, supersedes))
                journal.append(
                    session,
                    case_id=key,
                    kind="checkpoint.superseded",
                    actor=ROBOT,
                    data={
                        "checkpoint_id": supersedes,
                        "new_checkpoint_id": checkpoint_id,
                        "because": reasons[0].rule_id if reasons else "",
                    },
                )
            session.add(
                CheckpointRow(
                    id=checkpoint_id,
                    case_id=case.case_id,
                    process=process,
                    case_data=case.model_dump(mode="json"),
                    reasons=[r.model_dump(mode="json") for r in reasons],
                    proposal=proposal.model_dump(mode="json"),
                    screenshot=screenshot,
                    status="open",
                    created_at=now,
                    deadline_at=now + timedelta(hours=deadline_hours),
                    attempts=0,
                    supersedes=supersedes,
                    target_url=target_url,
                )
            )
            self._journal_reading(session, case, reasons, process)
            journal.append(
                session,
                case_id=key,
                kind="checkpoint.opened",
                actor=ROBOT,
                data={
                    "checkpoint_id": checkpoint_id,
                    "proposal": proposal.summary,
                    "deadline_at": (now + timedelta(hours=deadline_hours)).isoformat(),
                    "supersedes": supersedes,
                },
            )
            session.flush()  # the checkpoint row exists before its outbox rows refer to it
            for channel in sorted(post_to):
                chat.enqueue(session, checkpoint_id, channel, chat.POST)
            return checkpoint_id

        return self.get(self.tx(work))

    def attach_run(self, checkpoint_id: str, flow_run_id: str) -> None:
        """Remember which flow run waits for this checkpoint (chat messages then link to it)."""

        def work(session: Session) -> None:
            changed = session.execute(
                update(CheckpointRow)
                .where(CheckpointRow.id == checkpoint_id)
                .where(
                    (CheckpointRow.flow_run_id.is_(None))
                    | (CheckpointRow.flow_run_id != flow_run_id)
                )
                .values(flow_run_id=flow_run_id)
                .execution_options(synchronize_session=False)
            )
            if changed.rowcount:  # type: ignore[attr-defined]
                chat.notify(session, checkpoint_id, chat.DECISION)

        self.tx(work)

    def decide(
        self,
        *,
        checkpoint_id: str,
        kind: DecisionKind,
        decided_by: str,
        channel: str,
        changes: list[Change],
        values: dict[str, Any] | None,
        comment: str,
    ) -> Decision:
        """Store a decision; exactly one wins per checkpoint, the others get AlreadyDecided."""

        def work(session: Session) -> Decision:
            row = session.get(CheckpointRow, checkpoint_id)
            if row is None:
                raise CheckpointNotFound(f"no checkpoint {checkpoint_id}")
            now = datetime.now(UTC)
            # The conditional update is the race's referee: only one transaction finds it open.
            won = session.execute(
                update(CheckpointRow)
                .where(CheckpointRow.id == checkpoint_id, CheckpointRow.status == "open")
                .values(status="decided", decided_at=now)
                .execution_options(synchronize_session=False)
            )
            if won.rowcount != 1:  # type: ignore[attr-defined]
                raise _AlreadyDecidedSignal
            decision = Decision(
                checkpoint_id=checkpoint_id,
                kind=kind,
                decided_by=decided_by,
                channel=channel,
                decided_at=now,
                changes=changes,
                values=values,
                comment=comment,
            )
            session.add(
                DecisionRow(
                    checkpoint_id=checkpoint_id,
                    kind=kind,
                    decided_by=decided_by,
                    channel=channel,
                    decided_at=now,
                    changes=[c.model_dump() for c in changes],
                    values=values,
                    comment=comment,
                )
            )
            journal.append(
                session,
                case_id=journal_key(row.process, row.case_id),
                kind="decision.recorded",
                actor=decided_by,
                at=now,
                data={
                    "checkpoint_id": checkpoint_id,
                    "decision": kind,
                    "channel": channel,
                    "changes": [self.shown_change(c) for c in changes],
                    "comment": comment,
                },
            )
            chat.notify(session, checkpoint_id, chat.DECISION)
            return decision

        try:
            return self.tx(work)
        except _AlreadyDecidedSignal:
            current = self.get(checkpoint_id)
            raise AlreadyDecided(checkpoint_id, current.decision, current.status) from None

    def shown_change(self, change: Change) -> dict[str, Any]:
        if self.full_cpr or "cpr" not in change.field:
            return change.model_dump()
        from checkpoints.text import mask_cpr

        return {
            "field": change.field,
            "before": mask_cpr(change.before) if change.before else change.before,
            "after": mask_cpr(change.after) if change.after else change.after,
        }

    def finish(
        self,
        checkpoint_id: str,
        *,
        status: CheckpointStatus,
        kind: str,
        data: dict[str, Any],
        outcome: dict[str, Any] | None = None,
        error: str | None = None,
        screenshot: str | None = None,
        expect: tuple[CheckpointStatus, ...] = ("decided",),
    ) -> Checkpoint:
        """Move a checkpoint on (applied, failed, superseded, retried) with its journal entry."""

        def work(session: Session) -> None:
            row = session.get(CheckpointRow, checkpoint_id)
            if row is None:
                raise CheckpointNotFound(f"no checkpoint {checkpoint_id}")
            if row.status not in expect:
                raise AlreadyDecided(checkpoint_id, None, row.status)
            row.status = status
            if status == "applied":
                row.applied_at = datetime.now(UTC)
                row.outcome = outcome
                row.error = None
            if status == "failed":
                row.error = error
                row.error_screenshot = screenshot
                row.attempts += 1
            journal.append(
                session,
                case_id=journal_key(row.process, row.case_id),
                kind=kind,
                actor=ROBOT,
                data={"checkpoint_id": checkpoint_id, **data},
            )
            chat.notify(session, checkpoint_id, chat.OUTCOME)

        self.tx(work)
        return self.get(checkpoint_id)

    def outbox(self, channel: str) -> chat.Outbox:
        """The outbox of one chat channel."""
        return chat.Outbox(self._sessions, channel)

    # --- reading -------------------------------------------------------------------

    def active_for_case(self, case_id: str, process: str) -> Checkpoint | None:
        """The checkpoint that has the case now (a person decides, or the robot carries out)."""
        with session_scope(self._sessions) as session:
            checkpoint_id = session.execute(
                select(CheckpointRow.id)
                .where(CheckpointRow.case_id == case_id)
                .where(CheckpointRow.process == process)
                .where(CheckpointRow.status.in_(_ACTIVE))
            ).scalar_one_or_none()
        return None if checkpoint_id is None else self.get(checkpoint_id)

    def get(self, checkpoint_id: str) -> Checkpoint:
        """One checkpoint with its decision, if any."""
        with session_scope(self._sessions) as session:
            row = session.get(CheckpointRow, checkpoint_id)
            if row is None:
                raise CheckpointNotFound(
                    f"no checkpoint {checkpoint_id}; `rpa checkpoints list` shows them"
                )
            decision = session.execute(
                select(DecisionRow).where(DecisionRow.checkpoint_id == checkpoint_id)
            ).scalar_one_or_none()
            pending = session.execute(
                select(EditProposalRow).where(
                    EditProposalRow.checkpoint_id == checkpoint_id,
                    EditProposalRow.status == "pending",
                )
            ).scalar_one_or_none()
            return to_checkpoint(row, decision, pending)

    def decision_for(self, checkpoint_id: str) -> Decision | None:
        """The stored decision of a checkpoint (None: nobody has decided)."""
        return self.get(checkpoint_id).decision

    def all(self, status: str = "all") -> list[Checkpoint]:
        """Checkpoints, oldest first; `status` filters (`all`: every one)."""
        with session_scope(self._sessions) as session:
            query = select(CheckpointRow).order_by(CheckpointRow.created_at, CheckpointRow.id)
            if status != "all":
                query = query.where(CheckpointRow.status == status)
            rows = list(session.execute(query).scalars())
            decisions = {
                d.checkpoint_id: d
                for d in session.execute(
                    select(DecisionRow).where(DecisionRow.checkpoint_id.in_([r.id for r in rows]))
                ).scalars()
            }
            pending = {
                p.checkpoint_id: p
                for p in session.execute(
                    select(EditProposalRow).where(
                        EditProposalRow.checkpoint_id.in_([r.id for r in rows]),
                        EditProposalRow.status == "pending",
                    )
                ).scalars()
            }
            return [to_checkpoint(row, decisions.get(row.id), pending.get(row.id)) for row in rows]

    def claim(self, case_id: str, holder: str) -> str | None:
        """Claim a case for one batch: None when claimed, else who holds it now."""
        return self.tx(lambda session: claims.claim(session, case_id, holder))

    def release(self, case_id: str, holder: str) -> None:
        """Give a claimed case back."""
        self.tx(lambda session: claims.release(session, case_id, holder))

    def unfinished(self, kinds: tuple[str, ...] = UNFINISHED) -> list[JournalEntry]:
        """The last journal entry of every case whose story stops at an announced action.

        The robot records what it is about to do before it does it; a journal that ends
        there means the process stopped in between, and the next run must find out how
        far it got.
        """
        with session_scope(self._sessions) as session:
            return journal.last_entries_of_kinds(session, kinds)

    def journal(self, case_id: str) -> list[JournalEntry]:
        """A case's journal entries in order."""
        with session_scope(self._sessions) as session:
            return journal.entries(session, case_id)

    def verify_journals(self) -> tuple[int, list[ChainBreak]]:
        """Check every journal's hash chain."""
        with session_scope(self._sessions) as session:
            return journal.verify(session)


class _AlreadyDecidedSignal(Exception):
    """Raised inside the transaction so it rolls back; turned into AlreadyDecided outside."""
