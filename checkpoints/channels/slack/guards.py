"""Shared checks around every Slack request: the payload's shape, and the one error handler.

Slack sends well-formed payloads; anything else (a bug, a replay by hand, someone with
the signing secret) is refused with a short 400 before a handler sees it, so handlers
can read `body["actions"][0]["value"]` plainly. Errors a handler raises end in one
place (`@app.error`): a person gets a short answer in Slack, the log gets one line.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import App, BoltRequest, BoltResponse
from slack_bolt.middleware import Middleware
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from checkpoints.channels.slack.blocks import (
    ACTION_CONFIRM,
    ACTION_EDIT,
    ACTION_REJECT,
    ACTION_REJECT_CASE,
    DECISION_ACTIONS,
    EDIT_VIEW,
    REJECT_VIEW,
    Locale,
    escape,
    reply,
)
from checkpoints.service import DecisionError
from checkpoints.store.db import StoreUnavailable
from checkpoints.store.repository import AlreadyDecided, CheckpointNotFound

log = logging.getLogger(__name__)

ACTIONS = frozenset(
    {*DECISION_ACTIONS, ACTION_EDIT, ACTION_CONFIRM, ACTION_REJECT, ACTION_REJECT_CASE}
)
VIEWS = frozenset({EDIT_VIEW, REJECT_VIEW})
ID_LIMIT = 100  # checkpoint ids are 40 characters at most; anything longer is not ours


def payload_problem(body: Any) -> str | None:
    """What is wrong with an interaction payload for our handlers (None: nothing)."""
    if not isinstance(body, dict):
        return "the payload is not a JSON object"
    user = body.get("user")
    if not isinstance(user, dict) or not _short_text(user.get("id")):
        return "the payload names no user"
    kind = body.get("type")
    if kind == "block_actions":
        return _actions_problem(body)
    if kind == "view_submission":
        return _view_problem(body.get("view"))
    return f"unsupported payload type {str(kind)[:40]!r}"


def _short_text(value: Any) -> bool:
    return isinstance(value, str) and 0 < len(value) <= ID_LIMIT


def _actions_problem(body: dict[str, Any]) -> str | None:
    actions = body.get("actions")
    if not isinstance(actions, list) or not actions or not isinstance(actions[0], dict):
        return "the payload has no action"
    action = actions[0]
    if action.get("action_id") not in ACTIONS:
        return "unknown action"
    if not _short_text(action.get("value")):
        return "the action names no checkpoint"
    channel = body.get("channel")
    if channel is not None and not (isinstance(channel, dict) and _short_text(channel.get("id"))):
        return "the payload's channel is malformed"
    opens_a_view = action["action_id"] in (ACTION_EDIT, ACTION_REJECT_CASE)
    if opens_a_view and not _short_text(body.get("trigger_id")):
        return "the payload has no trigger id"
    return None


def _view_problem(view: Any) -> str | None:
    if not isinstance(view, dict):
        return "the payload has no view"
    if view.get("callback_id") not in VIEWS:
        return "unknown view"
    if not _short_text(view.get("private_metadata")):
        return "the view names no checkpoint"
    values = (
        (view.get("state") or {}).get("values") if isinstance(view.get("state"), dict) else None
    )
    if not isinstance(values, dict):
        return "the view has no values"
    for actions in values.values():
        if not isinstance(actions, dict) or not all(isinstance(a, dict) for a in actions.values()):
            return "the view's values are malformed"
        value = (actions.get("value") or {}).get("value")
        if value is not None and not isinstance(value, str):
            return "the view's values are malformed"
    return None


class PayloadCheck(Middleware):
    """Global middleware: a malformed payload gets a short 400 and a one-line log."""

    def process(
        self,
        *,
        req: BoltRequest,
        resp: BoltResponse,
        next: Callable[[], BoltResponse],  # Bolt passes it by this name
    ) -> BoltResponse | None:
        """Pass a well-formed payload on; refuse anything else."""
        problem = payload_problem(req.body)
        if problem is None:
            return next()
        log.warning("Slack request refused: %s", problem)
        return BoltResponse(status=400, body=problem)


def register(app: App, *, locale: Locale) -> None:
    """Attach the payload check and the one error handler to a Bolt app."""
    app.middleware(PayloadCheck())

    @app.error
    def on_error(
        error: Exception, body: dict[str, Any], client: WebClient, response: BoltResponse | None
    ) -> BoltResponse | None:
        problem = payload_problem(body)
        if problem is not None:  # raised by Bolt itself before our check could run
            log.warning("Slack request refused: %s", problem)
            return BoltResponse(status=400, body=problem) if response is not None else None
        text = _tell(error, body, locale)
        if body.get("type") == "view_submission":
            # A modal waits for its answer: show the error on a field of the form.
            if response is None:
                return None
            values = ((body.get("view") or {}).get("state") or {}).get("values") or {}
            field = next(iter(values), "comment")
            errors = {field: text[:150]}
            return BoltResponse(
                status=200,
                body=json.dumps({"response_action": "errors", "errors": errors}),
                headers={"content-type": ["application/json;charset=utf-8"]},
            )
        _ephemeral(client, body, text)
        return BoltResponse(status=200, body="") if response is not None else None


def _tell(error: Exception, body: dict[str, Any], locale: Locale) -> str:
    """Log the error in one line (a traceback only for a bug); what the person is told."""
    user = (body.get("user") or {}).get("id", "?")
    if isinstance(error, CheckpointNotFound):
        log.warning("Slack user %s acted on an unknown checkpoint", user)
        return reply("not_found", locale)
    if isinstance(error, DecisionError | AlreadyDecided):
        log.info("Slack user %s: %s", user, type(error).__name__)
        return escape(str(error)[:300])
    if isinstance(error, StoreUnavailable | SlackApiError | SlackClientError | OSError):
        log.error("Slack request from %s failed: %s", user, error)
        return reply("try_again", locale)
    log.error("Slack request from %s failed with a bug", user, exc_info=error)
    return reply("try_again", locale)


def _ephemeral(client: WebClient, body: dict[str, Any], text: str) -> None:
    channel = (body.get("channel") or {}).get("id")
    if not channel:
        return
    try:
        client.chat_postEphemeral(channel=channel, user=body["user"]["id"], text=text[:3000])
    except (SlackApiError, SlackClientError, OSError) as exc:
        log.warning("Could not tell Slack user %s about an error: %s", body["user"]["id"], exc)
