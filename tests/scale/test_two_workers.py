"""Scale-out as a region runs it: a Prefect server and the store on PostgreSQL, two workers.

One batch split across both workers (`parts=2`), the case system's session limit never
exceeded (the sandbox counts its sessions), every case handled exactly once, and the
checkpoints decided and carried out by whichever worker is free. bench/scale.py starts it
all as an operator would: `rpa deploy`, then `prefect worker start` twice.
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from pathlib import Path

import pytest

from bench import seeds
from bench.scale import Region, region, when
from tests.conftest import POSTGRES_ENV

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not os.environ.get(POSTGRES_ENV), reason=f"{POSTGRES_ENV} is not set"),
]

CASES = 24
WITH_REMARKS = 4
LIMIT = 2  # sessions at once against the case system, across both workers
LANES = 2  # per part: two parts want four sessions, so the limit has to hold them back


def _checkpoints(up: Region, status: str) -> list[dict[str, object]]:
    listed = up.rpa("checkpoints", "list", "--status", status, "--json")
    return list(json.loads(listed.stdout))


def test_one_batch_split_across_two_workers_keeps_the_session_limit(tmp_path: Path) -> None:
    seed = seeds.routine_seed(CASES, seed=11)
    for notification in seed["notifications"][:WITH_REMARKS]:
        notification["remarks"] = "Vi flytter sammen med min mor, hun får nøglen først."
    remarked = {n["case_id"] for n in seed["notifications"][:WITH_REMARKS]}

    with region(tmp_path, seed, os.environ[POSTGRES_ENV], max_sessions=LIMIT) as up:
        since = when()
        up.start_workers(2)
        assert up.online_workers() == 2

        batch = up.run_batch({"parts": 2, "concurrency": LANES})
        assert batch["state"]["type"] == "COMPLETED", batch["state"]

        # Split: the batch works its first share and a part run the second, each on its
        # own worker.
        parts = up.child_runs(batch["id"])
        assert [p["name"].rsplit("·", 1)[-1].strip() for p in parts] == ["part 2 of 2"]
        assert {p["state"]["type"] for p in parts} == {"COMPLETED"}
        workers = up.worker_of(since)
        assert {workers[batch["id"]], workers[parts[0]["id"]]} == {"worker-1", "worker-2"}

        # Exactly once: every routine case registered once, every remark case set aside.
        state = up.state()
        statuses = {n["case_id"]: n["status"] for n in state["notifications"]}
        per_case = Counter(r["case_id"] for r in state["registrations"])
        assert {c for c, s in statuses.items() if s == "registered"} == set(statuses) - remarked
        assert {c for c, s in statuses.items() if s == "in_progress"} == remarked
        assert set(per_case.values()) == {1}
        assert len(per_case) == CASES - WITH_REMARKS

        # Never more sessions at once than the limit, though the parts asked for more; and
        # every session ended (the robots log out).
        sessions = up.sessions()
        assert 1 <= sessions["peak"] <= LIMIT
        assert sessions["live"] == 0

        # The checkpoints: decided on the command line, carried out by a worker.
        waiting = _checkpoints(up, "open")
        assert {c["case_id"] for c in waiting} == remarked
        decided_at = when()
        for checkpoint in waiting:
            up.rpa(
                "checkpoints",
                "decide",
                str(checkpoint["checkpoint_id"]),
                "--by",
                "anna",
                "--approve",
            )
        deadline = time.monotonic() + 300
        while len(_checkpoints(up, "applied")) < WITH_REMARKS:
            assert time.monotonic() < deadline, _checkpoints(up, "all")
            time.sleep(1.0)
        registered = {
            n["case_id"] for n in up.state()["notifications"] if n["status"] == "registered"
        }
        assert registered == set(statuses)
        carried_out_by = set(up.worker_of(decided_at).values())
        assert carried_out_by <= {"worker-1", "worker-2"}
        assert carried_out_by, "a worker ran the resumed checkpoint runs"
        assert up.sessions()["peak"] <= LIMIT

        # What `rpa up` does every few seconds, for an installation of workers: nothing is
        # left to do once every decision is carried out.
        reconciled = up.rpa("reconcile", "--once")
        assert reconciled.stdout == "", reconciled.stdout
        assert len(_checkpoints(up, "applied")) == WITH_REMARKS
