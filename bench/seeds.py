"""The benchmark's seeds: routine cases only, the sample's mix, and cases for a person.

`generate_sample(n)` builds notifications in time quadratic in n (3,000 take over two
minutes, 10,000 would take hours) and has no parameter for its mix. The routine seed is
therefore built here on the sample's own register generator (sandbox/_population.py:
addresses, households, valid CPR numbers), one plainly routine notification per mover,
as the sample builds its routine cases: an adult who is not protected moves from a
dwelling to another dwelling with room and no protected residents, within two weeks of
the day received, no remarks. `expected_routine` checks every case against the rules'
inputs (the benchmark also checks afterwards that the robot registered every case).
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, time, timedelta
from random import Random
from typing import Any
from zoneinfo import ZoneInfo

from faker import Faker

from bench.options import SAMPLES
from flows.change_of_address.case import birth_date, validate_notification
from sandbox import generate_sample
from sandbox._population import Person, Register

_TZ = ZoneInfo("Europe/Copenhagen")
REMARK = "Vi flytter sammen med vores hund."


def _written(address: dict[str, Any]) -> dict[str, Any]:
    return {
        "street": address["street"],
        "house_number": address["house_number"],
        "floor": address.get("floor"),
        "door": address.get("door"),
        "postcode": address["postcode"],
        "city": address["city"],
    }


def routine_seed(n_cases: int, *, seed: int = 7, today: date | None = None) -> dict[str, Any]:
    """A seed of `n_cases` plainly routine notifications, one mover each."""
    today = today or date.today()
    rng = Random(f"rpa-bench-routine:{seed}")  # noqa: S311 (sample data, not secrets)
    fake = Faker("da_DK")
    fake.seed_instance(seed)
    register = Register(rng, fake, today)
    register.populate(max(3 * n_cases, 12))

    def dwelling(address_id: str) -> bool:
        return bool(register.by_id(address_id)["unit_type"] == "dwelling")

    def movable(p: Person) -> bool:
        return not p.protected and p.age_on(today) >= 20 and dwelling(p.address_id)

    movers = [p for p in register.people if movable(p)]
    while len(movers) < n_cases:  # rarely: a register with too few adults; add households
        home = register.add_address("dwelling")["address_id"]
        movers += [p for p in register.add_household(home, 2) if movable(p)]
    rng.shuffle(movers)
    movers = movers[:n_cases]
    arrivals: Counter[str] = Counter()
    targets = [
        a["address_id"]
        for a in register.addresses
        if a["unit_type"] == "dwelling"
        and len(register.residents(a["address_id"])) <= 2
        and not any(p.protected for p in register.residents(a["address_id"]))
    ]
    notifications = []
    for mover in movers:
        target = _target(register, rng, targets, arrivals, mover.address_id)
        day = today - timedelta(days=rng.randint(2, 5))
        received = datetime.combine(day, time(rng.randint(6, 21), rng.randint(0, 59)), _TZ)
        move_date = received.date() + timedelta(days=rng.randint(-13, 13))
        notifications.append(
            {
                "case_id": "",
                "received_at": received.isoformat(timespec="seconds"),
                "channel": rng.choices(["borger.dk", "papirblanket", "borgerservice"], [8, 1, 1])[
                    0
                ],
                "reporter_cpr": mover.cpr,
                "movers": [{"cpr": mover.cpr, "name": mover.name}],
                "old_address": _written(register.by_id(mover.address_id)),
                "new_address": _written(register.by_id(target)),
                "move_date": move_date.isoformat(),
                "remarks": "",
            }
        )
    notifications.sort(key=lambda n: (n["received_at"], n["reporter_cpr"]))
    for number, notification in enumerate(notifications, start=101):
        notification["case_id"] = f"FLY-{today.year}-{number:06d}"
    addresses, residents = register.as_seed_parts()
    return {"addresses": addresses, "residents": residents, "notifications": notifications}


def _target(
    register: Register, rng: Random, targets: list[str], arrivals: Counter[str], old: str
) -> str:
    """A dwelling with room (at most three people after the move), not the mover's own."""
    for _ in range(20):
        if not targets:
            break
        index = rng.randrange(len(targets))
        address_id = targets[index]
        if address_id == old:
            continue
        arrivals[address_id] += 1
        if len(register.residents(address_id)) + arrivals[address_id] >= 3:
            targets[index] = targets[-1]
            targets.pop()
        return address_id
    address_id = str(register.add_address("dwelling")["address_id"])
    arrivals[address_id] += 1
    return address_id


