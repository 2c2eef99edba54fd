"""The two kinds of robot failure, after robocorp.

A business error means the data or the case is not what the robot can handle:
retrying will not help, a human must look. A system error means the target
system or the browser failed: retry with backoff, then hand over to a human.
"""

from __future__ import annotations


class RobotError(Exception):
    """Base of every error a robot raises on purpose."""


class BusinessError(RobotError):
    """The case cannot be handled by the robot; a human must decide."""


class SystemFault(RobotError):
    """The target system or browser failed; worth retrying."""


class SessionLost(SystemFault):
    """The target system logged the robot out; log in again and retry."""


class LoginRefused(RobotError):
    """The target system refused the robot's credentials; retrying will not help."""


class TargetUnreachable(SystemFault):
    """The target system does not answer at all at its URL (maybe restarting: retried)."""
