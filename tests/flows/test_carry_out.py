"""The robot cannot register a flagged case without a stored decision (real browser, sandbox)."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from checkpoints.models import Checkpoint, Proposal
from checkpoints.service import DecisionService
from checkpoints.store.repository import CheckpointStore
from config.rules import load_rules_config
from flows.change_of_address.carry_out import carry_out
from flows.change_of_address.case import Clearance, ClearanceError, fingerprint
from flows.change_of_address.clearance import route_case
from flows.change_of_address.robot import CaseSystemRobot
from sandbox import SandboxServer, parse_seed
from tests import seeds
from tests.conftest import Runner, sandbox_settings


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    """The sandbox with the small hand-made batch."""
    with SandboxServer(parse_seed(seeds.small_batch()), sandbox_settings()) as server:
        yield server


@pytest.fixture
def store(store_url: str) -> Iterator[CheckpointStore]:
    """A migrated, empty store."""
    store = CheckpointStore.connect(store_url)
    yield store
    store.close()


def registrations(url: str) -> list[dict[str, Any]]:
    """Registrations in the sandbox's population register."""
    return httpx.get(f"{url}/api/state").json()["registrations"]  # type: ignore[no-any-return]


def flagged_checkpoint(run: Runner, robot: CaseSystemRobot, store: CheckpointStore) -> Checkpoint:
    """The remarks case, read and routed by the robot, stored as a checkpoint."""
    case = run(robot.enrich, run(robot.read_case, seeds.REMARKS))
    routing = route_case(case, config=load_rules_config(None))
    assert routing.clearance is None
    return store.open_checkpoint(
        case=case,
        reasons=routing.reasons,
        proposal=Proposal(action="register_move", summary="Register."),
        screenshot=None,
        process="change-of-address",
        deadline_hours=48,
    )


def carry(run: Runner, robot: CaseSystemRobot, store: CheckpointStore, cp: Checkpoint) -> Any:
    """Carry out whatever the store says about the checkpoint."""
    call = functools.partial(
        carry_out, robot, store, cp, reroute=lambda case: [], deadline_hours=48, locale="en"
    )
    return run(call)


def test_a_flagged_case_is_not_registered_without_a_stored_decision(
    run: Runner,
    robot_for: Callable[[str], CaseSystemRobot],
    sandbox: SandboxServer,
    store: CheckpointStore,
) -> None:
    robot = robot_for(sandbox.url)
    checkpoint = flagged_checkpoint(run, robot, store)
    before = registrations(sandbox.url)

    with pytest.raises(ClearanceError, match="no stored decision"):
        carry(run, robot, store, checkpoint)

    # A hand-made clearance for other data is refused by the robot itself.
    case = checkpoint.case
    assert case.notification is not None
    forged = Clearance(
        case_id=case.case_id,
        basis="decision",
        fingerprint=fingerprint(case.notification.model_copy(update={"remarks": ""})),
        issued_at=datetime.now(UTC),
    )
    with pytest.raises(ClearanceError, match="changed after it was cleared"):
        run(robot.register_move, case, forged)

    # A decision not to register never registers either.
    DecisionService(store).decide(
        checkpoint.checkpoint_id, kind="manual", decided_by="Jens", channel="cli"
    )
    result = carry(run, robot, store, store.get(checkpoint.checkpoint_id))
    assert result.action == "manual"
    assert registrations(sandbox.url) == before


def test_an_approved_case_is_registered_once_even_when_carried_out_twice(
    run: Runner,
    robot_for: Callable[[str], CaseSystemRobot],
    sandbox: SandboxServer,
    store: CheckpointStore,
) -> None:
    robot = robot_for(sandbox.url)
    checkpoint = flagged_checkpoint(run, robot, store)
    run(robot.mark_in_progress, seeds.REMARKS)
    DecisionService(store).decide(
        checkpoint.checkpoint_id, kind="approve", decided_by="Jens", channel="cli"
    )
    decided = store.get(checkpoint.checkpoint_id)
    first = carry(run, robot, store, decided)
    assert first.action == "registered"
    assert len([r for r in registrations(sandbox.url) if r["case_id"] == seeds.REMARKS]) == 1
    # The run crashed after the robot acted but before the store heard of it: the replay
    # finds the case closed as decided and does nothing more.
    with store.engine.begin() as connection:
        connection.execute(text("UPDATE checkpoints SET status = 'decided'"))
    again = carry(run, robot, store, decided)
    assert again.action == "registered"
    assert store.get(checkpoint.checkpoint_id).status == "applied"
    assert store.journal(seeds.REMARKS)[-1].kind == "robot.confirmed"
    assert len([r for r in registrations(sandbox.url) if r["case_id"] == seeds.REMARKS]) == 1
