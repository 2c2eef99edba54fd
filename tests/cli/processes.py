"""Helpers for tests that start, kill and restart whole stacks as real processes."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
from pathlib import Path
from typing import Any

import httpx

from tests.cli.test_commands import RPA
from tests.conftest import wait_until


def _stat(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2 :].split()


def alive(pid: int) -> bool:
    """True while `pid` runs (a zombie waiting to be reaped counts as gone)."""
    stat = _stat(pid)
    return stat is not None and stat[0] != "Z"


def descendants(pid: int) -> dict[int, str]:
    """Every live process below `pid` (children, grandchildren, ...) with its command line."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (stat := _stat(int(entry.name))) is not None:
            parents[int(entry.name)] = int(stat[1])
    found: dict[int, str] = {}
    frontier = [pid]
    while frontier:
        parent = frontier.pop()
        for child, its_parent in parents.items():
            if its_parent == parent and child not in found and alive(child):
                try:
                    found[child] = Path(f"/proc/{child}/cmdline").read_text().replace("\0", " ")
                except OSError:
                    continue
                frontier.append(child)
    return found


def kill_tree(pid: int) -> list[int]:
    """SIGKILL `pid` and everything below it at once, as a machine losing them would."""
    victims = [pid, *descendants(pid)]
    for victim in victims:
        with contextlib.suppress(ProcessLookupError):
            os.kill(victim, signal.SIGKILL)
    return victims


def stack_file(env: dict[str, str]) -> dict[str, Any]:
    """RPA_HOME/stack.json of the environment's `rpa up` ({} when there is none)."""
    try:
        return json.loads((Path(env["RPA_HOME"]) / "stack.json").read_text())  # type: ignore[no-any-return]
    except (OSError, ValueError):
        return {}


def start_up(env: dict[str, str], seed: Path, log: Path, *extra: str) -> subprocess.Popen[bytes]:
    """`rpa up --seed F`, output to `log`, waited for until it has published its stack."""
    with log.open("ab") as out:
        process = subprocess.Popen(
            [*RPA, "up", "--seed", str(seed), *extra], env=env, stdout=out, stderr=out
        )

    def ready() -> bool:
        assert process.poll() is None, log.read_text()
        return stack_file(env).get("pid") == process.pid

    wait_until(ready, "rpa up to be ready", timeout=180)
    return process


def prefect_run(api_url: str, run_id: str) -> dict[str, Any]:
    """One flow run as the Prefect API shows it."""
    return httpx.get(f"{api_url}/flow_runs/{run_id}", timeout=10).json()  # type: ignore[no-any-return]


def prefect_runs(api_url: str, flow_name: str) -> list[dict[str, Any]]:
    """Every flow run of a flow, as the Prefect API shows them."""
    body = {"flows": {"name": {"any_": [flow_name]}}, "limit": 200}
    return httpx.post(f"{api_url}/flow_runs/filter", json=body, timeout=10).json()  # type: ignore[no-any-return]
