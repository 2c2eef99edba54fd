"""Change-of-address declared to the machinery: its case, form, decisions, rules and view.

The first process predates the process API: its batch (`batch.process_inbox`), its
carry-out (carry_out.py) and its rules (rules*.py, thresholds in config/rules/)
are its own, and this declaration plugs them in. The generic machinery (the decision
service, the store, the chat and command-line views, reconcile and resume, `rpa
processes`) sees it through the same interface as any other process.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from checkpoints import processes
from checkpoints.forms import Change
from checkpoints.process import (
    APPROVE,
    CONTACT_CITIZEN,
    EDIT,
    MANUAL,
    CaseView,
    Fact,
    FormInput,
    Locale,
    Process,
    ProcessError,
    ProcessRule,
    Reason,
    RuleSettings,
    Text,
    digest,
)
from checkpoints.text import mask_cprs, strip_white
from config.settings import ASSUMED_BASELINE, ManualBaseline
from flows.change_of_address.case import CaseFile, Notification, mask_cpr
from flows.change_of_address.edits import EDITABLE, apply_edits
from flows.change_of_address.explain import EXPLAINERS
from flows.change_of_address.rules import RULES

NAME = "change-of-address"
_LABELS = {
    "da": {"movers": "Flytter", "from": "Fra", "to": "Til", "date": "Flyttedato",
           "received": "Modtaget"},
    "en": {"movers": "Mover", "from": "From", "to": "To", "date": "Move date",
           "received": "Received"},
}  # fmt: skip
_FORM = {
    "da": {"street": "Vej", "house_number": "Husnummer", "floor": "Etage", "door": "Dør",
           "postcode": "Postnummer", "city": "By", "mover_name": "Flytter {n}: navn",
           "mover_cpr": "Flytter {n}: CPR (tom: uændret {masked})"},
    "en": {"street": "Street", "house_number": "House number", "floor": "Floor",
           "door": "Door", "postcode": "Postcode", "city": "City",
           "mover_name": "Mover {n}: name",
           "mover_cpr": "Mover {n}: CPR (empty: unchanged {masked})"},
}  # fmt: skip


def _text(value: Any) -> str | None:
    return None if value in (None, "") else str(value)


def _config() -> Any:
    from config.rules import load_rules_config
    from config.settings import get_settings

    return load_rules_config(get_settings().rules_file)


def _checked_by(rule: Any) -> Any:
    def check(case: CaseFile, settings: RuleSettings) -> Any:
        return rule.check(case, _config())

    return check


class ChangeOfAddress(Process[CaseFile, Notification]):
    """The change-of-address process: its own batch, carry-out and rules file."""

    own_runtime = True
    batch_deployment = "process-inbox/change-of-address"

    def validate(self) -> None:
        """Its form is read from the page's raw values, not from fields of CaseFile."""
        problems = list(self.problems)
        if not any(r.mandatory for r in self.rules.values()):
            problems.append("no mandatory rule")
        if problems:
            raise ProcessError(self.name, "; ".join(problems))

    def route(
        self, case: CaseFile, settings: Mapping[str, RuleSettings], locale: Locale
    ) -> list[Reason]:
        from flows.change_of_address.clearance import route_case

        return route_case(case, config=_config(), locale=locale).reasons

    def form_values(self, case: CaseFile) -> dict[str, Any]:
        return dict(case.raw)

    def form_problems(self, case: CaseFile) -> list[Fact]:
        return [Fact(label=p.field, value=p.message) for p in case.problems]

    def valid_form(self, case: CaseFile) -> dict[str, Any] | None:
        if case.notification is None or case.problems:
            return None
        return case.notification.model_dump(mode="json")

    def apply_edits(
        self, case: CaseFile, edits: Mapping[str, str]
    ) -> tuple[dict[str, Any], list[Change]]:
        notification, changes = apply_edits(case.raw, dict(edits))
        return notification.model_dump(mode="json"), changes

    def show(self, case: CaseFile, locale: Locale, *, full_cpr: bool = False) -> CaseView:
        t = _LABELS[locale]
        n = case.notification
        facts: list[Fact] = []
        if n is not None:
            mask = (lambda text: text) if full_cpr else mask_cprs
            movers = ", ".join(f"{m.name} ({m.cpr})" for m in n.movers)
            facts = [
                Fact(label=t["movers"], value=mask(movers)),
                Fact(label=t["from"], value=mask(n.old_address.one_line())),
                Fact(label=t["to"], value=mask(n.new_address.one_line())),
                Fact(label=t["date"], value=n.move_date.isoformat()),
                Fact(
                    label=t["received"],
                    value=mask(f"{n.received_at:%Y-%m-%d %H:%M} ({n.channel or '?'})"),
                ),
            ]
        return CaseView(facts=facts, remarks=case.remarks, problems=self.form_problems(case))

    def proposal(self, case: CaseFile, locale: Locale) -> str:
        from flows.change_of_address.proposal import proposal_for

        return proposal_for(case, [], locale).summary

    async def carry_out_own(
        self, page: Any, target: Any, store: Any, checkpoint: Any, settings: Any
    ) -> Any:
        """One attempt at a decision with its own carry-out (flows/change_of_address/)."""
        from flows.change_of_address.carry_out import carry_out
        from flows.change_of_address.clearance import route_case
        from flows.change_of_address.robot import CaseSystemRobot

        rules = _config()
        return await carry_out(
            CaseSystemRobot(page, target),
            store,
            checkpoint,
            reroute=lambda case: route_case(case, config=rules, locale=settings.locale).reasons,
            deadline_hours=settings.checkpoints.deadline_hours,
            locale=settings.locale,
        )

    def deployment(self, **options: Any) -> Any:
        """Its own batch deployment (process_inbox): served by `rpa up`, or for a work pool
        (`rpa deploy`; `options` go to Prefect's `to_deployment`)."""
        from flows.change_of_address.batch import DEPLOYMENT_NAME, process_inbox

        return process_inbox.to_deployment(
            name=DEPLOYMENT_NAME,
            description="Handle every open change-of-address notification in the case system.",
            tags=[self.name],
            **options,
        )

    def fingerprint(self, case: CaseFile) -> str:
        return digest(case.raw)

    def edit_form(self, case: CaseFile, locale: Locale) -> list[FormInput]:
        """The new address, the move date and each mover (CPR empty: unchanged)."""
        t = _FORM[locale]
        raw = case.raw
        address = raw.get("new_address") if isinstance(raw.get("new_address"), dict) else {}
        inputs = [
            FormInput(
                field=f"new_address.{name}",
                label=t[name],
                value=_text((address or {}).get(name)),
                optional=name in ("floor", "door"),
            )
            for name in ("street", "house_number", "floor", "door", "postcode", "city")
        ]
        inputs.append(
            FormInput(
                field="move_date",
                label=_LABELS[locale]["date"],
                value=_text(raw.get("move_date")),
                placeholder="YYYY-MM-DD",
            )
        )
        movers = raw.get("movers") if isinstance(raw.get("movers"), list) else []
        for index, mover in enumerate(movers or []):
            if not isinstance(mover, dict):
                continue
            n = str(index + 1)
            inputs.append(
                FormInput(
                    field=f"movers.{index}.name",
                    label=t["mover_name"].format(n=n),
                    value=_text(mover.get("name")),
                )
            )
            masked = mask_cpr(str(mover.get("cpr") or ""))
            inputs.append(
                FormInput(
                    field=f"movers.{index}.cpr",
                    label=t["mover_cpr"].format(n=n, masked=masked),
                    optional=True,
                )
            )
        return inputs

    def journal_key(self, case_id: str) -> str:
        """Its journals predate the other processes: keyed by the bare case id."""
        return case_id

    def journal_summary(self, case: CaseFile, *, full_cpr: bool) -> dict[str, Any]:
        return case_summary(case, full_cpr=full_cpr)

    def editable(self) -> list[str]:
        """The fields `--edit` takes (nested: `new_address.street`, `movers.0.cpr`)."""
        return list(EDITABLE)


