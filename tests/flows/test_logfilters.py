"""The log filters: CPR numbers masked in every record, a healthy wait logged at INFO."""

from __future__ import annotations

import asyncio
import logging
from uuid import UUID

import pytest

from flows import logfilters
from flows.logfilters import MaskCpr, WaitingIsNotAnError
from tests.conftest import wait_until

RUN_ID = "5f0c1a2e-9b1d-4c7e-8f00-1234567890ab"  # ten digits in a row, in a flow run id


def record(msg: str, *args: object, level: int = logging.INFO) -> logging.LogRecord:
    """A log record as a logger makes it."""
    return logging.LogRecord("prefect.flow_runs", level, __file__, 1, msg, args, None)


@pytest.mark.parametrize(
    ("message", "args", "shown"),
    [
        ("CPR 0101901234 read", (), "CPR 010190-XXXX read"),
        ("CPR 010190-1234 read", (), "CPR 010190-XXXX read"),
        ("CPR %s read", ("010190-1234",), "CPR 010190-XXXX read"),
        ("CPR %s read", (101901234,), "CPR 101901234 read"),  # nine digits: not a CPR
        ("two: 0101901234,3112994321.", (), "two: 010190-XXXX,311299-XXXX."),
        # Ids that look numeric but are not CPR-shaped are left alone.
        ("case FLY-2026-000123 done", (), "case FLY-2026-000123 done"),
        ("registration REG-2026-0001234 made", (), "registration REG-2026-0001234 made"),
        (
            "run 5f0c1a2e-9b1d-4c7e-8f00-1234567890ab",
            (),
            "run 5f0c1a2e-9b1d-4c7e-8f00-1234567890ab",
        ),
        ("eleven digits 01019012345", (), "eleven digits 01019012345"),
        ("took %.2f s", (1.5,), "took 1.50 s"),
    ],
)
def test_cpr_shaped_numbers_are_masked_in_message_and_arguments(
    message: str, args: tuple[object, ...], shown: str
) -> None:
    r = record(message, *args)
    assert MaskCpr().filter(r)
    assert r.getMessage() == shown


def test_a_cpr_in_an_exception_is_masked_in_its_traceback() -> None:
    try:
        raise ValueError("no person with CPR 010190-1234")
    except ValueError:
        import sys

        r = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    MaskCpr().filter(r)
    text = logging.Formatter().format(r)
    assert "010190-XXXX" in text
    assert "1234" not in text.split("010190-XXXX")[-1][:5]
    assert "010190-1234" not in text


@pytest.mark.parametrize(
    ("message", "level"),
    [
        ("Finished in state Suspended('Run is suspended', type=PAUSED)", logging.INFO),
        ("Finished in state Paused('Run is paused', type=PAUSED)", logging.INFO),
        ("Finished in state Failed('Flow run encountered an exception')", logging.ERROR),
        ("Finished in state Crashed('Execution was interrupted')", logging.ERROR),
        ("Suspended work failed", logging.ERROR),
    ],
)
def test_only_a_suspended_or_paused_run_is_lowered_to_info(message: str, level: int) -> None:
    r = record(message, level=logging.ERROR)
    assert WaitingIsNotAnError().filter(r)
    assert (r.levelno, r.levelname) == (level, logging.getLevelName(level))


def test_install_is_idempotent() -> None:
    logfilters.install()
    logfilters.install()
    logger = logging.getLogger("prefect.flow_runs")
    assert sum(isinstance(f, MaskCpr) for f in logger.filters) == 1
    assert sum(isinstance(f, WaitingIsNotAnError) for f in logger.filters) == 1


@pytest.mark.e2e
def test_a_run_logs_a_cpr_masked_to_the_prefect_api(prefect_api_url: str) -> None:
    """Through a real flow run: what reaches the Prefect server is masked."""
    from prefect import flow, get_client, get_run_logger
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId
    from prefect.logging.handlers import APILogHandler
    from prefect.runtime import flow_run

    @flow(name="logs-a-cpr")
    def logs_a_cpr() -> str:
        logfilters.install()
        logger = get_run_logger()
        logger.info("Read CPR %s for case FLY-2026-000123", "0101901234")
        logger.warning("Looked up 010190-1234 in the register")
        return str(flow_run.id)

    run_id = UUID(logs_a_cpr())
    APILogHandler().flush()

    def messages() -> list[str]:
        async def read() -> list[str]:
            async with get_client() as client:
                logs = await client.read_logs(
                    log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run_id]))
                )
            return [log.message for log in logs]

        found = asyncio.run(read())
        return found if any("Looked up" in m for m in found) else []

    logged = "\n".join(wait_until(messages, "the run's logs on the server", timeout=30))
    assert "Read CPR 010190-XXXX for case FLY-2026-000123" in logged
    assert "Looked up 010190-XXXX in the register" in logged
    assert "1234" not in logged.replace("FLY-2026-000123", "")


def test_the_log_mask_masks_what_the_channels_mask_outside_words() -> None:
    from checkpoints.text import mask_cprs as shown_to_people

    for text in ("0101901234", "010190-1234", "010190 1234", "(010190-1234)", "CPR: 0101901234."):
        assert logfilters.mask_cprs(text) == shown_to_people(text)
