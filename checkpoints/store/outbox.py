"""The chat outbox: what must be said in a chat channel, kept until it has been said.

Checkpoints are stored before they are posted; a post, an update or a reminder that
fails (network, 5xx, rate limits after the client's own retries) stays here and is
tried again later, so nothing a caseworker should see is lost.

Exactly once: several senders drain the outbox at the same time (the loop, every click
handler, a second replica of the Slack app). Each entry is claimed before it is sent,
by a conditional UPDATE that only one sender can win (`claimed_until` unset or past),
on SQLite as on PostgreSQL. The claim is a lease: a sender that dies mid-send leaves
the entry to be claimed again once the lease runs out. Each claim counts as an
attempt, so the next sender knows an earlier one may have gone through and looks
before it sends again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from checkpoints.store.models import ChatPostRow, CheckpointRow

# Kinds of outbox entry: the first post, the in-place update after a decision or an
# outcome, and the nudges for a checkpoint nobody decides.
POST = "checkpoint"
DECISION = "decision"
OUTCOME = "outcome"
REMINDER = "reminder"
ESCALATION = "escalation"

# Longer than one send can take (the client's 15 s timeout and its few retries).
LEASE = timedelta(minutes=5)


@dataclass(frozen=True)
class DuePost:
    """One outbox entry due to be sent."""

    id: int
    checkpoint_id: str
    channel: str
    kind: str
    attempts: int  # claims before this one: more than 0, an earlier send may have gone through
    created_at: datetime


def enqueue(session: Session, checkpoint_id: str, channel: str, kind: str) -> None:
    """Add an entry, inside the caller's transaction."""
    now = datetime.now(UTC)
    session.add(
        ChatPostRow(
            checkpoint_id=checkpoint_id,
            channel=channel,
            kind=kind,
            status="pending",
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
    )


def notify(session: Session, checkpoint_id: str, kind: str) -> None:
    """Queue an update in every channel the checkpoint was (or will be) posted to."""
    channels = session.execute(
        select(ChatPostRow.channel)
        .where(ChatPostRow.checkpoint_id == checkpoint_id, ChatPostRow.kind == POST)
        .distinct()
    ).scalars()
    for channel in list(channels):
        enqueue(session, checkpoint_id, channel, kind)


def channels_of(session: Session, checkpoint_id: str) -> list[str]:
    """The chat channels a checkpoint is posted to."""
    return list(
        session.execute(
            select(ChatPostRow.channel)
            .where(ChatPostRow.checkpoint_id == checkpoint_id, ChatPostRow.kind == POST)
            .distinct()
        ).scalars()
    )


class Outbox:
    """One channel's view of the outbox."""

    def __init__(self, sessions: Any, channel: str) -> None:
        self._sessions = sessions
        self.channel = channel

    def claim_due(
        self,
        owner: str,
        now: datetime | None = None,
        *,
        limit: int = 50,
        lease: timedelta = LEASE,
    ) -> list[DuePost]:
        """Claim pending entries whose time has come, oldest first: only `owner` sends them."""
        now = now or datetime.now(UTC)
        free = or_(ChatPostRow.claimed_until.is_(None), ChatPostRow.claimed_until < now)
        due = (
            ChatPostRow.channel == self.channel,
            ChatPostRow.status == "pending",
            ChatPostRow.next_attempt_at <= now,
            free,
        )
        claimed = []
        with self._sessions.begin() as session:
            rows = session.execute(
                select(ChatPostRow).where(*due).order_by(ChatPostRow.id).limit(limit)
            ).scalars()
            candidates = [
                DuePost(r.id, r.checkpoint_id, r.channel, r.kind, r.attempts, r.created_at)
                for r in rows
            ]
            for post in candidates:
                # Another sender may have claimed it since the select: the WHERE decides.
                won = session.execute(
                    update(ChatPostRow)
                    .where(ChatPostRow.id == post.id, *due)
                    .values(
                        claimed_by=owner,
                        claimed_until=now + lease,
                        attempts=ChatPostRow.attempts + 1,
                    )
                    .execution_options(synchronize_session=False)
                )
                if won.rowcount == 1:
                    claimed.append(post)
        return claimed

    def posted(self, checkpoint_id: str) -> dict[str, Any] | None:
        """Where the checkpoint's message is (e.g. Slack channel and ts), once posted."""
        with self._sessions() as session:
            ref: dict[str, Any] | None = session.execute(
                select(ChatPostRow.ref).where(
                    ChatPostRow.checkpoint_id == checkpoint_id,
                    ChatPostRow.channel == self.channel,
                    ChatPostRow.kind == POST,
                    ChatPostRow.status == "sent",
                )
            ).scalar_one_or_none()
            return ref

    def has(self, checkpoint_id: str, kind: str) -> bool:
        """True when an entry of this kind exists for the checkpoint (sent or not)."""
        with self._sessions() as session:
            return (
                session.execute(
                    select(ChatPostRow.id).where(
                        ChatPostRow.checkpoint_id == checkpoint_id,
                        ChatPostRow.channel == self.channel,
                        ChatPostRow.kind == kind,
                    )
                ).first()
                is not None
            )

    def add(self, checkpoint_id: str, kind: str) -> None:
        """Queue an entry of its own."""
        with self._sessions.begin() as session:
            enqueue(session, checkpoint_id, self.channel, kind)

    def add_once(self, checkpoint_id: str, kind: str) -> bool:
        """Queue an entry unless one of this kind exists (reminders, escalations); True if queued.

        Two senders may decide at once that a reminder is due: the checkpoint's row is
        locked first (PostgreSQL; SQLite's writers queue anyway), so only one adds it.
        """
        with self._sessions.begin() as session:
            # FOR NO KEY UPDATE: add_once calls queue behind each other, while inserts that
            # merely refer to the checkpoint (its other outbox entries) do not wait.
            session.execute(
                select(CheckpointRow.id)
                .where(CheckpointRow.id == checkpoint_id)
                .with_for_update(key_share=True)
            )
            exists = session.execute(
                select(ChatPostRow.id).where(
                    ChatPostRow.checkpoint_id == checkpoint_id,
                    ChatPostRow.channel == self.channel,
                    ChatPostRow.kind == kind,
                )
            ).first()
            if exists is not None:
                return False
            enqueue(session, checkpoint_id, self.channel, kind)
            return True

    def sent(self, post_id: int, ref: dict[str, Any] | None = None) -> None:
        """Mark an entry as sent, keeping where it went, and release its claim."""
        with self._sessions.begin() as session:
            row = session.get(ChatPostRow, post_id)
            if row is not None:
                row.status, row.sent_at, row.ref = "sent", datetime.now(UTC), ref
                row.claimed_by = row.claimed_until = None

    def retry_later(self, post_id: int, error: str, *, count: bool = True) -> timedelta:
        """Release an entry for later, with backoff (2, 4, 8 ... s, at most 5 minutes).

        `count=False`: nothing was sent (it waits for something else), so this claim
        does not count as an attempt.
        """
        with self._sessions.begin() as session:
            row = session.get(ChatPostRow, post_id)
            if row is None:
                return timedelta(0)
            if not count:
                row.attempts = max(0, row.attempts - 1)
            delay = timedelta(seconds=min(300, 2 ** max(1, row.attempts)))
            row.next_attempt_at = datetime.now(UTC) + delay
            row.last_error = error[:2000]
            row.claimed_by = row.claimed_until = None
            return delay

    def summary(self, checkpoint_id: str) -> str | None:
        """One line for people: posted or not, what waits, the last error (None: not here)."""
        with self._sessions() as session:
            rows = list(
                session.execute(
                    select(ChatPostRow)
                    .where(
                        ChatPostRow.checkpoint_id == checkpoint_id,
                        ChatPostRow.channel == self.channel,
                    )
                    .order_by(ChatPostRow.id)
                ).scalars()
            )
        if not rows:
            return None
        posted = any(r.kind == POST and r.status == "sent" for r in rows)
        waiting = [r for r in rows if r.status == "pending"]
        parts = ["posted" if posted else "not posted yet"]
        if waiting:
            parts.append(f"{len(waiting)} waiting to be sent")
            errors = [r.last_error for r in waiting if r.last_error]
            if errors:
                parts.append(f"last error: {errors[-1]}")
        return "; ".join(parts)

    def pending_count(self) -> int:
        """Entries not yet sent."""
        with self._sessions() as session:
            return len(
                session.execute(
                    select(ChatPostRow.id).where(
                        ChatPostRow.channel == self.channel, ChatPostRow.status == "pending"
                    )
                ).all()
            )
