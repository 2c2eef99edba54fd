"""The environment the stack gives Prefect, read back by Prefect's own settings."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from cli.stack import prefect_env
from config.settings import PrefectSettings, Settings

READ_BACK = """
import json
from prefect.settings import get_current_settings
s = get_current_settings()
v = s.server.services.db_vacuum
print(json.dumps({"vacuum": sorted(v.enabled_vacuum_types),
                  "retention_s": v.retention_period.total_seconds(),
                  "poll_s": s.runner.poll_frequency,
                  "analytics": s.server.analytics_enabled}))
"""


def prefect_reads(env: dict[str, str]) -> dict[str, object]:
    """What a Prefect process started with this environment makes of it."""
    done = subprocess.run(
        [sys.executable, "-c", READ_BACK],
        env=os.environ | env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    read: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return read


def test_finished_runs_are_vacuumed_after_the_retention_and_nothing_calls_home(
    tmp_path: Path,
) -> None:
    settings = Settings(home=tmp_path / "home", prefect=PrefectSettings(retention_days=2))
    read = prefect_reads(prefect_env(settings))
    assert "flow_runs" in read["vacuum"]  # type: ignore[operator]
    assert read["retention_s"] == 2 * 86400
    assert read["poll_s"] == 1
    assert read["analytics"] is False


def test_a_retention_of_an_hour_is_raised_just_past_prefects_minimum(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home", prefect=PrefectSettings(retention_days=1 / 24))
    assert prefect_reads(prefect_env(settings))["retention_s"] == 3601
