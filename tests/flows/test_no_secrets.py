"""No secret and no full CPR number where operations staff and Prefect keep things.

A real batch with tracing on, through the served deployments in their own process (as
`rpa up` runs them), on a real Prefect server, against the sandbox with an injected
fault, so a trace is kept; one checkpoint decided and carried out. Then every file under
both RPA_HOMEs and both PREFECT_HOMEs (SQLite databases as bytes, trace zips also
opened) and, through the Prefect API, every flow run, task run, state, artifact and log
line of those runs is searched for the robot's password, the Slack secrets set in the
environment, and every CPR number of the seed in both forms.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import zipfile
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus
from uuid import UUID

import httpx
import pytest
from pydantic import SecretStr

from checkpoints.service import DecisionService
from checkpoints.store.repository import CheckpointStore
from cli.runs import run_batch
from cli.stack import Stack
from config.settings import Settings, get_settings
from flows.resume import resumer
from sandbox import SandboxServer, parse_seed
from tests import seeds
from tests.conftest import sandbox_settings, wait_until

pytestmark = pytest.mark.e2e

PASSWORD = "Hemmelig!Kode#2026"
# Fake Slack secrets, in the environment only: without RPA_SLACK__CHANNEL Slack stays off.
SLACK_SECRETS = {
    "RPA_SLACK__BOT_TOKEN": "xoxb-test-1111-2222-notarealtokenatall",
    "RPA_SLACK__APP_TOKEN": "xapp-test-1-A111-3333-notarealapptoken",
    "RPA_SLACK__SIGNING_SECRET": "test-signing-secret-5f0e2c9d7a",
}
FAILING = seeds.ROUTINE[0]


def _seed_cprs() -> list[str]:
    """Every CPR number in the seed, as ten digits."""
    text = json.dumps(seeds.small_batch())
    return sorted({a + b for a, b in re.findall(r"(?<!\d)(\d{6})-?(\d{4})(?!\d)", text)})


CPRS = _seed_cprs()
SECRETS = {
    "password": PASSWORD.encode(),
    "password (form-encoded)": quote_plus(PASSWORD).encode(),
    **{name: value.encode() for name, value in SLACK_SECRETS.items()},
}
CPR_FORMS = {f"CPR {form}": form.encode() for cpr in CPRS for form in (cpr, f"{cpr[:6]}-{cpr[6:]}")}


@dataclass
class Runner:
    """The served deployments' process: its RPA_HOME (PREFECT_HOME inside) and store."""

    home: Path
    store_url: str
    store_files: tuple[Path, ...]


@pytest.fixture(scope="module")
def runner(prefect_api_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runner]:
    """The deployments served with tracing on, the test's password and Slack secrets set."""
    home = tmp_path_factory.mktemp("runner-home")
    store_db = home / "store.db"
    url = f"sqlite:///{store_db}"
    with ExitStack() as stack, pytest.MonkeyPatch.context() as env:
        env.setenv("RPA_DATABASE_URL", url)
        env.setenv("RPA_RETRY_DELAYS_S", "[0.2, 0.2]")
        env.setenv("RPA_BROWSER__TIMEOUT_MS", "10000")
        env.setenv("RPA_BROWSER__TRACE", "true")
        env.setenv("RPA_TARGET__PASSWORD", PASSWORD)
        for name, value in SLACK_SECRETS.items():
            env.setenv(name, value)
        env.delenv("RPA_SLACK__CHANNEL", raising=False)
        get_settings.cache_clear()
        assert not get_settings().slack.enabled  # the secrets are set, Slack is not on
        served = stack.enter_context(Stack(Settings(home=home, database_url=url)))
        served.prefect_api_url = prefect_api_url
        served.start_runner(None)
        # The store's database and SQLite's side files next to it.
        files = tuple(store_db.with_name(store_db.name + s) for s in ("", "-wal", "-journal"))
        yield Runner(home, url, files)
    get_settings.cache_clear()


@dataclass
class Findings:
    """What was searched, and every place a secret or CPR number was found."""

    counts: dict[str, int] = field(default_factory=dict)
    found: list[str] = field(default_factory=list)

    def search(self, where: str, data: bytes, needles: dict[str, bytes]) -> None:
        """Note every needle in `data`, also inside the base64 it holds (pickled results)."""
        readings = [data, *_base64_decoded(data)]
        self.found += [
            f"{what} in {where}"
            for what, needle in needles.items()
            if any(needle in reading for reading in readings)
        ]

    def count(self, kind: str, n: int = 1) -> None:
        """Count one more thing searched."""
        self.counts[kind] = self.counts.get(kind, 0) + n


