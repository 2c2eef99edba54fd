"""The served deployments: the runner that executes batch runs and resumed checkpoint runs."""

from __future__ import annotations

import logging
from typing import cast

from prefect import serve
from prefect.deployments.runner import RunnerDeployment

from flows.change_of_address import DEPLOYMENT_NAME, process_inbox
from flows.checkpoint import CHECKPOINT_DEPLOYMENT, await_decision

log = logging.getLogger(__name__)


def serve_deployments(*, limit: int | None = None) -> None:
    """Serve every deployment of the product until the process is stopped."""
    serve(
        cast(
            RunnerDeployment,
            process_inbox.to_deployment(
                name=DEPLOYMENT_NAME,
                description="Handle every open change-of-address notification in the case system.",
                tags=["change-of-address"],
            ),
        ),
        cast(
            RunnerDeployment,
            await_decision.to_deployment(
                name=CHECKPOINT_DEPLOYMENT,
                description="One set-aside case: wait (suspended) for a person's decision, "
                "then carry it out.",
                tags=["change-of-address", "checkpoint"],
            ),
        ),
        limit=limit,
        print_starting_message=False,
    )


if __name__ == "__main__":
    serve_deployments()
