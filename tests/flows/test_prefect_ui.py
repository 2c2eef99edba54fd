"""What operations staff see in the Prefect UI after a batch: names, tags, notes, links, logs.

The served deployments in their own process (as `rpa up` runs them), a real Prefect
server, headless Chromium and the sandbox; only the clock is moved, to pass a deadline.
"""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta
from typing import Any
from uuid import UUID

import httpx
import pytest

from checkpoints.models import Checkpoint
from checkpoints.store import outbox
from checkpoints.store.repository import CheckpointStore
from config.settings import get_settings
from flows import automations, operations
from flows.notices import notice_waiting
from sandbox import SandboxServer
from tests import seeds
from tests.conftest import wait_until
from tests.flows.test_checkpoints import (  # the same served runner, store and sandbox
    applied,
    run_state,
    sandbox,
    served,
    service_for,
    set_aside,
    store,
)

pytestmark = pytest.mark.e2e
__all__ = ["sandbox", "served", "store"]  # fixtures, used by name


def flow_run(run_id: str | UUID) -> Any:
    """The flow run as the Prefect API has it."""
    from prefect import get_client

    with get_client(sync_client=True) as client:
        return client.read_flow_run(UUID(str(run_id)))


def artifacts_of(run_id: str | UUID) -> dict[str, str]:
    """The run's artifacts (latest per key): key -> data."""
    from prefect import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    with get_client(sync_client=True) as client:
        found = client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[run_id]))
        )
    return {str(a.key): str(a.data) for a in found}


def logs_of(run_id: str | UUID) -> list[Any]:
    """Every log record of the run on the server."""
    from prefect import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId

    with get_client(sync_client=True) as client:
        return client.read_logs(
            log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[UUID(str(run_id))]))
        )


def latest_batch_run() -> Any:
    """The last process-inbox run."""
    from prefect import get_client
    from prefect.client.schemas.filters import FlowFilter, FlowFilterName
    from prefect.client.schemas.sorting import FlowRunSort

    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(
            flow_filter=FlowFilter(name=FlowFilterName(any_=["process-inbox"])),
            sort=FlowRunSort.START_TIME_DESC,
            limit=1,
        )
    return runs[0]


def test_the_prefect_ui_tells_the_story_of_a_batch_and_its_waiting_cases(
    store: CheckpointStore, sandbox: SandboxServer
) -> None:
    by_case = set_aside(sandbox, store)

    batch = latest_batch_run()
    assert re.fullmatch(r"change-of-address batch \d{4}-\d\d-\d\d \d\d:\d\d", batch.name)
    assert {"change-of-address", "batch", "outcome:set-aside"} <= set(batch.tags)
    waiting = artifacts_of(batch.id)["change-of-address-waiting"]

    # Each case the robot finished has its line in the run's log, grouped a few seconds at
    # a time (one API log record per group, not per case).
    state = httpx.get(f"{sandbox.url}/api/state").json()
    registered = sorted(n["case_id"] for n in state["notifications"] if n["status"] == "registered")
    assert registered, "the sample has routine cases"

    def done_lines() -> list[str]:
        grouped = [log.message for log in logs_of(batch.id)]
        grouped = [m for m in grouped if m.startswith("Done by the robot (")]
        return [line for message in grouped for line in message.splitlines()[1:]]

    wait_until(lambda: len(done_lines()) == len(registered), "the grouped log lines", timeout=30)
    assert sorted(line.split()[1] for line in done_lines()) == registered
    assert all(re.fullmatch(r"Case \S+ registered \(.+\)", line) for line in done_lines())
    for checkpoint in by_case.values():
        assert f"/runs/flow-run/{checkpoint.flow_run_id})" in waiting
        assert f"`{checkpoint.reasons[0].rule_id}`" in waiting

    remarks = by_case[seeds.REMARKS]
    run = flow_run(remarks.flow_run_id or "")
    rules = [r.rule_id for r in remarks.reasons]
    more = f" +{len(rules) - 1}" if len(rules) > 1 else ""
    assert run.name == f"{seeds.REMARKS} · {rules[0]}{more}"
    assert set(run.tags) == {"change-of-address", "checkpoint", *(f"rule:{r}" for r in rules)}
    notes = artifacts_of(run.id)
    note = notes[f"checkpoint-{remarks.checkpoint_id}"]
    assert "Emil Larsen (050570-XXXX)" in note  # the mover, as the process shows the case
    assert "4567" not in note
    assert seeds.SCRIPT_REMARKS not in note  # the citizen's words stay in chat
    assert "rpa checkpoints decide" in note
    case_link = notes[f"checkpoint-{remarks.checkpoint_id}-case"]
    assert f"({sandbox.url}/sager/{seeds.REMARKS})" in case_link

    _a_healthy_wait_logs_no_error(remarks)
    _rpa_up_links_the_chat_message_and_tells_of_a_passed_deadline(store, remarks)

    # Decided and carried out: the run says how it ended.
    service_for(store).decide(
        remarks.checkpoint_id, kind="approve", decided_by="Jens", channel="cli"
    )
    wait_until(lambda: applied(store, remarks.checkpoint_id), "the robot to finish")
    wait_until(
        lambda: {"decision:approve", "outcome:applied"} <= set(flow_run(run.id).tags),
        "the run's outcome tags",
        timeout=30,
    )