def _base64_decoded(data: bytes) -> list[bytes]:
    """Every base64 run in data, decoded: Prefect keeps results as base64 of a pickle."""
    joined = data.replace(b"\\n", b"").replace(b"\n", b"")
    decoded = []
    for run in re.findall(rb"[A-Za-z0-9+/]{24,}={0,2}", joined):
        whole = run if run.endswith(b"=") else run[: len(run) - len(run) % 4]
        try:
            decoded.append(base64.b64decode(whole))
        except binascii.Error:
            continue
    return decoded


def search_files(findings: Findings, root: Path, *, cpr_exempt: tuple[Path, ...]) -> None:
    """Every file under root as bytes; trace zips also file by file."""
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        data = path.read_bytes()
        findings.count("files")
        findings.count("bytes", len(data))
        findings.search(str(path), data, SECRETS)
        # The store may hold full CPR numbers in its case data only (the case as read,
        # which the caseworker deciding needs); its database is searched for secrets only.
        if path not in cpr_exempt:
            findings.search(str(path), data, CPR_FORMS)
        if path.name.endswith(".trace.zip"):
            search_trace(findings, path)


def search_trace(findings: Findings, path: Path) -> None:
    """Every file inside a kept Playwright trace, for secrets.

    Not for CPR numbers: a kept trace is the failed case's evidence for the operator, as
    its screenshot is, and shows the case's own pages with their CPR numbers. It stays in
    RPA_HOME/artifacts and never reaches Prefect.
    """
    with zipfile.ZipFile(path) as zipped:
        for name in zipped.namelist():
            findings.count("trace files")
            findings.search(f"{path}:{name}", zipped.read(name), SECRETS)


def search_prefect(findings: Findings, flow_run_ids: list[UUID]) -> None:
    """The runs, their tasks, states, artifacts and logs, as the Prefect API serves them."""
    from prefect import get_client
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterId,
        LogFilter,
        LogFilterFlowRunId,
    )

    needles = SECRETS | CPR_FORMS
    runs = FlowRunFilter(id=FlowRunFilterId(any_=flow_run_ids))
    with get_client(sync_client=True) as client:
        for flow_run in client.read_flow_runs(flow_run_filter=runs):
            findings.count("flow runs")
            findings.search(
                f"flow run {flow_run.name}", flow_run.model_dump_json().encode(), needles
            )
            findings.search(
                f"parameters of {flow_run.name}", json.dumps(flow_run.parameters).encode(), needles
            )
            for state in client.read_flow_run_states(flow_run.id):
                findings.count("flow run states")
                findings.search(
                    f"a state of {flow_run.name}", state.model_dump_json().encode(), needles
                )
        for task_run in client.read_task_runs(flow_run_filter=runs):
            findings.count("task runs")
            findings.search(
                f"task run {task_run.name}", task_run.model_dump_json().encode(), needles
            )
        for artifact in client.read_artifacts(flow_run_filter=runs):
            findings.count("artifacts")
            findings.search(
                f"artifact {artifact.key}", artifact.model_dump_json().encode(), needles
            )
        offset = 0
        while logs := client.read_logs(
            log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=flow_run_ids)),
            limit=200,
            offset=offset,
        ):
            offset += len(logs)
            for log in logs:
                findings.count("log lines")
                findings.search(f"log line {log.message[:80]!r}", log.message.encode(), needles)


def prefect_server_home(tmp_root: Path, flow_run_id: UUID) -> Path:
    """The home of the session's Prefect server: the one whose database holds this run."""
    needle = str(flow_run_id).encode()
    for db in tmp_root.glob("rpa-home*/prefect/prefect.db*"):
        if needle in db.read_bytes() or needle.replace(b"-", b"") in db.read_bytes():
            return db.parent.parent
    raise AssertionError(f"no Prefect server database under {tmp_root} knows run {flow_run_id}")


