"""The served deployments: each loaded process's batch, and every process's checkpoint runs."""

from __future__ import annotations

import logging
from typing import cast

from prefect import serve
from prefect.deployments.runner import RunnerDeployment

from checkpoints import processes
from flows.batch import process_cases
from flows.checkpoint import CHECKPOINT_DEPLOYMENT, await_decision

log = logging.getLogger(__name__)


def deployments() -> list[RunnerDeployment]:
    """One batch deployment per loaded process, and the checkpoint deployment."""
    served: list[RunnerDeployment] = []
    loaded = processes.load()
    for name, process in loaded.items():
        own = getattr(process, "deployment", None)
        if process.own_runtime and own is not None:  # a process with its own batch flow
            served.append(cast(RunnerDeployment, own()))
            continue
        served.append(
            cast(
                RunnerDeployment,
                process_cases.to_deployment(
                    name=name,
                    description=f"Handle every open case of {process.title.en} in the case system.",
                    parameters={"process": name},
                    tags=[name],
                ),
            )
        )
    served.append(
        cast(
            RunnerDeployment,
            await_decision.to_deployment(
                name=CHECKPOINT_DEPLOYMENT,
                description="One set-aside case of any process: wait (suspended) for a "
                "person's decision, then carry it out with its process's robot.",
                tags=[*loaded, "checkpoint"],
            ),
        )
    )
    return served


def serve_deployments(*, limit: int | None = None) -> None:
    """Serve every deployment of the product until the process is stopped."""
    serve(*deployments(), limit=limit, print_starting_message=False)


if __name__ == "__main__":
    serve_deployments()
