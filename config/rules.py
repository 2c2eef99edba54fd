"""Switches and thresholds of the change-of-address rules, read from YAML and validated.

The rules themselves live in flows/change_of_address/rules.py; this module only says what a
rules file may contain. A file names rules by their contract ids (`address.crowded`)
and may leave any rule out to keep its default.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import ErrorDetails, PydanticCustomError

BUNDLED_RULES_FILE = Path(__file__).parent / "rules" / "change_of_address.yaml"


class RulesConfigError(ValueError):
    """A rules file that cannot be used; the one-line message names the file and the problem."""


class _RuleSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MandatoryRule(_RuleSettings):
    """A rule the law or the contract requires: always on."""

    enabled: bool = Field(default=True, description="Always true; `false` is refused.")

    @field_validator("enabled")
    @classmethod
    def _cannot_switch_off(cls, value: bool) -> bool:
        if not value:
            raise PydanticCustomError("rule_mandatory", "is mandatory and cannot be switched off")
        return value


class SwitchableRule(_RuleSettings):
    """A rule a municipality may switch off."""

    enabled: bool = Field(default=True, description="False: the rule does not run.")


class _ThresholdRule(_RuleSettings):
    enabled: bool = Field(default=True, description="Always true; tune the threshold instead.")

    @field_validator("enabled")
    @classmethod
    def _cannot_switch_off(cls, value: bool) -> bool:
        if not value:
            raise PydanticCustomError(
                "rule_threshold_only",
                "is a threshold rule and cannot be switched off; change its threshold instead",
            )
        return value


class MinorAloneRule(SwitchableRule):
    """`movers.minor_alone`: on/off, with the age at which a mover counts as an adult."""

    adult_age: int = Field(
        default=18, ge=0, description="Age, in whole years on the move date, of an adult."
    )


class CrowdedRule(_ThresholdRule):
    """`address.crowded`: how many people may live at the new address after the move."""

    max_residents: int = Field(
        default=8, ge=0, description="Fires when more people than this would live there."
    )


class ManyMoversRule(_ThresholdRule):
    """`movers.many`: how many people one notification may move."""

    max_movers: int = Field(default=6, ge=0, description="Fires when more people than this move.")


class FarAheadRule(_ThresholdRule):
    """`date.far_ahead`: how far after its receipt a notification may date the move."""

    max_days: int = Field(
        default=28, ge=0, description="Fires when the move date is more days than this ahead."
    )


class LongAgoRule(_ThresholdRule):
    """`date.long_ago`: how far before its receipt a notification may date the move."""

    max_days: int = Field(
        default=365, ge=0, description="Fires when the move date is more days than this ago."
    )


class DuplicateRule(_ThresholdRule):
    """`case.duplicate`: how recently another notification for a mover counts as a duplicate."""

    within_days: int = Field(
        default=30,
        ge=0,
        description="Fires when another notification for a mover was handled this many days "
        "or fewer before this one was received (open ones always count).",
    )


class ChangeOfAddressRules(BaseModel):
    """Every change-of-address rule's settings, keyed in YAML by the rule's contract id."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, validate_by_alias=True, validate_by_name=True
    )

    remarks_present: MandatoryRule = Field(
        default_factory=MandatoryRule, alias="remarks.present", description="Mandatory."
    )
    data_invalid: MandatoryRule = Field(
        default_factory=MandatoryRule, alias="data.invalid", description="Mandatory."
    )
    cpr_unknown: SwitchableRule = Field(
        default_factory=SwitchableRule, alias="cpr.unknown", description="On/off."
    )
    address_unknown: MandatoryRule = Field(
        default_factory=MandatoryRule, alias="address.unknown", description="Mandatory."
    )
    address_not_dwelling: SwitchableRule = Field(
        default_factory=SwitchableRule, alias="address.not_dwelling", description="On/off."
    )
    address_unchanged: SwitchableRule = Field(
        default_factory=SwitchableRule, alias="address.unchanged", description="On/off."
    )
    address_protected: MandatoryRule = Field(
        default_factory=MandatoryRule, alias="address.protected", description="Mandatory."
    )
    address_crowded: CrowdedRule = Field(
        default_factory=CrowdedRule, alias="address.crowded", description="Threshold."
    )
    movers_minor_alone: MinorAloneRule = Field(
        default_factory=MinorAloneRule, alias="movers.minor_alone", description="On/off."
    )
    movers_many: ManyMoversRule = Field(
        default_factory=ManyMoversRule, alias="movers.many", description="Threshold."
    )
    date_far_ahead: FarAheadRule = Field(
        default_factory=FarAheadRule, alias="date.far_ahead", description="Threshold."
    )
    date_long_ago: LongAgoRule = Field(
        default_factory=LongAgoRule, alias="date.long_ago", description="Threshold."
    )
    case_duplicate: DuplicateRule = Field(
        default_factory=DuplicateRule, alias="case.duplicate", description="Threshold."
    )

    @model_validator(mode="before")
    @classmethod
    def _empty_rule_means_defaults(cls, data: Any) -> Any:
        # `data.invalid:` with nothing after it is YAML null; read it as "defaults".
        if isinstance(data, dict):
            return {key: {} if value is None else value for key, value in data.items()}
        return data


