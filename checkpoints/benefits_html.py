"""The measured benefits as one self-contained html page with charts.

Plotly draws the charts: `include_plotlyjs` inlines plotly.js once, so the page is a
single file that renders from disk in any browser, with no server and nothing fetched;
its charts can be hovered and zoomed, which a static matplotlib SVG cannot. Every string
from the store is escaped before it goes into the page (and into a chart's labels,
which plotly reads as a little HTML).
"""

from __future__ import annotations

import html
from typing import Any

import plotly.graph_objects as go  # type: ignore[import-untyped]
import plotly.io as pio  # type: ignore[import-untyped]
import plotly.offline  # type: ignore[import-untyped]

from checkpoints.benefits import OUTCOMES, Benefits, Totals
from checkpoints.benefits_text import measured_notes, saving_text
from checkpoints.rule_review import RuleReviewReport
from checkpoints.text import mask_cprs

# At most this many cases in the per-case chart (the latest): more is a bar code.
MAX_CASES_CHARTED = 200
CHART_IDS = ("chart-outcomes", "chart-times", "chart-rules")
_OUTCOME_NAMES = {
    "robot": "robot alone",
    "approve": "approved",
    "edit": "edited",
    "manual": "manual",
    "contact_citizen": "contact citizen",
    "reject": "rejected",
    "waiting": "waiting for a person",
    "open": "not finished",
}
_DECISIONS = (
    ("approved_unchanged", "approve"),
    ("edited", "edit"),
    ("manual", "manual"),
    ("contact_citizen", "contact_citizen"),
    ("rejected", "reject"),
    ("undecided", "waiting"),
)
# One colour per outcome in every chart: a decision looks the same in each.
_COLOURS = {
    "robot": "#2b8cbe",
    "approve": "#31a354",
    "edit": "#fd8d3c",
    "manual": "#756bb1",
    "contact_citizen": "#e7298a",
    "reject": "#de2d26",
    "waiting": "#bdbd22",
    "open": "#969696",
}


def _e(text: object) -> str:
    return html.escape(mask_cprs(str(text)), quote=True)


def _layout(title: str, **extra: Any) -> dict[str, Any]:
    return {
        "title": {"text": _e(title)},
        "template": "plotly_white",
        "height": 380,
        "margin": {"l": 60, "r": 20, "t": 50, "b": 60},
        "legend": {"orientation": "h", "y": -0.2},
        **extra,
    }


def _outcomes_chart(report: Benefits) -> go.Figure:
    days = sorted({c.day for c in report.cases})
    labels = [d.isoformat() for d in days]
    figure = go.Figure(layout=_layout("Cases per outcome per day", barmode="stack"))
    for outcome in OUTCOMES:
        counts = [sum(1 for c in report.cases if c.day == d and c.outcome == outcome) for d in days]
        if any(counts):
            figure.add_bar(
                x=labels, y=counts, name=_OUTCOME_NAMES[outcome], marker_color=_COLOURS[outcome]
            )
    figure.update_xaxes(type="category", title="day the robot read the case")
    figure.update_yaxes(title="cases")
    return figure


def _times_chart(report: Benefits) -> go.Figure:
    cases = report.cases[-MAX_CASES_CHARTED:]
    several = len({c.process for c in cases}) > 1
    labels = [_e(f"{c.process}/{c.case_id}" if several else c.case_id) for c in cases]
    figure = go.Figure(layout=_layout("Robot and human time per case", barmode="group"))
    robot = [c.robot_seconds for c in cases]
    human = [c.human_seconds for c in cases]
    figure.add_bar(x=labels, y=robot, name="robot (s)", marker_color=_COLOURS["robot"])
    figure.add_bar(x=labels, y=human, name="human: shown -> decided (s)", marker_color="#d95f0e")
    figure.update_xaxes(type="category", title="case")
    figure.update_yaxes(type="log", title="seconds (log scale)")
    return figure


