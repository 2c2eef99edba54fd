"""Resident parking permits (beboerparkering): the process, its view, proposal and system.

A citizen applies for a permit to park one car in the zone they live in. The robot
reads the application, looks the car up in the vehicle register, the applicant in the
population register (with their address's zone) and the plate in the permit register;
its rules (rules.py) send anything not plainly routine to a person; it issues the
permit, or writes a person's rejection with its reason to the case (carry_out.py).
"""

from __future__ import annotations

from typing import Any

from checkpoints.process import (
    APPROVE,
    EDIT,
    MANUAL,
    REJECT,
    CaseView,
    Fact,
    Locale,
    Process,
    Text,
)
from config.settings import ASSUMED_BASELINE, ManualBaseline
from flows.resident_parking.case import PermitCase, PermitForm, normalise_plate
from robots.sandbox.permits import PermitSystemRobot

NAME = "resident-parking"

parking: Process[PermitCase, PermitForm] = Process(
    NAME,
    title=Text(da="Beboerparkering", en="Resident parking"),
    case=PermitCase,
    form=PermitForm,
    decisions=(APPROVE, EDIT, REJECT, MANUAL),
    end_status={APPROVE: "issued", EDIT: "issued", REJECT: "rejected", MANUAL: "manual"},
    # Until a municipality measures its own: a person checking the car, the address and
    # the zone, and issuing the permit.
    manual_baseline=ManualBaseline(minutes_low=4, minutes_high=8, source=ASSUMED_BASELINE),
    outcomes={
        "issued": Text(
            da="Robotten udstedte tilladelsen ({references}) og lukkede sagen.",
            en="The robot issued the permit ({references}) and closed the case.",
        ),
        "rejected": Text(
            da="Robotten afviste ansøgningen med begrundelsen: {note}",
            en="The robot rejected the application with the reason: {note}",
        ),
        "manual": Text(
            da="Robotten sendte sagen til manuel behandling.",
            en="The robot sent the case to manual handling.",
        ),
    },
)

_LABELS = {
    "da": {"applicant": "Ansøger", "plate": "Nummerplade", "zone": "Zone",
           "start": "Startdato", "vehicle": "Køretøj", "address": "Ansøgers adresse",
           "none": "ikke fundet", "received": "Modtaget"},
    "en": {"applicant": "Applicant", "plate": "Number plate", "zone": "Zone",
           "start": "Start date", "vehicle": "Vehicle", "address": "Applicant's address",
           "none": "not found", "received": "Received"},
}  # fmt: skip


@parking.view
def show(case: PermitCase, locale: Locale) -> CaseView:
    """The application in plain words (the machinery masks CPR numbers)."""
    t = _LABELS[locale]
    vehicle = t["none"]
    if case.vehicle is not None:
        v = case.vehicle
        vehicle = f"{v.make} {v.model}, {v.total_weight_kg} kg, ejer/owner {v.owner_cpr}"
    address = t["none"]
    if case.applicant is not None and case.applicant.address_known:
        zone = case.applicant.parking_zone or "-"
        address = f"{case.applicant.address} (zone {zone})"
    return CaseView(
        facts=[
            Fact(label=t["applicant"], value=f"{case.applicant_name} ({case.applicant_cpr})"),
            Fact(label=t["plate"], value=case.plate),
            Fact(label=t["zone"], value=case.zone),
            Fact(label=t["start"], value=case.start_date),
            Fact(label=t["vehicle"], value=vehicle),
            Fact(label=t["address"], value=address),
            Fact(label=t["received"], value=case.received_at),
        ],
        remarks=case.remarks,
    )


@parking.propose
def propose(case: PermitCase, locale: Locale) -> str:
    """What the robot does on approve."""
    plate = normalise_plate(case.plate)
    return {
        "da": f"Udsted beboerparkeringstilladelse til {plate} i zone {case.zone} fra "
        f"{case.start_date} i et år, og luk sagen.",
        "en": f"Issue a resident parking permit for {plate} in zone {case.zone} from "
        f"{case.start_date} for one year, and close the case.",
    }[locale]


@parking.form_of
def form_of(case: PermitCase) -> dict[str, Any]:
    """The fields a person may correct, as the citizen typed them."""
    return {"plate": case.plate, "zone": case.zone, "start_date": case.start_date}


async def read(robot: PermitSystemRobot, case_id: str) -> PermitCase:
    """The application with what the three registers say about it."""
    application = await robot.read_application(case_id)
    plate = normalise_plate(application.plate)
    valid_plate = _plate_ok(plate)
    vehicle = await robot.lookup_vehicle(plate) if valid_plate else None
    permits = await robot.permits_for(plate) if valid_plate else []
    applicant = await robot.lookup_resident(application.applicant_cpr)
    return PermitCase(
        case_id=application.case_id,
        status=application.status,
        received_at=application.received_at,
        applicant_cpr=application.applicant_cpr,
        applicant_name=application.applicant_name,
        plate=application.plate,
        zone=application.zone,
        start_date=application.start_date,
        remarks=application.remarks,
        vehicle=vehicle,
        vehicle_looked_up=valid_plate,
        applicant=applicant,
        permits=permits,
    )


def _plate_ok(plate: str) -> bool:
    return len(plate) == 7 and plate[:2].isalpha() and plate[2:].isdigit() and plate.isascii()


async def inbox(robot: PermitSystemRobot, limit: int | None) -> list[str]:
    """The open applications."""
    return await robot.open_case_ids(limit)


async def set_aside(robot: PermitSystemRobot, case: PermitCase) -> None:
    """Mark the application in progress while a person decides."""
    await robot.mark_in_progress(case.case_id)


parking.system(
    robot=lambda page, target: PermitSystemRobot(page, target),
    read=read,
    inbox=inbox,
    set_aside=set_aside,
    case_link=lambda base_url, case_id: f"{base_url.rstrip('/')}/parkering/{case_id}",
    show_case=lambda robot, case_id: robot.show_case(case_id),
)

__all__ = ["NAME", "parking"]
