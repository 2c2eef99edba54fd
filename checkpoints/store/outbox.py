"""The chat outbox: what must be said in a chat channel, kept until it has been said.

Checkpoints are stored before they are posted; a post, an update or a reminder that
fails (network, 5xx, rate limits after the client's own retries) stays here and is
tried again later, so nothing a caseworker should see is lost.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from checkpoints.store.models import ChatPostRow

# Kinds of outbox entry: the first post, the in-place update after a decision or an
# outcome, and the nudges for a checkpoint nobody decides.
POST = "checkpoint"
DECISION = "decision"
OUTCOME = "outcome"
REMINDER = "reminder"
ESCALATION = "escalation"


@dataclass(frozen=True)
class DuePost:
    """One outbox entry due to be sent."""

    id: int
    checkpoint_id: str
    channel: str
    kind: str
    attempts: int


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

    def due(self, now: datetime | None = None, limit: int = 50) -> list[DuePost]:
        """Pending entries whose time has come, oldest first."""
        now = now or datetime.now(UTC)
        with self._sessions() as session:
            rows = session.execute(
                select(ChatPostRow)
                .where(
                    ChatPostRow.channel == self.channel,
                    ChatPostRow.status == "pending",
                    ChatPostRow.next_attempt_at <= now,
                )
                .order_by(ChatPostRow.id)
                .limit(limit)
            ).scalars()
            return [DuePost(r.id, r.checkpoint_id, r.channel, r.kind, r.attempts) for r in rows]

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
        """Queue an entry of its own (reminders, escalations)."""
        with self._sessions.begin() as session:
            enqueue(session, checkpoint_id, self.channel, kind)

    def sent(self, post_id: int, ref: dict[str, Any] | None = None) -> None:
        """Mark an entry as sent, keeping where it went."""
        with self._sessions.begin() as session:
            row = session.get(ChatPostRow, post_id)
            if row is not None:
                row.status, row.sent_at, row.ref = "sent", datetime.now(UTC), ref
                row.attempts += 1

    def retry_later(self, post_id: int, error: str, *, count: bool = True) -> timedelta:
        """Keep an entry for later, with backoff (2, 4, 8 ... s, at most 5 minutes)."""
        with self._sessions.begin() as session:
            row = session.get(ChatPostRow, post_id)
            if row is None:
                return timedelta(0)
            if count:
                row.attempts += 1
            delay = timedelta(seconds=min(300, 2 ** max(1, row.attempts)))
            row.next_attempt_at = datetime.now(UTC) + delay
            row.last_error = error[:2000]
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
