"""`rpa checkpoints`, `rpa journal` and `rpa db`: the human side from the command line."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

import typer

from checkpoints.text import mask_cprs, strip_white, terminal_safe
from cli.common import fail, one_line_errors, settings_or_fail
from cli.stack import StackInfo, apply_env, prefect_env, wait_for_stack
from config.settings import Settings

if TYPE_CHECKING:
    from checkpoints.journal import JournalEntry
    from checkpoints.models import Checkpoint, DecisionKind
    from checkpoints.service import DecisionOutcome
    from checkpoints.store.repository import CheckpointStore

checkpoints_app = typer.Typer(
    help="Cases waiting for (or past) a human decision.", no_args_is_help=True
)
db_app = typer.Typer(help="The checkpoint store's database.", no_args_is_help=True)


class StatusFilter(StrEnum):
    """Which checkpoints `list` shows."""

    open = "open"
    proposed = "proposed"
    decided = "decided"
    applied = "applied"
    failed = "failed"
    superseded = "superseded"
    all = "all"


def _store(settings: Settings) -> CheckpointStore:
    from checkpoints.store.repository import CheckpointStore

    _stack(settings)  # an `rpa up` that is starting may be migrating the store: wait for it
    return CheckpointStore.connect(
        settings.store_url, full_cpr=settings.checkpoints.journal_full_cpr
    )


_running: list[StackInfo | None] = []


def _stack(settings: Settings) -> StackInfo | None:
    """The `rpa up` of this RPA_HOME, once it is ready (waited for once per command)."""
    if not _running:
        running, _ = wait_for_stack(
            settings,
            timeout_s=settings.prefect.stack_wait_s,
            say=lambda message: typer.echo(message, err=True),
        )
        _running.append(running)
    return _running[0]


@db_app.command("upgrade")
@one_line_errors
def db_upgrade() -> None:
    """Create or migrate the checkpoint store's tables (also done by `rpa up`)."""
    from checkpoints.store.db import make_engine, safe_url, upgrade

    settings = settings_or_fail()
    engine = make_engine(settings.store_url)
    revision = upgrade(engine)
    engine.dispose()
    typer.echo(f"Checkpoint store at {safe_url(settings.store_url)} is at revision {revision}.")


