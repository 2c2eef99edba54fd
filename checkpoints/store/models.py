"""The tables of the checkpoint store: checkpoints, decisions and the case journal."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in and out, on SQLite (which keeps no zone) as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the checkpoint store; use UTC")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base of the store's tables."""

    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON,
        list[Any]: JSON,
    }


class CheckpointRow(Base):
    """One case waiting for (or past) a human decision."""

    __tablename__ = "checkpoints"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    case_id: Mapped[str] = mapped_column(String(200), index=True)
    process: Mapped[str] = mapped_column(String(100))
    case_data: Mapped[dict[str, Any]] = mapped_column(JSON)
    reasons: Mapped[list[Any]] = mapped_column(JSON)
    proposal: Mapped[dict[str, Any]] = mapped_column(JSON)
    screenshot: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), index=True)
    created_at: Mapped[datetime]
    deadline_at: Mapped[datetime]
    decided_at: Mapped[datetime | None]
    applied_at: Mapped[datetime | None]
    flow_run_id: Mapped[str | None] = mapped_column(String(40))
    outcome: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    error_screenshot: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    supersedes: Mapped[str | None] = mapped_column(String(40))
    target_url: Mapped[str | None] = mapped_column(Text)


class DecisionRow(Base):
    """The one decision a checkpoint gets: who, when, through which channel, what."""

    __tablename__ = "decisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    checkpoint_id: Mapped[str] = mapped_column(ForeignKey("checkpoints.id"), unique=True)
    kind: Mapped[str] = mapped_column(String(30))
    decided_by: Mapped[str] = mapped_column(String(200))
    channel: Mapped[str] = mapped_column(String(30))
    decided_at: Mapped[datetime]
    changes: Mapped[list[Any]] = mapped_column(JSON)
    values: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    comment: Mapped[str] = mapped_column(Text, default="")
    confirmed_by: Mapped[str | None] = mapped_column(String(200))


class JournalEntryRow(Base):
    """One entry of a case's append-only journal, chained to the one before by hash."""

    __tablename__ = "journal_entries"
    __table_args__ = (UniqueConstraint("case_id", "seq", name="uq_journal_case_seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(String(200), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(40))
    # ISO 8601 text, so the hashed form never depends on a driver's datetime handling.
    at: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(200))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class JournalHeadRow(Base):
    """The last entry of each case's journal, so a deleted tail entry is noticed too."""

    __tablename__ = "journal_heads"

    case_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))


class ChatPostRow(Base):
    """The outbox: a message to send to a chat channel about a checkpoint, until it is sent."""

    __tablename__ = "chat_posts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    checkpoint_id: Mapped[str] = mapped_column(ForeignKey("checkpoints.id"), index=True)
    channel: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(10), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    ref: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # Who is sending it now, and until when; a claimer that dies lets the lease run out.
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    claimed_until: Mapped[datetime | None]


class EditProposalRow(Base):
    """An edit waiting for a second, different person (four eyes), and what became of it."""

    __tablename__ = "edit_proposals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    checkpoint_id: Mapped[str] = mapped_column(ForeignKey("checkpoints.id"), index=True)
    proposed_by: Mapped[str] = mapped_column(String(200))
    channel: Mapped[str] = mapped_column(String(30))
    proposed_at: Mapped[datetime]
    changes: Mapped[list[Any]] = mapped_column(JSON)
    values: Mapped[dict[str, Any]] = mapped_column(JSON)
    comment: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20))
    reviewed_by: Mapped[str | None] = mapped_column(String(200))
    reviewed_at: Mapped[datetime | None]