def _rules_chart(rules: RuleReviewReport) -> go.Figure:
    fired = [r for r in rules.rules if r.raised][::-1]
    several = len({r.process for r in fired}) > 1
    labels = [_e(f"{r.process}: {r.rule_id}" if several else r.rule_id) for r in fired]
    height = max(380, 120 + 28 * len(fired))
    figure = go.Figure(
        layout=_layout("Checkpoints per rule, by decision", barmode="stack", height=height)
    )
    for attribute, outcome in _DECISIONS:
        counts = [getattr(r, attribute) for r in fired]
        if any(counts):
            name = "approved unchanged" if outcome == "approve" else _OUTCOME_NAMES[outcome]
            figure.add_bar(
                y=labels, x=counts, name=name, orientation="h", marker_color=_COLOURS[outcome]
            )
    figure.update_layout(margin={"l": 220})
    figure.update_xaxes(
        title="checkpoints",
        tick0=0,
        dtick=1 if len(fired) and max(r.raised for r in fired) <= 10 else None,
    )
    return figure


def _div(figure: go.Figure, div_id: str) -> str:
    return str(
        pio.to_html(
            figure,
            full_html=False,
            include_plotlyjs=False,
            div_id=div_id,
            config={"displaylogo": False, "responsive": True},
        )
    )


def _totals_table(report: Benefits) -> str:
    head = (
        "<tr><th>process</th><th>cases read</th><th>by the robot alone</th>"
        "<th>automation rate</th><th>checkpoints</th><th>decided</th><th>robot min</th>"
        "<th>human min</th><th>waiting h</th></tr>"
    )
    rows = [*report.processes, *([report.total] if len(report.processes) > 1 else [])]
    return "<table>" + head + "".join(_total_row(t) for t in rows) + "</table>"


def _total_row(t: Totals) -> str:
    rate = "-" if t.automation_rate is None else f"{t.automation_rate:.0%}"
    cells = [
        t.process,
        t.cases_read,
        t.robot_alone,
        rate,
        t.checkpoints,
        t.decided,
        f"{t.robot_minutes:.1f}",
        f"{t.human_minutes:.1f}",
        f"{t.waiting_hours:.1f}",
    ]
    return "<tr>" + "".join(f"<td>{_e(c)}</td>" for c in cells) + "</tr>"


_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem; color: #222; max-width: 1100px; }
table { border-collapse: collapse; margin: 1rem 0; }
th, td { border: 1px solid #ccc; padding: 0.3rem 0.6rem; text-align: right; }
th:first-child, td:first-child { text-align: left; }
.chart { margin: 1.5rem 0; }
.note { color: #555; font-size: 0.9rem; }
"""


def benefits_html(report: Benefits, rules: RuleReviewReport) -> str:
    """One self-contained page: the totals, the saving range and three charts."""
    period = f"since {report.since.isoformat()}" if report.since else "all time"
    scope = f"{report.process}, " if report.process else ""
    savings = [*report.processes, *([report.total] if len(report.processes) > 1 else [])]
    charts = zip(
        (_outcomes_chart(report), _times_chart(report), _rules_chart(rules)),
        CHART_IDS,
        strict=True,
    )
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>Measured benefits ({_e(scope + period)})</title>",
        f"<style>{_STYLE}</style>",
        f'<script type="text/javascript">{plotly.offline.get_plotlyjs()}</script>',
        "</head><body>",
        f"<h1>Measured benefits ({_e(scope + period)})</h1>",
        f'<p class="note">Generated {_e(report.generated_at.strftime("%Y-%m-%d %H:%M UTC"))} '
        "from the checkpoint store; cases counted by the day the robot first read them.</p>",
        _totals_table(report),
        "<h2>Saving against doing it by hand (low to high)</h2><ul>",
        *(f"<li>{_e(saving_text(t))}</li>" for t in savings),
        "</ul><h2>What the figures measure</h2><ul>",
        *(f'<li class="note">{_e(n)}</li>' for n in measured_notes(report)),
        "</ul>",
        *(f'<div class="chart">{_div(figure, div_id)}</div>' for figure, div_id in charts),
        "</body></html>",
    ]
    return "\n".join(parts)
