"""process_inbox: the change-of-address robot's batch run, case by case."""

from __future__ import annotations

import time
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path

from prefect import flow, get_run_logger, runtime, task
from prefect.artifacts import acreate_markdown_artifact, acreate_table_artifact

from checkpoints.channels import enabled as chat_channels
from checkpoints.models import Checkpoint
from checkpoints.store.claims import holder_name
from checkpoints.store.db import StoreUnavailable
from checkpoints.store.repository import CheckpointStore
from config.rules import ChangeOfAddressRules, load_rules_config
from config.settings import Settings, get_settings
from flows import logfilters, operations
from flows.benefits import publish_benefits
from flows.change_of_address.case import (
    CaseFile,
    CaseOutcome,
    Clearance,
    FieldProblem,
    Reason,
)
from flows.change_of_address.clearance import cleared_before_a_crash, route_case
from flows.change_of_address.proposal import proposal_for
from flows.change_of_address.robot import CaseSystemRobot
from flows.checkpoint import PROCESS, start_checkpoint_run
from flows.common import open_store, target_for
from flows.crashpoints import crash_point
from flows.lanes import Lanes, is_system_fault, log_done
from flows.limits import session_slot
from flows.parts import work_in_parts
from flows.summary import BatchSummary
from robots.errors import BusinessError
from robots.pool import RobotPool
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
    holder: str = field(default_factory=lambda: holder_name(str(runtime.flow_run.id)))


# Tasks take ids, not pages: the browser lanes of the running batch are found here.
_BATCH: ContextVar[_Batch] = ContextVar("rpa_batch")


@task(
    name="list-open-cases",
    retries=2,
    retry_delay_seconds=[2, 10],
    retry_condition_fn=is_system_fault,
)
async def list_open_cases(limit: int | None) -> list[str]:
    """Log in and page through the inbox for open notifications."""
    batch = _BATCH.get()
    return await batch.pool.lane(0).robot.list_open_cases(limit)


@task(name="confirm-stopped-work", retries=2, retry_delay_seconds=[2, 10])
async def confirm_stopped_work(open_case_ids: list[str]) -> list[str]:
    """Journals that stop at an announced action of a closed case: confirm how it ended.

    A run stopped between closing a case and journalling it leaves that gap; the case is
    no longer in the inbox, so the next batch looks it up here. Open ones are finished by
    handle_case itself.
    """
    batch = _BATCH.get()
    robot = batch.pool.lane(0).robot
    confirmed = []
    for entry in batch.store.unfinished():
        if entry.case_id in open_case_ids:
            continue
        case = await robot.read_case(entry.case_id)
        if case.status == "registered":
            batch.store.record(entry.case_id, "robot.confirmed", {"case_status": case.status})
            confirmed.append(entry.case_id)
    if confirmed:
        get_run_logger().info(
            "Confirmed %d cases a stopped run had closed: %s", len(confirmed), ", ".join(confirmed)
        )
    return confirmed


# Not a Prefect task: a task run per case cost the flow a third of its pace (flows/lanes.py
# says what shows per case instead); the lanes try it again after a system fault.
async def handle_case(case_id: str, lane: int) -> CaseOutcome:
    """Extract, enrich and route one case; register it when routine, else set it aside."""
    logger = get_run_logger()
    batch = _BATCH.get()
    robot = batch.pool.lane(lane).robot
    started = time.monotonic()
    case = await robot.read_case(case_id)
    crash_point("case.read", case_id)
    if case.status != "open":
        logger.info("Case %s is %s now; left alone", case_id, case.status)
        return CaseOutcome(case_id=case_id, result="skipped")
    held = batch.store.active_for_case(case_id, PROCESS)
    if held is not None:
        # A person has this case (a run stopped before marking it in progress, or the
        # case system failed then): the robot may not decide it; it finishes setting aside.
        return await _keep_aside(robot, held, started)
    case = await robot.enrich(case)
    clearance = cleared_before_a_crash(batch.store, case)
    if clearance is None:
        routing = route_case(case, config=batch.rules, locale=batch.settings.locale)
        crash_point("case.routed", case_id)
        if routing.clearance is None:
            return await _set_aside(robot, case, routing.reasons, started)
        clearance = routing.clearance
        batch.store.record_reading(case, [], process=PROCESS)
    else:
        logger.info("Case %s: finishing the registration a stopped run began", case_id)
    return await _register(robot, case, clearance, started)


