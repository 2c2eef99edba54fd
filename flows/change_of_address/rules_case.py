"""Rules that read the notification alone: remarks, unreadable fields, addresses, movers, dates."""

from __future__ import annotations

from datetime import date

from checkpoints.text import hidden_characters, written
from config.rules import ChangeOfAddressRules
from flows.change_of_address.case import CaseFile, FieldProblem, birth_date, mask_cpr
from flows.change_of_address.rules_base import (
    Fired,
    Text,
    date_text,
    digits,
    masked_list,
    notification_of,
    rule,
    scrub,
)

_CAREWORKER_CHECKS_DATE = Text(
    da="En medarbejder skal kontrollere datoen.", en="A caseworker must check the date."
)


@rule(
    "remarks.present",
    mandatory=True,
    needs="case",
    checks=Text(
        da="om borgeren har skrevet en bemærkning", en="whether the citizen wrote a remark"
    ),
    texts={
        "fired": Text(
            da="Borgeren har skrevet en bemærkning, som en medarbejder skal læse.",
            en="The citizen wrote a remark that a caseworker must read.",
        ),
        "hidden": Text(
            da="Borgeren har skrevet en bemærkning, som en medarbejder skal læse. Den indeholder "
            "tegn, der ikke kan ses: {codes}.",
            en="The citizen wrote a remark that a caseworker must read. It holds characters "
            "that do not show: {codes}.",
        ),
    },
)
def remarks_present(case: CaseFile, config: ChangeOfAddressRules) -> Fired | None:
    """Fires on any character that is not Unicode white space: format and control count."""
    # Both the raw value and the validated one: a remark must never slip past unread.
    raw = case.raw.get("remarks")
    candidates = [case.remarks, "" if raw is None else str(raw)]
    if case.notification is not None:
        candidates.append(case.notification.remarks)
    shown = max((written(text) for text in candidates), key=len)
    if not shown:
        return None
    details = {"written_characters": str(len(shown))}
    codes = hidden_characters(shown)
    if not codes:
        return Fired(details=details)
    listed = ", ".join(codes[:8]) + (" …" if len(codes) > 8 else "")
    return Fired(
        variant="hidden",
        params={"codes": listed},
        details=details | {"hidden_characters": listed},
    )


@rule(
    "data.invalid",
    mandatory=True,
    needs="case",
    checks=Text(
        da="om oplysningerne på anmeldelsen kan læses",
        en="whether the fields of the notification can be read",
    ),
    texts={
        "fired": Text(
            da="Nogle oplysninger på anmeldelsen kan ikke læses eller er ugyldige: {fields}. "
            "En medarbejder skal vurdere anmeldelsen.",
            en="Some fields of the notification could not be read or are not valid: {fields}. "
            "A caseworker must assess the notification.",
        ),
        "unread": Text(
            da="Anmeldelsens oplysninger kunne ikke læses. "
            "En medarbejder skal vurdere anmeldelsen.",
            en="The fields of the notification could not be read. "
            "A caseworker must assess the notification.",
        ),
    },
)
def data_invalid(case: CaseFile, config: ChangeOfAddressRules) -> Fired | None:
    """Fires when a field did not validate, or when there is no valid notification at all."""
    if not case.problems:
        # No notification and no problem saying why: never let such a case reach the robot.
        return Fired(variant="unread") if case.notification is None else None
    shown = [(problem, _shown_raw(problem, case.remarks)) for problem in case.problems]
    details: dict[str, str] = {}
    for problem, raw in shown:
        entry = f'"{raw}": {scrub(problem.message, remarks=case.remarks)}'
        key = problem.field or "notification"
        details[key] = f"{details[key]} | {entry}" if key in details else entry
    fields = Text(
        da=", ".join(
            _field_label(p.field).da + (f" »{raw}«" if raw else " (mangler)") for p, raw in shown
        ),
        en=", ".join(
            _field_label(p.field).en + (f' ("{raw}")' if raw else " (missing)") for p, raw in shown
        ),
    )
    return Fired(params={"fields": fields}, details=details)


