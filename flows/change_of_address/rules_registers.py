"""Rules that compare the notification with the registers: people, addresses and other cases.

Each of these runs only when the registers were read (`CaseFile.enrichment`); when
they were not, routing counts the rule as fired without calling it (fail closed).
"""

from __future__ import annotations

import unicodedata
from datetime import datetime

from config.rules import ChangeOfAddressRules
from flows.change_of_address.case import CaseFile, CaseStatus, RelatedCase, UnitType
from flows.change_of_address.rules_base import (
    Fired,
    Text,
    date_text,
    digits,
    masked_list,
    notification_of,
    registers_of,
    rule,
)

_WHO_MOVES = Text(
    da="En medarbejder skal kontrollere, hvem der flytter.",
    en="A caseworker must check who is moving.",
)


@rule(
    "cpr.unknown",
    needs="registers",
    switch=lambda config: config.cpr_unknown.enabled,
    checks=Text(
        da="om flytterne findes i CPR-registret med de navne, der står på anmeldelsen",
        en="whether the movers are in the population register under the names on the notification",
    ),
    texts={
        "missing": Text(
            da="En eller flere flyttere findes ikke i CPR-registret ({missing}). " + _WHO_MOVES.da,
            en="One or more movers are not in the population register ({missing}). "
            + _WHO_MOVES.en,
        ),
        "name": Text(
            da="Navnet på anmeldelsen passer ikke med navnet i CPR-registret ({differs}). "
            + _WHO_MOVES.da,
            en="The name on the notification does not match the population register "
            "({differs}). " + _WHO_MOVES.en,
        ),
        "both": Text(
            da="En eller flere flyttere findes ikke i CPR-registret ({missing}), og for andre "
            "passer navnet ikke med registret ({differs}). " + _WHO_MOVES.da,
            en="One or more movers are not in the population register ({missing}), and for "
            "others the name does not match the register ({differs}). " + _WHO_MOVES.en,
        ),
    },
)
def cpr_unknown(case: CaseFile, config: ChangeOfAddressRules) -> Fired | None:
    """Fires when a mover is not in the population register or is there under another name."""
    registered = {digits(cpr): person for cpr, person in registers_of(case).movers.items()}
    missing: list[str] = []
    differs: list[str] = []
    for mover in notification_of(case).movers:
        person = registered.get(digits(mover.cpr))
        if person is None:
            missing.append(mover.cpr)
        elif _same_name(person.name) != _same_name(mover.name):
            differs.append(mover.cpr)
    if not missing and not differs:
        return None
    variant = "both" if missing and differs else "missing" if missing else "name"
    found = {"missing": masked_list(missing), "differs": masked_list(differs)}
    return Fired(variant=variant, params=found, details=found)


@rule(
    "address.unknown",
    mandatory=True,
    needs="registers",
    checks=Text(
        da="om den nye adresse findes i adresseregistret",
        en="whether the new address is in the address register",
    ),
    texts={
        "fired": Text(
            da="Den nye adresse, {address}, findes ikke i adresseregistret. "
            "En medarbejder skal finde den rigtige adresse.",
            en="The new address, {address}, is not in the address register. "
            "A caseworker must find the right address.",
        )
    },
)
def address_unknown(case: CaseFile, config: ChangeOfAddressRules) -> Fired | None:
    """Fires when the address register has no match for the new address."""
    if registers_of(case).new_address is not None:
        return None
    address = notification_of(case).new_address.one_line()
    return Fired(params={"address": address}, details={"address": address})


_UNIT_TYPES: dict[UnitType, Text] = {
    "dwelling": Text(da="bolig", en="a dwelling"),
    "business": Text(da="erhverv", en="a business"),
    "summer_house": Text(da="sommerhus", en="a summer house"),
    "institution": Text(da="institution", en="an institution"),
}


@rule(
    "address.not_dwelling",
    needs="registers",
    switch=lambda config: config.address_not_dwelling.enabled,
    checks=Text(da="om den nye adresse er en bolig", en="whether the new address is a dwelling"),
    texts={
        "fired": Text(
            da="Den nye adresse, {address}, er ikke registreret som bolig, men som {unit}. "
            "En medarbejder skal vurdere, om man kan bo der.",
            en="The new address, {address}, is registered as {unit}, not as a dwelling. "
            "A caseworker must assess whether people can live there.",
        )
    },
)
def address_not_dwelling(case: CaseFile, config: ChangeOfAddressRules) -> Fired | None:
    """Fires when the register's unit type of the new address is not `dwelling`."""
    found = registers_of(case).new_address
    if found is None or found.unit_type == "dwelling":
        return None  # an unknown address is address.unknown's to report
    address = notification_of(case).new_address.one_line()
    return Fired(
        params={"address": address, "unit": _UNIT_TYPES[found.unit_type]},
        details={"address": address, "unit_type": found.unit_type},
    )


