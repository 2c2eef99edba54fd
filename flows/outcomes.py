"""What happened to one case in a batch: the same shape for every process.

Batch results are persisted by Prefect and shown in its UI, so they never carry a full
CPR number.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from checkpoints.process import Reason
from checkpoints.text import mask_cpr
from robots.sandbox.models import Registration

CaseResult = Literal["registered", "done", "set_aside", "failed", "skipped"]
"""`done`: a process other than change-of-address did its work (see `action`)."""


class RegisteredMove(BaseModel):
    """A registration as a batch reports it: its number and the mover's CPR masked.

    Batch results are persisted by Prefect and shown in its UI, so they never carry a
    full CPR number; the full one stays in the case system and the checkpoint store.
    """

    model_config = ConfigDict(frozen=True)

    registration_id: str
    cpr_masked: Annotated[str, Field(pattern=r"^\d{6}-XXXX$")]

    @model_validator(mode="before")
    @classmethod
    def _from_registration(cls, value: Any) -> Any:
        """Accept a `Registration` (or its dump) and keep only what may be shown."""
        if isinstance(value, Registration):
            value = value.model_dump()
        if isinstance(value, dict) and "cpr" in value:
            return {
                "registration_id": value.get("registration_id"),
                "cpr_masked": mask_cpr(str(value["cpr"])),
            }
        return value


class CaseOutcome(BaseModel):
    """What happened to one case in a batch (persisted and shown by Prefect: no full CPR)."""

    case_id: str
    result: CaseResult
    reasons: list[Reason] = Field(default_factory=list)
    registrations: list[RegisteredMove] = Field(
        default_factory=list,
        description="The moves registered; a `Registration` given here is reduced to its "
        "number and masked CPR.",
    )
    action: str | None = Field(default=None, description="What the robot did (`issued`...).")
    references: list[str] = Field(
        default_factory=list, description="Ids the target system gave for the work done."
    )
    error: str | None = None
    screenshot: str | None = None
    robot_seconds: float = 0.0
