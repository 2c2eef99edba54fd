"""The case system's session limit: at most K robot sessions at once, across every worker.

A municipal case system allows so many concurrent users, and a batch split over several
workers (or two batches, or a batch and a carry-out) must never exceed it together. The
limit is a Prefect global concurrency limit named after the system, created (or set to
the configured size) by the first run that needs it; a robot holds one slot from before it
logs in until after it has logged out. Without RPA_TARGET__MAX_SESSIONS nothing is limited
beyond each batch's own lanes.

A slot is a lease: a worker that dies stops renewing it and the slot comes back after
LEASE_S, so a crash never shrinks the limit for good.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack

from httpx import URL

from config.settings import Settings

log = logging.getLogger(__name__)

LEASE_S = 60.0
"""How long a dead holder's slot stays taken (Prefect renews a live holder's lease)."""

_ensured: dict[str, int] = {}


def limit_name(base_url: str) -> str:
    """`rpa-sessions-<host>-<port>`: one limit per case system, whatever its URL path."""
    url = URL(base_url)
    port = url.port or (443 if url.scheme == "https" else 80)
    host = re.sub(r"[^a-z0-9.-]", "-", (url.host or "unknown").lower())
    return f"rpa-sessions-{host}-{port}"


async def ensure_limit(name: str, size: int) -> None:
    """Create the limit, or set it to `size`: the configured size is the truth."""
    if _ensured.get(name) == size:
        return
    from prefect import get_client

    async with get_client() as client:
        await client.upsert_global_concurrency_limit_by_name(name=name, limit=size)
    _ensured[name] = size


@contextlib.asynccontextmanager
async def session_slot(settings: Settings, base_url: str) -> AsyncIterator[None]:
    """Hold one of the case system's session slots (waits for one); no-op without a limit."""
    size = settings.target.max_sessions
    if size is None:
        yield
        return
    from prefect.concurrency.asyncio import concurrency

    name = limit_name(base_url)
    await ensure_limit(name, size)
    # strict: a limit that vanished is an error, never "no limit".
    async with concurrency(name, occupy=1, strict=True, lease_duration=LEASE_S):
        yield


async def slot_while_work_remains(
    slot: Callable[[], AbstractAsyncContextManager[None]],
    work_left: Callable[[], bool],
    stack: AsyncExitStack,
    *,
    look_every_s: float = 1.0,
) -> bool:
    """Enter `slot` into `stack`, unless the work runs out while waiting: then False.

    A lane that waits for a slot while the other lanes finish the queue gives up rather
    than wait for nothing. The slot is entered in this task (Prefect's lease renewal must
    be left in the task that entered it); a watcher cancels the wait when no work is left.
    """
    me = asyncio.current_task()
    assert me is not None
    gave_up = False

    async def watch() -> None:
        nonlocal gave_up
        while work_left():
            await asyncio.sleep(look_every_s)
        gave_up = True
        me.cancel()

    watcher = asyncio.create_task(watch())
    try:
        await stack.enter_async_context(slot())
        return True
    except asyncio.CancelledError:
        if not gave_up:
            raise
        me.uncancel()
        return False
    finally:
        watcher.cancel()
