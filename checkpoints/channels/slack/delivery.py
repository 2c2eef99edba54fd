"""Sending the outbox to Slack: posts, in-place updates, thread replies, reminders."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
)

from checkpoints.channels.slack.blocks import Locale, checkpoint_message, outcome_text, reply
from checkpoints.models import Checkpoint
from checkpoints.store import outbox
from checkpoints.store.repository import CheckpointStore
from config.settings import SlackSettings

log = logging.getLogger(__name__)

CHANNEL = "slack"


def make_client(settings: SlackSettings) -> WebClient:
    """A Web API client with slack-sdk's own retries for rate limits and lost connections.

    A 5xx is left to the outbox: Slack may have posted before failing, and the outbox
    looks for the message before it posts again, which a blind retry cannot.
    """
    token = settings.bot_token.get_secret_value() if settings.bot_token else None
    return WebClient(
        token=token,
        base_url=settings.api_url,
        timeout=15,
        retry_handlers=[
            RateLimitErrorRetryHandler(max_retry_count=2),
            ConnectionErrorRetryHandler(max_retry_count=2),
        ],
    )


class Links:
    """Where a checkpoint's case and run can be opened."""

    def __init__(
        self,
        prefect_ui_url: str | None = None,
        case_url: Callable[[Checkpoint], str | None] | None = None,
    ) -> None:
        self.prefect_ui_url = prefect_ui_url
        self._case_url = case_url

    def case(self, checkpoint: Checkpoint) -> str | None:
        """The case's page in the case system."""
        if self._case_url is not None:
            return self._case_url(checkpoint)
        if checkpoint.target_url:
            return f"{checkpoint.target_url.rstrip('/')}/sager/{checkpoint.case_id}"
        return None

    def run(self, checkpoint: Checkpoint) -> str | None:
        """The checkpoint's flow run in the Prefect UI."""
        if self.prefect_ui_url and checkpoint.flow_run_id:
            return f"{self.prefect_ui_url.rstrip('/')}/runs/flow-run/{checkpoint.flow_run_id}"
        return None


