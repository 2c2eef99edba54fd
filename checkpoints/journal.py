"""The case journal: append-only, one hash chain per case, checkable by anyone.

Each entry's hash covers its case, position, kind, time, actor, data and the hash of
the entry before it; a head row per case holds the last hash. Editing an entry breaks
its own hash, deleting one breaks the next entry's link (or the head, for the last).
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from checkpoints.store.models import JournalEntryRow, JournalHeadRow

GENESIS = "0" * 64


class JournalEntry(BaseModel):
    """One entry as read back from the store."""

    case_id: str
    seq: int
    kind: str
    at: datetime
    actor: str
    data: dict[str, Any]
    hash: str


class ChainBreak(BaseModel):
    """Where a journal's chain is broken, and how."""

    case_id: str
    seq: int
    kind: str
    problem: str

    def describe(self) -> str:
        """One line naming the entry."""
        return f"case {self.case_id}, entry {self.seq} ({self.kind}): {self.problem}"


def entry_hash(
    *, case_id: str, seq: int, kind: str, at: str, actor: str, data: dict[str, Any], prev: str
) -> str:
    """SHA-256 over a canonical JSON form of the entry and the previous hash."""
    canonical = json.dumps(
        {
            "case_id": case_id,
            "seq": seq,
            "kind": kind,
            "at": at,
            "actor": actor,
            "data": data,
            "prev": prev,
        },
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def append(
    session: Session,
    *,
    case_id: str,
    kind: str,
    actor: str,
    data: dict[str, Any],
    at: datetime | None = None,
) -> JournalEntry:
    """Add an entry to a case's journal, inside the caller's transaction."""
    head = session.execute(
        select(JournalHeadRow).where(JournalHeadRow.case_id == case_id).with_for_update()
    ).scalar_one_or_none()
    seq = 1 if head is None else head.seq + 1
    prev = GENESIS if head is None else head.hash
    stamp = (at or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="microseconds")
    # Round-trip through JSON so the hashed data is exactly what the database gives back.
    data = json.loads(json.dumps(data, ensure_ascii=False, default=str))
    digest = entry_hash(
        case_id=case_id, seq=seq, kind=kind, at=stamp, actor=actor, data=data, prev=prev
    )
    session.add(
        JournalEntryRow(
            case_id=case_id,
            seq=seq,
            kind=kind,
            at=stamp,
            actor=actor,
            data=data,
            prev_hash=prev,
            hash=digest,
        )
    )
    if head is None:
        session.add(JournalHeadRow(case_id=case_id, seq=seq, hash=digest))
    else:
        head.seq, head.hash = seq, digest
    session.flush()
    return JournalEntry(
        case_id=case_id,
        seq=seq,
        kind=kind,
        at=datetime.fromisoformat(stamp),
        actor=actor,
        data=data,
        hash=digest,
    )


def to_entry(row: JournalEntryRow) -> JournalEntry:
    """A stored row as the rest of the product sees it."""
    return JournalEntry(
        case_id=row.case_id,
        seq=row.seq,
        kind=row.kind,
        at=datetime.fromisoformat(row.at),
        actor=row.actor,
        data=row.data,
        hash=row.hash,
    )


def last_entries_of_kinds(session: Session, kinds: tuple[str, ...]) -> list[JournalEntry]:
    """The last entry of every journal that ends in one of these kinds."""
    rows = session.execute(
        select(JournalEntryRow)
        .join(
            JournalHeadRow,
            (JournalHeadRow.case_id == JournalEntryRow.case_id)
            & (JournalHeadRow.seq == JournalEntryRow.seq),
        )
        .where(JournalEntryRow.kind.in_(kinds))
        .order_by(JournalEntryRow.case_id)
    ).scalars()
    return [to_entry(row) for row in rows]


def entries(session: Session, case_id: str) -> list[JournalEntry]:
    """A case's journal in order."""
    rows = session.execute(
        select(JournalEntryRow)
        .where(JournalEntryRow.case_id == case_id)
        .order_by(JournalEntryRow.seq)
    ).scalars()
    return [to_entry(row) for row in rows]


def verify(session: Session) -> tuple[int, list[ChainBreak]]:
    """Check every case's chain; the number of entries checked and the first break per case."""
    heads = {h.case_id: h for h in session.execute(select(JournalHeadRow)).scalars()}
    rows = session.execute(
        select(JournalEntryRow).order_by(JournalEntryRow.case_id, JournalEntryRow.seq)
    ).scalars()
    by_case: dict[str, list[JournalEntryRow]] = {}
    checked = 0
    for row in rows:
        by_case.setdefault(row.case_id, []).append(row)
        checked += 1
    breaks = []
    for case_id in sorted(set(by_case) | set(heads)):
        problem = _check_chain(case_id, by_case.get(case_id, []), heads.get(case_id))
        if problem is not None:
            breaks.append(problem)
    return checked, breaks


def _check_chain(
    case_id: str, rows: list[JournalEntryRow], head: JournalHeadRow | None
) -> ChainBreak | None:
    prev = GENESIS
    expected_seq = 1
    for row in rows:
        if row.seq != expected_seq:
            return ChainBreak(
                case_id=case_id,
                seq=expected_seq,
                kind="missing",
                problem=f"entry {expected_seq} is missing (deleted?); the next is {row.seq}",
            )
        if row.prev_hash != prev:
            return ChainBreak(
                case_id=case_id,
                seq=row.seq,
                kind=row.kind,
                problem="its link to the entry before does not match (an entry was changed "
                "or removed)",
            )
        digest = entry_hash(
            case_id=row.case_id,
            seq=row.seq,
            kind=row.kind,
            at=row.at,
            actor=row.actor,
            data=row.data,
            prev=row.prev_hash,
        )
        if digest != row.hash:
            return ChainBreak(
                case_id=case_id,
                seq=row.seq,
                kind=row.kind,
                problem="its content does not match its hash (edited after it was written)",
            )
        prev = row.hash
        expected_seq += 1
    last_seq = expected_seq - 1
    if head is None:
        return ChainBreak(
            case_id=case_id, seq=last_seq, kind="head", problem="the journal's head is missing"
        )
    if head.seq != last_seq or head.hash != prev:
        return ChainBreak(
            case_id=case_id,
            seq=head.seq,
            kind="head",
            problem=f"the journal should end at entry {head.seq} but ends at {last_seq} "
            "(entries removed from its end?)",
        )
    return None
