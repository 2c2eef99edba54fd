"""Processes a stack starts die with it: SIGKILL and SIGHUP of `rpa up` included.

Two mechanisms, because neither covers everything alone:

- On Linux the kernel signals each direct child when its parent dies
  (`prctl(PR_SET_PDEATHSIG)`, set in the child between fork and exec): SIGKILL for a
  child that starts nothing itself; a signal it catches (GROUP_SIGNAL) for one whose own
  children must go too, so that it can take its process group down first.
- Every child runs a watchdog thread: when the stack's owner is gone or the child is
  orphaned (its parent changed), it kills its own process group. That covers
  grandchildren (the runner's flow-run processes and the browsers they drive are in the
  runner's group) and systems without prctl.

`python -m cli.lifeline MODULE ARGS...` runs MODULE (e.g. `prefect`) as `__main__` with
the watchdog running, for children whose entry point is not ours.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import runpy
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

OWNER_ENV = "RPA_LIFELINE_PID"
GROUP_SIGNAL = signal.SIGUSR1  # "your parent died: stop your process group"
_PR_SET_PDEATHSIG = 1
_POLL_S = 0.5


def _load_prctl() -> Callable[..., int] | None:
    # Resolved once in the parent: the child between fork and exec only calls it.
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


_prctl = _load_prctl()


def child_env() -> dict[str, str]:
    """Variables that tie a child (and its children) to this process's life."""
    return {OWNER_ENV: str(os.getpid())}


def die_with_parent(sig: int = signal.SIGKILL) -> Callable[[], None] | None:
    """A `preexec_fn` for Popen: the child gets `sig` when this process dies (Linux).

    Call it from the main thread: the kernel ties the signal to the thread that forks.
    """
    if _prctl is None:
        return None
    prctl = _prctl
    parent = os.getpid()

    def preexec() -> None:
        prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os._exit(1)

    return preexec


def stop_group_on_signal() -> None:
    """In a child started with `die_with_parent(GROUP_SIGNAL)`: the signal stops its group."""
    signal.signal(GROUP_SIGNAL, lambda signum, frame: kill_own_group())


def process_alive(pid: int) -> bool:
    """True while `pid` runs (a zombie, dead but not yet reaped, counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    stat = _stat(pid)
    return stat is None or stat[0] != "Z"


def process_started(pid: int) -> str | None:
    """When `pid` started (clock ticks since boot, Linux); tells a reused pid apart."""
    stat = _stat(pid)
    return stat[19] if stat else None


def _stat(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name is in parentheses and may hold spaces: split after it.
    return text[text.rindex(")") + 2 :].split()


def watch_lifeline(on_gone: Callable[[], None] | None = None) -> bool:
    """In a process of a stack: stop it when the stack's owner dies; False when not in one."""
    owner = os.environ.get(OWNER_ENV, "")
    if not owner.isdigit():
        return False
    owner_pid = int(owner)
    parent = os.getppid()

    def gone() -> bool:
        return os.getppid() != parent or not process_alive(owner_pid)

    def watch() -> None:
        while not gone():
            time.sleep(_POLL_S)
        sys.stderr.write(f"rpa: the stack that started this process (pid {owner_pid}) is gone\n")
        (on_gone or kill_own_group)()

    threading.Thread(target=watch, name="rpa-lifeline", daemon=True).start()
    return True


def kill_own_group() -> None:
    """SIGKILL this process and, when it leads one, its process group (what it started)."""
    # A child of the stack leads its own process group (start_new_session): the runner's
    # flow-run processes and their browser drivers are in it.
    with contextlib.suppress(OSError):
        if os.getpgrp() == os.getpid():
            os.killpg(os.getpgrp(), signal.SIGKILL)
    os.kill(os.getpid(), signal.SIGKILL)


def main() -> None:
    """`python -m cli.lifeline MODULE ARGS...`: MODULE as `__main__`, tied to the stack."""
    if len(sys.argv) < 2:
        sys.exit("usage: python -m cli.lifeline MODULE [ARGS...]")
    module = sys.argv[1]
    sys.argv = [module, *sys.argv[2:]]
    watch_lifeline()
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
