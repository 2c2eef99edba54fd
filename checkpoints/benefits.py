"""Measured benefits: per case, the robot's time, the people's time and the waiting time.

Everything here is read from the store (the journal, the checkpoints, the chat outbox),
never assumed; the one figure that is not measured, the minutes a person would take by
hand, comes from the process's settings together with where it comes from. The saving
is a range, with the time people spent on checkpoints subtracted. docs/benefits.md says
what each figure measures and where it falls short.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field
from sqlalchemy import func, select

from checkpoints import processes
from checkpoints.models import Checkpoint
from checkpoints.process import Process
from checkpoints.store import outbox
from checkpoints.store.models import ChatPostRow, JournalEntryRow
from checkpoints.store.repository import CheckpointStore, journal_key
from config.settings import ManualBaseline, Settings

# Journal entries of a robot that finished a case; without `decided_by` the robot
# finished it alone (routine), with it the robot carried out a person's decision.
FINISHED = ("robot.registered", "robot.done", "robot.confirmed")
# What became of a case: the robot alone, a person's decision, or neither yet.
OUTCOMES = ("robot", "approve", "edit", "manual", "contact_citizen", "reject", "waiting", "open")
ShownFrom = Literal["chat", "stored", ""]


class CaseFigures(BaseModel):
    """One case: what became of it and how long the robot and people took."""

    process: str
    case_id: str
    day: date = Field(description="The day (UTC) the robot first read the case.")
    outcome: str = Field(description="One of OUTCOMES.")
    checkpoints: int = 0
    robot_seconds: float | None = Field(
        default=None, description="Routine work as journalled, plus decided -> done."
    )
    human_seconds: float | None = Field(
        default=None, description="Shown -> decided, over the case's decided checkpoints."
    )
    waiting_seconds: float | None = Field(
        default=None, description="Stored -> decided, over the case's decided checkpoints."
    )
    shown_from: ShownFrom = Field(
        default="", description="`chat`: from the chat post; `stored`: no post, from storing."
    )


class Totals(BaseModel):
    """The figures of one process (or of all) over the period."""

    process: str
    cases_read: int = 0
    robot_alone: int = 0
    outcomes: dict[str, int] = Field(default_factory=dict)
    checkpoints: int = 0
    decided: int = 0
    robot_minutes: float = 0.0
    human_minutes: float = 0.0
    waiting_hours: float = 0.0
    shown_from_chat: int = 0
    shown_from_stored: int = 0
    automation_rate: float | None = None
    baseline: ManualBaseline | None = None
    saving_minutes_low: float | None = None
    saving_minutes_high: float | None = None


class Benefits(BaseModel):
    """What `rpa report benefits` shows."""

    generated_at: datetime
    since: date | None = None
    process: str | None = None
    cases: list[CaseFigures]
    processes: list[Totals]
    total: Totals


def build_benefits(
    store: CheckpointStore,
    *,
    baseline_for: Callable[[str], ManualBaseline | None],
    since: date | None = None,
    process: str | None = None,
    after: datetime | None = None,
    now: datetime | None = None,
) -> Benefits:
    """Measure every case first read on or after the day `since` (and the moment `after`)."""
    reads, alone, robot_s = _journal(store)
    by_key: dict[str, list[Checkpoint]] = defaultdict(list)
    for checkpoint in store.all():
        by_key[journal_key(checkpoint.process, checkpoint.case_id)].append(checkpoint)
    posted = _posted(store)
    cases: list[CaseFigures] = []
    loaded = processes.load()
    for key, read_at in reads.items():
        name, case_id = _split(key, loaded)
        if (process and name != process) or (since and read_at.date() < since):
            continue
        if after is not None and read_at < after:
            continue
        cases.append(
            _case(name, case_id, read_at, key in alone, robot_s.get(key), by_key[key], posted)
        )
    cases.sort(key=lambda c: (c.day, c.process, c.case_id))
    names = sorted({c.process for c in cases} | ({process} if process else set()))
    per_process = [_totals(n, [c for c in cases if c.process == n], baseline_for(n)) for n in names]
    return Benefits(
        generated_at=now or datetime.now(UTC),
        since=since,
        process=process,
        cases=cases,
        processes=per_process,
        total=_sum(per_process),
    )


def _journal(store: CheckpointStore) -> tuple[dict[str, datetime], set[str], dict[str, float]]:
    """When each case was first read, which the rules let through, the robot's routine time."""
    reads: dict[str, datetime] = {}
    passed: set[str] = set()
    finished: set[str] = set()
    seconds: dict[str, float] = defaultdict(float)
    query = (
        select(
            JournalEntryRow.case_id, JournalEntryRow.kind, JournalEntryRow.at, JournalEntryRow.data
        )
        .where(JournalEntryRow.kind.in_(["case.read", "rules.none", *FINISHED]))
        .order_by(JournalEntryRow.id)
    )
    with store.engine.connect() as connection:
        for key, kind, at, data in connection.execute(query):
            if kind == "case.read":
                reads.setdefault(key, datetime.fromisoformat(at).astimezone(UTC))
            elif kind == "rules.none":
                passed.add(key)
            elif not (data or {}).get("decided_by"):
                finished.add(key)
                if isinstance((data or {}).get("robot_seconds"), int | float):
                    seconds[key] += float(data["robot_seconds"])
    return reads, passed & finished, dict(seconds)


