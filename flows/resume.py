"""Telling waiting checkpoint runs to go on, and starting runs for checkpoints that have none."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime, timedelta
from uuid import UUID

from checkpoints.models import Checkpoint
from checkpoints.service import ResumeResult
from checkpoints.store.repository import CheckpointStore
from flows.checkpoint import DecisionSignal, start_checkpoint_run

log = logging.getLogger(__name__)


async def aresume(
    store: CheckpointStore, checkpoint: Checkpoint, *, wait_s: float = 20.0
) -> ResumeResult:
    """Resume the checkpoint's paused run; start a new one when it has none or it ended."""
    from prefect import get_client
    from prefect.client.schemas.responses import SetStateStatus
    from prefect.exceptions import ObjectNotFound

    if checkpoint.flow_run_id is None:
        return await _start(store, checkpoint)
    deadline = time.monotonic() + wait_s
    async with get_client() as client:
        while True:
            try:
                run = await client.read_flow_run(UUID(checkpoint.flow_run_id))
            except ObjectNotFound:
                return await _start(store, checkpoint)
            state = run.state
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
                return await _start(store, checkpoint)
            if time.monotonic() >= deadline:
                name = state.name if state else "unknown"
                return ResumeResult(
                    False, f"run {run.id} is {name}, not waiting yet; `rpa up` resumes it"
                )
            await asyncio.sleep(0.5)


async def _start(store: CheckpointStore, checkpoint: Checkpoint) -> ResumeResult:
    run_id = await start_checkpoint_run(store, checkpoint.checkpoint_id, checkpoint.target_url)
    if run_id is None:
        return ResumeResult(False, "no checkpoint deployment is served; start `rpa up`")
    return ResumeResult(True, f"started run {run_id}")


def resumer(store: CheckpointStore, *, wait_s: float) -> ResumeCallable:
    """A Resumer for the decision service, for synchronous callers (the command line)."""
    return ResumeCallable(store, wait_s)


class ResumeCallable:
    """`DecisionService(resumer=...)`: resumes through the Prefect API of this process."""

    def __init__(self, store: CheckpointStore, wait_s: float) -> None:
        self.store = store
        self.wait_s = wait_s

    def __call__(self, checkpoint: Checkpoint) -> ResumeResult:
        return asyncio.run(aresume(self.store, checkpoint, wait_s=self.wait_s))


async def areconcile(store: CheckpointStore, *, grace_s: float = 60.0) -> list[str]:
    """Make every open or decided checkpoint have a live run; resume the decided ones.

    Run by `rpa up` at start and then every few seconds, so that no checkpoint is lost
    to a stopped runner, a cancelled run or a decision made while nothing was running.
    """
    from prefect import get_client
    from prefect.exceptions import ObjectNotFound

    actions = []
    now = datetime.now(UTC)
    async with get_client() as client:
        waiting = [*store.all("open"), *store.all("proposed"), *store.all("decided")]
        for checkpoint in waiting:
            state = None
            if checkpoint.flow_run_id is None and (now - checkpoint.created_at) < timedelta(
                seconds=grace_s
            ):
                continue  # the batch that stored it is starting its run right now
            if checkpoint.flow_run_id is not None:
                try:
                    state = (await client.read_flow_run(UUID(checkpoint.flow_run_id))).state
                except ObjectNotFound:
                    state = None
            if state is None or state.is_final():
                result = await _start(store, checkpoint)
                actions.append(f"{checkpoint.checkpoint_id}: {result.detail}")
            elif checkpoint.status == "decided" and state.is_paused():
                result = await aresume(store, checkpoint, wait_s=0)
                actions.append(f"{checkpoint.checkpoint_id}: {result.detail}")
    for action in actions:
        log.info("reconcile: %s", action)
    return actions
