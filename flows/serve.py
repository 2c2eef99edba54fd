"""The served deployments: each loaded process's batch, and every process's checkpoint runs."""

from __future__ import annotations

import logging
from typing import Any, cast

from prefect import serve
from prefect.deployments.runner import RunnerDeployment

from checkpoints import processes
from flows.batch import process_cases
from flows.checkpoint import CHECKPOINT_DEPLOYMENT, await_decision

log = logging.getLogger(__name__)


def deployments(**options: Any) -> list[RunnerDeployment]:
    """One batch deployment per loaded process, and the checkpoint deployment.

    `options` go to each `to_deployment` (`rpa deploy` gives module-path entrypoints, so a
    worker imports the installed product rather than a file at the deploying machine's path).
    """
    served: list[RunnerDeployment] = []
    loaded = processes.load()
    for name, process in loaded.items():
        own = getattr(process, "deployment", None)
        if process.own_runtime and own is not None:  # a process with its own batch flow
            served.append(cast(RunnerDeployment, own(**options)))
            continue
        served.append(
            cast(
                RunnerDeployment,
                process_cases.to_deployment(
                    name=name,
                    description=f"Handle every open case of {process.title.en} in the case system.",
                    parameters={"process": name},
                    tags=[name],
                    **options,
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
                # Each run is tagged with its own process and rules (start_checkpoint_run);
                # the deployment's tags go onto every run, so it names no process.
                tags=["checkpoint"],
                **options,
            ),
        )
    )
    return served


def serve_deployments(*, limit: int | None = None) -> None:
    """Serve every deployment of the product until the process is stopped."""
    from flows import logfilters

    logfilters.install()  # the runner's own records; each flow run installs them again
    serve(*deployments(), limit=limit, print_starting_message=False)


if __name__ == "__main__":
    serve_deployments()