def test_no_password_token_or_full_cpr_in_prefect_or_rpa_home(
    runner: Runner,
    prefect_api_url: str,
    tmp_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RPA_HOME", str(tmp_path / "rpa-home"))
    monkeypatch.setenv("RPA_DATABASE_URL", runner.store_url)
    get_settings.cache_clear()
    settings = sandbox_settings(password=SecretStr(PASSWORD))
    with SandboxServer(parse_seed(seeds.small_batch()), settings) as sandbox:
        faults = [
            # The session ends when the robot opens the case: it logs in again mid-case,
            # inside the case's trace.
            {"path_prefix": f"/sager/{FAILING}", "kind": "expire_session", "times": 1},
            # Closing the case fails on every attempt: the case fails, its trace is kept.
            {
                "path_prefix": f"/sager/{FAILING}/afslut",
                "method": "POST",
                "status": 503,
                "times": 3,
            },
        ]
        for fault in faults:
            httpx.post(f"{sandbox.url}/api/test/faults", json=fault).raise_for_status()

        batch_run_id, summary = run_batch({"target_url": sandbox.url, "concurrency": 2})

        results = {o.case_id: o.result for o in summary.outcomes}
        assert results[FAILING] == "failed"
        assert {c for c, r in results.items() if r == "registered"} == set(seeds.ROUTINE[1:])
        assert {c for c, r in results.items() if r == "set_aside"} == set(seeds.EXPECTED_REASONS)
        registered = [m for o in summary.outcomes for m in o.registrations]
        assert registered
        assert all(re.fullmatch(r"\d{6}-XXXX", m.cpr_masked) for m in registered)
        trace = runner.home / "artifacts" / f"{FAILING}.trace.zip"
        with zipfile.ZipFile(trace) as zipped:
            names = zipped.namelist()
            pages = b"".join(zipped.read(n) for n in names if n.endswith(".trace"))
        assert f"/sager/{FAILING}".encode() in pages  # the trace recorded the case
        # Two recordings merged: the robot logged in again inside the case's trace.
        assert len([n for n in names if n.endswith(".trace")]) >= 2

        store = CheckpointStore.connect(runner.store_url)
        try:
            by_case = {c.case_id: c for c in store.all()}
            # The set-aside cases (and, where failed cases go to a person, the failed one).
            assert set(seeds.EXPECTED_REASONS) <= set(by_case) <= {*seeds.EXPECTED_REASONS, FAILING}
            decided = by_case[seeds.REMARKS]
            for checkpoint in by_case.values():
                wait_until(
                    lambda c=checkpoint: (
                        (s := _run_state(c.flow_run_id)) is not None and s.is_paused()
                    ),
                    f"the run of {checkpoint.checkpoint_id} to suspend",
                )
            service = DecisionService(store, resumer=resumer(store, wait_s=20))
            outcome = service.decide(
                decided.checkpoint_id, kind="approve", decided_by="Jens Hansen", channel="cli"
            )
            assert outcome.resume.resumed
            wait_until(
                lambda: store.get(decided.checkpoint_id).status == "applied", "the robot to finish"
            )
            wait_until(
                lambda: (s := _run_state(decided.flow_run_id)) is not None and s.is_completed(),
                "the decided run to complete",
            )
            run_ids = [batch_run_id] + [
                UUID(c.flow_run_id) for c in by_case.values() if c.flow_run_id
            ]
        finally:
            store.close()

    findings = Findings()
    findings.search("the batch summary", summary.model_dump_json().encode(), SECRETS | CPR_FORMS)
    search_prefect(findings, run_ids)
    server_home = prefect_server_home(tmp_path_factory.getbasetemp(), batch_run_id)
    for root in (runner.home, server_home, tmp_path / "rpa-home"):
        if root.exists():
            search_files(findings, root, cpr_exempt=runner.store_files)

    print(
        f"Searched for {len(SECRETS)} secrets and {len(CPRS)} CPR numbers "
        f"({len(CPR_FORMS)} forms): "
        + ", ".join(f"{n} {kind}" for kind, n in findings.counts.items())
        + f"; under {runner.home} and {server_home}"
    )
    for kind in ("files", "trace files", "flow runs", "task runs", "artifacts", "log lines"):
        assert findings.counts.get(kind, 0) > 0, f"searched no {kind}"
    assert (runner.home / "prefect" / "storage").is_dir()  # persisted results were searched
    assert findings.found == [], "found:\n" + "\n".join(findings.found)


def _run_state(flow_run_id: str | None) -> Any:
    """The current state of a flow run (None before it has one)."""
    from prefect import get_client

    if flow_run_id is None:
        return None
    with get_client(sync_client=True) as client:
        return client.read_flow_run(UUID(flow_run_id)).state
