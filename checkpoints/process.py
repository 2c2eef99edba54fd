"""The process API: everything an RPA developer declares about one process, in one place.

A process says what its robot reads (the case model), what a person may correct (the
form model), which decisions people may take, the rules that send a case to a person
(each with its id, texts and settings), how its case is shown to a person, what the
robot proposes, and what the robot does for each decision. The generic machinery (the
batch, the per-checkpoint run, the decision service, the store, the journal, the
channels and the `rpa` command) dispatches on the process's name and calls these.

    parking = Process("resident-parking", title=Text(da="Beboerparkering", en="..."),
                      case=PermitCase, form=PermitForm,
                      decisions=(APPROVE, EDIT, REJECT, MANUAL),
                      end_status={APPROVE: "issued", EDIT: "issued", ...})

    @parking.rule("remarks.present", mandatory=True, checks=Text(...), text=Text(...))
    def remarks_present(case: PermitCase, settings: RuleSettings) -> Fired | None: ...

    @parking.on_decision(APPROVE, EDIT)
    async def issue(robot: PermitRobot, case: PermitCase, decided: Decided) -> Outcome: ...

This module knows nothing of Prefect, Playwright or any chat system: a robot is
whatever object the process's `robot` factory makes from a browser page.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from checkpoints.forms import Change
from checkpoints.text import mask_cprs, strip_white
from config.settings import ManualBaseline

log = logging.getLogger(__name__)

Locale = Literal["da", "en"]
DecisionKind = Literal["approve", "edit", "manual", "contact_citizen", "reject"]
APPROVE: DecisionKind = "approve"
EDIT: DecisionKind = "edit"
MANUAL: DecisionKind = "manual"
CONTACT_CITIZEN: DecisionKind = "contact_citizen"
REJECT: DecisionKind = "reject"
DECISION_KINDS: tuple[DecisionKind, ...] = (APPROVE, EDIT, MANUAL, CONTACT_CITIZEN, REJECT)


class ProcessError(ValueError):
    """A process declared in a way the product refuses to run (at load, never later)."""

    def __init__(self, process: str, problem: str) -> None:
        super().__init__(f"process {process!r}: {problem}")
        self.process = process
        self.problem = problem


@dataclass(frozen=True)
class Text:
    """The same words in Danish and English."""

    da: str
    en: str

    def get(self, locale: Locale) -> str:
        """The words in `locale`."""
        return self.da if locale == "da" else self.en


@dataclass(frozen=True)
class Fired:
    """What a check returns when its rule fires: which message, what fills it, what to keep."""

    variant: str = "fired"
    params: Mapping[str, str | Text] = field(default_factory=dict)
    details: Mapping[str, str] = field(default_factory=dict)


class Reason(BaseModel):
    """A rule that fired: its id and a plain-language explanation."""

    rule_id: str
    message: str = Field(description="Plain language, in the configured locale.")
    details: dict[str, str] = Field(default_factory=dict)


class RuleSettings(BaseModel):
    """A rule's settings in the process's rules file: `enabled`, and thresholds it adds."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = Field(default=True, description="False: the rule does not run.")


class Fact(BaseModel):
    """One line of a case as shown to a person: a label and its value, in plain words."""

    label: str
    value: str


class CaseView(BaseModel):
    """A case as a person sees it in chat or on the command line (CPR numbers masked)."""

    facts: list[Fact] = Field(default_factory=list)
    remarks: str = Field(default="", description="The citizen's own words, quoted as written.")
    problems: list[Fact] = Field(
        default_factory=list, description="Fields that could not be read or are not valid."
    )


class Outcome(BaseModel):
    """What the robot did for a decision: shown to people and kept in the journal."""

    action: str = Field(description="What was done, e.g. `issued`, `rejected`, `manual`.")
    note: str = Field(default="", description="What was written to the case, in plain words.")
    references: list[str] = Field(
        default_factory=list, description="Ids the target system gave (permit, registration)."
    )
    details: dict[str, str] = Field(default_factory=dict)


class FormInput(BaseModel):
    """One input of the edit form a person fills in (the chat modal), pre-filled as read."""

    field: str
    label: str
    value: str | None = None
    optional: bool = False
    placeholder: str | None = None


