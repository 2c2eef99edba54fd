"""The processes a benchmark starts itself: a fresh sandbox per workload, the counting proxy.

Each is a child tied to this process's life (cli/lifeline.py: it gets SIGKILL when we
die, and its watchdog stops it when we are gone), and is stopped when its block ends,
also on Ctrl-C or an error.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from cli.lifeline import child_env, die_with_parent
from cli.stack import free_port


@dataclass(frozen=True)
class Started:
    """A started process and the URL it serves."""

    url: str
    process: subprocess.Popen[bytes]

    @property
    def pid(self) -> int:
        """Its pid."""
        return self.process.pid


def _spawn(command: list[str], log: Path) -> subprocess.Popen[bytes]:
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        return subprocess.Popen(
            command,
            env=os.environ | child_env(),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # our Ctrl-C is handled by us, then passed on
            preexec_fn=die_with_parent(signal.SIGKILL),
        )


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM its process group, then SIGKILL after 10 s."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)
    with contextlib.suppress(OSError):
        os.killpg(process.pid, signal.SIGKILL)  # anything it left in its group


def wait_until_answers(url: str, process: subprocess.Popen[bytes], timeout_s: float) -> None:
    """Wait until `url` answers 200; RuntimeError when the process exits or time runs out."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url} never answered: the process exited ({process.returncode})")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=2.0, trust_env=False).status_code == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout_s:.0f} s")


@contextlib.contextmanager
def sandbox(seed_file: Path, logs: Path) -> Iterator[Started]:
    """A fresh sandbox seeded from the file, as its own process, on a free port."""
    port = free_port()
    command = [sys.executable, "-m", "cli.main", "sandbox", "serve"]
    command += ["--seed", str(seed_file), "--port", str(port)]
    process = _spawn(command, logs / "sandbox.log")
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until_answers(f"{url}/api/health", process, 300.0)
        yield Started(url, process)
    finally:
        stop(process)


@contextlib.contextmanager
def counting_proxy(upstream_port: int, logs: Path) -> Iterator[Started]:
    """The request-counting proxy (bench/proxy.py) in front of a local server."""
    port = free_port()
    command = [sys.executable, "-m", "bench.proxy", str(port), str(upstream_port)]
    process = _spawn(command, logs / "proxy.log")
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until_answers(f"{url}/__bench/count", process, 30.0)
        yield Started(url, process)
    finally:
        stop(process)


def proxy_count(proxy_url: str) -> dict[str, object]:
    """The proxy's counts: requests, websocket upgrades, requests by path."""
    answer = httpx.get(f"{proxy_url}/__bench/count", timeout=10.0, trust_env=False)
    answer.raise_for_status()
    counted: dict[str, object] = answer.json()
    return counted


def registered_in(sandbox_url: str) -> dict[str, int]:
    """How many notifications the sandbox has in each status (its /api/state)."""
    answer = httpx.get(f"{sandbox_url}/api/state", timeout=60.0, trust_env=False)
    answer.raise_for_status()
    counts: dict[str, int] = {}
    for notification in answer.json()["notifications"]:
        status = str(notification["status"])
        counts[status] = counts.get(status, 0) + 1
    return counts
