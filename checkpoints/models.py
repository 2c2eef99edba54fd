"""What the rest of the product sees of checkpoints and decisions (pydantic, not rows)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from checkpoints.forms import Change
from checkpoints.process import DECISION_KINDS, DecisionKind, Reason

__all__ = ["DECISION_KINDS", "Checkpoint", "Decision", "DecisionKind", "UnloadedCase"]

CheckpointStatus = Literal["open", "proposed", "decided", "applied", "failed", "superseded"]
Channel = Literal["cli", "slack", "api"]


class UnloadedCase(BaseModel):
    """The stored case of a process that is not loaded here: kept as stored, never acted on."""

    case_id: str
    status: str = "unknown"
    data: dict[str, Any] = Field(default_factory=dict)


class Proposal(BaseModel):
    """What the robot would do if a person approves."""

    action: str = Field(description="`act` (the process's work), `none`, or a process's own.")
    summary: str


class Decision(BaseModel):
    """A stored decision: the authority the robot acts on."""

    checkpoint_id: str
    kind: DecisionKind
    decided_by: str
    channel: str
    decided_at: datetime
    changes: list[Change] = Field(default_factory=list)
    values: dict[str, Any] | None = Field(
        default=None, description="The form's values as decided (edited or as read)."
    )
    comment: str = ""
    confirmed_by: str | None = Field(
        default=None, description="The second person who confirmed an edit (four eyes)."
    )


class EditProposal(BaseModel):
    """An edit by one person that waits for a second, different person (four eyes)."""

    checkpoint_id: str
    proposed_by: str
    channel: str
    proposed_at: datetime
    changes: list[Change] = Field(default_factory=list)
    values: dict[str, Any]
    comment: str = ""


class Checkpoint(BaseModel):
    """One case waiting for, or past, a human decision."""

    checkpoint_id: str
    case_id: str
    process: str
    case: Any = Field(
        description="The case as the process's robot read it (the process's case model); "
        "an UnloadedCase when its process is not loaded here."
    )
    reasons: list[Reason]
    proposal: Proposal
    screenshot: str | None = None
    status: CheckpointStatus
    created_at: datetime
    deadline_at: datetime
    decided_at: datetime | None = None
    applied_at: datetime | None = None
    flow_run_id: str | None = None
    outcome: dict[str, Any] | None = None
    error: str | None = None
    error_screenshot: str | None = None
    attempts: int = 0
    supersedes: str | None = None
    target_url: str | None = Field(default=None, description="The case system the case is in.")
    decision: Decision | None = None
    pending_edit: EditProposal | None = None

    def overdue(self, now: datetime | None = None) -> bool:
        """Still open past its deadline (it stays open: a timeout decides nothing)."""
        waiting = self.status in ("open", "proposed")
        return waiting and (now or datetime.now(UTC)) > self.deadline_at

    def summary_json(self) -> dict[str, Any]:
        """The `rpa checkpoints list --json` form (contract fields first)."""
        return {
            "checkpoint_id": self.checkpoint_id,
            "case_id": self.case_id,
            "status": self.status,
            "reasons": [r.rule_id for r in self.reasons],
            "created_at": self.created_at.isoformat(),
            "process": self.process,
            "deadline_at": self.deadline_at.isoformat(),
            "overdue": self.overdue(),
            "decided_at": self.decided_at.isoformat() if self.decided_at else None,
            "decided_by": self.decision.decided_by if self.decision else None,
            "decision": self.decision.kind if self.decision else None,
            "applied_at": self.applied_at.isoformat() if self.applied_at else None,
            "flow_run_id": self.flow_run_id,
            "error": self.error,
        }
