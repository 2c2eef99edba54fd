"""The Slack channel: Block Kit messages, the Bolt app, the outbox."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from config.settings import Settings

__all__ = ["channel"]


class Slack:
    """Slack as a chat channel (checkpoints/channels): Socket Mode or HTTP."""

    name = "slack"

    def configured(self, settings: Settings) -> bool:
        return settings.slack.enabled

    def describe(self, settings: Settings) -> str:
        slack = settings.slack
        where = (
            f"HTTP at http://{slack.http_host}:{slack.http_port}/slack/events"
            if slack.mode == "http"
            else "Socket Mode"
        )
        return f"Slack app running ({where}), posting checkpoints to {slack.channel}"

    def port(self, settings: Settings) -> tuple[str, int] | None:
        slack = settings.slack
        return (slack.http_host, slack.http_port) if slack.mode == "http" else None

    def serve(
        self,
        settings: Settings,
        *,
        resumer: Callable[[Any], Any],
        prefect_ui_url: str | None,
        ready: Callable[[str], None],
    ) -> None:
        from checkpoints.channels.slack.serve import assemble, run

        if not settings.slack.enabled:
            raise ValueError(
                "Slack is not configured: set RPA_SLACK__BOT_TOKEN and RPA_SLACK__CHANNEL"
            )
        if settings.slack.mode == "socket" and settings.slack.app_token is None:
            raise ValueError(
                "Socket Mode needs RPA_SLACK__APP_TOKEN (xapp-...), or set RPA_SLACK__MODE=http"
            )
        runtime = assemble(settings, resumer=resumer, prefect_ui_url=prefect_ui_url)
        ready(self.describe(settings))
        run(runtime, settings)


channel = Slack()
