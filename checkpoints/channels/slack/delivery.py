"""Sending the outbox to Slack: posts, in-place updates, thread replies, reminders.

Every message the outbox posts carries metadata naming its checkpoint, its kind and
its outbox entry. When an earlier attempt at an entry may have gone through (any error
once the request was on its way: a 5xx, a timeout, a dropped connection, or a sender
that died), the channel or the thread is searched for that metadata before posting
again, so each entry is posted once.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
)
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

from checkpoints import processes
from checkpoints.channels.slack.blocks import Locale, checkpoint_message, outcome_text, reply
from checkpoints.models import Checkpoint
from checkpoints.store import outbox
from checkpoints.store.repository import CheckpointStore
from config.settings import SlackSettings

log = logging.getLogger(__name__)

CHANNEL = "slack"
EVENT_TYPE = "rpa_checkpoint"
# Methods that make something new each time they are sent: never repeated blindly.
_NOT_REPEATABLE = ("chat.postMessage", "chat.postEphemeral")
_PAGES = 20  # pages of 200 messages searched for an earlier post


class _SafeConnectionRetry(ConnectionErrorRetryHandler):
    """Retries lost connections, but a post only when it never reached Slack.

    A connection dropped after a post was sent may have posted it; only the outbox,
    which searches the channel first, may try such a post again.
    """

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if request.url.rstrip("/").endswith(_NOT_REPEATABLE):
            reason = error.reason if isinstance(error, URLError) else error
            return isinstance(reason, ConnectionRefusedError)
        return super()._can_retry(state=state, request=request, response=response, error=error)


def make_client(settings: SlackSettings) -> WebClient:
    """A Web API client with slack-sdk's own retries for rate limits and lost connections.

    A 5xx is left to the outbox: Slack may have posted before failing, and the outbox
    looks for the message before it posts again, which a blind retry cannot. For the
    same reason a post is retried on a lost connection only if it was never sent.
    """
    token = settings.bot_token.get_secret_value() if settings.bot_token else None
    return WebClient(
        token=token,
        base_url=settings.api_url,
        timeout=15,
        retry_handlers=[
            RateLimitErrorRetryHandler(max_retry_count=2),
            _SafeConnectionRetry(max_retry_count=2),
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
        process = processes.find(checkpoint.process)
        if checkpoint.target_url and process is not None and process.case_link is not None:
            return process.case_link(checkpoint.target_url, checkpoint.case_id)
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
        channels: Mapping[str, str] | None = None,
    ) -> None:
        self.store = store
        self.client = client
        self.settings = settings
        self.channels = dict(channels or {})
        """A process's own channel by process name (RPA_PROCESS_SETTINGS); else the one."""
        self.locale = locale
        self.links = links or Links()
        self.outbox = store.outbox(CHANNEL)
        # Names this sender's claims on outbox entries (host, process, instance).
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"

    def message(self, checkpoint: Checkpoint) -> dict[str, Any]:
        """The checkpoint's message as it should look now."""
        return checkpoint_message(
            checkpoint,
            locale=self.locale,
            case_url=self.links.case(checkpoint),
            run_url=self.links.run(checkpoint),
        )

    def deliver_due(self, now: datetime | None = None) -> int:
        """Claim and send every due entry; failures stay queued with backoff. Returns how many."""
        sent = 0
        for post in self.outbox.claim_due(self.owner, now):
            try:
                ref = self.send(post)
            except Exception as exc:  # any error: the entry stays, and is looked for next time
                delay = self.outbox.retry_later(post.id, _describe(exc))
                known = isinstance(exc, SlackApiError | SlackClientError | OSError)
                log.warning(
                    "Slack %s for checkpoint %s failed (%s); retrying in %s",
                    post.kind,
                    post.checkpoint_id,
                    _describe(exc),
                    delay,
                    exc_info=None if known else exc,
                )
                continue
            if ref is None:
                # The first post is not out yet: updates wait for it, without using up attempts.
                self.outbox.retry_later(post.id, "waiting for the first post", count=False)
                continue
            self.outbox.sent(post.id, ref)
            sent += 1
        return sent

    def send(self, post: outbox.DuePost) -> dict[str, Any] | None:
        """Send one claimed entry; where it went (None: it must wait for the first post).

        The caller marks it sent. An entry tried before is looked for first.
        """
        checkpoint = self.store.get(post.checkpoint_id)
        channel = self.channels.get(checkpoint.process) or self.settings.channel or ""
        if post.kind == outbox.POST:
            found = self._find(post, channel) if post.attempts else None
            if found is not None:
                log.info("Checkpoint %s was posted before its error; not again", post.checkpoint_id)
                return self._with_permalink(found)
            response = self.client.chat_postMessage(
                channel=channel,
                unfurl_links=False,
                unfurl_media=False,
                metadata=self._metadata(post),
                **self.message(checkpoint),
            )
            log.info("Checkpoint %s posted to Slack", checkpoint.checkpoint_id)
            return self._with_permalink({"channel": response["channel"], "ts": response["ts"]})
        ref = self.outbox.posted(post.checkpoint_id)
        if ref is None:
            return None
        if post.kind in (outbox.DECISION, outbox.OUTCOME):
            # An update shows the message as it is now: sending it again changes nothing.
            self.client.chat_update(
                channel=ref["channel"], ts=ref["ts"], **self.message(checkpoint)
            )
            done = outcome_text(checkpoint, locale=self.locale)
            if post.kind == outbox.OUTCOME and done:
                self._post_once(post, ref["channel"], done, thread_ts=ref["ts"])
        elif post.kind == outbox.REMINDER:
            since = _since(checkpoint)
            text = reply("reminder", self.locale, case_id=checkpoint.case_id, since=since)
            self._post_once(post, ref["channel"], text, thread_ts=ref["ts"])
        elif post.kind == outbox.ESCALATION and self.settings.escalation_channel:
            link = self.client.chat_getPermalink(channel=ref["channel"], message_ts=ref["ts"])
            text = reply(
                "escalation",
                self.locale,
                case_id=checkpoint.case_id,
                since=_since(checkpoint),
                link=str(link.get("permalink", "")),
            )
            self._post_once(post, self.settings.escalation_channel, text)
        return ref

    def _with_permalink(self, ref: dict[str, Any]) -> dict[str, Any]:
        """The message's address with its permalink, kept with it for the run's link in
        the Prefect UI (flows/resume.py adds it there). Best effort: the post counts."""
        try:
            link = self.client.chat_getPermalink(channel=ref["channel"], message_ts=ref["ts"])
        except Exception as exc:  # the message is out; only its link is missing
            log.info("No permalink for Slack message %s: %s", ref.get("ts"), _describe(exc))
            return ref
        permalink = link.get("permalink")
        return {**ref, "permalink": str(permalink)} if permalink else ref

    def _post_once(
        self, post: outbox.DuePost, channel: str, text: str, *, thread_ts: str | None = None
    ) -> None:
        """Post a short text for an entry, unless an earlier attempt already did."""
        if post.attempts and self._find(post, channel, thread_ts=thread_ts) is not None:
            log.info("Slack %s for checkpoint %s was sent before its error", post.kind, post.id)
            return
        self.client.chat_postMessage(
            channel=channel, thread_ts=thread_ts, text=text, metadata=self._metadata(post)
        )

    def _metadata(self, post: outbox.DuePost) -> dict[str, Any]:
        return {
            "event_type": EVENT_TYPE,
            "event_payload": {
                "checkpoint_id": post.checkpoint_id,
                "kind": post.kind,
                "outbox_id": post.id,
            },
        }

    def _find(
        self, post: outbox.DuePost, channel: str, *, thread_ts: str | None = None
    ) -> dict[str, Any] | None:
        """The message an earlier attempt at this entry posted, if it went through."""
        for message in self._messages(channel, post.created_at, thread_ts):
            payload = (message.get("metadata") or {}).get("event_payload") or {}
            if payload.get("outbox_id") == post.id or (
                # posts from before the outbox id was written name their checkpoint only
                post.kind == outbox.POST
                and payload.get("checkpoint_id") == post.checkpoint_id
                and payload.get("kind", outbox.POST) == outbox.POST
                and thread_ts is None
            ):
                return {"channel": channel, "ts": message["ts"]}
        return None

    def _messages(
        self, channel: str, since: datetime, thread_ts: str | None
    ) -> Iterator[dict[str, Any]]:
        """The channel's messages (or a thread's) since a minute before `since`, page by page."""
        cursor = None
        for _ in range(_PAGES):
            if thread_ts is None:
                page = self.client.conversations_history(
                    channel=channel,
                    oldest=str(since.timestamp() - 60),
                    include_all_metadata=True,
                    limit=200,
                    cursor=cursor,
                )
            else:
                page = self.client.conversations_replies(
                    channel=channel,
                    ts=thread_ts,
                    include_all_metadata=True,
                    limit=200,
                    cursor=cursor,
                )
            yield from page.get("messages", [])
            cursor = (page.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return

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
            # has() first spares a locking write on every round; add_once decides.
            id_ = checkpoint.checkpoint_id
            if waited >= remind and not self.outbox.has(id_, outbox.REMINDER):
                queued += self.outbox.add_once(id_, outbox.REMINDER)
            if (
                self.settings.escalation_channel
                and waited >= escalate
                and not self.outbox.has(id_, outbox.ESCALATION)
            ):
                queued += self.outbox.add_once(id_, outbox.ESCALATION)
        return queued


def _since(checkpoint: Checkpoint) -> str:
    return f"{checkpoint.created_at:%Y-%m-%d %H:%M} UTC"


def _describe(exc: BaseException) -> str:
    if isinstance(exc, SlackApiError):
        status = getattr(exc.response, "status_code", "?")
        error = exc.response.get("error") if hasattr(exc.response, "get") else None
        return f"Slack answered {status} ({error or 'no detail'})"
    return f"{type(exc).__name__}: {exc}"
