"""Claiming a case for one batch, so two batches never work the same case at once.

A claim names its holder (`host:pid:run`) and lapses after a while; a claim whose
holder process is gone from this host is stale at once, so a batch that was killed does
not keep its cases from the next one.
"""

from __future__ import annotations

import os
import socket
from datetime import UTC, datetime, timedelta

from sqlalchemy import String, delete, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from checkpoints.store.models import Base

CLAIM_TTL = timedelta(minutes=15)


class CaseClaimRow(Base):
    """Which batch works a case right now, and until when at the latest."""

    __tablename__ = "case_claims"

    case_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    claimed_at: Mapped[datetime]
    expires_at: Mapped[datetime]


def holder_name(run: str) -> str:
    """This process's claim holder name for a run: `host:pid:run`."""
    return f"{socket.gethostname()}:{os.getpid()}:{run}"[:200]


def claim(session: Session, case_id: str, holder: str) -> str | None:
    """Claim a case; None when this holder has it now, else the live holder's name."""
    now = datetime.now(UTC)
    row = session.execute(
        select(CaseClaimRow).where(CaseClaimRow.case_id == case_id).with_for_update()
    ).scalar_one_or_none()
    if row is None:
        # A concurrent first claim collides on the key; the store retries the whole
        # transaction, which then sees the winner's row.
        session.add(
            CaseClaimRow(case_id=case_id, holder=holder, claimed_at=now, expires_at=now + CLAIM_TTL)
        )
        return None
    if row.holder != holder and row.expires_at > now and _alive(row.holder):
        return row.holder
    taken = session.execute(
        update(CaseClaimRow)
        .where(CaseClaimRow.case_id == case_id, CaseClaimRow.holder == row.holder)
        .values(holder=holder, claimed_at=now, expires_at=now + CLAIM_TTL)
    )
    return None if taken.rowcount == 1 else row.holder  # type: ignore[attr-defined]


def release(session: Session, case_id: str, holder: str) -> None:
    """Give a case back (only this holder's claim)."""
    session.execute(
        delete(CaseClaimRow).where(CaseClaimRow.case_id == case_id, CaseClaimRow.holder == holder)
    )


def _alive(holder: str) -> bool:
    host, _, rest = holder.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return True  # another machine's batch: trust the lease
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
