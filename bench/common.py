"""What the workloads share: their result, lanes over a queue of cases, progress on stderr."""

from __future__ import annotations

import asyncio
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any


def say(message: str) -> None:
    """A line of progress on stderr."""
    print(message, file=sys.stderr, flush=True)


@dataclass
class Work:
    """What a workload did: a latency per case (seconds) and how each case ended."""

    latencies_s: list[float] = field(default_factory=list)
    results: Counter[str] = field(default_factory=Counter)
    extra: dict[str, Any] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def failed(self, case_id: str, exc: BaseException) -> None:
        """Count a case that raised; keep the first few errors to show."""
        self.results["failed"] += 1
        if len(self.errors) < 5:
            self.errors.append(f"{case_id}: {type(exc).__name__}: {exc}".splitlines()[0][:300])


class Progress:
    """`name: 50/500 cases (10%), 12.3 s` on stderr at every tenth of the cases."""

    def __init__(self, name: str, total: int) -> None:
        self.name = name
        self.total = total
        self.done = 0
        self.started = time.monotonic()
        self._next = 1

    def advance(self, n: int = 1) -> None:
        """Some cases are done."""
        self.done += n
        self.show()

    def show(self) -> None:
        """Print the progress when it crossed the next tenth."""
        if self.total <= 0:
            return
        tenth = self.done * 10 // self.total
        if tenth >= self._next:
            self._next = tenth + 1
            elapsed = time.monotonic() - self.started
            say(
                f"  {self.name}: {self.done}/{self.total} cases "
                f"({100 * self.done // self.total}%), {elapsed:.1f} s"
            )


async def in_lanes(
    case_ids: list[str],
    lanes: int,
    work: Work,
    progress: Progress,
    handle: Callable[[int, str], Awaitable[str | tuple[str, float]]],
    after_case: Callable[[int, int, bool], Awaitable[None]] | None = None,
) -> None:
    """Each lane takes the next case from one queue; a case's latency is its handling time.

    `handle(lane, case_id)` returns how the case ended (`registered`, `set_aside`...),
    or that and the case's latency when it measures its own; an exception counts the
    case as failed, and the lane goes on. `after_case(lane, cases it handled, more
    left)` runs after each case (a lane's housekeeping, as flows/lanes.py does).
    """
    queue: asyncio.Queue[str] = asyncio.Queue()
    for case_id in case_ids:
        queue.put_nowait(case_id)

    async def lane(index: int) -> None:
        handled = 0
        while not queue.empty():
            case_id = queue.get_nowait()
            started = time.monotonic()
            try:
                ended = await handle(index, case_id)
            except Exception as exc:
                work.failed(case_id, exc)
            else:
                result, took = ended if isinstance(ended, tuple) else (ended, None)
                work.results[result] += 1
                work.latencies_s.append(time.monotonic() - started if took is None else took)
            progress.advance()
            handled += 1
            if after_case is not None:
                await after_case(index, handled, not queue.empty())

    await asyncio.gather(*(lane(i) for i in range(lanes)))
