"""`rpa deploy`: the product's deployments for a Prefect work pool, for workers anywhere.

The same deployments `rpa up` serves (one batch per process, and the checkpoint runs),
registered for a `process` work pool instead of one runner: `prefect worker start --pool
NAME` on any number of machines then runs them. Entrypoints are module paths, so a worker
imports the product installed on its own machine (scripts/setup), never a file at the
path of the machine that deployed. Safe to run again: the pool and the deployments are
updated in place, and so is the case system's session limit (RPA_TARGET__MAX_SESSIONS).
"""

from __future__ import annotations

import asyncio
import os
from typing import Annotated

import typer

from cli.common import fail, settings_or_fail

DEFAULT_POOL = "rpa-robots"


def deploy(
    pool: Annotated[
        str, typer.Option("--pool", help="The work pool (created, type process, when missing).")
    ] = DEFAULT_POOL,
) -> None:
    """Register every process's batch deployment and the checkpoint deployment for a work
    pool; then start workers with `prefect worker start --pool NAME`."""
    settings = settings_or_fail()
    if not pool.strip() or "/" in pool:
        fail(f"rpa deploy: --pool needs a work pool name, not {pool!r}")
    _server_or_fail(
        "rpa deploy", "(e.g. http://prefect.example:4200/api); `rpa up` needs no deploying"
    )
    from prefect.deployments.runner import deploy as prefect_deploy
    from prefect.types.entrypoint import EntrypointType

    from flows.limits import ensure_limit, limit_name
    from flows.serve import deployments

    asyncio.run(_ensure_pool(pool))
    made = deployments(entrypoint_type=EntrypointType.MODULE_PATH)
    prefect_deploy(
        *made,
        work_pool_name=pool,
        build=False,
        push=False,
        print_next_steps_message=False,
        ignore_warnings=True,
    )
    for deployment in made:
        typer.echo(f"deployed {deployment.flow_name}/{deployment.name} for work pool {pool}")
    size, target = settings.target.max_sessions, settings.target.url
    if size is not None and target:
        asyncio.run(ensure_limit(limit_name(target), size))
        typer.echo(f"session limit {limit_name(target)}: at most {size} at once")
    elif size is not None:
        typer.echo("session limit: set when the first batch runs (RPA_TARGET__URL is empty)")
    from flows.automations import aensure

    for line in asyncio.run(aensure()):
        typer.echo(f"automations: {line}")
    typer.echo(
        f"next: on each worker machine `prefect worker start --pool {pool}`, and once per "
        "installation `rpa reconcile` (and `rpa channel slack` for Slack)"
    )


def reconcile(
    every: Annotated[
        float, typer.Option("--every", min=1.0, help="Seconds between rounds.")
    ] = 10.0,
    once: Annotated[bool, typer.Option("--once", help="One round, then exit.")] = False,
) -> None:
    """Keep every waiting checkpoint's run alive and carry out decisions nothing resumed:
    what `rpa up` does every few seconds, for an installation of workers (`rpa deploy`).

    One per installation is enough; a second does no harm (each step is idempotent).
    It also notices checkpoints past their deadline (the operations automation)."""
    import time

    settings = settings_or_fail()
    _server_or_fail("rpa reconcile", "")
    from flows.common import open_store
    from flows.resume import areconcile

    store = open_store(settings)
    try:
        while True:
            try:
                actions = asyncio.run(
                    areconcile(store, run_timeout_s=settings.checkpoints.run_timeout_s)
                )
            except Exception as exc:  # the server or the store may be down for a while
                typer.echo(f"reconcile: {type(exc).__name__}: {exc}", err=True)
                actions = []
            for action in actions:
                typer.echo(f"reconcile: {action}")
            if once:
                return
            time.sleep(every)
    finally:
        store.close()


def _server_or_fail(command: str, example: str) -> None:
    """PREFECT_API_URL set, and its server answering; else one line saying what to do."""
    from cli.running import healthy

    url = os.environ.get("PREFECT_API_URL")
    if not url:
        where = f" {example}" if example else ""
        fail(f"{command}: set PREFECT_API_URL to the Prefect server the workers use{where}")
    if not healthy(f"{url.rstrip('/')}/health"):
        fail(f"{command}: the Prefect server at PREFECT_API_URL={url} does not answer; start it")


async def _ensure_pool(name: str) -> None:
    from prefect import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound

    async with get_client() as client:
        try:
            found = await client.read_work_pool(name)
        except ObjectNotFound:
            try:
                await client.create_work_pool(WorkPoolCreate(name=name, type="process"))
            except ObjectAlreadyExists:
                return  # another deploy made it a moment ago
            return
        if found.type != "process":
            fail(f"rpa deploy: work pool {name!r} is of type {found.type!r}, not 'process'")
