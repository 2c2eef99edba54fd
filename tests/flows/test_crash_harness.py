"""The crash harness: SIGKILL the process doing the work at every named step, then recover.

A routine case and a case for a person go through the real batch (in a process of its
own, so it can be killed), the served deployments (whose flow-run processes can be
killed), a person's decision (in a process of its own) and the real sandbox. A crash
plan names the step; the process that reaches it dies by SIGKILL, as in a power cut.
Then the user's recovery: run the batch again, let reconcile (`rpa up` does it every few
seconds) start what has no live run, decide what waits. Afterwards every case must end
right: registered once, no checkpoint lost or duplicated, no case in progress without a
checkpoint, every stored decision carried out once, and every journal verifies.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import textwrap
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from checkpoints.store.repository import CheckpointStore
from cli.stack import Stack
from config.settings import Settings, get_settings
from flows.crashpoints import PLAN_ENV, POINTS
from flows.resume import areconcile
from sandbox import SandboxServer, parse_seed
from tests import permit_seeds as permits
from tests import seeds
from tests.conftest import sandbox_settings, wait_until

pytestmark = pytest.mark.e2e

ROUTINE = seeds.ROUTINE[1]  # one mover
PERSON = seeds.REMARKS  # remarks: a person decides
BATCH_POINTS = {
    "case.read": ROUTINE,
    "case.routed": ROUTINE,
    "case.registered": ROUTINE,
    "checkpoint.stored": PERSON,
    "case.marked_in_progress": PERSON,
    "checkpoint.run_started": PERSON,
}
DECISION_POINTS = {"decision.stored", "decision.resumed", "decision.registered"}
ROOT = Path(__file__).resolve().parents[2]


def test_every_named_step_is_covered() -> None:
    assert set(BATCH_POINTS) | DECISION_POINTS == set(POINTS)


@pytest.fixture(scope="module")
def harness(
    prefect_api_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, str]]:
    """The served deployments, crash-plan aware, on one SQLite store; yields the env."""
    home = tmp_path_factory.mktemp("crash-home")
    env = {
        "RPA_HOME": str(home),
        "RPA_DATABASE_URL": f"sqlite:///{home / 'store.db'}",
        "RPA_RETRY_DELAYS_S": "[0.2, 0.2]",
        "RPA_BROWSER__TIMEOUT_MS": "10000",
        PLAN_ENV: str(home / "crash-plan.json"),
        "PREFECT_API_URL": prefect_api_url,
    }
    with ExitStack() as stack, pytest.MonkeyPatch.context() as patch:
        for key, value in env.items():
            patch.setenv(key, value)
        runner = stack.enter_context(
            Stack(Settings(home=home, database_url=env["RPA_DATABASE_URL"]))
        )
        runner.prefect_api_url = prefect_api_url
        runner.start_runner(None)
        yield env


@pytest.fixture
def store(harness: dict[str, str]) -> Iterator[CheckpointStore]:
    """The harness's store, emptied for this test."""
    get_settings.cache_clear()
    store = CheckpointStore.connect(harness["RPA_DATABASE_URL"])
    with store.engine.begin() as connection:
        for table in ("chat_posts", "journal_heads", "journal_entries", "decisions", "checkpoints"):
            connection.execute(text(f"DELETE FROM {table}"))  # noqa: S608 (fixed names)
    yield store
    store.close()
    get_settings.cache_clear()


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    """A sandbox with one routine case and one for a person."""
    seed = seeds.small_batch()
    seed["notifications"] = [n for n in seed["notifications"] if n["case_id"] in (ROUTINE, PERSON)]
    with SandboxServer(parse_seed(seed), sandbox_settings()) as server:
        yield server


def plan(harness: dict[str, str], point: str, case_id: str) -> None:
    """Arm the crash plan: the first process reaching `point` for `case_id` dies."""
    Path(harness[PLAN_ENV]).write_text(json.dumps({"point": point, "case_id": case_id}))
    Path(f"{harness[PLAN_ENV]}.fired").unlink(missing_ok=True)