@checkpoints_app.command("list")
@one_line_errors
def list_checkpoints(
    status: Annotated[StatusFilter, typer.Option(help="Show only this status.")] = StatusFilter.all,
    as_json: Annotated[bool, typer.Option("--json", help="A JSON array, for scripts.")] = False,
) -> None:
    """The checkpoints, oldest first; overdue ones are marked."""
    store = _store(settings_or_fail())
    checkpoints = store.all(status.value)
    store.close()
    if as_json:
        typer.echo(json.dumps([c.summary_json() for c in checkpoints], indent=1))
        return
    if not checkpoints:
        typer.echo(f"No checkpoints ({status.value}).")
        return
    from checkpoints import processes

    loaded = processes.load()
    now = datetime.now(UTC)
    rows = [("ID", "CASE", "STATUS", "AGE", "REASONS", "DECIDED BY", "PROCESS")]
    for c in checkpoints:
        shown = f"{c.status} (OVERDUE)" if c.overdue(now) else c.status
        process = c.process if c.process in loaded else f"{c.process} (NOT LOADED: waits)"
        rows.append(
            (
                c.checkpoint_id,
                c.case_id,
                shown,
                _age(now - c.created_at),
                ", ".join(r.rule_id for r in c.reasons),
                c.decision.decided_by if c.decision else "",
                process,
            )
        )
    # Names and ids come from outside (the case system, --by): one line each, no escapes.
    rows = [
        (terminal_safe(a), terminal_safe(b), c, d, e, terminal_safe(f), terminal_safe(g))
        for a, b, c, d, e, f, g in rows
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        typer.echo("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())
    failed = [c for c in checkpoints if c.status == "failed"]
    if failed:
        typer.echo(
            f"{len(failed)} failed: see `rpa checkpoints show ID`, then `rpa checkpoints retry ID`."
        )


@checkpoints_app.command("show")
@one_line_errors
def show_checkpoint(
    checkpoint_id: Annotated[str, typer.Argument(help="The checkpoint's id (cp-...).")],
    show_cpr: Annotated[bool, typer.Option(help="Show full CPR numbers.")] = False,
) -> None:
    """One checkpoint: the case as read, why a person must decide, the robot's proposal."""
    settings = settings_or_fail()
    store = _store(settings)
    from checkpoints import channels

    checkpoint = store.get(checkpoint_id)
    posted = {
        name: store.outbox(name).summary(checkpoint_id) for name in channels.all_channels(settings)
    }
    store.close()
    for line in describe(checkpoint, show_cpr=show_cpr, ui_url=_ui_url(settings)):
        typer.echo(terminal_safe(line))
    for name, summary in posted.items():
        if summary:
            typer.echo(f"{name.capitalize()}: {summary}")


def describe(checkpoint: Checkpoint, *, show_cpr: bool, ui_url: str | None) -> list[str]:
    """The lines `rpa checkpoints show` prints (pass each through `terminal_safe`)."""
    c = checkpoint
    status = (
        f"{c.status} (OVERDUE since {c.deadline_at:%Y-%m-%d %H:%M} UTC)"
        if c.overdue()
        else c.status
    )
    lines = [
        f"Checkpoint {c.checkpoint_id}: case {c.case_id} ({c.process}), {status}",
        f"Created {c.created_at:%Y-%m-%d %H:%M} UTC; decide by {c.deadline_at:%Y-%m-%d %H:%M} UTC",
        "",
        "The case as read:",
    ]
    lines += _case_lines(c, show_cpr)
    lines += ["", "Why a person must decide:"]
    lines += [f"  - {r.message} [{r.rule_id}]" for r in c.reasons]
    lines += ["", f"The robot's proposal: {c.proposal.summary}"]
    if c.screenshot:
        lines.append(f"Screenshot: {c.screenshot}")
    if c.pending_edit:
        p = c.pending_edit
        lines += [
            "",
            f"Edit proposed by {p.proposed_by} at {p.proposed_at:%Y-%m-%d %H:%M:%S} UTC, "
            "waiting for a second person:",
        ]
        lines += [f"  {ch.field}: {ch.before!r} -> {ch.after!r}" for ch in p.changes]
        lines.append(f"Confirm: rpa checkpoints confirm {c.checkpoint_id} --by NAME")
    if c.decision:
        d = c.decision
        lines += [
            "",
            f"Decision: {d.kind} by {d.decided_by} via {d.channel} at "
            f"{d.decided_at:%Y-%m-%d %H:%M:%S} UTC",
        ]
        lines += [f"  {ch.field}: {ch.before!r} -> {ch.after!r}" for ch in d.changes]
        if d.comment:
            lines.append(f"  Comment: {d.comment}")
        if d.confirmed_by:
            lines.append(f"  Confirmed by: {d.confirmed_by}")
    if c.applied_at and c.outcome:
        done = ", ".join(c.outcome.get("registrations", [])) or c.outcome.get("action", "")
        lines.append(f"Carried out at {c.applied_at:%Y-%m-%d %H:%M:%S} UTC: {done}")
    if c.error:
        lines.append(f"Failed: {c.error}")
        if c.error_screenshot:
            lines.append(f"Screenshot of the failure: {c.error_screenshot}")
        lines.append(f"Retry with: rpa checkpoints retry {c.checkpoint_id} --by NAME")
    if c.flow_run_id:
        where = f"{ui_url}/runs/flow-run/{c.flow_run_id}" if ui_url else c.flow_run_id
        lines.append(f"Robot run: {where}")
    return lines


def _case_lines(c: Checkpoint, show_cpr: bool) -> list[str]:
    """The case as its process shows it (CPR masked), its problems and the citizen's words."""
    from checkpoints import processes

    process = processes.find(c.process)
    if process is None:
        return [f"  (the process {c.process!r} is not loaded here; the case waits as stored)"]
    view = process.show(c.case, "en", full_cpr=show_cpr)
    lines = []
    if not view.facts:  # nothing valid to show in plain words: the fields as read
        for key, value in process.form_values(c.case).items():
            if key != "remarks":
                lines.append(f"  {key}: {_masked_raw(key, value, show_cpr)}")
    lines += [f"  {fact.label}: {fact.value}" for fact in view.facts]
    for problem in view.problems:
        lines.append(f"  Not valid: {problem.label}: {problem.value}")
    remarks = strip_white(view.remarks)
    if remarks:
        # Lines split on LF only: splitlines() would also eat U+001C-U+001E and U+2028,
        # which the caseworker must see named, like every hidden character.
        lines.append("  Remarks from the citizen:")
        lines += [f"    | {terminal_safe(line)}" for line in remarks.split("\n")]
    lines.append(f"  Decisions this case takes: {', '.join(process.decisions)}")
    return lines


@checkpoints_app.command("decide")
@one_line_errors
def decide(
    checkpoint_id: Annotated[str, typer.Argument(help="The checkpoint's id (cp-...).")],
    by: Annotated[str, typer.Option("--by", help="Who decides (recorded in the journal).")],
    approve: Annotated[bool, typer.Option("--approve", help="Register as read.")] = False,
    edit: Annotated[
        list[str] | None,
        typer.Option(
            "--edit",
            help="FIELD=VALUE (repeatable), then register: new_address.street=Gravene, "
            "move_date=2026-12-01, movers.0.name='Anna Jensen'.",
        ),
    ] = None,
    manual: Annotated[
        bool, typer.Option("--manual", help="The robot steps back: manual handling.")
    ] = False,
    contact_citizen: Annotated[
        bool, typer.Option("--contact-citizen", help="Mark the case as awaiting the citizen.")
    ] = False,
    reject: Annotated[
        str | None,
        typer.Option(
            "--reject",
            help="REASON: refuse the case; the reason is written to the case for the citizen "
            "(for processes that take a rejection, see `rpa processes`).",
        ),
    ] = None,
    comment: Annotated[str, typer.Option(help="A comment for the journal and the case.")] = "",
) -> None:
    """Record a decision, exactly as one from chat would be; the waiting run then goes on.

    Which decisions a case takes, and which fields `--edit` knows, depend on its process:
    `rpa processes` lists them, `rpa checkpoints show` shows the case's.
    """
    flags: list[tuple[DecisionKind, bool]] = [
        ("approve", approve),
        ("edit", bool(edit)),
        ("manual", manual),
        ("contact_citizen", contact_citizen),
        ("reject", reject is not None),
    ]
    chosen = [kind for kind, flag in flags if flag]
    if len(chosen) != 1:
        fail(
            "give exactly one of --approve, --edit FIELD=VALUE, --manual, --contact-citizen, "
            "--reject REASON"
        )
    if reject is not None:
        comment = reject
    from checkpoints.forms import EditError, parse_edits

    settings = settings_or_fail()
    try:
        edits = parse_edits(edit or [])
    except EditError as exc:
        fail(str(exc))
    store = _store(settings)
    try:
        service = _service(settings, store)
        outcome = service.decide(
            checkpoint_id,
            kind=chosen[0],
            decided_by=by,
            channel="cli",
            edits=edits or None,
            comment=comment,
        )
    finally:
        store.close()
    if outcome.decision is None:
        typer.echo(
            f"Edit proposed by {terminal_safe(by.strip())} on checkpoint {checkpoint_id}; a "
            f"second, different person confirms it: rpa checkpoints confirm {checkpoint_id} "
            "--by NAME (or rejects it: rpa checkpoints reject ...)."
        )
        return
    _report(outcome, f"Decision stored: {chosen[0]} by {outcome.decision.decided_by}")


@checkpoints_app.command("confirm")
@one_line_errors
def confirm(
    checkpoint_id: Annotated[str, typer.Argument(help="A checkpoint with a proposed edit.")],
    by: Annotated[str, typer.Option("--by", help="Who confirms (not who proposed).")],
) -> None:
    """Confirm another person's proposed edit (four eyes); the robot then carries it out."""
    settings = settings_or_fail()
    store = _store(settings)
    try:
        outcome = _service(settings, store).confirm(checkpoint_id, confirmed_by=by, channel="cli")
    finally:
        store.close()
    _report(outcome, f"Edit confirmed by {by.strip()}")


@checkpoints_app.command("reject")
@one_line_errors
def reject(
    checkpoint_id: Annotated[str, typer.Argument(help="A checkpoint with a proposed edit.")],
    by: Annotated[str, typer.Option("--by", help="Who rejects the proposed edit.")],
    comment: Annotated[str, typer.Option(help="Why, for the journal.")] = "",
) -> None:
    """Reject a proposed edit (four eyes); the checkpoint is open again."""
    settings = settings_or_fail()
    store = _store(settings)
    try:
        _service(settings, store).reject(
            checkpoint_id, rejected_by=by, channel="cli", comment=comment
        )
    finally:
        store.close()
    typer.echo(
        f"Edit rejected by {terminal_safe(by.strip())}; checkpoint {checkpoint_id} is open again."
    )


def _service(settings: Settings, store: CheckpointStore) -> Any:
    from checkpoints.service import DecisionService

    return DecisionService(
        store,
        resumer=_resumer(settings, store),
        four_eyes_edits=settings.checkpoints.four_eyes_edits,
    )


@checkpoints_app.command("retry")
@one_line_errors
def retry(
    checkpoint_id: Annotated[str, typer.Argument(help="A failed checkpoint's id.")],
    by: Annotated[str, typer.Option("--by", help="Who asks for the retry.")],
) -> None:
    """Carry out a failed checkpoint's decision again."""

    settings = settings_or_fail()
    store = _store(settings)
    try:
        outcome = _service(settings, store).retry(checkpoint_id, requested_by=by)
    finally:
        store.close()
    _report(outcome, f"Retry requested by {by.strip()}")


def _report(outcome: DecisionOutcome, head: str) -> None:
    c = outcome.checkpoint
    typer.echo(terminal_safe(f"{head} on checkpoint {c.checkpoint_id} (case {c.case_id})."))
    if outcome.resume.resumed:
        typer.echo(f"The robot goes on: {outcome.resume.detail}.")
    else:
        typer.echo(f"The robot was not told yet: {outcome.resume.detail}.")


def _resumer(settings: Settings, store: CheckpointStore) -> Any:
    running = _stack(settings)
    if running is None:
        if not os.environ.get("PREFECT_API_URL"):
            return None
        # No `rpa up` here, but a Prefect server (workers on other machines, `rpa deploy`):
        # the decision resumes its run there, and a worker carries it out.
        from flows.resume import resumer

        return resumer(store, wait_s=settings.checkpoints.resume_wait_s)
    apply_env(prefect_env(settings, running.prefect_api_url))
    from flows.resume import live_target, resumer

    # The stack's sandbox stands in for those of earlier stacks (see flows/resume.py).
    live = live_target(running.sandbox_url, running.earlier_sandbox_urls)
    return resumer(store, wait_s=settings.checkpoints.resume_wait_s, live=live)


def _ui_url(settings: Settings) -> str | None:
    running = _stack(settings)
    return running.prefect_ui_url if running else None


def journal(
    case_id: Annotated[
        str, typer.Argument(help="A case id, or `verify` to check every journal's chain.")
    ],
    locale: Annotated[str | None, typer.Option(help="da or en (default: RPA_LOCALE).")] = None,
    process: Annotated[
        str | None,
        typer.Option(help="The case's process, when two processes have a case of this id."),
    ] = None,
) -> None:
    """A case's journal in plain language, or `rpa journal verify` to check every journal."""
    from checkpoints.explain import explain

    settings = settings_or_fail()
    store = _store(settings)
    try:
        if case_id == "verify":
            checked, breaks = store.verify_journals()
            if breaks:
                for chain_break in breaks:
                    typer.echo(f"BROKEN: {chain_break.describe()}", err=True)
                fail(f"journal chain broken at {breaks[0].describe()}")
            typer.echo(f"All journals intact: {checked} entries checked.")
            return
        chosen = locale or settings.locale
        if chosen not in ("da", "en"):
            fail("--locale is da or en")
        entries = [_shown(entry) for entry in _journal_of(store, case_id, process)]
        for line in explain(case_id, entries, chosen):  # type: ignore[arg-type]
            typer.echo(line)
    finally:
        store.close()


def _journal_of(store: CheckpointStore, case_id: str, process: str | None) -> list[Any]:
    """The journal of `case_id` in whichever loaded process has one (case ids are unique
    per process only; `--process` chooses when two have it)."""
    from checkpoints import processes

    loaded = processes.load()
    if process is not None and process not in loaded:
        fail(f"no process {process!r}; loaded: {', '.join(loaded)}")
    found = {
        name: entries
        for name, p in loaded.items()
        if process in (None, name) and (entries := store.journal(p.journal_key(case_id)))
    }
    if len(found) > 1:
        fail(f"case {case_id} is a case of {', '.join(found)}: choose one with --process")
    return next(iter(found.values()), [])


def _age(delta: Any) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes < 60:
        return f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours < 48 else f"{hours // 24}d"


def _shown(entry: JournalEntry) -> JournalEntry:
    """A journal entry whose outside text (names, --by, comments) shows as one line each.

    Sanitised before `explain` lays the entry out, so a newline in a name cannot pose as
    a journal line of its own.
    """

    def safe(value: Any) -> Any:
        if isinstance(value, str):
            return terminal_safe(value)
        if isinstance(value, list):
            return [safe(v) for v in value]
        if isinstance(value, dict):
            return {k: safe(v) for k, v in value.items()}
        return value

    return entry.model_copy(update={"actor": safe(entry.actor), "data": safe(entry.data)})


def _masked_raw(key: str, value: Any, show_cpr: bool) -> str:
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value
    if show_cpr:
        return terminal_safe(text)
    return terminal_safe(mask_cprs(text))


def report(
    as_json: Annotated[bool, typer.Option("--json", help="JSON, for dashboards.")] = False,
) -> None:
    """Measured benefits: cases the robot handled, waiting and robot times, per-rule feedback."""
    from checkpoints.report import build_report, report_json, report_lines

    store = _store(settings_or_fail())
    try:
        result = build_report(store)
    finally:
        store.close()
    if as_json:
        typer.echo(json.dumps(report_json(result), indent=1))
        return
    for line in report_lines(result):
        typer.echo(line)
