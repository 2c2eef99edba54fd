"""The `rpa` command as a user runs it: real processes, real exit codes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from cli.stack import free_port
from tests import seeds

RPA = [sys.executable, "-m", "cli.main"]


def rpa_env(home: Path, **extra: str) -> dict[str, str]:
    """An environment with its own RPA_HOME and free ports, like a second machine."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RPA_", "PREFECT_"))}
    return (
        env
        | {
            "RPA_HOME": str(home),
            "RPA_PREFECT__PORT": str(free_port()),
            "RPA_SANDBOX__PORT": str(free_port()),
            "RPA_RETRY_DELAYS_S": "[0.5]",
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        }
        | extra
    )


def rpa(*args: str, env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run `rpa ARGS` to its end."""
    return subprocess.run(
        [*RPA, *args], env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def wait_for(url: str, timeout: float = 30) -> None:
    """Wait until a URL answers."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise AssertionError(f"{url} did not answer within {timeout} s")


def state(url: str) -> dict[str, Any]:
    """The sandbox's state API."""
    return httpx.get(f"{url}/api/state").json()  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["up"],
        ["demo"],
        ["run", "change-of-address"],
        ["sandbox", "serve"],
        ["sandbox", "sample"],
        ["slack"],
        ["channel"],
        ["processes"],
        ["db", "upgrade"],
        ["checkpoints", "list"],
        ["checkpoints", "show"],
        ["checkpoints", "decide"],
        ["checkpoints", "confirm"],
        ["checkpoints", "reject"],
        ["checkpoints", "retry"],
        ["journal"],
        ["report"],
    ],
)
def test_every_command_has_help(command: list[str], tmp_path: Path) -> None:
    result = rpa(*command, "--help", env=rpa_env(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "Usage" in result.stdout


def test_slack_without_settings_is_a_one_line_error(tmp_path: Path) -> None:
    result = rpa("slack", env=rpa_env(tmp_path))
    assert result.returncode == 1
    assert "set RPA_SLACK__BOT_TOKEN and RPA_SLACK__CHANNEL" in result.stderr
    socket = rpa(
        "slack",
        env=rpa_env(tmp_path, RPA_SLACK__BOT_TOKEN="xoxb-x", RPA_SLACK__CHANNEL="C1"),
    )
    assert socket.returncode == 1
    assert "RPA_SLACK__APP_TOKEN" in socket.stderr
    assert len(socket.stderr.strip().splitlines()) == 1


def test_an_unknown_chat_channel_is_a_one_line_error(tmp_path: Path) -> None:
    result = rpa("channel", "teams", env=rpa_env(tmp_path))
    assert result.returncode == 1
    assert result.stderr.strip() == ("error: no chat channel 'teams'; known: slack (RPA_CHANNELS)")
    same = rpa("channel", "slack", env=rpa_env(tmp_path))
    assert same.returncode == 1
    assert "set RPA_SLACK__BOT_TOKEN and RPA_SLACK__CHANNEL" in same.stderr


def test_a_seed_of_the_wrong_shape_is_refused_naming_the_field(tmp_path: Path) -> None:
    data = seeds.small_batch()
    del data["notifications"][2]["case_id"]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data))
    result = rpa("sandbox", "serve", "--seed", str(bad), env=rpa_env(tmp_path), timeout=30)
    assert result.returncode != 0
    assert "notifications[2].case_id" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_an_unreachable_case_system_is_a_one_line_error(tmp_path: Path) -> None:
    result = rpa(
        "run", "change-of-address", "--target", "http://127.0.0.1:9", env=rpa_env(tmp_path)
    )
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        "error: the case system does not answer at http://127.0.0.1:9: start it "
        "(`rpa sandbox serve`) or fix --target"
    ]


def test_a_missing_browser_is_a_one_line_error(tmp_path: Path) -> None:
    env = rpa_env(tmp_path, RPA_BROWSER__EXECUTABLE_PATH="/nonexistent/chromium")
    result = rpa("run", "change-of-address", "--target", "http://127.0.0.1:9", env=env)
    assert result.returncode != 0
    assert "Chromium not found at /nonexistent/chromium" in result.stderr
    assert "apt-get install" in result.stderr


