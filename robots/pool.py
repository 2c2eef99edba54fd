"""N browser contexts of one browser, each with its own robot: the lanes of a batch."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Generic, TypeVar

from playwright.async_api import BrowserContext, Page

from robots.session import BrowserSession

RobotT = TypeVar("RobotT")


@dataclass
class Lane(Generic[RobotT]):
    """One browser context with one page and the robot working in it."""

    index: int
    context: BrowserContext
    page: Page
    robot: RobotT


class RobotPool(Generic[RobotT]):
    """Opens `size` lanes in a browser session and closes them again."""

    def __init__(
        self, session: BrowserSession, size: int, make_robot: Callable[[Page], RobotT]
    ) -> None:
        if size < 1:
            raise ValueError(f"a robot pool needs at least one lane, not {size}")
        self.session = session
        self.size = size
        self.make_robot = make_robot
        self.lanes: list[Lane[RobotT]] = []

    async def __aenter__(self) -> RobotPool[RobotT]:
        for index in range(self.size):
            context = await self.session.new_context()
            page = await context.new_page()
            self.lanes.append(Lane(index, context, page, self.make_robot(page)))
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for lane in self.lanes:
            await self.log_out(lane.index)
            await lane.context.close()
        self.lanes.clear()

    async def log_out(self, index: int) -> None:
        """End the lane's session in the target system (robots that can log out do).

        A session left open counts against the system until it expires; the lane logs in
        again when it is given another case.
        """
        log_out = getattr(self.lanes[index].robot, "log_out", None)
        if log_out is not None:
            await log_out()

    def lane(self, index: int) -> Lane[RobotT]:
        """The lane with this index."""
        return self.lanes[index]

    async def recycle(self, index: int) -> Lane[RobotT]:
        """A fresh page (and robot) for a lane, in the same context: the login is kept.

        A renderer grows with every page it has shown (about 4 MB a case here); a new page
        starts small, so a long batch's memory stays flat. The old page is closed first, so
        its renderer can go.
        """
        lane = self.lanes[index]
        await lane.page.close()
        page = await lane.context.new_page()
        fresh = Lane(index, lane.context, page, self.make_robot(page))
        self.lanes[index] = fresh
        return fresh