class Decided(BaseModel):
    """A decision as the robot receives it: made by the runtime, never by the process.

    `basis` is `routine` when no rule fired (the robot decides alone) or `decision` when a
    person's stored decision is carried out. `values` are the form's values to act on:
    for an approve or an edit, exactly those the decision (or the routing) cleared.
    """

    model_config = ConfigDict(frozen=True)

    kind: DecisionKind
    basis: Literal["routine", "decision"]
    decided_by: str | None = None
    values: dict[str, Any] | None = None
    comment: str = ""
    changes: list[Change] = Field(default_factory=list)
    fingerprint: str = Field(description="Digest of `values`: what the clearance covers.")
    issued_at: datetime = Field(default_factory=lambda: datetime.now(UTC))

    def form(self, model: type[FormT]) -> FormT:
        """The decided values as the process's form model; refuses when they changed."""
        if self.values is None:
            raise ClearanceError(f"a {self.kind} decision carries no values to act on")
        if digest(self.values) != self.fingerprint:
            raise ClearanceError("the values to act on are not the ones that were cleared")
        return model.model_validate(self.values)


class ClearanceError(RuntimeError):
    """The robot was about to act without a decision or routing that cleared it."""


def digest(values: Any) -> str:
    """A stable digest of JSON-able values, to tell whether they changed."""
    import json

    return hashlib.sha256(
        json.dumps(values, sort_keys=True, ensure_ascii=True, default=str).encode()
    ).hexdigest()


Renderer = Callable[[dict[str, Any], str, Locale], str]
"""Explains one kind of journal entry in plain words: (data, actor, locale) -> text."""

CaseT = TypeVar("CaseT", bound=BaseModel)
FormT = TypeVar("FormT", bound=BaseModel)
Check = Callable[[Any, Any], "Fired | None"]
Handler = Callable[[Any, Any, Decided], Awaitable[Outcome]]


@dataclass(frozen=True)
class ProcessRule:
    """A routing rule of a process: id, texts, settings and its check."""

    id: str
    mandatory: bool
    checks: Text
    """What the rule checks, as a clause: `om ansøgeren ejer bilen`."""
    texts: Mapping[str, Text]
    """Message per variant of `Fired`; `str.format` fields filled from `Fired.params`."""
    check: Check
    settings: type[RuleSettings] = RuleSettings

    def message(self, fired: Fired, locale: Locale) -> str:
        """The plain-language reason for `fired` in `locale`."""
        params = {
            key: value.get(locale) if isinstance(value, Text) else value
            for key, value in fired.params.items()
        }
        return self.texts[fired.variant].get(locale).format(**params)


_CHECK_FAILED = Text(
    da="Robotten kunne ikke kontrollere, {checks}, fordi kontrollen fejlede ({error}). "
    "En medarbejder skal se sagen.",
    en="The robot could not check {checks} because the check failed ({error}). "
    "A caseworker must look at the case.",
)
_NOT_VALID = Text(
    da="Sagen kan ikke læses som gyldige data: {fields}. En medarbejder skal se sagen.",
    en="The case cannot be read as valid data: {fields}. A caseworker must look at the case.",
)


