"""What `rpa bench` runs: the workloads and the options (no heavy imports here)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

WORKLOADS = ("http-floor", "playwright-bare", "robot", "flow", "checkpoints")
"""The default set, in the order they run."""
ON_REQUEST = ("memory",)
"""Run only when named in --only: long."""
MEMORY_WORKLOADS = ("flow", "robot")
SAMPLES = ("routine", "mixed")


@dataclass(frozen=True)
class Options:
    """What to run (see `rpa bench --help`)."""

    cases: int = 500
    concurrency: tuple[int, ...] = (1, 4)
    only: tuple[str, ...] = WORKLOADS
    sample: str = "routine"
    out: Path | None = None
    seed: int = 7
    quiet_s: float = 60.0
    decide: int = 20
    memory_cases: tuple[int, ...] = (1000, 10000)
    memory_workload: str = "flow"
    rounds: int = 1
    """robot and flow, one after the other at each concurrency, this many times: the table
    and the ratios take each one's median round (runs on a shared machine vary)."""


def parse_list(text: str, what: str, allowed: tuple[str, ...] | None = None) -> tuple[str, ...]:
    """`a,b` -> ("a", "b"); ValueError naming what is wrong."""
    items = tuple(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))
    if not items:
        raise ValueError(f"{what} is empty")
    if allowed is not None:
        unknown = [item for item in items if item not in allowed]
        if unknown:
            raise ValueError(
                f"unknown {what} {', '.join(unknown)}: choose from {', '.join(allowed)}"
            )
    return items


def parse_ints(text: str, what: str, low: int, high: int) -> tuple[int, ...]:
    """`1,4` -> (1, 4), each within [low, high]."""
    values = []
    for item in parse_list(text, what):
        if not item.isdigit() or not low <= int(item) <= high:
            raise ValueError(f"{what} must be whole numbers from {low} to {high}, not {item!r}")
        values.append(int(item))
    return tuple(values)