@rule(
    "address.unchanged",
    switch=lambda config: config.address_unchanged.enabled,
    checks=Text(
        da="om den nye adresse er en anden end den gamle",
        en="whether the new address differs from the old one",
    ),
    texts={
        "fired": Text(
            da="Den nye adresse er den samme som den gamle ({address}). "
            "En medarbejder skal kontrollere, om adressen er skrevet forkert.",
            en="The new address is the same as the old one ({address}). "
            "A caseworker must check whether the address was written wrongly.",
        )
    },
)
def address_unchanged(case: CaseFile, config: ChangeOfAddressRules) -> Fired | None:
    """Fires when the old and the new address match on street, number, floor, door, postcode."""
    notification = notification_of(case)
    if notification.old_address.key() != notification.new_address.key():
        return None
    address = notification.new_address.one_line()
    return Fired(params={"address": address}, details={"address": address})


@rule(
    "movers.minor_alone",
    switch=lambda config: config.movers_minor_alone.enabled,
    checks=Text(
        da="om mindst én flytter er voksen på flyttedatoen",
        en="whether at least one mover is an adult on the move date",
    ),
    texts={
        "fired": Text(
            da="Ingen af flytterne er fyldt {age} år på flyttedatoen {move_date}. En medarbejder "
            "skal vurdere, om en forælder eller værge skal godkende flytningen.",
            en="No mover is {age} or older on the move date {move_date}. A caseworker "
            "must assess whether a parent or guardian must approve the move.",
        )
    },
)
def movers_minor_alone(case: CaseFile, config: ChangeOfAddressRules) -> Fired | None:
    """Fires when no mover has reached the adult age on the move date (birthday counts)."""
    notification = notification_of(case)
    adult_age = config.movers_minor_alone.adult_age
    ages = [_age_on(birth_date(m.cpr), notification.move_date) for m in notification.movers]
    if max(ages) >= adult_age:
        return None
    return Fired(
        params={"age": str(adult_age), "move_date": date_text(notification.move_date)},
        details={"oldest_age": str(max(ages)), "adult_age": str(adult_age)},
    )


@rule(
    "movers.many",
    checks=Text(da="hvor mange der flytter", en="how many people move"),
    texts={
        "fired": Text(
            da="Anmeldelsen har {count} flyttere, og grænsen er {limit}. "
            "En medarbejder skal kontrollere, hvem der flytter.",
            en="The notification lists {count} movers; the limit is {limit}. "
            "A caseworker must check who is moving.",
        )
    },
)
def movers_many(case: CaseFile, config: ChangeOfAddressRules) -> Fired | None:
    """Fires when more distinct people move than the threshold."""
    movers = {digits(m.cpr): m.cpr for m in notification_of(case).movers}
    limit = config.movers_many.max_movers
    if len(movers) <= limit:
        return None
    counts = {"count": str(len(movers)), "limit": str(limit)}
    return Fired(params=counts, details={**counts, "movers": masked_list(list(movers.values()))})


@rule(
    "date.far_ahead",
    checks=Text(
        da="om flyttedatoen ligger for langt ude i fremtiden",
        en="whether the move date is too far ahead",
    ),
    texts={
        "fired": Text(
            da="Flyttedatoen {move_date} ligger {days} dage efter den dag, anmeldelsen blev "
            "modtaget ({received}), og grænsen er {limit} dage. " + _CAREWORKER_CHECKS_DATE.da,
            en="The move date {move_date} is {days} days after the day the notification was "
            "received ({received}); the limit is {limit} days. " + _CAREWORKER_CHECKS_DATE.en,
        )
    },
)
def date_far_ahead(case: CaseFile, config: ChangeOfAddressRules) -> Fired | None:
    """Fires when the move date is more than the threshold of days after the day received."""
    notification = notification_of(case)
    received = notification.received_at.date()
    days = (notification.move_date - received).days
    return _date_fired(days, config.date_far_ahead.max_days, notification.move_date, received)


