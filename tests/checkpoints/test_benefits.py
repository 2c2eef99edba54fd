"""Measured benefits and rule feedback, from a store filled through the real store API."""

from __future__ import annotations

import base64
import csv
import io
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from checkpoints.benefits import Benefits, baseline_of, build_benefits
from checkpoints.benefits_html import CHART_IDS, benefits_html
from checkpoints.benefits_text import (
    benefits_csv,
    benefits_json,
    benefits_lines,
    benefits_markdown,
)
from checkpoints.rule_review import (
    APPROVED_UNCHANGED,
    NEVER_FIRES,
    build_rule_review,
    rule_review_lines,
)
from checkpoints.store.repository import CheckpointStore
from config.settings import ManualBaseline, Settings
from robots.session import BrowserSession
from tests.checkpoints.benefits_store import HUMAN_S, ROBOT_S, WAITING_S, fill
from tests.checkpoints.conftest import ANNA
from tests.conftest import Runner

STUDY = ManualBaseline(minutes_low=30, minutes_high=40, source="time study, team north, 2026")


def _benefits(store: CheckpointStore, **kwargs: Any) -> Benefits:
    return build_benefits(store, baseline_for=lambda _: STUDY, **kwargs)


def test_benefits_measure_each_case_and_the_saving_range(store: CheckpointStore) -> None:
    fill(store)
    report = _benefits(store)
    cases = {c.case_id: c for c in report.cases}
    assert {k: c.outcome for k, c in cases.items()} == {
        "OK-1": "robot",
        "OK-2": "robot",
        "OK-3": "robot",
        "W-1": "approve",
        "W-2": "edit",
        "W-3": "waiting",
    }
    assert {k: c.robot_seconds for k, c in cases.items() if c.robot_seconds} == ROBOT_S
    assert {k: c.human_seconds for k, c in cases.items() if c.human_seconds} == HUMAN_S
    assert {k: c.waiting_seconds for k, c in cases.items() if c.waiting_seconds} == WAITING_S
    assert (cases["W-1"].shown_from, cases["W-2"].shown_from) == ("chat", "stored")
    assert cases["OK-3"].day == date(2026, 11, 3)
    (coa,) = report.processes
    assert (coa.cases_read, coa.robot_alone, coa.checkpoints, coa.decided) == (6, 3, 3, 2)
    assert coa.automation_rate == 0.5
    assert coa.human_minutes == 75.0  # 15 + 60
    assert coa.robot_minutes == round(70 / 60, 2)
    assert coa.waiting_hours == round(85 / 60, 2)
    # 3 cases x 30..40 min by hand, less the 75 min people spent on the checkpoints.
    assert (coa.saving_minutes_low, coa.saving_minutes_high) == (15.0, 45.0)
    text = "\n".join(benefits_lines(report))
    assert "15 to 45 min" in text
    assert "time study, team north, 2026" in text
    assert "the chat post for 1 decided cases" in text
    assert "stored for 1" in text


def test_benefits_since_a_day_and_for_one_process(store: CheckpointStore) -> None:
    fill(store)
    report = _benefits(store, since=date(2026, 11, 3), process="change-of-address")
    assert sorted(c.case_id for c in report.cases) == ["OK-3", "W-3"]
    assert (report.total.cases_read, report.total.robot_alone) == (2, 1)
    assert report.total.human_minutes == 0.0
    assert (report.total.saving_minutes_low, report.total.saving_minutes_high) == (30.0, 40.0)
    other = _benefits(store, process="resident-parking")
    assert other.cases == []
    assert [t.process for t in other.processes] == ["resident-parking"]


def test_without_a_baseline_there_is_no_saving_and_the_default_names_its_source(
    store: CheckpointStore,
) -> None:
    fill(store)
    report = build_benefits(store, baseline_for=lambda _: None)
    assert report.processes[0].saving_minutes_low is None
    assert "no manual baseline set" in "\n".join(benefits_lines(report))
    # Unset, the process's own declared baseline applies, naming its source.
    declared = baseline_of(Settings())
    coa, parking = declared("change-of-address"), declared("resident-parking")
    assert coa is not None
    assert (coa.minutes_low, coa.minutes_high) == (6, 12)
    assert parking is not None
    assert "assumption" in parking.source
    assert declared("no-such-process") is None
    own = Settings.model_validate(
        {
            "process_settings": {
                "resident-parking": {"manual_baseline": {"minutes": 5, "source": "s"}}
            }
        }
    )
    baseline = baseline_of(own)("resident-parking")
    assert baseline is not None
    assert (baseline.minutes_low, baseline.minutes_high) == (5, 5)
    assert baseline_of(own)("change-of-address") == coa
    with pytest.raises(ValueError, match="minutes_low is above minutes_high"):
        ManualBaseline(minutes_low=9, minutes_high=3, source="x")


