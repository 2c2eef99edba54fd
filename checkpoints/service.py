"""The decision service: the one way any channel (command line, Slack) records a decision.

The decision is validated, then stored (exactly one wins per checkpoint), and only then
is the waiting run told to go on. The store is the authority: a run resumed without a
stored decision does nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

from checkpoints import processes
from checkpoints.forms import Change, EditError
from checkpoints.models import Checkpoint, Decision, DecisionKind
from checkpoints.store import four_eyes
from checkpoints.store.repository import AlreadyDecided, CheckpointStore

log = logging.getLogger(__name__)

# Who decides, confirms, rejects or retries is stored in columns this wide
# (checkpoints/store/models.py); PostgreSQL refuses a longer value, SQLite would keep it.
MAX_NAME_CHARS = 200
_ACTING = {
    "decision": "deciding",
    "confirmation": "confirming",
    "rejection": "rejecting",
    "retry": "asking for it",
}


class DecisionError(ValueError):
    """A decision that cannot be recorded as given (nothing was stored)."""

    def __init__(self, message: str, problems: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or {}


def _person(name: str, role: str) -> str:
    """The name of the person acting, checked the same way for every channel."""
    name = name.strip()
    acting = _ACTING[role]
    if not name:
        raise DecisionError(f"a {role} needs the name of the person {acting} (--by)")
    if len(name) > MAX_NAME_CHARS:
        raise DecisionError(
            f"the name of the person {acting} is {len(name)} characters long; at most "
            f"{MAX_NAME_CHARS} are kept: give a shorter name (--by)"
        )
    return name


@dataclass(frozen=True)
class ResumeResult:
    """Whether the waiting robot run was told to go on, and what happened if not."""

    resumed: bool
    detail: str


class Resumer(Protocol):
    """Tells the robot run of a decided checkpoint to go on (Prefect, in flows/)."""

    def __call__(self, checkpoint: Checkpoint) -> ResumeResult: ...


@dataclass(frozen=True)
class DecisionOutcome:
    """A stored decision (None while an edit waits for a second person) and the resume."""

    decision: Decision | None
    checkpoint: Checkpoint
    resume: ResumeResult


class DecisionService:
    """Validate, store, then resume: the same path for every channel."""

    def __init__(
        self,
        store: CheckpointStore,
        *,
        resumer: Resumer | None = None,
        four_eyes_edits: bool = False,
    ) -> None:
        self.store = store
        self.resumer = resumer
        self.four_eyes_edits = four_eyes_edits

    def _resume(self, checkpoint: Checkpoint) -> ResumeResult:
        if self.resumer is None:
            return ResumeResult(False, "no robot runner is connected; `rpa up` will carry it out")
        return self.resumer(checkpoint)

    def decide(
        self,
        checkpoint_id: str,
        *,
        kind: DecisionKind,
        decided_by: str,
        channel: str,
        edits: dict[str, str] | None = None,
        comment: str = "",
    ) -> DecisionOutcome:
        """Record one decision on an open checkpoint, then resume its run."""
        decided_by = _person(decided_by, "decision")
        checkpoint = self.store.get(checkpoint_id)
        if checkpoint.status != "open":
            raise AlreadyDecided(checkpoint_id, checkpoint.decision, checkpoint.status)
        try:
            process = processes.get(checkpoint.process)
        except processes.ProcessNotLoaded as exc:
            raise DecisionError(f"{checkpoint_id} cannot be decided here: {exc}") from None
        if kind not in process.decisions:
            raise DecisionError(
                f"a {process.name} case takes these decisions: {', '.join(process.decisions)}; "
                f"not {kind}"
            )
        changes: list[Change] = []
        values = None
        if kind == "edit":
            try:
                values, changes = process.apply_edits(checkpoint.case, edits or {})
            except EditError as exc:
                raise DecisionError(str(exc), exc.problems) from exc
            if not changes:
                raise DecisionError("the edits change nothing; approve the case instead")
            if self.four_eyes_edits:
                four_eyes.propose(
                    self.store,
                    checkpoint_id=checkpoint_id,
                    proposed_by=decided_by,
                    channel=channel,
                    changes=changes,
                    values=values,
                    comment=comment.strip(),
                )
                waiting = ResumeResult(False, "the edit waits for a second, different person")
                return DecisionOutcome(None, self.store.get(checkpoint_id), waiting)
        elif edits:
            raise DecisionError(f"edits go with an edit decision, not with {kind}")
        elif kind == "approve":
            values = process.valid_form(checkpoint.case)
            if values is None:
                fields = ", ".join(p.label for p in process.form_problems(checkpoint.case))
                raise DecisionError(
                    f"case {checkpoint.case_id} cannot be approved as read: these fields are "
                    f"not valid: {fields or 'unknown'}. Correct them with an edit, or send it "
                    "to manual handling"
                )
        elif kind == "reject" and not comment.strip():
            raise DecisionError(
                "a rejection needs its reason, which is written to the case and given to the "
                "citizen (--reason)"
            )
        decision = self.store.decide(
            checkpoint_id=checkpoint_id,
            kind=kind,
            decided_by=decided_by,
            channel=channel,
            changes=changes,
            values=values,
            comment=comment.strip(),
        )
        log.info("Checkpoint %s decided (%s) via %s", checkpoint_id, kind, channel)
        decided = self.store.get(checkpoint_id)
        return DecisionOutcome(decision=decision, checkpoint=decided, resume=self._resume(decided))

    def confirm(self, checkpoint_id: str, *, confirmed_by: str, channel: str) -> DecisionOutcome:
        """A second person confirms a proposed edit (four eyes); then the run goes on."""
        confirmed_by = _person(confirmed_by, "confirmation")
        try:
            decision = four_eyes.confirm(
                self.store, checkpoint_id=checkpoint_id, confirmed_by=confirmed_by, channel=channel
            )
        except (four_eyes.SameApprover, four_eyes.NothingProposed) as exc:
            raise DecisionError(str(exc)) from exc
        decided = self.store.get(checkpoint_id)
        return DecisionOutcome(decision=decision, checkpoint=decided, resume=self._resume(decided))

    def reject(
        self, checkpoint_id: str, *, rejected_by: str, channel: str, comment: str = ""
    ) -> Checkpoint:
        """A second person rejects a proposed edit; the checkpoint is open again."""
        rejected_by = _person(rejected_by, "rejection")
        try:
            four_eyes.reject(
                self.store,
                checkpoint_id=checkpoint_id,
                rejected_by=rejected_by,
                channel=channel,
                comment=comment.strip(),
            )
        except four_eyes.NothingProposed as exc:
            raise DecisionError(str(exc)) from exc
        return self.store.get(checkpoint_id)

    def retry(self, checkpoint_id: str, *, requested_by: str) -> DecisionOutcome:
        """Carry out a failed checkpoint's decision again."""
        requested_by = _person(requested_by, "retry")
        checkpoint = self.store.get(checkpoint_id)
        if checkpoint.status != "failed" or checkpoint.decision is None:
            raise DecisionError(
                f"checkpoint {checkpoint_id} is {checkpoint.status}; only a failed one is retried"
            )
        retried = self.store.finish(
            checkpoint_id,
            status="decided",
            kind="checkpoint.retried",
            data={"requested_by": requested_by, "previous_error": checkpoint.error},
            expect=("failed",),
        )
        return DecisionOutcome(
            decision=checkpoint.decision, checkpoint=retried, resume=self._resume(retried)
        )
