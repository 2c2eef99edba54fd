"""Scale-out on Prefect workers, as a region would run it, on one machine.

A Prefect server on PostgreSQL (a database of its own), the checkpoint store on
PostgreSQL, the sandbox as the case system, `rpa deploy` for a process work pool, and N
`prefect worker start` processes. One batch with `parts=N` is split across the workers;
the case system's session limit (RPA_TARGET__MAX_SESSIONS) holds across all of them.

Used by tests/scale/test_two_workers.py (what must hold) and benchmarks/scale_out.py
(the batch's wall time with one worker and with two).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from bench.processes import sandbox, stop, wait_until_answers
from cli.lifeline import die_with_parent
from cli.stack import free_port, prefect_env
from config.settings import Settings

POOL = "rpa-scale"
BATCH = "process-inbox/change-of-address"


def _dsn(base: str, database: str | None = None) -> str:
    from sqlalchemy.engine import make_url

    url = make_url(base).set(drivername="postgresql")
    if database:
        url = url.set(database=database)
    return url.render_as_string(hide_password=False)


@contextlib.contextmanager
def postgres_database(base_url: str, prefix: str) -> Iterator[str]:
    """A fresh database on the server of `base_url` (dropped after): its SQLAlchemy URL."""
    import psycopg
    from sqlalchemy.engine import make_url

    name = f"{prefix}_{secrets.token_hex(5)}"
    with psycopg.connect(_dsn(base_url), autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(base_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(_dsn(base_url), autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _start(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """A service of the region in its own process group, logging to `log`, gone with us."""
    with log.open("ab") as out:
        return subprocess.Popen(
            command,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=die_with_parent(signal.SIGTERM),
        )


@dataclass
class Region:
    """The running set-up: where everything answers, and the workers."""

    workdir: Path
    api_url: str
    sandbox_url: str
    store_url: str
    env: dict[str, str]
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def rpa(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """An `rpa` command against this region."""
        return subprocess.run(
            [sys.executable, "-m", "cli.main", *args],
            env=self.env,
            capture_output=True,
            text=True,
            check=check,
            timeout=600,
        )

    def start_workers(self, n: int, *, limit: int = 1) -> None:
        """`prefect worker start` n times, as n machines would (names worker-1, ...).

        `limit`: flow runs at once per worker (`--limit`). With 1, a batch split in two
        works its first share on one worker and its part run goes to the other.
        """
        for index in range(len(self.workers) + 1, len(self.workers) + n + 1):
            env = self.env | {
                # Each worker its own home, as on its own machine (traces, screenshots).
                "RPA_HOME": str(self.workdir / f"home-{index}"),
                "PREFECT_HOME": str(self.workdir / f"home-{index}" / "prefect"),
            }
            command = [sys.executable, "-m", "prefect", "worker", "start", "--pool", POOL]
            command += ["--type", "process", "--name", f"worker-{index}", "--limit", str(limit)]
            self.workers.append(_start(command, env, self.workdir / f"worker-{index}.log"))
        deadline = time.monotonic() + 60
        while self.online_workers() < len(self.workers):
            if time.monotonic() > deadline:
                raise RuntimeError(f"workers did not come online; see {self.workdir}/worker-*.log")
            time.sleep(0.5)

    def stop_workers(self) -> None:
        for worker in self.workers:
            stop(worker)
        self.workers.clear()

    def online_workers(self) -> int:
        answer = self.api("POST", f"/work_pools/{POOL}/workers/filter", json={})
        return sum(1 for w in answer if w.get("status") == "ONLINE")

    def api(self, method: str, path: str, **kwargs: Any) -> Any:
        answer = httpx.request(
            method, f"{self.api_url}{path}", timeout=30.0, trust_env=False, **kwargs
        )
        answer.raise_for_status()
        return answer.json() if answer.content else None

    def run_batch(self, parameters: dict[str, Any], timeout_s: float = 600) -> dict[str, Any]:
        """One batch run from its deployment, waited for: the run, and its wall time."""
        deployment = self.api("GET", f"/deployments/name/{BATCH}")
        started = time.monotonic()
        run = self.api(
            "POST",
            f"/deployments/{deployment['id']}/create_flow_run",
            json={"parameters": parameters, "state": {"type": "SCHEDULED"}},
        )
        while True:
            run = self.api("GET", f"/flow_runs/{run['id']}")
            if run["state"]["type"] in ("COMPLETED", "FAILED", "CRASHED", "CANCELLED"):
                return dict(run) | {"wall_s": time.monotonic() - started}
            if time.monotonic() - started > timeout_s:
                raise TimeoutError(f"batch run {run['name']} still {run['state']['type']}")
            time.sleep(0.5)

    def child_runs(self, parent_id: str) -> list[dict[str, Any]]:
        """The part runs a batch started (its subflow runs)."""
        tasks = self.api(
            "POST", "/task_runs/filter", json={"task_runs": {"flow_run_id": {"any_": [parent_id]}}}
        )
        ids = [t["id"] for t in tasks]
        if not ids:
            return []
        return list(
            self.api(
                "POST",
                "/flow_runs/filter",
                json={"flow_runs": {"parent_task_run_id": {"any_": ids}}},
            )
        )

    def worker_of(self, since: datetime) -> dict[str, str]:
        """Flow run id -> the name of the worker that submitted it (Prefect's own events)."""
        found: dict[str, str] = {}
        body: dict[str, Any] = {
            "filter": {
                "event": {"name": ["prefect.worker.submitted-flow-run"]},
                "occurred": {"since": since.isoformat()},
            },
            "limit": 50,
        }
        page = self.api("POST", "/events/filter", json=body)
        while True:
            for event in page["events"]:
                worker = event["resource"]["prefect.resource.id"].rsplit(".", 1)[-1]
                for related in event.get("related", []):
                    rid = related["prefect.resource.id"]
                    if rid.startswith("prefect.flow-run."):
                        found[rid.removeprefix("prefect.flow-run.")] = worker
            if not page.get("next_page"):
                return found
            page = httpx.get(page["next_page"], timeout=30.0, trust_env=False).json()

    def sessions(self) -> dict[str, int]:
        """The sandbox's session counts: live now, peak since it started."""
        answer = httpx.get(f"{self.sandbox_url}/api/sessions", timeout=10.0, trust_env=False)
        answer.raise_for_status()
        return dict(answer.json())

    def state(self) -> dict[str, Any]:
        answer = httpx.get(f"{self.sandbox_url}/api/state", timeout=30.0, trust_env=False)
        answer.raise_for_status()
        return dict(answer.json())


@contextlib.contextmanager
def region(
    workdir: Path, seed: dict[str, Any], postgres_url: str, *, max_sessions: int
) -> Iterator[Region]:
    """Everything but the workers, started, deployed, and stopped again after."""
    workdir.mkdir(parents=True, exist_ok=True)
    seed_file = workdir / "seed.json"
    seed_file.write_text(json.dumps(seed, ensure_ascii=False))
    with (
        postgres_database(postgres_url, "rpa_prefect") as prefect_db,
        postgres_database(postgres_url, "rpa_store") as store_db,
        sandbox(seed_file, workdir) as box,
    ):
        from sqlalchemy.engine import make_url

        store_url = make_url(store_db).set(drivername="postgresql+psycopg")
        store = store_url.render_as_string(hide_password=False)
        prefect_url = make_url(prefect_db).set(drivername="postgresql+asyncpg")
        settings = Settings(home=workdir / "home-0", database_url=store)
        port = free_port()
        api_url = f"http://127.0.0.1:{port}/api"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("RPA_", "PREFECT_"))}
        env |= prefect_env(settings, api_url) | {
            "RPA_TARGET__URL": box.url,
            "RPA_TARGET__MAX_SESSIONS": str(max_sessions),
            # Workers look for runs every second (default 10 s): a decision is carried out
            # while the person still looks at it.
            "PREFECT_WORKER_QUERY_SECONDS": "1",
            "PREFECT_WORKER_PREFETCH_SECONDS": "1",
        }
        server_env = env | {
            "PREFECT_API_DATABASE_CONNECTION_URL": prefect_url.render_as_string(hide_password=False)
        }
        server_env.pop("PREFECT_API_URL")
        command = [sys.executable, "-m", "prefect", "server", "start"]
        command += ["--host", "127.0.0.1", "--port", str(port)]
        server = _start(command, server_env, workdir / "prefect-server.log")
        up = Region(workdir, api_url, box.url, store, env)
        try:
            wait_until_answers(f"{api_url}/health", server, 180.0)
            deployed = up.rpa("deploy", "--pool", POOL, check=False)
            if deployed.returncode != 0:
                raise RuntimeError(f"rpa deploy failed: {deployed.stderr[-2000:]}")
            yield up
        finally:
            up.stop_workers()
            stop(server)


def when() -> datetime:
    """Now, for event queries."""
    return datetime.now(UTC)
