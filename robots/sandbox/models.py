"""What the sandbox case system's registers and receipts say, as the robot reads them.

Records of the address and population registers, other cases of the same people, the
receipt of a registered move, and an address as the citizen wrote it (what the address
register is searched by). The processes build their case models from these.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

NonEmpty = Annotated[str, Field(min_length=1)]

UnitType = Literal["dwelling", "business", "summer_house", "institution"]
CaseStatus = Literal["open", "in_progress", "registered", "manual", "awaiting_citizen"]


class Address(BaseModel):
    """An address as written on a notification."""

    model_config = ConfigDict(str_strip_whitespace=True, frozen=True)

    street: NonEmpty
    house_number: NonEmpty
    floor: str | None = None
    door: str | None = None
    postcode: Annotated[str, Field(pattern=r"^[0-9]{4}$")]
    city: NonEmpty

    def key(self) -> tuple[str, str, str, str, str]:
        """Matching key: street, number, floor, door, postcode; case and blanks ignored."""
        parts = (self.street, self.house_number, self.floor, self.door, self.postcode)
        return tuple((p or "").strip().casefold() for p in parts)  # type: ignore[return-value]

    def one_line(self) -> str:
        """`Vestergade 12, 2. th, 8800 Viborg`."""
        unit = ", ".join(p for p in (f"{self.floor}." if self.floor else "", self.door or "") if p)
        head = f"{self.street} {self.house_number}"
        return (
            f"{head}, {unit}, {self.postcode} {self.city}"
            if unit
            else (f"{head}, {self.postcode} {self.city}")
        )


class RegisterAddress(BaseModel):
    """An address in the address register."""

    address_id: str
    street: str
    house_number: str
    floor: str | None = None
    door: str | None = None
    postcode: str
    city: str
    municipality_code: str = ""
    unit_type: UnitType


class Person(BaseModel):
    """A person in the population register."""

    cpr: str
    name: str
    address_id: str | None = None
    protected_address: bool = False


class RelatedCase(BaseModel):
    """Another notification in the case system for one of the same movers."""

    case_id: str
    status: CaseStatus
    received_at: datetime | None = None
    handled_at: datetime | None = None


class Registration(BaseModel):
    """A move registered in the population register, as read back from its receipt."""

    registration_id: str
    case_id: str
    cpr: str
    address_id: str
    move_date: date