def _a_healthy_wait_logs_no_error(checkpoint: Checkpoint) -> None:
    """Resumed without a decision, the run suspends again: at INFO, no red line."""
    from prefect.flow_runs import resume_flow_run

    run_id = checkpoint.flow_run_id or ""
    paused = run_state(run_id)
    resume_flow_run(UUID(run_id), run_input={"checkpoint_id": "cp-forged"})
    wait_until(
        lambda: (s := run_state(run_id)).is_paused() and s.id != paused.id,
        "the run to wait again",
    )

    def finished() -> list[Any]:
        return [log for log in logs_of(run_id) if "Finished in state Suspended" in log.message]

    suspended = wait_until(finished, "the engine's log line about the suspended run", timeout=30)
    assert [log.level for log in suspended] == [20]  # INFO
    assert [log.message for log in logs_of(run_id) if log.level >= 40] == []


def _rpa_up_links_the_chat_message_and_tells_of_a_passed_deadline(
    store: CheckpointStore, checkpoint: Checkpoint
) -> None:
    from prefect import get_client

    # As the Slack app leaves it: the message posted, its permalink kept with it.
    with pytest.MonkeyPatch.context() as env:
        env.setenv("RPA_SLACK__BOT_TOKEN", "xoxb-test")
        env.setenv("RPA_SLACK__CHANNEL", "C0CHECKS")
        get_settings.cache_clear()
        slack = store.outbox("slack")
        slack.add(checkpoint.checkpoint_id, outbox.POST)
        (post,) = slack.claim_due("test")
        permalink = "https://example.slack.com/archives/C0CHECKS/p1700000000000100"
        slack.sent(
            post.id, {"channel": "C0CHECKS", "ts": "1700000000.000100", "permalink": permalink}
        )
        later = checkpoint.deadline_at + timedelta(minutes=1)  # the only clock moved

        async def reconcile() -> list[str]:
            current = store.get(checkpoint.checkpoint_id)
            async with get_client() as client:
                run = await client.read_flow_run(UUID(current.flow_run_id or ""))
                return await notice_waiting(client, store, [current], {str(run.id): run}, later)

        first = asyncio.run(reconcile())
        again = asyncio.run(reconcile())
        get_settings.cache_clear()

    assert first == [f"{checkpoint.checkpoint_id}: past its deadline; operations told"]
    assert again == []  # once per checkpoint
    run = flow_run(checkpoint.flow_run_id or "")
    assert {operations.CHAT_LINKED, automations.OVERDUE_TAG} <= set(run.tags)
    chat = artifacts_of(run.id)[f"checkpoint-{checkpoint.checkpoint_id}-chat"]
    assert f"({permalink})" in chat
    # The server is shared by this test's runs (SQLite, PostgreSQL), whose case ids are
    # alike: the event is found by its checkpoint, and there is exactly one.
    about = _events(automations.OVERDUE_EVENT, f"rpa.checkpoint.{checkpoint.checkpoint_id}")
    assert len(about) == 1
    assert about[0]["resource"]["rpa.case"] == checkpoint.case_id


def _events(name: str, resource: str) -> list[dict[str, Any]]:
    """Events of this name about this resource (the server writes them within a second)."""
    from prefect import get_client

    def read() -> list[dict[str, Any]]:
        with get_client(sync_client=True) as client:
            response = client.request(
                "POST",
                "/events/filter",
                json={"filter": {"event": {"name": [name]}, "resource": {"id": [resource]}}},
            )
        events: list[dict[str, Any]] = response.json()["events"]
        return events

    return wait_until(read, f"the {name} event", timeout=30)  # type: ignore[no-any-return]
