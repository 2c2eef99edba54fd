"""The summary of a batch run: counts, the cases set aside and why."""

from __future__ import annotations

import asyncio
import logging
import time
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
    """A Prefect progress artifact, so the UI and `rpa run` can show how far a batch is.

    Updated at most every `every_s` seconds, in the background: a lane never waits for
    the Prefect API, and a batch of any size makes a few calls a minute (every 1/50th
    of it cost the flow about 2 % of its pace on this machine). `finish` awaits the last.
    """

    def __init__(self, total: int, *, key: str, every_s: float = 2.0) -> None:
        self.total = total
        self.key = key
        self.done = 0
        self.every_s = every_s
        self.artifact_id: UUID | None = None
        self._shown_at = 0.0
        self._pending: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.artifact_id = await acreate_progress_artifact(
            progress=0.0 if self.total else 100.0,
            key=self.key,
            description=f"Cases handled of {self.total}",
        )
        self._shown_at = time.monotonic()

    def advance(self) -> None:
        """One more case handled; the artifact follows when it is due and none is on its way."""
        self.done += 1
        due = time.monotonic() - self._shown_at >= self.every_s
        if self.artifact_id and due and (self._pending is None or self._pending.done()):
            self._shown_at = time.monotonic()
            self._pending = asyncio.create_task(self._show(self.done))

    async def finish(self) -> None:
        """The artifact at its final figure, after any update still on its way."""
        if self._pending is not None:
            await self._pending
        if self.artifact_id:
            await self._show(self.done)

    async def _show(self, done: int) -> None:
        assert self.artifact_id is not None
        try:
            await aupdate_progress_artifact(
                self.artifact_id, 100.0 * done / self.total if self.total else 100.0
            )
        except Exception as exc:  # a figure for the eye: never worth a case or the batch
            logging.getLogger(__name__).warning("Progress artifact not updated: %s", exc)
