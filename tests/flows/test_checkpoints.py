"""Checkpoints for real: suspended runs on a served deployment, decided, resumed, carried out.

A real Prefect server, the served deployments in their own process (as `rpa up` runs
them), headless Chromium, the sandbox, and the store on SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest
from sqlalchemy import text

from checkpoints.explain import explain
from checkpoints.models import Checkpoint
from checkpoints.service import DecisionService
from checkpoints.store.repository import CheckpointStore
from cli.stack import Stack
from config.settings import Settings, get_settings
from flows.change_of_address import process_inbox
from flows.resume import resumer
from sandbox import SandboxServer, parse_seed
from tests import seeds
from tests.conftest import database_params, postgres_schema_url, sandbox_settings, wait_until

pytestmark = pytest.mark.e2e

FLAGGED = sorted(seeds.EXPECTED_REASONS)


@pytest.fixture(scope="module", params=database_params())
def served(
    request: pytest.FixtureRequest, prefect_api_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The served deployments in a process of their own, on one store; yields the store URL."""
    home = tmp_path_factory.mktemp("runner-home")
    with ExitStack() as stack, pytest.MonkeyPatch.context() as env:
        if request.param == "sqlite":
            url = f"sqlite:///{home / 'store.db'}"
        else:
            url = stack.enter_context(postgres_schema_url())
        env.setenv("RPA_DATABASE_URL", url)
        env.setenv("RPA_RETRY_DELAYS_S", "[0.2, 0.2]")
        env.setenv("RPA_BROWSER__TIMEOUT_MS", "10000")
        runner = stack.enter_context(Stack(Settings(home=home, database_url=url)))
        runner.prefect_api_url = prefect_api_url
        runner.start_runner(None)
        yield url


@pytest.fixture
def store(
    served: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[CheckpointStore]:
    """The runner's store, emptied for this test, and this test's settings pointing at it."""
    monkeypatch.setenv("RPA_HOME", str(tmp_path / "rpa-home"))
    monkeypatch.setenv("RPA_DATABASE_URL", served)
    monkeypatch.setenv("RPA_RETRY_DELAYS_S", "[0.2, 0.2]")
    get_settings.cache_clear()
    store = CheckpointStore.connect(served)
    with store.engine.begin() as connection:
        for table in ("journal_heads", "journal_entries", "decisions", "checkpoints"):
            connection.execute(text(f"DELETE FROM {table}"))  # noqa: S608 (fixed names)
    yield store
    store.close()
    get_settings.cache_clear()


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    """The sandbox with the small hand-made batch."""
    with SandboxServer(parse_seed(seeds.small_batch()), sandbox_settings()) as server:
        yield server


def state(url: str) -> dict[str, Any]:
    """The sandbox's state API."""
    return httpx.get(f"{url}/api/state").json()  # type: ignore[no-any-return]


def statuses(url: str) -> dict[str, str]:
    """Case id -> status in the case system."""
    return {n["case_id"]: n["status"] for n in state(url)["notifications"]}


def run_state(flow_run_id: str | None) -> Any:
    """The current state of a flow run."""
    from prefect import get_client

    assert flow_run_id is not None
    with get_client(sync_client=True) as client:
        return client.read_flow_run(UUID(flow_run_id)).state


def operations_note(checkpoint: Checkpoint) -> str:
    """The markdown the waiting run left for operations staff in the Prefect UI."""
    from prefect import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    key = f"checkpoint-{checkpoint.checkpoint_id}"
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key]))
        )
    assert artifacts, f"no {key} artifact"
    return str(artifacts[0].data)


def set_aside(sandbox: SandboxServer, store: CheckpointStore) -> dict[str, Checkpoint]:
    """Run the batch; return the checkpoints by case once all their runs wait."""
    summary = asyncio.run(process_inbox(target_url=sandbox.url, concurrency=2))
    assert sorted(o.case_id for o in summary.waiting) == FLAGGED
    by_case = {c.case_id: c for c in store.all()}
    assert sorted(by_case) == FLAGGED
    for checkpoint in by_case.values():
        wait_until(
            lambda c=checkpoint: run_state(c.flow_run_id).is_paused(),  # type: ignore[misc]
            f"the run of {checkpoint.checkpoint_id} to suspend",
        )
    return by_case


def service_for(store: CheckpointStore) -> DecisionService:
    """The decision service with the Prefect resumer, as the command line uses it."""
    return DecisionService(store, resumer=resumer(store, wait_s=20))


def applied(store: CheckpointStore, checkpoint_id: str) -> bool:
    """True once the robot has carried the decision out."""
    status = store.get(checkpoint_id).status
    assert status != "failed", store.get(checkpoint_id).error
    return status == "applied"


