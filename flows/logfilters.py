"""Log filters for every process that runs flows: CPR numbers masked, a healthy wait at INFO.

Installed where flows run (the runner, and each flow as it starts, for flows run in
process). Both are filters on loggers *and* on the handlers that send records out (the
console and Prefect's API log handler), so a record is changed before any handler sees
it, whichever logger it came from.
"""

from __future__ import annotations

import logging
import re
from typing import Any

# The loggers whose records reach the Prefect API (run loggers) and the console (root).
_RUN_LOGGERS = ("prefect.flow_runs", "prefect.task_runs")
_HANDLER_LOGGERS = ("", "prefect", "prefect.extra", *_RUN_LOGGERS)
_WAITING = ("Finished in state Suspended(", "Finished in state Paused(")
# The shape checkpoints.text.mask_cprs masks (DDMMYY-SSSS, hyphen, space or none), and the
# same DDMMYY-XXXX shown, but not inside a word: log lines carry flow run ids (UUIDs), whose
# hex groups can hold ten digits in a row, and a masked id is a link ops can no longer follow.
_CPR_IN_TEXT = re.compile(r"(?<![0-9A-Za-z])([0-9]{6})[ \-]?[0-9]{4}(?![0-9A-Za-z])")


def mask_cprs(text: str) -> str:
    """Every CPR-shaped number in `text` as DDMMYY-XXXX (ids with letters left alone)."""
    return _CPR_IN_TEXT.sub(lambda m: f"{m.group(1)}-XXXX", text)


class MaskCpr(logging.Filter):
    """Every CPR-shaped number (DDMMYY-SSSS, DDMMYYSSSS) in a record's text as DDMMYY-XXXX.

    A second line of defence: code logs ids, never a CPR number, but a message built
    from an exception or a page's text could carry one. The message is formatted here
    (msg % args) so that a number passed as an argument is masked as well.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: leave it to the handler's own error path
            return True
        masked = mask_cprs(message)
        if masked != message or record.args:
            record.msg, record.args = masked, None
        if record.exc_info and record.exc_info[1] is not None and not record.exc_text:
            text = logging.Formatter().formatException(record.exc_info)
            if mask_cprs(text) != text:
                record.exc_text = mask_cprs(text)
                record.exc_info = None  # the traceback is kept, masked, as text
        return True


class WaitingIsNotAnError(logging.Filter):
    """Prefect logs a run that suspends ("Finished in state Suspended(...)") at ERROR.

    A checkpoint run suspends to wait for a person: a healthy wait, not a failure, so
    that record is logged at INFO. Only that one; Failed and Crashed stay ERROR.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        msg = record.msg
        if record.levelno > logging.INFO and isinstance(msg, str) and msg.startswith(_WAITING):
            record.levelno, record.levelname = logging.INFO, "INFO"
        return True


_FILTERS: tuple[type[logging.Filter], ...] = (WaitingIsNotAnError, MaskCpr)


def install() -> None:
    """Put both filters on the run loggers and on every handler they log through.

    Idempotent, and cheap: called by each flow as it starts, since Prefect may set its
    logging up again (replacing its handlers) in the process that runs a flow.
    """
    loggers = [logging.getLogger(name) for name in _HANDLER_LOGGERS]
    targets: list[Any] = [logging.getLogger(name) for name in _RUN_LOGGERS]
    targets += [handler for logger in loggers for handler in logger.handlers]
    for target in targets:
        for kind in _FILTERS:
            if not any(isinstance(f, kind) for f in target.filters):
                target.addFilter(kind())


__all__ = ["MaskCpr", "WaitingIsNotAnError", "install", "mask_cprs"]
