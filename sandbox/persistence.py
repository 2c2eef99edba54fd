"""The sandbox's changes on disk, so a restart continues where it stopped.

A JSON-lines log under RPA_HOME: a header naming the seed, then one line per change
(marked in progress, closed, registered, amended; for resident parking: marked in
progress, rejected, sent to manual handling, permit issued, amended). A restart with
the same seed replays it; a different seed starts a new log and keeps the old one beside it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from pathlib import Path
from typing import Any

from sandbox.seed import PARKING_PARTS, Seed

log = logging.getLogger(__name__)


class StateLog:
    """Append-only log of a sandbox's changes for one seed."""

    def __init__(self, path: Path, seed: Seed) -> None:
        self.path = path
        self._lock = threading.Lock()
        digest = seed_digest(seed)
        self.events: list[dict[str, Any]] = []
        lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
        if lines and _header(lines[0]) == digest:
            self.events = _events(lines[1:], path)
            if len(self.events) < sum(1 for line in lines[1:] if line.strip()):
                # Drop the unfinished line, so what is appended next starts on a line of its own.
                kept = [lines[0], *(json.dumps(e, ensure_ascii=False) for e in self.events)]
                path.write_text("\n".join(kept) + "\n", encoding="utf-8")
            log.info("Sandbox state: replaying %d changes from %s", len(self.events), path)
            return
        if lines:
            previous = path.with_name(path.stem + ".previous" + path.suffix)
            path.replace(previous)
            log.info("Sandbox state: another seed; the old log is kept as %s", previous)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"seed": digest}) + "\n", encoding="utf-8")

    def append(self, event: dict[str, Any]) -> None:
        """Write one change, flushed before the request that made it returns."""
        line = json.dumps(event, ensure_ascii=False, default=str)
        with self._lock, self.path.open("a", encoding="utf-8") as file:
            file.write(line + "\n")


def seed_digest(seed: Seed) -> str:
    """The seed's fingerprint in a log's header.

    The resident-parking parts are left out while they are empty (no zone, no vehicles,
    applications or permits), so a seed written before they existed keeps the digest it
    had, and a log kept by an earlier version is replayed rather than set aside.
    """
    exclude: dict[str, Any] = {part: True for part in PARKING_PARTS if not getattr(seed, part)}
    zoneless = {i: {"parking_zone"} for i, a in enumerate(seed.addresses) if a.parking_zone is None}
    if zoneless:
        exclude["addresses"] = zoneless
    return hashlib.sha256(seed.model_dump_json(exclude=exclude).encode()).hexdigest()


def _header(line: str) -> str | None:
    try:
        value = json.loads(line).get("seed")
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, str) else None


def _events(lines: list[str], path: Path) -> list[dict[str, Any]]:
    events = []
    for number, line in enumerate(lines, start=2):
        if not line.strip():
            continue
        try:
            events.append(json.loads(line))
        except ValueError:
            if number == len(lines) + 1:  # a last line cut short by a crash: drop it
                log.warning("Sandbox state: ignoring an unfinished last line in %s", path)
                break
            raise ValueError(f"{path}, line {number}: not a JSON change") from None
    return events
