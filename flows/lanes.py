"""Working a batch's cases through its browser lanes: the same for every process.

Each lane takes the next case from the queue, claims it in the store for this batch
(two batches never work one case), runs the process's handle-case step, again after a
system fault while retries remain, and, when they run out, keeps the evidence (a
screenshot, a trace) and hands the case to a person through the process's `hand_over`.

A case is not a Prefect task run of its own: one costs about 6 ms of Python and 5 ms of
the Prefect server per case (measured: the flow took 1.3x to 1.4x the robot's time with
them). What Prefect shows per case comes from what needs a person anyway: a case set
aside or failed is a flow run of its own (its checkpoint's), a failure's screenshot is an
artifact, every case has its log lines in the batch run and its row in the batch's table.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from playwright.async_api import Error as PlaywrightError
from prefect import get_run_logger
from prefect.client.schemas.objects import State

from checkpoints.store.db import StoreUnavailable
from checkpoints.store.repository import CheckpointStore
from flows.limits import slot_while_work_remains
from flows.operations import screenshot_artifact
from flows.outcomes import CaseOutcome
from flows.summary import Progress
from robots.errors import SystemFault, error_code
from robots.pool import RobotPool
from robots.session import BrowserSession

SYSTEM_FAULTS: tuple[type[Exception], ...] = (SystemFault, PlaywrightError, StoreUnavailable)
"""What is tried again: the system failed. A business reason goes to a person at once."""


def is_system_fault(task: Any, task_run: Any, state: State[Any]) -> bool:
    """The same test as a Prefect task's retry condition (the listing's)."""
    return isinstance(state.data, SYSTEM_FAULTS)


Handle = Callable[[str, int], Awaitable[CaseOutcome]]
"""(case id, lane index) -> what became of the case: a process's handle-case step."""

HandOver = Callable[[Any, str, str, str, Path | None], Awaitable[str | CaseOutcome]]
"""(robot, case id, error code, detail, screenshot) -> what became of the case.

An outcome instead of words when the case turned out done after all (the robot's last
step went through before the fault hid it): then nothing goes to a person."""


class DoneLines:
    """The log lines of cases the robot finished, sent as one record every few seconds.

    A record through Prefect's API log handler costs about 5 ms of Python (measured at
    concurrency 4: the flow's pace went from 12.4 to 13.0 cases/s without the routine
    lines); a batch of 10,000 routine cases would send 10,000. Grouped, each case keeps
    its line in the batch run's log ("Done by the robot (3): FLY-… registered (…)"),
    a faulted or set-aside case its own record at once.
    """

    def __init__(self, every_s: float = 2.0, most: int = 200) -> None:
        self.every_s = every_s
        self.most = most
        self._lines: list[str] = []
        self._since = time.monotonic()

    def add(self, line: str) -> None:
        self._lines.append(line)
        if len(self._lines) >= self.most or time.monotonic() - self._since >= self.every_s:
            self.flush()

    def flush(self) -> None:
        self._since = time.monotonic()
        if self._lines:
            lines, self._lines = self._lines, []
            get_run_logger().info("Done by the robot (%d):\n%s", len(lines), "\n".join(lines))


_DONE_LINES: ContextVar[DoneLines | None] = ContextVar("rpa_done_lines", default=None)


def log_done(message: str, *args: object) -> None:
    """A case the robot finished: its line in the batch's next grouped record, or logged at
    once outside a batch's lanes."""
    lines = _DONE_LINES.get()
    if lines is None:
        get_run_logger().info(message, *args)
    else:
        lines.add(message % args)


@contextlib.contextmanager
def _grouped_done_lines() -> Iterator[None]:
    lines = DoneLines()
    token = _DONE_LINES.set(lines)
    try:
        yield
    finally:
        _DONE_LINES.reset(token)
        lines.flush()


