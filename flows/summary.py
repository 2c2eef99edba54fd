"""The summary of a batch run: counts, the cases set aside and why."""

from __future__ import annotations

from uuid import UUID

from prefect.artifacts import acreate_progress_artifact, aupdate_progress_artifact
from pydantic import BaseModel, Field

from flows.outcomes import CaseOutcome as CaseOutcome
from flows.outcomes import CaseResult as CaseResult
from flows.outcomes import RegisteredMove as RegisteredMove


class BatchSummary(BaseModel):
    """What one batch run did, case by case."""

    target_url: str
    process: str = Field(default="", description="The process batched.")
    done_as: str = Field(
        default="registered",
        description="The result of a case the robot did alone (`registered`, `done`).",
    )
    concurrency: int
    wall_seconds: float
    outcomes: list[CaseOutcome] = Field(default_factory=list)

    def count(self, result: str) -> int:
        """How many cases ended with this result."""
        return sum(1 for outcome in self.outcomes if outcome.result == result)

    @property
    def total(self) -> int:
        """Cases the batch looked at."""
        return len(self.outcomes)

    @property
    def cases_per_second(self) -> float:
        """Throughput over the whole batch, listing included."""
        return self.total / self.wall_seconds if self.wall_seconds > 0 else 0.0

    @property
    def waiting(self) -> list[CaseOutcome]:
        """Cases that now wait for a human, set aside or failed."""
        return [o for o in self.outcomes if o.result in ("set_aside", "failed")]

    def headline(self) -> str:
        """One line: the counts."""
        done = f"{self.count(self.done_as)} {self.done_as} by the robot"
        return (
            f"{self.total} cases: {done}, "
            f"{self.count('set_aside')} set aside for a human, {self.count('failed')} failed "
            f"(handed to a person), {self.count('skipped')} skipped "
            f"in {self.wall_seconds:.1f} s ({self.cases_per_second:.2f} cases/s)"
        )

    def lines(self) -> list[str]:
        """The headline, then one line per case that waits for a human."""
        lines = [self.headline()]
        for outcome in self.waiting:
            why = "; ".join(f"{r.rule_id}: {r.message}" for r in outcome.reasons)
            if outcome.result == "failed":
                why = f"robot failed: {outcome.error}"
            lines.append(f"  {outcome.case_id} [{outcome.result}] {why}")
        return lines

    def table(self) -> list[dict[str, str]]:
        """Rows for a Prefect table artifact: every case, what happened and why."""
        return [
            {
                "case": o.case_id,
                "result": o.result,
                "reasons": ", ".join(r.rule_id for r in o.reasons),
                "explanation": " ".join(r.message for r in o.reasons) or (o.error or ""),
                "registrations": ", ".join(
                    [*(r.registration_id for r in o.registrations), *o.references]
                ),
                "robot seconds": f"{o.robot_seconds:.2f}",
            }
            for o in self.outcomes
        ]


class Progress:
    """A Prefect progress artifact, so the UI and `rpa run` can show how far a batch is."""

    def __init__(self, total: int, *, key: str) -> None:
        self.total = total
        self.key = key
        self.done = 0
        self.artifact_id: UUID | None = None
        self._step = max(1, total // 50)

    async def start(self) -> None:
        self.artifact_id = await acreate_progress_artifact(
            progress=0.0 if self.total else 100.0,
            key=self.key,
            description=f"Cases handled of {self.total}",
        )

    async def advance(self) -> None:
        self.done += 1
        if self.artifact_id and (self.done % self._step == 0 or self.done == self.total):
            await aupdate_progress_artifact(self.artifact_id, 100.0 * self.done / self.total)
