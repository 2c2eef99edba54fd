"""`rpa deploy` and `rpa reconcile` refuse, in one line, to run without a Prefect server.

That they work against one is tests/scale/test_two_workers.py (a server on PostgreSQL,
two workers): `rpa deploy` sets the region up there, and `rpa reconcile --once` runs
after its decisions.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.test_commands import rpa, rpa_env


@pytest.mark.parametrize("command", ["deploy", "reconcile"])
def test_without_a_prefect_server_it_says_what_to_set(tmp_path: Path, command: str) -> None:
    done = rpa(command, env=rpa_env(tmp_path / "home"))
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "PREFECT_API_URL" in lines[0]
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("command", ["deploy", "reconcile"])
def test_a_prefect_server_that_does_not_answer_is_named(tmp_path: Path, command: str) -> None:
    env = rpa_env(tmp_path / "home", PREFECT_API_URL="http://127.0.0.1:9/api")
    done = rpa(command, env=env)
    assert done.returncode != 0
    assert done.stderr.strip().splitlines() == [
        f"error: rpa {command}: the Prefect server at PREFECT_API_URL=http://127.0.0.1:9/api "
        "does not answer; start it"
    ]


@pytest.mark.parametrize("pool", ["", "  ", "a/b"])
def test_deploy_refuses_a_pool_that_is_not_a_name(tmp_path: Path, pool: str) -> None:
    env = rpa_env(tmp_path / "home", PREFECT_API_URL="http://127.0.0.1:9/api")
    done = rpa("deploy", "--pool", pool, env=env)
    assert done.returncode != 0
    assert done.stderr.strip().splitlines() == [
        f"error: rpa deploy: --pool needs a work pool name, not {pool!r}"
    ]
