"""`rpa checkpoints`, `rpa journal` and `rpa db` as a caseworker and an operator run them."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from checkpoints.models import Proposal
from checkpoints.store.repository import CheckpointStore
from flows.change_of_address.case import CaseFile, validate_notification
from tests import seeds
from tests.cli.test_commands import RPA, rpa, rpa_env, state
from tests.conftest import wait_until


def decided_case(case_id: str, **changes: Any) -> CaseFile:
    """A case as the robot reads it, from the small batch's notifications."""
    raw = next(n for n in seeds.small_batch()["notifications"] if n["case_id"] == case_id)
    raw = {k: v for k, v in raw.items() if k != "status"} | changes
    notification, problems = validate_notification(raw)
    return CaseFile(case_id=case_id, raw=raw, notification=notification, problems=problems)


def test_bad_decisions_are_one_line_errors_and_store_nothing(database: str, tmp_path: Path) -> None:
    env = rpa_env(tmp_path / "home", RPA_DATABASE_URL=database)
    assert rpa("db", "upgrade", env=env).returncode == 0
    store = CheckpointStore.connect(database)
    checkpoint = store.open_checkpoint(
        case=decided_case(seeds.REMARKS),
        reasons=[],
        proposal=Proposal(action="register_move", summary="Register."),
        screenshot=None,
        process="change-of-address",
        deadline_hours=48,
    )
    cid = checkpoint.checkpoint_id
    journal_before = store.journal(seeds.REMARKS)
    bad = [
        (["decide", "cp-unknown", "--by", "Jens", "--approve"], "no checkpoint cp-unknown"),
        (["decide", cid, "--by", " ", "--approve"], "name of the person"),
        (["decide", cid, "--by", "Jens"], "exactly one of"),
        (["decide", cid, "--by", "Jens", "--approve", "--manual"], "exactly one of"),
        (["decide", cid, "--by", "Jens", "--edit", "shoe_size=42"], "unknown field"),
        (["decide", cid, "--by", "Jens", "--edit", "move_date=someday"], "move_date"),
        (["decide", cid, "--by", "Jens", "--edit", "no-equals-sign"], "FIELD=VALUE"),
        (["retry", cid, "--by", "Jens"], "only a failed one"),
    ]
    for args, message in bad:
        result = rpa("checkpoints", *args, env=env)
        assert result.returncode != 0, args
        assert message in result.stderr, (args, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert store.get(cid).status == "open"
    assert store.decision_for(cid) is None
    assert store.journal(seeds.REMARKS) == journal_before

    # Without `rpa up` the decision is stored and waits to be carried out.
    done = rpa("checkpoints", "decide", cid, "--by", "Jens", "--manual", env=env)
    assert done.returncode == 0, done.stderr
    assert "`rpa up` will carry it out" in done.stdout
    again = rpa("checkpoints", "decide", cid, "--by", "Mette", "--approve", env=env)
    assert again.returncode != 0
    assert "already decided by Jens" in again.stderr
    listed = json.loads(rpa("checkpoints", "list", "--json", env=env).stdout)
    assert [(c["checkpoint_id"], c["status"], c["decided_by"]) for c in listed] == [
        (cid, "decided", "Jens")
    ]
    assert set(listed[0]) >= {"checkpoint_id", "case_id", "status", "reasons", "created_at"}
    store.close()


def test_an_unreachable_database_is_a_one_line_error(tmp_path: Path) -> None:
    env = rpa_env(tmp_path / "home", RPA_DATABASE_URL="postgresql://nobody@127.0.0.1:1/none")
    for args in (["db", "upgrade"], ["checkpoints", "list"], ["journal", "verify"]):
        result = rpa(*args, env=env)
        assert result.returncode == 1, args
        assert "cannot be reached" in result.stderr
        assert "Traceback" not in result.stderr


def start_up(env: dict[str, str], seed: Path) -> subprocess.Popen[str]:
    """`rpa up --seed F`, waited for until it has published its stack file."""
    process = subprocess.Popen(
        [*RPA, "up", "--seed", str(seed)],
        env=env,
        text=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    stack_file = Path(env["RPA_HOME"]) / "stack.json"
    deadline = time.monotonic() + 120
    while not stack_file.exists():
        if process.poll() is not None:
            raise AssertionError(process.stderr.read() if process.stderr else "rpa up exited")
        assert time.monotonic() < deadline, "rpa up did not get ready"
        time.sleep(0.5)
    return process


def stop(process: subprocess.Popen[str]) -> None:
    """SIGTERM, as an operator's service manager would."""
    process.send_signal(signal.SIGTERM)
    assert process.wait(60) == 0


@pytest.mark.e2e
def test_checkpoints_are_decided_from_the_command_line_and_survive_a_restart(
    database: str, tmp_path: Path, seed_file: Path
) -> None:
    env = rpa_env(tmp_path / "home", RPA_DATABASE_URL=database)
    sandbox_url = f"http://127.0.0.1:{env['RPA_SANDBOX__PORT']}"
    up = start_up(env, seed_file)
    try:
        result = rpa("run", "change-of-address", env=env, timeout=240)
        assert result.returncode == 0, result.stderr
        listed = json.loads(rpa("checkpoints", "list", "--json", env=env).stdout)
        by_case = {c["case_id"]: c["checkpoint_id"] for c in listed}
        assert sorted(by_case) == sorted(seeds.EXPECTED_REASONS)
        assert {c["status"] for c in listed} == {"open"}
        assert {c["case_id"]: set(c["reasons"]) for c in listed} == seeds.EXPECTED_REASONS
        shown = rpa("checkpoints", "show", by_case[seeds.REMARKS], env=env)
        assert "050570-XXXX" in shown.stdout
        assert "0505704567" not in shown.stdout
        assert "Why a person must decide" in shown.stdout

        edits = [f"--edit=new_address.{k}={v or ''}" for k, v in seeds.NEW_2.items()]
        decisions = [
            [by_case[seeds.REMARKS], "--by", "Jens Hansen", "--approve"],
            [by_case[seeds.NO_NEW_ADDRESS], "--by", "Mette Lund", *edits],
            [by_case[seeds.BAD_CPR], "--by", "Mette Lund", "--manual", "--comment", "Tjek CPR"],
        ]
        for args in decisions:
            decided = rpa("checkpoints", "decide", *args, env=env)
            assert decided.returncode == 0, decided.stderr
            assert "The robot goes on" in decided.stdout

        def end_states() -> dict[str, str]:
            return {n["case_id"]: n["status"] for n in state(sandbox_url)["notifications"]}

        wanted = {
            seeds.REMARKS: "registered",
            seeds.NO_NEW_ADDRESS: "registered",
            seeds.BAD_CPR: "manual",
        }
        wait_until(
            lambda: all(end_states()[c] == s for c, s in wanted.items()), "the robot to finish"
        )
        registrations = state(sandbox_url)["registrations"]
        assert [r["address_id"] for r in registrations if r["case_id"] == seeds.NO_NEW_ADDRESS] == [
            "a-new-2"
        ]
        story = rpa("journal", seeds.REMARKS, "--locale", "en", env=env)
        assert story.returncode == 0, story.stderr
        assert "Jens Hansen approved the robot's proposal" in story.stdout
        assert "registered the move" in story.stdout

        # A restart while one checkpoint waits loses nothing: its run waits on, and the
        # case system (the sandbox keeps its changes under RPA_HOME) is as it was.
        before_restart = state(sandbox_url)
        stop(up)
        up = start_up(env, seed_file)
        assert state(sandbox_url) == before_restart
        waiting = by_case[seeds.UNKNOWN_ADDRESS]
        after_restart = json.loads(rpa("checkpoints", "list", "--json", env=env).stdout)
        assert {c["checkpoint_id"]: c["status"] for c in after_restart}[waiting] == "open"
        decided = rpa("checkpoints", "decide", waiting, "--by", "Ole", "--contact-citizen", env=env)
        assert decided.returncode == 0, decided.stderr
        wait_until(
            lambda: end_states()[seeds.UNKNOWN_ADDRESS] == "awaiting_citizen",
            "the robot to mark the case as awaiting the citizen",
        )
        final = json.loads(rpa("checkpoints", "list", "--json", env=env).stdout)
        wait_until(
            lambda: (
                {
                    c["status"]
                    for c in json.loads(rpa("checkpoints", "list", "--json", env=env).stdout)
                }
                == {"applied"}
            ),
            "every checkpoint to be applied",
        )
        assert len(final) == 4

        verified = rpa("journal", "verify", env=env)
        assert verified.returncode == 0, verified.stderr
        store = CheckpointStore.connect(database)
        with store.engine.begin() as connection:
            connection.execute(
                text(
                    "UPDATE journal_entries SET actor = 'Someone else' "
                    "WHERE kind = 'decision.recorded' AND case_id = :case"
                ),
                {"case": seeds.BAD_CPR},
            )
        store.close()
        broken = rpa("journal", "verify", env=env)
        assert broken.returncode != 0
        assert f"case {seeds.BAD_CPR}, entry 4 (decision.recorded)" in broken.stderr
    finally:
        if up.poll() is None:
            stop(up)


def test_four_eyes_from_the_command_line(database: str, tmp_path: Path) -> None:
    env = rpa_env(
        tmp_path / "home", RPA_DATABASE_URL=database, RPA_CHECKPOINTS__FOUR_EYES_EDITS="true"
    )
    store = CheckpointStore.connect(database)
    cid = store.open_checkpoint(
        case=decided_case(seeds.REMARKS),
        reasons=[],
        proposal=Proposal(action="register_move", summary="Register."),
        screenshot=None,
        process="change-of-address",
        deadline_hours=48,
    ).checkpoint_id
    edit = ["--edit", "move_date=2026-11-16"]
    proposed = rpa("checkpoints", "decide", cid, "--by", "Mette", *edit, env=env)
    assert proposed.returncode == 0, proposed.stderr
    assert "a second, different person confirms it" in proposed.stdout
    same = rpa("checkpoints", "confirm", cid, "--by", "Mette", env=env)
    assert same.returncode == 1
    assert "different person" in same.stderr
    shown = rpa("checkpoints", "show", cid, env=env).stdout
    assert "Edit proposed by Mette" in shown
    confirmed = rpa("checkpoints", "confirm", cid, "--by", "Jens", env=env)
    assert confirmed.returncode == 0, confirmed.stderr
    decision = store.decision_for(cid)
    assert decision is not None
    assert (decision.decided_by, decision.confirmed_by) == ("Mette", "Jens")
    late = rpa("checkpoints", "reject", cid, "--by", "Ole", env=env)
    assert late.returncode == 1
    store.close()
