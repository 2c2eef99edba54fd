"""The automations that notify operations: set up idempotently, and firing on a failed batch."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from prefect import flow

from flows import automations
from tests.conftest import wait_until

pytestmark = pytest.mark.e2e


def ensure() -> list[str]:
    """What `rpa up` does at its start."""
    return asyncio.run(automations.aensure())


def ours() -> dict[str, list[Any]]:
    """The automations on the server with our names, by name."""
    from prefect import get_client

    async def read() -> dict[str, list[Any]]:
        async with get_client() as client:
            return {
                name: await client.read_automations_by_name(name)
                for name in (automations.BATCH_FAILED, automations.CHECKPOINT_OVERDUE)
            }

    return asyncio.run(read())


@flow(name="process-inbox")
def a_batch_that_fails() -> None:
    """Stands in for a batch run whose cases could not all be handled."""
    raise RuntimeError("the case system is down")


def test_the_automations_are_set_up_once_and_fire_on_a_failed_batch(prefect_api_url: str) -> None:
    first = ensure()
    ensure()
    found = ours()
    assert {name: len(found[name]) for name in found} == dict.fromkeys(found, 1)
    assert any("nobody yet" in line and automations.NOTIFY_BLOCK in line for line in first)

    failed = found[automations.BATCH_FAILED][0]
    trigger = failed.trigger
    assert trigger.expect == {"prefect.flow-run.Failed", "prefect.flow-run.Crashed"}
    assert trigger.match_related.model_dump() == {
        "prefect.resource.role": "flow",
        "prefect.resource.name": ["process-inbox", "process-cases"],
    }
    assert [a.type for a in failed.actions] == ["do-nothing"]  # no block to send to yet
    overdue = found[automations.CHECKPOINT_OVERDUE][0]
    assert overdue.trigger.expect == {automations.OVERDUE_EVENT}

    # It fires on a batch run that failed (the server's own triggers service decides).
    a_batch_that_fails(return_state=True)

    def fired() -> list[dict[str, Any]]:
        from prefect import get_client

        with get_client(sync_client=True) as client:
            response = client.request(
                "POST",
                "/events/filter",
                json={"filter": {"event": {"prefix": ["prefect.automation.triggered"]}}},
            )
        return [
            e
            for e in response.json()["events"]
            if e["resource"]["prefect.resource.id"] == f"prefect.automation.{failed.id}"
        ]

    wait_until(fired, "the automation to fire on the failed batch", timeout=90)


def test_the_automations_send_to_the_operations_block_once_there_is_one(
    prefect_api_url: str,
) -> None:
    from prefect.blocks.notifications import SlackWebhook

    SlackWebhook(url="https://hooks.slack.invalid/services/T0/B0/x").save(
        automations.NOTIFY_BLOCK, overwrite=True
    )
    try:
        lines = ensure()
        found = ours()
        assert any("notification block" in line for line in lines)
        for name in found:
            (automation,) = found[name]
            (action,) = automation.actions
            assert action.type == "send-notification"
    finally:
        from prefect import get_client

        with get_client(sync_client=True) as client:
            block = client.read_block_document_by_name(automations.NOTIFY_BLOCK, "slack-webhook")
            client.delete_block_document(block.id)
        ensure()  # as it was: no block, nothing sent
