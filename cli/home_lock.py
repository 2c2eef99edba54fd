"""One stack per RPA_HOME: `rpa up` (or a standalone `rpa run`) holds a lock under RPA_HOME.

The lock is an `flock` on RPA_HOME/rpa.lock: the kernel releases it when its holder
dies, however it dies, so a lock left by a killed `rpa up` is taken over by the next
one. The file also says who holds it (pid, command, state, the children it started),
for the messages other commands give and for cleaning up after a holder that was
killed.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from cli.lifeline import process_alive, process_started

LOCK_FILE = "rpa.lock"
STACK_COMMANDS = ("rpa up", "rpa demo")


class HomeBusy(RuntimeError):
    """Another `rpa up` or `rpa run` holds this RPA_HOME."""

    def __init__(self, home: Path, holder: Holder) -> None:
        super().__init__(f"{holder.describe()} already runs with RPA_HOME={home}")
        self.holder = holder


@dataclass
class Child:
    """A process the holder started, with its start time (a reused pid is not it)."""

    pid: int
    started: str | None = None

    def alive(self) -> bool:
        """True while this very process runs."""
        if not process_alive(self.pid):
            return False
        return self.started is None or process_started(self.pid) in (None, self.started)


@dataclass
class Holder:
    """Who holds (or last held) the lock of an RPA_HOME."""

    pid: int
    command: str
    state: str = "starting"
    since: str = ""
    children: dict[str, Child] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str) -> Holder | None:
        """The holder written in the lock file; None when it is empty or unreadable."""
        try:
            data = json.loads(text)
            children = {k: Child(**v) for k, v in data.pop("children", {}).items()}
            return cls(**data, children=children)
        except (ValueError, TypeError, AttributeError):
            return None

    def describe(self) -> str:
        """`an \\`rpa up\\` (pid 12, running since 10:02:11 UTC)`, for messages."""
        since = f" since {self.since}" if self.since else ""
        return f"an `{self.command}` (pid {self.pid}, {self.state}{since})"

    @property
    def serves_stack(self) -> bool:
        """True for `rpa up` and `rpa demo`, whose stack other commands use."""
        return self.command in STACK_COMMANDS


class HomeLock:
    """The lock of one RPA_HOME, held for the life of this process's stack."""

    def __init__(self, home: Path, command: str) -> None:
        self.path = home / LOCK_FILE
        self.command = command
        self._fd: int | None = None
        self._holder = Holder(os.getpid(), command)

    def acquire(self) -> Holder | None:
        """Take the lock; return the earlier holder if it stopped without letting go.

        Raises HomeBusy when a live `rpa up` or `rpa run` holds it.
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + 3.0
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                holder = Holder.parse(_read(fd))
                # A probe (see `holder`) holds it for a moment, and a new holder writes its
                # name just after locking: only a named, live holder is a refusal.
                live = (
                    holder is not None and holder.state != "stopped" and process_alive(holder.pid)
                )
                if live or time.monotonic() > deadline:
                    os.close(fd)
                    raise HomeBusy(self.path.parent, holder or Holder(0, "rpa")) from None
                time.sleep(0.05)
        self._fd = fd
        earlier = Holder.parse(_read(fd))
        self._holder.since = datetime.now(UTC).strftime("%H:%M:%S UTC")
        self._write()
        if earlier is None or earlier.state == "stopped" or earlier.pid == os.getpid():
            return None
        return earlier

    def update(self, *, state: str | None = None, children: dict[str, int] | None = None) -> None:
        """Say what the holder does now (`starting`, `running`, `stopping`) and what runs."""
        if state is not None:
            self._holder.state = state
        if children is not None:
            self._holder.children = {
                name: Child(pid, process_started(pid)) for name, pid in children.items()
            }
        self._write()

    def release(self) -> None:
        """Let go (marked `stopped`, so the next holder knows nothing was left behind)."""
        if self._fd is None:
            return
        self._holder.state = "stopped"
        self._holder.children = {}
        with contextlib.suppress(OSError):
            self._write()
        os.close(self._fd)
        self._fd = None

    def _write(self) -> None:
        if self._fd is None:
            return
        data = asdict(self._holder)
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, json.dumps(data).encode(), 0)


def holder(home: Path) -> Holder | None:
    """Who holds the lock of `home` now; None when nobody does."""
    path = home / LOCK_FILE
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return Holder.parse(_read(fd)) or Holder(0, "rpa")
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def stop_leftovers(earlier: Holder, timeout_s: float = 10.0) -> list[str]:
    """Stop what a killed holder left running (its children's process groups); names them."""
    left = {name: child for name, child in earlier.children.items() if child.alive()}
    for child in left.values():
        with contextlib.suppress(OSError):
            os.killpg(child.pid, signal.SIGKILL)
        with contextlib.suppress(OSError):
            os.kill(child.pid, signal.SIGKILL)
    deadline = time.monotonic() + timeout_s
    while any(child.alive() for child in left.values()) and time.monotonic() < deadline:
        time.sleep(0.1)
    return sorted(left)


def _read(fd: int) -> str:
    size = os.fstat(fd).st_size
    return os.pread(fd, size, 0).decode(errors="replace") if size else ""