async def _register(
    robot: CaseSystemRobot, case: CaseFile, clearance: Clearance, started: float
) -> CaseOutcome:
    """Record, act, record: the journal says what the robot is about to do before it does it.

    The case is closed only after the registration is in the journal, so a store that
    fails leaves the case open for the next run, which finishes it; never registered
    and closed without a trace.
    """
    batch = _BATCH.get()
    case_id = case.case_id
    batch.store.record(
        case_id, "robot.registering", {"fingerprint": clearance.fingerprint, "basis": "routine"}
    )
    try:
        registrations = await robot.register_move(case, clearance)
    except BusinessError as exc:
        reason = Reason(rule_id="robot.refused", message=str(exc), details={"code": exc.code})
        return await _set_aside(robot, case, [reason], started)
    ids = [r.registration_id for r in registrations]
    batch.store.record(case_id, "robot.closing", {"registrations": ids})
    crash_point("case.registered", case_id)
    await robot.close_case(
        case_id, "registered", f"Flytning registreret af robot ({', '.join(ids)})."
    )
    batch.store.record(
        case_id,
        "robot.registered",
        # robot_seconds: the robot's time on the case, for `rpa report benefits`.
        {
            "decided_by": None,
            "registrations": ids,
            "robot_seconds": round(time.monotonic() - started, 3),
        },
    )
    log_done("Case %s registered (%s)", case_id, ", ".join(ids))
    return CaseOutcome(
        case_id=case_id,
        result="registered",
        registrations=registrations,
        robot_seconds=time.monotonic() - started,
    )


async def _set_aside(
    robot: CaseSystemRobot, case: CaseFile, reasons: list[Reason], started: float
) -> CaseOutcome:
    """Store the checkpoint first, then mark the case in progress, then start its waiting run.

    Each step is idempotent, so a retry after a fault in any of them repeats none.
    """
    batch = _BATCH.get()
    await robot.show_case(case.case_id)
    shot = await batch.session.screenshot(robot.page, f"{case.case_id}-checkpoint")
    checkpoint = _open_checkpoint(case, reasons, str(shot) if shot else None)
    crash_point("checkpoint.stored", case.case_id)
    await robot.mark_in_progress(case.case_id)
    crash_point("case.marked_in_progress", case.case_id)
    if checkpoint.flow_run_id is None:
        await start_checkpoint_run(batch.store, checkpoint.checkpoint_id, batch.target_url)
    crash_point("checkpoint.run_started", case.case_id)
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


async def _keep_aside(
    robot: CaseSystemRobot, checkpoint: Checkpoint, started: float
) -> CaseOutcome:
    """Finish setting aside a case that already has its checkpoint (idempotent steps)."""
    batch = _BATCH.get()
    await robot.mark_in_progress(checkpoint.case_id)
    if checkpoint.flow_run_id is None:
        await start_checkpoint_run(batch.store, checkpoint.checkpoint_id, batch.target_url)
    get_run_logger().info(
        "Case %s already waits for a person (checkpoint %s); marked in progress",
        checkpoint.case_id,
        checkpoint.checkpoint_id,
    )
    return CaseOutcome(
        case_id=checkpoint.case_id,
        result="set_aside",
        reasons=checkpoint.reasons,
        robot_seconds=time.monotonic() - started,
    )


def _open_checkpoint(case: CaseFile, reasons: list[Reason], screenshot: str | None) -> Checkpoint:
    batch = _BATCH.get()
    return batch.store.open_checkpoint(
        case=case,
        reasons=reasons,
        proposal=proposal_for(case, reasons, batch.settings.locale),
        screenshot=screenshot,
        process=PROCESS,
        deadline_hours=batch.settings.checkpoints.deadline_hours,
        target_url=batch.target_url,
        channels=chat_channels(batch.settings),
    )


