"""Chat channels where people decide checkpoints: one package per chat system.

A channel posts a checkpoint, updates it when it is decided and carried out, reminds
and escalates when it waits too long (all through its outbox in the store, so nothing
is sent twice and nothing is lost while the chat system is down), and receives
decisions, which it hands to the decision service like every other channel. The store
queues a checkpoint for each channel named here when it is opened.
"""

from __future__ import annotations

from config.settings import Settings

__all__ = ["enabled"]


def enabled(settings: Settings) -> tuple[str, ...]:
    """The chat channels this installation posts checkpoints to (configured ones only)."""
    configured = {"slack": settings.slack.enabled}
    return tuple(name for name, on in configured.items() if on)
