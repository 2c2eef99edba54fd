"""Rules that compare the notification with the registers: each fires, stays quiet, and holds."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from config.rules import ChangeOfAddressRules, SwitchableRule
from flows.change_of_address.case import (
    CaseFile,
    CaseStatus,
    Person,
    RegisterAddress,
    RelatedCase,
    UnitType,
)
from tests.checkpoints.conftest import (
    ANNA,
    BO,
    CASE_ID,
    CaseFactory,
    mover,
    reasons_by_id,
    resident,
)

RECEIVED = datetime(2026, 11, 20, 9, 14, tzinfo=timezone(timedelta(hours=1)))

# --- cpr.unknown ----------------------------------------------------------------------


def test_known_movers_do_not_fire(make_case: CaseFactory, rules: ChangeOfAddressRules) -> None:
    assert "cpr.unknown" not in reasons_by_id(make_case(movers=[mover(ANNA), mover(BO)]), rules)


def test_mover_not_in_register_fires(make_case: CaseFactory, rules: ChangeOfAddressRules) -> None:
    case = make_case(movers=[mover(ANNA), mover(BO)])
    case = make_case.with_registers(
        case, movers={ANNA: Person(cpr=ANNA, name="Anna Jensen"), BO: None}
    )
    reason = reasons_by_id(case, rules)["cpr.unknown"]
    assert reason.message.startswith(
        "En eller flere flyttere findes ikke i CPR-registret (020285-XXXX)."
    )
    assert reason.details["missing"] == "020285-XXXX"


def test_mover_the_registers_did_not_look_up_fires(
    make_case: CaseFactory, rules: ChangeOfAddressRules
) -> None:
    case = make_case.with_registers(make_case(), movers={})
    assert "cpr.unknown" in reasons_by_id(case, rules)


def test_other_name_fires(make_case: CaseFactory, rules: ChangeOfAddressRules) -> None:
    case = make_case(movers=[mover(ANNA, "Anne Jensen")])
    case = make_case.with_registers(case, movers={ANNA: Person(cpr=ANNA, name="Anna Jensen")})
    reason = reasons_by_id(case, rules, "en")["cpr.unknown"]
    assert reason.message.startswith(
        "The name on the notification does not match the population register (010190-XXXX)."
    )
    assert "Anne" not in reason.message  # names stay in the case, not in the reason


def test_missing_and_other_name_together(
    make_case: CaseFactory, rules: ChangeOfAddressRules
) -> None:
    case = make_case(movers=[mover(ANNA, "Anne Jensen"), mover(BO)])
    case = make_case.with_registers(case, movers={ANNA: Person(cpr=ANNA, name="Anna"), BO: None})
    reason = reasons_by_id(case, rules)["cpr.unknown"]
    assert "(020285-XXXX)" in reason.message
    assert "(010190-XXXX)" in reason.message


def test_name_differing_in_case_and_spacing_only_does_not_fire(
    make_case: CaseFactory, rules: ChangeOfAddressRules
) -> None:
    case = make_case(movers=[mover(ANNA, "ANNA   jensen")])
    case = make_case.with_registers(case, movers={ANNA: Person(cpr=ANNA, name=" Anna Jensen\t")})
    assert "cpr.unknown" not in reasons_by_id(case, rules)


def test_register_cpr_with_hyphen_still_matches(
    make_case: CaseFactory, rules: ChangeOfAddressRules
) -> None:
    registered = {"010190-1234": Person(cpr="010190-1234", name="Anna Jensen")}
    case = make_case.with_registers(make_case(), movers=registered)
    assert "cpr.unknown" not in reasons_by_id(case, rules)


def test_cpr_unknown_switched_off(make_case: CaseFactory, rules: ChangeOfAddressRules) -> None:
    off = rules.model_copy(update={"cpr_unknown": SwitchableRule(enabled=False)})
    case = make_case.with_registers(make_case(), movers={ANNA: None})
    assert "cpr.unknown" not in reasons_by_id(case, off)


# --- address.unknown ------------------------------------------------------------------


def test_unknown_address_fires(make_case: CaseFactory, rules: ChangeOfAddressRules) -> None:
    case = make_case.with_registers(make_case(), new_address=None)
    reason = reasons_by_id(case, rules)["address.unknown"]
    assert reason.message == (
        "Den nye adresse, Sct. Mathias Gade 5, 8800 Viborg, findes ikke i adresseregistret. "
        "En medarbejder skal finde den rigtige adresse."
    )


def test_known_address_does_not_fire(make_case: CaseFactory, rules: ChangeOfAddressRules) -> None:
    assert "address.unknown" not in reasons_by_id(make_case(), rules)


# --- address.not_dwelling -------------------------------------------------------------


def _unit(make_case: CaseFactory, unit_type: UnitType) -> CaseFile:
    case = make_case()
    assert case.enrichment is not None
    assert case.enrichment.new_address is not None
    found: RegisterAddress = case.enrichment.new_address.model_copy(update={"unit_type": unit_type})
    return make_case.with_registers(case, new_address=found)


@pytest.mark.parametrize(
    ("unit_type", "words"),
    [("business", "men som erhverv"), ("summer_house", "men som sommerhus"),
     ("institution", "men som institution")],
)  # fmt: skip
def test_not_a_dwelling_fires(
    make_case: CaseFactory, rules: ChangeOfAddressRules, unit_type: UnitType, words: str
) -> None:
    reason = reasons_by_id(_unit(make_case, unit_type), rules)["address.not_dwelling"]
    assert words in reason.message
    assert reason.details["unit_type"] == unit_type


def test_dwelling_does_not_fire(make_case: CaseFactory, rules: ChangeOfAddressRules) -> None:
    assert "address.not_dwelling" not in reasons_by_id(_unit(make_case, "dwelling"), rules)


def test_unknown_address_is_not_also_not_a_dwelling(
    make_case: CaseFactory, rules: ChangeOfAddressRules
) -> None:
    reasons = reasons_by_id(make_case.with_registers(make_case(), new_address=None), rules)
    assert "address.unknown" in reasons
    assert "address.not_dwelling" not in reasons


def test_not_dwelling_switched_off(make_case: CaseFactory, rules: ChangeOfAddressRules) -> None:
    off = rules.model_copy(update={"address_not_dwelling": SwitchableRule(enabled=False)})
    assert "address.not_dwelling" not in reasons_by_id(_unit(make_case, "business"), off)


# --- address.protected ----------------------------------------------------------------


def test_protected_mover_fires(make_case: CaseFactory, rules: ChangeOfAddressRules) -> None:
    protected = {ANNA: Person(cpr=ANNA, name="Anna Jensen", protected_address=True)}
    reason = reasons_by_id(make_case.with_registers(make_case(), movers=protected), rules)[
        "address.protected"
    ]
    assert reason.message.startswith("En flytter eller en beboer på den nye adresse har navne-")
    assert reason.details == {"protected_movers": "1", "protected_residents": "0"}


def test_protected_resident_fires(make_case: CaseFactory, rules: ChangeOfAddressRules) -> None:
    residents = [resident(1), resident(2, protected=True)]
    case = make_case.with_registers(make_case(), residents_at_new_address=residents)
    reason = reasons_by_id(case, rules)["address.protected"]
    assert reason.details["protected_residents"] == "1"
    assert "Sct. Mathias" not in reason.message  # where a protected person lives stays out


def test_nobody_protected_does_not_fire(
    make_case: CaseFactory, rules: ChangeOfAddressRules
) -> None:
    case = make_case.with_registers(make_case(), residents_at_new_address=[resident(1)])
    assert "address.protected" not in reasons_by_id(case, rules)


# --- address.crowded ------------------------------------------------------------------


def _living_there(make_case: CaseFactory, already: int, movers: int = 1) -> CaseFile:
    case = make_case(movers=[mover(ANNA), mover(BO)][:movers])
    residents = [resident(i) for i in range(1, already + 1)]
    return make_case.with_registers(case, residents_at_new_address=residents)


def test_eight_after_the_move_does_not_fire_nine_do(
    make_case: CaseFactory, rules: ChangeOfAddressRules
) -> None:
    assert "address.crowded" not in reasons_by_id(_living_there(make_case, 7), rules)
    reason = reasons_by_id(_living_there(make_case, 8), rules)["address.crowded"]
    assert reason.message.startswith(
        "Efter flytningen vil der bo 9 personer på den nye adresse, og grænsen er 8."
    )
    assert reason.details == {"count": "9", "limit": "8", "already_living_there": "8"}


def test_movers_count_in_the_crowd(make_case: CaseFactory, rules: ChangeOfAddressRules) -> None:
    assert "address.crowded" in reasons_by_id(_living_there(make_case, 7, movers=2), rules)


def test_a_mover_already_registered_there_counts_once(
    make_case: CaseFactory, rules: ChangeOfAddressRules
) -> None:
    case = make_case()
    residents = [*(resident(i) for i in range(1, 8)), Person(cpr=ANNA, name="Anna Jensen")]
    case = make_case.with_registers(case, residents_at_new_address=residents)
    assert "address.crowded" not in reasons_by_id(case, rules)


# --- case.duplicate -------------------------------------------------------------------


def _related(make_case: CaseFactory, *others: RelatedCase) -> CaseFile:
    return make_case.with_registers(make_case(), related_cases=list(others))


def _handled(days_before: int, status: CaseStatus = "registered") -> RelatedCase:
    return RelatedCase(
        case_id="FLY-2026-000099", status=status, handled_at=RECEIVED - timedelta(days=days_before)
    )


@pytest.mark.parametrize("status", ["open", "in_progress", "awaiting_citizen"])
def test_open_other_case_fires(
    make_case: CaseFactory, rules: ChangeOfAddressRules, status: CaseStatus
) -> None:
    other = RelatedCase(case_id="FLY-2026-000099", status=status)
    reason = reasons_by_id(_related(make_case, other), rules)["case.duplicate"]
    assert "FLY-2026-000099" in reason.message
    assert reason.details == {"FLY-2026-000099": status}


def test_no_other_case_does_not_fire(make_case: CaseFactory, rules: ChangeOfAddressRules) -> None:
    assert "case.duplicate" not in reasons_by_id(make_case(), rules)


def test_the_case_itself_is_not_a_duplicate(
    make_case: CaseFactory, rules: ChangeOfAddressRules
) -> None:
    itself = RelatedCase(case_id=CASE_ID, status="in_progress")
    assert "case.duplicate" not in reasons_by_id(_related(make_case, itself), rules)


def test_handled_within_thirty_days_fires_after_does_not(
    make_case: CaseFactory, rules: ChangeOfAddressRules
) -> None:
    reason = reasons_by_id(_related(make_case, _handled(30)), rules)["case.duplicate"]
    assert "FLY-2026-000099 (registreret 21.10.2026)" in reason.message
    assert "case.duplicate" not in reasons_by_id(_related(make_case, _handled(31)), rules)


def test_handled_after_this_one_arrived_fires(
    make_case: CaseFactory, rules: ChangeOfAddressRules
) -> None:
    assert "case.duplicate" in reasons_by_id(_related(make_case, _handled(-2, "manual")), rules)


def test_handled_at_an_unknown_time_fires(
    make_case: CaseFactory, rules: ChangeOfAddressRules
) -> None:
    other = RelatedCase(case_id="FLY-2026-000099", status="manual")
    assert "case.duplicate" in reasons_by_id(_related(make_case, other), rules)
