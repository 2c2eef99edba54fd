"""`rpa report`, `rpa report benefits` and `rpa report rules` as a user runs them."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from checkpoints.store.repository import CheckpointStore
from tests.checkpoints.benefits_store import fill
from tests.checkpoints.conftest import ANNA
from tests.cli.test_commands import rpa, rpa_env

BASELINE = json.dumps(
    {
        "change-of-address": {
            "manual_baseline": {"minutes_low": 30, "minutes_high": 40, "source": "time study"}
        }
    }
)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """An RPA_HOME whose store holds two days of decided and waiting work."""
    home = tmp_path / "home"
    home.mkdir()
    store = CheckpointStore.connect(f"sqlite:///{home / 'rpa.db'}")
    try:
        fill(store)
    finally:
        store.close()
    return home


def _env(home: Path) -> dict[str, str]:
    return rpa_env(home, RPA_PROCESS_SETTINGS=BASELINE)


def test_rpa_report_and_its_json_work_as_before(home: Path) -> None:
    plain = rpa("report", env=_env(home))
    assert plain.returncode == 0, plain.stderr
    assert "Cases read by the robot: 6; handled by the robot alone: 3" in plain.stdout
    data = json.loads(rpa("report", "--json", env=_env(home)).stdout)
    assert (data["cases_read"], data["handled_by_robot_alone"]) == (6, 3)


def test_benefits_as_a_table_json_and_csv(home: Path) -> None:
    table = rpa("report", "benefits", env=_env(home))
    assert table.returncode == 0, table.stderr
    assert "change-of-address: 15 to 45 min" in table.stdout
    assert "baseline source: time study" in table.stdout
    data = json.loads(rpa("report", "benefits", "--format", "json", env=_env(home)).stdout)
    (coa,) = data["processes"]
    assert (coa["cases_read"], coa["robot_alone"], coa["automation_rate"]) == (6, 3, 0.5)
    assert (coa["saving_minutes_low"], coa["saving_minutes_high"]) == (15.0, 45.0)
    out = rpa("report", "benefits", "--format", "csv", "--since", "2026-11-03", env=_env(home))
    rows = list(csv.DictReader(io.StringIO(out.stdout)))
    assert [(r["case_id"], r["outcome"]) for r in rows] == [("OK-3", "robot"), ("W-3", "waiting")]
    bundled = json.loads(rpa("report", "benefits", "--format", "json", env=rpa_env(home)).stdout)
    assert "assumption" in bundled["processes"][0]["baseline"]["source"]


def test_benefits_as_html_writes_one_page(home: Path, tmp_path: Path) -> None:
    result = rpa("report", "benefits", "--format", "html", env=_env(home))
    assert result.returncode == 0, result.stderr
    page = home / "reports" / "benefits.html"
    assert f"Wrote {page}" in result.stdout
    text = page.read_text(encoding="utf-8")
    assert 'id="chart-rules"' in text
    assert "Plotly.newPlot" in text
    assert ANNA not in text
    own = tmp_path / "mine.html"
    mine = rpa("report", "benefits", "--format", "html", "--out", str(own), env=_env(home))
    assert mine.returncode == 0, mine.stderr
    assert own.exists()


def test_rules_shows_the_feedback_after_decisions(home: Path) -> None:
    result = rpa("report", "rules", "--min-decided", "2", "--threshold", "0.5", env=_env(home))
    assert result.returncode == 0, result.stderr
    assert "fields edited: move_date x1" in result.stdout
    assert "flag: nearly always approved unchanged: 1 of 2 decided" in result.stdout
    assert "flag: never fires" in result.stdout
    assert "010190-XXXX" in result.stdout
    assert ANNA not in result.stdout
    data = json.loads(rpa("report", "rules", "--json", env=_env(home)).stdout)
    remarks = next(
        r
        for r in data["rules"]
        if (r["process"], r["rule_id"]) == ("change-of-address", "remarks.present")
    )
    assert (remarks["raised"], remarks["approved_unchanged"], remarks["edited"]) == (3, 1, 1)
    assert remarks["comments"][0]["by"] == "Jens"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["benefits", "--since", "last week"], "error: --since 'last week' is not a date"),
        (["rules", "--since", "2026-13-01"], "error: --since '2026-13-01' is not a date"),
        (["benefits", "--process", "dog-licence"], "error: no process 'dog-licence'"),
        (["rules", "--process", "dog-licence"], "error: no process 'dog-licence'"),
        (["benefits", "--format", "pdf"], "error: --format 'pdf' is not one of"),
    ],
)
def test_bad_input_is_a_one_line_error(args: list[str], message: str, tmp_path: Path) -> None:
    result = rpa("report", *args, env=rpa_env(tmp_path / "home"))
    assert result.returncode == 1
    assert result.stderr.startswith(message)
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("command", [["benefits"], ["rules"]])
def test_the_report_subcommands_have_help(command: list[str], tmp_path: Path) -> None:
    result = rpa("report", *command, "--help", env=rpa_env(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "--since" in result.stdout
    assert "--process" in result.stdout
