"""Made-up but plausible Danish registers: addresses, households and CPR numbers."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta
from random import Random
from typing import Any

from faker import Faker

# Faker's da_DK cities and postcodes do not belong together, and it has no municipality
# codes, so places come from this table of real ones (mostly around Viborg).
PLACES: tuple[tuple[str, str, str, int], ...] = (
    ("8800", "Viborg", "0791", 12),
    ("8830", "Tjele", "0791", 2),
    ("8840", "Rødkærsbro", "0791", 1),
    ("8850", "Bjerringbro", "0791", 3),
    ("8860", "Ulstrup", "0791", 1),
    ("7470", "Karup J", "0791", 2),
    ("8620", "Kjellerup", "0740", 2),
    ("8600", "Silkeborg", "0740", 3),
    ("7800", "Skive", "0779", 3),
    ("8900", "Randers C", "0730", 2),
    ("8000", "Aarhus C", "0751", 3),
    ("9500", "Hobro", "0846", 1),
)
SUMMER_PLACES: tuple[tuple[str, str, str], ...] = (
    ("9640", "Farsø", "0820"),
    ("8400", "Ebeltoft", "0706"),
    ("8950", "Ørsted", "0707"),
)
_UNIT_WEIGHTS = (("dwelling", 80), ("business", 8), ("summer_house", 6), ("institution", 6))
_CPR_WEIGHTS = (4, 3, 2, 7, 6, 5, 4, 3, 2)


def century_digits(birth: date) -> str:
    """Digits allowed in CPR position 7 for a birth year (python-stdnum's century rules)."""
    year = birth.year
    if 1900 <= year <= 1999:
        return "0123" + ("49" if year % 100 >= 37 else "")
    if 2000 <= year <= 2036:
        return "49" + ("5678" if year % 100 < 58 else "")
    if 2037 <= year <= 2057:
        return "5678"
    raise ValueError(f"no CPR century digit for birth year {year}")


def make_cpr(birth: date, *, female: bool, rng: Random, taken: set[str]) -> str:
    """A new CPR number: birth date, century digit, and a serial passing modulus 11."""
    head = birth.strftime("%d%m%y")
    digits = century_digits(birth)
    for _ in range(2000):
        base = f"{head}{rng.choice(digits)}{rng.randrange(100):02d}"
        check = -sum(w * int(d) for w, d in zip(_CPR_WEIGHTS, base, strict=True)) % 11
        # The last digit is even for women and odd for men; 10 cannot be a check digit.
        if check == 10 or check % 2 != (0 if female else 1):
            continue
        cpr = f"{base}{check}"
        if cpr not in taken:
            taken.add(cpr)
            return cpr
    raise RuntimeError(f"no free CPR serial left for {birth.isoformat()}")


@dataclass
class Person:
    """A resident as the generator knows them (with the birth date behind the CPR)."""

    cpr: str
    name: str
    birth: date
    address_id: str
    protected: bool = False

    def age_on(self, day: date) -> int:
        """Whole years of age on a day."""
        before_birthday = (day.month, day.day) < (self.birth.month, self.birth.day)
        return day.year - self.birth.year - int(before_birthday)


@dataclass
class Register:
    """Addresses and residents under construction."""

    rng: Random
    fake: Faker
    today: date
    addresses: list[dict[str, Any]] = field(default_factory=list)
    people: list[Person] = field(default_factory=list)
    keys: set[tuple[str, ...]] = field(default_factory=set)
    cprs: set[str] = field(default_factory=set)
    _by_id: dict[str, dict[str, Any]] = field(default_factory=dict)
    _homes: dict[str, list[Person]] = field(default_factory=dict)

    def by_id(self, address_id: str) -> dict[str, Any]:
        """The register address with that id."""
        return self._by_id[address_id]

    def residents(self, address_id: str) -> list[Person]:
        """Everyone living at an address."""
        return list(self._homes.get(address_id, ()))

    def add_address(self, unit_type: str) -> dict[str, Any]:
        """A new address of a unit type, unique on street, number, floor, door and postcode."""
        rng = self.rng
        while True:
            if unit_type == "summer_house":
                postcode, city, municipality = rng.choice(SUMMER_PLACES)
            else:
                places = [p[:3] for p in PLACES]
                postcode, city, municipality = rng.choices(places, [p[3] for p in PLACES])[0]
            number = str(rng.randint(1, 140)) + ("B" if rng.random() < 0.06 else "")
            floor: str | None = None
            door: str | None = None
            if unit_type == "dwelling" and rng.random() < 0.5:
                floor = rng.choice(["st", "1", "1", "2", "2", "3", "4", "5"])
                door = rng.choice(["th", "tv", "mf"])
            street = str(self.fake.street_name())
            key = (street.casefold(), number.casefold(), floor or "", door or "", postcode)
            if key not in self.keys:
                break
        self.keys.add(key)
        address: dict[str, Any] = {
            "address_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "street": street,
            "house_number": number,
            "floor": floor,
            "door": door,
            "postcode": postcode,
            "city": city,
            "municipality_code": municipality,
            "unit_type": unit_type,
        }
        self.addresses.append(address)
        self._by_id[address["address_id"]] = address
        return address

    def add_person(self, address_id: str, *, age: int, last_name: str, protected: bool) -> Person:
        """A new resident of a given age (on `today`) at an address."""
        female = self.rng.random() < 0.5
        first = self.fake.first_name_female() if female else self.fake.first_name_male()
        birth = self.today - timedelta(days=age * 365 + self.rng.randint(30, 330))
        cpr = make_cpr(birth, female=female, rng=self.rng, taken=self.cprs)
        person = Person(cpr, f"{first} {last_name}", birth, address_id, protected)
        self.people.append(person)
        self._homes.setdefault(address_id, []).append(person)
        return person

    def add_household(
        self, address_id: str, size: int, *, protected: bool = False, teen: bool = False
    ) -> list[Person]:
        """One or two adults, then children (or grown children when the adults are older)."""
        rng = self.rng
        last = str(self.fake.last_name())
        head_age = rng.randint(32, 52) if teen else rng.randint(20, 85)
        members = [self.add_person(address_id, age=head_age, last_name=last, protected=protected)]
        if size >= 2:
            partner_age = max(18, head_age + rng.randint(-5, 5))
            members.append(
                self.add_person(address_id, age=partner_age, last_name=last, protected=protected)
            )
        for index in range(2, max(size, 3 if teen else 0)):
            if teen and index == 2:
                child_age = rng.randint(15, 16)
            else:
                child_age = rng.randint(1, 17) if head_age < 56 else rng.randint(18, 30)
            members.append(
                self.add_person(address_id, age=child_age, last_name=last, protected=protected)
            )
        return members

    def populate(self, n_addresses: int) -> None:
        """Fill the register: addresses of every unit type and 1-4 residents at most dwellings."""
        kinds = [k for k, _ in _UNIT_WEIGHTS]
        weights = [w for _, w in _UNIT_WEIGHTS]
        # At least one of each unit type, so every kind of case can be built.
        unit_types = kinds + self.rng.choices(kinds, weights, k=max(0, n_addresses - len(kinds)))
        for unit_type in unit_types:
            address = self.add_address(unit_type)
            if unit_type == "dwelling" and self.rng.random() < 0.7:
                size = self.rng.choices([1, 2, 3, 4], [30, 35, 20, 15])[0]
                protected = self.rng.random() < 0.04
                self.add_household(address["address_id"], size, protected=protected)
            elif unit_type == "institution":
                for _ in range(self.rng.randint(1, 4)):
                    age = self.rng.randint(70, 98)
                    last = str(self.fake.last_name())
                    self.add_person(address["address_id"], age=age, last_name=last, protected=False)
            elif unit_type == "summer_house" and self.rng.random() < 0.3:
                self.add_household(address["address_id"], 1)

    def as_seed_parts(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Addresses and residents in the seed file's shape."""
        residents = [
            {
                "cpr": p.cpr,
                "name": p.name,
                "address_id": p.address_id,
                "protected_address": p.protected,
            }
            for p in self.people
        ]
        return [dict(a) for a in self.addresses], residents
