"""process_inbox for real: a Prefect server, headless Chromium and the sandbox."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from checkpoints.store.repository import CheckpointStore
from config.settings import get_settings
from flows.change_of_address import process_inbox
from flows.summary import BatchSummary
from sandbox import SandboxServer, parse_seed
from tests import seeds
from tests.conftest import sandbox_settings

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("rpa_home")]


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    """The sandbox with the small hand-made batch."""
    with SandboxServer(parse_seed(seeds.small_batch()), sandbox_settings()) as server:
        yield server


def state(url: str) -> dict[str, Any]:
    """The sandbox's state API."""
    return httpx.get(f"{url}/api/state").json()  # type: ignore[no-any-return]


def run_batch(url: str, **params: Any) -> BatchSummary:
    """One real flow run against the test Prefect server."""
    summary = asyncio.run(process_inbox(target_url=url, **params))
    assert isinstance(summary, BatchSummary)
    return summary


def test_routine_cases_are_registered_once_and_the_rest_set_aside(
    prefect_api_url: str, sandbox: SandboxServer
) -> None:
    summary = run_batch(sandbox.url, concurrency=2)

    results = {o.case_id: o.result for o in summary.outcomes}
    assert {c for c, r in results.items() if r == "registered"} == set(seeds.ROUTINE)
    assert {c for c, r in results.items() if r == "set_aside"} == set(seeds.EXPECTED_REASONS)
    for outcome in summary.outcomes:
        if outcome.result == "set_aside":
            assert {r.rule_id for r in outcome.reasons} == seeds.EXPECTED_REASONS[outcome.case_id]

    after = state(sandbox.url)
    statuses = {n["case_id"]: n["status"] for n in after["notifications"]}
    assert all(statuses[c] == "registered" for c in seeds.ROUTINE)
    assert all(statuses[c] == "in_progress" for c in seeds.EXPECTED_REASONS)
    per_case = Counter((r["case_id"], r["cpr"]) for r in after["registrations"])
    assert set(per_case.values()) == {1}
    assert {case for case, _ in per_case} == set(seeds.ROUTINE)
    assert len(after["registrations"]) == 4  # the first routine case has two movers


def test_a_second_run_finds_nothing_to_do_and_registers_nothing(
    prefect_api_url: str, sandbox: SandboxServer
) -> None:
    run_batch(sandbox.url, concurrency=1)
    before = state(sandbox.url)
    second = run_batch(sandbox.url, concurrency=1)
    assert second.total == 0
    assert state(sandbox.url) == before


def test_a_crash_after_registering_does_not_register_twice(
    prefect_api_url: str, sandbox: SandboxServer
) -> None:
    # The case system fails when the robot closes the first case, on every attempt:
    # the move is registered, the case stays open, the task fails for a human.
    fault = {
        "path_prefix": f"/sager/{seeds.ROUTINE[0]}/afslut",
        "method": "POST",
        "status": 503,
        "times": 3,
    }
    httpx.post(f"{sandbox.url}/api/test/faults", json=fault).raise_for_status()
    first = run_batch(sandbox.url, concurrency=1, limit=1)
    assert [o.result for o in first.outcomes] == ["failed"]
    screenshot = first.outcomes[0].screenshot
    assert screenshot is not None
    assert Path(screenshot).exists()
    assert len(state(sandbox.url)["registrations"]) == 2

    # Retries ran out: the case went to a person, as a checkpoint with the error's code.
    assert "handed to a person as checkpoint" in (first.outcomes[0].error or "")
    store = CheckpointStore.connect(get_settings().store_url)
    (checkpoint,) = store.all()
    assert checkpoint.case_id == seeds.ROUTINE[0]
    assert [r.rule_id for r in checkpoint.reasons] == ["system.failed"]
    assert checkpoint.reasons[0].details["code"] == "system.http_503"
    # The journal says what the robot was doing when it stopped: registered, not closed.
    kinds = [e.kind for e in store.journal(seeds.ROUTINE[0])]
    assert kinds[:4] == ["case.read", "rules.none", "robot.registering", "robot.closing"]
    assert kinds[-1] == "checkpoint.opened"
    store.close()

    rerun = run_batch(sandbox.url, concurrency=1, limit=1)
    assert [o.case_id for o in rerun.outcomes] == [seeds.ROUTINE[1]]
    after = state(sandbox.url)
    assert len([r for r in after["registrations"] if r["case_id"] == seeds.ROUTINE[0]]) == 2
    statuses = {n["case_id"]: n["status"] for n in after["notifications"]}
    assert statuses[seeds.ROUTINE[0]] == "in_progress"  # a person decides it now


def test_system_errors_are_retried_and_business_reasons_are_not(
    prefect_api_url: str, sandbox: SandboxServer
) -> None:
    fault = {"path_prefix": "/cpr/flytning", "method": "POST", "status": 500, "times": 1}
    httpx.post(f"{sandbox.url}/api/test/faults", json=fault).raise_for_status()
    summary = run_batch(sandbox.url, concurrency=2)
    assert summary.count("registered") == 3
    assert summary.count("failed") == 0
    assert len(state(sandbox.url)["registrations"]) == 4


def test_an_unreachable_store_fails_the_run_and_touches_no_case(
    prefect_api_url: str, sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from checkpoints.store.db import StoreUnavailable

    monkeypatch.setenv("RPA_DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    get_settings.cache_clear()
    before = state(sandbox.url)
    with pytest.raises(StoreUnavailable, match="cannot be reached"):
        asyncio.run(process_inbox(target_url=sandbox.url))
    assert state(sandbox.url) == before
    assert {n["status"] for n in before["notifications"]} == {"open"}


def test_every_case_gets_a_journal_and_set_aside_ones_a_checkpoint(
    prefect_api_url: str, sandbox: SandboxServer
) -> None:
    run_batch(sandbox.url, concurrency=2)
    store = CheckpointStore.connect(get_settings().store_url)
    checkpoints = store.all()
    assert sorted(c.case_id for c in checkpoints) == sorted(seeds.EXPECTED_REASONS)
    assert all(c.target_url == sandbox.url for c in checkpoints)
    routine = [e.kind for e in store.journal(seeds.ROUTINE[0])]
    # What the robot is about to do is recorded before it does it.
    assert routine == [
        "case.read",
        "rules.none",
        "robot.registering",
        "robot.closing",
        "robot.registered",
    ]
    checked, breaks = store.verify_journals()
    assert breaks == []
    assert checked == 3 * 5 + 4 * 3
    store.close()


def test_a_batch_that_replaces_its_pages_after_every_case_does_the_same_work(
    prefect_api_url: str, sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Flat memory in long batches: a lane's page is replaced every N cases (here 1).
    monkeypatch.setenv("RPA_BROWSER__RECYCLE_EVERY", "1")
    get_settings.cache_clear()
    summary = run_batch(sandbox.url, concurrency=2)

    results = {o.case_id: o.result for o in summary.outcomes}
    assert {c for c, r in results.items() if r == "registered"} == set(seeds.ROUTINE)
    assert {c for c, r in results.items() if r == "set_aside"} == set(seeds.EXPECTED_REASONS)
    per_case = Counter((r["case_id"], r["cpr"]) for r in state(sandbox.url)["registrations"])
    assert set(per_case.values()) == {1}
