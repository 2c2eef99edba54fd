"""The process API: load-time refusals, routing that fails closed, forms and edits."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, Field

from checkpoints import processes
from checkpoints.forms import EditError
from checkpoints.process import (
    APPROVE,
    EDIT,
    MANUAL,
    REJECT,
    CaseView,
    ClearanceError,
    Decided,
    Fact,
    Fired,
    Outcome,
    Process,
    ProcessError,
    RuleSettings,
    Text,
    digest,
)


class Case(BaseModel):
    case_id: str
    status: str = "open"
    amount: str = "10"
    remarks: str = ""
    note: str | None = None


class Form(BaseModel):
    amount: int = Field(ge=0)
    note: str | None = None


class Limit(RuleSettings):
    max_amount: int = 100


def declare(
    *,
    decisions: tuple[Any, ...] = (APPROVE, EDIT, REJECT),
    handlers: tuple[Any, ...] = (APPROVE, EDIT, REJECT),
    form: type[BaseModel] = Form,
    mandatory: bool = True,
    rule_twice: bool = False,
) -> Process[Case, Any]:
    p: Process[Case, Any] = Process(
        "test-process",
        title=Text(da="Prøve", en="Test"),
        case=Case,
        form=form,
        decisions=decisions,
        end_status={k: "done" for k in decisions},
    )

    @p.rule("remarks.present", mandatory=mandatory, checks=Text("bem", "remarks"),
            text=Text(da="Bemærkning", en="A remark"))  # fmt: skip
    def remarks(case: Case, settings: RuleSettings) -> Fired | None:
        return Fired() if case.remarks.strip() else None

    @p.rule("amount.large", settings=Limit, checks=Text("beløb", "amount"),
            text=Text(da="Beløb {amount}", en="Amount {amount} above {limit}"))  # fmt: skip
    def large(case: Case, settings: Limit) -> Fired | None:
        if int(case.amount) > settings.max_amount:
            return Fired(params={"amount": case.amount, "limit": str(settings.max_amount)})
        return None

    if rule_twice:
        p.rule("amount.large", checks=Text("x", "x"), text=Text("x", "x"))(large)

    @p.view
    def view(case: Case, locale: Any) -> CaseView:
        return CaseView(facts=[Fact(label="Amount", value=case.amount)], remarks=case.remarks)

    @p.propose
    def propose(case: Case, locale: Any) -> str:
        return f"Pay {case.amount}"

    @p.form_of
    def form_of(case: Case) -> dict[str, Any]:
        return {"amount": case.amount, "note": case.note}

    async def act(robot: Any, case: Case, decided: Decided) -> Outcome:
        return Outcome(action="done")

    for kind in handlers:
        p.on_decision(kind)(act)

    async def read(robot: Any, case_id: str) -> Case:
        return Case(case_id=case_id)

    async def nothing(*args: Any) -> Any:
        return []

    p.system(robot=lambda page, target: object(), read=read, inbox=nothing, set_aside=nothing)
    return p


def test_a_well_declared_process_passes_its_checks() -> None:
    declare().validate()


@pytest.mark.parametrize(
    ("kwargs", "problem"),
    [
        ({"rule_twice": True}, "rule 'amount.large' is declared twice"),
        ({"handlers": (APPROVE, EDIT)}, "decision 'reject' has no carry-out"),
        ({"decisions": (APPROVE, EDIT), "handlers": (APPROVE, EDIT, MANUAL)},
         "a carry-out is declared for 'manual', which is not a decision"),
        ({"mandatory": False}, "no mandatory rule"),
        ({"decisions": (EDIT, REJECT), "handlers": (EDIT, REJECT)}, "must let a person approve"),
    ],
)  # fmt: skip
def test_a_process_declared_wrongly_is_refused_at_load_naming_it(
    kwargs: dict[str, Any], problem: str
) -> None:
    with pytest.raises(ProcessError) as refused:
        processes.register(declare(**kwargs))
    assert "test-process" in str(refused.value)
    assert problem in str(refused.value)
    assert processes.find("test-process") is None


def test_a_form_field_the_case_model_lacks_is_refused() -> None:
    class Stray(BaseModel):
        amount: int
        iban: str

    with pytest.raises(ProcessError, match="the form field 'iban' is not in the case model Case"):
        declare(form=Stray).validate()


def test_switching_off_a_mandatory_rule_is_refused_naming_process_and_rule() -> None:
    p = declare()
    with pytest.raises(ProcessError) as refused:
        p.settings_from({"remarks.present": {"enabled": False}})
    assert str(refused.value) == (
        "process 'test-process': rule 'remarks.present' is mandatory and cannot be switched off"
    )


def test_rules_file_errors_name_the_rule() -> None:
    p = declare()
    with pytest.raises(ProcessError, match=r"unknown rules: amount\.tiny"):
        p.settings_from({"amount.tiny": {}})
    with pytest.raises(ProcessError, match=r"rule 'amount\.large': max_amount"):
        p.settings_from({"amount.large": {"max_amount": "many"}})
    settings = p.settings_from({"amount.large": {"max_amount": 5}})
    assert isinstance(settings["amount.large"], Limit)
    assert settings["amount.large"].max_amount == 5


def test_routing_uses_the_settings_and_the_texts() -> None:
    p = declare()
    settings = p.settings_from({"amount.large": {"max_amount": 5}})
    reasons = p.route(Case(case_id="C1", amount="7"), settings, "en")
    assert [(r.rule_id, r.message) for r in reasons] == [("amount.large", "Amount 7 above 5")]
    assert p.route(Case(case_id="C1", amount="3"), settings, "en") == []


def test_routing_fails_closed_on_a_form_that_does_not_validate_and_on_a_check_that_raises() -> None:
    p = declare()
    reasons = p.route(Case(case_id="C1", amount="ten"), p.settings_from({}), "en")
    ids = [r.rule_id for r in reasons]
    # The form does not validate (data.invalid), and the check itself raised (fired).
    assert ids == ["data.invalid", "amount.large"]
    assert "amount" in reasons[0].message
    assert "could not check" in reasons[1].message


def test_reasons_and_views_never_show_a_full_cpr_number() -> None:
    p = declare()
    case = Case(case_id="C1", amount="0101901234")
    view = p.show(case, "en")
    assert view.facts[0].value == "010190-XXXX"
    assert p.show(case, "en", full_cpr=True).facts[0].value == "0101901234"
    assert "0101901234" not in p.proposal(Case(case_id="C1", amount="0101901234"), "en")


def test_edits_are_validated_by_the_form_and_report_each_change() -> None:
    p = declare()
    case = Case(case_id="C1", amount="10", note="x")
    values, changes = p.apply_edits(case, {"amount": "12", "note": "-"})
    assert values == {"amount": 12, "note": None}
    assert [(c.field, c.before, c.after) for c in changes] == [
        ("amount", "10", "12"),
        ("note", "x", None),
    ]
    with pytest.raises(EditError, match="unknown field 'iban'; editable fields: amount, note"):
        p.apply_edits(case, {"iban": "1"})
    with pytest.raises(EditError) as invalid:
        p.apply_edits(case, {"amount": "-1"})
    assert "amount" in invalid.value.problems


def test_the_robot_acts_only_on_the_cleared_values() -> None:
    p = declare()
    routine = p.routine(Case(case_id="C1", amount="10"))
    assert routine.form(Form).amount == 10
    forged = routine.model_copy(update={"values": {"amount": 99, "note": None}})
    with pytest.raises(ClearanceError, match="not the ones that were cleared"):
        forged.form(Form)
    with pytest.raises(ClearanceError):
        p.routine(Case(case_id="C1", amount="ten"))
    assert routine.fingerprint == digest({"amount": 10, "note": None})


def test_an_unknown_process_is_named_with_the_loaded_ones() -> None:
    with pytest.raises(processes.ProcessNotLoaded) as missing:
        processes.get("dog-licences")
    assert "dog-licences" in str(missing.value)
    assert "change-of-address" in str(missing.value)
    assert "resident-parking" in str(missing.value)


def test_both_bundled_processes_load() -> None:
    loaded = processes.load()
    assert {"change-of-address", "resident-parking"} <= set(loaded)
    parking = loaded["resident-parking"]
    assert parking.decisions == ("approve", "edit", "reject", "manual")
    assert parking.editable() == ["plate", "zone", "start_date"]
    assert sum(r.mandatory for r in parking.rules.values()) >= 1
    assert len(parking.rules) >= 4
