"""The sandbox keeps its changes on disk and continues from them after a restart."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sandbox import parse_seed
from sandbox.persistence import StateLog
from sandbox.store import Store
from tests import seeds


def started(path: Path, data: dict[str, Any] | None = None) -> Store:
    """A store over the small batch, persisting to `path`."""
    seed = parse_seed(data or seeds.small_batch())
    store = Store(seed)
    store.persist_to(StateLog(path, seed))
    return store


def work(store: Store) -> None:
    """What a robot and a person do in a day."""
    store.mark_in_progress(seeds.REMARKS)
    store.amend(seeds.REMARKS, {"move_date": "2026-11-16"})
    store.register_move(
        cpr=seeds.EMIL["cpr"],
        address_id="a-new",
        move_date="2026-11-16",
        case_id=seeds.REMARKS,
        registered_by="robot",
    )
    store.close_case(seeds.REMARKS, outcome="registered", note="Registreret (REG-000001).")
    store.mark_in_progress(seeds.BAD_CPR)


def test_a_restart_with_the_same_seed_continues_where_it_stopped(tmp_path: Path) -> None:
    path = tmp_path / "state.jsonl"
    first = started(path)
    work(first)
    again = started(path)
    assert again.state() == first.state()
    assert again.get_case(seeds.REMARKS).notification.move_date == "2026-11-16"
    assert again.get_case(seeds.BAD_CPR).status == "in_progress"
    # And it keeps logging: a third start sees the later change too.
    again.close_case(seeds.BAD_CPR, outcome="manual", note="Manuel")
    assert started(path).get_case(seeds.BAD_CPR).status == "manual"


def test_another_seed_starts_over_and_keeps_the_old_log(tmp_path: Path) -> None:
    path = tmp_path / "state.jsonl"
    work(started(path))
    other = seeds.small_batch()
    other["notifications"] = other["notifications"][:3]
    fresh = started(path, other)
    assert {n["status"] for n in fresh.state()["notifications"]} == {"open"}
    assert fresh.state()["registrations"] == []
    assert (tmp_path / "state.previous.jsonl").exists()


def test_a_last_line_cut_short_by_a_crash_is_dropped(tmp_path: Path) -> None:
    path = tmp_path / "state.jsonl"
    work(started(path))
    with path.open("a") as file:
        file.write('{"op": "close", "case_id": "FLY')
    store = started(path)
    assert store.get_case(seeds.REMARKS).status == "registered"
    store.close_case(seeds.BAD_CPR, outcome="manual", note="Manuel")
    assert started(path).get_case(seeds.BAD_CPR).status == "manual"
    lines = path.read_text().splitlines()
    lines.insert(2, "not json")
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ValueError, match="line 3: not a JSON change"):
        started(path)
