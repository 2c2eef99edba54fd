"""Telling waiting checkpoint runs to go on, and starting runs for checkpoints that have none.

A checkpoint run whose runner is gone is dead, whatever Prefect still shows: the
runner that ran it was killed with `rpa up`, so it stays Running or Pending for ever.
`rpa up` holds its RPA_HOME's lock (cli/home_lock.py), so when it starts (and when it
restarts a runner that died) no runner of this home is alive: every run that is not
paused or finished is dead then (`arecover`). While it runs, a run Running or Pending
for longer than RPA_CHECKPOINTS__RUN_TIMEOUT_S is dead too (`areconcile`). A dead run
is marked Crashed and a new one is started; the new run carries out the stored
decision, and the carry-out reads the case system before writing, so a decision the
dead run had half carried out is finished, never done twice.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from uuid import UUID

from checkpoints import processes
from checkpoints.models import Checkpoint
from checkpoints.service import ResumeResult
from checkpoints.store.repository import CheckpointStore
from flows.checkpoint import (
    CHECKPOINT_DEPLOYMENT,
    CHECKPOINT_FLOW,
    DecisionSignal,
    start_checkpoint_run,
)
from flows.crashpoints import crash_point
from flows.notices import notice_waiting

if TYPE_CHECKING:
    from prefect.client.orchestration import PrefectClient
    from prefect.client.schemas.objects import FlowRun, State

log = logging.getLogger(__name__)

CHECKPOINT_RUNS = f"{CHECKPOINT_FLOW}/{CHECKPOINT_DEPLOYMENT}"
_REPORTED_UNLOADED: set[str] = set()


@dataclass(frozen=True)
class LiveTarget:
    """The case system a checkpoint is carried out on, given the stack that runs now.

    A checkpoint keeps the URL of the case system it was read from. When that URL is a
    sandbox an earlier `rpa up` of this RPA_HOME served, the sandbox of the running
    `rpa up` stands in for it: it is the same case system (the sandbox keeps its
    changes under RPA_HOME and replays them), while the old address is dead or, worse,
    an orphaned sandbox whose changes nobody sees. Any other URL (a real case system,
    a `--target`) is kept as stored.
    """

    sandbox_url: str | None = None
    earlier_sandboxes: frozenset[str] = field(default_factory=frozenset)

    def url_for(self, stored: str | None) -> str | None:
        """The URL to carry a checkpoint stored with `stored` out on."""
        if self.sandbox_url and (stored is None or _same(stored) in self.earlier_sandboxes):
            return self.sandbox_url
        return stored

    def is_stale(self, url: str | None) -> bool:
        """True when a run would work in an earlier stack's sandbox instead of the live one."""
        return url is not None and self.url_for(url) != url


def live_target(sandbox_url: str | None, earlier: list[str]) -> LiveTarget:
    """A LiveTarget from what stack.json records."""
    return LiveTarget(sandbox_url, frozenset(_same(u) for u in earlier if u != sandbox_url))


def _same(url: str) -> str:
    return url.rstrip("/")


async def aresume(
    store: CheckpointStore,
    checkpoint: Checkpoint,
    *,
    wait_s: float = 20.0,
    live: LiveTarget | None = None,
) -> ResumeResult:
    """Resume the checkpoint's paused run; start a new one when it has none or it ended."""
    from prefect import get_client
    from prefect.client.schemas.responses import SetStateStatus
    from prefect.exceptions import ObjectNotFound

    live = live or LiveTarget()
    if processes.find(checkpoint.process) is None:
        return ResumeResult(
            False,
            f"the process {checkpoint.process!r} is not loaded here: the decision is stored and "
            "the case waits for a runner that has it (RPA_PROCESSES)",
        )
    if checkpoint.flow_run_id is None:
        return await _start(store, checkpoint, live)
    deadline = time.monotonic() + wait_s
    async with get_client() as client:
        while True:
            try:
                run = await client.read_flow_run(UUID(checkpoint.flow_run_id))
            except ObjectNotFound:
                return await _start(store, checkpoint, live)
            state = run.state
            if state is not None and state.is_paused() and _works_on_stale(run, checkpoint, live):
                return await _replace(client, store, checkpoint, run, live, "its case system moved")
            if state is not None and state.is_paused():
                signal = DecisionSignal(checkpoint_id=checkpoint.checkpoint_id)
                response = await client.resume_flow_run(run.id, run_input=signal.model_dump())
                if response.status == SetStateStatus.ACCEPT:
                    return ResumeResult(True, f"resumed run {run.id}")
                # `rpa up` may have resumed it a moment earlier: then it is on its way.
                now = (await client.read_flow_run(run.id)).state
                if now is not None and not now.is_paused() and not now.is_final():
                    return ResumeResult(True, f"run {run.id} was resumed already ({now.name})")
                reason = getattr(response.details, "reason", None) or response.status.value
                return ResumeResult(False, f"Prefect did not resume run {run.id}: {reason}")
            if state is None or state.is_final():
                return await _start(store, checkpoint, live)
            if time.monotonic() >= deadline:
                name = state.name if state else "unknown"
                return ResumeResult(
                    False, f"run {run.id} is {name}, not waiting yet; `rpa up` resumes it"
                )
            await asyncio.sleep(0.5)


