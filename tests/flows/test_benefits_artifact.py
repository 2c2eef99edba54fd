"""Each batch leaves its measured benefits as a markdown artifact, from real runs."""

from __future__ import annotations

import asyncio

import pytest

from checkpoints.store.repository import CheckpointStore
from config.settings import get_settings
from flows.batch import process_cases
from flows.change_of_address import process_inbox
from sandbox import SandboxServer, parse_seed
from tests import permit_seeds, seeds
from tests.conftest import sandbox_settings

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("rpa_home")]


def _artifact(key: str) -> str:
    from prefect import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    with get_client(sync_client=True) as client:
        found = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key]))
        )
    assert found, f"no {key} artifact"
    return str(found[0].data)


def test_a_change_of_address_batch_journals_robot_time_and_leaves_its_benefits(
    prefect_api_url: str,
) -> None:
    with SandboxServer(parse_seed(seeds.small_batch()), sandbox_settings()) as sandbox:
        summary = asyncio.run(process_inbox(target_url=sandbox.url, concurrency=2))
    routine, total = len(seeds.ROUTINE), summary.total
    markdown = _artifact("change-of-address-benefits")
    rate = f"{routine / total:.0%}"
    assert (
        f"| change-of-address | {total} | {routine} | {rate} | {total - routine} | 0 |" in markdown
    )
    assert "assumption" in markdown  # the bundled baseline names itself as one
    store = CheckpointStore.connect(get_settings().store_url)
    try:
        for case_id in seeds.ROUTINE:
            (done,) = [e for e in store.journal(case_id) if e.kind == "robot.registered"]
            assert done.data["robot_seconds"] > 0
    finally:
        store.close()


def test_a_generic_batch_leaves_its_benefits(prefect_api_url: str) -> None:
    parking = parse_seed(permit_seeds.parking_batch())
    with SandboxServer(parking, sandbox_settings()) as sandbox:
        summary = asyncio.run(
            process_cases(process="resident-parking", target_url=sandbox.url, concurrency=2)
        )
    done = sum(1 for o in summary.outcomes if o.result == "done")
    markdown = _artifact("resident-parking-benefits")
    assert f"| resident-parking | {summary.total} | {done} |" in markdown