@rule(
    "date.long_ago",
    checks=Text(
        da="om flyttedatoen ligger for langt tilbage i tiden",
        en="whether the move date is too long ago",
    ),
    texts={
        "fired": Text(
            da="Flyttedatoen {move_date} ligger {days} dage før den dag, anmeldelsen blev "
            "modtaget ({received}), og grænsen er {limit} dage. " + _CAREWORKER_CHECKS_DATE.da,
            en="The move date {move_date} is {days} days before the day the notification was "
            "received ({received}); the limit is {limit} days. " + _CAREWORKER_CHECKS_DATE.en,
        )
    },
)
def date_long_ago(case: CaseFile, config: ChangeOfAddressRules) -> Fired | None:
    """Fires when the move date is more than the threshold of days before the day received."""
    notification = notification_of(case)
    received = notification.received_at.date()
    days = (received - notification.move_date).days
    return _date_fired(days, config.date_long_ago.max_days, notification.move_date, received)


def _date_fired(days: int, limit: int, move_date: date, received: date) -> Fired | None:
    if days <= limit:
        return None
    return Fired(
        params={
            "move_date": date_text(move_date),
            "received": date_text(received),
            "days": str(days),
            "limit": str(limit),
        },
        details={
            "move_date": move_date.isoformat(),
            "received": received.isoformat(),
            "days": str(days),
            "limit": str(limit),
        },
    )


def _age_on(born: date, day: date) -> int:
    """Whole years from `born` to `day`; on the birthday itself the year counts."""
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def _shown_raw(problem: FieldProblem, remarks: str) -> str:
    """A problem's raw text as a caseworker may see it: CPRs masked, remarks never shown."""
    path = problem.field.split(".")
    if "remarks" in path:
        return "…" if problem.raw.strip() else ""
    if "cpr" in path or path[-1].endswith("_cpr"):
        return mask_cpr(problem.raw) if problem.raw.strip() else ""
    return scrub(problem.raw, remarks=remarks, limit=40)


_FIELD_LABELS = {
    "case_id": Text(da="sagsnummer", en="case number"),
    "received_at": Text(da="modtagelsestidspunkt", en="time received"),
    "channel": Text(da="kanal", en="channel"),
    "reporter_cpr": Text(da="anmelderens CPR-nummer", en="reporter's CPR number"),
    "movers": Text(da="flyttere", en="movers"),
    "old_address": Text(da="gammel adresse", en="old address"),
    "new_address": Text(da="ny adresse", en="new address"),
    "move_date": Text(da="flyttedato", en="move date"),
    "remarks": Text(da="bemærkning", en="remarks"),
    "cpr": Text(da="CPR-nummer", en="CPR number"),
    "name": Text(da="navn", en="name"),
    "street": Text(da="vejnavn", en="street"),
    "house_number": Text(da="husnummer", en="house number"),
    "floor": Text(da="etage", en="floor"),
    "door": Text(da="dør", en="door"),
    "postcode": Text(da="postnummer", en="postcode"),
    "city": Text(da="by", en="city"),
}


def _field_label(path: str) -> Text:
    """`movers.0.cpr` as `flytter 1: CPR-nummer` / `mover 1: CPR number`."""
    if not path:
        return Text(da="anmeldelsen", en="the notification")
    words: list[Text] = []
    for part in path.split("."):
        if part.isdigit() and words and words[-1] == _FIELD_LABELS["movers"]:
            words[-1] = Text(da=f"flytter {int(part) + 1}", en=f"mover {int(part) + 1}")
        else:
            words.append(_FIELD_LABELS.get(part, Text(da=part, en=part)))
    return Text(da=": ".join(w.da for w in words), en=": ".join(w.en for w in words))