async def _start(store: CheckpointStore, checkpoint: Checkpoint, live: LiveTarget) -> ResumeResult:
    target = live.url_for(checkpoint.target_url)
    run_id = await start_checkpoint_run(store, checkpoint.checkpoint_id, target)
    if run_id is None:
        return ResumeResult(False, "no checkpoint deployment is served; start `rpa up`")
    return ResumeResult(True, f"started run {run_id}")


async def _replace(
    client: PrefectClient,
    store: CheckpointStore,
    checkpoint: Checkpoint,
    run: FlowRun,
    live: LiveTarget,
    why: str,
) -> ResumeResult:
    """Mark a dead (or misdirected) run Crashed and start a new one for the checkpoint."""
    await _crash(
        client, run, f"Replaced by a new run of checkpoint {checkpoint.checkpoint_id}: {why}"
    )
    result = await _start(store, checkpoint, live)
    return ResumeResult(result.resumed, f"run {run.id} {why}: {result.detail}")


def _works_on_stale(run: FlowRun, checkpoint: Checkpoint, live: LiveTarget) -> bool:
    parameters: dict[str, Any] = run.parameters or {}
    return live.is_stale(parameters.get("target_url") or checkpoint.target_url)


def resumer(
    store: CheckpointStore, *, wait_s: float, live: LiveTarget | None = None
) -> ResumeCallable:
    """A Resumer for the decision service, for synchronous callers (the command line)."""
    return ResumeCallable(store, wait_s, live or LiveTarget())


class ResumeCallable:
    """`DecisionService(resumer=...)`: resumes through the Prefect API of this process."""

    def __init__(self, store: CheckpointStore, wait_s: float, live: LiveTarget) -> None:
        self.store = store
        self.wait_s = wait_s
        self.live = live

    def __call__(self, checkpoint: Checkpoint) -> ResumeResult:
        crash_point("decision.stored", checkpoint.case_id)  # stored, not yet resumed
        return asyncio.run(aresume(self.store, checkpoint, wait_s=self.wait_s, live=self.live))


async def areconcile(
    store: CheckpointStore,
    *,
    grace_s: float = 60.0,
    run_timeout_s: float | None = None,
    runner_gone: bool = False,
    live: LiveTarget | None = None,
) -> list[str]:
    """Make every open or decided checkpoint have a live run; resume the decided ones.

    Run by `rpa up` at start and then every few seconds, so that no checkpoint is lost
    to a stopped runner, a cancelled run or a decision made while nothing was running.
    A run Running or Pending for longer than `run_timeout_s` counts as dead; with
    `runner_gone` (no runner of this home is alive) every run not paused or finished does.
    """
    from prefect import get_client

    live = live or LiveTarget()
    actions = []
    now = datetime.now(UTC)
    async with get_client() as client:
        waiting = [*store.all("open"), *store.all("proposed"), *store.all("decided")]
        runs = await _runs_of(client, [c.flow_run_id for c in waiting if c.flow_run_id])
        for checkpoint in waiting:
            if processes.find(checkpoint.process) is None:
                # Never resumed on another process: reported (once), and it waits for its own.
                if checkpoint.checkpoint_id in _REPORTED_UNLOADED:
                    continue
                _REPORTED_UNLOADED.add(checkpoint.checkpoint_id)
                actions.append(
                    f"{checkpoint.checkpoint_id}: waits, its process {checkpoint.process!r} is "
                    "not loaded here"
                )
                continue
            run = None
            if checkpoint.flow_run_id is None and (now - checkpoint.created_at) < timedelta(
                seconds=grace_s
            ):
                continue  # the batch that stored it is starting its run right now
            if checkpoint.flow_run_id is not None:
                run = runs.get(checkpoint.flow_run_id)  # None: the run is gone (deleted)
            state = run.state if run is not None else None
            if run is None or state is None or state.is_final():
                result = await _start(store, checkpoint, live)
            elif state.is_paused() and _works_on_stale(run, checkpoint, live):
                result = await _replace(
                    client, store, checkpoint, run, live, "would work in an earlier sandbox"
                )
            elif checkpoint.status == "decided" and state.is_paused():
                result = await aresume(store, checkpoint, wait_s=0, live=live)
            elif runner_gone and not state.is_paused():  # a paused run holds no process
                why = f"was {state.name} in a runner that is gone"
                result = await _replace(client, store, checkpoint, run, live, why)
            elif run_timeout_s is not None and _stuck(state, now, run_timeout_s):
                why = f"was {state.name} for over {run_timeout_s:.0f} s (its runner is gone)"
                result = await _replace(client, store, checkpoint, run, live, why)
            else:
                continue
            actions.append(f"{checkpoint.checkpoint_id}: {result.detail}")
        actions += await notice_waiting(client, store, waiting, runs, now)
    for action in actions:
        log.info("reconcile: %s", action)
    return actions


