"""`rpa report`: the overview as before, plus `benefits` and `rules` (see docs/benefits.md)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from checkpoints.text import terminal_safe
from cli.checkpoints import _store, report
from cli.common import fail, one_line_errors, settings_or_fail

report_app = typer.Typer(
    help="Measured benefits: cases the robot handled, waiting and robot times, per-rule "
    "feedback (`rpa report`), and the `benefits` and `rules` reports.",
    invoke_without_command=True,
)
FORMATS = ("table", "json", "csv", "html")

Since = Annotated[
    str | None,
    typer.Option(help="Only cases read (checkpoints stored) on or after this day, YYYY-MM-DD."),
]
ProcessOption = Annotated[
    str | None, typer.Option("--process", help="Only this process (see `rpa processes`).")
]


@report_app.callback()
@one_line_errors
def overview(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="JSON, for dashboards.")] = False,
) -> None:
    """Measured benefits: cases the robot handled, waiting and robot times, per-rule feedback."""
    if ctx.invoked_subcommand is None:
        report(as_json=as_json)


def _since(text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        fail(f"--since {text!r} is not a date: give one like 2026-11-01")


def _process(name: str | None) -> str | None:
    from checkpoints import processes

    if name is None:
        return None
    loaded = processes.load()
    if name not in loaded:
        fail(f"no process {name!r}; the processes are: {', '.join(loaded)} (rpa processes)")
    return name


@report_app.command("benefits")
@one_line_errors
def benefits(
    since: Since = None,
    process: ProcessOption = None,
    output_format: Annotated[
        str, typer.Option("--format", help="table, json, csv (one row per case) or html.")
    ] = "table",
    out: Annotated[
        Path | None,
        typer.Option(
            help="Write to this file (html: default RPA_HOME/reports/benefits.html).",
            dir_okay=False,
        ),
    ] = None,
) -> None:
    """Per case and process: robot, human and waiting time, automation rate, saving range."""
    from checkpoints.benefits import baseline_of, build_benefits
    from checkpoints.benefits_text import benefits_csv, benefits_json, benefits_lines
    from checkpoints.rule_review import build_rule_review

    if output_format not in FORMATS:
        fail(f"--format {output_format!r} is not one of: {', '.join(FORMATS)}")
    day, name = _since(since), _process(process)
    settings = settings_or_fail()
    store = _store(settings)
    try:
        result = build_benefits(store, baseline_for=baseline_of(settings), since=day, process=name)
        review = (
            build_rule_review(store, since=day, process=name) if output_format == "html" else None
        )
    finally:
        store.close()
    if output_format == "html":
        from checkpoints.benefits_html import benefits_html

        assert review is not None
        path = out or settings.home / "reports" / "benefits.html"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(benefits_html(result, review), encoding="utf-8")
        typer.echo(f"Wrote {terminal_safe(str(path))}: open it in a browser (no server needed).")
        return
    if output_format == "json":
        text = json.dumps(benefits_json(result), indent=1)
    elif output_format == "csv":
        text = benefits_csv(result).rstrip("\n")
    else:
        text = "\n".join(terminal_safe(line) for line in benefits_lines(result))
    if out is not None:
        out.write_text(text + "\n", encoding="utf-8")
        typer.echo(f"Wrote {terminal_safe(str(out))}")
        return
    typer.echo(text)


@report_app.command("rules")
@one_line_errors
def rules(
    since: Since = None,
    process: ProcessOption = None,
    threshold: Annotated[
        float,
        typer.Option(
            min=0.0,
            max=1.0,
            help="Flag a rule when at least this share of its decided checkpoints were "
            "approved unchanged.",
        ),
    ] = 0.9,
    min_decided: Annotated[
        int, typer.Option(min=1, help="... and at least this many were decided.")
    ] = 5,
    as_json: Annotated[bool, typer.Option("--json", help="JSON, for scripts.")] = False,
) -> None:
    """Per rule: checkpoints raised, what people decided, their comments, and flags."""
    from checkpoints.rule_review import build_rule_review, rule_review_json, rule_review_lines

    day, name = _since(since), _process(process)
    store = _store(settings_or_fail())
    try:
        result = build_rule_review(
            store, since=day, process=name, threshold=threshold, min_decided=min_decided
        )
    finally:
        store.close()
    if as_json:
        typer.echo(json.dumps(rule_review_json(result), indent=1, ensure_ascii=False))
        return
    for line in rule_review_lines(result):
        typer.echo(terminal_safe(line))
