"""What operations staff see in the Prefect UI: runs named and tagged, notes and links.

Batch runs are named for their process and start time, checkpoint runs for their case
and first rule; both are tagged (process, outcome, rules) so the runs list can be
filtered. A waiting run carries a note (the case in plain words, CPR masked, and how to
decide) and links to the case and, once posted, to its chat message. What is added
after the work (tags, lists, links, screenshots) is best effort: it never fails a batch
or a checkpoint.
"""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING
from uuid import UUID

from checkpoints import processes
from checkpoints.models import Checkpoint
from checkpoints.text import mask_cprs

if TYPE_CHECKING:
    from prefect.client.orchestration import PrefectClient

    from checkpoints.store.repository import CheckpointStore
    from flows.summary import BatchSummary, CaseOutcome

log = logging.getLogger(__name__)

LISTED = 200
"""A batch's list of waiting cases names this many; the rest are in its table artifact."""

CHAT_LINKED = "chat:linked"
"""Tag of a checkpoint run whose chat message is linked on it (done once)."""


def local_stamp(now: datetime | None = None) -> str:
    """`2026-11-29 09:00`: the machine's local time (its time zone), as staff read clocks."""
    return (now or datetime.now()).astimezone().strftime("%Y-%m-%d %H:%M")


def batch_run_name() -> str:
    """`change-of-address batch 2026-11-29 09:00`: a batch run's name (flow_run_name)."""
    from prefect import runtime

    given = runtime.flow_run.name or ""
    if " · part " in given:
        return given  # a part of a split batch keeps the name its batch gave it (flows/parts.py)
    process = runtime.flow_run.parameters.get("process") or "change-of-address"
    return f"{process} batch {local_stamp()}"


def checkpoint_run_name(checkpoint: Checkpoint) -> str:
    """`FLY-2026-000123 · remarks.present`, `+N` when more rules fired."""
    rules = [r.rule_id for r in checkpoint.reasons] or ["checkpoint"]
    more = f" +{len(rules) - 1}" if len(rules) > 1 else ""
    return f"{checkpoint.case_id} · {rules[0]}{more}"


def checkpoint_tags(checkpoint: Checkpoint) -> list[str]:
    """The process, `checkpoint`, and one `rule:<id>` per rule that fired."""
    return [checkpoint.process, "checkpoint", *(f"rule:{r.rule_id}" for r in checkpoint.reasons)]


def batch_outcome(summary: BatchSummary) -> str:
    """`outcome:all-routine`, `outcome:set-aside` or `outcome:failed` (the worst that happened)."""
    if summary.count("failed"):
        return "outcome:failed"
    if summary.count("set_aside"):
        return "outcome:set-aside"
    return "outcome:all-routine"


def run_url(run_id: str | UUID) -> str | None:
    """The flow run's page in the Prefect UI (None when no UI URL is known)."""
    from prefect.settings import get_current_settings

    ui = get_current_settings().ui_url
    return f"{ui.rstrip('/')}/runs/flow-run/{run_id}" if ui else None


async def add_tags(
    run_id: str | UUID, tags: list[str], client: PrefectClient | None = None
) -> None:
    """Add tags to a flow run, keeping the ones it has; best effort (logged, never raised)."""
    from prefect import get_client

    try:
        if client is None:
            async with get_client() as own:
                await _add_tags(own, UUID(str(run_id)), tags)
        else:
            await _add_tags(client, UUID(str(run_id)), tags)
    except Exception as exc:  # the run's work is done; a tag is not worth failing it
        log.warning("Could not tag flow run %s with %s: %s", run_id, ", ".join(tags), exc)


async def _add_tags(client: PrefectClient, run_id: UUID, tags: list[str]) -> None:
    run = await client.read_flow_run(run_id)
    merged = list(dict.fromkeys([*run.tags, *tags]))
    if merged != run.tags:
        await client.update_flow_run(run_id, tags=merged)


async def describe_waiting(checkpoint: Checkpoint, run_id: UUID, client: PrefectClient) -> None:
    """The waiting run's note (the case in plain words, why, how to decide) and case link."""
    from prefect.client.schemas.actions import ArtifactCreate

    key = f"checkpoint-{checkpoint.checkpoint_id.lower()}"
    await client.create_artifact(
        ArtifactCreate(
            key=key,
            type="markdown",
            description=f"Case {checkpoint.case_id} waits for a caseworker",
            flow_run_id=run_id,
            data=waiting_note(checkpoint),
        )
    )
    process = processes.find(checkpoint.process)
    if checkpoint.target_url and process is not None and process.case_link is not None:
        await client.create_artifact(
            ArtifactCreate(
                key=f"{key}-case",
                type="markdown",
                description="The case in the case system",
                flow_run_id=run_id,
                data=_link(
                    process.case_link(checkpoint.target_url, checkpoint.case_id),
                    f"Open case {checkpoint.case_id} in the case system",
                ),
            )
        )


