"""The resident parking permit case as the robot reads it, and the form a person corrects."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, Field

from robots.sandbox.permit_models import PermitRead, ResidentRead, VehicleRead

_PLATE = re.compile(r"[A-Z]{2}[0-9]{5}")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def normalise_plate(text: str) -> str:
    """`ab 12 345` -> `AB12345`: spaces and hyphens dropped, letters upper case."""
    return "".join(ch for ch in text if ch not in " -").upper()


def _plate(value: Any) -> Any:
    if isinstance(value, str):
        value = normalise_plate(value)
        if not _PLATE.fullmatch(value):
            raise ValueError("not a Danish number plate (two letters and five digits)")
    return value


def _iso_date(value: Any) -> Any:
    if isinstance(value, str) and not _ISO_DATE.fullmatch(value.strip()):
        raise ValueError("not an ISO 8601 date (YYYY-MM-DD)")
    return value.strip() if isinstance(value, str) else value


def _zone(value: str) -> str:
    if not re.fullmatch(r"[A-Z]", value):
        raise ValueError("not a parking zone (one capital letter, e.g. A)")
    return value


Plate = Annotated[str, BeforeValidator(_plate)]
Zone = Annotated[str, BeforeValidator(lambda v: v.strip().upper() if isinstance(v, str) else v),
                 AfterValidator(_zone)]  # fmt: skip
IsoDate = Annotated[date, BeforeValidator(_iso_date)]


class PermitForm(BaseModel):
    """What a person may correct on an application; validates the robot's reading too."""

    plate: Plate = Field(title="Nummerplade / Number plate", description="AB12345")
    zone: Zone = Field(title="Zone", description="A")
    start_date: IsoDate = Field(title="Startdato / Start date", description="YYYY-MM-DD")


class PermitCase(BaseModel):
    """Everything the robot knows about one application when the rules run.

    The application's fields are kept as the citizen typed them; the look-ups say what
    the registers answered. `vehicle` None means the register answered "not found"
    (an error page is a fault, never a None).
    """

    case_id: str
    status: str
    received_at: str
    applicant_cpr: str
    applicant_name: str
    plate: str
    zone: str
    start_date: str
    remarks: str = ""
    vehicle: VehicleRead | None = None
    vehicle_looked_up: bool = Field(
        default=False, description="False: the plate was not valid, so it was not looked up."
    )
    applicant: ResidentRead | None = None
    permits: list[PermitRead] = Field(
        default_factory=list, description="The permits the register has for the plate."
    )
