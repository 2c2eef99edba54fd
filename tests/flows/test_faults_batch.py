"""A batch under a storm of injected faults: nothing is registered that a person must see.

Real Prefect, real Chromium, the real sandbox answering a share of requests with 500,
429, 404 and a maintenance page (reproducible: seeded). The same batch on a sandbox
without faults tells which cases are routine. Under faults, a case is registered by the
robot only if it is routine; every other case ends at a person; nothing is lost and
nothing registered twice; after the faults stop, one more run finishes the rest.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest

from checkpoints.store.repository import CheckpointStore
from config.settings import get_settings
from flows.change_of_address import process_inbox
from sandbox import SandboxServer, parse_seed
from sandbox.sample import generate_sample
from tests import seeds
from tests.conftest import sandbox_settings

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("rpa_home")]
N = 24
FAULTS = [
    {"path_prefix": "/", "status": 500, "rate": 0.03, "seed": 1},
    {"path_prefix": "/", "status": 429, "rate": 0.015, "seed": 2},
    {"path_prefix": "/sager", "method": "GET", "status": 404, "rate": 0.02, "seed": 3},
    {"path_prefix": "/cpr", "method": "GET", "kind": "maintenance", "rate": 0.02, "seed": 4},
    {"path_prefix": "/adresseregister", "method": "GET", "status": 403, "rate": 0.02, "seed": 5},
]


def state(url: str) -> dict[str, Any]:
    """The sandbox's state API."""
    return httpx.get(f"{url}/api/state").json()  # type: ignore[no-any-return]


def routine_cases(seed: dict[str, Any], home: Path, monkeypatch: pytest.MonkeyPatch) -> set[str]:
    """The cases the robot registers alone when nothing fails (a separate store)."""
    monkeypatch.setenv("RPA_HOME", str(home / "clean"))
    get_settings.cache_clear()
    with SandboxServer(parse_seed(seed), sandbox_settings()) as clean:
        summary = asyncio.run(process_inbox(target_url=clean.url, concurrency=2))
    monkeypatch.setenv("RPA_HOME", str(home))
    get_settings.cache_clear()
    return {o.case_id for o in summary.outcomes if o.result == "registered"}