def fired(harness: dict[str, str]) -> bool:
    """True once a process took the plan (and died)."""
    return Path(f"{harness[PLAN_ENV]}.fired").exists()


def in_a_process(harness: dict[str, str], code: str) -> subprocess.CompletedProcess[str]:
    """Python code in a process of its own, with the harness's environment."""
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=os.environ | harness,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def batch(harness: dict[str, str], url: str) -> subprocess.CompletedProcess[str]:
    """One batch run, as `rpa run` would make it, in its own process."""
    return in_a_process(
        harness,
        f"""
        import asyncio
        from flows.change_of_address import process_inbox
        asyncio.run(process_inbox(target_url={url!r}, concurrency=1))
        """,
    )


def decide(harness: dict[str, str], checkpoint_id: str) -> subprocess.CompletedProcess[str]:
    """A person approves, as `rpa checkpoints decide` does: store, then resume."""
    return in_a_process(
        harness,
        f"""
        from checkpoints.service import DecisionService
        from checkpoints.store.repository import CheckpointStore
        from flows.resume import resumer
        import os
        store = CheckpointStore.connect(os.environ["RPA_DATABASE_URL"])
        service = DecisionService(store, resumer=resumer(store, wait_s=20))
        service.decide({checkpoint_id!r}, kind="approve", decided_by="Jens Hansen", channel="cli")
        """,
    )


def state(url: str) -> dict[str, Any]:
    """The sandbox's state API."""
    return httpx.get(f"{url}/api/state").json()  # type: ignore[no-any-return]


def reconcile_until(store: CheckpointStore, done: Any, what: str) -> None:
    """What `rpa up` does every few seconds, until `done()`."""

    def step() -> bool:
        asyncio.run(areconcile(store, grace_s=0))
        return bool(done())

    wait_until(step, what, timeout=180)


def active(store: CheckpointStore) -> list[Any]:
    """Checkpoints still waiting for a person or for the robot."""
    return [c for c in store.all() if c.status in ("open", "proposed", "decided", "failed")]


def kill_and_recover(
    harness: dict[str, str],
    store: CheckpointStore,
    point: str,
    run_batch: Callable[[], subprocess.CompletedProcess[str]],
) -> Any:
    """The planned kill, then the user's recovery: the batch again, reconcile, decide.

    Returns the person's checkpoint, once its decision has been carried out.
    """
    first = run_batch()
    if point in BATCH_POINTS:
        assert first.returncode == -signal.SIGKILL, first.stderr[-2000:]
        assert fired(harness)
        # The user's recovery: run the batch again.
        again = run_batch()
        assert again.returncode == 0, again.stderr[-2000:]
    else:
        assert first.returncode == 0, first.stderr[-2000:]

    # Reconcile until the person's case waits in a live, suspended run.
    def waiting() -> bool:
        (checkpoint,) = active(store)
        return (
            checkpoint.status == "open"
            and checkpoint.flow_run_id is not None
            and (_paused(checkpoint.flow_run_id))
        )

    reconcile_until(store, waiting, "the person's case to wait in a suspended run")
    (checkpoint,) = active(store)
    decided = decide(harness, checkpoint.checkpoint_id)
    if point == "decision.stored":
        assert decided.returncode == -signal.SIGKILL, decided.stderr[-2000:]
    else:
        assert decided.returncode == 0, decided.stderr[-2000:]
    reconcile_until(store, lambda: not active(store), "every decision to be carried out")
    if point in DECISION_POINTS:
        assert fired(harness), f"the crash at {point} never happened"
    return checkpoint


