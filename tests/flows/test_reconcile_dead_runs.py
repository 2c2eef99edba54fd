"""Reconciling against a real Prefect server: runs whose runner is gone are replaced.

No runner serves the deployments here: the runs are made and put in the states a
killed runner leaves behind, then `areconcile` and `arecover` must settle them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest import mock
from uuid import UUID

import pytest

from checkpoints.models import Proposal
from checkpoints.service import DecisionService
from checkpoints.store.repository import CheckpointStore
from flows.change_of_address import DEPLOYMENT_NAME, process_inbox
from flows.checkpoint import CHECKPOINT_DEPLOYMENT, await_decision
from flows.resume import LiveTarget, areconcile, arecover, live_target
from tests import seeds
from tests.cli.test_checkpoint_commands import decided_case

pytestmark = pytest.mark.e2e

OLD_SANDBOX = "http://127.0.0.1:8701"
LIVE_SANDBOX = "http://127.0.0.1:8702"
ELSEWHERE = "https://cases.example.org"


@pytest.fixture(scope="module")
def deployments(prefect_api_url: str) -> dict[str, UUID]:
    """Both deployments registered on the server, as a runner registers them (not served)."""
    checkpoint = await_decision.to_deployment(name=CHECKPOINT_DEPLOYMENT).apply()
    batch = process_inbox.to_deployment(name=DEPLOYMENT_NAME).apply()
    return {"checkpoint": checkpoint, "batch": batch}


@pytest.fixture
def store(store_url: str) -> Iterator[CheckpointStore]:
    """An empty checkpoint store (SQLite, and PostgreSQL where configured)."""
    from checkpoints.store.db import make_engine, upgrade

    engine = make_engine(store_url)
    upgrade(engine)
    engine.dispose()
    store = CheckpointStore.connect(store_url)
    yield store
    store.close()


def checkpoint(
    store: CheckpointStore, case_id: str, *, decided: bool, target_url: str | None
) -> str:
    """A stored checkpoint of a case, decided (manual handling) or open."""
    cid = store.open_checkpoint(
        case=decided_case(case_id),
        reasons=[],
        proposal=Proposal(action="none", summary="Manual."),
        screenshot=None,
        process="change-of-address",
        deadline_hours=48,
        target_url=target_url,
    ).checkpoint_id
    if decided:
        DecisionService(store).decide(cid, kind="manual", decided_by="Mette", channel="cli")
    return cid


def run_in(deployment: UUID, state: Any, parameters: dict[str, Any] | None = None) -> str:
    """A flow run of a deployment, forced into `state` (as a dead runner left it)."""
    from prefect import get_client

    with get_client(sync_client=True) as client:
        run = client.create_flow_run_from_deployment(deployment, parameters=parameters or {})
        client.set_flow_run_state(run.id, state, force=True)
    return str(run.id)


def attached(store: CheckpointStore, cid: str, deployment: UUID, state: Any, target: str) -> str:
    """A checkpoint run in `state`, attached to the checkpoint."""
    run = run_in(deployment, state, {"checkpoint_id": cid, "target_url": target})
    store.attach_run(cid, run)
    return run


def flow_run(run_id: str) -> Any:
    """The run as the server has it now."""
    from prefect import get_client

    with get_client(sync_client=True) as client:
        return client.read_flow_run(UUID(run_id))


def test_a_run_running_past_the_timeout_is_crashed_and_replaced(
    deployments: dict[str, UUID], store: CheckpointStore
) -> None:
    from prefect.states import Running

    cid = checkpoint(store, seeds.BAD_CPR, decided=True, target_url=OLD_SANDBOX)
    stuck = attached(store, cid, deployments["checkpoint"], Running(), OLD_SANDBOX)

    assert asyncio.run(areconcile(store, run_timeout_s=600)) == []  # young: left alone
    assert flow_run(stuck).state.is_running()

    with mock.patch("flows.resume.datetime", wraps=datetime) as clock:  # only the clock
        clock.now.return_value = datetime.now(UTC) + timedelta(seconds=601)
        actions = asyncio.run(areconcile(store, run_timeout_s=600))
    assert len(actions) == 1
    assert "was Running for over 600 s" in actions[0]
    assert flow_run(stuck).state.type.value == "CRASHED"
    new = store.get(cid).flow_run_id
    assert new not in (None, stuck)
    assert flow_run(str(new)).state.is_scheduled()
    assert flow_run(str(new)).parameters["checkpoint_id"] == cid


def test_with_the_runner_gone_every_unpaused_run_is_dead_and_paused_ones_wait(
    deployments: dict[str, UUID], store: CheckpointStore
) -> None:
    from prefect.states import Pending, Scheduled, Suspended

    pending = checkpoint(store, seeds.BAD_CPR, decided=True, target_url=ELSEWHERE)
    resuming = checkpoint(store, seeds.REMARKS, decided=True, target_url=ELSEWHERE)
    waiting = checkpoint(store, seeds.UNKNOWN_ADDRESS, decided=False, target_url=ELSEWHERE)
    dead_pending = attached(store, pending, deployments["checkpoint"], Pending(), ELSEWHERE)
    dead_resuming = attached(store, resuming, deployments["checkpoint"], Scheduled(), ELSEWHERE)
    paused = attached(store, waiting, deployments["checkpoint"], Suspended(), ELSEWHERE)

    actions = asyncio.run(areconcile(store, runner_gone=True))

    assert sorted(a.split(":")[0] for a in actions) == sorted([pending, resuming]), actions
    for dead in (dead_pending, dead_resuming):
        assert flow_run(dead).state.type.value == "CRASHED"
    for cid in (pending, resuming):
        new = store.get(cid).flow_run_id
        assert new not in (None, dead_pending, dead_resuming)
        assert flow_run(str(new)).parameters["target_url"] == ELSEWHERE  # kept as stored
    assert flow_run(paused).state.is_paused()  # holds no process: nothing died with it
    assert store.get(waiting).flow_run_id == paused


def test_a_run_that_would_work_in_an_earlier_sandbox_is_replaced_by_one_on_the_live_one(
    deployments: dict[str, UUID], store: CheckpointStore
) -> None:
    from prefect.states import Suspended

    live = live_target(LIVE_SANDBOX, [OLD_SANDBOX, LIVE_SANDBOX])
    moved = checkpoint(store, seeds.BAD_CPR, decided=False, target_url=OLD_SANDBOX)
    outside = checkpoint(store, seeds.REMARKS, decided=False, target_url=ELSEWHERE)
    old_run = attached(store, moved, deployments["checkpoint"], Suspended(), OLD_SANDBOX)
    outside_run = attached(store, outside, deployments["checkpoint"], Suspended(), ELSEWHERE)

    actions = asyncio.run(areconcile(store, live=live))

    assert [a.split(":")[0] for a in actions] == [moved]
    assert flow_run(old_run).state.type.value == "CRASHED"
    new = store.get(moved).flow_run_id
    assert flow_run(str(new)).parameters["target_url"] == LIVE_SANDBOX
    assert store.get(outside).flow_run_id == outside_run
    assert flow_run(outside_run).state.is_paused()


def test_live_target_stands_in_only_for_this_homes_earlier_sandboxes() -> None:
    live = live_target(LIVE_SANDBOX, [OLD_SANDBOX + "/", LIVE_SANDBOX])
    assert live.url_for(OLD_SANDBOX) == LIVE_SANDBOX
    assert live.url_for(None) == LIVE_SANDBOX
    assert live.url_for(LIVE_SANDBOX) == LIVE_SANDBOX
    assert live.url_for(ELSEWHERE) == ELSEWHERE
    assert not live.is_stale(ELSEWHERE)
    assert live.is_stale(OLD_SANDBOX)
    assert LiveTarget().url_for(OLD_SANDBOX) == OLD_SANDBOX  # no stack: as stored


def test_recover_crashes_batches_left_running_and_cancels_unstarted_ones(
    deployments: dict[str, UUID],
) -> None:
    from prefect.states import Completed, Running, Scheduled

    running = run_in(deployments["batch"], Running())
    unstarted = run_in(deployments["batch"], Scheduled())
    done = run_in(deployments["batch"], Completed())

    actions = asyncio.run(arecover(batches=f"process-inbox/{DEPLOYMENT_NAME}"))

    assert flow_run(running).state.type.value == "CRASHED"
    cancelled = flow_run(unstarted)
    assert cancelled.state.type.value == "CANCELLED"
    assert cancelled.name in cancelled.state.message
    assert "rpa run change-of-address" in cancelled.state.message
    assert (
        f"batch run {cancelled.name} was scheduled but never started: cancelled "
        "(start a new one with `rpa run change-of-address`)"
    ) in actions
    assert flow_run(done).state.is_completed()
