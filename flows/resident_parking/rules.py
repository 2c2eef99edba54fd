"""The rules that send a parking permit application to a person, each with its words.

Routing fails closed: a rule whose look-up is missing fires (it cannot say the case is
routine), and a check that raises counts as fired (checkpoints/process.py).
"""

from __future__ import annotations

import re
from datetime import date

from pydantic import Field

from checkpoints.process import Fired, RuleSettings, Text
from checkpoints.text import hidden_characters, is_hidden, written
from flows.resident_parking.case import PermitCase, normalise_plate
from flows.resident_parking.process import parking

_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class WeightLimit(RuleSettings):
    """`vehicle.too_heavy`: the heaviest vehicle a resident permit covers."""

    max_weight_kg: int = Field(default=3500, ge=0, description="Total weight, in kg.")


@parking.rule(
    "remarks.present",
    mandatory=True,
    checks=Text(
        da="om borgeren har skrevet en bemærkning", en="whether the citizen wrote a remark"
    ),
    texts={
        "fired": Text(
            da="Borgeren har skrevet en bemærkning ({chars} tegn). En person skal læse den.",
            en="The citizen wrote a remark ({chars} characters). A person must read it.",
        ),
        "hidden": Text(
            da="Bemærkningen indeholder kun usynlige tegn ({names}). En person skal se den.",
            en="The remark holds only invisible characters ({names}). A person must look at it.",
        ),
    },
)
def remarks_present(case: PermitCase, settings: RuleSettings) -> Fired | None:
    """Any character that is not white space, hidden ones included."""
    text = written(case.remarks)
    if not text:
        return None
    if all(is_hidden(ch) for ch in text):
        names = ", ".join(hidden_characters(case.remarks)) or "?"
        return Fired("hidden", params={"names": names[:200]})
    return Fired(params={"chars": str(len(text))}, details={"chars": str(len(text))})


@parking.rule(
    "vehicle.unknown",
    mandatory=True,
    checks=Text(da="om bilen findes i køretøjsregistret", en="whether the car is registered"),
    text=Text(
        da="Nummerpladen {plate} findes ikke i køretøjsregistret.",
        en="The number plate {plate} is not in the vehicle register.",
    ),
)
def vehicle_unknown(case: PermitCase, settings: RuleSettings) -> Fired | None:
    """No registered vehicle for the plate (a plate that is not valid fires data.invalid)."""
    if not case.vehicle_looked_up or case.vehicle is not None:
        return None
    return Fired(params={"plate": normalise_plate(case.plate)})


@parking.rule(
    "vehicle.not_applicants",
    checks=Text(
        da="om ansøgeren ejer eller er registreret bruger af bilen",
        en="whether the applicant owns or is the registered user of the car",
    ),
    text=Text(
        da="Ansøgeren er hverken ejer eller registreret bruger af bilen {plate}.",
        en="The applicant neither owns nor is the registered user of the car {plate}.",
    ),
)
def vehicle_not_applicants(case: PermitCase, settings: RuleSettings) -> Fired | None:
    """The applicant must own the car or be its registered user (leasing)."""
    if case.vehicle is None:
        return None
    mine = {_digits(case.vehicle.owner_cpr), _digits(case.vehicle.user_cpr or "")}
    if _digits(case.applicant_cpr) in mine:
        return None
    return Fired(params={"plate": case.vehicle.plate})


@parking.rule(
    "vehicle.too_heavy",
    settings=WeightLimit,
    checks=Text(da="om bilen vejer højst det tilladte", en="whether the car is light enough"),
    texts={
        "fired": Text(
            da="Bilen vejer {weight} kg; en beboerlicens dækker højst {limit} kg.",
            en="The car weighs {weight} kg; a resident permit covers at most {limit} kg.",
        ),
        "unreadable": Text(
            da="Køretøjsregistrets totalvægt ({weight}) kunne ikke læses som et tal.",
            en="The vehicle register's total weight ({weight}) could not be read as a number.",
        ),
    },
)
def vehicle_too_heavy(case: PermitCase, settings: WeightLimit) -> Fired | None:
    """Total weight above the limit (a weight that is no number fires too)."""
    if case.vehicle is None:
        return None
    text = case.vehicle.total_weight_kg.strip()
    if not text.isdigit() or not text.isascii():
        return Fired("unreadable", params={"weight": text[:20]})
    if int(text) <= settings.max_weight_kg:
        return None
    return Fired(
        params={"weight": text, "limit": str(settings.max_weight_kg)},
        details={"weight_kg": text, "limit_kg": str(settings.max_weight_kg)},
    )


@parking.rule(
    "address.outside_zone",
    checks=Text(
        da="om ansøgeren bor i den zone, der søges om",
        en="whether the applicant lives in the zone applied for",
    ),
    texts={
        "fired": Text(
            da="Ansøgeren bor i zone {lives}, men søger om zone {zone}.",
            en="The applicant lives in zone {lives} but applies for zone {zone}.",
        ),
        "no_zone": Text(
            da="Ansøgerens adresse ligger ikke i en beboerparkeringszone.",
            en="The applicant's address is not in a resident parking zone.",
        ),
        "unknown": Text(
            da="Ansøgeren findes ikke i folkeregistret med en kendt adresse.",
            en="The applicant is not in the population register with a known address.",
        ),
    },
)
def address_outside_zone(case: PermitCase, settings: RuleSettings) -> Fired | None:
    """The registered address's zone must be the zone applied for."""
    applicant = case.applicant
    if applicant is None or not applicant.address_known:
        return Fired("unknown")
    if applicant.parking_zone is None:
        return Fired("no_zone")
    if applicant.parking_zone.strip().upper() == case.zone.strip().upper():
        return None
    return Fired(params={"lives": applicant.parking_zone, "zone": case.zone.strip()})


@parking.rule(
    "permit.already_active",
    checks=Text(
        da="om bilen allerede har en tilladelse, der gælder fra startdatoen",
        en="whether the car already has a permit valid on the start date",
    ),
    text=Text(
        da="Bilen har allerede en tilladelse, der gælder på startdatoen ({permits}).",
        en="The car already has a permit valid on the start date ({permits}).",
    ),
)
def permit_already_active(case: PermitCase, settings: RuleSettings) -> Fired | None:
    """Another permit for the plate still valid when the new one would start (this case's
    own permit does not count; a start date that is no date is data.invalid's, and the
    check then uses today)."""
    start = case.start_date.strip()
    if not _ISO_DATE.fullmatch(start):
        start = date.today().isoformat()
    active = [p for p in case.permits if p.case_id != case.case_id and p.valid_to >= start]
    if not active:
        return None
    return Fired(params={"permits": ", ".join(f"{p.permit_id} zone {p.zone}" for p in active)})


def _digits(cpr: str) -> str:
    return "".join(ch for ch in cpr if ch.isdigit())
