"""Two batches at once against one case system: each case is worked by one of them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from checkpoints.store.repository import CheckpointStore
from sandbox import SandboxServer, parse_seed
from sandbox.sample import generate_sample
from tests.conftest import sandbox_settings

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    """A sandbox with a generated batch of 16 cases."""
    with SandboxServer(parse_seed(generate_sample(16, seed=8)), sandbox_settings()) as server:
        yield server


def start_batch(env: dict[str, str], url: str) -> subprocess.Popen[str]:
    """A batch run in a process of its own; it prints its summary as JSON."""
    code = f"""
        import asyncio
        from flows.change_of_address import process_inbox
        summary = asyncio.run(process_inbox(target_url={url!r}, concurrency=2))
        print("SUMMARY " + summary.model_dump_json())
        """
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=os.environ | env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def summary_of(process: subprocess.Popen[str]) -> dict[str, Any]:
    """The summary a batch process printed."""
    out, err = process.communicate(timeout=600)
    assert process.returncode == 0, err[-3000:]
    line = next(line for line in out.splitlines() if line.startswith("SUMMARY "))
    return json.loads(line.removeprefix("SUMMARY "))  # type: ignore[no-any-return]


def test_two_batches_at_once_share_the_work_and_refuse_nothing(
    prefect_api_url: str, sandbox: SandboxServer, tmp_path: Path
) -> None:
    home = tmp_path / "rpa-home"
    env = {
        "RPA_HOME": str(home),
        "RPA_RETRY_DELAYS_S": "[0.2, 0.2]",
        "RPA_BROWSER__TIMEOUT_MS": "10000",
        "PREFECT_API_URL": prefect_api_url,
    }
    CheckpointStore.connect(f"sqlite:///{home / 'rpa.db'}").close()  # migrated once, up front
    first, second = start_batch(env, sandbox.url), start_batch(env, sandbox.url)
    outcomes = [*summary_of(first)["outcomes"], *summary_of(second)["outcomes"]]

    worked = Counter(o["case_id"] for o in outcomes if o["result"] != "skipped")
    assert set(worked.values()) == {1}, worked  # each case worked by exactly one batch
    assert len(worked) == 16
    assert not [o for o in outcomes if o["result"] == "failed"]

    store = CheckpointStore.connect(f"sqlite:///{home / 'rpa.db'}")
    checkpoints = store.all()
    store.close()
    reasons = {r.rule_id for c in checkpoints for r in c.reasons}
    assert "robot.refused" not in reasons
    assert Counter(c.case_id for c in checkpoints).most_common(1)[0][1] == 1
    state = httpx.get(f"{sandbox.url}/api/state").json()
    per_mover = Counter((r["case_id"], r["cpr"]) for r in state["registrations"])
    assert set(per_mover.values()) == {1}
    set_aside = {o["case_id"] for o in outcomes if o["result"] == "set_aside"}
    assert {c.case_id for c in checkpoints} == set_aside
