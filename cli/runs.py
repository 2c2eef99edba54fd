"""Starting a batch run through the served deployment and following it to its end."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NoReturn, cast
from uuid import UUID

from prefect import get_client
from prefect.client.orchestration import PrefectClient
from prefect.client.schemas.filters import (
    ArtifactFilter,
    ArtifactFilterKey,
    FlowRunFilter,
    FlowRunFilterId,
)
from prefect.client.schemas.objects import FlowRun
from prefect.deployments import run_deployment
from prefect.exceptions import ObjectNotFound
from prefect.states import Cancelled

from flows.summary import BatchSummary

FIRST_PROCESS = "change-of-address"


def batch_deployments() -> list[str]:
    """The `flow/deployment` names of every loaded process's batch runs."""
    from checkpoints import processes
    from flows.batch import batch_deployment

    return [batch_deployment(p) for p in processes.load().values()]


class RunFailed(RuntimeError):
    """The batch run ended in a state other than Completed."""


def deployment_exists() -> bool:
    """True once the runner has registered the deployments (batch and checkpoint)."""
    from flows.checkpoint import CHECKPOINT_DEPLOYMENT, CHECKPOINT_FLOW

    async def _check() -> bool:
        async with get_client() as client:
            try:
                for name in batch_deployments():
                    await client.read_deployment_by_name(name)
                await client.read_deployment_by_name(f"{CHECKPOINT_FLOW}/{CHECKPOINT_DEPLOYMENT}")
            except ObjectNotFound:
                return False
            return True

    try:
        return asyncio.run(_check())
    except Exception:  # the server may be busy starting; the caller polls again
        return False


@dataclass(frozen=True)
class Watch:
    """How `run_batch` notices that nothing will ever run its batch."""

    # Scheduled or Pending for longer: cancelled (so it never runs unseen later), RunFailed.
    pickup_timeout_s: float = 120.0
    # Why the stack that runs the batch is gone (None while it runs).
    gone: Callable[[], str | None] = lambda: None


def run_batch(
    parameters: dict[str, Any],
    *,
    process: str = FIRST_PROCESS,
    on_progress: Callable[[float, str], None] | None = None,
    poll_s: float = 1.0,
    watch: Watch | None = None,
) -> tuple[UUID, BatchSummary]:
    """Start a batch run of a process's deployment, wait for it, and return its summary."""
    from checkpoints import processes
    from flows.batch import batch_deployment, progress_key

    deployment = batch_deployment(processes.get(process))
    return asyncio.run(
        _run_batch(
            deployment, progress_key(process), parameters, on_progress, poll_s, watch or Watch()
        )
    )


async def _run_batch(
    deployment: str,
    progress: str,
    parameters: dict[str, Any],
    on_progress: Callable[[float, str], None] | None,
    poll_s: float,
    watch: Watch,
) -> tuple[UUID, BatchSummary]:
    # run_deployment dispatches sync/async at run time; here it is a coroutine.
    call: Any = run_deployment(deployment, parameters=parameters, timeout=0)
    flow_run = cast(FlowRun, await call)
    async with get_client() as client:
        artifacts = ArtifactFilter(key=ArtifactFilterKey(any_=[progress]))
        runs = FlowRunFilter(id=FlowRunFilterId(any_=[flow_run.id]))
        started = time.monotonic()
        picked_up = False
        while True:
            if (why := watch.gone()) is not None:
                raise _left_unfinished(flow_run, why)
            try:
                flow_run = await client.read_flow_run(flow_run.id)
            except Exception as exc:  # the server is gone (after Prefect's own retries)
                if (why := watch.gone()) is not None:
                    raise _left_unfinished(flow_run, why) from exc
                raise
            state = flow_run.state
            if state is not None and state.is_final():
                break
            picked_up = picked_up or (state is not None and state.is_running())
            if not picked_up and time.monotonic() - started > watch.pickup_timeout_s:
                await _cancel(client, flow_run, watch.pickup_timeout_s)
            if on_progress is not None:
                found = await client.read_artifacts(artifact_filter=artifacts, flow_run_filter=runs)
                done = float(cast(float, found[0].data)) if found and found[0].data else 0.0
                label = state.name if state is not None else "Pending"
                on_progress(done, f"{label}, {time.monotonic() - started:.0f} s")
            await asyncio.sleep(poll_s)
    if not state.is_completed():
        raise RunFailed(f"batch run {flow_run.name} ended {state.name}: {state.message}")
    summary = await state.aresult()
    if not isinstance(summary, BatchSummary):
        raise RunFailed(f"batch run {flow_run.name} returned no summary")
    return flow_run.id, summary


def _left_unfinished(flow_run: FlowRun, why: str) -> RunFailed:
    return RunFailed(
        f"batch run {flow_run.name} was left unfinished: {why}. Start `rpa up` again (it "
        "marks the batch crashed), then run the batch again (cases already done are not "
        "done twice)"
    )


async def _cancel(client: PrefectClient, flow_run: FlowRun, waited_s: float) -> NoReturn:
    message = (
        f"No runner started this batch within {waited_s:.0f} s; cancelled so that it does "
        "not run later unseen"
    )
    await client.set_flow_run_state(flow_run.id, Cancelled(message=message), force=True)
    raise RunFailed(
        f"batch run {flow_run.name} was not started by a runner within {waited_s:.0f} s, so "
        "it is cancelled: check that `rpa up` runs and see RPA_HOME/logs/runner.log, then "
        "run again (RPA_PREFECT__PICKUP_TIMEOUT_S sets the wait)"
    )


def terminal_progress() -> Callable[[float, str], None]:
    """A progress printer: one updating line on a terminal, a line per 10 % otherwise."""
    last = [-1]

    def show(percent: float, label: str) -> None:
        if sys.stderr.isatty():
            bar = "#" * int(percent / 5)
            sys.stderr.write(f"\r  [{bar:<20}] {percent:5.1f} %  {label}   ")
            sys.stderr.flush()
            if percent >= 100:
                sys.stderr.write("\n")
        elif int(percent // 10) != last[0]:
            last[0] = int(percent // 10)
            sys.stderr.write(f"  {percent:5.1f} % ({label})\n")

    return show
