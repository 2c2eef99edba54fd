"""Routing a case, and the only way the routing can clear a move for the robot."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel

from checkpoints.rules import route
from config.rules import ChangeOfAddressRules
from domain.change_of_address import CaseFile, Clearance, Reason, fingerprint


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
