"""What the flows share: the store, and the case system to work in."""

from __future__ import annotations

from checkpoints.store.repository import CheckpointStore
from config.settings import Settings
from robots.sandbox.system import Target


def open_store(settings: Settings) -> CheckpointStore:
    """The store of these settings, its schema brought up to date."""
    return CheckpointStore.connect(
        settings.store_url, full_cpr=settings.checkpoints.journal_full_cpr
    )


def target_for(settings: Settings, target_url: str | None) -> Target:
    """The case system to work in: the URL given, else the configured one."""
    url = target_url or settings.target.url
    if not url:
        raise ValueError(
            "no case system to work in: pass target_url, set RPA_TARGET__URL, or start `rpa up`"
        )
    return Target(
        base_url=url,
        username=settings.target.username,
        password=settings.target.password,
        rendering=settings.target.rendering,
    )
