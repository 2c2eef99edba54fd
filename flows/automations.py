"""Prefect automations that tell operations staff what needs them.

Two, created (or brought up to date) by `rpa up` and `rpa deploy`, idempotently by name:
a batch run that failed or crashed, and a checkpoint past its deadline. The second is
fed by an event `rpa up` emits once per overdue checkpoint (`emit_overdue`), since a
deadline passing is not something Prefect sees on its own.

Where the notification goes: a Prefect notification block named `rpa-operations` (a
Slack webhook, an e-mail, Microsoft Teams...; create it in the Prefect UI under Blocks).
Without one the automations still exist and fire (the UI's event feed and the
automation's page show each firing), with nothing sent; creating the block and running
`rpa up` (or `rpa deploy`) again points them at it.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any
from uuid import UUID

from checkpoints.models import Checkpoint

if TYPE_CHECKING:
    from prefect.client.orchestration import PrefectClient
    from prefect.events.schemas.automations import AutomationCore

log = logging.getLogger(__name__)

NOTIFY_BLOCK = "rpa-operations"
"""The name of the notification block the automations send to, when there is one."""
BATCH_FAILED = "rpa: a batch run failed"
CHECKPOINT_OVERDUE = "rpa: a checkpoint is past its deadline"
OVERDUE_EVENT = "rpa.checkpoint.overdue"
OVERDUE_TAG = "overdue"
"""Tag of a checkpoint run whose overdue event was emitted (once per checkpoint)."""
BATCH_FLOWS = ("process-inbox", "process-cases")


def definitions(notify_block: UUID | None) -> list[AutomationCore]:
    """The automations as they should be, sending to `notify_block` when given."""
    from prefect.events.schemas.automations import AutomationCore, EventTrigger, Posture

    batch_failed = EventTrigger(
        expect={"prefect.flow-run.Failed", "prefect.flow-run.Crashed"},
        match={"prefect.resource.id": "prefect.flow-run.*"},
        match_related={"prefect.resource.role": "flow", "prefect.resource.name": list(BATCH_FLOWS)},
        posture=Posture.Reactive,
        threshold=1,
    )
    overdue = EventTrigger(
        expect={OVERDUE_EVENT},
        match={"prefect.resource.id": "rpa.checkpoint.*"},
        posture=Posture.Reactive,
        threshold=1,
    )
    return [
        AutomationCore(
            name=BATCH_FAILED,
            description="A batch run (any process) ended Failed or Crashed: its cases were "
            "not all handled. Open the run, read its last ERROR lines, and start it again "
            "with `rpa run` once the cause is fixed.",
            trigger=batch_failed,
            actions=[
                _action(
                    notify_block,
                    "RPA: batch run failed",
                    "The batch run {{ event.resource.name }} ended ({{ event.event }}).",
                )
            ],
        ),
        AutomationCore(
            name=CHECKPOINT_OVERDUE,
            description="A case has waited for a person past its deadline (it still waits: "
            "a deadline decides nothing). Find who decides it; `rpa checkpoints list` "
            "shows every waiting case.",
            trigger=overdue,
            actions=[
                _action(
                    notify_block,
                    "RPA: a case waits past its deadline",
                    "{{ event.resource.name }} waits for a person past its deadline.",
                )
            ],
        ),
    ]


def _action(block: UUID | None, subject: str, body: str) -> Any:
    from prefect.events.actions import DoNothing, SendNotification

    if block is None:
        return DoNothing()
    return SendNotification(block_document_id=block, subject=subject, body=body)


async def ensure_automations(client: PrefectClient) -> list[str]:
    """Create the automations, or update them to match; one of each, however often run."""
    block = await _notify_block(client)
    done = []
    for wanted in definitions(block):
        found = await client.read_automations_by_name(wanted.name)
        if not found:
            await client.create_automation(wanted)
            done.append(f"created automation {wanted.name!r}")
            continue
        await client.update_automation(found[0].id, wanted)
        for extra in found[1:]:  # two `rpa up`s at once may each have created one
            await client.delete_automation(extra.id)
    where = (
        f"the {NOTIFY_BLOCK!r} notification block"
        if block
        else f"nobody yet (create a notification block named {NOTIFY_BLOCK!r})"
    )
    done.append(f"failed batches and overdue checkpoints notify {where}")
    return done


async def aensure() -> list[str]:
    """ensure_automations with a client of the configured Prefect API."""
    from prefect import get_client

    async with get_client() as client:
        return await ensure_automations(client)


async def _notify_block(client: PrefectClient) -> UUID | None:
    """The notification block named NOTIFY_BLOCK, of whatever type (None when there is none)."""
    for document in await client.read_block_documents(include_secrets=False):
        schema = document.block_schema
        if document.name == NOTIFY_BLOCK and schema is not None and "notify" in schema.capabilities:
            return document.id
    return None


async def emit_overdue(checkpoint: Checkpoint, run_name: str) -> None:
    """The event the overdue automation reacts to: one checkpoint, past its deadline."""
    from prefect.events import Event
    from prefect.events.clients import get_events_client

    related = []
    if checkpoint.flow_run_id:
        related.append(
            {
                "prefect.resource.id": f"prefect.flow-run.{checkpoint.flow_run_id}",
                "prefect.resource.role": "flow-run",
                "prefect.resource.name": run_name,
            }
        )
    event = Event(
        event=OVERDUE_EVENT,
        resource={
            "prefect.resource.id": f"rpa.checkpoint.{checkpoint.checkpoint_id}",
            "prefect.resource.name": run_name,
            "rpa.process": checkpoint.process,
            "rpa.case": checkpoint.case_id,
        },
        related=related,
        payload={"deadline_at": checkpoint.deadline_at.isoformat()},
    )
    async with get_events_client() as events:
        await events.emit(event)


if __name__ == "__main__":  # after `prefect deploy`: `python -m flows.automations`
    import asyncio

    for line in asyncio.run(aensure()):
        print(line)  # a command's output

__all__ = [
    "BATCH_FAILED",
    "CHECKPOINT_OVERDUE",
    "NOTIFY_BLOCK",
    "OVERDUE_EVENT",
    "OVERDUE_TAG",
    "aensure",
    "definitions",
    "emit_overdue",
    "ensure_automations",
]
