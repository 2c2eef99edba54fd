"""The measured benefits of one batch run, as a Prefect markdown artifact."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from prefect import get_run_logger
from prefect.artifacts import acreate_markdown_artifact

from checkpoints.benefits import baseline_of, build_benefits
from checkpoints.benefits_text import benefits_markdown
from config.settings import Settings
from flows.common import open_store


async def publish_benefits(settings: Settings, process: str, wall_seconds: float) -> None:
    """The benefits of the cases this batch read (since it started) as `<process>-benefits`."""
    started = datetime.now(UTC) - timedelta(seconds=wall_seconds)
    try:
        store = open_store(settings)
        try:
            report = build_benefits(
                store, baseline_for=baseline_of(settings), process=process, after=started
            )
        finally:
            store.close()
    except Exception as exc:  # the batch's work is done and kept: a missing report is not a fault
        get_run_logger().warning("No benefits artifact for this batch: %s", exc)
        return
    title = f"Measured benefits of this batch ({process}, cases read since {started:%H:%M:%S} UTC)"
    await acreate_markdown_artifact(
        key=f"{process}-benefits",
        markdown=benefits_markdown(report, title),
        description="Robot and human time, automation rate, saving range (rpa report benefits)",
    )
