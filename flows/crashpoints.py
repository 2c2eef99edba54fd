"""Named steps where the crash harness may kill the process doing the work (tests only).

A test writes a plan file (`{"point": "case.registered", "case_id": "FLY-…"}`) and points
RPA_TEST_CRASH_PLAN at it; the first process to reach that step takes the plan (a
rename, so exactly one process fires) and dies by SIGKILL, as a power cut would. Without
the variable, or with RPA_ENVIRONMENT=production, a crash point does nothing.
"""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

PLAN_ENV = "RPA_TEST_CRASH_PLAN"

# Every step the harness can stop at, in the order one case passes them.
POINTS = (
    "case.read",
    "case.routed",
    "case.registered",
    "checkpoint.stored",
    "case.marked_in_progress",
    "checkpoint.run_started",
    "decision.stored",
    "decision.resumed",
    "decision.registered",
)


def crash_point(name: str, case_id: str | None = None) -> None:
    """Die here if the test's crash plan names this step (and this case)."""
    plan_path = os.environ.get(PLAN_ENV)
    if not plan_path or os.environ.get("RPA_ENVIRONMENT", "").lower() == "production":
        return
    if name not in POINTS:
        raise ValueError(f"unknown crash point {name!r}")
    try:
        plan = json.loads(Path(plan_path).read_text())
    except (OSError, ValueError):
        return
    if plan.get("point") != name or plan.get("case_id") not in (None, case_id):
        return
    try:
        os.rename(plan_path, f"{plan_path}.fired")
    except OSError:
        return  # another process took it first
    os.kill(os.getpid(), signal.SIGKILL)
