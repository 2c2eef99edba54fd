"""A store with two days of change-of-address work, written through the real store API.

Only the clock is mocked: each step happens at a stated time, so the measured figures
can be asserted exactly.

Day 1, 2026-11-02: OK-1 and OK-2 done by the robot alone (2.5 s and 3.5 s); W-1 stored
at 09:00, posted to Slack at 09:10, approved at 09:25, done at 09:26; W-2 stored at
09:00 (no chat), edited at 10:00 with a comment holding a CPR number. Day 2,
2026-11-03: OK-3 by the robot alone (4 s); W-3 stored, still waiting.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from unittest.mock import MagicMock, patch

from checkpoints.models import Proposal
from checkpoints.service import DecisionService
from checkpoints.store.repository import CheckpointStore
from config.rules import load_rules_config
from flows.change_of_address.clearance import route_case
from tests.checkpoints.conftest import ANNA, CaseFactory

PROCESS = "change-of-address"
PROPOSAL = Proposal(action="register_move", summary="Register the move.")
DAY1 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
DAY2 = datetime(2026, 11, 3, 9, 0, tzinfo=UTC)
COMMENT = f"Borgeren ringede ({ANNA}): flytter den 17."

# What the scenario measures, for the tests to assert.
HUMAN_S = {"W-1": 15 * 60.0, "W-2": 60 * 60.0}  # shown -> decided
WAITING_S = {"W-1": 25 * 60.0, "W-2": 60 * 60.0}  # stored -> decided
ROBOT_S = {"OK-1": 2.5, "OK-2": 3.5, "OK-3": 4.0, "W-1": 60.0}


@contextmanager
def clock() -> Iterator[MagicMock]:
    """`datetime.now` of the store, its journal and its outbox, set by the test."""
    with ExitStack() as stack:
        mocks = [
            stack.enter_context(patch(f"{module}.datetime", wraps=datetime))
            for module in (
                "checkpoints.journal",
                "checkpoints.store.repository",
                "checkpoints.store.outbox",
            )
        ]
        now = MagicMock()
        now.side_effect = lambda *_: now.value
        for mock in mocks:
            mock.now = now
        yield now


def _routine(store: CheckpointStore, make_case: CaseFactory, case_id: str) -> None:
    store.record_reading(make_case(case_id=case_id), [], process=PROCESS)
    store.record(
        case_id,
        "robot.registered",
        {"decided_by": None, "registrations": ["R-1"], "robot_seconds": ROBOT_S[case_id]},
    )


def _flagged(store: CheckpointStore, make_case: CaseFactory, case_id: str, chat: bool) -> str:
    case = make_case(case_id=case_id, remarks="Vi flytter sammen med en ven.")
    reasons = route_case(case, config=load_rules_config(), locale="en").reasons
    return store.open_checkpoint(
        case=case,
        reasons=reasons,
        proposal=PROPOSAL,
        screenshot=None,
        process=PROCESS,
        deadline_hours=48,
        channels=("slack",) if chat else (),
    ).checkpoint_id


def fill(store: CheckpointStore) -> dict[str, str]:
    """Write the scenario; returns the checkpoint ids by case id."""
    make_case = CaseFactory()
    service = DecisionService(store)
    ids: dict[str, str] = {}
    with clock() as now:
        now.value = DAY1
        _routine(store, make_case, "OK-1")
        _routine(store, make_case, "OK-2")
        ids["W-1"] = _flagged(store, make_case, "W-1", chat=True)
        ids["W-2"] = _flagged(store, make_case, "W-2", chat=False)
        now.value = DAY1.replace(minute=10)
        outbox = store.outbox("slack")
        (post,) = outbox.claim_due("test", now.value)
        outbox.sent(post.id, {"ts": "1.1"})
        now.value = DAY1.replace(minute=25)
        service.decide(ids["W-1"], kind="approve", decided_by="Mette", channel="slack")
        now.value = DAY1.replace(minute=26)
        store.finish(
            ids["W-1"],
            status="applied",
            kind="robot.registered",
            data={"decided_by": "Mette", "registrations": []},
            outcome={"action": "registered"},
        )
        now.value = DAY1.replace(hour=10)
        service.decide(
            ids["W-2"],
            kind="edit",
            decided_by="Jens",
            channel="cli",
            edits={"move_date": "2026-11-17"},
            comment=COMMENT,
        )
        now.value = DAY2
        _routine(store, make_case, "OK-3")
        ids["W-3"] = _flagged(store, make_case, "W-3", chat=False)
    return ids
