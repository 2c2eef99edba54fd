"""The stack that runs under an RPA_HOME: its stack file, and waiting for one that starts."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

from cli.home_lock import Holder, holder
from config.settings import Settings

STACK_FILE = "stack.json"


class StackError(RuntimeError):
    """A part of the stack did not start."""


@dataclass
class StackInfo:
    """What a running `rpa up` serves; written to RPA_HOME/stack.json for `rpa run`."""

    pid: int
    prefect_api_url: str
    sandbox_url: str | None = None
    started_prefect: bool = True
    children: dict[str, int] = field(default_factory=dict)
    # Sandboxes earlier `rpa up`s of this RPA_HOME served: the same case system (its
    # changes are kept under RPA_HOME), so the live sandbox stands in for them.
    earlier_sandbox_urls: list[str] = field(default_factory=list)

    @property
    def prefect_ui_url(self) -> str:
        """The Prefect UI, next to its API."""
        return self.prefect_api_url.removesuffix("/api")


def read_running_stack(settings: Settings) -> StackInfo | None:
    """The `rpa up` of this RPA_HOME, if one is running and healthy."""
    path = settings.home / STACK_FILE
    try:
        info = StackInfo(**json.loads(path.read_text()))
    except (OSError, ValueError, TypeError):
        return None
    owner = holder(settings.home)
    if owner is None or owner.pid != info.pid or owner.state != "running":
        return None  # a stack file left by a killed `rpa up`, or one still starting
    return info if healthy(f"{info.prefect_api_url}/health") else None


def wait_for_stack(
    settings: Settings, *, timeout_s: float, say: Callable[[str], None]
) -> tuple[StackInfo | None, Holder | None]:
    """The running stack of this RPA_HOME, after waiting (bounded) for one that starts.

    Returns (stack, None) when an `rpa up` runs, (None, None) when nothing holds the
    home, (None, holder) when a standalone `rpa run` holds it. Raises StackError when
    an `rpa up` is still starting after `timeout_s`.
    """
    deadline = time.monotonic() + timeout_s
    told = False
    while True:
        owner = holder(settings.home)
        if owner is None:
            return None, None
        if not owner.serves_stack:
            return None, owner
        running = read_running_stack(settings)
        if running is not None:
            return running, None
        if time.monotonic() >= deadline:
            raise StackError(
                f"{owner.describe()} holds RPA_HOME={settings.home} but is not ready after "
                f"{timeout_s:.0f} s: see {settings.home / 'logs'}, or stop it and start "
                "`rpa up` again"
            )
        if not told:
            say(f"Waiting for {owner.describe()} to be ready (up to {timeout_s:.0f} s)...")
            told = True
        time.sleep(0.5)


def healthy(url: str) -> bool:
    """True when `url` answers 200."""
    try:
        return httpx.get(url, timeout=2.0).status_code == 200
    except httpx.HTTPError:
        return False
