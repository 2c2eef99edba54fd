"""The second process end to end: resident parking permits through Prefect, the sandbox
and the decision service, written only against the process API.

A real Prefect server, the served deployments in their own process (as `rpa up` runs
them), headless Chromium, the sandbox with its parking pages, the store on SQLite and
PostgreSQL.
"""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import UUID

import httpx
import pytest

from checkpoints.explain import explain
from checkpoints.models import Checkpoint
from checkpoints.service import DecisionError
from checkpoints.store.repository import CheckpointStore
from flows.batch import process_cases
from flows.resume import areconcile
from sandbox import SandboxServer, parse_seed
from tests import permit_seeds as permits
from tests.conftest import sandbox_settings, wait_until
from tests.flows.test_checkpoints import applied, run_state, served, service_for, store

pytestmark = pytest.mark.e2e
__all__ = ["served", "store"]  # the runner and store fixtures of the first process's tests

FLAGGED = {
    permits.HEAVY: ["vehicle.too_heavy"],
    permits.HAS_PERMIT: ["permit.already_active"],
    permits.HIDDEN_REMARKS: ["remarks.present"],
    permits.MALFORMED: ["data.invalid", "address.outside_zone"],
}
ROUTINE = [permits.ROUTINE, permits.LEASED]
PROCESS = "resident-parking"


@pytest.fixture
def sandbox() -> Any:
    with SandboxServer(parse_seed(permits.parking_batch()), sandbox_settings()) as server:
        yield server


def parking_state(url: str) -> dict[str, Any]:
    data = httpx.get(f"{url}/api/state").json()
    return {"applications": {a["case_id"]: a for a in data["permit_applications"]},
            "permits": data["permits"]}  # fmt: skip


def set_aside(sandbox: SandboxServer, store: CheckpointStore) -> dict[str, Checkpoint]:
    summary = asyncio.run(process_cases(process=PROCESS, target_url=sandbox.url, concurrency=2))
    assert sorted(o.case_id for o in summary.waiting) == sorted(FLAGGED)
    assert sorted(o.case_id for o in summary.outcomes if o.result == "done") == sorted(ROUTINE)
    by_case = {c.case_id: c for c in store.all() if c.process == PROCESS}
    assert {case: [r.rule_id for r in c.reasons] for case, c in by_case.items()} == FLAGGED
    for checkpoint in by_case.values():
        wait_until(
            lambda c=checkpoint: run_state(c.flow_run_id).is_paused(),  # type: ignore[misc]
            f"the run of {checkpoint.checkpoint_id} to suspend",
        )
    return by_case