class SlackDelivery:
    """Drains the Slack outbox; safe to call as often as you like."""

    def __init__(
        self,
        store: CheckpointStore,
        client: WebClient,
        settings: SlackSettings,
        *,
        locale: Locale = "da",
        links: Links | None = None,
    ) -> None:
        self.store = store
        self.client = client
        self.settings = settings
        self.locale = locale
        self.links = links or Links()
        self.outbox = store.outbox(CHANNEL)

    def message(self, checkpoint: Checkpoint) -> dict[str, Any]:
        """The checkpoint's message as it should look now."""
        return checkpoint_message(
            checkpoint,
            locale=self.locale,
            case_url=self.links.case(checkpoint),
            run_url=self.links.run(checkpoint),
        )

    def deliver_due(self, now: datetime | None = None) -> int:
        """Send every due entry; failures stay queued with backoff. Returns how many were sent."""
        sent = 0
        for post in self.outbox.due(now):
            try:
                if self._deliver(post):
                    sent += 1
            except (SlackApiError, SlackClientError, OSError) as exc:
                delay = self.outbox.retry_later(post.id, _describe(exc))
                log.warning(
                    "Slack %s for checkpoint %s failed (%s); retrying in %s",
                    post.kind,
                    post.checkpoint_id,
                    _describe(exc),
                    delay,
                )
        return sent

    def _deliver(self, post: outbox.DuePost) -> bool:
        checkpoint = self.store.get(post.checkpoint_id)
        if post.kind == outbox.POST:
            found = self._already_posted(checkpoint) if post.attempts else None
            if found is not None:
                self.outbox.sent(post.id, found)
                log.info("Checkpoint %s was posted before its error; not again", post.checkpoint_id)
                return True
            message = self.message(checkpoint)
            response = self.client.chat_postMessage(
                channel=self.settings.channel or "",
                unfurl_links=False,
                unfurl_media=False,
                metadata={
                    "event_type": "rpa_checkpoint",
                    "event_payload": {"checkpoint_id": checkpoint.checkpoint_id},
                },
                **message,
            )
            self.outbox.sent(post.id, {"channel": response["channel"], "ts": response["ts"]})
            log.info("Checkpoint %s posted to Slack", checkpoint.checkpoint_id)
            return True
        ref = self.outbox.posted(post.checkpoint_id)
        if ref is None:
            # The first post is not out yet: updates wait for it, without using up attempts.
            self.outbox.retry_later(post.id, "waiting for the first post", count=False)
            return False
        if post.kind in (outbox.DECISION, outbox.OUTCOME):
            self.client.chat_update(
                channel=ref["channel"], ts=ref["ts"], **self.message(checkpoint)
            )
            done = outcome_text(checkpoint, locale=self.locale)
            if post.kind == outbox.OUTCOME and done:
                self.client.chat_postMessage(channel=ref["channel"], thread_ts=ref["ts"], text=done)
        elif post.kind == outbox.REMINDER:
            self.client.chat_postMessage(
                channel=ref["channel"],
                thread_ts=ref["ts"],
                text=reply(
                    "reminder", self.locale, case_id=checkpoint.case_id, since=_since(checkpoint)
                ),
            )
        elif post.kind == outbox.ESCALATION and self.settings.escalation_channel:
            link = self.client.chat_getPermalink(channel=ref["channel"], message_ts=ref["ts"])
            self.client.chat_postMessage(
                channel=self.settings.escalation_channel,
                text=reply(
                    "escalation",
                    self.locale,
                    case_id=checkpoint.case_id,
                    since=_since(checkpoint),
                    link=str(link.get("permalink", "")),
                ),
            )
        self.outbox.sent(post.id, ref)
        return True

    def _already_posted(self, checkpoint: Checkpoint) -> dict[str, Any] | None:
        """The checkpoint's message if an earlier, seemingly failed post went through."""
        channel = self.settings.channel or ""
        history = self.client.conversations_history(
            channel=channel,
            oldest=str(checkpoint.created_at.timestamp() - 60),
            include_all_metadata=True,
            limit=200,
        )
        messages: list[dict[str, Any]] = history.get("messages", [])
        for message in messages:
            payload = (message.get("metadata") or {}).get("event_payload") or {}
            if payload.get("checkpoint_id") == checkpoint.checkpoint_id:
                return {"channel": channel, "ts": message["ts"]}
        return None

    def schedule_nudges(self, now: datetime | None = None) -> int:
        """Queue reminders and escalations for posted checkpoints nobody has decided."""
        now = now or datetime.now(UTC)
        remind = timedelta(hours=self.settings.reminder_after_h)
        escalate = timedelta(hours=self.settings.escalate_after_h)
        queued = 0
        for checkpoint in self.store.all("open"):
            if self.outbox.posted(checkpoint.checkpoint_id) is None:
                continue
            waited = now - checkpoint.created_at
            if waited >= remind and not self.outbox.has(checkpoint.checkpoint_id, outbox.REMINDER):
                self.outbox.add(checkpoint.checkpoint_id, outbox.REMINDER)
                queued += 1
            if (
                self.settings.escalation_channel
                and waited >= escalate
                and not self.outbox.has(checkpoint.checkpoint_id, outbox.ESCALATION)
            ):
                self.outbox.add(checkpoint.checkpoint_id, outbox.ESCALATION)
                queued += 1
        return queued


def _since(checkpoint: Checkpoint) -> str:
    return f"{checkpoint.created_at:%Y-%m-%d %H:%M} UTC"


def _describe(exc: BaseException) -> str:
    if isinstance(exc, SlackApiError):
        status = getattr(exc.response, "status_code", "?")
        error = exc.response.get("error") if hasattr(exc.response, "get") else None
        return f"Slack answered {status} ({error or 'no detail'})"
    return f"{type(exc).__name__}: {exc}"
