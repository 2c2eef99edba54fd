"""Change-of-address notifications: the first process.

`process` declares it to the machinery (rules, decisions, how a case is shown); `batch`
is its batch run (process_inbox).
"""

from __future__ import annotations

from typing import Any

__all__ = ["DEPLOYMENT_NAME", "process_inbox"]


def __getattr__(name: str) -> Any:
    # The batch imports Prefect and Playwright; the declaration alone (what the store and
    # the chat app need) does not, so the batch is imported only when asked for.
    if name in __all__:
        from flows.change_of_address import batch

        return getattr(batch, name)
    raise AttributeError(name)
