"""process_cases: the batch run of any process declared with the process API.

The same steps for every process, in the same order as the change-of-address batch:
claim the case for this batch, read it (with its look-ups), route it through the
process's rules, and then either let the robot do the work (journalled before and
after) or store a checkpoint, mark the case in progress and start its waiting run.
A system fault is retried; when retries run out the case goes to a person as a
`system.failed` checkpoint. A business refusal goes to a person at once.
"""

from __future__ import annotations

import time
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, runtime, task
from prefect.artifacts import acreate_markdown_artifact, acreate_table_artifact

from checkpoints import processes
from checkpoints.models import Checkpoint
from checkpoints.process import Process, Reason, RuleSettings, Text
from checkpoints.store.claims import holder_name
from checkpoints.store.db import StoreUnavailable
from checkpoints.store.repository import CheckpointStore
from config.settings import Settings, get_settings
from flows import logfilters, operations
from flows.benefits import publish_benefits
from flows.checkpoint import start_checkpoint_run
from flows.common import open_store, target_for
from flows.crashpoints import crash_point
from flows.lanes import Lanes, is_system_fault, log_done
from flows.limits import session_slot
from flows.parts import work_in_parts
from flows.runtime import ACTING, DONE, open_checkpoint, rule_settings
from flows.summary import BatchSummary, CaseOutcome
from robots.errors import BusinessError
from robots.pool import RobotPool
from robots.session import BrowserSession

BATCH_FLOW = "process-cases"


def batch_deployment(process: Process[Any, Any]) -> str:
    """The `flow/deployment` name of a process's batch runs (`rpa run`, `rpa up`)."""
    own: str | None = getattr(process, "batch_deployment", None)
    return own or f"{BATCH_FLOW}/{process.name}"


def progress_key(process: str) -> str:
    """The key of a batch's progress artifact (what `rpa run` shows while it waits)."""
    return f"{process}-progress"


_FAILED = Text(
    da="Robotten kunne ikke gøre sagen færdig ({code}): {detail}. En person skal se sagen i "
    "sagssystemet og afgøre den.",
    en="The robot could not finish the case ({code}): {detail}. A person must look at the "
    "case in the case system and decide it.",
)


@dataclass
class _Batch:
    """What the tasks of one batch share."""

    process: Process[Any, Any]
    pool: RobotPool[Any]
    session: BrowserSession
    rules: dict[str, RuleSettings]
    settings: Settings
    store: CheckpointStore
    target_url: str
    holder: str = field(default_factory=lambda: holder_name(str(runtime.flow_run.id)))

    def key(self, case_id: str) -> str:
        return self.process.journal_key(case_id)


_BATCH: ContextVar[_Batch] = ContextVar("rpa_process_batch")


@task(
    name="list-open-cases",
    retries=2,
    retry_delay_seconds=[2, 10],
    retry_condition_fn=is_system_fault,
)
async def list_open_cases(limit: int | None) -> list[str]:
    """Log in and list the open cases of the process."""
    batch = _BATCH.get()
    assert batch.process.inbox is not None
    return await batch.process.inbox(batch.pool.lane(0).robot, limit)


@task(name="confirm-stopped-work", retries=2, retry_delay_seconds=[2, 10])
async def confirm_stopped_work(open_case_ids: list[str]) -> list[str]:
    """Journals of this process that stop at an announced action of a case no longer open.

    A run stopped between acting and journalling leaves that gap; the case has left the
    inbox, so the next batch reads it here and records how it ended. Open ones are
    finished by handle_case itself (every carry-out reads before it writes).
    """
    batch = _BATCH.get()
    process = batch.process
    prefix = process.journal_key("")
    robot = batch.pool.lane(0).robot
    ends = set(process.end_status.values())
    confirmed = []
    for entry in batch.store.unfinished((ACTING,)):
        case_id = entry.case_id.removeprefix(prefix)
        if not entry.case_id.startswith(prefix) or case_id in open_case_ids:
            continue
        assert process.reader is not None
        case = await process.reader(robot, case_id)
        if case.status in ends:
            batch.store.record(entry.case_id, "robot.confirmed", {"case_status": case.status})
            confirmed.append(case_id)
    if confirmed:
        get_run_logger().info(
            "Confirmed %d cases a stopped run had done: %s", len(confirmed), ", ".join(confirmed)
        )
    return confirmed


