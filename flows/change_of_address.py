"""process_inbox: the change-of-address robot's batch run, case by case."""

from __future__ import annotations

import asyncio
import time
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, cast
from uuid import UUID

from playwright.async_api import Error as PlaywrightError
from prefect import flow, get_run_logger, task
from prefect.artifacts import (
    acreate_markdown_artifact,
    acreate_progress_artifact,
    acreate_table_artifact,
    aupdate_progress_artifact,
)
from prefect.client.schemas.objects import State, TaskRun

from checkpoints.clearance import route_case
from checkpoints.store.repository import CheckpointStore
from config.rules import ChangeOfAddressRules, load_rules_config
from config.settings import Settings, get_settings
from domain.change_of_address import CaseFile, CaseOutcome, Reason
from flows.checkpoint import PROCESS, start_checkpoint_run
from flows.common import open_store, proposal_for, target_for
from flows.summary import BatchSummary
from robots.errors import BusinessError, SystemFault
from robots.pool import RobotPool
from robots.sandbox.actions import CaseSystemRobot
from robots.session import BrowserSession

DEPLOYMENT_NAME = "change-of-address"


@dataclass
class _Batch:
    """What the tasks of one batch share: the lanes, the rules, the settings."""

    pool: RobotPool[CaseSystemRobot]
    session: BrowserSession
    rules: ChangeOfAddressRules
    settings: Settings
    store: CheckpointStore
    target_url: str


# Tasks take ids, not pages: the browser lanes of the running batch are found here.
_BATCH: ContextVar[_Batch] = ContextVar("rpa_batch")


def _is_system_fault(task: Any, task_run: TaskRun, state: State[Any]) -> bool:
    """Retry only when the system failed; business reasons go to a human at once."""
    return isinstance(state.data, SystemFault | PlaywrightError)


@task(
    name="list-open-cases",
    retries=2,
    retry_delay_seconds=[2, 10],
    retry_condition_fn=_is_system_fault,
)
async def list_open_cases(limit: int | None) -> list[str]:
    """Log in and page through the inbox for open notifications."""
    batch = _BATCH.get()
    return await batch.pool.lane(0).robot.list_open_cases(limit)


@task(name="handle-case", task_run_name="case {case_id}", retry_condition_fn=_is_system_fault)
async def handle_case(case_id: str, lane: int) -> CaseOutcome:
    """Extract, enrich and route one case; register it when routine, else set it aside."""
    logger = get_run_logger()
    batch = _BATCH.get()
    robot = batch.pool.lane(lane).robot
    started = time.monotonic()
    case = await robot.read_case(case_id)
    if case.status != "open":
        logger.info("Case %s is %s now; left alone", case_id, case.status)
        return CaseOutcome(case_id=case_id, result="skipped")
    case = await robot.enrich(case)
    routing = route_case(case, config=batch.rules, locale=batch.settings.locale)
    if routing.clearance is not None:
        try:
            registrations = await robot.register_move(case, routing.clearance)
        except BusinessError as exc:
            reason = Reason(rule_id="robot.refused", message=str(exc))
            return await _set_aside(robot, case, [reason], started)
        ids = ", ".join(r.registration_id for r in registrations)
        await robot.close_case(case_id, "registered", f"Flytning registreret af robot ({ids}).")
        batch.store.record_reading(case, [])
        batch.store.record(
            case_id,
            "robot.registered",
            {"decided_by": None, "registrations": [r.registration_id for r in registrations]},
        )
        logger.info("Case %s registered (%s)", case_id, ids)
        return CaseOutcome(
            case_id=case_id,
            result="registered",
            registrations=registrations,
            robot_seconds=time.monotonic() - started,
        )
    return await _set_aside(robot, case, routing.reasons, started)


async def _set_aside(
    robot: CaseSystemRobot, case: CaseFile, reasons: list[Reason], started: float
) -> CaseOutcome:
    """Store the checkpoint first, then mark the case in progress, then start its waiting run.

    Each step is idempotent, so a retry after a fault in any of them repeats none.
    """
    batch = _BATCH.get()
    await robot.show_case(case.case_id)
    shot = await batch.session.screenshot(robot.page, f"{case.case_id}-checkpoint")
    checkpoint = batch.store.open_checkpoint(
        case=case,
        reasons=reasons,
        proposal=proposal_for(case, reasons, batch.settings.locale),
        screenshot=str(shot) if shot else None,
        process=PROCESS,
        deadline_hours=batch.settings.checkpoints.deadline_hours,
        target_url=batch.target_url,
        channels=("slack",) if batch.settings.slack.enabled else (),
    )
    await robot.mark_in_progress(case.case_id)
    if checkpoint.flow_run_id is None:
        await start_checkpoint_run(batch.store, checkpoint.checkpoint_id, batch.target_url)
    get_run_logger().info(
        "Case %s set aside for a human (checkpoint %s): %s",
        case.case_id,
        checkpoint.checkpoint_id,
        ", ".join(r.rule_id for r in reasons),
    )
    return CaseOutcome(
        case_id=case.case_id,
        result="set_aside",
        reasons=reasons,
        robot_seconds=time.monotonic() - started,
    )


