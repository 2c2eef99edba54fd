"""Routing a case, and the only way the routing can clear a move for the robot."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel

from checkpoints.models import Checkpoint
from checkpoints.store.repository import UNFINISHED, CheckpointStore
from config.rules import ChangeOfAddressRules
from flows.change_of_address.case import (
    CaseFile,
    Clearance,
    ClearanceError,
    Notification,
    Reason,
    fingerprint,
)
from flows.change_of_address.rules import route


class RoutingResult(BaseModel):
    """The reasons that fired, and a clearance when none did."""

    reasons: list[Reason]
    clearance: Clearance | None = None

    @property
    def routine(self) -> bool:
        """True when the robot may handle the case itself."""
        return self.clearance is not None


def route_case(
    case: CaseFile, *, config: ChangeOfAddressRules, locale: Literal["da", "en"] = "da"
) -> RoutingResult:
    """Run the rules over a case; clear it for the robot only when no rule fired."""
    reasons = route(case, config=config, locale=locale)
    if reasons or case.notification is None or case.problems:
        return RoutingResult(reasons=reasons)
    clearance = Clearance(
        case_id=case.case_id,
        basis="routine",
        fingerprint=fingerprint(case.notification),
        issued_at=datetime.now(UTC),
    )
    return RoutingResult(reasons=reasons, clearance=clearance)


def clearance_from_decision(checkpoint: Checkpoint, notification: Notification) -> Clearance:
    """A clearance from a stored approve or edit decision, for exactly the decided values.

    The checkpoint must come from the store: its decision is what a person recorded.
    """
    decision = checkpoint.decision
    if decision is None:
        raise ClearanceError(
            f"case {checkpoint.case_id}: checkpoint {checkpoint.checkpoint_id} has no stored "
            "decision; the robot may not register it"
        )
    if decision.kind not in ("approve", "edit") or decision.values is None:
        raise ClearanceError(
            f"case {checkpoint.case_id}: the decision was {decision.kind}, not to register"
        )
    decided = Notification.model_validate(decision.values)
    if fingerprint(decided) != fingerprint(notification) or decided.case_id != checkpoint.case_id:
        raise ClearanceError(
            f"case {checkpoint.case_id}: the values to register are not the ones "
            f"{decision.decided_by} decided"
        )
    return Clearance(
        case_id=checkpoint.case_id,
        basis="decision",
        fingerprint=fingerprint(notification),
        issued_at=datetime.now(UTC),
    )


def cleared_before_a_crash(store: CheckpointStore, case: CaseFile) -> Clearance | None:
    """The clearance of a registration this case's journal announced but never finished.

    Only for exactly the data that was cleared then: a case changed since is routed again.
    """
    entries = store.journal(case.case_id)
    last = entries[-1] if entries else None
    if last is None or last.kind not in UNFINISHED or case.notification is None:
        return None
    cleared = last.data.get("fingerprint")
    if last.kind == "robot.closing":
        cleared = next(
            (e.data.get("fingerprint") for e in reversed(entries) if e.kind == "robot.registering"),
            None,
        )
    if cleared != fingerprint(case.notification):
        return None
    return Clearance(
        case_id=case.case_id,
        basis="routine",
        fingerprint=str(cleared),
        issued_at=datetime.now(UTC),
    )
