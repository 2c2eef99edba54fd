"""The rules match the data contract's table: every id, its category and its default threshold."""

from __future__ import annotations

import re
from pathlib import Path

from config.rules import ChangeOfAddressRules, load_rules_config
from flows.change_of_address.rules import RULE_IDS, RULES

# The repository's copy of the shared contract (docs/contracts/).
CONTRACT = Path(__file__).parents[2] / "docs" / "contracts" / "change_of_address.md"
# | `address.crowded` | residents ... exceed a threshold (default 8) | threshold |
_ROW = re.compile(r"^\|\s*`([a-z_]+\.[a-z_]+)`\s*\|(.+?)\|\s*([^|]+?)\s*\|\s*$", re.MULTILINE)


def _table() -> list[tuple[str, str, str]]:
    """(id, fires when, configurable) per row of the contract's rule table."""
    rows = [(m[1], m[2].strip(), m[3]) for m in _ROW.finditer(CONTRACT.read_text("utf-8"))]
    assert len(rows) >= 10, "the contract's rule table was not found; has its format changed?"
    return rows


def _threshold_field(rule_id: str) -> str:
    """The one setting of a threshold rule besides `enabled`."""
    settings = next(
        f.annotation
        for f in ChangeOfAddressRules.model_fields.values()
        if f.alias == rule_id and isinstance(f.annotation, type)
    )
    (name,) = [str(name) for name in settings.model_fields if name != "enabled"]
    return name


def test_every_contract_rule_exists_in_order() -> None:
    assert tuple(rule_id for rule_id, _, _ in _table()) == RULE_IDS
    assert all(RULES[rule_id].id == rule_id for rule_id in RULE_IDS)


def test_mandatory_flags_match_the_contract() -> None:
    for rule_id, _, configurable in _table():
        assert RULES[rule_id].mandatory == ("mandatory" in configurable), rule_id


def test_categories_match_the_contract() -> None:
    for rule_id, _, configurable in _table():
        rule = RULES[rule_id]
        if configurable == "on/off":
            assert rule.switch is not None, f"{rule_id} should have an on/off switch"
        else:
            assert rule.switch is None, f"{rule_id} must not be switchable"


def test_threshold_defaults_match_the_contract() -> None:
    config = load_rules_config()
    thresholds = [(r, fires) for r, fires, kind in _table() if kind == "threshold"]
    assert len(thresholds) == 5
    for rule_id, fires_when in thresholds:
        default = re.search(r"\(default (\d+)\)", fires_when)
        assert default, f"no default in the contract for {rule_id}"
        settings = getattr(config, rule_id.replace(".", "_"))
        assert getattr(settings, _threshold_field(rule_id)) == int(default[1]), rule_id


def test_adult_age_matches_the_contract() -> None:
    (fires_when,) = [fires for r, fires, _ in _table() if r == "movers.minor_alone"]
    age = re.search(r"(\d+) or older", fires_when)
    assert age
    assert load_rules_config().movers_minor_alone.adult_age == int(age[1])


def test_config_has_exactly_the_rules() -> None:
    aliases = tuple(f.alias for f in ChangeOfAddressRules.model_fields.values())
    assert aliases == RULE_IDS


def test_every_rule_has_messages_in_both_languages() -> None:
    for rule in RULES.values():
        assert rule.texts, rule.id
        for text in (rule.checks, *rule.texts.values()):
            assert text.da.strip(), rule.id
            assert text.en.strip(), rule.id
            assert text.da != text.en, rule.id
