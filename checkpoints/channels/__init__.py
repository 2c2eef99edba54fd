"""Chat channels where people decide checkpoints: one package per chat system.

A channel posts a checkpoint, updates it when it is decided and carried out, reminds
and escalates when it waits too long (through its outbox in the store, so nothing is
sent twice and nothing is lost while the chat system is down), and receives decisions,
which it hands to the decision service like every other channel. Each package exposes
`channel`, an object with the `ChatChannel` interface; the packages are named by
module (RPA_CHANNELS), so a Microsoft Teams channel is a new package and one setting,
nothing else. The stack (`rpa up`) runs each configured channel as `rpa channel NAME`,
and the store queues a checkpoint for each configured channel when it is opened.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any, Protocol

from config.settings import Settings

__all__ = ["ChatChannel", "all_channels", "enabled", "get"]


class ChatChannel(Protocol):
    """What the product needs of a chat system's package."""

    name: str
    """Its name: the outbox it drains, the part of the stack it runs as (`slack`)."""

    def configured(self, settings: Settings) -> bool:
        """True when the settings name a workspace to post to (else it stays off)."""
        ...

    def describe(self, settings: Settings) -> str:
        """One line for people: where checkpoints are posted, how it connects."""
        ...

    def port(self, settings: Settings) -> tuple[str, int] | None:
        """The address it answers on, for the stack to wait for (None: it has none)."""
        ...

    def serve(
        self,
        settings: Settings,
        *,
        resumer: Callable[[Any], Any],
        prefect_ui_url: str | None,
        ready: Callable[[str], None],
    ) -> None:
        """Post, update, remind, escalate and receive decisions until the process stops.

        `resumer(store)` gives the decision service's resumer (None without Prefect);
        `ready(line)` is called once it runs. A channel that cannot start raises
        ValueError with a one-line reason.
        """
        ...


def all_channels(settings: Settings) -> dict[str, ChatChannel]:
    """Every chat channel package this installation has (RPA_CHANNELS), by name."""
    found: dict[str, ChatChannel] = {}
    for module in settings.channels:
        channel: ChatChannel = importlib.import_module(module).channel
        found[channel.name] = channel
    return found


def enabled(settings: Settings) -> tuple[str, ...]:
    """The chat channels this installation posts checkpoints to (configured ones only)."""
    return tuple(name for name, c in all_channels(settings).items() if c.configured(settings))


def get(name: str, settings: Settings) -> ChatChannel:
    """The channel of this name; ValueError naming the known ones when there is none."""
    known = all_channels(settings)
    if name not in known:
        raise ValueError(f"no chat channel {name!r}; known: {', '.join(known)} (RPA_CHANNELS)")
    return known[name]