@pytest.mark.parametrize("point", [*BATCH_POINTS, *sorted(DECISION_POINTS)])
def test_a_kill_at_any_step_loses_nothing_and_repeats_nothing(
    harness: dict[str, str], store: CheckpointStore, sandbox: SandboxServer, point: str
) -> None:
    url = sandbox.url
    plan(harness, point, BATCH_POINTS.get(point, PERSON))
    kill_and_recover(harness, store, point, lambda: batch(harness, url))

    after = state(url)
    statuses = {n["case_id"]: n["status"] for n in after["notifications"]}
    assert statuses == {ROUTINE: "registered", PERSON: "registered"}
    per_mover = Counter((r["case_id"], r["cpr"]) for r in after["registrations"])
    assert set(per_mover.values()) == {1}, per_mover  # nothing registered twice
    assert {case for case, _ in per_mover} == {ROUTINE, PERSON}

    checkpoints = store.all()
    applied = [c for c in checkpoints if c.status == "applied"]
    assert [c.case_id for c in applied] == [PERSON]  # one decision, carried out once
    assert applied[0].decision is not None
    assert applied[0].decision.decided_by == "Jens Hansen"
    assert all(c.status in ("applied", "superseded") for c in checkpoints)
    assert store.unfinished() == []  # no journal stops at an announced action
    checked, breaks = store.verify_journals()
    assert breaks == []
    assert checked == len(store.journal(ROUTINE)) + len(store.journal(PERSON))
    kinds = [e.kind for e in store.journal(ROUTINE)]
    assert kinds[-1] in ("robot.registered", "robot.confirmed")


def _paused(flow_run_id: str) -> bool:
    from uuid import UUID

    from prefect import get_client

    with get_client(sync_client=True) as client:
        state = client.read_flow_run(UUID(flow_run_id)).state
    return state is not None and state.is_paused()


# --- the second process: the same kills, the same promise --------------------------------

PARKING_ROUTINE = permits.ROUTINE  # her own car, in her zone
PARKING_PERSON = permits.HEAVY  # a van over the weight limit: a person decides
PARKING = "resident-parking"


@pytest.fixture
def parking_sandbox() -> Iterator[SandboxServer]:
    """A sandbox with one routine permit application and one for a person."""
    seed = permits.parking_batch()
    seed["notifications"] = []
    seed["permit_applications"] = [
        a for a in seed["permit_applications"] if a["case_id"] in (PARKING_ROUTINE, PARKING_PERSON)
    ]
    with SandboxServer(parse_seed(seed), sandbox_settings()) as server:
        yield server


def parking_batch(harness: dict[str, str], url: str) -> subprocess.CompletedProcess[str]:
    """One resident parking batch, as `rpa run resident-parking` would make it."""
    return in_a_process(
        harness,
        f"""
        import asyncio
        from flows.batch import process_cases
        asyncio.run(process_cases(process={PARKING!r}, target_url={url!r}, concurrency=1))
        """,
    )


def parking_points() -> dict[str, str]:
    return {
        point: PARKING_ROUTINE if case == ROUTINE else PARKING_PERSON
        for point, case in BATCH_POINTS.items()
    }


@pytest.mark.parametrize("point", [*BATCH_POINTS, *sorted(DECISION_POINTS)])
def test_a_kill_at_any_step_of_the_second_process_loses_nothing_and_repeats_nothing(
    harness: dict[str, str], store: CheckpointStore, parking_sandbox: SandboxServer, point: str
) -> None:
    url = parking_sandbox.url
    plan(harness, point, parking_points().get(point, PARKING_PERSON))
    checkpoint = kill_and_recover(harness, store, point, lambda: parking_batch(harness, url))
    assert checkpoint.process == PARKING

    after = state(url)
    statuses = {a["case_id"]: a["status"] for a in after["permit_applications"]}
    assert statuses == {PARKING_ROUTINE: "issued", PARKING_PERSON: "issued"}
    issued = Counter(p["case_id"] for p in after["permits"] if p["case_id"])
    assert issued[PARKING_ROUTINE] == 1  # never two permits for one application
    assert issued[PARKING_PERSON] == 1
    checkpoints = store.all()
    applied = [c for c in checkpoints if c.status == "applied"]
    assert [c.case_id for c in applied] == [PARKING_PERSON]
    assert all(c.status in ("applied", "superseded") for c in checkpoints)
    assert store.unfinished(("robot.acting",)) == []  # no journal stops at an announced act
    assert store.verify_journals()[1] == []
    kinds = [e.kind for e in store.journal(f"{PARKING}:{PARKING_ROUTINE}")]
    assert kinds[-1] in ("robot.done", "robot.confirmed")
