"""Resident parking sample data: zones, vehicles, permits and a dozen applications.

Three applications are plainly routine; each of the others trips exactly one of the
resident parking rules (PERMIT_KINDS, by the ids flows/resident_parking uses). Built after the
change-of-address notifications, with a random stream of its own, so the sample's
notifications are the same with or without it.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from random import Random
from typing import Any
from zoneinfo import ZoneInfo

from sandbox._population import Person, Register

_TZ = ZoneInfo("Europe/Copenhagen")
ZONE_POSTCODE = "8800"  # resident parking zones cover Viborg's town centre only
ZONES = ("A", "B", "C")
HEAVY_KG = 3500
# Each kind of application and the rule it is meant to trip (None: plainly routine).
PERMIT_KINDS: tuple[tuple[str, str | None], ...] = (
    ("routine", None),
    ("routine.registered_user", None),  # the applicant is the car's registered user
    ("routine.renewal", None),  # plate typed with spaces; last year's permit has run out
    ("remarks", "remarks.present"),
    ("remarks.hidden", "remarks.present"),  # zero-width characters only
    ("vehicle.not_theirs", "vehicle.not_applicants"),
    ("vehicle.heavy", "vehicle.too_heavy"),
    ("zone.other", "address.outside_zone"),
    ("vehicle.unknown", "vehicle.unknown"),
    ("permit.active", "permit.already_active"),
    ("invalid.plate", "data.invalid"),
    ("invalid.start_date", "data.invalid"),
)
_CARS = (
    ("Toyota", "Yaris", 1090),
    ("Volkswagen", "Golf", 1700),
    ("Skoda", "Octavia", 1950),
    ("Peugeot", "208", 1500),
    ("Kia", "Niro", 2000),
    ("Tesla", "Model 3", 2230),
)
_VANS = (("Mercedes-Benz", "Sprinter", 4100), ("Iveco", "Daily", 5200))
_REMARKS = (
    "Jeg har fået ny bil, og den gamle tilladelse skal overføres til den nye.",
    "Kan tilladelsen gælde fra i dag? Jeg har allerede fået en p-afgift.",
)
_HIDDEN_REMARKS = "\u200b\u2060"
_LETTERS = "ABCDEFGHJKLMNPRSTUVXYZ"


def add_parking(
    register: Register, notifications: list[dict[str, Any]], *, today: date, seed: int
) -> dict[str, list[dict[str, Any]]]:
    """Zone the register's addresses and make the vehicles, permits and applications."""
    draws = Random(f"sandbox-sample-parking:{seed}")  # noqa: S311 (sample data, not secrets)
    builder = _Parking(register, draws, today)
    used = {m["cpr"] for n in notifications for m in n["movers"]}
    used |= {n["reporter_cpr"] for n in notifications}
    builder.zone_addresses()
    applications = [builder.application(kind, used) for kind, _ in PERMIT_KINDS]
    applications.sort(key=lambda a: (datetime.fromisoformat(a["received_at"]), a["plate"]))
    for number, application in enumerate(applications, start=101):
        application["case_id"] = f"PRK-{today.year}-{number:06d}"
    return {
        "vehicles": builder.vehicles,
        "permit_applications": applications,
        "permits": builder.permits,
    }


