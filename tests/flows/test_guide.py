"""docs/writing-a-process.md, run as written: its code becomes a process that works.

The guide's code blocks are put in a module and imported (which registers the process),
then the process runs for real: a batch through Prefect against the sandbox in
headless Chromium, a checkpoint stored for the case with remarks, a person's decision
through the decision service, and the carry-out by the generic runtime.
"""

from __future__ import annotations

import asyncio
import importlib
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from checkpoints import processes
from checkpoints.service import DecisionService
from checkpoints.store.repository import CheckpointStore
from config.settings import get_settings
from flows.batch import process_cases
from flows.runtime import carry_out
from robots.session import BrowserSession
from sandbox import SandboxServer, parse_seed
from tests import permit_seeds as permits
from tests.conftest import SANDBOX_PASSWORD, SANDBOX_USER, sandbox_settings

pytestmark = pytest.mark.e2e

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "writing-a-process.md"


def guide_code() -> str:
    """Every ```python block of the guide, in order."""
    blocks = re.findall(r"```python\n(.*?)```", GUIDE.read_text(encoding="utf-8"), re.S)
    assert len(blocks) >= 5, "the guide lost its code"
    return "\n\n".join(blocks)


@pytest.fixture
def guide_process(tmp_path: Path) -> Iterator[Any]:
    """The guide's code as a module, imported: the process is registered."""
    (tmp_path / "guide_quick_permits.py").write_text(guide_code(), encoding="utf-8")
    sys.path.insert(0, str(tmp_path))
    try:
        module = importlib.import_module("guide_quick_permits")
        yield module.quick
    finally:
        processes.unregister("quick-permits")
        sys.modules.pop("guide_quick_permits", None)
        sys.path.remove(str(tmp_path))


def test_the_guide_builds_a_process_that_runs(
    guide_process: Any,
    prefect_api_url: str,
    rpa_home: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert processes.get("quick-permits") is guide_process
    seed = permits.parking_batch()
    seed["notifications"] = []
    seed["permit_applications"] = [
        a for a in seed["permit_applications"]
        if a["case_id"] in (permits.ROUTINE, permits.HIDDEN_REMARKS)
    ]  # fmt: skip
    store_url = f"sqlite:///{rpa_home / 'store.db'}"
    monkeypatch.setenv("RPA_DATABASE_URL", store_url)
    monkeypatch.setenv("RPA_TARGET__USERNAME", SANDBOX_USER)
    monkeypatch.setenv("RPA_TARGET__PASSWORD", SANDBOX_PASSWORD)
    get_settings.cache_clear()
    with SandboxServer(parse_seed(seed), sandbox_settings()) as sandbox:
        summary = asyncio.run(
            process_cases(process="quick-permits", target_url=sandbox.url, concurrency=1)
        )
        results = {o.case_id: o.result for o in summary.outcomes}
        assert results == {permits.ROUTINE: "done", permits.HIDDEN_REMARKS: "set_aside"}

        store = CheckpointStore.connect(store_url)
        (checkpoint,) = store.all()
        assert checkpoint.process == "quick-permits"
        assert [r.rule_id for r in checkpoint.reasons] == ["remarks.present"]
        assert checkpoint.proposal.summary == "Issue a permit for JK56789 in zone A."
        DecisionService(store).decide(
            checkpoint.checkpoint_id, kind="approve", decided_by="Jens Hansen", channel="cli"
        )

        async def decide_and_carry_out() -> str:
            settings = get_settings()
            async with BrowserSession(settings.browser, settings.artifacts_dir) as session:
                context = await session.new_context()
                try:
                    robot = guide_process.robot(await context.new_page(), _target(sandbox.url))
                    done = await carry_out(
                        guide_process, robot, store, store.get(checkpoint.checkpoint_id), settings
                    )
                finally:
                    await context.close()
                return done.action

        assert asyncio.run(decide_and_carry_out()) == "issued"
        state = httpx.get(f"{sandbox.url}/api/state").json()
        statuses = {a["case_id"]: a["status"] for a in state["permit_applications"]}
        assert statuses == {permits.ROUTINE: "issued", permits.HIDDEN_REMARKS: "issued"}
        assert store.get(checkpoint.checkpoint_id).status == "applied"
        assert store.verify_journals()[1] == []
        store.close()


def _target(url: str) -> Any:
    from robots.sandbox.permits import Target

    return Target(base_url=url, username=SANDBOX_USER, password=SANDBOX_PASSWORD)