class Process(Generic[CaseT, FormT]):
    """One administrative process: declared once, run by the generic machinery."""

    own_runtime = False
    """True only for a process whose batch and carry-out predate this API (change-of-address)."""

    def __init__(
        self,
        name: str,
        *,
        title: Text,
        case: type[CaseT],
        form: type[FormT],
        decisions: tuple[DecisionKind, ...],
        end_status: Mapping[DecisionKind, str],
        open_statuses: tuple[str, ...] = ("open", "in_progress"),
        deadline_hours: float | None = None,
        outcomes: Mapping[str, Text] | None = None,
        manual_baseline: ManualBaseline | None = None,
    ) -> None:
        self.name = name
        self.title = title
        self.case = case
        self.form = form
        self.decisions = decisions
        self.end_status = dict(end_status)
        self.open_statuses = open_statuses
        self.deadline_hours = deadline_hours
        self.outcomes = dict(outcomes or {})
        """What the robot did, in plain words, per `Outcome.action` (`{references}`, `{note}`)."""
        self.manual_baseline = manual_baseline
        """Minutes a person takes per case by hand, with their source: the yardstick of the
        saving in `rpa report benefits`. A setting (RPA_PROCESS_SETTINGS) overrides it."""
        self.rules: dict[str, ProcessRule] = {}
        self.handlers: dict[DecisionKind, Handler] = {}
        self.problems: list[str] = []
        self._view: Callable[[CaseT, Locale], CaseView] | None = None
        self._propose: Callable[[CaseT, Locale], str] | None = None
        self._form_of: Callable[[CaseT], dict[str, Any]] | None = None
        self.robot: Callable[[Any, Any], Any] | None = None
        self.reader: Callable[[Any, str], Awaitable[CaseT]] | None = None
        self.inbox: Callable[[Any, int | None], Awaitable[list[str]]] | None = None
        self.set_aside: Callable[[Any, CaseT], Awaitable[None]] | None = None
        self.case_link: Callable[[str, str], str] | None = None
        self.show_case: Callable[[Any, str], Awaitable[None]] | None = None
        self.explainers: dict[str, Renderer] = {}

    # --- declarations ----------------------------------------------------------------

    def rule(
        self,
        rule_id: str,
        *,
        checks: Text,
        text: Text | None = None,
        texts: Mapping[str, Text] | None = None,
        mandatory: bool = False,
        settings: type[RuleSettings] = RuleSettings,
    ) -> Callable[[Callable[[CaseT, Any], Fired | None]], Callable[[CaseT, Any], Fired | None]]:
        """Declare a routing rule; `text` is its message (or `texts`, one per variant)."""

        def declare(
            check: Callable[[CaseT, Any], Fired | None],
        ) -> Callable[[CaseT, Any], Fired | None]:
            messages = dict(texts or {})
            if text is not None:
                messages["fired"] = text
            self.add_rule(ProcessRule(rule_id, mandatory, checks, messages, check, settings))
            return check

        return declare

    def add_rule(self, rule: ProcessRule) -> None:
        """Declare a rule made elsewhere (see `rule` for the decorator)."""
        if rule.id in self.rules:
            self.problems.append(f"rule {rule.id!r} is declared twice")
            return
        if not rule.texts:
            self.problems.append(f"rule {rule.id!r} has no text to show a person")
        self.rules[rule.id] = rule

    def view(self, fn: Callable[[CaseT, Locale], CaseView]) -> Callable[[CaseT, Locale], CaseView]:
        """Declare how a case is shown to a person (facts in plain words, CPR masked)."""
        self._view = fn
        return fn

    def propose(self, fn: Callable[[CaseT, Locale], str]) -> Callable[[CaseT, Locale], str]:
        """Declare the robot's proposal: what it does if a person approves, in plain words."""
        self._propose = fn
        return fn

    def form_of(self, fn: Callable[[CaseT], dict[str, Any]]) -> Callable[[CaseT], dict[str, Any]]:
        """Declare how the form's values are taken from a case (validated by the form)."""
        self._form_of = fn
        return fn

    def on_decision(self, *kinds: DecisionKind) -> Callable[[Handler], Handler]:
        """Declare what the robot does for these decisions."""

        def declare(handler: Handler) -> Handler:
            for kind in kinds:
                if kind in self.handlers:
                    self.problems.append(f"decision {kind!r} has two carry-outs")
                self.handlers[kind] = handler
            return handler

        return declare

    def explains(self, kind: str) -> Callable[[Renderer], Renderer]:
        """Declare how a journal entry of the process's own kind reads in plain words."""

        def declare(renderer: Renderer) -> Renderer:
            self.explainers[kind] = renderer
            return renderer

        return declare

    def system(
        self,
        *,
        robot: Callable[[Any, Any], Any],
        read: Callable[[Any, str], Awaitable[CaseT]],
        inbox: Callable[[Any, int | None], Awaitable[list[str]]],
        set_aside: Callable[[Any, CaseT], Awaitable[None]],
        case_link: Callable[[str, str], str] | None = None,
        show_case: Callable[[Any, str], Awaitable[None]] | None = None,
    ) -> None:
        """Declare the target system: how a robot is made from a page, how it reads a case
        (with its look-ups), lists open cases, marks one in progress, and links to one.

        `show_case(robot, case_id)` puts the case on the browser's screen for the screenshot a
        person sees with the checkpoint; needed where pages are read without rendering
        (robots/reading.py), else the screenshot shows the last page the robot read.
        """
        self.robot, self.reader, self.inbox, self.set_aside = robot, read, inbox, set_aside
        self.case_link = case_link
        self.show_case = show_case

    # --- checks at load ----------------------------------------------------------------

    def validate(self) -> None:
        """Refuse a process declared wrongly, naming it and the problem (called at load)."""
        problems = list(self.problems)
        fields = self.case.model_fields
        for required in ("case_id", "status"):
            if required not in fields:
                problems.append(f"the case model {self.case.__name__} has no {required!r} field")
        for name in self.form.model_fields:
            if name not in fields:
                problems.append(
                    f"the form field {name!r} is not in the case model {self.case.__name__}"
                )
        for kind in self.decisions:
            if kind not in DECISION_KINDS:
                problems.append(f"unknown decision {kind!r}; known: {', '.join(DECISION_KINDS)}")
            elif kind not in self.handlers:
                problems.append(f"decision {kind!r} has no carry-out (@on_decision)")
            elif kind not in self.end_status:
                problems.append(f"decision {kind!r} has no end status in the target system")
        for kind in self.handlers:
            if kind not in self.decisions:
                problems.append(f"a carry-out is declared for {kind!r}, which is not a decision")
        if APPROVE not in self.decisions:
            problems.append("a process must let a person approve the robot's proposal")
        if len(set(self.decisions)) != len(self.decisions):
            problems.append("a decision is listed twice")
        if not any(r.mandatory for r in self.rules.values()):
            problems.append("no mandatory rule: free-text remarks must always go to a person")
        for hook, name in (
            (self._view, "view"),
            (self._propose, "propose"),
            (self._form_of, "form_of"),
            (self.robot, "system"),
        ):
            if hook is None:
                problems.append(f"no @{name} declared")
        if problems:
            raise ProcessError(self.name, "; ".join(problems))

    def settings_from(self, data: Mapping[str, Any] | None) -> dict[str, RuleSettings]:
        """Each rule's settings from a rules file's mapping; refuses unknown rules and a
        mandatory rule switched off, naming the process and the rule."""
        data = dict(data or {})
        unknown = sorted(set(data) - set(self.rules))
        if unknown:
            raise ProcessError(
                self.name, f"the rules file names unknown rules: {', '.join(unknown)}"
            )
        settings: dict[str, RuleSettings] = {}
        for rule_id, rule in self.rules.items():
            try:
                settings[rule_id] = rule.settings.model_validate(data.get(rule_id) or {})
            except ValidationError as exc:
                first = exc.errors()[0]
                where = ".".join(str(p) for p in first["loc"])
                raise ProcessError(
                    self.name, f"rule {rule_id!r}: {where}: {first['msg']}"
                ) from None
            if rule.mandatory and not settings[rule_id].enabled:
                raise ProcessError(
                    self.name, f"rule {rule_id!r} is mandatory and cannot be switched off"
                )
        return settings

    # --- what the machinery calls ----------------------------------------------------------

    def route(
        self, case: CaseT, settings: Mapping[str, RuleSettings], locale: Locale
    ) -> list[Reason]:
        """The reasons `case` must go to a person, in declaration order; fails closed.

        A form that does not validate fires `data.invalid`; a check that raises counts
        as fired. Every reason's text is masked (CPR numbers) before anyone sees it.
        """
        reasons: list[Reason] = []
        problems = self.form_problems(case)
        if problems:
            fields = ", ".join(p.label for p in problems)
            reasons.append(
                Reason(
                    rule_id="data.invalid",
                    message=_NOT_VALID.get(locale).format(fields=fields),
                    details={"fields": fields},
                )
            )
        for rule in self.rules.values():
            rule_settings = settings.get(rule.id) or rule.settings()
            if not rule_settings.enabled:
                continue
            try:
                fired = rule.check(case, rule_settings)
            except Exception as exc:  # any failure of a check sends the case to a person
                error = mask_cprs(f"{type(exc).__name__}: {exc}")[:200]
                log.warning("rule %s failed on case %s: %s", rule.id, _case_id(case), error)
                message = _CHECK_FAILED.get(locale).format(
                    checks=rule.checks.get(locale), error=error
                )
                reasons.append(Reason(rule_id=rule.id, message=message, details={"error": error}))
                continue
            if fired is not None:
                details = {k: mask_cprs(v)[:500] for k, v in fired.details.items()}
                message = mask_cprs(rule.message(fired, locale))[:2000]
                reasons.append(Reason(rule_id=rule.id, message=message, details=details))
        return reasons

    def form_values(self, case: CaseT) -> dict[str, Any]:
        """The form's values as read from the case (unvalidated)."""
        assert self._form_of is not None
        return self._form_of(case)

    def form_problems(self, case: CaseT) -> list[Fact]:
        """The form fields of `case` that do not validate (empty: the form is valid)."""
        try:
            self.form.model_validate(self.form_values(case))
        except ValidationError as exc:
            return [
                Fact(label=".".join(str(p) for p in e["loc"]) or "?", value=e["msg"])
                for e in exc.errors()
            ]
        return []

    def valid_form(self, case: CaseT) -> dict[str, Any] | None:
        """The form's values as validated JSON, or None when they do not validate."""
        try:
            return self.form.model_validate(self.form_values(case)).model_dump(mode="json")
        except ValidationError:
            return None

    def show(self, case: CaseT, locale: Locale, *, full_cpr: bool = False) -> CaseView:
        """The case as a person sees it: every CPR-like number masked here, for every
        process (the view gives values as read), unless `full_cpr` is asked for."""
        assert self._view is not None
        view = self._view(case, locale)
        mask = (lambda text: text) if full_cpr else mask_cprs
        return CaseView(
            facts=[Fact(label=mask(f.label), value=mask(f.value)) for f in view.facts],
            remarks=view.remarks,
            problems=view.problems or self.form_problems(case),
        )

    def edit_form(self, case: CaseT, locale: Locale) -> list[FormInput]:
        """The edit form's inputs, pre-filled with the values as read (CPR fields left empty)."""
        from checkpoints.forms import editable_fields, nullable

        values = self.form_values(case)
        inputs = []
        for name in editable_fields(self.form):
            info = self.form.model_fields[name]
            value = values.get(name)
            inputs.append(
                FormInput(
                    field=name,
                    label=info.title or name.replace("_", " ").capitalize(),
                    value=None if value is None else str(value),
                    optional=nullable(info.annotation),
                    placeholder=info.description,
                )
            )
        return inputs

    def journal_key(self, case_id: str) -> str:
        """The key of the case's journal and claim: case ids are unique per process only."""
        return f"{self.name}:{case_id}"

    def journal_summary(self, case: CaseT, *, full_cpr: bool) -> dict[str, Any]:
        """What was read, for the journal: the view's facts (CPR masked unless `full_cpr`),
        the remarks by length only, and the fields that are not valid."""
        view = self.show(case, "en", full_cpr=full_cpr)
        return {
            "case_status": str(getattr(case, "status", "")),
            "facts": [f.model_dump() for f in view.facts],
            "remarks_chars": len(strip_white(view.remarks)),
            "problems": [{"field": p.label, "message": p.value} for p in view.problems],
        }

    def outcome_text(self, outcome: Mapping[str, Any], locale: Locale) -> str | None:
        """What the robot did, in the process's words (None: no text of its own)."""
        text = self.outcomes.get(str(outcome.get("action")))
        if text is None:
            return None
        refs = outcome.get("references") or outcome.get("registrations") or []
        references = ", ".join(str(r) for r in refs)
        return text.get(locale).format(references=references, note=outcome.get("note") or "")

    def editable(self) -> list[str]:
        """The fields a person may correct (`--edit FIELD=VALUE`, the chat modal)."""
        from checkpoints.forms import editable_fields

        return editable_fields(self.form)

    def proposal(self, case: CaseT, locale: Locale) -> str:
        """What the robot does if a person approves, in plain words (CPR masked)."""
        assert self._propose is not None
        if self.valid_form(case) is None:
            fields = ", ".join(p.label for p in self.form_problems(case))
            return {
                "da": f"Robotten kan ikke foreslå noget: felterne {fields} er ikke gyldige. "
                "Ret dem, eller send sagen til manuel behandling.",
                "en": f"The robot cannot propose anything: the fields {fields} are not valid. "
                "Correct them, or send the case to manual handling.",
            }[locale]
        return mask_cprs(self._propose(case, locale))

    def fingerprint(self, case: CaseT) -> str:
        """A digest of what the robot read, its status left out: has the case changed?"""
        return digest(case.model_dump(mode="json", exclude={"status"}))

    def load_case(self, data: Mapping[str, Any]) -> CaseT:
        """A stored case back as the process's case model."""
        return self.case.model_validate(data)

    def apply_edits(
        self, case: CaseT, edits: Mapping[str, str]
    ) -> tuple[dict[str, Any], list[Change]]:
        """The form's values with a person's `FIELD=VALUE` edits applied, validated."""
        from checkpoints.forms import apply_form_edits

        return apply_form_edits(self, case, edits)

    def routine(self, case: CaseT) -> Decided:
        """The robot's own approve, for a case no rule sent to a person."""
        values = self.valid_form(case)
        if values is None:
            raise ClearanceError(f"case {_case_id(case)}: the form does not validate")
        return Decided(kind=APPROVE, basis="routine", values=values, fingerprint=digest(values))

    def describe(self, locale: Locale = "en") -> dict[str, Any]:
        """What `rpa processes` prints: the process, its decisions and rules."""
        return {
            "name": self.name,
            "title": self.title.get(locale),
            "decisions": list(self.decisions),
            "form": self.editable(),
            "rules": [
                {
                    "id": r.id,
                    "mandatory": r.mandatory,
                    "checks": r.checks.get(locale),
                    "settings": [n for n in r.settings.model_fields if n != "enabled"],
                }
                for r in self.rules.values()
            ],
        }


def _case_id(case: BaseModel) -> str:
    return str(getattr(case, "case_id", "?"))
