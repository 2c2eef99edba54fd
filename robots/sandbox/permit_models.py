"""What the permit robot reads from the case system: raw text, judged later by the rules.

Every field is the text the system sent, character for character (a plate as the
citizen typed it, a start date that may be no date); only the status is a known code.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

PermitStatus = Literal["open", "in_progress", "issued", "rejected", "manual"]
PERMIT_STATUSES: frozenset[str] = frozenset({"open", "in_progress", "issued", "rejected", "manual"})
CLOSED: frozenset[str] = frozenset({"issued", "rejected", "manual"})


class _Read(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ApplicationRead(_Read):
    """A resident parking permit application as its case page shows it."""

    case_id: str
    status: PermitStatus
    received_at: str
    applicant_cpr: str
    applicant_name: str
    plate: str
    zone: str
    start_date: str
    remarks: str
    handled_at: str
    reason: str | None = None  # the rejection reason, when rejected
    note: str | None = None  # the note, when sent to manual handling
    permit_id: str | None = None  # the permit, when issued


class VehicleRead(_Read):
    """A vehicle in the vehicle register."""

    plate: str
    make: str
    model: str
    total_weight_kg: str
    owner_cpr: str
    user_cpr: str | None  # the registered user (leasing), None when there is none


class PermitRead(_Read):
    """A resident parking permit in the permit register (or on its receipt)."""

    permit_id: str
    plate: str
    zone: str
    valid_from: str
    valid_to: str
    case_id: str | None  # None: issued outside the case system


class ResidentRead(_Read):
    """A person in the population register, with their address's parking zone."""

    cpr: str
    name: str
    protected_address: bool
    address_id: str
    address: str  # the address as text; empty when the address register lacks it
    address_known: bool
    parking_zone: str | None  # None: no resident parking zone (or an unknown address)