change_of_address = ChangeOfAddress(
    NAME,
    title=Text(da="Flytning", en="Change of address"),
    case=CaseFile,
    form=Notification,
    decisions=(APPROVE, EDIT, MANUAL, CONTACT_CITIZEN),
    end_status={
        APPROVE: "registered",
        EDIT: "registered",
        MANUAL: "manual",
        CONTACT_CITIZEN: "awaiting_citizen",
    },
    # Until a municipality measures its own: a person reading the notification, looking
    # the movers and the address up in the registers, registering and closing the case.
    manual_baseline=ManualBaseline(minutes_low=6, minutes_high=12, source=ASSUMED_BASELINE),
    outcomes={
        "registered": Text(
            da="Robotten registrerede flytningen ({references}) og lukkede sagen.",
            en="The robot registered the move ({references}) and closed the case.",
        ),
        "manual": Text(
            da="Robotten lukkede sagen som sendt til manuel behandling.",
            en="The robot closed the case as sent to manual handling.",
        ),
        "awaiting_citizen": Text(
            da="Robotten markerede sagen som afventende borgeren.",
            en="The robot marked the case as awaiting the citizen.",
        ),
    },
)
change_of_address.case_link = lambda base_url, case_id: f"{base_url.rstrip('/')}/sager/{case_id}"
for _kind, _renderer in EXPLAINERS.items():
    change_of_address.explains(_kind)(_renderer)
for _rule in RULES.values():
    change_of_address.add_rule(
        ProcessRule(
            id=_rule.id,
            mandatory=_rule.mandatory,
            checks=_rule.checks,
            texts=_rule.texts,
            check=_checked_by(_rule),
        )
    )
processes.register(change_of_address)


def case_summary(case: CaseFile, *, full_cpr: bool = False) -> dict[str, Any]:
    """What was read, for the journal: CPR masked by default, remarks by length only."""
    show = (lambda cpr: cpr) if full_cpr else mask_cpr
    # A citizen may write a CPR number anywhere (a name, a floor): free text is masked too.
    text = (lambda value: value) if full_cpr else mask_cprs
    summary: dict[str, Any] = {"case_status": case.status}
    notification = case.notification
    if notification is not None:
        summary |= {
            "movers": [{"cpr": show(m.cpr), "name": text(m.name)} for m in notification.movers],
            "old_address": text(notification.old_address.one_line()),
            "new_address": text(notification.new_address.one_line()),
            "move_date": notification.move_date.isoformat(),
            "received_at": notification.received_at.isoformat(),
            "channel": text(notification.channel),
        }
    summary["remarks_chars"] = len(strip_white(case.remarks))
    summary["problems"] = [{"field": p.field, "message": p.message} for p in case.problems]
    return summary
