"""One batch split over several workers: the batch lists the cases, each part works a share.

A batch run with `parts=N` lists the open cases (one robot session), starts N-1 part runs
of its own deployment, each with an N-th of the case ids, works the first share itself
(a batch never sits idle on a worker while its parts run) and then waits for them. The
work pool gives the parts to whichever workers are free, on any machine; the case
claims in the store keep any case from being worked twice, and the case system's session
limit (flows/limits.py) holds across all of them. The parts' own table artifacts are the
record of what each did; the batch's summary is made from them, so nothing depends on
where a part's worker kept its results.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any
from uuid import UUID

from checkpoints.process import Reason
from flows.outcomes import CaseOutcome

log = logging.getLogger(__name__)

POLL_S = 2.0


class NotADeployment(ValueError):
    """A batch split into parts must run from its deployment: the parts are its runs."""


def shares(case_ids: Sequence[str], parts: int) -> list[list[str]]:
    """The case ids dealt round-robin into `parts` shares (no empty share)."""
    if parts < 1:
        raise ValueError(f"a batch has at least one part, not {parts}")
    dealt = [list(case_ids[n::parts]) for n in range(parts)]
    return [share for share in dealt if share]


async def work_in_parts(
    case_ids: list[str],
    parts: int,
    parameters: dict[str, Any],
    table_key: str,
    work_here: Callable[[list[str]], Awaitable[list[CaseOutcome]]],
) -> list[CaseOutcome]:
    """Start a part run per share but the first, work that one here, then wait for the
    others and read back what each did."""
    from prefect import get_client, runtime
    from prefect.deployments import arun_deployment

    deployment = runtime.deployment.name
    if not deployment:
        raise NotADeployment(
            "a batch is split into parts only when it runs from its deployment (`rpa deploy` "
            "and a worker, or `rpa up`); here it runs in-process: use parts=1"
        )
    name = f"{runtime.flow_run.flow_name}/{deployment}"
    parent = str(runtime.flow_run.id)
    dealt = shares(case_ids, parts)
    runs = []
    for n, share in enumerate(dealt[1:], start=2):
        run = await arun_deployment(
            name,
            parameters={**parameters, "case_ids": share, "parts": 1},
            timeout=0,
            as_subflow=True,
            flow_run_name=f"{runtime.flow_run.name} · part {n} of {len(dealt)}",
            tags=[f"part:{n}/{len(dealt)}"],
            # A restarted batch finds its parts instead of starting them again.
            idempotency_key=f"{parent}-part-{n}-of-{len(dealt)}",
        )
        runs.append(run.id)
    log.info("Started %d more parts of %d cases: %s", len(runs), len(case_ids), runs)
    here = await work_here(dealt[0])
    if not runs:
        return here
    async with get_client() as client:
        finished = await _until_final(client, runs)
        return here + await _outcomes(client, [finished[r] for r in runs], dealt[1:], table_key)


async def _until_final(client: Any, runs: list[UUID]) -> dict[UUID, Any]:
    """Every part run, once each has reached a final state."""
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    while True:
        found = await client.read_flow_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=runs))
        )
        if len(found) == len(runs) and all(r.state and r.state.is_final() for r in found):
            return {r.id: r for r in found}
        await asyncio.sleep(POLL_S)


async def _outcomes(
    client: Any, runs: list[Any], dealt: list[list[str]], table_key: str
) -> list[CaseOutcome]:
    """Each part's table artifact, row by row; a part that ended without one fails its cases.

    Those cases are not lost: nothing was done to them that their journals do not show,
    and the next batch finds them open (or finishes what a journal announced).
    """
    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterFlowRunId,
        ArtifactFilterKey,
    )

    artifacts = await client.read_artifacts(
        artifact_filter=ArtifactFilter(
            key=ArtifactFilterKey(any_=[table_key]),
            flow_run_id=ArtifactFilterFlowRunId(any_=[r.id for r in runs]),
        )
    )
    tables = {a.flow_run_id: a.data for a in artifacts}
    outcomes: list[CaseOutcome] = []
    for run, share in zip(runs, dealt, strict=True):
        data = tables.get(run.id)
        if data is None or not run.state.is_completed():
            why = f"part run {run.name} ended {run.state.type.value} without its record"
            outcomes += [
                CaseOutcome(
                    case_id=case_id, result="failed", error=f"{why}; the next batch takes it"
                )
                for case_id in share
            ]
            continue
        rows = json.loads(data) if isinstance(data, str) else data
        outcomes += [_outcome(row) for row in rows]
    return outcomes


def _outcome(row: dict[str, str]) -> CaseOutcome:
    reasons = [
        Reason(rule_id=rule_id.strip(), message="")
        for rule_id in row.get("reasons", "").split(",")
        if rule_id.strip()
    ]
    result = row["result"]
    return CaseOutcome(
        case_id=row["case"],
        result=result,
        reasons=reasons,
        error=row.get("explanation") or None if result == "failed" else None,
        references=[r.strip() for r in row.get("registrations", "").split(",") if r.strip()],
        robot_seconds=float(row.get("robot seconds") or 0.0),
    )
