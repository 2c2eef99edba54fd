"""The change-of-address routing rules, in the contract's order, and `route`, which runs them.

A case for which `route` returns no reasons is the robot's; any reason sends it
to a human checkpoint. Routing fails closed: a rule that cannot be evaluated
(registers not read, or the check itself raising) counts as fired.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from config.rules import ChangeOfAddressRules
from flows.change_of_address.case import CaseFile, Reason
from flows.change_of_address.rules_base import Fired, Locale, Rule, Text, scrub
from flows.change_of_address.rules_case import (
    address_unchanged,
    data_invalid,
    date_far_ahead,
    date_long_ago,
    movers_many,
    movers_minor_alone,
    remarks_present,
)
from flows.change_of_address.rules_registers import (
    address_crowded,
    address_not_dwelling,
    address_protected,
    address_unknown,
    case_duplicate,
    cpr_unknown,
)

__all__ = ["RULES", "RULE_IDS", "Fired", "Locale", "Rule", "route"]

logger = logging.getLogger(__name__)

RULES: Mapping[str, Rule] = {
    r.id: r
    for r in (
        remarks_present,
        data_invalid,
        cpr_unknown,
        address_unknown,
        address_not_dwelling,
        address_unchanged,
        address_protected,
        address_crowded,
        movers_minor_alone,
        movers_many,
        date_far_ahead,
        date_long_ago,
        case_duplicate,
    )
}
"""Every rule by its contract id, in the contract's order (which is also the reasons' order)."""

RULE_IDS: tuple[str, ...] = tuple(RULES)

_REGISTERS_UNREAD = Text(
    da="Robotten kunne ikke kontrollere, {checks}, fordi registrene ikke kunne læses. "
    "En medarbejder skal se sagen.",
    en="The robot could not check {checks} because the registers could not be read. "
    "A caseworker must look at the case.",
)
_CHECK_FAILED = Text(
    da="Robotten kunne ikke kontrollere, {checks}, fordi kontrollen fejlede ({error}). "
    "En medarbejder skal se sagen.",
    en="The robot could not check {checks} because the check failed ({error}). "
    "A caseworker must look at the case.",
)


def route(case: CaseFile, *, config: ChangeOfAddressRules, locale: Locale = "da") -> list[Reason]:
    """The reasons `case` must go to a human, in rule order; empty: the robot may handle it."""
    reasons: list[Reason] = []
    for rule in RULES.values():
        if not rule.enabled(config):
            continue
        if rule.needs != "case" and case.notification is None:
            continue  # data.invalid has fired: the other rules need valid data
        if rule.needs == "registers" and case.enrichment is None:
            message = _REGISTERS_UNREAD.get(locale).format(checks=rule.checks.get(locale))
            reasons.append(
                Reason(rule_id=rule.id, message=message, details={"registers": "unread"})
            )
            continue
        try:
            fired = rule.check(case, config)
            if fired is not None:
                reasons.append(_reason(rule, fired, case, locale))
        except Exception as exc:  # any failure of a check sends the case to a human
            reasons.append(_failed(rule, exc, case, locale))
    return reasons


def _reason(rule: Rule, fired: Fired, case: CaseFile, locale: Locale) -> Reason:
    # Checks already keep CPR numbers and remarks out of what they return; masking
    # CPR-like numbers once more is the last guard before a journal or a chat channel.
    details = {key: scrub(value, remarks="", limit=500) for key, value in fired.details.items()}
    message = scrub(rule.message(fired, locale), remarks="", limit=2000)
    return Reason(rule_id=rule.id, message=message, details=details)


def _failed(rule: Rule, exc: Exception, case: CaseFile, locale: Locale) -> Reason:
    error = f"{type(exc).__name__}: {scrub(str(exc), remarks=case.remarks)}"
    logger.warning("rule %s failed on case %s: %s", rule.id, case.case_id, error)
    message = _CHECK_FAILED.get(locale).format(checks=rule.checks.get(locale), error=error)
    return Reason(rule_id=rule.id, message=message, details={"error": error})
