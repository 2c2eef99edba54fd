"""Input a user can get wrong gets one line on stderr and exit code 1, never a traceback;
outside text (names, --by) reaches the terminal as text, never as escape sequences."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from checkpoints.models import Proposal
from checkpoints.store.repository import CheckpointStore
from tests import seeds
from tests.cli.test_checkpoint_commands import decided_case
from tests.cli.test_commands import rpa, rpa_env

ESCAPES = "\x1b[2J\x1b]0;owned\x07"  # clear the screen, retitle the terminal


def one_line_error(result: subprocess.CompletedProcess[str], *expected: str) -> str:
    """Assert exit code 1 and a single `error:` line holding `expected`; return it."""
    assert result.returncode == 1, (result.returncode, result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), lines
    for text in expected:
        assert text in lines[0], lines[0]
    return lines[0]


def test_a_seed_nested_too_deeply_is_one_line_not_a_recursion_error(tmp_path: Path) -> None:
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    env = rpa_env(tmp_path / "home")
    for command in (["sandbox", "serve", "--port", "0"], ["up"]):
        result = rpa(*command, "--seed", str(deep), env=env, timeout=60)
        one_line_error(result, "deep.json", "nested too deeply")
        assert "RecursionError" not in result.stderr
    assert not (tmp_path / "home" / "stack.json").exists()  # `rpa up` started nothing


@pytest.mark.parametrize("url", ["http://[::1", "ftp://example.org", "127.0.0.1:8700"])
def test_a_malformed_target_url_is_one_line(url: str, tmp_path: Path) -> None:
    env = rpa_env(tmp_path / "home")
    flag = one_line_error(rpa("run", "change-of-address", "--target", url, env=env))
    assert url in flag
    configured = rpa("run", "change-of-address", env=env | {"RPA_TARGET__URL": url})
    one_line_error(configured, url)


def test_rpa_home_pointing_at_a_file_is_one_line(tmp_path: Path) -> None:
    a_file = tmp_path / "not-a-dir"
    a_file.write_text("x")
    commands = [
        ["up"],
        ["run", "change-of-address", "--target", "http://127.0.0.1:9"],
        ["checkpoints", "list"],
        ["journal", "verify"],
        ["db", "upgrade"],
        ["sandbox", "serve"],
    ]
    for home, expected in ((a_file, "is a file"), (a_file / "sub", f"inside {a_file}")):
        for command in commands:
            result = rpa(*command, env=rpa_env(home))
            one_line_error(result, f"RPA_HOME={home}", expected, "not a directory")
            assert "Traceback" not in result.stderr


def test_a_name_longer_than_the_store_keeps_is_refused_on_every_database(
    database: str, tmp_path: Path
) -> None:
    env = rpa_env(tmp_path / "home", RPA_DATABASE_URL=database)
    assert rpa("db", "upgrade", env=env).returncode == 0
    store = CheckpointStore.connect(database)
    try:
        cid = store.open_checkpoint(
            case=decided_case(seeds.REMARKS),
            reasons=[],
            proposal=Proposal(action="register_move", summary="Register."),
            screenshot=None,
            process="change-of-address",
            deadline_hours=48,
        ).checkpoint_id
        journal = store.journal(seeds.REMARKS)
        too_long = "Jens " + "x" * 196  # 201 characters
        refused = rpa("checkpoints", "decide", cid, "--by", too_long, "--approve", env=env)
        one_line_error(refused, "201 characters", "at most 200")
        assert store.get(cid).status == "open"
        assert store.journal(seeds.REMARKS) == journal

        longest = "Jens " + "x" * 195  # 200 characters: kept whole
        kept = rpa("checkpoints", "decide", cid, "--by", longest, "--manual", env=env)
        assert kept.returncode == 0, kept.stderr
        decision = store.decision_for(cid)
        assert decision is not None
        assert decision.decided_by == longest
    finally:
        store.close()


def test_names_and_deciders_reach_the_terminal_as_text(tmp_path: Path) -> None:
    env = rpa_env(tmp_path / "home", RPA_LOCALE="en")
    assert rpa("db", "upgrade", env=env).returncode == 0
    store = CheckpointStore.connect(f"sqlite:///{tmp_path / 'home' / 'rpa.db'}")
    case = decided_case(seeds.REMARKS)
    movers = [{**case.raw["movers"][0], "name": f"Emil{ESCAPES}\nFAKE LINE"}]
    case = decided_case(seeds.REMARKS, movers=movers)
    cid = store.open_checkpoint(
        case=case,
        reasons=[],
        proposal=Proposal(action="register_move", summary="Register."),
        screenshot=None,
        process="change-of-address",
        deadline_hours=48,
    ).checkpoint_id
    store.close()
    by = f"Eve{ESCAPES}\nrpa: all journals verified"
    decided = rpa("checkpoints", "decide", cid, "--by", by, "--manual", env=env)
    assert decided.returncode == 0, decided.stderr
    again = rpa("checkpoints", "decide", cid, "--by", "Ole", "--approve", env=env)
    assert "\x1b" not in again.stderr
    assert "[U+001B]" in one_line_error(again, "already decided by Eve")

    outputs = {
        "decide": decided.stdout,
        "list": rpa("checkpoints", "list", env=env).stdout,
        "show": rpa("checkpoints", "show", cid, env=env).stdout,
        "journal": rpa("journal", seeds.REMARKS, env=env).stdout,
    }
    for command, out in outputs.items():
        assert "\x1b" not in out, command
        assert "\x07" not in out, command
        assert "Eve[U+001B][2J[U+001B]]0;owned[U+0007][U+000A]rpa: all" in out, (command, out)
        assert not any(line.startswith("rpa: all") for line in out.splitlines()), command
    for command in ("show", "journal"):
        assert "Emil[U+001B][2J" in outputs[command], outputs[command]
        assert "[U+000A]FAKE LINE" in outputs[command], command
    listed = json.loads(rpa("checkpoints", "list", "--json", env=env).stdout)
    assert listed[0]["decided_by"] == by  # the data itself is kept as given
