"""Rules that read the notification alone: each fires, stays quiet, and holds its boundary."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from config.rules import ChangeOfAddressRules, MinorAloneRule, SwitchableRule
from tests.checkpoints.conftest import (
    ANNA,
    BO,
    CHILD,
    MOVE_DATE,
    NEW,
    OLD,
    RECEIVED_DAY,
    TEEN,
    CaseFactory,
    mover,
    reasons_by_id,
    resident,
)

# --- remarks.present ------------------------------------------------------------------


@pytest.mark.parametrize("remarks", ["Jeg flytter med min hund.", "x", "  ø  ", "<script>"])
def test_remarks_fire(make_case: CaseFactory, rules: ChangeOfAddressRules, remarks: str) -> None:
    reason = reasons_by_id(make_case(remarks=remarks), rules)["remarks.present"]
    assert reason.message == "Borgeren har skrevet en bemærkning, som en medarbejder skal læse."


@pytest.mark.parametrize("remarks", ["", " ", "\n\t \r\n", "\u00a0\u3000\u2003"])
def test_blank_remarks_do_not_fire(
    make_case: CaseFactory, rules: ChangeOfAddressRules, remarks: str
) -> None:
    assert "remarks.present" not in reasons_by_id(make_case(remarks=remarks), rules)


TAGS = "".join(chr(0xE0000 + ord(c)) for c in "hello")


@pytest.mark.parametrize(
    ("remarks", "codes"),
    [
        ("\u200b", "U+200B"),
        ("\u200b\u200b\ufeff\u2060", "U+200B, U+FEFF, U+2060"),
        ("\ufeff\u200b\u200c\u200d\u2060 \n", "U+FEFF, U+200B, U+200C, U+200D, U+2060"),
        (TAGS, "U+E0068, U+E0065, U+E006C, U+E006F"),
        ("\x00", "U+0000"),
        ("\u202e", "U+202E"),
    ],
)
def test_invisible_remarks_fire_and_are_named(
    make_case: CaseFactory, rules: ChangeOfAddressRules, remarks: str, codes: str
) -> None:
    """Invisible text is text: it fires, and the person is told what is hidden there."""
    reason = reasons_by_id(make_case(remarks=remarks), rules)["remarks.present"]
    assert reason.message == (
        "Borgeren har skrevet en bemærkning, som en medarbejder skal læse. Den indeholder "
        f"tegn, der ikke kan ses: {codes}."
    )
    assert reason.details["hidden_characters"] == codes


def test_one_visible_character_among_invisible_ones_fires(
    make_case: CaseFactory, rules: ChangeOfAddressRules
) -> None:
    assert "remarks.present" in reasons_by_id(make_case(remarks="\u200b \u00a0.\u200b"), rules)


def test_remarks_fire_when_the_rest_does_not_validate(
    make_case: CaseFactory, rules: ChangeOfAddressRules
) -> None:
    case = make_case(remarks="Ring til mig", move_date="i morgen")
    assert case.notification is None
    assert set(reasons_by_id(case, rules)) == {"remarks.present", "data.invalid"}


# --- data.invalid ---------------------------------------------------------------------


def test_valid_data_does_not_fire(make_case: CaseFactory, rules: ChangeOfAddressRules) -> None:
    assert "data.invalid" not in reasons_by_id(make_case(), rules)


@pytest.mark.parametrize(
    ("changes", "field", "label"),
    [
        ({"movers": [mover("3113901234")]}, "movers.0.cpr", "flytter 1: CPR-nummer »311390-XXXX«"),
        ({"move_date": "2026-13-45"}, "move_date", "flyttedato »2026-13-45«"),
        ({"movers": []}, "movers", "flyttere"),
        ({"new_address": None}, "new_address", "ny adresse (mangler)"),
        ({"new_address": {**NEW, "postcode": "88"}}, "new_address.postcode", "postnummer »88«"),
        ({"reporter_cpr": "12345"}, "reporter_cpr", "anmelderens CPR-nummer »XXXXXX-XXXX«"),
    ],
)
def test_each_malformed_field_fires(
    make_case: CaseFactory,
    rules: ChangeOfAddressRules,
    changes: dict[str, Any],
    field: str,
    label: str,
) -> None:
    case = make_case(**changes)
    assert case.notification is None
    reason = reasons_by_id(case, rules)["data.invalid"]
    assert field in reason.details
    assert label in reason.message
    assert reason.message.startswith("Nogle oplysninger på anmeldelsen kan ikke læses")


def test_every_problem_is_listed(make_case: CaseFactory, rules: ChangeOfAddressRules) -> None:
    case = make_case(movers=[mover("3113901234")], move_date="snart")
    reason = reasons_by_id(case, rules, "en")["data.invalid"]
    assert set(reason.details) == {"movers.0.cpr", "move_date"}
    assert 'mover 1: CPR number ("311390-XXXX")' in reason.message
    assert 'move date ("snart")' in reason.message


def test_raw_cpr_is_masked(make_case: CaseFactory, rules: ChangeOfAddressRules) -> None:
    reason = reasons_by_id(make_case(movers=[mover("3113901234")]), rules)["data.invalid"]
    assert "3113901234" not in reason.message + str(reason.details)
    assert reason.details["movers.0.cpr"].startswith('"311390-XXXX": ')


def test_no_notification_and_no_problems_still_fires(
    make_case: CaseFactory, rules: ChangeOfAddressRules
) -> None:
    case = make_case().model_copy(update={"notification": None, "enrichment": None})
    assert case.problems == []
    reasons = reasons_by_id(case, rules)
    assert set(reasons) == {"data.invalid"}
    assert reasons["data.invalid"].message.startswith("Anmeldelsens oplysninger kunne ikke læses")


# --- address.unchanged ----------------------------------------------------------------


def test_same_address_fires(make_case: CaseFactory, rules: ChangeOfAddressRules) -> None:
    reason = reasons_by_id(make_case(new_address=dict(OLD)), rules)["address.unchanged"]
    assert "(Vestergade 12, 2., th, 8800 Viborg)" in reason.message


def test_same_address_written_differently_fires(
    make_case: CaseFactory, rules: ChangeOfAddressRules
) -> None:
    shouted = {**OLD, "street": "  VESTERGADE ", "door": "TH", "city": "VIBORG"}
    assert "address.unchanged" in reasons_by_id(make_case(new_address=shouted), rules)


def test_other_floor_is_another_address(
    make_case: CaseFactory, rules: ChangeOfAddressRules
) -> None:
    assert "address.unchanged" not in reasons_by_id(
        make_case(new_address={**OLD, "floor": "3"}), rules
    )
    assert "address.unchanged" not in reasons_by_id(make_case(), rules)


def test_unchanged_switched_off(make_case: CaseFactory, rules: ChangeOfAddressRules) -> None:
    off = rules.model_copy(update={"address_unchanged": SwitchableRule(enabled=False)})
    assert "address.unchanged" not in reasons_by_id(make_case(new_address=dict(OLD)), off)


# --- movers.minor_alone ---------------------------------------------------------------


def test_child_alone_fires(make_case: CaseFactory, rules: ChangeOfAddressRules) -> None:
    reason = reasons_by_id(make_case(movers=[mover(CHILD)]), rules)["movers.minor_alone"]
    assert "Ingen af flytterne er fyldt 18 år på flyttedatoen 15.11.2026" in reason.message
    assert reason.details["oldest_age"] == "14"


def test_child_with_adult_does_not_fire(
    make_case: CaseFactory, rules: ChangeOfAddressRules
) -> None:
    case = make_case(movers=[mover(CHILD), mover(ANNA)])
    assert "movers.minor_alone" not in reasons_by_id(case, rules)


def test_eighteenth_birthday_on_the_move_date_is_adult(
    make_case: CaseFactory, rules: ChangeOfAddressRules
) -> None:
    on_birthday = make_case(movers=[mover(TEEN)], move_date="2026-11-15")
    day_before = make_case(movers=[mover(TEEN)], move_date="2026-11-14")
    assert "movers.minor_alone" not in reasons_by_id(on_birthday, rules)
    assert "movers.minor_alone" in reasons_by_id(day_before, rules)


def test_adult_age_is_configurable(make_case: CaseFactory, rules: ChangeOfAddressRules) -> None:
    older = rules.model_copy(update={"movers_minor_alone": MinorAloneRule(adult_age=21)})
    reason = reasons_by_id(make_case(movers=[mover(TEEN)]), older)["movers.minor_alone"]
    assert "fyldt 21 år" in reason.message


def test_minor_alone_switched_off(make_case: CaseFactory, rules: ChangeOfAddressRules) -> None:
    off = rules.model_copy(update={"movers_minor_alone": MinorAloneRule(enabled=False)})
    assert "movers.minor_alone" not in reasons_by_id(make_case(movers=[mover(CHILD)]), off)


# --- movers.many ----------------------------------------------------------------------


def _movers(count: int) -> list[dict[str, str]]:
    return [mover(ANNA), *(mover(resident(i).cpr) for i in range(1, count))]


def test_six_movers_do_not_fire_seven_do(
    make_case: CaseFactory, rules: ChangeOfAddressRules
) -> None:
    assert "movers.many" not in reasons_by_id(make_case(movers=_movers(6)), rules)
    reason = reasons_by_id(make_case(movers=_movers(7)), rules)["movers.many"]
    assert reason.message.startswith("Anmeldelsen har 7 flyttere, og grænsen er 6.")
    assert reason.details["count"] == "7"


def test_one_person_listed_twice_counts_once(
    make_case: CaseFactory, rules: ChangeOfAddressRules
) -> None:
    case = make_case(movers=[*_movers(6), mover(ANNA)])
    assert "movers.many" not in reasons_by_id(case, rules)


def test_few_movers_do_not_fire(make_case: CaseFactory, rules: ChangeOfAddressRules) -> None:
    assert "movers.many" not in reasons_by_id(make_case(movers=[mover(ANNA), mover(BO)]), rules)


# --- date.far_ahead and date.long_ago -------------------------------------------------


def _moving(days_after_receipt: int) -> str:
    return (RECEIVED_DAY + timedelta(days=days_after_receipt)).isoformat()


def test_far_ahead_boundary(make_case: CaseFactory, rules: ChangeOfAddressRules) -> None:
    assert "date.far_ahead" not in reasons_by_id(make_case(move_date=_moving(28)), rules)
    reason = reasons_by_id(make_case(move_date=_moving(29)), rules)["date.far_ahead"]
    assert reason.message.startswith(
        "Flyttedatoen 19.12.2026 ligger 29 dage efter den dag, anmeldelsen blev modtaget "
        "(20.11.2026), og grænsen er 28 dage."
    )
    assert reason.details == {
        "move_date": "2026-12-19",
        "received": "2026-11-20",
        "days": "29",
        "limit": "28",
    }


def test_long_ago_boundary(make_case: CaseFactory, rules: ChangeOfAddressRules) -> None:
    assert "date.long_ago" not in reasons_by_id(make_case(move_date=_moving(-365)), rules)
    reason = reasons_by_id(make_case(move_date=_moving(-366)), rules)["date.long_ago"]
    assert "ligger 366 dage før" in reason.message


def test_ordinary_dates_fire_neither(make_case: CaseFactory, rules: ChangeOfAddressRules) -> None:
    for days in (-30, -1, 0, 1, 14):
        reasons = reasons_by_id(make_case(move_date=_moving(days)), rules)
        assert not {"date.far_ahead", "date.long_ago"} & set(reasons), days
    assert MOVE_DATE < RECEIVED_DAY  # the default case moved before it was reported


def test_received_day_is_the_day_in_its_own_time_zone(
    make_case: CaseFactory, rules: ChangeOfAddressRules
) -> None:
    # 23:30 in Denmark is already the next day in UTC; the Danish day counts.
    late = make_case(received_at="2026-11-20T23:30:00+01:00", move_date=_moving(28))
    assert "date.far_ahead" not in reasons_by_id(late, rules)