RUNS_PER_READ = 200


async def _runs_of(client: PrefectClient, run_ids: list[str]) -> dict[str, FlowRun]:
    """The flow runs with these ids, read a page at a time (not one API call per run).

    A reconcile reads every waiting checkpoint's run; with thousands waiting, one call
    each would load the Prefect server in proportion to the backlog. A run missing from
    the answer was deleted.
    """
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    found: dict[str, FlowRun] = {}
    for start in range(0, len(run_ids), RUNS_PER_READ):
        page = [UUID(run_id) for run_id in run_ids[start : start + RUNS_PER_READ]]
        runs = await client.read_flow_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=page)), limit=len(page)
        )
        found |= {str(run.id): run for run in runs}
    return found


def _stuck(state: State[Any], now: datetime, timeout_s: float) -> bool:
    if not (state.is_running() or state.is_pending()) or state.timestamp is None:
        return False
    return (now - state.timestamp) > timedelta(seconds=timeout_s)


async def arecover(*, batches: str | None, checkpoint_runs: bool = True) -> list[str]:
    """At a start, when no runner of this RPA_HOME is alive: settle what the dead one left.

    Every checkpoint run that is neither paused nor finished belonged to a dead runner:
    it is marked Crashed (the next `areconcile` starts a new one). Batch runs of the
    deployment `batches` ("flow/deployment") left Running are marked Crashed; a batch
    that was scheduled but never started is cancelled, not run silently by the new
    runner. Call it only when this home's runner is the only one the server has (a
    Prefect server that `rpa` started under RPA_HOME). Returns what it did, for people.
    """
    from prefect import get_client
    from prefect.client.schemas.objects import StateType
    from prefect.states import Cancelled

    actions: list[str] = []
    async with get_client() as client:
        for run in await _unfinished(client, CHECKPOINT_RUNS) if checkpoint_runs else []:
            await _crash(client, run, "Its runner stopped (killed or crashed) with it.")
            actions.append(
                f"checkpoint run {run.name} was {_name(run)} in a stopped runner: crashed"
            )
        process = (batches or "").rsplit("/", 1)[-1]  # deployments are named for the process
        for run in await _unfinished(client, batches) if batches else []:
            if run.state is not None and run.state.type == StateType.SCHEDULED:
                message = (
                    f"Batch run {run.name} was scheduled but never started before its runner "
                    f"stopped; it is not run now. Start a new batch: rpa run {process}"
                )
                await client.set_flow_run_state(run.id, Cancelled(message=message), force=True)
                actions.append(
                    f"batch run {run.name} was scheduled but never started: cancelled "
                    f"(start a new one with `rpa run {process}`)"
                )
            else:
                await _crash(
                    client, run, "Its runner stopped (killed or crashed) during the batch."
                )
                actions.append(
                    f"batch run {run.name} was {_name(run)} in a stopped runner: crashed"
                )
    for action in actions:
        log.info("recover: %s", action)
    return actions


def _name(run: FlowRun) -> str:
    return (run.state.name if run.state is not None else None) or "without a state"


async def _unfinished(client: PrefectClient, deployment: str) -> list[FlowRun]:
    from prefect.client.schemas.filters import (
        DeploymentFilter,
        DeploymentFilterId,
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType
    from prefect.exceptions import ObjectNotFound

    try:
        found = await client.read_deployment_by_name(deployment)
    except ObjectNotFound:
        return []
    # Not PAUSED: a paused (suspended) run holds no process, so no runner can take it along.
    types = [StateType.SCHEDULED, StateType.PENDING, StateType.RUNNING, StateType.CANCELLING]
    runs: list[FlowRun] = []
    while True:
        page = await client.read_flow_runs(
            deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[found.id])),
            flow_run_filter=FlowRunFilter(
                state=FlowRunFilterState(type=FlowRunFilterStateType(any_=types))
            ),
            limit=200,
            offset=len(runs),
        )
        runs += page
        if len(page) < 200:
            return runs


async def _crash(client: PrefectClient, run: FlowRun, message: str) -> None:
    from prefect.states import Crashed

    await client.set_flow_run_state(run.id, Crashed(message=message), force=True)