@rule(
    "address.protected",
    mandatory=True,
    needs="registers",
    checks=Text(
        da="om en flytter eller en beboer på den nye adresse har adressebeskyttelse",
        en="whether a mover or a resident at the new address has a protected address",
    ),
    texts={
        "fired": Text(
            da="En flytter eller en beboer på den nye adresse har navne- og adressebeskyttelse. "
            "En medarbejder skal behandle sagen.",
            en="A mover or a resident at the new address has a protected address. "
            "A caseworker must handle the case.",
        )
    },
)
def address_protected(case: CaseFile, config: ChangeOfAddressRules) -> Fired | None:
    """Fires when a mover or anyone registered at the new address is protected."""
    registers = registers_of(case)
    # Deliberately no names, CPR numbers or address in this reason: who is protected,
    # and where, is exactly what must not travel to chat channels and logs.
    movers = sum(1 for p in registers.movers.values() if p is not None and p.protected_address)
    residents = sum(1 for p in registers.residents_at_new_address if p.protected_address)
    if not movers and not residents:
        return None
    return Fired(details={"protected_movers": str(movers), "protected_residents": str(residents)})


@rule(
    "address.crowded",
    needs="registers",
    checks=Text(
        da="hvor mange der vil bo på den nye adresse",
        en="how many people would live at the new address",
    ),
    texts={
        "fired": Text(
            da="Efter flytningen vil der bo {count} personer på den nye adresse, og grænsen er "
            "{limit}. En medarbejder skal vurdere, om det er rigtigt.",
            en="After the move {count} people would live at the new address; the limit is "
            "{limit}. A caseworker must assess whether that is right.",
        )
    },
)
def address_crowded(case: CaseFile, config: ChangeOfAddressRules) -> Fired | None:
    """Fires when residents who stay plus the movers exceed the threshold."""
    movers = {digits(m.cpr) for m in notification_of(case).movers}
    staying = {digits(p.cpr) for p in registers_of(case).residents_at_new_address} - movers
    count, limit = len(staying) + len(movers), config.address_crowded.max_residents
    if count <= limit:
        return None
    numbers = {"count": str(count), "limit": str(limit)}
    return Fired(params=numbers, details={**numbers, "already_living_there": str(len(staying))})


_STILL_OPEN: frozenset[CaseStatus] = frozenset({"open", "in_progress", "awaiting_citizen"})
_STATUS = {
    "open": Text(da="åben", en="open"),
    "in_progress": Text(da="under behandling", en="in progress"),
    "awaiting_citizen": Text(da="afventer borgeren", en="awaiting the citizen"),
    "registered": Text(da="registreret", en="registered"),
    "manual": Text(da="behandlet manuelt", en="handled manually"),
}


@rule(
    "case.duplicate",
    needs="registers",
    checks=Text(
        da="om der er en anden anmeldelse for de samme flyttere",
        en="whether there is another notification for the same movers",
    ),
    texts={
        "fired": Text(
            da="Der er en anden anmeldelse for samme flytter: {cases}. "
            "En medarbejder skal vurdere, om det er en dublet.",
            en="There is another notification for the same mover: {cases}. "
            "A caseworker must assess whether this is a duplicate.",
        )
    },
)
def case_duplicate(case: CaseFile, config: ChangeOfAddressRules) -> Fired | None:
    """Fires on another case for a mover still open, or handled within the threshold of days."""
    received = notification_of(case).received_at
    within_days = config.case_duplicate.within_days
    clashes = [
        other
        for other in registers_of(case).related_cases
        if other.case_id != case.case_id and _clashes(other, received, within_days)
    ]
    if not clashes:
        return None
    cases = Text(
        da=", ".join(_describe(other).da for other in clashes),
        en=", ".join(_describe(other).en for other in clashes),
    )
    return Fired(params={"cases": cases}, details={c.case_id: c.status for c in clashes})


def _clashes(other: RelatedCase, received: datetime, within_days: int) -> bool:
    if other.status in _STILL_OPEN:
        return True
    when = other.handled_at or other.received_at
    if when is None:
        return True  # handled, but nobody can say when: let a person judge
    # Whole days, each in the time zone of this notification's receipt.
    if when.tzinfo is not None and received.tzinfo is not None:
        when = when.astimezone(received.tzinfo)
    return (received.date() - when.date()).days <= within_days


def _describe(other: RelatedCase) -> Text:
    status = _STATUS[other.status]
    when = other.handled_at if other.status not in _STILL_OPEN else None
    if when is None:
        return Text(da=f"{other.case_id} ({status.da})", en=f"{other.case_id} ({status.en})")
    day = date_text(when.date())
    return Text(
        da=f"{other.case_id} ({status.da} {day.da})", en=f"{other.case_id} ({status.en} {day.en})"
    )


def _same_name(name: str) -> str:
    """A name as compared with the register: case, accents' encoding and spacing ignored."""
    return " ".join(unicodedata.normalize("NFKC", name).casefold().split())