def test_set_aside_cases_wait_and_each_decision_reaches_its_end_state(
    store: CheckpointStore, sandbox: SandboxServer
) -> None:
    by_case = set_aside(sandbox, store)
    assert all(c.status == "open" for c in by_case.values())
    assert all(c.screenshot and Path(c.screenshot).exists() for c in by_case.values())
    before = state(sandbox.url)
    assert {c: s for c, s in statuses(sandbox.url).items() if c in FLAGGED} == dict.fromkeys(
        FLAGGED, "in_progress"
    )
    assert {r["case_id"] for r in before["registrations"]} == set(seeds.ROUTINE)
    assert "rpa checkpoints decide" in operations_note(by_case[seeds.REMARKS])

    service = service_for(store)
    decided = [
        service.decide(
            by_case[seeds.REMARKS].checkpoint_id,
            kind="approve",
            decided_by="Jens Hansen",
            channel="cli",
        ),
        service.decide(
            by_case[seeds.NO_NEW_ADDRESS].checkpoint_id,
            kind="edit",
            decided_by="Mette Lund",
            channel="cli",
            edits={f"new_address.{k}": v or "" for k, v in seeds.NEW_2.items()},
            comment="Adressen bekræftet i telefonen",
        ),
        service.decide(
            by_case[seeds.BAD_CPR].checkpoint_id,
            kind="manual",
            decided_by="Mette Lund",
            channel="cli",
            comment="CPR skal afklares",
        ),
        service.decide(
            by_case[seeds.UNKNOWN_ADDRESS].checkpoint_id,
            kind="contact_citizen",
            decided_by="Ole Berg",
            channel="cli",
        ),
    ]
    assert all(d.resume.resumed for d in decided), [d.resume for d in decided]
    for checkpoint in by_case.values():
        wait_until(lambda c=checkpoint: applied(store, c.checkpoint_id), "the robot to finish")

    after = state(sandbox.url)
    assert {c: s for c, s in statuses(sandbox.url).items() if c in FLAGGED} == {
        seeds.REMARKS: "registered",
        seeds.NO_NEW_ADDRESS: "registered",
        seeds.BAD_CPR: "manual",
        seeds.UNKNOWN_ADDRESS: "awaiting_citizen",
    }
    new = [r for r in after["registrations"] if r["case_id"] in FLAGGED]
    assert sorted((r["case_id"], r["address_id"]) for r in new) == [
        (seeds.REMARKS, "a-new"),
        (seeds.NO_NEW_ADDRESS, "a-new-2"),  # the edited address
    ]
    assert store.verify_journals()[1] == []
    story = "\n".join(explain(seeds.REMARKS, store.journal(seeds.REMARKS), "en"))
    registration = next(r["registration_id"] for r in new if r["case_id"] == seeds.REMARKS)
    assert "Jens Hansen approved" in story
    assert registration in story
    assert seeds.SCRIPT_REMARKS not in story
    edited = "\n".join(explain(seeds.NO_NEW_ADDRESS, store.journal(seeds.NO_NEW_ADDRESS), "da"))
    assert "'Gravene'" in edited
    assert "Adressen bekræftet i telefonen" in edited


def test_a_resume_without_a_stored_decision_changes_nothing(
    store: CheckpointStore, sandbox: SandboxServer
) -> None:
    from prefect import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId
    from prefect.flow_runs import resume_flow_run

    checkpoint = set_aside(sandbox, store)[seeds.REMARKS]
    assert checkpoint.flow_run_id is not None
    paused = run_state(checkpoint.flow_run_id)
    # As the Prefect UI's resume form would: valid input, but nobody decided anything.
    resume_flow_run(UUID(checkpoint.flow_run_id), run_input={"checkpoint_id": "cp-forged"})
    wait_until(
        lambda: (s := run_state(checkpoint.flow_run_id)).is_paused() and s.id != paused.id,
        "the run to wait again",
    )
    assert store.get(checkpoint.checkpoint_id).status == "open"
    assert statuses(sandbox.url)[seeds.REMARKS] == "in_progress"
    assert seeds.REMARKS not in {r["case_id"] for r in state(sandbox.url)["registrations"]}

    def warned() -> bool:
        with get_client(sync_client=True) as client:
            logs = client.read_logs(
                log_filter=LogFilter(
                    flow_run_id=LogFilterFlowRunId(any_=[UUID(checkpoint.flow_run_id or "")])
                )
            )
        return any("without a stored decision" in log.message for log in logs)

    wait_until(warned, "the log line about the resume without a decision", timeout=30)

    # A real decision afterwards still goes through, once.
    service_for(store).decide(
        checkpoint.checkpoint_id, kind="approve", decided_by="Jens", channel="cli"
    )
    wait_until(lambda: applied(store, checkpoint.checkpoint_id), "the robot to finish")
    registered = [r for r in state(sandbox.url)["registrations"] if r["case_id"] == seeds.REMARKS]
    assert len(registered) == 1