def test_sample_writes_a_seed_the_sandbox_accepts(tmp_path: Path) -> None:
    out = tmp_path / "sample.json"
    assert (
        rpa(
            "sandbox", "sample", "--out", str(out), "--cases", "12", env=rpa_env(tmp_path)
        ).returncode
        == 0
    )
    assert len(json.loads(out.read_text())["notifications"]) == 12


@pytest.mark.e2e
def test_run_against_a_standalone_sandbox_starts_and_stops_its_own_prefect(
    tmp_path: Path, seed_file: Path
) -> None:
    env = rpa_env(tmp_path / "home")
    port = free_port()
    sandbox = subprocess.Popen(
        [*RPA, "sandbox", "serve", "--seed", str(seed_file), "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for(f"{url}/api/health")
        result = rpa(
            "run", "change-of-address", "--target", url, "--concurrency", "2", env=env, timeout=240
        )
        assert result.returncode == 0, result.stderr
        assert "7 cases: 3 registered by the robot, 4 set aside for a human" in result.stdout
        after = state(url)
    finally:
        sandbox.terminate()
        sandbox.wait(10)
    statuses = Counter(n["status"] for n in after["notifications"])
    assert statuses == {"registered": 3, "in_progress": 4}
    assert len(after["registrations"]) == 4
    prefect_port = int(env["RPA_PREFECT__PORT"])
    with pytest.raises(httpx.HTTPError):  # the run's own Prefect server is gone
        httpx.get(f"http://127.0.0.1:{prefect_port}/api/health", timeout=2)


@pytest.fixture
def rpa_up(
    tmp_path: Path, seed_file: Path
) -> Iterator[tuple[subprocess.Popen[str], dict[str, str]]]:
    """`rpa up --seed F` in the background, stopped with SIGTERM at the end."""
    env = rpa_env(tmp_path / "home")
    process = subprocess.Popen(
        [*RPA, "up", "--seed", str(seed_file)],
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        yield process, env
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)


@pytest.mark.e2e
def test_up_then_run_uses_the_running_stack_and_sigterm_stops_everything(
    rpa_up: tuple[subprocess.Popen[str], dict[str, str]],
) -> None:
    process, env = rpa_up
    sandbox_url = f"http://127.0.0.1:{env['RPA_SANDBOX__PORT']}"
    prefect_url = f"http://127.0.0.1:{env['RPA_PREFECT__PORT']}/api"
    stack_file = Path(env["RPA_HOME"]) / "stack.json"
    deadline = time.monotonic() + 120
    while not stack_file.exists():
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        assert time.monotonic() < deadline, "rpa up did not get ready"
        time.sleep(0.5)

    result = rpa("run", "change-of-address", env=env, timeout=240)
    assert result.returncode == 0, result.stderr
    assert "3 registered by the robot" in result.stdout
    after = state(sandbox_url)
    assert Counter(n["status"] for n in after["notifications"]) == {
        "registered": 3,
        "in_progress": 4,
    }

    process.send_signal(signal.SIGTERM)
    assert process.wait(60) == 0
    assert not stack_file.exists()
    for url in (f"{sandbox_url}/api/health", f"{prefect_url}/health"):
        with pytest.raises(httpx.HTTPError):
            httpx.get(url, timeout=2)


@pytest.mark.e2e
def test_demo_exits_when_idle_after_handling_the_sample(tmp_path: Path) -> None:
    result = rpa("demo", "--exit-when-idle", env=rpa_env(tmp_path / "home"), timeout=400)
    assert result.returncode == 0, result.stderr
    headline = next(line for line in result.stdout.splitlines() if " cases: " in line)
    registered = int(headline.split(" registered")[0].rsplit(" ", 1)[1])
    assert registered > 0
    assert "wait for a human" in result.stdout