def _posted(store: CheckpointStore) -> dict[str, datetime]:
    """When each checkpoint was first posted to a chat channel (shown to people there)."""
    query = (
        select(ChatPostRow.checkpoint_id, func.min(ChatPostRow.sent_at))
        .where(ChatPostRow.kind == outbox.POST, ChatPostRow.sent_at.is_not(None))
        .group_by(ChatPostRow.checkpoint_id)
    )
    with store.engine.connect() as connection:
        rows = connection.execute(query).all()
    return {cid: _utc(at) for cid, at in rows if at is not None}


def _utc(value: Any) -> datetime:
    # func.min() loses the column's type: SQLite gives text, PostgreSQL a datetime.
    parsed = datetime.fromisoformat(value) if isinstance(value, str) else value
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _split(key: str, loaded: dict[str, Process[Any, Any]]) -> tuple[str, str]:
    """(process, case id) of a journal key (see `Process.journal_key`)."""
    for name, found in loaded.items():
        if found.journal_key("") == f"{name}:" and key.startswith(f"{name}:"):
            return name, key[len(name) + 1 :]
    for name, found in loaded.items():
        if found.journal_key(key) == key:  # a process whose journals use the bare case id
            return name, key
    name, _, case_id = key.partition(":")
    return (name, case_id) if case_id else ("unknown", key)


def _case(
    process: str,
    case_id: str,
    read_at: datetime,
    alone: bool,
    routine_s: float | None,
    checkpoints: list[Checkpoint],
    posted: dict[str, datetime],
) -> CaseFigures:
    human = waiting = after = 0.0
    decided = applied = 0
    shown: set[ShownFrom] = set()
    for c in checkpoints:
        if c.decided_at is None:
            continue
        decided += 1
        post = posted.get(c.checkpoint_id)
        seen = post if post is not None and c.created_at <= post <= c.decided_at else None
        shown.add("chat" if seen else "stored")
        human += (c.decided_at - (seen or c.created_at)).total_seconds()
        waiting += (c.decided_at - c.created_at).total_seconds()
        if c.applied_at is not None:
            applied += 1
            after += (c.applied_at - c.decided_at).total_seconds()
    latest = [c for c in checkpoints if c.status != "superseded"] or checkpoints
    outcome: str
    if latest:
        last = max(latest, key=lambda c: c.created_at)
        outcome = last.decision.kind if last.decision else "waiting"
    else:
        outcome = "robot" if alone else "open"
    robot = (routine_s or 0.0) + after if routine_s is not None or applied else None
    return CaseFigures(
        process=process,
        case_id=case_id,
        day=read_at.date(),
        outcome=outcome,
        checkpoints=len(checkpoints),
        robot_seconds=None if robot is None else round(robot, 3),
        human_seconds=round(human, 1) if decided else None,
        waiting_seconds=round(waiting, 1) if decided else None,
        shown_from="stored" if "stored" in shown else ("chat" if shown else ""),
    )


def _totals(process: str, cases: list[CaseFigures], baseline: ManualBaseline | None) -> Totals:
    alone = sum(1 for c in cases if c.outcome == "robot")
    human_minutes = sum(c.human_seconds or 0.0 for c in cases) / 60
    totals = Totals(
        process=process,
        cases_read=len(cases),
        robot_alone=alone,
        outcomes=dict(Counter(c.outcome for c in cases)),
        checkpoints=sum(c.checkpoints for c in cases),
        decided=sum(1 for c in cases if c.human_seconds is not None),
        robot_minutes=round(sum(c.robot_seconds or 0.0 for c in cases) / 60, 2),
        human_minutes=round(human_minutes, 1),
        waiting_hours=round(sum(c.waiting_seconds or 0.0 for c in cases) / 3600, 2),
        shown_from_chat=sum(1 for c in cases if c.shown_from == "chat"),
        shown_from_stored=sum(1 for c in cases if c.shown_from == "stored"),
        automation_rate=round(alone / len(cases), 3) if cases else None,
        baseline=baseline,
    )
    if baseline is not None:
        totals.saving_minutes_low = round(alone * baseline.minutes_low - human_minutes, 1)
        totals.saving_minutes_high = round(alone * baseline.minutes_high - human_minutes, 1)
    return totals


def _sum(parts: list[Totals]) -> Totals:
    total = Totals(process="all")
    outcomes: Counter[str] = Counter()
    for p in parts:
        total.cases_read += p.cases_read
        total.robot_alone += p.robot_alone
        total.checkpoints += p.checkpoints
        total.decided += p.decided
        total.robot_minutes = round(total.robot_minutes + p.robot_minutes, 2)
        total.human_minutes = round(total.human_minutes + p.human_minutes, 1)
        total.waiting_hours = round(total.waiting_hours + p.waiting_hours, 2)
        total.shown_from_chat += p.shown_from_chat
        total.shown_from_stored += p.shown_from_stored
        outcomes.update(p.outcomes)
    total.outcomes = dict(outcomes)
    if total.cases_read:
        total.automation_rate = round(total.robot_alone / total.cases_read, 3)
    if parts and all(p.saving_minutes_low is not None for p in parts):
        total.saving_minutes_low = round(sum(p.saving_minutes_low or 0.0 for p in parts), 1)
        total.saving_minutes_high = round(sum(p.saving_minutes_high or 0.0 for p in parts), 1)
    return total


def baseline_of(settings: Settings) -> Callable[[str], ManualBaseline | None]:
    """Per process name: its manual baseline as set (RPA_PROCESS_SETTINGS), else as the
    process declares it, else None (no saving is claimed)."""

    def baseline(name: str) -> ManualBaseline | None:
        found = settings.manual_baseline(name)
        if found is not None:
            return found
        process = processes.find(name)
        return process.manual_baseline if process is not None else None

    return baseline
