"""`robot`: the project's robot without Prefect, doing what process_inbox's tasks do.

handle_case (flows/change_of_address/batch.py) finds its browser lanes and store
through the running flow (flows/lanes.py); this is the same loop written out, calling
the same functions in the same order, with every read and verification: the inbox
listed first (list_open_cases), then per case the
claim in the store and the lane's page replaced every `recycle_every` cases
(flows/lanes.py), the robot's read of the case, the check for a
checkpoint a person already has, the robot's enrichment, the journal check for a
registration a stopped run began, routing (route_case), the reading journalled, then
record, act, record: `robot.registering`, register_move (which looks the movers up
first and reads each registration back), `robot.closing`, close_case,
`robot.registered`. A case for a person gets its screenshot, its checkpoint and is
marked in progress (no waiting run: that needs Prefect). One BrowserSession, one
context and robot per lane (RobotPool), the store under the benchmark's RPA_HOME.

The latency of a case is measured as the flow measures `robot_seconds`: from reading
the case to the last journal entry.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from uuid import uuid4

from bench.common import Progress, Work, in_lanes
from checkpoints.channels import enabled as chat_channels
from checkpoints.store.claims import holder_name
from checkpoints.store.repository import CheckpointStore
from config.rules import ChangeOfAddressRules, load_rules_config
from config.settings import Settings
from flows.change_of_address.case import CaseFile, Clearance, Reason
from flows.change_of_address.clearance import cleared_before_a_crash, route_case
from flows.change_of_address.process import NAME as PROCESS
from flows.change_of_address.proposal import proposal_for
from flows.change_of_address.robot import CaseSystemRobot
from flows.common import open_store, target_for
from robots.errors import BusinessError
from robots.pool import RobotPool
from robots.session import BrowserSession


class RobotLoop:
    """handle_case and its helpers, without the Prefect flow around them."""

    def __init__(
        self,
        pool: RobotPool[CaseSystemRobot],
        session: BrowserSession,
        store: CheckpointStore,
        rules: ChangeOfAddressRules,
        settings: Settings,
        target_url: str,
    ) -> None:
        self.pool = pool
        self.session = session
        self.store = store
        self.rules = rules
        self.settings = settings
        self.target_url = target_url
        self.holder = holder_name(f"bench-{uuid4().hex[:12]}")

    async def after_case(self, lane_index: int, handled: int, more: bool) -> None:
        """A lane's page is replaced every `recycle_every` cases, as flows/lanes.py does."""
        if more and handled % self.settings.browser.recycle_every == 0:
            await self.pool.recycle(lane_index)

    async def run_case(self, lane_index: int, case_id: str) -> tuple[str, float]:
        """One case, claimed while it is worked (flows/lanes.py)."""
        if self.store.claim(case_id, self.holder) is not None:
            return "skipped", 0.0
        lane = self.pool.lane(lane_index)
        try:
            await self.session.start_case(lane.context)
            ended = await self.handle_case(lane.robot, case_id)
            await self.session.end_case(lane.context, case_id, failed=False)
            return ended
        finally:
            self.store.release(case_id, self.holder)

    async def handle_case(self, robot: CaseSystemRobot, case_id: str) -> tuple[str, float]:
        started = time.monotonic()
        case = await robot.read_case(case_id)
        if case.status != "open":
            return "skipped", time.monotonic() - started
        held = self.store.active_for_case(case_id, PROCESS)
        if held is not None:
            await robot.mark_in_progress(case_id)
            return "set_aside", time.monotonic() - started
        case = await robot.enrich(case)
        clearance = cleared_before_a_crash(self.store, case)
        if clearance is None:
            routing = route_case(case, config=self.rules, locale=self.settings.locale)
            if routing.clearance is None:
                return await self.set_aside(robot, case, routing.reasons, started)
            clearance = routing.clearance
            self.store.record_reading(case, [], process=PROCESS)
        return await self.register(robot, case, clearance, started)

    async def register(
        self, robot: CaseSystemRobot, case: CaseFile, clearance: Clearance, started: float
    ) -> tuple[str, float]:
        case_id = case.case_id
        self.store.record(
            case_id,
            "robot.registering",
            {"fingerprint": clearance.fingerprint, "basis": "routine"},
        )
        try:
            registrations = await robot.register_move(case, clearance)
        except BusinessError as exc:
            reason = Reason(rule_id="robot.refused", message=str(exc), details={"code": exc.code})
            return await self.set_aside(robot, case, [reason], started)
        ids = [r.registration_id for r in registrations]
        self.store.record(case_id, "robot.closing", {"registrations": ids})
        await robot.close_case(
            case_id, "registered", f"Flytning registreret af robot ({', '.join(ids)})."
        )
        self.store.record(case_id, "robot.registered", {"decided_by": None, "registrations": ids})
        return "registered", time.monotonic() - started

    async def set_aside(
        self, robot: CaseSystemRobot, case: CaseFile, reasons: list[Reason], started: float
    ) -> tuple[str, float]:
        await robot.show_case(case.case_id)
        shot = await self.session.screenshot(robot.page, f"{case.case_id}-checkpoint")
        self.store.open_checkpoint(
            case=case,
            reasons=reasons,
            proposal=proposal_for(case, reasons, self.settings.locale),
            screenshot=str(shot) if shot else None,
            process=PROCESS,
            deadline_hours=self.settings.checkpoints.deadline_hours,
            target_url=self.target_url,
            channels=chat_channels(self.settings),
        )
        await robot.mark_in_progress(case.case_id)
        return "set_aside", time.monotonic() - started


async def robot_work(
    settings: Settings,
    base_url: str,
    case_ids: list[str],
    lanes: int,
    progress: Progress,
    before_close: Callable[[], None] | None = None,
) -> Work:
    """Every case through `lanes` robots of one browser session."""
    work = Work()
    target = target_for(settings, base_url)
    rules = load_rules_config(settings.rules_file)
    store = open_store(settings)
    try:
        async with (
            BrowserSession(settings.browser, settings.artifacts_dir) as session,
            RobotPool(session, lanes, lambda page: CaseSystemRobot(page, target)) as pool,
        ):
            loop = RobotLoop(pool, session, store, rules, settings, target.base_url)
            # The inbox listed first, by the first lane, which then logs out: process_inbox's
            # list-open-cases (the flow's unfinished-journal check is a store query).
            listed = await pool.lane(0).robot.list_open_cases(None)
            if sorted(listed) != sorted(case_ids):
                raise RuntimeError(
                    f"the inbox lists {len(listed)} open cases, the seed has {len(case_ids)}"
                )
            store.unfinished()
            await pool.log_out(0)
            await in_lanes(listed, lanes, work, progress, loop.run_case, loop.after_case)
            if before_close is not None:
                before_close()
    finally:
        store.close()
    return work
