"""Decisions survive a crash: every stored decision is carried out once after `rpa up` is
killed mid-way (its whole process tree at once) and started again."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from checkpoints.store.repository import CheckpointStore
from tests import seeds
from tests.cli.processes import (
    alive,
    kill_tree,
    prefect_run,
    prefect_runs,
    stack_file,
    start_up,
)
from tests.cli.test_commands import RPA, rpa, rpa_env, state
from tests.cli.test_stack_lifecycle import slow_case_system
from tests.conftest import wait_until

pytestmark = pytest.mark.e2e

END_STATES = {
    seeds.REMARKS: "registered",
    seeds.NO_NEW_ADDRESS: "registered",
    seeds.BAD_CPR: "manual",
    seeds.UNKNOWN_ADDRESS: "awaiting_citizen",
}


def test_decisions_are_carried_out_once_after_the_whole_stack_is_killed(
    tmp_path: Path, seed_file: Path
) -> None:
    # The robot waits long for pages, so a run held up by the slow case system is still
    # Running (not failed) when the stack dies.
    env = rpa_env(
        tmp_path / "home", RPA_SANDBOX__TEST_HOOKS="true", RPA_BROWSER__TIMEOUT_MS="300000"
    )
    log = tmp_path / "up.log"
    up = start_up(env, seed_file, log)
    batch = None
    try:
        first = stack_file(env)
        api = first["prefect_api_url"]
        assert rpa("run", "change-of-address", env=env, timeout=300).returncode == 0
        registered_by_batch = Counter(
            r["case_id"] for r in state(first["sandbox_url"])["registrations"]
        )
        listed = json.loads(rpa("checkpoints", "list", "--json", env=env).stdout)
        by_case = {c["case_id"]: c["checkpoint_id"] for c in listed}
        assert set(by_case) == set(END_STATES)

        slow_case_system(env, "/sager/", 600_000)  # carry-outs hang reading the case
        edits = [f"--edit=new_address.{k}={v or ''}" for k, v in seeds.NEW_2.items()]
        for args in (
            [by_case[seeds.REMARKS], "--by", "Jens", "--approve"],
            [by_case[seeds.NO_NEW_ADDRESS], "--by", "Mette", *edits],
            [by_case[seeds.BAD_CPR], "--by", "Mette", "--manual"],
            [by_case[seeds.UNKNOWN_ADDRESS], "--by", "Ole", "--contact-citizen"],
        ):
            decided = rpa("checkpoints", "decide", *args, env=env)
            assert decided.returncode == 0, decided.stderr

        store = CheckpointStore.connect(f"sqlite:///{Path(env['RPA_HOME']) / 'rpa.db'}")

        def run_states() -> list[str]:
            runs = [store.get(cid).flow_run_id for cid in by_case.values()]
            return [prefect_run(api, r)["state"]["type"] for r in runs if r]

        wait_until(
            lambda: run_states() == ["RUNNING"] * 4,
            "every resumed checkpoint run to be Running in the robot",
        )
        # A batch scheduled just before the crash, which no runner ever started.
        os.kill(first["children"]["runner"], signal.SIGSTOP)
        batch = subprocess.Popen(
            [*RPA, "run", "change-of-address"], env=env, stderr=subprocess.PIPE
        )
        wait_until(
            lambda: len(prefect_runs(api, "process-inbox")) == 2,
            "the second batch to be scheduled",
        )
        dead_runs = [store.get(cid).flow_run_id for cid in by_case.values()]
        victims = kill_tree(up.pid)
        up.wait(10)
        wait_until(lambda: not [v for v in victims if alive(v)], "the whole stack to be dead")
        assert store.all("applied") == []

        up = start_up(env, seed_file, log)
        wait_until(
            lambda: {c.status for c in store.all()} == {"applied"},
            "every decision to be carried out after the restart",
            timeout=240,
        )
        after = state(stack_file(env)["sandbox_url"])
        statuses = {n["case_id"]: n["status"] for n in after["notifications"]}
        assert {case: statuses[case] for case in END_STATES} == END_STATES
        registrations = Counter(r["case_id"] for r in after["registrations"])
        # Exactly one registration per mover of each approved case, none twice.
        assert registrations - registered_by_batch == {seeds.REMARKS: 1, seeds.NO_NEW_ADDRESS: 1}
        assert len(store.all()) == 4  # no case went back to a person as a new checkpoint
        for checkpoint in store.all():
            assert checkpoint.decision is not None
            assert [e.kind for e in store.journal(checkpoint.case_id)].count(
                "decision.recorded"
            ) == 1

        # Prefect showed the killed runs Running for ever: `rpa up` marked them crashed.
        assert [prefect_run(api, r)["state"]["type"] for r in dead_runs if r] == ["CRASHED"] * 4
        said = log.read_text()
        assert said.count("in a stopped runner: crashed") >= 4
        scheduled = [
            r for r in prefect_runs(api, "process-inbox") if r["state"]["type"] == "CANCELLED"
        ]
        assert len(scheduled) == 1
        assert (
            f"batch run {scheduled[0]['name']} was scheduled but never started: cancelled" in said
        )
        store.close()
    finally:
        if batch is not None and batch.poll() is None:
            batch.kill()
        if up.poll() is None:
            up.send_signal(signal.SIGTERM)
            up.wait(60)