@dataclass(frozen=True)
class Lanes:
    """What the lanes of one batch need from its process's flow."""

    pool: RobotPool[Any]
    session: BrowserSession
    store: CheckpointStore
    holder: str
    """Names this batch's claims (host, process, flow run)."""
    handle: Handle
    hand_over: HandOver
    retry_delays: list[float]
    progress_key: str
    key: Callable[[str], str] = lambda case_id: case_id
    """The case's key in the store (journal and claim): case ids are unique per process."""
    recycle_every: int = 50
    """A lane's page is replaced after this many cases (robots/pool.py: flat memory)."""
    slot: Callable[[], AbstractAsyncContextManager[None]] | None = None
    """The case system's session slot (flows/limits.py): each lane holds one from before
    it logs in until it has logged out."""

    async def work_through(self, case_ids: list[str]) -> list[CaseOutcome]:
        """Every case, lane by lane; the outcomes in the order the cases were listed."""
        queue: asyncio.Queue[str] = asyncio.Queue()
        for case_id in case_ids:
            queue.put_nowait(case_id)
        outcomes: list[CaseOutcome] = []
        progress = Progress(len(case_ids), key=self.progress_key)
        await progress.start()

        async def lane_worker(index: int) -> None:
            async with AsyncExitStack() as stack:
                if self.slot is not None:
                    slot = self.slot
                    if not await slot_while_work_remains(slot, lambda: not queue.empty(), stack):
                        return  # the other lanes took every case while this one waited
                handled = 0
                while not queue.empty():
                    case_id = queue.get_nowait()
                    outcomes.append(await self._run_case(case_id, index))
                    progress.advance()
                    handled += 1
                    if handled % self.recycle_every == 0 and not queue.empty():
                        await self.pool.recycle(index)
                await self.pool.log_out(index)  # inside its slot: the session ends first

        with _grouped_done_lines():
            await asyncio.gather(*(lane_worker(lane.index) for lane in self.pool.lanes))
        await progress.finish()
        order = {case_id: n for n, case_id in enumerate(case_ids)}
        return sorted(outcomes, key=lambda o: order[o.case_id])

    async def _run_case(self, case_id: str, index: int) -> CaseOutcome:
        """One case, claimed for this batch while it is worked (two batches never share one)."""
        key = self.key(case_id)
        try:
            holder = self.store.claim(key, self.holder)
        except StoreUnavailable as exc:
            get_run_logger().error("Case %s left open and untouched: %s", case_id, exc)
            return CaseOutcome(
                case_id=case_id, result="failed", error=f"store.unavailable: {exc}; left untouched"
            )
        if holder is not None:
            get_run_logger().info(
                "Case %s is worked by another batch (%s); left to it", case_id, holder
            )
            return CaseOutcome(case_id=case_id, result="skipped")
        try:
            return await self._work_case(case_id, index)
        finally:
            with contextlib.suppress(StoreUnavailable):
                self.store.release(key, self.holder)

    async def _work_case(self, case_id: str, index: int) -> CaseOutcome:
        lane = self.pool.lane(index)
        await self.session.start_case(lane.context)
        try:
            outcome = await self._attempts(case_id, index)
        except Exception as error:
            return await self._failed(case_id, index, error)
        await self.session.end_case(lane.context, case_id, failed=False)
        return outcome

    async def _attempts(self, case_id: str, index: int) -> CaseOutcome:
        """The case, again after a system fault while retries remain.

        Every step of a handle-case reads before it writes, so an attempt after a fault
        repeats nothing that went through.
        """
        delays: list[float | None] = [*self.retry_delays, None]
        for attempt, delay in enumerate(delays, start=1):
            try:
                return await self.handle(case_id, index)
            except SYSTEM_FAULTS as exc:
                if delay is None:
                    raise
                get_run_logger().warning(
                    "Case %s: attempt %d of %d failed (%s: %s); again in %.1f s",
                    case_id,
                    attempt,
                    len(delays),
                    error_code(exc),
                    exc,
                    delay,
                )
                await asyncio.sleep(delay)
        raise AssertionError("unreachable")

    async def _failed(self, case_id: str, index: int, error: Exception) -> CaseOutcome:
        """Retries ran out (or the error was not worth retrying): evidence, then a person."""
        lane = self.pool.lane(index)
        code = error_code(error)
        detail = f"{type(error).__name__}: {error}"
        screenshot = await self.session.screenshot(lane.page, f"{case_id}-failed")
        await screenshot_artifact(case_id, screenshot, f"the robot failed ({code})")
        await self.session.end_case(lane.context, case_id, failed=True)
        lane.robot.logged_in = False  # start the next case from a clean login
        handed = await self.hand_over(lane.robot, case_id, code, detail, screenshot)
        if isinstance(handed, CaseOutcome):
            get_run_logger().info(
                "Case %s: the fault (%s) came after the robot's last step; it is done",
                case_id,
                code,
            )
            return handed
        get_run_logger().error("Case %s failed (%s: %s); %s", case_id, code, detail, handed)
        return CaseOutcome(
            case_id=case_id,
            result="failed",
            error=f"{code}: {detail}; {handed}",
            screenshot=str(screenshot) if screenshot else None,
        )