def test_faults_never_let_the_robot_decide_and_lose_nothing(
    prefect_api_url: str, rpa_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed = generate_sample(N, seed=11)
    routine = routine_cases(seed, rpa_home, monkeypatch)
    assert 0 < len(routine) < N

    with SandboxServer(parse_seed(seed), sandbox_settings()) as sandbox:
        for fault in FAULTS:
            httpx.post(f"{sandbox.url}/api/test/faults", json=fault).raise_for_status()
        runs = 0
        for _ in range(3):  # the operator runs the batch again after a failed run
            runs += 1
            try:
                asyncio.run(process_inbox(target_url=sandbox.url, concurrency=2))
            except Exception as exc:  # listing the inbox can fail past its retries
                print(f"run {runs} failed: {type(exc).__name__}: {exc}")
        listed = httpx.get(f"{sandbox.url}/api/test/faults").json()["faults"]
        injected = sum(f["injected"] for f in listed)
        print(f"{injected} faults injected over {runs} runs")
        assert injected > 20  # the storm happened

        # The batches have ended: their registrations are read with the faults cleared
        # (a fault on "/" would answer the state API with an error page too).
        httpx.delete(f"{sandbox.url}/api/test/faults").raise_for_status()
        during = state(sandbox.url)
        registered = {r["case_id"] for r in during["registrations"]}
        # Fail closed: under any fault, the robot registered only cases that are routine.
        assert registered <= routine, registered - routine

        asyncio.run(process_inbox(target_url=sandbox.url, concurrency=2))
        after = state(sandbox.url)

    per_mover = Counter((r["case_id"], r["cpr"]) for r in after["registrations"])
    assert set(per_mover.values()) == {1}  # nothing registered twice
    statuses = {n["case_id"]: n["status"] for n in after["notifications"]}
    store = CheckpointStore.connect(get_settings().store_url)
    active = Counter(
        c.case_id for c in store.all() if c.status in ("open", "proposed", "decided", "failed")
    )
    for case_id, status in statuses.items():
        if status == "registered":
            assert case_id in routine
            assert store.journal(case_id)[-1].kind in ("robot.registered", "robot.confirmed")
        else:
            # Not registered: a person has it, exactly once (no case lost, none doubled).
            assert status == "in_progress", (case_id, status)
            assert active[case_id] == 1, case_id
    assert store.unfinished() == []
    assert store.verify_journals()[1] == []
    handed = [c for c in store.all() if any(r.rule_id == "system.failed" for r in c.reasons)]
    codes = Counter(r.details.get("code") for c in handed for r in c.reasons)
    print(f"handed to a person after faults: {len(handed)}; by code: {dict(codes)}")
    store.close()


PARKING_FAULTS = [
    {"path_prefix": "/parkering", "method": "GET", "status": 500, "rate": 0.06, "seed": 21},
    {"path_prefix": "/parkering", "method": "GET", "status": 429, "rate": 0.04, "seed": 22},
    {"path_prefix": "/koeretoejer", "method": "GET", "status": 404, "rate": 0.08, "seed": 23},
    {"path_prefix": "/koeretoejer", "kind": "maintenance", "rate": 0.05, "seed": 24},
    {"path_prefix": "/tilladelser", "method": "GET", "status": 403, "rate": 0.06, "seed": 25},
    {"path_prefix": "/cpr", "method": "GET", "status": 503, "rate": 0.05, "seed": 26},
    {"path_prefix": "/parkering", "method": "POST", "status": 500, "rate": 0.1, "seed": 27},
]


def parking_batch(url: str) -> Any:
    from flows.batch import process_cases

    return asyncio.run(process_cases(process="resident-parking", target_url=url, concurrency=2))


def test_faults_never_let_the_second_process_decide_and_lose_nothing(
    prefect_api_url: str, rpa_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed = generate_sample(4, seed=11)
    seed["notifications"] = []
    applications = {a["case_id"] for a in seed["permit_applications"]}
    monkeypatch.setenv("RPA_HOME", str(rpa_home / "clean"))
    get_settings.cache_clear()
    with SandboxServer(parse_seed(seed), sandbox_settings()) as clean:
        summary = parking_batch(clean.url)
    routine = {o.case_id for o in summary.outcomes if o.result == "done"}
    assert 0 < len(routine) < len(summary.outcomes)
    monkeypatch.setenv("RPA_HOME", str(rpa_home))
    get_settings.cache_clear()

    with SandboxServer(parse_seed(seed), sandbox_settings()) as sandbox:
        for fault in PARKING_FAULTS:
            httpx.post(f"{sandbox.url}/api/test/faults", json=fault).raise_for_status()
        for run in range(3):
            try:
                parking_batch(sandbox.url)
            except Exception as exc:  # listing the inbox can fail past its retries
                print(f"run {run + 1} failed: {type(exc).__name__}: {exc}")
        listed = httpx.get(f"{sandbox.url}/api/test/faults").json()["faults"]
        injected = sum(f["injected"] for f in listed)
        print(f"{injected} faults injected")
        assert injected > 10  # the storm happened
        during = state(sandbox.url)
        ours = {p["case_id"] for p in during["permits"] if p["case_id"] in applications}
        # Fail closed: under any fault, the robot issued permits only to routine applications.
        assert ours <= routine, ours - routine

        httpx.delete(f"{sandbox.url}/api/test/faults").raise_for_status()
        parking_batch(sandbox.url)
        after = state(sandbox.url)

    permits = Counter(p["case_id"] for p in after["permits"] if p["case_id"] in applications)
    assert all(n == 1 for n in permits.values()), permits  # never two permits for a case
    store = CheckpointStore.connect(get_settings().store_url)
    active = Counter(
        c.case_id
        for c in store.all()
        if c.process == "resident-parking" and c.status in ("open", "proposed", "decided", "failed")
    )
    for application in after["permit_applications"]:
        case_id, status = application["case_id"], application["status"]
        if status == "issued":
            assert case_id in routine, case_id
        else:
            # Not issued: a person has it, exactly once (no case lost, none doubled).
            assert status == "in_progress", (case_id, status)
            assert active[case_id] == 1, case_id
    assert store.unfinished(("robot.acting",)) == []
    assert store.verify_journals()[1] == []
    store.close()


def test_a_close_whose_answer_is_lost_is_confirmed_not_handed_to_a_person(
    prefect_api_url: str,
) -> None:
    case_id = seeds.ROUTINE[0]
    count = {"path_prefix": f"/sager/{case_id}", "method": "GET", "rate": 0.0, "status": 404}
    with SandboxServer(parse_seed(seeds.small_batch()), sandbox_settings()) as clean:
        httpx.post(f"{clean.url}/api/test/faults", json=count).raise_for_status()
        asyncio.run(process_inbox(target_url=clean.url, limit=1, concurrency=1))
        # The last GET of the case is the page the close redirects to.
        gets = httpx.get(f"{clean.url}/api/test/faults").json()["faults"][0]["matched"]
    assert gets >= 2

    with SandboxServer(parse_seed(seeds.small_batch()), sandbox_settings()) as sandbox:
        # The close goes through; its answer and the two retries' reads are lost.
        lost = {**count, "rate": None, "after": gets - 1, "times": 3}
        httpx.post(f"{sandbox.url}/api/test/faults", json=lost).raise_for_status()
        summary = asyncio.run(process_inbox(target_url=sandbox.url, limit=1, concurrency=1))
        faults = httpx.get(f"{sandbox.url}/api/test/faults").json()["faults"]
        statuses = {n["case_id"]: n["status"] for n in state(sandbox.url)["notifications"]}

    assert faults == []  # all three were spent
    assert statuses[case_id] == "registered"
    assert [(o.case_id, o.result) for o in summary.outcomes] == [(case_id, "registered")]
    store = CheckpointStore.connect(get_settings().store_url)
    try:
        assert store.all() == []  # nothing for a person: the case is done
        kinds = [e.kind for e in store.journal(case_id)]
        assert kinds[-2:] == ["robot.closing", "robot.confirmed"]
    finally:
        store.close()
