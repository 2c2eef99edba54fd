"""Deterministic sample data: a register and a realistic mix of change-of-address notifications.

About 60% of the cases are plainly routine, about 20% carry free-text remarks,
and the rest are unusual (every rule of the contract has a case from 36 cases on).
Resident parking adds zones, vehicles, permits and a dozen permit applications
(_parking_sample.py), built afterwards so the notifications stay the same.
"""

from __future__ import annotations

from collections.abc import Callable
from copy import deepcopy
from datetime import date, datetime, time, timedelta
from itertools import cycle
from random import Random
from typing import Any
from zoneinfo import ZoneInfo

from faker import Faker

from sandbox._parking_sample import add_parking
from sandbox._population import PLACES, Person, Register

_TZ = ZoneInfo("Europe/Copenhagen")
# Each unusual kind and how many notifications it takes.
UNUSUAL_KINDS: tuple[tuple[str, int], ...] = (
    ("address.unknown", 1),
    ("address.not_dwelling", 1),
    ("address.protected", 1),
    ("movers.minor_alone", 1),
    ("date.far_ahead", 1),
    ("date.long_ago", 1),
    ("case.duplicate", 2),
    ("invalid.cpr", 1),
    ("invalid.move_date", 1),
    ("invalid.empty_movers", 1),
    ("invalid.missing_new_address", 1),
)
_PLAIN_REMARKS = (
    "Vi flytter sammen med vores hund.",
    "Post til min gamle adresse må gerne eftersendes i et halvt år.",
    "Min søn flytter med, men han bor hos sin far hver anden uge.",
    "Nøglerne bliver afleveret til udlejer den 1. i måneden.",
    "Kan I sende bekræftelsen til min e-Boks? Tak.",
    "Lejligheden er en fremlejekontrakt på et år.\nVi flytter tilbage bagefter.",
    "Jeg er ikke sikker på etagen – der står 1. sal på kontrakten, men det er stuen.",
    "Tak for hjælpen!",
)
_SPECIAL_REMARKS = (
    "<script>alert(1)</script> Vi flytter den 1.",
    "<!channel> hjælp, der er noget galt med min adresse",
    "Vi flytter *fed* og _kursiv_ – og `kode` – sammen med <b>fætter</b> Bent & Co.",
)
_REMARK_PATTERN = ("plain", 0, "plain", 1, 2, "long")


def generate_sample(n_cases: int, *, seed: int = 7, today: date | None = None) -> dict[str, Any]:
    """A seed dict in the contracts' shape, deterministic for (n_cases, seed, today)."""
    if n_cases < 0:
        raise ValueError(f"n_cases must be 0 or more, not {n_cases}")
    today = today or date.today()
    rng = Random(f"sandbox-sample:{seed}")
    fake = Faker("da_DK")
    fake.seed_instance(seed)
    register = Register(rng, fake, today)
    register.populate(max(3 * n_cases, 12))
    builder = _Cases(register, rng, today)
    notifications = builder.build(_plan(n_cases, rng))
    notifications.sort(key=lambda n: (datetime.fromisoformat(n["received_at"]), n["reporter_cpr"]))
    for number, notification in enumerate(notifications, start=101):
        notification["case_id"] = f"FLY-{today.year}-{number:06d}"
    parking = add_parking(register, notifications, today=today, seed=seed)
    addresses, residents = register.as_seed_parts()
    return {
        "addresses": addresses,
        "residents": residents,
        "notifications": notifications,
    } | parking


