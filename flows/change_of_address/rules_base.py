"""The parts every change-of-address rule is built from: texts, results and the `rule` decorator.

Kept apart from rules.py so that the rules read as a list of
small checks, each next to the words a caseworker sees when it fires.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Literal

from checkpoints.process import Fired, Locale, Text
from checkpoints.text import mask_cprs, written
from config.rules import ChangeOfAddressRules
from flows.change_of_address.case import CaseFile, Enrichment, Notification, mask_cpr

__all__ = ["Fired", "Locale", "Rule", "Text", "rule"]

Needs = Literal["case", "notification", "registers"]
"""What a rule reads: the raw case only, a valid notification, or also the registers."""


Check = Callable[[CaseFile, ChangeOfAddressRules], Fired | None]
Switch = Callable[[ChangeOfAddressRules], bool]


@dataclass(frozen=True)
class Rule:
    """A routing rule: its contract id, its category, its check and its messages."""

    id: str
    mandatory: bool
    needs: Needs
    checks: Text
    """What the rule checks, as a clause: `om den nye adresse er en bolig`."""
    texts: Mapping[str, Text]
    """Message per variant of `Fired`; `str.format` fields filled from `Fired.params`."""
    check: Check
    switch: Switch | None = None
    """For on/off rules: reads the rule's `enabled` from the config. None: always runs."""

    def enabled(self, config: ChangeOfAddressRules) -> bool:
        """Whether the rule runs under `config` (mandatory and threshold rules always do)."""
        return self.switch is None or self.switch(config)

    def message(self, fired: Fired, locale: Locale) -> str:
        """The plain-language reason for `fired` in `locale`."""
        params = {
            key: value.get(locale) if isinstance(value, Text) else value
            for key, value in fired.params.items()
        }
        return self.texts[fired.variant].get(locale).format(**params)


def rule(
    rule_id: str,
    *,
    checks: Text,
    texts: Mapping[str, Text],
    mandatory: bool = False,
    needs: Needs = "notification",
    switch: Switch | None = None,
) -> Callable[[Check], Rule]:
    """Turn a check function into a `Rule` with the given id, category and messages."""
    if mandatory and switch is not None:
        raise ValueError(f"{rule_id}: a mandatory rule cannot have an on/off switch")

    def make(check: Check) -> Rule:
        return Rule(rule_id, mandatory, needs, checks, dict(texts), check, switch)

    return make


def notification_of(case: CaseFile) -> Notification:
    """The case's valid notification; routing only calls such rules when there is one."""
    if case.notification is None:
        raise ValueError("the rule needs a valid notification and the case has none")
    return case.notification


def registers_of(case: CaseFile) -> Enrichment:
    """What the registers said about the case; routing only calls such rules when read."""
    if case.enrichment is None:
        raise ValueError("the rule needs the registers and they were not read")
    return case.enrichment


def digits(cpr: str) -> str:
    """A CPR number's digits, to compare numbers written with or without a hyphen."""
    return "".join(ch for ch in cpr if ch.isdigit())


def masked_list(cprs: list[str]) -> str:
    """`010190-XXXX, 020285-XXXX`: CPR numbers as a caseworker may see them in a message."""
    return ", ".join(mask_cpr(cpr) for cpr in cprs)


def date_text(value: date) -> Text:
    """A date as Danish caseworkers write it (15.11.2026) and in ISO form for English."""
    return Text(da=value.strftime("%d.%m.%Y"), en=value.isoformat())


def scrub(text: str, *, remarks: str, limit: int = 200) -> str:
    """Outside text made safe for a reason: remarks withheld, CPR numbers masked, one short line."""
    flat = " ".join(text.split())
    quoted = (" ".join(part.split()) for part in (remarks, *remarks.splitlines()))
    if any(written(part) and part in flat for part in quoted):
        return "(…)"
    flat = mask_cprs(flat)
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