# Not a Prefect task: a task run per case cost the flow a third of its pace (flows/lanes.py
# says what shows per case instead); the lanes try it again after a system fault.
async def handle_case(case_id: str, lane: int) -> CaseOutcome:
    """Read and route one case; do the work when routine, else set it aside for a person."""
    batch = _BATCH.get()
    process = batch.process
    robot = batch.pool.lane(lane).robot
    started = time.monotonic()
    assert process.reader is not None
    case = await process.reader(robot, case_id)
    crash_point("case.read", case_id)
    if case.status != "open":
        get_run_logger().info("Case %s is %s now; left alone", case_id, case.status)
        return CaseOutcome(case_id=case_id, result="skipped")
    held = batch.store.active_for_case(case_id, process.name)
    if held is not None:
        return await _keep_aside(robot, held, started)
    reasons = process.route(case, batch.rules, batch.settings.locale)
    crash_point("case.routed", case_id)
    if reasons:
        return await _set_aside(robot, case, reasons, started)
    batch.store.record_reading(case, [], process=process.name)
    decided = process.routine(case)
    batch.store.record(
        batch.key(case_id),
        ACTING,
        {"decision": decided.kind, "fingerprint": decided.fingerprint, "basis": "routine"},
    )
    try:
        outcome = await process.handlers[decided.kind](robot, case, decided)
    except BusinessError as exc:
        refused = Reason(rule_id="robot.refused", message=str(exc), details={"code": exc.code})
        return await _set_aside(robot, case, [refused], started)
    crash_point("case.registered", case_id)
    batch.store.record(
        batch.key(case_id),
        DONE,
        # robot_seconds: the robot's time on the case, for `rpa report benefits`.
        {
            "decided_by": None,
            **outcome.model_dump(mode="json"),
            "robot_seconds": round(time.monotonic() - started, 3),
        },
    )
    log_done("Case %s: %s (%s)", case_id, outcome.action, ", ".join(outcome.references))
    return CaseOutcome(
        case_id=case_id,
        result="done",
        action=outcome.action,
        references=outcome.references,
        robot_seconds=time.monotonic() - started,
    )


