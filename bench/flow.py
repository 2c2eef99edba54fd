"""`flow`: process_inbox through Prefect, as benchmarks/batch_throughput.py runs it.

The flow runs in this process against the local Prefect server (its browser is this
process's child). The latencies are the outcomes' `robot_seconds`; progress comes from
the sandbox's own state (every few seconds), since the flow reports to Prefect only.
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter

import httpx

from bench.common import Progress, Work

_RESULTS = ("registered", "done", "set_aside", "failed", "skipped")


class SandboxProgress:
    """Counts the closed and in-progress cases in the sandbox while a flow works."""

    def __init__(self, sandbox_url: str, progress: Progress, every_s: float) -> None:
        self.sandbox_url = sandbox_url
        self.progress = progress
        self.every_s = every_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="bench-progress", daemon=True)

    def __enter__(self) -> SandboxProgress:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _loop(self) -> None:
        # One client for the whole run: a new one per look builds a TLS context each time,
        # tenths of a CPU second that the flow's figures would carry.
        with httpx.Client(timeout=30.0, trust_env=False) as client:
            while not self._stop.wait(self.every_s):
                self._look(client)

    def _look(self, client: httpx.Client) -> None:
        try:
            state = client.get(f"{self.sandbox_url}/api/state").json()
        except (httpx.HTTPError, ValueError):
            return
        done = sum(1 for n in state["notifications"] if n["status"] != "open")
        if done > self.progress.done:
            self.progress.advance(done - self.progress.done)


def flow_work(sandbox_url: str, lanes: int, progress: Progress) -> Work:
    """One process_inbox run over the sandbox's open cases."""
    from flows.change_of_address import process_inbox  # Prefect: only once its env is set

    every_s = max(3.0, progress.total / 500)
    with SandboxProgress(sandbox_url, progress, every_s):
        summary = asyncio.run(process_inbox(target_url=sandbox_url, concurrency=lanes))
    from prefect.logging.handlers import APILogHandler

    APILogHandler().flush()  # the run's last logs, while the server still listens
    progress.advance(max(0, summary.total - progress.done))  # the cases since the last look
    work = Work(
        latencies_s=[o.robot_seconds for o in summary.outcomes if o.robot_seconds],
        results=Counter({r: summary.count(r) for r in _RESULTS if summary.count(r)}),
    )
    work.extra["flow_wall_s"] = round(summary.wall_seconds, 2)
    work.errors = [f"{o.case_id}: {o.error}"[:300] for o in summary.outcomes if o.error][:5]
    return work
