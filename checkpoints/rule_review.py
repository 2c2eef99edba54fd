"""Rule feedback for staff: what people decided on each rule's checkpoints, and what they said.

The material for the review talks between caseworkers and the robot's developers: a rule
whose checkpoints are nearly always approved unchanged may ask people for nothing; a
rule that never fires may check for something that does not happen (or is switched off).
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import date
from typing import Any

from pydantic import BaseModel, Field

from checkpoints import processes
from checkpoints.models import Checkpoint
from checkpoints.store.repository import CheckpointStore
from checkpoints.text import mask_cprs

APPROVED_UNCHANGED = "nearly always approved unchanged"
NEVER_FIRES = "never fires"


class StaffComment(BaseModel):
    """A comment a person left with a decision (CPR-like numbers masked)."""

    checkpoint_id: str
    case_id: str
    decision: str
    by: str
    text: str


class RuleReview(BaseModel):
    """One rule of one process: its checkpoints and what became of them."""

    process: str
    rule_id: str
    declared: bool = Field(description="The process declares it (else the robot's own reason).")
    raised: int = 0
    approved_unchanged: int = 0
    edited: int = 0
    edited_fields: dict[str, int] = Field(default_factory=dict)
    manual: int = 0
    contact_citizen: int = 0
    rejected: int = 0
    undecided: int = Field(default=0, description="Waiting, or superseded before a decision.")
    comments: list[StaffComment] = Field(default_factory=list)
    flags: list[str] = Field(default_factory=list)

    @property
    def decided(self) -> int:
        """Checkpoints of the rule a person decided."""
        return self.raised - self.undecided

    @property
    def approved_unchanged_share(self) -> float | None:
        """Share of the decided ones approved as the robot read them."""
        return None if self.decided == 0 else self.approved_unchanged / self.decided


class RuleReviewReport(BaseModel):
    """What `rpa report rules` shows."""

    since: date | None = None
    process: str | None = None
    threshold: float
    min_decided: int
    rules: list[RuleReview]


_COUNTERS = {
    "approve": "approved_unchanged",
    "edit": "edited",
    "manual": "manual",
    "contact_citizen": "contact_citizen",
    "reject": "rejected",
}


def build_rule_review(
    store: CheckpointStore,
    *,
    since: date | None = None,
    process: str | None = None,
    threshold: float = 0.9,
    min_decided: int = 5,
) -> RuleReviewReport:
    """Per rule, the checkpoints raised since `since` and what people decided on them."""
    checkpoints = [
        c
        for c in store.all()
        if (process is None or c.process == process)
        and (since is None or c.created_at.date() >= since)
    ]
    reviews = rule_counts(checkpoints)
    loaded = processes.load()
    for name, found in loaded.items():
        if process is not None and name != process:
            continue
        for rule_id in found.rules:
            reviews.setdefault(
                (name, rule_id), RuleReview(process=name, rule_id=rule_id, declared=True)
            )
    for (name, rule_id), review in reviews.items():
        declaring = loaded.get(name)
        review.declared = declaring is not None and rule_id in declaring.rules
        if review.raised == 0 and review.declared:
            review.flags.append(NEVER_FIRES)
        share = review.approved_unchanged_share
        if share is not None and review.decided >= min_decided and share >= threshold:
            review.flags.append(APPROVED_UNCHANGED)
    return RuleReviewReport(
        since=since,
        process=process,
        threshold=threshold,
        min_decided=min_decided,
        rules=sorted(reviews.values(), key=lambda r: (r.process, -r.raised, r.rule_id)),
    )


def rule_counts(checkpoints: list[Checkpoint]) -> dict[tuple[str, str], RuleReview]:
    """Count the decisions on each (process, rule)'s checkpoints."""
    reviews: dict[tuple[str, str], RuleReview] = {}
    for checkpoint in checkpoints:
        for rule_id in dict.fromkeys(r.rule_id for r in checkpoint.reasons):
            review = reviews.setdefault(
                (checkpoint.process, rule_id),
                RuleReview(process=checkpoint.process, rule_id=rule_id, declared=False),
            )
            _count(review, checkpoint)
    return reviews


def _count(review: RuleReview, checkpoint: Checkpoint) -> None:
    review.raised += 1
    decision = checkpoint.decision
    if decision is None:
        review.undecided += 1
        return
    attribute = _COUNTERS.get(decision.kind)
    if attribute is not None:
        setattr(review, attribute, getattr(review, attribute) + 1)
    if decision.kind == "edit":
        fields = Counter(review.edited_fields)
        fields.update({_field(c.field) for c in decision.changes})  # once per checkpoint
        review.edited_fields = dict(sorted(fields.items()))
    if decision.comment.strip():
        review.comments.append(
            StaffComment(
                checkpoint_id=checkpoint.checkpoint_id,
                case_id=mask_cprs(checkpoint.case_id),
                decision=decision.kind,
                by=decision.decided_by,
                text=mask_cprs(decision.comment.strip()),
            )
        )


def _field(name: str) -> str:
    """Items of a list in the form count as one field: `items.0.name`, `items.1.name` ->
    `items.N.name`."""
    return re.sub(r"\.\d+(?=\.|$)", ".N", name)


def rule_review_lines(report: RuleReviewReport) -> list[str]:
    """The feedback as plain text for a terminal (comments shown one line each)."""
    period = f"since {report.since.isoformat()}" if report.since else "all time"
    lines = [
        f"Rule feedback ({period}): what people decided on each rule's checkpoints",
        f"  {'rule':24} {'raised':>6} {'approved':>8} {'edited':>6} {'manual':>6} "
        f"{'citizen':>7} {'reject':>6} {'waiting':>7}",
    ]
    process = None
    for r in report.rules:
        if r.process != process:
            process = r.process
            lines.append(f"{process}:")
        lines.append(
            f"  {r.rule_id:24} {r.raised:>6} {r.approved_unchanged:>8} {r.edited:>6} "
            f"{r.manual:>6} {r.contact_citizen:>7} {r.rejected:>6} {r.undecided:>7}"
        )
        if r.edited_fields:
            shown = ", ".join(f"{f} x{n}" for f, n in r.edited_fields.items())
            lines.append(f"      fields edited: {shown}")
        for flag in r.flags:
            lines.append(f"      flag: {_flag_text(r, flag, report)}")
        for c in r.comments:
            lines.append(f"      comment ({c.decision}, {c.by}, {c.checkpoint_id}): {c.text}")
    return lines


def _flag_text(r: RuleReview, flag: str, report: RuleReviewReport) -> str:
    if flag == APPROVED_UNCHANGED:
        return (
            f"{flag}: {r.approved_unchanged} of {r.decided} decided "
            f"(at least {report.threshold:.0%} of at least {report.min_decided}); "
            "does this rule need a person?"
        )
    if flag == NEVER_FIRES:
        return f"{flag}: no checkpoint in the period (switched off, or never the case?)"
    return flag


def rule_review_json(report: RuleReviewReport) -> dict[str, Any]:
    """The feedback as JSON-ready data."""
    data = report.model_dump(mode="json")
    for rule, model in zip(data["rules"], report.rules, strict=True):
        rule["decided"] = model.decided
        rule["approved_unchanged_share"] = model.approved_unchanged_share
    return data