def with_remarks(seed: dict[str, Any]) -> dict[str, Any]:
    """The same seed with remarks on every notification: each one is for a person to decide."""
    notifications = [n | {"remarks": REMARK} for n in seed["notifications"]]
    return seed | {"notifications": notifications}


def sample_seed(kind: str, n_cases: int, *, seed: int = 7) -> dict[str, Any]:
    """`routine`: every case plainly routine, one mover; `mixed`: generate_sample(n) as is."""
    if kind == "routine":
        return routine_seed(n_cases, seed=seed)
    if kind == "mixed":
        return generate_sample(n_cases, seed=seed)
    raise ValueError(f"unknown sample {kind!r}: one of {', '.join(SAMPLES)}")


def _key(address: dict[str, Any] | None) -> tuple[str, ...]:
    if not address:
        return ()
    parts = ("street", "house_number", "floor", "door", "postcode")
    return tuple((address.get(p) or "").strip().casefold() for p in parts)


def expected_routine(seed: dict[str, Any]) -> set[str]:
    """The case ids the robot should register alone, judged from the seed's data.

    Checks what the rules look at: remarks, valid data, one register address that is a
    dwelling and not the old one, movers known by name and not protected, no protected
    resident and room at the new address, an adult, the move date's distance from the
    day received, and no other notification for a mover. An estimate for a mixed seed;
    the robot's own routing decides.
    """
    addresses: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for address in seed["addresses"]:
        addresses.setdefault(_key(address), []).append(address)
    people = {r["cpr"]: r for r in seed["residents"]}
    living: Counter[str] = Counter(r["address_id"] for r in seed["residents"])
    protected_at = {r["address_id"] for r in seed["residents"] if r.get("protected_address")}
    mentions: Counter[str] = Counter()
    for n in seed["notifications"]:
        cprs = {m["cpr"] for m in n["movers"]} | {n["reporter_cpr"]}
        mentions.update(c.replace("-", "").strip() for c in cprs)
    routine = set()
    for raw in seed["notifications"]:
        if raw.get("remarks", "").strip() or raw.get("status", "open") != "open":
            continue
        notification, problems = validate_notification(raw)
        if notification is None or problems:
            continue
        found = addresses.get(_key(raw.get("new_address")), [])
        if len(found) != 1 or found[0]["unit_type"] != "dwelling":
            continue
        new_id = found[0]["address_id"]
        if _key(raw.get("new_address")) == _key(raw.get("old_address")):
            continue
        movers = notification.movers
        known = [people.get(m.cpr) for m in movers]
        if any(p is None or p["name"] != m.name for p, m in zip(known, movers, strict=True)):
            continue
        if any(p and p.get("protected_address") for p in known) or new_id in protected_at:
            continue
        if living[new_id] + len(movers) > 8 or len(movers) > 6:
            continue
        ages = [_age(birth_date(m.cpr), notification.move_date) for m in movers]
        received = notification.received_at.date()
        days = (notification.move_date - received).days
        if max(ages) < 18 or days > 28 or -days > 365:
            continue
        if any(mentions[m.cpr] > 1 for m in movers):
            continue
        routine.add(notification.case_id)
    return routine


def _age(born: date, day: date) -> int:
    return day.year - born.year - int((day.month, day.day) < (born.month, born.day))
