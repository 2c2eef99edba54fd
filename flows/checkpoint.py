"""await_decision: one case's run from its checkpoint to the robot carrying out the decision.

Started per set-aside case from a deployment, so it can suspend without holding a
worker. A resume starts the flow again from the top: everything before the pause is a
read of the store, so replaying it is harmless.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, runtime
from prefect.flow_runs import asuspend_flow_run
from prefect.input import RunInput

from checkpoints import processes
from checkpoints.models import Checkpoint
from checkpoints.process import Process, Reason
from checkpoints.store.repository import CheckpointStore
from config.settings import Settings, get_settings
from flows import logfilters, operations
from flows import runtime as generic
from flows.common import open_store, target_for
from flows.limits import session_slot
from flows.runtime import CarriedOut
from robots.errors import BusinessError, SystemFault, error_code
from robots.sandbox.system import Target, log_out
from robots.session import BrowserSession

CHECKPOINT_FLOW = "await-decision"
CHECKPOINT_DEPLOYMENT = "change-of-address-checkpoint"
"""The deployment of every process's checkpoint runs (its name predates the second process)."""
PROCESS = "change-of-address"


class DecisionSignal(RunInput):
    """What a resume carries: which checkpoint to look at. The decision is in the store."""

    checkpoint_id: str


# No flow_run_name: Prefect would rename the run at every resume; the run keeps the name
# start_checkpoint_run gives it (`FLY-2026-000123 · remarks.present`, flows/operations.py).
@flow(name=CHECKPOINT_FLOW, persist_result=True, log_prints=False)
async def await_decision(checkpoint_id: str, target_url: str | None = None) -> dict[str, Any]:
    """Wait (suspended) for a person's decision on a checkpoint, then carry it out."""
    logfilters.install()
    logger = get_run_logger()
    settings = get_settings()
    store = open_store(settings)
    try:
        checkpoint = store.get(checkpoint_id)
        run_id = str(runtime.flow_run.id)
        if checkpoint.flow_run_id != run_id:
            store.attach_run(checkpoint_id, run_id)
        if checkpoint.status in ("applied", "superseded"):
            logger.info("Checkpoint %s is %s already", checkpoint_id, checkpoint.status)
            return {"checkpoint_id": checkpoint_id, "status": checkpoint.status}
        process = processes.find(checkpoint.process)
        if process is None:
            # Never carried out by another process's robot: it waits for its own.
            logger.warning(
                "Checkpoint %s is of the process %r, which is not loaded here; it waits, untouched",
                checkpoint_id,
                checkpoint.process,
            )
            return {"checkpoint_id": checkpoint_id, "status": "waiting", "process": "not loaded"}
        await _wait_for_decision(store, checkpoint)
        checkpoint = store.get(checkpoint_id)
        if checkpoint.status != "decided":
            logger.info(
                "Checkpoint %s is %s; nothing to carry out", checkpoint_id, checkpoint.status
            )
            return {"checkpoint_id": checkpoint_id, "status": checkpoint.status}
        try:
            result = await _carry_out_with_retries(store, process, checkpoint, settings, target_url)
        except Exception:
            await operations.add_tags(run_id, _decided_tags(checkpoint, "outcome:failed"))
            raise
        outcome = "outcome:applied" if result.new_checkpoint_id is None else "outcome:superseded"
        await operations.add_tags(run_id, _decided_tags(checkpoint, outcome))
        if result.new_checkpoint_id is not None:
            await start_checkpoint_run(store, result.new_checkpoint_id, target_url)
        return result.model_dump(mode="json")
    finally:
        store.close()


def _decided_tags(checkpoint: Checkpoint, outcome: str) -> list[str]:
    """`decision:approve` (the kind decided) and the outcome, for the runs list's filters."""
    kind = checkpoint.decision.kind if checkpoint.decision is not None else "none"
    return [f"decision:{kind}", outcome]


async def _wait_for_decision(store: CheckpointStore, checkpoint: Checkpoint) -> None:
    """The run was created waiting (start_checkpoint_run) and runs only when resumed.

    Resumed without a stored decision (from the Prefect UI, say), it changes nothing and
    waits again. Replayed after every resume: earlier pauses return at once (by key).
    """
    logger = get_run_logger()
    pause = 0
    while store.decision_for(checkpoint.checkpoint_id) is None:
        if pause == 0:
            logger.warning(
                "Resumed without a stored decision for checkpoint %s: nothing was changed and "
                "the case waits again. Decide with `rpa checkpoints decide` (or in chat).",
                checkpoint.checkpoint_id,
            )
        await asuspend_flow_run(wait_for_input=DecisionSignal, key=f"decision-{pause}")
        pause += 1


