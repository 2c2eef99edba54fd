"""Running the Slack channel: the Bolt app (Socket Mode or HTTP) and the outbox loop."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from slack_bolt import App

from checkpoints.channels.slack.app import Deciders, SlackChannel, build_app
from checkpoints.channels.slack.delivery import Links, SlackDelivery, make_client
from checkpoints.channels.slack.endpoint import http_app

__all__ = ["SlackRuntime", "assemble", "http_app", "outbox_loop", "run"]
from checkpoints.service import DecisionService, Resumer
from checkpoints.store.repository import CheckpointStore
from config.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class SlackRuntime:
    """The parts of a running Slack channel, for `rpa slack` and the tests."""

    app: App
    channel: SlackChannel
    delivery: SlackDelivery
    store: CheckpointStore


def assemble(
    settings: Settings,
    *,
    resumer: Callable[[CheckpointStore], Resumer | None] = lambda store: None,
    prefect_ui_url: str | None = None,
    process_before_response: bool = False,
) -> SlackRuntime:
    """Build the app, the decision service and the outbox from settings."""
    slack = settings.slack
    if not slack.enabled:
        raise ValueError("Slack is not configured: set RPA_SLACK__BOT_TOKEN and RPA_SLACK__CHANNEL")
    if slack.mode == "socket" and slack.app_token is None:
        raise ValueError(
            "Socket Mode needs RPA_SLACK__APP_TOKEN (xapp-...), or set RPA_SLACK__MODE=http"
        )
    store = CheckpointStore.connect(
        settings.store_url, full_cpr=settings.checkpoints.journal_full_cpr
    )
    client = make_client(slack)
    own = settings.process_settings
    channels = {name: p.slack_channel for name, p in own.items() if p.slack_channel}
    groups = {
        name: p.slack_deciders_usergroup for name, p in own.items() if p.slack_deciders_usergroup
    }
    delivery = SlackDelivery(
        store,
        client,
        slack,
        locale=settings.locale,
        links=Links(prefect_ui_url),
        channels=channels,
    )
    channel = SlackChannel(
        service=DecisionService(
            store,
            resumer=resumer(store),
            four_eyes_edits=settings.checkpoints.four_eyes_edits,
        ),
        delivery=delivery,
        deciders=Deciders(client, slack, groups=groups),
        locale=settings.locale,
    )
    app = build_app(slack, channel, client, process_before_response=process_before_response)
    return SlackRuntime(app=app, channel=channel, delivery=delivery, store=store)


def outbox_loop(runtime: SlackRuntime, interval_s: float, stop: threading.Event) -> None:
    """Send what is due and queue reminders, until stopped; Slack outages only delay it."""
    while not stop.is_set():
        try:
            runtime.delivery.schedule_nudges()
            runtime.delivery.deliver_due()
        except Exception:  # the store or Slack hiccuped: log it, keep the loop alive
            log.exception("Slack outbox round failed; trying again")
        stop.wait(interval_s)


def run(runtime: SlackRuntime, settings: Settings) -> None:
    """Serve Slack in the configured mode until the process is stopped."""
    stop = threading.Event()
    loop = threading.Thread(
        target=outbox_loop,
        args=(runtime, settings.slack.outbox_interval_s, stop),
        name="slack-outbox",
        daemon=True,
    )
    loop.start()
    try:
        if settings.slack.mode == "socket":
            from slack_bolt.adapter.socket_mode import SocketModeHandler

            assert settings.slack.app_token is not None
            handler = SocketModeHandler(runtime.app, settings.slack.app_token.get_secret_value())
            handler.start()  # type: ignore[no-untyped-call]
        else:
            import uvicorn

            assert settings.slack.signing_secret is not None  # build_app refuses HTTP without
            uvicorn.run(
                http_app(
                    runtime.app, signing_secret=settings.slack.signing_secret.get_secret_value()
                ),
                host=settings.slack.http_host,
                port=settings.slack.http_port,
                log_level="warning",
            )
    finally:
        stop.set()
        loop.join(timeout=10)
        runtime.store.close()
