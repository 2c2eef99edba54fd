"""`checkpoints`: the human-checkpoint machinery at scale, as `rpa up` runs it.

Every case of the seed has remarks, so the project's routing sends each to a person.
The served deployments run in their own process (Stack.start_runner, as `rpa up`
starts them) and the reconcile loop runs here as `rpa up` runs it (cli/supervise.py:
`areconcile` every `every_s` seconds with the checkpoints' run timeout).

1. Untimed: the robot reads, enriches and routes every case and marks it in progress
   (a batch's work before it stores a checkpoint).
2. Timed: for each case, what a batch does with a case for a person: the checkpoint
   stored (as batch.py's `_open_checkpoint`), then `start_checkpoint_run`. The CPU of
   this process, the runner and its flow-run processes is measured from the first
   checkpoint until the system is quiet again: every checkpoint's run paused or
   finished (or none), nothing scheduled or pending, the runner idle.
3. A quiet window (60 s) while every checkpoint waits: the HTTP requests the Prefect
   server received (all clients go through the counting proxy) per waiting checkpoint
   per minute, and the CPU used meanwhile.
4. K checkpoints decided one after another through the DecisionService with the
   resumer of flows.resume (as benchmarks/checkpoint_latency.py), each timed from the
   decision until the store says `applied`, while the rest wait.

Only the public functions are called (start_checkpoint_run, DecisionService.decide with
flows.resume.resumer, areconcile), so this measures whatever they do.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
import time
from typing import TYPE_CHECKING, Any

from bench.common import Progress, Work, in_lanes, say
from bench.measure import cpu_rate
from checkpoints.models import Checkpoint, DecisionKind
from checkpoints.store.repository import CheckpointStore
from config.settings import Settings
from flows.change_of_address.case import CaseFile, Reason
from flows.change_of_address.clearance import route_case
from flows.change_of_address.robot import CaseSystemRobot
from flows.common import open_store, target_for
from robots.pool import RobotPool
from robots.session import BrowserSession

if TYPE_CHECKING:
    from cli.stack import Stack


async def read_cases(
    settings: Settings, base_url: str, case_ids: list[str], lanes: int, progress: Progress
) -> list[tuple[CaseFile, list[Reason]]]:
    """Read, enrich and route each case as handle_case does; mark the set-aside ones."""
    from config.rules import load_rules_config

    rules = load_rules_config(settings.rules_file)
    target = target_for(settings, base_url)
    found: list[tuple[CaseFile, list[Reason]]] = []
    work = Work()
    async with (
        BrowserSession(settings.browser, settings.artifacts_dir) as session,
        RobotPool(session, lanes, lambda page: CaseSystemRobot(page, target)) as pool,
    ):

        async def read(lane: int, case_id: str) -> str:
            robot = pool.lane(lane).robot
            case = await robot.enrich(await robot.read_case(case_id))
            reasons = route_case(case, config=rules, locale=settings.locale).reasons
            if not reasons:
                return "routine"
            await robot.mark_in_progress(case_id)
            found.append((case, reasons))
            return "set_aside"

        await in_lanes(case_ids, lanes, work, progress, read)
    if work.errors:
        say(f"  reading: {work.results['failed']} cases failed, e.g. {work.errors[0]}")
    order = {case_id: n for n, case_id in enumerate(case_ids)}
    return sorted(found, key=lambda item: order[item[0].case_id])


async def open_checkpoints(
    store: CheckpointStore,
    settings: Settings,
    cases: list[tuple[CaseFile, list[Reason]]],
    target_url: str,
    progress: Progress,
) -> list[str]:
    """Store each checkpoint as a batch does, then start its run; the checkpoint ids."""
    from checkpoints.channels import enabled as chat_channels
    from flows.change_of_address.proposal import proposal_for
    from flows.checkpoint import PROCESS, start_checkpoint_run

    opened = []
    for case, reasons in cases:
        checkpoint = store.open_checkpoint(
            case=case,
            reasons=reasons,
            proposal=proposal_for(case, reasons, settings.locale),
            screenshot=None,
            process=PROCESS,
            deadline_hours=settings.checkpoints.deadline_hours,
            target_url=target_url,
            channels=chat_channels(settings),
        )
        if checkpoint.flow_run_id is None:
            await start_checkpoint_run(store, checkpoint.checkpoint_id, target_url)
        opened.append(checkpoint.checkpoint_id)
        progress.advance()
    return opened


class ReconcileLoop:
    """`areconcile` in a thread, as `rpa up` runs it (cli/supervise.py)."""

    def __init__(self, settings: Settings, stack: Stack) -> None:
        from cli.supervise import supervise

        self.settings = settings
        self.stack = stack
        self.every_s = float(inspect.signature(supervise).parameters["every_s"].default)
        self.rounds = 0
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="bench-reconcile", daemon=True)

    def __enter__(self) -> ReconcileLoop:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _loop(self) -> None:
        from cli.supervise import live_of
        from flows.resume import areconcile

        store = open_store(self.settings)
        try:
            while True:
                try:
                    asyncio.run(
                        areconcile(
                            store,
                            run_timeout_s=self.settings.checkpoints.run_timeout_s,
                            live=live_of(self.stack),
                        )
                    )
                    self.rounds += 1
                except Exception as exc:  # as supervise: say it, try again next round
                    self.errors.append(f"{type(exc).__name__}: {exc}".splitlines()[0])
                if self._stop.wait(self.every_s):
                    return
        finally:
            store.close()


async def _unsettled(store: CheckpointStore, checkpoint_ids: list[str]) -> int:
    """Runs not yet waiting: checkpoint runs neither paused nor final, scheduled or pending."""
    from uuid import UUID

    from prefect import get_client
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterId,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType

    run_ids = [
        UUID(c.flow_run_id)
        for c in (store.get(i) for i in checkpoint_ids)
        if c.flow_run_id is not None
    ]
    async with get_client() as client:
        waiting_to_start = await client.count_flow_runs(
            flow_run_filter=FlowRunFilter(
                state=FlowRunFilterState(
                    type=FlowRunFilterStateType(any_=[StateType.SCHEDULED, StateType.PENDING])
                )
            )
        )
        busy = 0
        for start in range(0, len(run_ids), 200):
            runs = await client.read_flow_runs(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=run_ids[start : start + 200]))
            )
            busy += sum(
                1
                for r in runs
                if r.state is not None and not (r.state.is_paused() or r.state.is_final())
            )
    return int(waiting_to_start) + busy


def wait_until_quiet(
    store: CheckpointStore, checkpoint_ids: list[str], runner_pid: int, timeout_s: float
) -> bool:
    """Until every run the checkpoints started waits and the runner is idle; False on timeout."""
    deadline = time.monotonic() + timeout_s
    shown = -1
    while time.monotonic() < deadline:
        unsettled = asyncio.run(_unsettled(store, checkpoint_ids))
        if unsettled != shown:
            say(f"  checkpoints: {unsettled} runs not waiting yet")
            shown = unsettled
        if unsettled == 0 and cpu_rate([runner_pid], 2.0) < 0.15:
            return True
        time.sleep(1.0)
    return False


def decision_for(checkpoint: Checkpoint, n: int) -> DecisionKind:
    """As benchmarks/checkpoint_latency.py: mostly approve, some manual or to the citizen."""
    reasons = {r.rule_id for r in checkpoint.reasons}
    can_register = checkpoint.proposal.action == "register_move" and not reasons & {
        "address.unknown",
        "cpr.unknown",
    }
    if can_register and n % 3 != 2:
        return "approve"
    return "manual" if n % 2 else "contact_citizen"


def decide_one_by_one(
    store: CheckpointStore, checkpoint_ids: list[str], timeout_s: float = 180.0
) -> tuple[list[float], dict[str, int]]:
    """Decide each checkpoint and wait until the store says it is done; latencies, endings."""
    from checkpoints.service import DecisionService
    from flows.resume import resumer

    service = DecisionService(store, resumer=resumer(store, wait_s=30))
    latencies: list[float] = []
    endings: dict[str, int] = {}
    missed = 0
    for n, checkpoint_id in enumerate(checkpoint_ids):
        checkpoint = store.get(checkpoint_id)
        started = time.monotonic()
        service.decide(
            checkpoint_id, kind=decision_for(checkpoint, n), decided_by="bench", channel="cli"
        )
        status = "timeout"
        while time.monotonic() - started < timeout_s:
            status = store.get(checkpoint_id).status
            if status in ("applied", "failed", "superseded"):
                break
            time.sleep(0.1)
        took = time.monotonic() - started
        endings[status] = endings.get(status, 0) + 1
        if status == "applied":
            latencies.append(took)
        say(f"  decided {checkpoint_id} ({n + 1}/{len(checkpoint_ids)}): {status} in {took:.1f} s")
        missed = missed + 1 if status in ("decided", "timeout") else 0
        if missed == 3:
            say("warning: three decisions in a row were not carried out; deciding no more")
            break
    return latencies, endings


def summary(figures: dict[str, Any]) -> str:
    """One line for people."""
    return (
        f"checkpoints: {figures['cases']} opened at {figures['opened_per_s']}/s, "
        f"{figures['cpu_s_per_checkpoint']} CPU s per checkpoint until quiet, "
        f"{figures['prefect_api_calls_per_waiting_per_min']} Prefect API calls per waiting "
        f"checkpoint per minute, decide-to-done p50 {figures['p50_ms']} ms / p95 "
        f"{figures['p95_ms']} ms over {figures['applied']} of {figures['decided']} decided"
    )