def test_a_case_changed_since_the_checkpoint_goes_back_to_a_person(
    store: CheckpointStore, sandbox: SandboxServer
) -> None:
    checkpoint = set_aside(sandbox, store)[seeds.REMARKS]
    httpx.post(
        f"{sandbox.url}/api/test/cases/{seeds.REMARKS}/amend",
        json={"move_date": "2026-11-16"},
    ).raise_for_status()
    service_for(store).decide(
        checkpoint.checkpoint_id, kind="approve", decided_by="Jens", channel="cli"
    )
    wait_until(
        lambda: store.get(checkpoint.checkpoint_id).status == "superseded",
        "the stale checkpoint to be superseded",
    )
    (new,) = [c for c in store.all("open") if c.case_id == seeds.REMARKS]
    assert new.supersedes == checkpoint.checkpoint_id
    assert [r.rule_id for r in new.reasons] == ["case.changed", "remarks.present"]
    assert new.case.notification is not None
    assert new.case.notification.move_date.isoformat() == "2026-11-16"
    wait_until(
        lambda: (
            (n := store.get(new.checkpoint_id)).flow_run_id is not None
            and run_state(n.flow_run_id).is_paused()
        ),
        "the new checkpoint's run to wait",
    )
    assert statuses(sandbox.url)[seeds.REMARKS] == "in_progress"
    assert seeds.REMARKS not in {r["case_id"] for r in state(sandbox.url)["registrations"]}


def test_a_failure_while_carrying_out_is_kept_visible_and_can_be_retried(
    store: CheckpointStore, sandbox: SandboxServer
) -> None:
    checkpoint = set_aside(sandbox, store)[seeds.REMARKS]
    # Every attempt (one and two retries) fails when registering the move.
    fault = {"path_prefix": "/cpr/flytning", "method": "POST", "status": 503, "times": 3}
    httpx.post(f"{sandbox.url}/api/test/faults", json=fault).raise_for_status()
    service = service_for(store)
    service.decide(checkpoint.checkpoint_id, kind="approve", decided_by="Jens", channel="cli")
    wait_until(
        lambda: store.get(checkpoint.checkpoint_id).status == "failed", "the checkpoint to fail"
    )
    failed = store.get(checkpoint.checkpoint_id)
    assert failed.error is not None
    assert "503" in failed.error
    assert failed.error_screenshot is not None
    assert Path(failed.error_screenshot).exists()
    assert [c.checkpoint_id for c in store.all("failed")] == [checkpoint.checkpoint_id]
    assert statuses(sandbox.url)[seeds.REMARKS] == "in_progress"

    # The case system is back (an attempt may have failed before it reached the fault).
    httpx.delete(f"{sandbox.url}/api/test/faults").raise_for_status()
    retried = service.retry(checkpoint.checkpoint_id, requested_by="Ops")
    assert retried.resume.resumed
    wait_until(lambda: applied(store, checkpoint.checkpoint_id), "the retry to finish")
    registered = [r for r in state(sandbox.url)["registrations"] if r["case_id"] == seeds.REMARKS]
    assert len(registered) == 1
    assert statuses(sandbox.url)[seeds.REMARKS] == "registered"
    kinds = [e.kind for e in store.journal(seeds.REMARKS)]
    assert kinds[-4:] == [
        "checkpoint.failed",
        "checkpoint.retried",
        "robot.registering",  # recorded before the robot acts
        "robot.registered",
    ]


def test_a_decision_the_robot_cannot_carry_out_goes_back_to_a_person(
    store: CheckpointStore, sandbox: SandboxServer
) -> None:
    checkpoint = set_aside(sandbox, store)[seeds.REMARKS]
    service_for(store).decide(
        checkpoint.checkpoint_id,
        kind="edit",
        decided_by="Mette",
        channel="cli",
        edits={"new_address.street": "Ingenvej", "new_address.house_number": "99"},
    )
    wait_until(
        lambda: store.get(checkpoint.checkpoint_id).status == "superseded",
        "the robot to hand the case back",
    )
    (new,) = [c for c in store.all("open") if c.case_id == seeds.REMARKS]
    assert [r.rule_id for r in new.reasons] == ["robot.refused", "remarks.present"]
    assert "not in the register" in new.reasons[0].message
    assert statuses(sandbox.url)[seeds.REMARKS] == "in_progress"
    assert seeds.REMARKS not in {r["case_id"] for r in state(sandbox.url)["registrations"]}
    story = "\n".join(explain(seeds.REMARKS, store.journal(seeds.REMARKS), "en"))
    assert "The robot could not carry out the decision" in story
