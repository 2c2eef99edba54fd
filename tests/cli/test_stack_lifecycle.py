"""One stack per RPA_HOME, and every process of a stack dies with it: real `rpa` processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

import httpx
import pytest

from cli.stack import free_port
from tests import seeds
from tests.cli.processes import (
    alive,
    descendants,
    prefect_runs,
    stack_file,
    start_up,
)
from tests.cli.test_commands import RPA, rpa, rpa_env, state
from tests.conftest import wait_until

pytestmark = pytest.mark.e2e


def slow_case_system(env: dict[str, str], prefix: str, delay_ms: int) -> None:
    """Every request to the sandbox under `prefix` waits `delay_ms` (test hook)."""
    url = stack_file(env)["sandbox_url"]
    fault = {"path_prefix": prefix, "delay_ms": delay_ms, "times": 100_000}
    response = httpx.post(f"{url}/api/test/faults", json=fault, timeout=10)
    assert response.status_code < 300, response.text


def test_sigkill_of_up_leaves_nothing_running_and_the_next_up_takes_over(
    tmp_path: Path, seed_file: Path
) -> None:
    env = rpa_env(
        tmp_path / "home", RPA_SANDBOX__TEST_HOOKS="true", RPA_BROWSER__TIMEOUT_MS="120000"
    )
    log = tmp_path / "up.log"
    up = start_up(env, seed_file, log)
    batch = None
    try:
        first = stack_file(env)
        slow_case_system(env, "/", 1500)  # the batch is still at work when we kill
        batch = subprocess.Popen(
            [*RPA, "run", "change-of-address"], env=env, text=True, stderr=subprocess.PIPE
        )

        def at_work() -> dict[int, str]:
            tree = descendants(up.pid)
            engines = [c for c in tree.values() if "prefect.engine" in c]
            browsers = [c for c in tree.values() if "chrom" in c]
            return tree if engines and browsers else {}

        tree = wait_until(at_work, "a batch run with its browser under rpa up", timeout=120)
        assert set(first["children"].values()) <= set(tree)

        up.kill()  # SIGKILL: no handler runs, no cleanup code of ours
        up.wait(10)
        wait_until(
            lambda: not [pid for pid in tree if alive(pid)],
            f"every process of the killed rpa up to stop: {tree}",
            timeout=30,
        )
        # The batch's client does not wait for ever for a batch nobody runs.
        assert batch.wait(60) == 1
        assert batch.stderr is not None
        lines = batch.stderr.read().strip().splitlines()
        assert "was left unfinished" in lines[-1]
        assert f"(pid {first['pid']})" in lines[-1]

        # The next `rpa up` takes over the home, on the same addresses, and says what
        # the killed one left: the batch it ran shows Running for ever, so it is crashed.
        up = start_up(env, seed_file, log)
        second = stack_file(env)
        assert second["pid"] == up.pid
        assert (second["sandbox_url"], second["prefect_api_url"]) == (
            first["sandbox_url"],
            first["prefect_api_url"],
        )
        said = log.read_text()
        assert f"from an `rpa up` (pid {first['pid']}" in said
        assert "recovered: batch run" in said
        assert "in a stopped runner: crashed" in said
        batches = prefect_runs(second["prefect_api_url"], "process-inbox")
        assert [b["state"]["type"] for b in batches] == ["CRASHED"]
    finally:
        if batch is not None and batch.poll() is None:
            batch.kill()
        if up.poll() is None:
            up.send_signal(signal.SIGTERM)
            up.wait(60)


def test_one_up_per_home_and_sighup_stops_it_with_every_child(
    tmp_path: Path, seed_file: Path
) -> None:
    env = rpa_env(tmp_path / "home")
    up = start_up(env, seed_file, tmp_path / "up.log")
    try:
        info = stack_file(env)
        children = info["children"]
        assert set(children) == {"sandbox", "prefect-server", "runner"}

        second = rpa("up", env=env | {"RPA_SANDBOX__PORT": "0"}, timeout=60)
        assert second.returncode == 1
        assert second.stderr.strip().splitlines() == [
            f"error: an `rpa up` (pid {up.pid}, running since "
            + second.stderr.split("running since ")[1].split(")")[0]
            + f") already runs with RPA_HOME={env['RPA_HOME']}: stop it (Ctrl-C, or "
            f"`kill {up.pid}`) or use another RPA_HOME"
        ]
        assert stack_file(env)["pid"] == up.pid  # the first one runs on, untouched
        assert all(alive(pid) for pid in children.values())
        assert state(info["sandbox_url"])["notifications"]

        up.send_signal(signal.SIGHUP)  # the terminal it ran in was closed
        assert up.wait(60) == 0
        wait_until(
            lambda: not [pid for pid in children.values() if alive(pid)],
            "every child of rpa up to stop after SIGHUP",
            timeout=30,
        )
        assert stack_file(env) == {}
        lock = json.loads((Path(env["RPA_HOME"]) / "rpa.lock").read_text())
        assert lock["state"] == "stopped"
    finally:
        if up.poll() is None:
            up.kill()
            up.wait(10)


def test_up_starts_a_dead_runner_again_and_run_never_waits_for_ever(
    tmp_path: Path, seed_file: Path
) -> None:
    env = rpa_env(tmp_path / "home", RPA_PREFECT__PICKUP_TIMEOUT_S="5")
    log = tmp_path / "up.log"
    up = start_up(env, seed_file, log)
    try:
        info = stack_file(env)
        runner = info["children"]["runner"]

        # A runner that does not take runs: the batch is cancelled, not left to run later.
        os.kill(runner, signal.SIGSTOP)
        try:
            waited = rpa("run", "change-of-address", env=env, timeout=120)
        finally:
            os.kill(runner, signal.SIGCONT)
        assert waited.returncode == 1
        assert waited.stderr.strip().splitlines()[-1].startswith("error: batch run ")
        assert "was not started by a runner within 5 s, so it is cancelled" in waited.stderr
        batches = prefect_runs(info["prefect_api_url"], "process-inbox")
        assert [b["state"]["type"] for b in batches] == ["CANCELLED"]

        # A runner that died: `rpa up` says so and starts it again.
        os.kill(runner, signal.SIGKILL)
        wait_until(
            lambda: stack_file(env).get("children", {}).get("runner") not in (runner, None),
            "rpa up to start a new runner",
            timeout=120,
        )
        said = log.read_text()
        assert "The runner was killed by SIGKILL" in said
        assert "The runner runs again." in said
        done = rpa("run", "change-of-address", env=env, timeout=300)
        assert done.returncode == 0, done.stderr
        assert "3 registered by the robot" in done.stdout
    finally:
        if up.poll() is None:
            up.send_signal(signal.SIGTERM)
            up.wait(60)


def test_run_waits_for_a_starting_up_instead_of_starting_a_second_server(
    tmp_path: Path, seed_file: Path
) -> None:
    env = rpa_env(tmp_path / "home")
    log = tmp_path / "up.log"
    with log.open("ab") as out:
        up = subprocess.Popen(
            [*RPA, "up", "--seed", str(seed_file)], env=env, stdout=out, stderr=out
        )
    lock = Path(env["RPA_HOME"]) / "rpa.lock"
    try:

        def starting() -> bool:
            assert up.poll() is None, log.read_text()
            try:
                return json.loads(lock.read_text())["state"] == "starting"
            except (OSError, ValueError, KeyError):
                return False

        wait_until(starting, "rpa up to hold the home and be starting", timeout=60)
        result = rpa("run", "change-of-address", env=env, timeout=400)
        assert result.returncode == 0, result.stderr + log.read_text()
        assert f"Waiting for an `rpa up` (pid {up.pid}, starting" in result.stderr
        assert "Starting a local Prefect server" not in result.stderr
        assert "3 registered by the robot" in result.stdout
        assert "exited" not in log.read_text()  # `rpa up` started cleanly and runs on
        assert stack_file(env)["pid"] == up.pid
    finally:
        if up.poll() is None:
            up.send_signal(signal.SIGTERM)
            up.wait(60)


def test_after_a_restart_on_another_port_decisions_go_to_the_live_sandbox(
    tmp_path: Path, seed_file: Path
) -> None:
    env = rpa_env(tmp_path / "home")
    log = tmp_path / "up.log"
    up = start_up(env, seed_file, log)
    orphan = None
    try:
        old_url = stack_file(env)["sandbox_url"]
        assert rpa("run", "change-of-address", env=env, timeout=300).returncode == 0
        listed = json.loads(rpa("checkpoints", "list", "--json", env=env).stdout)
        by_case = {c["case_id"]: c["checkpoint_id"] for c in listed}
        up.send_signal(signal.SIGTERM)
        assert up.wait(60) == 0

        # What a killed stack used to leave behind: its sandbox, still answering at the
        # address the checkpoints were stored with.
        copy = tmp_path / "orphan-state.jsonl"
        copy.write_bytes((Path(env["RPA_HOME"]) / "sandbox-state.jsonl").read_bytes())
        port = old_url.rsplit(":", 1)[1]
        serve = ["sandbox", "serve", "--seed", str(seed_file), "--port", port]
        orphan = subprocess.Popen(
            [*RPA, *serve, "--state", str(copy)],
            env=rpa_env(tmp_path / "orphan-home"),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until(lambda: _answers(old_url), "the orphaned sandbox to answer", timeout=60)
        before = state(old_url)

        up = start_up(env, seed_file, log)  # its port is taken: the sandbox gets another
        live_url = stack_file(env)["sandbox_url"]
        assert live_url != old_url
        assert old_url in stack_file(env)["earlier_sandbox_urls"]
        decided = rpa(
            "checkpoints", "decide", by_case[seeds.REMARKS], "--by", "Jens", "--approve", env=env
        )
        assert decided.returncode == 0, decided.stderr
        wait_until(
            lambda: _status(live_url, seeds.REMARKS) == "registered",
            "the robot to register the case in the live sandbox",
            timeout=180,
        )
        assert state(old_url) == before  # the orphan was never touched
    finally:
        if orphan is not None:
            orphan.terminate()
            orphan.wait(10)
        if up.poll() is None:
            up.send_signal(signal.SIGTERM)
            up.wait(60)


def _answers(url: str) -> bool:
    try:
        return httpx.get(f"{url}/api/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _status(url: str, case_id: str) -> str:
    return {n["case_id"]: n["status"] for n in state(url)["notifications"]}[case_id]


def test_a_killed_standalone_run_leaves_no_batch_going_on(tmp_path: Path, seed_file: Path) -> None:
    port = str(free_port())
    url = f"http://127.0.0.1:{port}"
    sandbox = subprocess.Popen(
        [*RPA, "sandbox", "serve", "--seed", str(seed_file), "--port", port],
        env=rpa_env(tmp_path / "sandbox-home", RPA_SANDBOX__TEST_HOOKS="true"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    run = None
    try:
        wait_until(lambda: _answers(url), "the sandbox to answer", timeout=60)
        fault = {"path_prefix": "/", "delay_ms": 1500, "times": 100_000}
        httpx.post(f"{url}/api/test/faults", json=fault, timeout=10).raise_for_status()
        env = rpa_env(tmp_path / "home", RPA_BROWSER__TIMEOUT_MS="120000")
        run = subprocess.Popen(
            [*RPA, "run", "change-of-address", "--target", url],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        started = run

        def at_work() -> dict[int, str]:
            tree = descendants(started.pid)
            busy = any("prefect.engine" in c for c in tree.values())
            return tree if busy and any("chrom" in c for c in tree.values()) else {}

        tree = wait_until(at_work, "the run's batch and browser at work", timeout=180)
        run.kill()
        run.wait(10)
        wait_until(
            lambda: not [pid for pid in tree if alive(pid)],
            f"every process of the killed rpa run to stop: {tree}",
            timeout=30,
        )
    finally:
        if run is not None and run.poll() is None:
            run.kill()
        sandbox.terminate()
        sandbox.wait(10)
