"""The checkpoint store and decision service on real SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from unittest.mock import patch

import pytest
from sqlalchemy import text

from checkpoints.explain import explain
from checkpoints.models import Checkpoint, Proposal
from checkpoints.report import build_report, report_lines
from checkpoints.service import DecisionError, DecisionService
from checkpoints.store.db import StoreUnavailable, make_engine, upgrade
from checkpoints.store.repository import AlreadyDecided, CheckpointNotFound, CheckpointStore
from config.rules import ChangeOfAddressRules
from flows.change_of_address.case import CaseFile, ClearanceError, Notification, Reason
from flows.change_of_address.clearance import clearance_from_decision, route_case
from tests.checkpoints.conftest import ANNA, CaseFactory, Resumes

PROPOSAL = Proposal(action="register_move", summary="Register the move.")


def open_for(store: CheckpointStore, case: CaseFile, rules: ChangeOfAddressRules) -> Checkpoint:
    reasons = route_case(case, config=rules, locale="en").reasons
    assert reasons, "the test case must be flagged"
    return store.open_checkpoint(
        case=case,
        reasons=reasons,
        proposal=PROPOSAL,
        screenshot=None,
        process="change-of-address",
        deadline_hours=48,
    )


def test_upgrade_is_idempotent_and_reports_the_revision(store_url: str) -> None:
    engine = make_engine(store_url)
    assert upgrade(engine) == "0005"
    assert upgrade(engine) == "0005"
    engine.dispose()


def test_an_unreachable_database_is_a_clear_error() -> None:
    engine = make_engine("postgresql://nobody@127.0.0.1:1/none")
    with pytest.raises(StoreUnavailable, match="cannot be reached"):
        upgrade(engine)


def test_a_checkpoint_is_stored_once_per_case_with_its_journal(
    store: CheckpointStore, make_case: CaseFactory, rules: ChangeOfAddressRules
) -> None:
    case = make_case(remarks="Ring venligst først")
    first = open_for(store, case, rules)
    again = open_for(store, case, rules)
    assert again.checkpoint_id == first.checkpoint_id
    assert [c.checkpoint_id for c in store.all("open")] == [first.checkpoint_id]
    assert first.case == case
    assert [r.rule_id for r in first.reasons] == ["remarks.present"]
    assert first.deadline_at > first.created_at
    kinds = [e.kind for e in store.journal(case.case_id)]
    assert kinds == ["case.read", "rules.fired", "checkpoint.opened"]
    journal_text = str([e.data for e in store.journal(case.case_id)])
    assert ANNA not in journal_text
    assert "010190-XXXX" in journal_text
    assert "Ring venligst" not in journal_text


def test_each_decision_kind_is_stored_with_its_values(
    store: CheckpointStore, make_case: CaseFactory, rules: ChangeOfAddressRules
) -> None:
    resumes = Resumes()
    service = DecisionService(store, resumer=resumes)
    edited = open_for(store, make_case(case_id="C-1", remarks="x"), rules)
    outcome = service.decide(
        edited.checkpoint_id,
        kind="edit",
        decided_by="Jens",
        channel="cli",
        edits={"new_address.street": "Gravene", "new_address.floor": ""},
        comment="Checked by phone",
    )
    assert outcome.resume.resumed
    assert resumes.calls == [edited.checkpoint_id]
    decision = store.decision_for(edited.checkpoint_id)
    assert decision is not None
    assert decision.values is not None
    assert decision.values["new_address"]["street"] == "Gravene"
    assert [(c.field, c.after) for c in decision.changes] == [("new_address.street", "Gravene")]
    assert store.get(edited.checkpoint_id).status == "decided"

    for case_id, kind in (("C-2", "approve"), ("C-3", "manual"), ("C-4", "contact_citizen")):
        checkpoint = open_for(store, make_case(case_id=case_id, remarks="x"), rules)
        service.decide(checkpoint.checkpoint_id, kind=kind, decided_by="Mette", channel="cli")  # type: ignore[arg-type]
        stored = store.get(checkpoint.checkpoint_id)
        assert stored.decision is not None
        assert (stored.decision.kind, stored.decision.decided_by) == (kind, "Mette")
        assert (stored.decision.values is not None) == (kind == "approve")
    entries = store.journal("C-1")
    assert entries[-1].kind == "decision.recorded"
    assert entries[-1].actor == "Jens"
    assert entries[-1].data["changes"][0]["after"] == "Gravene"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"kind": "approve", "decided_by": "  "}, "name of the person"),
        ({"kind": "edit", "decided_by": "J", "edits": {"shoe_size": "42"}}, "unknown field"),
        ({"kind": "edit", "decided_by": "J", "edits": {"move_date": "soon"}}, "move_date"),
        ({"kind": "edit", "decided_by": "J", "edits": {"movers.0.cpr": "3213"}}, "movers.0.cpr"),
        ({"kind": "edit", "decided_by": "J", "edits": {"case_id": "X"}}, "cannot be edited"),
        ({"kind": "edit", "decided_by": "J", "edits": {"movers.5.name": "X"}}, "numbered"),
        ({"kind": "edit", "decided_by": "J", "edits": {}}, "at least one"),
        ({"kind": "manual", "decided_by": "J", "edits": {"move_date": "x"}}, "edits go with"),
    ],
)
def test_a_bad_decision_is_refused_and_nothing_is_stored(
    store: CheckpointStore,
    make_case: CaseFactory,
    rules: ChangeOfAddressRules,
    kwargs: dict[str, object],
    message: str,
) -> None:
    checkpoint = open_for(store, make_case(remarks="x"), rules)
    before = store.journal(checkpoint.case_id)
    with pytest.raises(DecisionError, match=message):
        DecisionService(store).decide(checkpoint.checkpoint_id, channel="cli", **kwargs)  # type: ignore[arg-type]
    assert store.get(checkpoint.checkpoint_id).status == "open"
    assert store.decision_for(checkpoint.checkpoint_id) is None
    assert store.journal(checkpoint.case_id) == before


def test_a_case_that_did_not_validate_cannot_be_approved_only_edited(
    store: CheckpointStore, make_case: CaseFactory, rules: ChangeOfAddressRules
) -> None:
    checkpoint = open_for(store, make_case(move_date="31-02-2026"), rules)
    service = DecisionService(store)
    with pytest.raises(DecisionError, match=r"cannot be approved as read.*move_date"):
        service.decide(checkpoint.checkpoint_id, kind="approve", decided_by="J", channel="cli")
    service.decide(
        checkpoint.checkpoint_id,
        kind="edit",
        decided_by="J",
        channel="cli",
        edits={"move_date": "2026-11-15"},
    )
    decision = store.decision_for(checkpoint.checkpoint_id)
    assert decision is not None
    assert decision.values is not None
    assert decision.values["move_date"] == "2026-11-15"


def test_unknown_and_already_decided_checkpoints_are_refused(
    store: CheckpointStore, make_case: CaseFactory, rules: ChangeOfAddressRules
) -> None:
    service = DecisionService(store)
    with pytest.raises(CheckpointNotFound):
        service.decide("cp-nothing", kind="approve", decided_by="J", channel="cli")
    checkpoint = open_for(store, make_case(remarks="x"), rules)
    service.decide(checkpoint.checkpoint_id, kind="manual", decided_by="Jens", channel="cli")
    with pytest.raises(AlreadyDecided, match="already decided by Jens"):
        service.decide(checkpoint.checkpoint_id, kind="approve", decided_by="Mette", channel="cli")
    decision = store.decision_for(checkpoint.checkpoint_id)
    assert decision is not None
    assert decision.kind == "manual"


def test_two_deciders_at_once_exactly_one_wins(
    store_url: str, make_case: CaseFactory, rules: ChangeOfAddressRules
) -> None:
    setup = CheckpointStore.connect(store_url)
    for n in range(5):
        checkpoint = open_for(setup, make_case(case_id=f"R-{n}", remarks="x"), rules)
        results = _race(store_url, checkpoint.checkpoint_id, [f"user{i}" for i in range(4)])
        winners = [r for r in results if r.startswith("won:")]
        assert len(winners) == 1, results
        winner = winners[0].removeprefix("won:")
        assert sorted(results) == sorted([f"won:{winner}"] + [f"lost:{winner}"] * 3)
        decision = setup.decision_for(checkpoint.checkpoint_id)
        assert decision is not None
        assert decision.decided_by == winner
        kinds = [e.kind for e in setup.journal(checkpoint.case_id)]
        assert kinds.count("decision.recorded") == 1
    setup.close()


def _race(store_url: str, checkpoint_id: str, names: list[str]) -> list[str]:
    """Everyone decides at the same moment, each with a connection pool of their own."""
    barrier = threading.Barrier(len(names))
    results: list[str] = []

    def decide(name: str) -> None:
        store = CheckpointStore(make_engine(store_url))
        barrier.wait()
        try:
            DecisionService(store).decide(
                checkpoint_id, kind="approve", decided_by=name, channel="cli"
            )
            results.append(f"won:{name}")
        except AlreadyDecided as exc:
            winner = exc.decision.decided_by if exc.decision else "?"
            results.append(f"lost:{winner}")
        finally:
            store.close()

    threads = [threading.Thread(target=decide, args=(name,)) for name in names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_only_a_stored_approval_clears_a_flagged_case(
    store: CheckpointStore, make_case: CaseFactory, rules: ChangeOfAddressRules
) -> None:
    case = make_case(remarks="x")
    assert route_case(case, config=rules).clearance is None  # flagged: routing clears nothing
    checkpoint = open_for(store, case, rules)
    assert case.notification is not None
    with pytest.raises(ClearanceError, match="no stored decision"):
        clearance_from_decision(store.get(checkpoint.checkpoint_id), case.notification)
    service = DecisionService(store)
    service.decide(
        checkpoint.checkpoint_id,
        kind="edit",
        decided_by="J",
        channel="cli",
        edits={"new_address.house_number": "7"},
    )
    decided = store.get(checkpoint.checkpoint_id)
    with pytest.raises(ClearanceError, match="not the ones J decided"):
        clearance_from_decision(decided, case.notification)  # the unedited values
    assert decided.decision is not None
    edited = Notification.model_validate(decided.decision.values)
    clearance = clearance_from_decision(decided, edited)
    assert clearance.basis == "decision"
    clearance.check(edited)

    manual = open_for(store, make_case(case_id="M-1", remarks="x"), rules)
    service.decide(manual.checkpoint_id, kind="manual", decided_by="J", channel="cli")
    with pytest.raises(ClearanceError, match="was manual"):
        clearance_from_decision(store.get(manual.checkpoint_id), case.notification)


def test_the_journal_chain_names_an_edited_or_deleted_entry(
    store: CheckpointStore, make_case: CaseFactory, rules: ChangeOfAddressRules
) -> None:
    for case_id in ("J-1", "J-2", "J-3"):
        checkpoint = open_for(store, make_case(case_id=case_id, remarks="x"), rules)
        DecisionService(store).decide(
            checkpoint.checkpoint_id, kind="manual", decided_by="Jens", channel="cli"
        )
    checked, breaks = store.verify_journals()
    assert (checked, breaks) == (12, [])

    with store.engine.begin() as connection:
        connection.execute(
            text("UPDATE journal_entries SET actor = 'Mette' WHERE case_id = 'J-1' AND seq = 4")
        )
        connection.execute(text("DELETE FROM journal_entries WHERE case_id = 'J-2' AND seq = 2"))
        connection.execute(text("DELETE FROM journal_entries WHERE case_id = 'J-3' AND seq = 4"))
    _, breaks = store.verify_journals()
    described = [b.describe() for b in breaks]
    assert len(described) == 3, described
    assert described[0].startswith("case J-1, entry 4 (decision.recorded): its content")
    assert described[1].startswith("case J-2, entry 2 (missing)")
    assert described[2].startswith("case J-3, entry 4 (head)")


def test_an_overdue_checkpoint_stays_open_and_is_reported(
    store: CheckpointStore, make_case: CaseFactory, rules: ChangeOfAddressRules
) -> None:
    checkpoint = open_for(store, make_case(remarks="x"), rules)
    later = checkpoint.deadline_at + timedelta(minutes=1)
    assert not checkpoint.overdue(now=checkpoint.created_at)
    with patch("checkpoints.models.datetime", wraps=datetime) as clock:
        clock.now.return_value = later
        stored = store.get(checkpoint.checkpoint_id)
        assert stored.overdue()
        assert stored.summary_json()["overdue"] is True
    assert stored.status == "open"
    assert store.decision_for(checkpoint.checkpoint_id) is None


def test_the_journal_reads_as_plain_language_in_both_locales(
    store: CheckpointStore, make_case: CaseFactory, rules: ChangeOfAddressRules
) -> None:
    checkpoint = open_for(store, make_case(remarks="Ring på 12345678"), rules)
    DecisionService(store).decide(
        checkpoint.checkpoint_id,
        kind="edit",
        decided_by="Mette Lund",
        channel="cli",
        edits={"move_date": "2026-11-16"},
        comment="Datoen rettet efter samtale",
    )
    entries = store.journal(checkpoint.case_id)
    danish = "\n".join(explain(checkpoint.case_id, entries, "da"))
    english = "\n".join(explain(checkpoint.case_id, entries, "en"))
    assert "Mette Lund godkendte sagen med rettelser" in danish
    assert "'2026-11-15' blev rettet til '2026-11-16'" in danish
    assert "Mette Lund approved the case with corrections" in english
    assert "Borgeren skrev en bemærkning (16 tegn)" in danish
    for text_ in (danish, english):
        assert ANNA not in text_
        assert "12345678" not in text_
    assert explain("NOPE", [], "en") == ["There is no journal for case NOPE."]


def test_four_eyes_a_proposed_edit_needs_a_different_person(
    store: CheckpointStore, make_case: CaseFactory, rules: ChangeOfAddressRules
) -> None:
    resumes = Resumes()
    service = DecisionService(store, resumer=resumes, four_eyes_edits=True)
    checkpoint = open_for(store, make_case(remarks="x"), rules)
    cid = checkpoint.checkpoint_id
    proposed = service.decide(
        cid, kind="edit", decided_by="Mette", channel="cli", edits={"move_date": "2026-11-16"}
    )
    assert proposed.decision is None
    assert store.get(cid).status == "proposed"
    assert resumes.calls == []
    with pytest.raises(AlreadyDecided, match="is proposed"):
        service.decide(cid, kind="approve", decided_by="Jens", channel="cli")
    with pytest.raises(DecisionError, match="different person"):
        service.confirm(cid, confirmed_by="Mette", channel="cli")

    service.reject(cid, rejected_by="Jens", channel="cli", comment="Forkert dato")
    assert store.get(cid).status == "open"
    assert store.get(cid).pending_edit is None
    with pytest.raises(DecisionError, match="no edit waiting"):
        service.confirm(cid, confirmed_by="Jens", channel="cli")

    service.decide(
        cid, kind="edit", decided_by="Mette", channel="cli", edits={"move_date": "2026-11-17"}
    )
    confirmed = service.confirm(cid, confirmed_by="Jens", channel="cli")
    assert confirmed.decision is not None
    assert confirmed.decision.confirmed_by == "Jens"
    assert confirmed.decision.values is not None
    assert confirmed.decision.values["move_date"] == "2026-11-17"
    assert resumes.calls == [cid]
    kinds = [e.kind for e in store.journal(checkpoint.case_id)]
    assert kinds[3:] == [
        "decision.proposed",
        "decision.rejected",
        "decision.proposed",
        "decision.recorded",
    ]
    story = "\n".join(explain(checkpoint.case_id, store.journal(checkpoint.case_id), "en"))
    assert "Jens rejected the corrections by Mette (Forkert dato)" in story
    assert "Confirmed by Jens (four eyes)." in story
    assert store.verify_journals()[1] == []


def test_the_report_counts_what_people_decided_per_rule_and_how_long_cases_waited(
    store: CheckpointStore, make_case: CaseFactory, rules: ChangeOfAddressRules
) -> None:
    service = DecisionService(store)
    routine = make_case(case_id="OK-1")
    store.record_reading(routine, [], process="change-of-address")
    kinds = ["approve", "approve", "manual", "contact_citizen"]
    for n, kind in enumerate(kinds):
        checkpoint = open_for(store, make_case(case_id=f"W-{n}", remarks="x"), rules)
        service.decide(checkpoint.checkpoint_id, kind=kind, decided_by="J", channel="cli")  # type: ignore[arg-type]
        store.finish(
            checkpoint.checkpoint_id,
            status="applied",
            kind="robot.closed",
            data={},
            outcome={"action": kind},
        )
    open_for(store, make_case(case_id="W-9", remarks="x"), rules)
    report = build_report(store)
    assert (report.cases_read, report.handled_by_robot_alone) == (6, 1)
    assert report.checkpoints == {"applied": 4, "open": 1}
    assert report.waiting_for_a_person.count == 4
    assert report.robot_after_decision.count == 4
    (remarks,) = report.rules
    assert (remarks.rule_id, remarks.fired) == ("remarks.present", 5)
    assert remarks.decisions == {"approve": 2, "manual": 1, "contact_citizen": 1}
    assert remarks.approved_unchanged_share == 0.5
    text = "\n".join(report_lines(report))
    assert "handled by the robot alone: 1" in text
    assert "remarks.present" in text


def test_the_report_counts_why_the_robot_handed_cases_over_by_error_code(
    store: CheckpointStore, make_case: CaseFactory
) -> None:
    store.record("F-1", "robot.failed", {"code": "system.http_503"})
    store.record("F-2", "robot.failed", {"code": "system.http_503"})
    store.record("F-3", "robot.failed", {"code": "system.unexpected_page"})
    refused = Reason(
        rule_id="robot.refused", message="refused", details={"code": "business.conflict"}
    )
    store.open_checkpoint(
        case=make_case(case_id="R-1"),
        reasons=[refused],
        proposal=PROPOSAL,
        screenshot=None,
        process="change-of-address",
        deadline_hours=48,
    )
    store.record("F-4", "checkpoint.failed", {"error": "TimeoutError: x", "code": "system.timeout"})
    report = build_report(store)
    assert report.errors == {
        "business.conflict": 1,
        "system.http_503": 2,
        "system.timeout": 1,
        "system.unexpected_page": 1,
    }
    text = "\n".join(report_lines(report))
    assert "system.http_503" in text
    assert "Why the robot stopped" in text