def waiting_note(checkpoint: Checkpoint) -> str:
    """The note in markdown: no CPR number in full, no citizen's remarks (they stay in chat)."""
    lines = [
        f"**Case {checkpoint.case_id}** waits for a caseworker's decision "
        f"(checkpoint `{checkpoint.checkpoint_id}`, deadline "
        f"{local_stamp(checkpoint.deadline_at)}).",
        "",
    ]
    process = processes.find(checkpoint.process)
    if process is not None:
        view = process.show(checkpoint.case, "en")
        lines += [f"- **{_plain(f.label)}:** {_plain(f.value)}" for f in view.facts]
        if view.remarks.strip():
            lines.append("- **Remarks:** written by the citizen (read them in chat or the case)")
        if view.facts or view.remarks.strip():
            lines.append("")
    lines += ["Why:", ""]
    lines += [f"- `{r.rule_id}`: {_plain(mask_cprs(r.message))}" for r in checkpoint.reasons]
    lines += [
        "",
        "Decide in chat, or with `rpa checkpoints decide "
        f"{checkpoint.checkpoint_id} --by NAME --approve` (or `--edit`, `--manual`, "
        "`--contact-citizen`). Resuming this run here decides nothing: without a "
        "stored decision it waits again.",
    ]
    return "\n".join(lines)


async def link_chat_message(
    checkpoint: Checkpoint, run_id: UUID, permalink: str, client: PrefectClient
) -> None:
    """Link the checkpoint's chat message on its run, then tag the run so it is done once."""
    from prefect.client.schemas.actions import ArtifactCreate

    await client.create_artifact(
        ArtifactCreate(
            key=f"checkpoint-{checkpoint.checkpoint_id.lower()}-chat",
            type="markdown",
            description="The checkpoint's message in chat",
            flow_run_id=run_id,
            data=_link(permalink, f"Open the message for case {checkpoint.case_id} in chat"),
        )
    )
    await _add_tags(client, run_id, [CHAT_LINKED])


async def waiting_cases_artifact(summary: BatchSummary, checkpoints: list[Checkpoint]) -> None:
    """A batch's list of the cases it left waiting, each linked to its checkpoint run."""
    from prefect.artifacts import acreate_markdown_artifact

    by_case = {c.case_id: c for c in checkpoints}
    lines = []
    for outcome in summary.waiting[:LISTED]:
        checkpoint = by_case.get(outcome.case_id)
        rules = ", ".join(f"`{r.rule_id}`" for r in outcome.reasons) or "`system.failed`"
        url = run_url(checkpoint.flow_run_id) if checkpoint and checkpoint.flow_run_id else None
        name = checkpoint_run_name(checkpoint) if checkpoint else outcome.case_id
        shown = f"[{name}]({url})" if url else name
        lines.append(f"- {shown}: {rules}")
    if not lines:
        return
    process = summary.process or "change-of-address"
    more = len(summary.waiting) - len(lines)
    if more:
        lines.append(f"- and {more} more (see the batch's table, or `rpa checkpoints list`)")
    await acreate_markdown_artifact(
        key=f"{process}-waiting",
        markdown=f"**{len(summary.waiting)} cases wait for a person:**\n\n" + "\n".join(lines),
        description="The cases this batch set aside, each with its waiting run",
    )


async def finish_batch(summary: BatchSummary, waiting: list[Checkpoint]) -> None:
    """At a batch's end: the list of the cases it left waiting, and its outcome as tags."""
    from prefect import runtime

    try:
        await waiting_cases_artifact(summary, waiting)
    except Exception as exc:  # the batch's work is done; its summary artifacts follow
        log.warning("Could not list the waiting cases of the batch in Prefect: %s", exc)
    process = summary.process or "change-of-address"
    await add_tags(runtime.flow_run.id, [process, "batch", batch_outcome(summary)])


def waiting_checkpoints(
    store: CheckpointStore, outcomes: list[CaseOutcome], process: str
) -> list[Checkpoint]:
    """The open checkpoints of the cases a batch left waiting (the first LISTED of them)."""
    waiting = [o.case_id for o in outcomes if o.result in ("set_aside", "failed")]
    found = [store.active_for_case(case_id, process) for case_id in waiting[:LISTED]]
    return [c for c in found if c is not None]


async def screenshot_artifact(case_id: str, shot: Path | None, what: str) -> None:
    """Where the screenshot of a failure is, on the failed run.

    The path, not the picture: the picture shows the case page with its personal data (a
    full CPR number, say), which would then sit in Prefect's database, seen by everyone
    with the Prefect UI and kept by Prefect's retention. The file stays under RPA_HOME
    with the rest of the robot's evidence (`rpa checkpoints show` names it too).
    """
    if shot is None:
        return
    from prefect.artifacts import acreate_markdown_artifact

    try:
        await acreate_markdown_artifact(
            key=f"screenshot-{_key(case_id)}",
            markdown=f"Case {case_id}: {what}. Screenshot: `{shot}`",
            description=f"Screenshot: case {case_id}, {what}",
        )
    except Exception as exc:  # evidence is on disk either way
        log.warning("Could not note the screenshot of case %s in Prefect: %s", case_id, exc)


def _key(text: str) -> str:
    """An artifact key: lowercase letters, digits and dashes only."""
    return "".join(ch if ch.isascii() and ch.isalnum() else "-" for ch in text.lower())


def _plain(text: str) -> str:
    """Read text shown as written: markdown and HTML characters escaped, one line."""
    special = "\\`*_[]<>#|~"  # mid-line, after a label: the ones markdown or HTML act on
    return "".join(f"\\{ch}" if ch in special else ch for ch in " ".join(text.split()))


def _link(url: str, text: str) -> str:
    return f"[{text}]({url})"


__all__ = [
    "CHAT_LINKED",
    "add_tags",
    "batch_outcome",
    "batch_run_name",
    "checkpoint_run_name",
    "checkpoint_tags",
    "describe_waiting",
    "finish_batch",
    "link_chat_message",
    "local_stamp",
    "run_url",
    "screenshot_artifact",
    "waiting_cases_artifact",
    "waiting_checkpoints",
]
