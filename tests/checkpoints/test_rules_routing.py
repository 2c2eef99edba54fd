"""`route` as a whole: what runs when, failing closed, configuration, languages and privacy."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from config.rules import ChangeOfAddressRules, SwitchableRule, load_rules_config
from flows.change_of_address.case import (
    CaseFile,
    FieldProblem,
    Notification,
    Person,
    Reason,
    RelatedCase,
)
from flows.change_of_address.rules import RULE_IDS, RULES, route
from flows.change_of_address.rules_base import Fired
from tests.checkpoints.conftest import (
    ANNA,
    BO,
    CHILD,
    OLD,
    RECEIVED_DAY,
    CaseFactory,
    mover,
    reasons_by_id,
    resident,
)

REGISTER_RULES = {r.id for r in RULES.values() if r.needs == "registers"}
SECRET_REMARKS = "Hemmeligt: min nye kæreste bor her, CPR 0202851235\u200b\nRing ikke før kl. 10"


def _minor(day: int) -> str:
    return f"{day:02d}0110{4100 + day:04d}"  # born in 2010


def _everything_case(make_case: CaseFactory) -> CaseFile:
    """A case on which every rule fires but address.unknown and date.long_ago."""
    minors = [mover(_minor(day)) for day in range(1, 8)]
    minors[1] = mover(_minor(2), "Et Andet Navn")
    case = make_case(
        remarks=SECRET_REMARKS,
        reporter_cpr=BO,
        movers=minors,
        new_address=dict(OLD),
        move_date=(RECEIVED_DAY + timedelta(days=60)).isoformat(),
    )
    assert case.enrichment is not None
    assert case.enrichment.new_address is not None
    registered: dict[str, Person | None] = {
        m["cpr"]: Person(cpr=m["cpr"], name=m["name"]) for m in minors
    }
    registered[_minor(1)] = Person(cpr=_minor(1), name=minors[0]["name"], protected_address=True)
    registered[_minor(2)] = Person(cpr=_minor(2), name="Barn To")  # not "Et Andet Navn"
    registered[_minor(3)] = None  # not in the population register
    case = make_case.with_registers(
        case,
        new_address=case.enrichment.new_address.model_copy(update={"unit_type": "business"}),
        movers=registered,
        residents_at_new_address=[resident(i) for i in range(1, 9)],
        related_cases=[RelatedCase(case_id="FLY-2026-000099", status="open")],
    )
    problem = FieldProblem(field="movers.0.cpr", raw=CHILD, message=f"odd value {CHILD}")
    return case.model_copy(update={"problems": [problem]})


def _other_case(make_case: CaseFactory) -> CaseFile:
    """A case on which address.unknown and date.long_ago fire."""
    case = make_case(
        remarks=SECRET_REMARKS, move_date=(RECEIVED_DAY - timedelta(days=800)).isoformat()
    )
    return make_case.with_registers(case, new_address=None)


def _full_cprs(case: CaseFile) -> set[str]:
    found = set(re.findall(r"\d{10}", str(case.raw) + str(case.problems)))
    if case.enrichment is not None:
        found |= {p.cpr for p in case.enrichment.residents_at_new_address}
        found |= set(case.enrichment.movers)
    return found


def _leaks(reason: Reason, case: CaseFile) -> list[str]:
    text = " ".join([reason.message, *reason.details, *reason.details.values()])
    leaks = [cpr for cpr in _full_cprs(case) if cpr in text or f"{cpr[:6]}-{cpr[6:]}" in text]
    leaks += [line for line in case.remarks.splitlines() if line.strip() and line.strip() in text]
    leaks += ["remarks word"] if re.search(r"kæreste|Hemmeligt|Ring ikke", text) else []
    return leaks


# --- what runs when -------------------------------------------------------------------


def test_routine_case_goes_to_the_robot(
    make_case: CaseFactory, rules: ChangeOfAddressRules
) -> None:
    assert route(make_case(), config=rules) == []


def test_the_crafted_cases_fire_every_rule(
    make_case: CaseFactory, rules: ChangeOfAddressRules
) -> None:
    everything = reasons_by_id(_everything_case(make_case), rules)
    assert set(everything) == set(RULE_IDS) - {"address.unknown", "date.long_ago"}
    assert set(reasons_by_id(_other_case(make_case), rules)) == {
        "remarks.present",
        "address.unknown",
        "date.long_ago",
    }


def test_reasons_come_in_rule_order(make_case: CaseFactory, rules: ChangeOfAddressRules) -> None:
    ids = [r.rule_id for r in route(_everything_case(make_case), config=rules)]
    assert ids == [rule_id for rule_id in RULE_IDS if rule_id in ids]


def test_invalid_data_runs_only_remarks_and_data_rules(
    make_case: CaseFactory, rules: ChangeOfAddressRules
) -> None:
    # Also the same address and a child alone: rules that must not run on invalid data.
    case = make_case(remarks="hej", move_date="32/13", new_address=dict(OLD), movers=[mover(CHILD)])
    assert case.notification is None
    assert [r.rule_id for r in route(case, config=rules)] == ["remarks.present", "data.invalid"]


def test_unread_registers_fire_every_register_rule(
    make_case: CaseFactory, rules: ChangeOfAddressRules
) -> None:
    reasons = reasons_by_id(make_case(registers=False), rules)
    assert set(reasons) == REGISTER_RULES
    assert {
        "cpr.unknown",
        "address.unknown",
        "address.not_dwelling",
        "address.protected",
        "address.crowded",
        "case.duplicate",
    } == REGISTER_RULES
    assert reasons["address.unknown"].message == (
        "Robotten kunne ikke kontrollere, om den nye adresse findes i adresseregistret, "
        "fordi registrene ikke kunne læses. En medarbejder skal se sagen."
    )


def test_unread_registers_skip_switched_off_rules(
    make_case: CaseFactory, rules: ChangeOfAddressRules
) -> None:
    off = rules.model_copy(
        update={
            "cpr_unknown": SwitchableRule(enabled=False),
            "address_not_dwelling": SwitchableRule(enabled=False),
        }
    )
    reasons = reasons_by_id(make_case(registers=False), off)
    assert set(reasons) == REGISTER_RULES - {"cpr.unknown", "address.not_dwelling"}


# --- failing closed -------------------------------------------------------------------


def _raising(error: Exception) -> Callable[[CaseFile, ChangeOfAddressRules], Fired | None]:
    def check(case: CaseFile, config: ChangeOfAddressRules) -> Fired | None:
        raise error

    return check


@pytest.mark.parametrize("rule_id", RULE_IDS)
def test_a_raising_rule_counts_as_fired(
    make_case: CaseFactory,
    rules: ChangeOfAddressRules,
    monkeypatch: pytest.MonkeyPatch,
    rule_id: str,
) -> None:
    broken = dataclasses.replace(RULES[rule_id], check=_raising(KeyError(ANNA)))
    monkeypatch.setitem(RULES, rule_id, broken)
    reasons = reasons_by_id(make_case(), rules, "en")
    assert set(reasons) == {rule_id}
    assert reasons[rule_id].details == {"error": "KeyError: '010190-XXXX'"}
    assert "because the check failed (KeyError: '010190-XXXX')" in reasons[rule_id].message


def test_a_raising_rule_never_repeats_the_remarks(
    make_case: CaseFactory, rules: ChangeOfAddressRules, monkeypatch: pytest.MonkeyPatch
) -> None:
    error = ValueError(f"cannot parse {SECRET_REMARKS!s}")
    monkeypatch.setitem(
        RULES, "movers.many", dataclasses.replace(RULES["movers.many"], check=_raising(error))
    )
    case = make_case(remarks=SECRET_REMARKS)
    reason = reasons_by_id(case, rules)["movers.many"]
    assert reason.details == {"error": "ValueError: (…)"}
    assert not _leaks(reason, case)


def test_a_switched_off_rule_does_not_run(
    make_case: CaseFactory, rules: ChangeOfAddressRules, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = dataclasses.replace(RULES["cpr.unknown"], check=_raising(RuntimeError("boom")))
    monkeypatch.setitem(RULES, "cpr.unknown", broken)
    off = rules.model_copy(update={"cpr_unknown": SwitchableRule(enabled=False)})
    assert route(make_case(), config=off) == []


def test_a_real_failure_inside_a_rule_fails_closed(
    make_case: CaseFactory, rules: ChangeOfAddressRules
) -> None:
    # A notification that skipped validation: 31 February is no birth date.
    case = make_case()
    assert case.notification is not None
    bad = case.notification.movers[0].model_copy(update={"cpr": "3102901234"})
    notification = Notification.model_construct(**{**dict(case.notification), "movers": [bad]})
    case = case.model_copy(update={"notification": notification})
    reason = reasons_by_id(case, rules)["movers.minor_alone"]
    assert reason.details["error"].startswith("InvalidComponent: ")
    assert "3102901234" not in reason.message


# --- configuration --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("yaml_text", "rule_id", "changes"),
    [
        ("movers.many: {max_movers: 1}", "movers.many", {"movers": [mover(ANNA), mover(BO)]}),
        ("date.far_ahead: {max_days: 3}", "date.far_ahead", {"move_date": "2026-11-24"}),
        ("date.long_ago: {max_days: 4}", "date.long_ago", {"move_date": "2026-11-15"}),
        ("movers.minor_alone: {adult_age: 40}", "movers.minor_alone", {}),
    ],
)
def test_threshold_changes_take_effect(
    make_case: CaseFactory,
    rules: ChangeOfAddressRules,
    rules_file: Callable[[str], Path],
    yaml_text: str,
    rule_id: str,
    changes: dict[str, Any],
) -> None:
    case = make_case(**changes)
    assert rule_id not in reasons_by_id(case, rules)
    assert rule_id in reasons_by_id(case, load_rules_config(rules_file(yaml_text)))


def test_crowding_and_duplicate_thresholds_take_effect(
    make_case: CaseFactory, rules: ChangeOfAddressRules, rules_file: Callable[[str], Path]
) -> None:
    handled = RelatedCase(
        case_id="FLY-2026-000099",
        status="registered",
        handled_at=datetime(2026, 10, 11, 12, 0, tzinfo=UTC),  # 40 days before receipt
    )
    case = make_case.with_registers(
        make_case(), residents_at_new_address=[resident(1)], related_cases=[handled]
    )
    assert route(case, config=rules) == []
    stricter = load_rules_config(
        rules_file("address.crowded: {max_residents: 1}\ncase.duplicate: {within_days: 40}\n")
    )
    assert set(reasons_by_id(case, stricter)) == {"address.crowded", "case.duplicate"}
    looser = load_rules_config(rules_file("case.duplicate: {within_days: 39}\n"))
    assert route(case, config=looser) == []


# --- languages and privacy ------------------------------------------------------------


def test_danish_is_the_default(make_case: CaseFactory, rules: ChangeOfAddressRules) -> None:
    case = make_case(remarks="hej")
    assert route(case, config=rules) == route(case, config=rules, locale="da")


def test_every_message_exists_in_both_languages(
    make_case: CaseFactory, rules: ChangeOfAddressRules
) -> None:
    seen = set()
    for case in (_everything_case(make_case), _other_case(make_case), make_case(registers=False)):
        danish, english = reasons_by_id(case, rules, "da"), reasons_by_id(case, rules, "en")
        assert set(danish) == set(english)
        for rule_id, reason in danish.items():
            assert reason.message != english[rule_id].message, rule_id
            assert reason.details == english[rule_id].details, rule_id
            seen.add(rule_id)
    assert seen == set(RULE_IDS)


@pytest.mark.parametrize("locale", ["da", "en"])
def test_no_full_cpr_and_no_remarks_in_any_reason(
    make_case: CaseFactory, rules: ChangeOfAddressRules, locale: str
) -> None:
    cases = [
        _everything_case(make_case),
        _other_case(make_case),
        make_case(remarks=SECRET_REMARKS, movers=[mover("3113901234")], reporter_cpr="0101901234x"),
        make_case(remarks=SECRET_REMARKS, registers=False),
    ]
    checked = set()
    for case in cases:
        assert _full_cprs(case), "the crafted case should hold full CPR numbers"
        for rule_id, reason in reasons_by_id(case, rules, locale).items():
            assert not _leaks(reason, case), (rule_id, _leaks(reason, case))
            checked.add(rule_id)
    assert checked == set(RULE_IDS)


@pytest.mark.parametrize("rule_id", RULE_IDS)
def test_no_full_cpr_and_no_remarks_when_a_rule_raises(
    make_case: CaseFactory,
    rules: ChangeOfAddressRules,
    monkeypatch: pytest.MonkeyPatch,
    rule_id: str,
) -> None:
    case = _everything_case(make_case)
    for error in (ValueError(f"{ANNA} {CHILD}"), RuntimeError(SECRET_REMARKS.splitlines()[1])):
        broken = dataclasses.replace(RULES[rule_id], check=_raising(error))
        monkeypatch.setitem(RULES, rule_id, broken)
        reason = reasons_by_id(case, rules)[rule_id]
        assert "error" in reason.details
        assert not _leaks(reason, case), _leaks(reason, case)