@flow(name="process-inbox", persist_result=True)
async def process_inbox(
    target_url: str | None = None, limit: int | None = None, concurrency: int | None = None
) -> BatchSummary:
    """Handle every open change-of-address notification in the case system."""
    logger = get_run_logger()
    settings = get_settings()
    target = target_for(settings, target_url)
    lanes = concurrency or settings.browser.concurrency
    rules = load_rules_config(settings.rules_file)
    started = time.monotonic()
    # The store first: when it cannot be reached, no case is touched.
    store = open_store(settings)
    async with (
        BrowserSession(settings.browser, settings.artifacts_dir) as session,
        RobotPool(session, lanes, lambda page: CaseSystemRobot(page, target)) as pool,
    ):
        token = _BATCH.set(_Batch(pool, session, rules, settings, store, target.base_url))
        try:
            case_ids = await list_open_cases(limit)
            logger.info("%d open cases at %s, %d lanes", len(case_ids), target.base_url, lanes)
            outcomes = await _work_through(case_ids, pool, session)
        finally:
            _BATCH.reset(token)
            store.close()
    summary = BatchSummary(
        target_url=target.base_url,
        concurrency=lanes,
        wall_seconds=time.monotonic() - started,
        outcomes=outcomes,
    )
    for line in summary.lines():
        logger.info("%s", line)
    await acreate_table_artifact(
        key="change-of-address-batch",
        table=summary.table(),
        description=summary.headline(),
    )
    await acreate_markdown_artifact(
        key="change-of-address-summary", markdown="\n".join(summary.lines()).replace("\n", "\n\n")
    )
    return summary


async def _work_through(
    case_ids: list[str], pool: RobotPool[CaseSystemRobot], session: BrowserSession
) -> list[CaseOutcome]:
    queue: asyncio.Queue[str] = asyncio.Queue()
    for case_id in case_ids:
        queue.put_nowait(case_id)
    outcomes: list[CaseOutcome] = []
    progress = _Progress(len(case_ids))
    await progress.start()

    async def lane_worker(index: int) -> None:
        while not queue.empty():
            case_id = queue.get_nowait()
            outcomes.append(await _run_case(case_id, index, pool, session))
            await progress.advance()

    await asyncio.gather(*(lane_worker(lane.index) for lane in pool.lanes))
    order = {case_id: n for n, case_id in enumerate(case_ids)}
    return sorted(outcomes, key=lambda o: order[o.case_id])


async def _run_case(
    case_id: str, index: int, pool: RobotPool[CaseSystemRobot], session: BrowserSession
) -> CaseOutcome:
    lane = pool.lane(index)
    delays = _BATCH.get().settings.retry_delays_s
    handle = handle_case.with_options(retries=len(delays), retry_delay_seconds=delays)
    await session.start_case(lane.context)
    # Prefect's overloads type an async task's call as its return value; it is a coroutine.
    call: Any = handle(case_id, index, return_state=True)
    state = cast(State[CaseOutcome], await call)
    if state.is_completed():
        await session.end_case(lane.context, case_id, failed=False)
        outcome: CaseOutcome = await state.aresult()
        return outcome
    # Retries ran out (or the error was not worth retrying): evidence, then a human.
    error = state.data if isinstance(state.data, BaseException) else None
    screenshot = await session.screenshot(lane.page, f"{case_id}-failed")
    await session.end_case(lane.context, case_id, failed=True)
    lane.robot.logged_in = False  # start the next case from a clean login
    get_run_logger().error("Case %s failed and is left open for a human: %s", case_id, error)
    return CaseOutcome(
        case_id=case_id,
        result="failed",
        error=f"{type(error).__name__}: {error}" if error else (state.message or "failed"),
        screenshot=str(screenshot) if screenshot else None,
    )


class _Progress:
    """A Prefect progress artifact, so the UI and `rpa run` can show how far a batch is."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.done = 0
        self.artifact_id: UUID | None = None
        self._step = max(1, total // 50)

    async def start(self) -> None:
        self.artifact_id = await acreate_progress_artifact(
            progress=0.0 if self.total else 100.0,
            key="change-of-address-progress",
            description=f"Cases handled of {self.total}",
        )

    async def advance(self) -> None:
        self.done += 1
        if self.artifact_id and (self.done % self._step == 0 or self.done == self.total):
            await aupdate_progress_artifact(self.artifact_id, 100.0 * self.done / self.total)