async def _describe_for_operations(checkpoint: Checkpoint, run_id: Any, client: Any) -> None:
    """A note on the run in the Prefect UI: the case, why it waits, where it is decided."""
    from prefect.client.schemas.actions import LogCreate

    await operations.describe_waiting(checkpoint, run_id, client)
    rules = ", ".join(r.rule_id for r in checkpoint.reasons)
    await client.create_logs(
        [
            LogCreate(
                name="rpa.checkpoints",
                level=logging.INFO,
                message=f"Case {checkpoint.case_id} waits for a human decision "
                f"(checkpoint {checkpoint.checkpoint_id}: {rules})",
                timestamp=datetime.now(UTC),
                flow_run_id=run_id,
            )
        ]
    )


async def _carry_out_with_retries(
    store: CheckpointStore,
    process: Process[Any, Any],
    checkpoint: Checkpoint,
    settings: Settings,
    target_url: str | None,
) -> CarriedOut:
    recorded: list[BaseException] = []
    try:
        target = target_for(settings, target_url or checkpoint.target_url)
        async with BrowserSession(settings.browser, settings.artifacts_dir) as session:
            return await _attempts(store, process, checkpoint, settings, session, target, recorded)
    except Exception as exc:
        # Whatever stopped the robot, the checkpoint says so; it is never left silently.
        # Only once: a failure already recorded may have been retried by a person since,
        # and that retry's run must not find its checkpoint failed again by this one.
        if exc not in recorded and store.get(checkpoint.checkpoint_id).status == "decided":
            _record_failure(store, checkpoint, exc, None)
        raise


async def _carry_out(
    process: Process[Any, Any],
    page: Any,
    target: Target,
    store: CheckpointStore,
    checkpoint: Checkpoint,
    settings: Settings,
) -> CarriedOut:
    """One attempt, by the process's own robot."""
    own = getattr(process, "carry_out_own", None)
    if process.own_runtime and own is not None:  # a process that predates the API
        done: CarriedOut = await own(page, target, store, checkpoint, settings)
        return done
    assert process.robot is not None
    return await generic.carry_out(
        process, process.robot(page, target), store, checkpoint, settings
    )


async def _attempts(
    store: CheckpointStore,
    process: Process[Any, Any],
    checkpoint: Checkpoint,
    settings: Settings,
    session: BrowserSession,
    target: Target,
    recorded: list[BaseException],
) -> CarriedOut:
    logger = get_run_logger()
    delays = [*settings.retry_delays_s, None]
    for attempt, delay in enumerate(delays, start=1):
        # One robot session: a slot of the case system's limit from before it logs in
        # until it has logged out (flows/limits.py), whatever the attempt ends with.
        async with session_slot(settings, target.base_url), session.context() as context:
            page = await context.new_page()
            try:
                return await _carry_out(process, page, target, store, checkpoint, settings)
            except Exception as exc:
                if isinstance(exc, SystemFault) and delay is not None:
                    logger.warning(
                        "Case %s: attempt %d failed (%s); retrying in %.1f s",
                        checkpoint.case_id,
                        attempt,
                        exc,
                        delay,
                    )
                    await asyncio.sleep(delay)
                    continue
                shot = await session.screenshot(page, f"{checkpoint.case_id}-carry-out-failed")
                await operations.screenshot_artifact(
                    checkpoint.case_id,
                    shot,
                    f"carrying out the decision failed ({error_code(exc)})",
                )
                if isinstance(exc, BusinessError):
                    # The data, not the system, is the problem: retrying cannot help, a
                    # person must decide again, knowing why the robot stopped.
                    return _back_to_a_person(store, process, checkpoint, exc, shot, settings)
                _record_failure(store, checkpoint, exc, shot)
                recorded.append(exc)
                raise
            finally:
                await log_out(context, target.base_url)
    raise AssertionError("unreachable")


