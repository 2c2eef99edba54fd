"""What the robot and the people did, measured from the store: the benefits, not assumed.

Per rule: how often its checkpoints were approved unchanged, edited, sent to manual
handling or to the citizen (staff feedback for tuning the rules). Over all
checkpoints: how long cases waited for a person, and how long the robot then took.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import func, select

from checkpoints.models import Checkpoint
from checkpoints.store.models import JournalEntryRow
from checkpoints.store.repository import CheckpointStore


class Durations(BaseModel):
    """Seconds: how many, median, 90th percentile, longest."""

    count: int = 0
    median_s: float | None = None
    p90_s: float | None = None
    max_s: float | None = None

    @classmethod
    def of(cls, seconds: list[float]) -> Durations:
        """Summarise a list of durations."""
        if not seconds:
            return cls()
        ordered = sorted(seconds)
        return cls(
            count=len(ordered),
            median_s=round(statistics.median(ordered), 1),
            p90_s=round(ordered[int(0.9 * (len(ordered) - 1))], 1),
            max_s=round(ordered[-1], 1),
        )


class RuleFeedback(BaseModel):
    """What people decided on the checkpoints a rule raised."""

    rule_id: str
    process: str = Field(default="", description="The process whose rule it is.")
    fired: int = 0
    decisions: dict[str, int] = Field(default_factory=dict)

    @property
    def approved_unchanged_share(self) -> float | None:
        """Share of decided checkpoints approved as read: high means the rule may be too eager."""
        decided = sum(self.decisions.values())
        return None if decided == 0 else self.decisions.get("approve", 0) / decided


class Report(BaseModel):
    """The figures `rpa report` prints."""

    cases_read: int
    handled_by_robot_alone: int
    checkpoints: dict[str, int]
    overdue: int
    waiting_for_a_person: Durations
    robot_after_decision: Durations
    rules: list[RuleFeedback]
    errors: dict[str, int] = Field(
        default_factory=dict,
        description="Why the robot stopped and handed a case to a person, by error code "
        "(business.* the data, system.* the case system or the browser).",
    )


def build_report(store: CheckpointStore, now: datetime | None = None) -> Report:
    """Read every checkpoint and the journals' counts."""
    now = now or datetime.now(UTC)
    checkpoints = store.all()
    with store.engine.connect() as connection:
        kinds = dict(
            connection.execute(
                select(JournalEntryRow.kind, func.count(func.distinct(JournalEntryRow.case_id)))
                .where(JournalEntryRow.kind.in_(["case.read", "rules.none"]))
                .group_by(JournalEntryRow.kind)
            ).all()
        )
    return Report(
        cases_read=int(kinds.get("case.read", 0)),
        handled_by_robot_alone=int(kinds.get("rules.none", 0)),
        checkpoints=dict(Counter(c.status for c in checkpoints)),
        overdue=sum(1 for c in checkpoints if c.overdue(now)),
        waiting_for_a_person=Durations.of(
            [(c.decided_at - c.created_at).total_seconds() for c in checkpoints if c.decided_at]
        ),
        robot_after_decision=Durations.of(
            [
                (c.applied_at - c.decided_at).total_seconds()
                for c in checkpoints
                if c.applied_at and c.decided_at
            ]
        ),
        rules=_rules(checkpoints),
        errors=_errors(store, checkpoints),
    )


def _errors(store: CheckpointStore, checkpoints: list[Checkpoint]) -> dict[str, int]:
    """Each stop of the robot once: a batch gave up, a carry-out failed, the data refused."""
    counted: Counter[str] = Counter()
    with store.engine.connect() as connection:
        for (data,) in connection.execute(
            select(JournalEntryRow.data).where(
                JournalEntryRow.kind.in_(["robot.failed", "checkpoint.failed"])
            )
        ):
            counted[str(data.get("code") or "unknown")] += 1
    for checkpoint in checkpoints:
        first = checkpoint.reasons[0] if checkpoint.reasons else None
        if first is not None and first.rule_id == "robot.refused":
            counted[first.details.get("code", "business.refused")] += 1
    return dict(sorted(counted.items()))


def _rules(checkpoints: list[Checkpoint]) -> list[RuleFeedback]:
    # Rule ids are unique per process: `remarks.present` of two processes are two rules.
    feedback: dict[tuple[str, str], RuleFeedback] = {}
    decisions: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    for checkpoint in checkpoints:
        for reason in checkpoint.reasons:
            key = (checkpoint.process, reason.rule_id)
            entry = feedback.setdefault(
                key, RuleFeedback(rule_id=reason.rule_id, process=checkpoint.process)
            )
            entry.fired += 1
            if checkpoint.decision is not None:
                decisions[key][checkpoint.decision.kind] += 1
    for key, counted in decisions.items():
        feedback[key].decisions = dict(counted)
    return sorted(feedback.values(), key=lambda f: (f.process, -f.fired, f.rule_id))


def report_lines(report: Report) -> list[str]:
    """The report as plain text."""

    def duration(d: Durations) -> str:
        if not d.count:
            return "none yet"
        return (
            f"median {_human(d.median_s)}, 90% within {_human(d.p90_s)}, "
            f"longest {_human(d.max_s)} ({d.count})"
        )

    statuses = ", ".join(f"{n} {status}" for status, n in sorted(report.checkpoints.items()))
    lines = [
        f"Cases read by the robot: {report.cases_read}; handled by the robot alone: "
        f"{report.handled_by_robot_alone}",
        f"Checkpoints: {statuses or 'none'}; overdue: {report.overdue}",
        f"Waiting for a person (stored -> decided): {duration(report.waiting_for_a_person)}",
        f"Robot after the decision (decided -> done): {duration(report.robot_after_decision)}",
        "",
        "Per rule (what people decided on its checkpoints):",
        f"  {'rule':24} {'fired':>5}  {'approve':>7} {'edit':>5} {'manual':>6} {'citizen':>7} "
        f"{'reject':>6}",
    ]
    process = None
    for rule in report.rules:
        if rule.process != process:
            process = rule.process
            lines.append(f"  {process}:")
        d = rule.decisions
        lines.append(
            f"  {rule.rule_id:24} {rule.fired:>5}  {d.get('approve', 0):>7} {d.get('edit', 0):>5} "
            f"{d.get('manual', 0):>6} {d.get('contact_citizen', 0):>7} {d.get('reject', 0):>6}"
        )
    lines += ["", "Why the robot stopped and handed over (by error code):"]
    lines += [f"  {code:32} {n:>5}" for code, n in report.errors.items()] or ["  none"]
    return lines


def _human(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 2 * 3600:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def report_json(report: Report) -> dict[str, Any]:
    """The report as JSON-ready data."""
    data = report.model_dump(mode="json")
    for rule, model in zip(data["rules"], report.rules, strict=True):
        rule["approved_unchanged_share"] = model.approved_unchanged_share
    return data