class _Parking:
    def __init__(self, register: Register, rng: Random, today: date) -> None:
        self.reg = register
        self.rng = rng
        self.today = today
        self.start = (today.replace(day=1) + timedelta(days=32)).replace(day=1)
        self.zone_of: dict[str, str] = {}
        self.plates: set[str] = set()
        self.vehicles: list[dict[str, Any]] = []
        self.permits: list[dict[str, Any]] = []

    def zone_addresses(self) -> None:
        """A zone for every dwelling in the zoned town, by street (zones are areas)."""
        streets = sorted({a["street"] for a in self.reg.addresses})
        self.zone_of = {street: self.rng.choice(ZONES) for street in streets}
        for address in self.reg.addresses:
            address["parking_zone"] = self._zone(address)

    def _zone(self, address: dict[str, Any]) -> str | None:
        if address["unit_type"] != "dwelling" or address["postcode"] != ZONE_POSTCODE:
            return None
        return self.zone_of.setdefault(address["street"], self.rng.choice(ZONES))

    def application(self, kind: str, used: set[str]) -> dict[str, Any]:
        """One application of a kind, for an applicant no other sample case involves."""
        person = self._applicant(used)
        zone = self.reg.by_id(person.address_id)["parking_zone"]
        owner, user, weight = person.cpr, None, None
        if kind == "routine.registered_user":
            owner, user = self._applicant(used).cpr, person.cpr
        elif kind == "vehicle.not_theirs":
            owner = self._applicant(used).cpr
        elif kind == "vehicle.heavy":
            weight = self.rng.choice(_VANS)
        plate = self._plate()
        if kind != "vehicle.unknown":
            self._vehicle(plate, owner, user, weight)
        application = {
            "case_id": "",
            "received_at": self._received(),
            "applicant_cpr": person.cpr,
            "applicant_name": person.name,
            "plate": plate,
            "zone": zone,
            "start_date": self.start.isoformat(),
            "remarks": "",
        }
        if kind == "routine.renewal":
            application["plate"] = f"{plate[:2]} {plate[2:4]} {plate[4:]}".lower()
            ended = self.today - timedelta(days=self.rng.randint(20, 60))
            began = ended - timedelta(days=364)
            self._permit(plate, zone, began, ended, f"PRK-{began.year}-000417")
        elif kind == "remarks":
            application["remarks"] = self.rng.choice(_REMARKS)
        elif kind == "remarks.hidden":
            application["remarks"] = _HIDDEN_REMARKS
        elif kind == "zone.other":
            application["zone"] = self.rng.choice([z for z in ZONES if z != zone])
        elif kind == "permit.active":
            since = self.today - timedelta(days=self.rng.randint(60, 200))
            self._permit(plate, zone, since, _year_after(since), None)
        elif kind == "invalid.plate":
            application["plate"] = plate + str(self.rng.randint(0, 9))  # a digit too many
        elif kind == "invalid.start_date":
            application["start_date"] = self.start.strftime("%d-%m-%Y")
        return application

    def _applicant(self, used: set[str]) -> Person:
        """An adult at a zoned dwelling, without a protected address, not used yet."""

        def ok(p: Person) -> bool:
            zoned = self.reg.by_id(p.address_id).get("parking_zone") is not None
            return zoned and not p.protected and p.age_on(self.today) >= 18 and p.cpr not in used

        candidates = [p for p in self.reg.people if ok(p)]
        while not candidates:
            address = self.reg.add_address("dwelling")
            address["parking_zone"] = self._zone(address)
            if address["parking_zone"] is not None:
                self.reg.add_household(address["address_id"], 2)
                candidates = [p for p in self.reg.residents(address["address_id"]) if ok(p)]
        person = self.rng.choice(candidates)
        used.add(person.cpr)
        return person

    def _plate(self) -> str:
        while True:
            plate = "".join(self.rng.choices(_LETTERS, k=2)) + f"{self.rng.randint(10000, 99999)}"
            if plate not in self.plates:
                self.plates.add(plate)
                return plate

    def _vehicle(
        self, plate: str, owner: str, user: str | None, van: tuple[str, str, int] | None
    ) -> None:
        make, model, weight = van or self.rng.choice(_CARS)
        self.vehicles.append(
            {
                "plate": plate,
                "make": make,
                "model": model,
                "total_weight_kg": weight,
                "owner_cpr": owner,
                "user_cpr": user,
            }
        )

    def _permit(self, plate: str, zone: str, start: date, end: date, case_id: str | None) -> None:
        self.permits.append(
            {
                "permit_id": f"BP-{len(self.permits) + 1:06d}",
                "plate": plate,
                "zone": zone,
                "valid_from": start.isoformat(),
                "valid_to": end.isoformat(),
                "case_id": case_id,
            }
        )

    def _received(self) -> str:
        day = self.today - timedelta(days=self.rng.randint(1, 5))
        at = time(self.rng.randint(7, 22), self.rng.randint(0, 59))
        return datetime.combine(day, at, _TZ).isoformat(timespec="seconds")


def _year_after(start: date) -> date:
    try:
        return start.replace(year=start.year + 1) - timedelta(days=1)
    except ValueError:  # 29 February
        return date(start.year + 1, 2, 28)
