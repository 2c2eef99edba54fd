"""The measured benefits as a table, CSV, JSON and markdown (the html page: benefits_html)."""

from __future__ import annotations

import csv
import io
from typing import Any

from checkpoints.benefits import Benefits, Totals
from checkpoints.text import mask_cprs

_HEAD = (
    f"{'process':20} {'cases':>6} {'robot':>6} {'rate':>6} {'checkp.':>7} {'decided':>7} "
    f"{'robot min':>9} {'human min':>9} {'wait h':>7}"
)


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def _row(t: Totals) -> str:
    return (
        f"{t.process:20} {t.cases_read:>6} {t.robot_alone:>6} {_rate(t.automation_rate):>6} "
        f"{t.checkpoints:>7} {t.decided:>7} {t.robot_minutes:>9.1f} {t.human_minutes:>9.1f} "
        f"{t.waiting_hours:>7.1f}"
    )


def saving_text(t: Totals) -> str:
    """The saving as a range, with the baseline and its source (or why there is none)."""
    if t.baseline is None or t.saving_minutes_low is None:
        if t.process == "all":
            return "all: no total saving (a process has no manual baseline)"
        return (
            f"{t.process}: no saving computed: no manual baseline set "
            "(RPA_PROCESS_SETTINGS manual_baseline)"
        )
    b = t.baseline
    return (
        f"{t.process}: {t.saving_minutes_low:.0f} to {t.saving_minutes_high:.0f} min "
        f"({t.robot_alone} cases by the robot alone x {b.minutes_low:g}-{b.minutes_high:g} "
        f"min by hand, less {t.human_minutes:.0f} min people spent on checkpoints); "
        f"baseline source: {b.source}"
    )


def _all_saving(report: Benefits) -> str:
    t = report.total
    if t.saving_minutes_low is None:
        return saving_text(t)
    return f"all: {t.saving_minutes_low:.0f} to {t.saving_minutes_high:.0f} min"


def measured_notes(report: Benefits) -> list[str]:
    """What the time figures measure, in this report's own counts."""
    t = report.total
    return [
        "robot min: the robot's routine work as journalled, plus decided -> done after a "
        "decision (includes the wait for the resumed run).",
        f"human min: shown -> decided; shown = the chat post for {t.shown_from_chat} decided "
        f"cases, the moment the checkpoint was stored for {t.shown_from_stored} (no chat "
        "post: an upper bound that includes waiting).",
        "wait h: stored -> decided.",
    ]


def benefits_lines(report: Benefits) -> list[str]:
    """The benefits as plain text for a terminal."""
    period = f"since {report.since.isoformat()}" if report.since else "all time"
    lines = [f"Measured benefits ({period}; cases by the day the robot first read them)"]
    if not report.processes:
        return [*lines, "No cases read in the period."]
    lines.append(_HEAD)
    lines += [_row(t) for t in report.processes]
    if len(report.processes) != 1:
        lines.append(_row(report.total))
    lines += ["", "Outcomes:"]
    for t in report.processes + ([report.total] if len(report.processes) > 1 else []):
        shown = ", ".join(f"{n} {o}" for o, n in sorted(t.outcomes.items())) or "none"
        lines.append(f"  {t.process}: {shown}")
    lines += ["", "Saving against doing it by hand (low to high):"]
    lines += [f"  {saving_text(t)}" for t in report.processes]
    if len(report.processes) > 1:
        lines.append(f"  {_all_saving(report)}")
    lines += ["", "What the figures measure (docs/benefits.md):"]
    lines += [f"  {note}" for note in measured_notes(report)]
    return lines


def benefits_json(report: Benefits) -> dict[str, Any]:
    """The benefits as JSON-ready data (case ids only, never case data)."""
    data = report.model_dump(mode="json")
    for case in data["cases"]:
        case["case_id"] = mask_cprs(case["case_id"])
    return data


CSV_FIELDS = (
    "process",
    "case_id",
    "day",
    "outcome",
    "checkpoints",
    "robot_seconds",
    "human_seconds",
    "waiting_seconds",
    "shown_from",
)


def benefits_csv(report: Benefits) -> str:
    """One row per case, for a spreadsheet."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    for case in report.cases:
        row = case.model_dump(mode="json")
        row["case_id"] = mask_cprs(row["case_id"])
        writer.writerow({k: "" if row[k] is None else row[k] for k in CSV_FIELDS})
    return out.getvalue()


def benefits_markdown(report: Benefits, title: str) -> str:
    """The benefits as markdown (a batch's Prefect artifact)."""
    lines = [
        f"# {title}",
        "",
        "| process | cases read | by the robot alone | automation rate | checkpoints | decided "
        "| robot min | human min | waiting h |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for t in report.processes:
        lines.append(
            f"| {t.process} | {t.cases_read} | {t.robot_alone} | {_rate(t.automation_rate)} "
            f"| {t.checkpoints} | {t.decided} | {t.robot_minutes:.1f} | {t.human_minutes:.1f} "
            f"| {t.waiting_hours:.1f} |"
        )
    lines += ["", "**Saving against doing it by hand (low to high):**", ""]
    lines += [f"- {saving_text(t)}" for t in report.processes]
    lines += ["", *(f"- {note}" for note in measured_notes(report))]
    return "\n".join(lines)