async def _set_aside(robot: Any, case: Any, reasons: list[Reason], started: float) -> CaseOutcome:
    """Store the checkpoint, then mark the case in progress, then start its waiting run."""
    batch = _BATCH.get()
    if batch.process.show_case is not None:
        await batch.process.show_case(robot, case.case_id)
    shot = await batch.session.screenshot(robot.page, f"{case.case_id}-checkpoint")
    checkpoint = open_checkpoint(
        batch.store,
        batch.process,
        case,
        reasons,
        batch.settings,
        screenshot=str(shot) if shot else None,
        target_url=batch.target_url,
    )
    crash_point("checkpoint.stored", case.case_id)
    assert batch.process.set_aside is not None
    await batch.process.set_aside(robot, case)
    crash_point("case.marked_in_progress", case.case_id)
    if checkpoint.flow_run_id is None:
        await start_checkpoint_run(batch.store, checkpoint.checkpoint_id, batch.target_url)
    crash_point("checkpoint.run_started", case.case_id)
    get_run_logger().info(
        "Case %s set aside for a person (checkpoint %s): %s",
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


async def _keep_aside(robot: Any, checkpoint: Checkpoint, started: float) -> CaseOutcome:
    """Finish setting aside a case that already has its checkpoint (idempotent steps)."""
    batch = _BATCH.get()
    assert batch.process.set_aside is not None
    await batch.process.set_aside(robot, checkpoint.case)
    if checkpoint.flow_run_id is None:
        await start_checkpoint_run(batch.store, checkpoint.checkpoint_id, batch.target_url)
    return CaseOutcome(
        case_id=checkpoint.case_id,
        result="set_aside",
        reasons=checkpoint.reasons,
        robot_seconds=time.monotonic() - started,
    )


@flow(name=BATCH_FLOW, flow_run_name=operations.batch_run_name, persist_result=True)
async def process_cases(
    process: str,
    target_url: str | None = None,
    limit: int | None = None,
    concurrency: int | None = None,
    parts: int = 1,
    case_ids: list[str] | None = None,
) -> BatchSummary:
    """Handle every open case of one process in the case system.

    `parts`: split the batch into that many part runs of this deployment, for the workers
    of its work pool (flows/parts.py); `case_ids`: a part's share, instead of the inbox.
    """
    logfilters.install()
    logger = get_run_logger()
    settings = get_settings()
    declared = processes.get(process)
    if declared.own_runtime or declared.robot is None:
        raise ValueError(f"process {process!r} has its own batch flow; run it by its name")
    target = target_for(settings, target_url)
    lanes = concurrency or settings.browser.concurrency
    rules = rule_settings(settings, declared)
    started = time.monotonic()
    store = open_store(settings)  # first: when it cannot be reached, no case is touched
    make = declared.robot
    async with (
        BrowserSession(settings.browser, settings.artifacts_dir) as session,
        RobotPool(session, lanes, lambda page: make(page, target)) as pool,
    ):
        token = _BATCH.set(_Batch(declared, pool, session, rules, settings, store, target.base_url))
        try:
            if case_ids is None:
                # Listing is a robot session too: it holds a slot of the case system's
                # limit (flows/limits.py), and gives it back before the lanes take theirs.
                async with session_slot(settings, target.base_url):
                    case_ids = await list_open_cases(limit)
                    await confirm_stopped_work(case_ids)
                    await pool.log_out(0)
            logger.info(
                "%s: %d open cases at %s, %d lanes", process, len(case_ids), target.base_url, lanes
            )
            work = Lanes(
                pool=pool,
                session=session,
                store=store,
                holder=_BATCH.get().holder,
                handle=handle_case,
                hand_over=_hand_over,
                retry_delays=settings.retry_delays_s,
                progress_key=progress_key(process),
                recycle_every=settings.browser.recycle_every,
                slot=lambda: session_slot(settings, target.base_url),
                key=declared.journal_key,
            )
            if parts > 1:
                shared = {"process": process, "target_url": target_url, "concurrency": lanes}
                outcomes = await work_in_parts(
                    case_ids, parts, shared, f"{process}-batch", work.work_through
                )
            else:
                outcomes = await work.work_through(case_ids)
            waiting = operations.waiting_checkpoints(store, outcomes, process)
        finally:
            _BATCH.reset(token)
            store.close()
    summary = BatchSummary(
        target_url=target.base_url,
        process=process,
        done_as="done",
        concurrency=lanes,
        wall_seconds=time.monotonic() - started,
        outcomes=outcomes,
    )
    for line in summary.lines():
        logger.info("%s", line)
    await operations.finish_batch(summary, waiting)
    await acreate_table_artifact(
        key=f"{process}-batch", table=summary.table(), description=summary.headline()
    )
    await acreate_markdown_artifact(
        key=f"{process}-summary", markdown="\n".join(summary.lines()).replace("\n", "\n\n")
    )
    await publish_benefits(settings, process, summary.wall_seconds)
    return summary


async def _done_before_the_fault(robot: Any, case_id: str) -> CaseOutcome | None:
    """A case whose announced action went through before a fault hid it: confirmed, done.

    The last step (closing the case) can succeed in the case system while its answer is
    lost; the case then reads as done, and a checkpoint for it would ask a person to
    decide a case that is finished.
    """
    batch = _BATCH.get()
    process = batch.process
    key = batch.key(case_id)
    try:
        entries = batch.store.journal(key)
        if not entries or entries[-1].kind != ACTING or process.reader is None:
            return None
        decision = entries[-1].data.get("decision")
        case = await process.reader(robot, case_id)
        if decision not in process.end_status or case.status != process.end_status[decision]:
            return None
        batch.store.record(key, "robot.confirmed", {"case_status": case.status})
    except Exception as exc:  # the system that just failed may still be failing
        get_run_logger().info("Case %s: could not confirm how it ended: %s", case_id, exc)
        return None
    return CaseOutcome(case_id=case_id, result="done", action=decision)


async def _hand_over(
    robot: Any, case_id: str, code: str, detail: str, screenshot: Path | None
) -> str | CaseOutcome:
    """A case the robot could not finish goes to a person (`system.failed`), never nowhere.

    Only when the robot can still read the case: a checkpoint holds the case as read, so
    a case that cannot be read stays open in the case system for the next run (and the
    journal says the robot stopped).
    """
    done = await _done_before_the_fault(robot, case_id)
    if done is not None:
        return done
    batch = _BATCH.get()
    process = batch.process
    message = _FAILED.get(batch.settings.locale).format(code=code, detail=detail)
    reason = Reason(rule_id="system.failed", message=message, details={"code": code})
    try:
        batch.store.record(batch.key(case_id), "robot.failed", {"code": code})
    except StoreUnavailable as exc:
        return f"left open, the store is unavailable ({exc}); the next run takes it"
    try:
        assert process.reader is not None
        case = await process.reader(robot, case_id)
    except Exception as exc:  # the system that just failed may still be failing
        get_run_logger().info("Case %s could not be read for a person either: %s", case_id, exc)
        return "left open in the case system (it could not be read); the next run takes it"
    try:
        checkpoint = open_checkpoint(
            batch.store,
            process,
            case,
            [reason],
            batch.settings,
            screenshot=str(screenshot) if screenshot else None,
            target_url=batch.target_url,
        )
    except StoreUnavailable as exc:
        return f"left open and untouched, the store is unavailable ({exc}); the next run takes it"
    try:
        assert process.set_aside is not None
        await process.set_aside(robot, case)
        if checkpoint.flow_run_id is None:
            await start_checkpoint_run(batch.store, checkpoint.checkpoint_id, batch.target_url)
    except Exception as exc:
        get_run_logger().warning(
            "Case %s: checkpoint %s is stored, but the case could not be marked in progress "
            "(%s); `rpa up` starts its waiting run",
            case_id,
            checkpoint.checkpoint_id,
            exc,
        )
    return f"handed to a person as checkpoint {checkpoint.checkpoint_id}"
