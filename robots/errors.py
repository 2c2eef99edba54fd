"""The two kinds of robot failure, after robocorp, each with a code.

A business error means the data or the case is not what the robot can handle:
retrying will not help, a human must look. A system error means the target
system or the browser failed: retry with backoff, then hand over to a human.
The code (`business.refused`, `system.http_429`, ...) lets reports count them.
"""

from __future__ import annotations

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import TimeoutError as PlaywrightTimeout


class RobotError(Exception):
    """Base of every error a robot raises on purpose."""

    code = "robot.error"


class BusinessError(RobotError):
    """The case cannot be handled by the robot; a human must decide."""

    code = "business.refused"


class SystemFault(RobotError):
    """The target system or browser failed; worth retrying."""

    code = "system.fault"


class SessionLost(SystemFault):
    """The target system logged the robot out; log in again and retry."""

    code = "system.session_lost"


class LoginRefused(RobotError):
    """The target system refused the robot's credentials; retrying will not help."""

    code = "system.login_refused"


class TargetUnreachable(SystemFault):
    """The target system does not answer at all at its URL (maybe restarting: retried)."""

    code = "system.unreachable"


class HttpFault(SystemFault):
    """The target system answered with a status the robot did not expect (an error page)."""

    def __init__(self, status: int, path: str) -> None:
        super().__init__(f"the case system answered {status} at {path}")
        self.status = status
        self.code = f"system.http_{status}"


class UnexpectedPage(SystemFault):
    """A page lacks what the robot reads from it (a maintenance page, a changed layout)."""

    code = "system.unexpected_page"


def error_code(exc: BaseException) -> str:
    """The code of any error the robot can meet, for journals and reports."""
    if isinstance(exc, RobotError):
        return exc.code
    if isinstance(exc, PlaywrightTimeout):
        return "system.timeout"
    if isinstance(exc, PlaywrightError):
        return "system.browser"
    return f"system.{type(exc).__name__}"
