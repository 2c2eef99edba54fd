"""What `rpa up` adds to waiting checkpoint runs as time passes: chat links, overdue events.

Both come after the run was created: the chat message is posted by the chat app (which
does not talk to Prefect) and keeps its permalink in the outbox; a deadline passes
later still. Each is done once per checkpoint, marked by a tag on its run
(`chat:linked`, `overdue`), so the every-few-seconds reconcile costs nothing more once
done. Best effort: a notice that fails is tried again at the next reconcile.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING
from uuid import UUID

from checkpoints.models import Checkpoint
from checkpoints.store.repository import CheckpointStore
from flows import automations, operations

if TYPE_CHECKING:
    from prefect.client.orchestration import PrefectClient
    from prefect.client.schemas.objects import FlowRun

log = logging.getLogger(__name__)


async def notice_waiting(
    client: PrefectClient,
    store: CheckpointStore,
    waiting: list[Checkpoint],
    runs: dict[str, FlowRun],
    now: datetime,
) -> list[str]:
    """Link each waiting run's chat message, and announce each checkpoint past its deadline."""
    channels = _chat_channels()
    done = []
    for checkpoint in waiting:
        run = runs.get(checkpoint.flow_run_id or "")
        if run is None or run.state is None or run.state.is_final():
            continue
        try:
            if channels and operations.CHAT_LINKED not in run.tags:
                await _link_chat(client, store, checkpoint, run, channels)
            if checkpoint.overdue(now) and automations.OVERDUE_TAG not in run.tags:
                await automations.emit_overdue(checkpoint, run.name)
                await operations.add_tags(run.id, [automations.OVERDUE_TAG], client)
                done.append(f"{checkpoint.checkpoint_id}: past its deadline; operations told")
        except Exception as exc:  # the next reconcile tries again
            log.warning("Could not update the run of %s: %s", checkpoint.checkpoint_id, exc)
    return done


async def _link_chat(
    client: PrefectClient,
    store: CheckpointStore,
    checkpoint: Checkpoint,
    run: FlowRun,
    channels: tuple[str, ...],
) -> None:
    for channel in channels:
        ref = store.outbox(channel).posted(checkpoint.checkpoint_id) or {}
        permalink = ref.get("permalink")
        if permalink:
            await operations.link_chat_message(checkpoint, UUID(str(run.id)), permalink, client)
            log.info("%s: its %s message is linked on its run", checkpoint.checkpoint_id, channel)
            return


def _chat_channels() -> tuple[str, ...]:
    from checkpoints.channels import enabled
    from config.settings import get_settings

    try:
        return enabled(get_settings())
    except Exception as exc:  # settings that do not load are reported where they are used
        log.info("No chat channels to link: %s", exc)
        return ()


__all__ = ["notice_waiting"]