def _plan(n_cases: int, rng: Random) -> list[str]:
    """The kind of each case (`routine`, `remarks:<i>` or an unusual kind), shuffled."""
    all_kinds = sum(size for _, size in UNUSUAL_KINDS)
    share = n_cases - round(0.6 * n_cases) - round(0.2 * n_cases)
    unusual = max(share, min(all_kinds, n_cases // 3))
    remarks = round((n_cases - unusual) * 0.25)
    plan = ["routine"] * (n_cases - unusual - remarks) + [f"remarks:{i}" for i in range(remarks)]
    left = unusual
    for kind, size in cycle(UNUSUAL_KINDS):
        if left == 0:
            break
        if size <= left:
            # A duplicate is planned once and built as two notifications.
            plan.append(kind)
            left -= size
    rng.shuffle(plan)
    return plan


class _Cases:
    """Builds notifications against a register, keeping every mover in one case."""

    def __init__(self, register: Register, rng: Random, today: date) -> None:
        self.reg = register
        self.rng = rng
        self.today = today
        self.used: set[str] = set()
        self.arrivals: dict[str, int] = {}
        self.counts: dict[str, int] = {}

    def build(self, plan: list[str]) -> list[dict[str, Any]]:
        """One notification per planned kind (a duplicate's second copy follows its first)."""
        out: list[dict[str, Any]] = []
        for kind in plan:
            made = self._one(kind)
            out.append(made)
            if kind == "case.duplicate":
                second = {**deepcopy(made), "received_at": _later(made["received_at"], self.rng)}
                out.append(second)
        return out

    def _one(self, kind: str) -> dict[str, Any]:
        count = self.counts[kind] = self.counts.get(kind, 0) + 1
        received = self._received()
        if kind == "movers.minor_alone":
            teen = self._person(lambda p: p.age_on(self.today) in (15, 16), fallback="teen")
            return self._notification(received, [teen], teen.address_id)
        if kind == "address.protected":
            adult = self._person(
                lambda p: p.protected and p.age_on(self.today) >= 18, fallback="protected"
            )
            return self._notification(received, [adult], adult.address_id)
        movers = self._movers()
        old = movers[0].address_id
        if kind == "invalid.empty_movers":
            n = self._notification(received, movers, old)
            return {**n, "movers": []}
        if kind == "address.unknown":
            return self._notification(received, movers, old, new=self._unknown_address())
        if kind == "address.not_dwelling":
            business = self.rng.choice(
                [a for a in self.reg.addresses if a["unit_type"] == "business"]
            )
            return self._notification(received, movers, old, new=_written(business))
        n = self._notification(received, movers, old)
        day = datetime.fromisoformat(received).date()
        if kind == "date.far_ahead":
            n["move_date"] = (day + timedelta(days=self.rng.randint(35, 90))).isoformat()
        elif kind == "date.long_ago":
            n["move_date"] = (day - timedelta(days=self.rng.randint(400, 700))).isoformat()
        elif kind == "invalid.cpr":
            # Month 13: the digits look like a CPR number but hold no valid birth date.
            bad = {m.cpr: f"{m.cpr[:2]}13{m.cpr[4:]}" for m in movers}
            n["movers"] = [{**m, "cpr": bad[m["cpr"]]} for m in n["movers"]]
            n["reporter_cpr"] = bad[n["reporter_cpr"]]
        elif kind == "invalid.move_date":
            n["move_date"] = f"31-02-{self.today.year}" if count % 2 else "i morgen"
        elif kind == "invalid.missing_new_address":
            if count % 2:
                del n["new_address"]
            else:
                n["new_address"] = None
        elif kind.startswith("remarks:"):
            n["remarks"] = self._remark(int(kind.split(":")[1]))
        return n

    def _received(self) -> str:
        day = self.today - timedelta(days=self.rng.randint(2, 5))
        at = time(self.rng.randint(6, 21), self.rng.randint(0, 59))
        return datetime.combine(day, at, _TZ).isoformat(timespec="seconds")

    def _person(self, wanted: Callable[[Person], bool], *, fallback: str) -> Person:
        """An unused resident of a dwelling matching `wanted`, created when there is none."""
        dwellings = {a["address_id"] for a in self.reg.addresses if a["unit_type"] == "dwelling"}
        found = [p for p in self.reg.people if p.cpr not in self.used and p.address_id in dwellings]
        candidates = [p for p in found if wanted(p)]
        if not candidates:
            home = self.reg.add_address("dwelling")["address_id"]
            size = 1 if fallback == "adult" else 3
            self.reg.add_household(
                home, size, protected=fallback == "protected", teen=fallback == "teen"
            )
            candidates = [p for p in self.reg.residents(home) if wanted(p)]
        person = self.rng.choice(candidates)
        self.used.add(person.cpr)
        return person

    def _movers(self) -> list[Person]:
        """A whole unused household, or one adult of it: no protected address, an adult first."""

        def ok(p: Person) -> bool:
            return not p.protected and p.age_on(self.today) >= 20

        first = self._person(ok, fallback="adult")
        household = [
            p
            for p in self.reg.residents(first.address_id)
            if p is not first and p.cpr not in self.used and not p.protected
        ]
        movers = [first] + (household if self.rng.random() < 0.6 else [])
        self.used.update(p.cpr for p in movers)
        return movers

    def _target(self, movers: int, old: str) -> dict[str, Any]:
        """A dwelling with few residents and no protected ones; a new one when all are taken."""
        options = []
        for address in self.reg.addresses:
            if address["unit_type"] != "dwelling" or address["address_id"] == old:
                continue
            load = self.arrivals.get(address["address_id"], 0)
            if load > 2:
                continue
            people = self.reg.residents(address["address_id"])
            if len(people) + load <= 2 and not any(p.protected for p in people):
                options.append(address)
        target = self.rng.choice(options) if options else self.reg.add_address("dwelling")
        self.arrivals[target["address_id"]] = self.arrivals.get(target["address_id"], 0) + movers
        return target

    def _notification(
        self, received: str, movers: list[Person], old: str, *, new: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        day = datetime.fromisoformat(received).date()
        # Within two weeks either side, with a day to spare for a duplicate sent a day later.
        move_date = day + timedelta(days=self.rng.randint(-13, 13))
        channel = self.rng.choices(["borger.dk", "papirblanket", "borgerservice"], [8, 1, 1])[0]
        return {
            "case_id": "",
            "received_at": received,
            "channel": channel,
            "reporter_cpr": movers[0].cpr,
            "movers": [{"cpr": p.cpr, "name": p.name} for p in movers],
            "old_address": _written(self.reg.by_id(old)),
            "new_address": new or _written(self._target(len(movers), old)),
            "move_date": move_date.isoformat(),
            "remarks": "",
        }

    def _unknown_address(self) -> dict[str, Any]:
        while True:
            postcode, city, _, _ = self.rng.choice(PLACES)
            street = str(self.reg.fake.street_name())
            number = str(self.rng.randint(150, 400))
            if (street.casefold(), number, "", "", postcode) not in self.reg.keys:
                return _written(
                    {"street": street, "house_number": number, "postcode": postcode, "city": city}
                )

    def _remark(self, index: int) -> str:
        slot = _REMARK_PATTERN[index] if index < len(_REMARK_PATTERN) else "plain"
        if slot == "long":
            lines = [self.rng.choice(_PLAIN_REMARKS) for _ in range(60)]
            return "Lang besked om flytningen – læs den hele:\n" + "\n".join(lines) + "\nÆØÅ æøå ✓"
        if isinstance(slot, int):
            return _SPECIAL_REMARKS[slot]
        return self.rng.choice(_PLAIN_REMARKS)


def _written(address: dict[str, Any]) -> dict[str, Any]:
    """An address as a citizen writes it on a notification (no id, no unit type)."""
    return {
        "street": address["street"],
        "house_number": address["house_number"],
        "floor": address.get("floor"),
        "door": address.get("door"),
        "postcode": address["postcode"],
        "city": address["city"],
    }


def _later(received_at: str, rng: Random) -> str:
    return (datetime.fromisoformat(received_at) + timedelta(hours=rng.randint(2, 20))).isoformat(
        timespec="seconds"
    )
