"""A stack while it runs: its parts stay alive, and every waiting checkpoint has a live run."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, NoReturn

from cli.stack import Stack, StackError
from config.settings import Settings

if TYPE_CHECKING:
    from checkpoints.store.repository import CheckpointStore
    from flows.resume import LiveTarget

Say = Callable[[str], None]

RESTARTS = 3  # a part that exits this often within WINDOW_S is not restarted again
WINDOW_S = 600.0


def live_of(stack: Stack) -> LiveTarget:
    """Which case system the stack's checkpoints are carried out on (see flows/resume.py)."""
    from flows.resume import live_target

    return live_target(stack.sandbox_url, stack.earlier_sandbox_urls)


def recover(stack: Stack, settings: Settings, say: Say) -> None:
    """Before a runner starts, with no runner of this home alive: settle what a dead one left.

    Runs before the runner so that it cannot pick up what it must not: a batch scheduled
    before a crash is cancelled (and named), not run unseen; dead checkpoint runs are
    replaced by new ones, which carry out the stored decisions.
    """
    from checkpoints.store.repository import CheckpointStore
    from cli.runs import batch_deployments
    from flows.resume import areconcile, arecover

    actions: list[str] = []
    if stack.started_prefect:
        # Our own server under RPA_HOME: our lock means no other runner uses it.
        for number, batches in enumerate(batch_deployments()):
            actions += asyncio.run(arecover(batches=batches, checkpoint_runs=number == 0))
    store = CheckpointStore.connect(settings.store_url)
    try:
        actions += asyncio.run(areconcile(store, grace_s=0, runner_gone=True, live=live_of(stack)))
    finally:
        store.close()
    for action in actions:
        say(f"recovered: {action}")


def automate(say: Say) -> None:
    """The Prefect automations that notify operations (flows/automations.py), idempotently."""
    from flows.automations import aensure

    try:
        lines = asyncio.run(aensure())
    except Exception as exc:  # the stack runs without them; `rpa up` again sets them up
        say(f"automations: could not set them up ({type(exc).__name__}: {exc})")
        return
    for line in lines:
        say(f"automations: {line}")


def supervise(
    stack: Stack, settings: Settings, say: Say, *, every_s: float = 10.0, check_s: float = 1.0
) -> NoReturn:
    """Until stopped: restart a part that died (or stop, naming it); reconcile checkpoints."""
    from checkpoints.store.repository import CheckpointStore

    store = CheckpointStore.connect(settings.store_url)
    restarts: dict[str, list[float]] = {}
    next_reconcile = 0.0
    last_error = ""
    while True:
        for name, code in stack.dead():
            _revive(stack, settings, say, name, code, restarts)
        if time.monotonic() >= next_reconcile:
            last_error = _reconcile(stack, settings, store, say, last_error)
            next_reconcile = time.monotonic() + every_s
        time.sleep(check_s)


def _reconcile(
    stack: Stack, settings: Settings, store: CheckpointStore, say: Say, last_error: str
) -> str:
    from flows.resume import areconcile

    try:
        actions = asyncio.run(
            areconcile(store, run_timeout_s=settings.checkpoints.run_timeout_s, live=live_of(stack))
        )
    except Exception as exc:  # a busy or restarting server: say so once, try again
        message = f"{type(exc).__name__}: {exc}".splitlines()[0]
        if message != last_error:
            say(f"checkpoints: could not check waiting runs ({message})")
        return message
    for action in actions:
        say(f"checkpoints: {action}")
    return ""


def _revive(
    stack: Stack,
    settings: Settings,
    say: Say,
    name: str,
    code: int,
    restarts: dict[str, list[float]],
) -> None:
    how = f"was killed by {signal.Signals(-code).name}" if code < 0 else f"exited with code {code}"
    where = stack.logs_dir / f"{name}.log"
    now = time.monotonic()
    recent = [t for t in restarts.get(name, []) if now - t < WINDOW_S]
    if len(recent) >= RESTARTS:
        raise StackError(
            f"the {name} {how}, the {len(recent) + 1}th time in {WINDOW_S / 60:.0f} minutes; "
            f"stopping everything. See {where}, then start `rpa up` again"
        )
    restarts[name] = [*recent, now]
    say(f"The {name} {how} (see {where}); starting it again.")
    if name in ("prefect-server", "runner"):
        # The runner's flow runs die with it (its process group); the chat channels talk to
        # the server. All start again after it, and what the dead runner left is settled.
        dependents = [
            n for n in stack.channel_names() if n in stack.children() and name != "runner"
        ]
        stack.forget("runner")
        for dependent in dependents:
            stack.forget(dependent)
        if name == "prefect-server":
            stack.restart("prefect-server")
        try:
            recover(stack, settings, say)
        except Exception as exc:  # the server is busy: the checks every few seconds go on
            message = f"{type(exc).__name__}: {exc}".splitlines()[0]
            say(f"could not settle what the dead runner left yet ({message})")
        stack.restart("runner")
        for dependent in dependents:
            stack.restart(dependent)
    else:
        stack.restart(name)
    stack.publish()
    say(f"The {name} runs again.")