@flow(name="process-inbox", flow_run_name=operations.batch_run_name, persist_result=True)
async def process_inbox(
    target_url: str | None = None,
    limit: int | None = None,
    concurrency: int | None = None,
    parts: int = 1,
    case_ids: list[str] | None = None,
) -> BatchSummary:
    """Handle every open change-of-address notification in the case system.

    `parts`: split the batch into that many part runs of this deployment, for the workers
    of its work pool (flows/parts.py); `case_ids`: a part's share, instead of the inbox.
    """
    logfilters.install()
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
            if case_ids is None:
                # Listing is a robot session too: it holds a slot of the case system's
                # limit (flows/limits.py), and gives it back before the lanes take theirs.
                async with session_slot(settings, target.base_url):
                    case_ids = await list_open_cases(limit)
                    await confirm_stopped_work(case_ids)
                    await pool.log_out(0)
            logger.info("%d open cases at %s, %d lanes", len(case_ids), target.base_url, lanes)
            work = Lanes(
                pool=pool,
                session=session,
                store=store,
                holder=_BATCH.get().holder,
                handle=handle_case,
                hand_over=_hand_over,
                retry_delays=settings.retry_delays_s,
                progress_key="change-of-address-progress",
                recycle_every=settings.browser.recycle_every,
                slot=lambda: session_slot(settings, target.base_url),
            )
            if parts > 1:
                shared = {"target_url": target_url, "concurrency": lanes}
                outcomes = await work_in_parts(
                    case_ids, parts, shared, "change-of-address-batch", work.work_through
                )
            else:
                outcomes = await work.work_through(case_ids)
            waiting = operations.waiting_checkpoints(store, outcomes, PROCESS)
        finally:
            _BATCH.reset(token)
            store.close()
    summary = BatchSummary(
        target_url=target.base_url,
        process=PROCESS,
        concurrency=lanes,
        wall_seconds=time.monotonic() - started,
        outcomes=outcomes,
    )
    for line in summary.lines():
        logger.info("%s", line)
    await operations.finish_batch(summary, waiting)
    await acreate_table_artifact(
        key="change-of-address-batch",
        table=summary.table(),
        description=summary.headline(),
    )
    await acreate_markdown_artifact(
        key="change-of-address-summary", markdown="\n".join(summary.lines()).replace("\n", "\n\n")
    )
    await publish_benefits(settings, PROCESS, summary.wall_seconds)
    return summary


async def _closed_before_the_fault(robot: CaseSystemRobot, case_id: str) -> CaseOutcome | None:
    """A case the robot closed while the answer was lost to a fault: confirmed, registered.

    Closing can succeed in the case system while its answer is lost; the case then reads
    as registered, and a checkpoint for it would ask a person to decide a finished case.
    """
    batch = _BATCH.get()
    try:
        entries = batch.store.journal(case_id)
        if not entries or entries[-1].kind != "robot.closing":
            return None
        case = await robot.read_case(case_id)
        if case.status != "registered":
            return None
        batch.store.record(case_id, "robot.confirmed", {"case_status": case.status})
    except Exception as exc:  # the system that just failed may still be failing
        get_run_logger().info("Case %s: could not confirm how it ended: %s", case_id, exc)
        return None
    return CaseOutcome(case_id=case_id, result="registered")


async def _hand_over(
    robot: CaseSystemRobot, case_id: str, code: str, detail: str, screenshot: Path | None
) -> str | CaseOutcome:
    """A case the robot could not finish goes to a person (`system.failed`), never nowhere."""
    closed = await _closed_before_the_fault(robot, case_id)
    if closed is not None:
        return closed
    batch = _BATCH.get()
    locale = batch.settings.locale
    message = {
        "da": f"Robotten kunne ikke gøre sagen færdig ({code}): {detail}. En person skal se "
        "sagen i sagssystemet og afgøre den.",
        "en": f"The robot could not finish the case ({code}): {detail}. A person must look at "
        "the case in the case system and decide it.",
    }[locale]
    reason = Reason(rule_id="system.failed", message=message, details={"code": code})
    try:
        # The journal says the robot stopped, whatever it had announced before.
        batch.store.record(case_id, "robot.failed", {"code": code})
    except StoreUnavailable as exc:
        return f"left open, the store is unavailable ({exc}); the next run takes it"
    try:
        case = await robot.read_case(case_id)
    except Exception as exc:  # the system that just failed may still be failing
        get_run_logger().info("Case %s could not be read for the person either: %s", case_id, exc)
        case = CaseFile(
            case_id=case_id,
            problems=[FieldProblem(field="case", raw="", message=f"not read: {code}")],
        )
    try:
        checkpoint = _open_checkpoint(case, [reason], str(screenshot) if screenshot else None)
    except StoreUnavailable as exc:
        return f"left open and untouched, the store is unavailable ({exc}); the next run takes it"
    try:
        await robot.mark_in_progress(case_id)
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