def test_benefits_as_csv_json_and_markdown(store: CheckpointStore) -> None:
    fill(store)
    report = _benefits(store)
    rows = list(csv.DictReader(io.StringIO(benefits_csv(report))))
    assert [r["case_id"] for r in rows] == ["OK-1", "OK-2", "W-1", "W-2", "OK-3", "W-3"]
    w1 = next(r for r in rows if r["case_id"] == "W-1")
    assert (w1["outcome"], w1["human_seconds"], w1["waiting_seconds"]) == (
        "approve",
        "900.0",
        "1500.0",
    )
    assert next(r for r in rows if r["case_id"] == "W-3")["human_seconds"] == ""
    data = json.loads(json.dumps(benefits_json(report)))
    assert data["total"]["saving_minutes_low"] == 15.0
    assert data["processes"][0]["baseline"]["source"] == STUDY.source
    assert len(data["cases"]) == 6
    markdown = benefits_markdown(report, "This batch")
    assert "| change-of-address | 6 | 3 | 50% | 3 | 2 |" in markdown
    assert "15 to 45 min" in markdown


def test_rule_feedback_counts_decisions_fields_and_masked_comments(store: CheckpointStore) -> None:
    ids = fill(store)
    report = build_rule_review(store)
    remarks = next(r for r in report.rules if r.rule_id == "remarks.present")
    assert (remarks.raised, remarks.approved_unchanged, remarks.edited, remarks.undecided) == (
        3,
        1,
        1,
        1,
    )
    assert remarks.edited_fields == {"move_date": 1}
    (comment,) = remarks.comments
    assert (comment.checkpoint_id, comment.decision, comment.by) == (ids["W-2"], "edit", "Jens")
    assert ANNA not in comment.text
    assert "010190-XXXX" in comment.text
    assert remarks.flags == []  # 1 of 2 approved unchanged, and too few decided
    crowded = next(r for r in report.rules if r.rule_id == "address.crowded")
    assert crowded.flags == [NEVER_FIRES]
    parking = {r.rule_id for r in report.rules if r.process == "resident-parking"}
    assert "vehicle.unknown" in parking
    eager = build_rule_review(store, threshold=0.5, min_decided=2)
    flagged = next(r for r in eager.rules if r.rule_id == "remarks.present")
    assert flagged.flags == [APPROVED_UNCHANGED]
    text = "\n".join(rule_review_lines(eager))
    assert "fields edited: move_date x1" in text
    assert "nearly always approved unchanged: 1 of 2 decided" in text
    assert "comment (edit, Jens" in text
    assert ANNA not in text
    later = build_rule_review(store, since=date(2026, 11, 3), process="change-of-address")
    assert next(r for r in later.rules if r.rule_id == "remarks.present").raised == 1
    assert {r.process for r in later.rules} == {"change-of-address"}


# Colour, not grey: the bars and lines a chart draws (its text and grid are grey).
_INKED = """
async ({png, boxes}) => {
  const img = new Image();
  img.src = "data:image/png;base64," + png;
  await img.decode();
  const canvas = document.createElement("canvas");
  canvas.width = img.width;
  canvas.height = img.height;
  const g = canvas.getContext("2d");
  g.drawImage(img, 0, 0);
  return boxes.map((b) => {
    const d = g.getImageData(b.x, b.y, b.width, b.height).data;
    let n = 0;
    for (let i = 0; i < d.length; i += 4) {
      const hi = Math.max(d[i], d[i + 1], d[i + 2]), lo = Math.min(d[i], d[i + 1], d[i + 2]);
      if (hi - lo > 60) n++;
    }
    return n;
  });
}
"""


async def _look(session: BrowserSession, page_file: Path, shot: Path) -> dict[str, Any]:
    async with session.context() as context:
        page = await context.new_page()
        await page.set_viewport_size({"width": 1200, "height": 900})
        await page.goto(page_file.as_uri())
        for chart in CHART_IDS:
            await page.locator(f"#{chart} .main-svg").first.wait_for()
        bars = {
            chart: await page.locator(f"#{chart} .barlayer .point path").count()
            for chart in CHART_IDS
        }
        labels = await page.locator("#chart-rules .ytick text").all_text_contents()
        await page.screenshot(path=shot, full_page=True)
        boxes = [await page.locator(f"#{chart}").bounding_box() for chart in CHART_IDS]
        blank = await context.new_page()
        png = base64.b64encode(shot.read_bytes()).decode()
        inked = await blank.evaluate(_INKED, {"png": png, "boxes": boxes})
        return {
            "bars": bars,
            "labels": labels,
            "inked": inked,
            "text": await page.inner_text("body"),
        }


def test_the_html_page_renders_its_charts_in_a_browser_without_a_server(
    store: CheckpointStore, run: Runner, browser_session: BrowserSession, tmp_path: Path
) -> None:
    fill(store)
    page_file = tmp_path / "benefits.html"
    page_file.write_text(
        benefits_html(_benefits(store), build_rule_review(store)), encoding="utf-8"
    )
    html_text = page_file.read_text(encoding="utf-8")
    assert ANNA not in html_text
    assert "http://" not in html_text.split("<script", 1)[0]  # nothing fetched: one file
    shot = tmp_path / "benefits.png"
    seen = run(_look, browser_session, page_file, shot)
    assert all(n > 0 for n in seen["bars"].values()), seen["bars"]
    assert all(n > 200 for n in seen["inked"]), seen["inked"]  # the screenshot shows the bars
    assert "remarks.present" in seen["labels"]
    assert "15 to 45 min" in seen["text"]
    assert STUDY.source in seen["text"]