def test_routine_applications_get_a_permit_and_each_decision_reaches_its_end_state(
    store: CheckpointStore, sandbox: SandboxServer
) -> None:
    by_case = set_aside(sandbox, store)
    state = parking_state(sandbox.url)
    issued = {p["case_id"]: p for p in state["permits"] if p["case_id"]}
    assert sorted(c for c in issued if c.startswith("PRK-2026")) == sorted(ROUTINE)
    assert issued[permits.ROUTINE]["plate"] == "AB12345"  # typed "ab 12 345"
    assert {c: state["applications"][c]["status"] for c in FLAGGED} == dict.fromkeys(
        FLAGGED, "in_progress"
    )
    # Shown to a person in the process's own words, CPR masked; the hidden remark named.
    heavy = by_case[permits.HEAVY]
    assert "4200 kg" in heavy.reasons[0].message
    assert "Udsted beboerparkeringstilladelse til EF34567" in heavy.proposal.summary

    service = service_for(store)
    with pytest.raises(DecisionError, match="takes these decisions: approve, edit, reject"):
        service.decide(heavy.checkpoint_id, kind="contact_citizen", decided_by="A", channel="cli")
    with pytest.raises(DecisionError, match="needs its reason"):
        service.decide(heavy.checkpoint_id, kind="reject", decided_by="A", channel="cli")
    with pytest.raises(DecisionError, match="cannot be approved as read: these fields"):
        service.decide(
            by_case[permits.MALFORMED].checkpoint_id, kind="approve", decided_by="A", channel="cli"
        )
    decided = [
        service.decide(
            heavy.checkpoint_id,
            kind="reject",
            decided_by="Mette Lund",
            channel="cli",
            comment="Varebilen vejer over 3.500 kg.",
        ),
        service.decide(
            by_case[permits.HAS_PERMIT].checkpoint_id,
            kind="manual",
            decided_by="Ole Berg",
            channel="cli",
        ),
        service.decide(
            by_case[permits.HIDDEN_REMARKS].checkpoint_id,
            kind="approve",
            decided_by="Jens Hansen",
            channel="cli",
        ),
        service.decide(
            by_case[permits.MALFORMED].checkpoint_id,
            kind="edit",
            decided_by="Mette Lund",
            channel="cli",
            edits={"plate": "AB 12 345", "start_date": "2026-12-01"},
        ),
    ]
    assert all(d.resume.resumed for d in decided), [d.resume for d in decided]
    for checkpoint in by_case.values():
        wait_until(lambda c=checkpoint: applied(store, c.checkpoint_id), "the robot to finish")

    state = parking_state(sandbox.url)
    assert {c: state["applications"][c]["status"] for c in FLAGGED} == {
        permits.HEAVY: "rejected",
        permits.HAS_PERMIT: "manual",
        permits.HIDDEN_REMARKS: "issued",
        permits.MALFORMED: "issued",
    }
    assert state["applications"][permits.HEAVY]["reason"] == "Varebilen vejer over 3.500 kg."
    edited = next(p for p in state["permits"] if p["case_id"] == permits.MALFORMED)
    assert (edited["plate"], edited["zone"], edited["valid_from"]) == ("AB12345", "A", "2026-12-01")
    assert store.verify_journals()[1] == []
    story = "\n".join(explain(permits.HEAVY, store.journal(f"{PROCESS}:{permits.HEAVY}"), "en"))
    assert "Mette Lund" in story
    assert "Varebilen vejer over 3.500 kg." in story
    assert "0303752345" not in story


def test_a_cancelled_waiting_run_is_restarted_on_its_own_process_and_the_decision_carried_out(
    store: CheckpointStore, sandbox: SandboxServer
) -> None:
    """The lost-decision scenario: cancel the run, reconcile, decide."""
    from prefect import get_client
    from prefect.states import Cancelled

    checkpoint = set_aside(sandbox, store)[permits.HIDDEN_REMARKS]
    assert checkpoint.flow_run_id is not None
    with get_client(sync_client=True) as client:
        client.set_flow_run_state(UUID(checkpoint.flow_run_id), Cancelled(), force=True)
    actions = asyncio.run(areconcile(store, grace_s=0))
    assert any(checkpoint.checkpoint_id in a for a in actions), actions
    restarted = store.get(checkpoint.checkpoint_id)
    assert restarted.flow_run_id != checkpoint.flow_run_id
    wait_until(lambda: run_state(restarted.flow_run_id).is_paused(), "the new run to wait")
    service_for(store).decide(
        checkpoint.checkpoint_id, kind="approve", decided_by="Jens", channel="cli"
    )
    wait_until(lambda: applied(store, checkpoint.checkpoint_id), "the robot to finish")
    state = parking_state(sandbox.url)
    assert state["applications"][permits.HIDDEN_REMARKS]["status"] == "issued"
    assert [p["case_id"] for p in state["permits"]].count(permits.HIDDEN_REMARKS) == 1
    # No other process's robot touched it: no refusal, no second checkpoint.
    assert [c.checkpoint_id for c in store.all() if c.case_id == permits.HIDDEN_REMARKS] == [
        checkpoint.checkpoint_id
    ]