def _back_to_a_person(
    store: CheckpointStore,
    process: Process[Any, Any],
    checkpoint: Checkpoint,
    exc: BusinessError,
    shot: Path | None,
    settings: Settings,
) -> CarriedOut:
    message = {
        "da": f"Robotten kunne ikke udføre afgørelsen: {exc}. En person skal afgøre sagen igen.",
        "en": f"The robot could not carry out the decision: {exc}. A person must decide again.",
    }[settings.locale]
    refused = Reason(rule_id="robot.refused", message=message, details={"code": exc.code})
    # The robot's latest reason first; an earlier refusal is replaced, not stacked.
    reasons = [refused, *(r for r in checkpoint.reasons if r.rule_id != "robot.refused")]
    new = store.open_checkpoint(
        case=checkpoint.case,
        reasons=reasons,
        proposal=generic.proposal_of(process, checkpoint.case, settings.locale),
        screenshot=str(shot) if shot else checkpoint.screenshot,
        process=checkpoint.process,
        deadline_hours=generic.deadline_hours(settings, process),
        supersedes=checkpoint.checkpoint_id,
        target_url=checkpoint.target_url,
    )
    get_run_logger().warning(
        "Case %s: the decision on %s could not be carried out (%s); new checkpoint %s",
        checkpoint.case_id,
        checkpoint.checkpoint_id,
        exc,
        new.checkpoint_id,
    )
    return CarriedOut(
        checkpoint_id=checkpoint.checkpoint_id,
        case_id=checkpoint.case_id,
        action="superseded",
        new_checkpoint_id=new.checkpoint_id,
    )


def _record_failure(
    store: CheckpointStore, checkpoint: Checkpoint, exc: BaseException, shot: Path | None
) -> None:
    error = f"{type(exc).__name__}: {exc}"
    store.finish(
        checkpoint.checkpoint_id,
        status="failed",
        kind="checkpoint.failed",
        data={"error": error, "code": error_code(exc)},
        error=error,
        screenshot=str(shot) if shot else None,
    )
    get_run_logger().error(
        "Case %s: carrying out the decision failed; checkpoint %s is failed and can be "
        "retried (`rpa checkpoints retry`): %s",
        checkpoint.case_id,
        checkpoint.checkpoint_id,
        exc,
    )


async def start_checkpoint_run(
    store: CheckpointStore, checkpoint_id: str, target_url: str | None
) -> str | None:
    """Give a checkpoint its run in Prefect, waiting (suspended); None when none is served.

    The run is created in the state a suspended run has, so opening a checkpoint starts no
    process and no browser: it costs one call to the Prefect API. Ops see it in the UI as a
    suspended run named for its case and rule (`FLY-2026-000123 · remarks.present`),
    tagged by process and rule, with the case's note and links; a decision resumes it, and only
    then does the runner start a process, which carries the decision out (flows/resume.py).
    """
    from prefect import get_client
    from prefect.exceptions import ObjectNotFound
    from prefect.states import Suspended

    checkpoint = store.get(checkpoint_id)
    async with get_client() as client:
        try:
            deployment = await client.read_deployment_by_name(
                f"{CHECKPOINT_FLOW}/{CHECKPOINT_DEPLOYMENT}"
            )
        except ObjectNotFound:
            _logger().warning(
                "No %s deployment is served: checkpoint %s is stored and waits; `rpa up` "
                "starts its run",
                CHECKPOINT_DEPLOYMENT,
                checkpoint_id,
            )
            return None
        # Decided already (a retry, a run lost with its decision stored): it runs at once.
        waits = checkpoint.status in ("open", "proposed")
        run = await client.create_flow_run_from_deployment(
            deployment.id,
            parameters={"checkpoint_id": checkpoint_id, "target_url": target_url},
            state=Suspended(pause_key="opened") if waits else None,
            name=operations.checkpoint_run_name(checkpoint),
            tags=operations.checkpoint_tags(checkpoint),
        )
        store.attach_run(checkpoint_id, str(run.id))
        if waits:
            await _describe_for_operations(checkpoint, run.id, client)
    return str(run.id)


def _logger() -> logging.Logger | logging.LoggerAdapter[logging.Logger]:
    from prefect.exceptions import MissingContextError

    try:
        return get_run_logger()
    except MissingContextError:
        return logging.getLogger(__name__)


__all__ = [
    "CHECKPOINT_DEPLOYMENT",
    "CHECKPOINT_FLOW",
    "PROCESS",
    "DecisionSignal",
    "await_decision",
    "start_checkpoint_run",
]
