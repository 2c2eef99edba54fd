"""`rpa bench` for real on a tiny sample: its JSON lines, table and ratios add up.

The benchmark is not part of the test suite; this only checks that the command runs
and that its figures are present, positive and consistent with each other.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from cli.stack import free_port

RPA = [sys.executable, "-m", "cli.main"]
KEYS = {
    "name",
    "sample",
    "concurrency",
    "cases",
    "cases_per_s",
    "p50_ms",
    "p95_ms",
    "browser_cpu_s",
    "python_cpu_s",
    "peak_rss_mb",
    "prefect_server_cpu_s",
    "sandbox_cpu_s",
    "wall_s",
    "registered",
}
WORKLOADS = ["http-floor", "playwright-bare", "robot"]


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RPA_", "PREFECT_"))}
    return env | {
        "RPA_HOME": str(home),
        "RPA_SANDBOX__PORT": str(free_port()),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    }


def _bench(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], Path]:
    out = tmp_path / "bench.jsonl"
    done = subprocess.run(
        [*RPA, "bench", *args, "--out", str(out)],
        env=_env(tmp_path / "home"),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    return done, out


def test_bench_measures_each_layer_on_the_same_cases(tmp_path: Path) -> None:
    done, out = _bench(
        tmp_path, "--cases", "4", "--concurrency", "1", "--only", ",".join(WORKLOADS)
    )
    assert done.returncode == 0, done.stderr[-3000:]

    printed = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    written = [json.loads(line) for line in out.read_text().splitlines()]
    assert printed == written
    assert [line["name"] for line in written] == WORKLOADS
    for line in written:
        assert set(line) >= KEYS, f"{line['name']} lacks {KEYS - set(line)}"
        assert line["sample"] == "routine"
        assert line["concurrency"] == 1
        assert line["cases"] == 4
        assert line["registered"] == 4, f"{line['name']}: every routine case is registered"
        assert line["failed"] == 0
        assert line["cases_per_s"] > 0
        assert line["wall_s"] > 0
        # wall_s is rounded to 0.01 s and the rate to 0.001: the rate lies between the
        # rates at the wall's two ends, give or take the rate's own rounding.
        slowest, fastest = line["wall_s"] + 0.005, max(line["wall_s"] - 0.005, 1e-3)
        low, high = line["cases"] / slowest - 0.0005, line["cases"] / fastest + 0.0005
        assert low <= line["cases_per_s"] <= high
        assert 0 < line["p50_ms"] <= line["p95_ms"]
        # A case takes at most the whole run, and at least its share of it per lane.
        assert line["p95_ms"] <= 1000 * line["wall_s"]
        assert line["python_cpu_s"] > 0
        assert line["sandbox_cpu_s"] > 0
        assert line["prefect_server_cpu_s"] == 0  # no Prefect in these workloads
        assert line["peak_rss_mb"] > 0
    by_name: dict[str, Any] = {line["name"]: line for line in written}
    assert by_name["http-floor"]["browser_cpu_s"] == 0
    assert by_name["http-floor"]["requests_per_case"] >= 13
    for name in ("playwright-bare", "robot"):
        assert by_name[name]["browser_cpu_s"] > 0
        # A browser and its renderers take more memory than the HTTP client alone.
        assert by_name[name]["peak_rss_mb"] > by_name["http-floor"]["peak_rss_mb"]

    assert "peak RSS MB" in done.stdout  # the table
    assert "robot / playwright-bare at concurrency 1: " in done.stdout
    assert "robot / http-floor at concurrency 1: " in done.stdout
    assert "4/4 cases (100%)" in done.stderr  # progress goes to stderr


def test_bench_refuses_unknown_workloads_in_one_line(tmp_path: Path) -> None:
    done, out = _bench(tmp_path, "--only", "robot,teleport")
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "error: unknown --only workload teleport: choose from http-floor, playwright-bare, "
        "robot, flow, checkpoints, memory"
    ]
    assert not out.exists()


def test_rounds_alternate_and_the_table_shows_each_workloads_median_round(
    tmp_path: Path,
) -> None:
    done, out = _bench(
        tmp_path, "--cases", "2", "--concurrency", "1", "--only", "robot", "--rounds", "3"
    )
    assert done.returncode == 0, done.stderr[-3000:]
    written = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(line["name"], line["round"]) for line in written] == [
        ("robot", 1),
        ("robot", 2),
        ("robot", 3),
    ]
    rows = [row for row in done.stdout.splitlines() if row.split()[:2] == ["robot", "1"]]
    assert len(rows) == 1, done.stdout
    median = sorted(line["cases_per_s"] for line in written)[1]
    assert f"{median:.2f}" in rows[0].split()
    assert "the median of 3 rounds" in done.stdout


def test_the_median_round_is_a_line_as_measured() -> None:
    from bench.report import medians

    def line(name: str, concurrency: int, rate: float) -> dict[str, Any]:
        return {"name": name, "concurrency": concurrency, "cases_per_s": rate}

    lines = [line("robot", 1, 5.0), line("flow", 1, 9.0), line("robot", 1, 7.0)]
    lines += [line("flow", 1, 3.0), line("robot", 1, 6.0), line("robot", 4, 2.0)]
    assert medians(lines) == [line("robot", 1, 6.0), line("flow", 1, 3.0), line("robot", 4, 2.0)]
