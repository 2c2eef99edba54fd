"""What every robot of the sandbox case system shares: the target, logging in, logging in again.

No domain imports: a robot for another process builds on this without the
change-of-address models.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Coroutine
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar

from playwright.async_api import BrowserContext, Page
from playwright.async_api import Error as PlaywrightError
from pydantic import BaseModel, SecretStr

from robots.errors import LoginRefused, SessionLost
from robots.reading import Rendering
from robots.sandbox.navigation import goto, require, submit
from robots.session import untraced

log = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")


class Target(BaseModel):
    """Where the case system is, how the robot logs in, and how its pages are read."""

    base_url: str
    username: str
    password: SecretStr
    rendering: Rendering = "browser"
    """`server`: the system's pages are complete as sent, read without rendering
    (robots/reading.py); `browser`: read what the browser renders (JavaScript pages)."""


class _Robot(Protocol):
    logged_in: bool

    async def log_in(self) -> None: ...


RobotT = TypeVar("RobotT", bound=_Robot)


def _logged_in(
    method: Callable[Concatenate[RobotT, P], Coroutine[Any, Any, R]],
) -> Callable[Concatenate[RobotT, P], Coroutine[Any, Any, R]]:
    """Log in first when needed; when the system drops the login, log in and go again once.

    An expired session is the system's housekeeping, not a failure: it must not use up
    one of the case's attempts. Going again is safe because every step reads the
    target's state before it writes. Lost twice in a row is a fault (retried by the flow).
    """

    @functools.wraps(method)
    async def wrapper(robot: RobotT, /, *args: P.args, **kwargs: P.kwargs) -> R:
        if not robot.logged_in:
            await robot.log_in()
        try:
            return await method(robot, *args, **kwargs)
        except SessionLost:
            robot.logged_in = False
            log.info("The case system ended the robot's session; logging in again")
        await robot.log_in()
        try:
            return await method(robot, *args, **kwargs)
        except SessionLost:
            robot.logged_in = False
            raise

    return wrapper


class SystemRobot:
    """A robot's hands in one browser context of the case system: logged in, or logging in."""

    def __init__(self, page: Page, target: Target) -> None:
        self.page = page
        self.target = target
        self.base_url = target.base_url.rstrip("/")
        self.rendering: Rendering = target.rendering
        self.logged_in = False

    async def log_in(self) -> None:
        """Log in with the robot's credentials; no trace records it (they would be in it)."""
        page = self.page
        async with untraced(page.context):
            await goto(page, f"{self.base_url}/login")
            button = page.get_by_role("button", name="Log ind")
            await require(button, page="login", what="'Log ind' button")
            await page.get_by_label("Brugernavn").fill(self.target.username)
            await page.get_by_label("Adgangskode").fill(self.target.password.get_secret_value())
            response = await submit(page, button, expect=(401, 403))
            if response is not None and response.status in (401, 403):
                raise LoginRefused(
                    f"the case system refused user {self.target.username!r}: check "
                    "RPA_TARGET__USERNAME and RPA_TARGET__PASSWORD"
                )
        self.logged_in = True

    async def log_out(self) -> None:
        """End the robot's session in the case system, best effort (see `log_out`)."""
        if not self.logged_in:
            return
        self.logged_in = False
        await log_out(self.page.context, self.base_url)


async def log_out(context: BrowserContext, base_url: str) -> None:
    """End a browser context's session in the case system, best effort.

    A session left to expire still counts against the system (and against the robots'
    session limit) until it does. A failure here changes nothing the robot did: it is
    logged and the session expires by itself. Without a session it does nothing harmful.
    """
    base_url = base_url.rstrip("/")
    try:
        answer = await context.request.post(f"{base_url}/logout", max_redirects=0, timeout=10_000)
    except PlaywrightError as exc:
        log.info("Logging out of %s failed (the session expires by itself): %s", base_url, exc)
        return
    if answer.status not in (200, 302, 303):
        log.info(
            "Logging out of %s answered %d; the session expires by itself", base_url, answer.status
        )
