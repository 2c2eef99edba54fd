"""Loading the rules file: bundled defaults, what may be changed, and every refusal."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from config.rules import (
    BUNDLED_RULES_FILE,
    ChangeOfAddressRules,
    RulesConfigError,
    load_rules_config,
)
from flows.change_of_address.rules import RULE_IDS, RULES

RulesFile = Callable[[str], Path]

MANDATORY = [rule_id for rule_id, rule in RULES.items() if rule.mandatory]
SWITCHABLE = [rule_id for rule_id, rule in RULES.items() if rule.switch is not None]
THRESHOLDS = {
    "address.crowded": "max_residents",
    "movers.many": "max_movers",
    "date.far_ahead": "max_days",
    "date.long_ago": "max_days",
    "case.duplicate": "within_days",
    "movers.minor_alone": "adult_age",
}


def _refused(rules_file: RulesFile, text: str) -> str:
    with pytest.raises(RulesConfigError) as caught:
        load_rules_config(rules_file(text))
    message = str(caught.value)
    assert "rules.yaml: " in message, message
    assert "\n" not in message, message
    return message


def test_bundled_file_loads_and_states_the_defaults() -> None:
    assert BUNDLED_RULES_FILE.is_file()
    assert load_rules_config() == load_rules_config(BUNDLED_RULES_FILE) == ChangeOfAddressRules()
    text = BUNDLED_RULES_FILE.read_text("utf-8")
    for rule_id in RULE_IDS:
        assert f"\n{rule_id}:" in text, f"{rule_id} is not written out in the bundled file"


def test_bundled_defaults() -> None:
    config = load_rules_config()
    assert config.address_crowded.max_residents == 8
    assert config.movers_many.max_movers == 6
    assert config.date_far_ahead.max_days == 28
    assert config.date_long_ago.max_days == 365
    assert config.case_duplicate.within_days == 30
    assert config.movers_minor_alone.adult_age == 18
    assert all(getattr(config, r.replace(".", "_")).enabled for r in RULE_IDS)


def test_rules_config_error_is_a_value_error() -> None:
    assert issubclass(RulesConfigError, ValueError)


def test_empty_file_means_defaults(rules_file: RulesFile) -> None:
    assert load_rules_config(rules_file("# nothing changed\n")) == ChangeOfAddressRules()


def test_a_rule_left_out_keeps_its_defaults(rules_file: RulesFile) -> None:
    config = load_rules_config(rules_file("movers.many:\n  max_movers: 3\n"))
    assert config.movers_many.max_movers == 3
    assert config.address_crowded.max_residents == 8


def test_a_rule_without_settings_means_defaults(rules_file: RulesFile) -> None:
    assert load_rules_config(rules_file("data.invalid:\n")) == ChangeOfAddressRules()


@pytest.mark.parametrize("rule_id", MANDATORY)
def test_switching_off_a_mandatory_rule_is_refused(rules_file: RulesFile, rule_id: str) -> None:
    message = _refused(rules_file, f"{rule_id}:\n  enabled: false\n")
    assert f"rules.yaml: {rule_id} is mandatory and cannot be switched off" in message


@pytest.mark.parametrize("rule_id", MANDATORY)
def test_a_mandatory_rule_may_say_it_is_on(rules_file: RulesFile, rule_id: str) -> None:
    assert load_rules_config(rules_file(f"{rule_id}:\n  enabled: true\n")) == ChangeOfAddressRules()


@pytest.mark.parametrize("rule_id", ["address.crowded", "movers.many", "date.far_ahead",
                                     "date.long_ago", "case.duplicate"])  # fmt: skip
def test_switching_off_a_threshold_rule_is_refused(rules_file: RulesFile, rule_id: str) -> None:
    message = _refused(rules_file, f"{rule_id}:\n  enabled: false\n")
    assert f"{rule_id} is a threshold rule and cannot be switched off" in message


@pytest.mark.parametrize("rule_id", SWITCHABLE)
def test_an_on_off_rule_can_be_switched_off(rules_file: RulesFile, rule_id: str) -> None:
    config = load_rules_config(rules_file(f"{rule_id}:\n  enabled: false\n"))
    assert getattr(config, rule_id.replace(".", "_")).enabled is False


def test_the_on_off_rules_are_the_contracts() -> None:
    assert set(SWITCHABLE) == {
        "cpr.unknown",
        "address.not_dwelling",
        "address.unchanged",
        "movers.minor_alone",
    }


def test_unknown_rule_id_is_refused(rules_file: RulesFile) -> None:
    message = _refused(rules_file, "address.crowdy:\n  max_residents: 3\n")
    assert "unknown rule id 'address.crowdy'" in message


def test_unknown_key_is_refused(rules_file: RulesFile) -> None:
    message = _refused(rules_file, "address.crowded:\n  max_resident: 3\n")
    assert "address.crowded: unknown key 'max_resident'" in message
    assert "max_residents" in message  # says what is allowed


def test_on_off_rule_has_no_threshold(rules_file: RulesFile) -> None:
    assert "cpr.unknown: unknown key 'max_days'" in _refused(
        rules_file, "cpr.unknown: {max_days: 3}"
    )


@pytest.mark.parametrize(("rule_id", "key"), THRESHOLDS.items())
def test_negative_threshold_is_refused(rules_file: RulesFile, rule_id: str, key: str) -> None:
    message = _refused(rules_file, f"{rule_id}:\n  {key}: -1\n")
    assert f"{rule_id}: {key}:" in message
    assert "-1" in message


@pytest.mark.parametrize(("rule_id", "key"), THRESHOLDS.items())
def test_zero_threshold_is_allowed(rules_file: RulesFile, rule_id: str, key: str) -> None:
    config = load_rules_config(rules_file(f"{rule_id}:\n  {key}: 0\n"))
    assert getattr(getattr(config, rule_id.replace(".", "_")), key) == 0


def test_threshold_that_is_not_a_number_is_refused(rules_file: RulesFile) -> None:
    assert "date.far_ahead: max_days:" in _refused(rules_file, "date.far_ahead: {max_days: soon}")


def test_settings_that_are_not_a_mapping_are_refused(rules_file: RulesFile) -> None:
    message = _refused(rules_file, "movers.many: 3\n")
    assert "movers.many: expected its settings (enabled, max_movers)" in message


def test_a_rule_written_twice_is_refused(rules_file: RulesFile) -> None:
    message = _refused(rules_file, "movers.many: {max_movers: 3}\nmovers.many: {max_movers: 9}\n")
    assert "'movers.many' is written twice" in message


def test_several_problems_are_all_named_on_one_line(rules_file: RulesFile) -> None:
    message = _refused(rules_file, "remarks.present: {enabled: false}\nfoo.bar: {}\n")
    assert "remarks.present is mandatory" in message
    assert "unknown rule id 'foo.bar'" in message


def test_broken_yaml_is_refused(rules_file: RulesFile) -> None:
    assert "not valid YAML" in _refused(rules_file, "movers.many: [\n")


def test_a_list_is_refused(rules_file: RulesFile) -> None:
    assert "expected rule ids with their settings" in _refused(rules_file, "- movers.many\n")


def test_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(RulesConfigError, match=r"nope\.yaml: cannot read the rules file"):
        load_rules_config(tmp_path / "nope.yaml")