def load_rules_config(path: Path | None = None) -> ChangeOfAddressRules:
    """The rules of the YAML file at `path` (None: the bundled defaults), validated."""
    source = BUNDLED_RULES_FILE if path is None else Path(path)
    try:
        text = source.read_text(encoding="utf-8")
    except OSError as exc:
        raise RulesConfigError(
            f"{source}: cannot read the rules file ({exc.strerror or exc}); "
            "fix the path in RPA_RULES_FILE or leave it empty for the bundled defaults"
        ) from exc
    try:
        data = _load_yaml(text)
    except yaml.YAMLError as exc:
        raise RulesConfigError(f"{source}: not valid YAML ({_yaml_problem(exc)})") from exc
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise RulesConfigError(
            f"{source}: expected rule ids with their settings, got a {type(data).__name__}"
        )
    try:
        return ChangeOfAddressRules.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(_describe(error) for error in exc.errors())
        raise RulesConfigError(f"{source}: {problems}") from exc


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key written twice (YAML would silently keep the last)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if not isinstance(key, str | int | float | bool):
                continue  # unusual keys: the pydantic models reject them with a clearer message
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"{key!r} is written twice", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _load_yaml(text: str) -> Any:
    loader = _UniqueKeyLoader(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


def _yaml_problem(exc: yaml.YAMLError) -> str:
    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem_mark is not None:
        mark = exc.problem_mark
        return f"{exc.problem} at line {mark.line + 1}, column {mark.column + 1}"
    return " ".join(str(exc).split())


def _rule_fields() -> dict[str, type[BaseModel]]:
    """Rule id -> its settings model, from the field aliases."""
    fields = ChangeOfAddressRules.model_fields.values()
    return {str(f.alias): f.annotation for f in fields if isinstance(f.annotation, type)}


def _describe(error: ErrorDetails) -> str:
    """One validation error as `rule: key: problem`, in the words of the rules file."""
    loc, kind, msg = error["loc"], error["type"], error["msg"]
    if not loc:
        return msg
    rule_id, rules = str(loc[0]), _rule_fields()
    if len(loc) == 1:
        if kind == "extra_forbidden":
            return f"unknown rule id {rule_id!r} (known: {', '.join(rules)})"
        if kind == "model_type" and rule_id in rules:
            allowed = ", ".join(rules[rule_id].model_fields)
            return f"{rule_id}: expected its settings ({allowed}), got {error['input']!r}"
        return f"{rule_id}: {msg}"
    key = ".".join(str(part) for part in loc[1:])
    if kind == "extra_forbidden":
        allowed = ", ".join(rules[rule_id].model_fields) if rule_id in rules else ""
        return f"{rule_id}: unknown key {key!r} (allowed: {allowed})"
    if kind in ("rule_mandatory", "rule_threshold_only"):
        return f"{rule_id} {msg}"
    return f"{rule_id}: {key}: {msg} (got {error['input']!r})"
