"""The Bolt app: buttons and the edit modal, each a short handler around the decision service.

Every click and submission is checked against the deciders (a user group or a channel,
re-read every few minutes); the decision goes through the same service as
`rpa checkpoints decide`, so it is stored, journalled and resumed exactly the same way.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from checkpoints import processes
from checkpoints.channels.slack import guards
from checkpoints.channels.slack.blocks import (
    ACTION_CONFIRM,
    ACTION_EDIT,
    ACTION_REJECT,
    ACTION_REJECT_CASE,
    DECISION_ACTIONS,
    EDIT_VIEW,
    REJECT_VIEW,
    Locale,
    edit_view,
    reject_view,
    reply,
    submitted_values,
)
from checkpoints.channels.slack.delivery import SlackDelivery
from checkpoints.models import DecisionKind
from checkpoints.service import DecisionError, DecisionService
from checkpoints.store.repository import AlreadyDecided, CheckpointNotFound, journal_key
from config.settings import SlackSettings

log = logging.getLogger(__name__)


class Deciders:
    """Who may decide: members of a user group or a channel, cached for a few minutes."""

    def __init__(
        self,
        client: WebClient,
        settings: SlackSettings,
        clock: Callable[[], float] = time.monotonic,
        *,
        groups: Mapping[str, str] | None = None,
    ) -> None:
        self.client = client
        self.settings = settings
        self.clock = clock
        self.groups = dict(groups or {})
        """A process's own deciders (a user group) by process name; else the global ones."""
        self._members: dict[str | None, frozenset[str]] = {}
        self._read_at: dict[str | None, float] = {}
        self._lock = threading.Lock()

    def allowed(self, user_id: str, process: str | None = None) -> bool:
        """True when the user may decide the process's cases now (as of a few minutes ago)."""
        group = self.groups.get(process) if process else None
        with self._lock:
            read_at = self._read_at.get(group)
            if read_at is None or self.clock() - read_at >= self.settings.authz_cache_s:
                self._members[group] = frozenset(self._read_members(group))
                self._read_at[group] = self.clock()
            return user_id in self._members[group]

    def _read_members(self, group: str | None) -> list[str]:
        group = group or self.settings.deciders_usergroup
        if group:
            response = self.client.usergroups_users_list(usergroup=group)
            return list(response.get("users", []))
        channel = self.settings.deciders_channel or self.settings.channel or ""
        members: list[str] = []
        cursor = None
        while True:
            page = self.client.conversations_members(channel=channel, cursor=cursor, limit=200)
            members += page.get("members", [])
            cursor = (page.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return members


class SlackChannel:
    """What the handlers need: the service, the deciders, the outbox, names of people."""

    def __init__(
        self,
        *,
        service: DecisionService,
        delivery: SlackDelivery,
        deciders: Deciders,
        locale: Locale = "da",
    ) -> None:
        self.service = service
        self.store = service.store
        self.delivery = delivery
        self.deciders = deciders
        self.locale = locale
        self._names: dict[str, str] = {}

    def name_of(self, client: WebClient, user_id: str) -> str:
        """`Real Name (U123)`: who decided, readable and unambiguous."""
        if user_id not in self._names:
            try:
                user = client.users_info(user=user_id).get("user") or {}
                name = user.get("real_name") or user.get("name") or user_id
            except Exception:  # a name is nice to have; the id is what counts
                name = user_id
            self._names[user_id] = f"{name} ({user_id})" if name != user_id else user_id
        return self._names[user_id]

    def permitted(self, client: WebClient, body: dict[str, Any]) -> str | None:
        """The clicked checkpoint's id when the user may decide; else refuse and None."""
        checkpoint_id: str = body["actions"][0]["value"]
        if self.allowed(body["user"]["id"], checkpoint_id):
            return checkpoint_id
        self.refuse(client, body, checkpoint_id)
        return None

    def allowed(self, user_id: str, checkpoint_id: str) -> bool:
        """True when the user may decide this checkpoint (its process's deciders)."""
        process = self.store.get(checkpoint_id).process if self.deciders.groups else None
        return self.deciders.allowed(user_id, process)

    def refuse(self, client: WebClient, body: dict[str, Any], checkpoint_id: str) -> None:
        """Tell an outsider no, and journal the attempt."""
        user = body["user"]["id"]
        try:
            checkpoint = self.store.get(checkpoint_id)
            self.store.record(
                journal_key(checkpoint.process, checkpoint.case_id),
                "decision.refused",
                {"checkpoint_id": checkpoint_id, "channel": "slack", "user": user},
                actor=f"slack:{user}",
            )
        except CheckpointNotFound:
            pass
        channel = (body.get("channel") or {}).get("id")
        if channel:
            client.chat_postEphemeral(
                channel=channel, user=user, text=reply("refused", self.locale)
            )
        log.warning("Slack user %s may not decide; refused on %s", user, checkpoint_id)

    def already(self, client: WebClient, body: dict[str, Any], exc: AlreadyDecided) -> None:
        """Tell a late clicker who decided first."""
        channel = (body.get("channel") or {}).get("id")
        if not channel:
            return
        decision = exc.decision
        who = decision.decided_by if decision else "?"
        when = f"{decision.decided_at:%Y-%m-%d %H:%M} UTC" if decision else ""
        client.chat_postEphemeral(
            channel=channel,
            user=body["user"]["id"],
            text=reply("already", self.locale, who=who, when=when),
        )

    def decide(
        self,
        client: WebClient,
        body: dict[str, Any],
        checkpoint_id: str,
        kind: DecisionKind,
        **extra: Any,
    ) -> None:
        """Record a decision for the clicking user; answer privately when it cannot be."""
        user = body["user"]["id"]
        try:
            self.service.decide(
                checkpoint_id,
                kind=kind,
                decided_by=self.name_of(client, user),
                channel="slack",
                **extra,
            )
        except AlreadyDecided as exc:
            self.already(client, body, exc)
            return
        self.delivery.deliver_due()


def register(app: App, channel: SlackChannel) -> None:
    """Attach the checkpoint handlers to a Bolt app."""

    def decision_handler(kind: DecisionKind) -> Callable[..., None]:
        def handle(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
            ack()
            checkpoint_id = channel.permitted(client, body)
            if checkpoint_id is None:
                return
            try:
                channel.decide(client, body, checkpoint_id, kind)
            except DecisionError as exc:
                _ephemeral(client, body, str(exc))

        return handle

    for action_id, kind in DECISION_ACTIONS.items():
        app.action(action_id)(decision_handler(kind))  # type: ignore[arg-type]

    @app.action(ACTION_CONFIRM)
    def confirm_edit(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        checkpoint_id = channel.permitted(client, body)
        if checkpoint_id is None:
            return
        user = body["user"]["id"]
        try:
            channel.service.confirm(
                checkpoint_id, confirmed_by=channel.name_of(client, user), channel="slack"
            )
        except AlreadyDecided as exc:
            channel.already(client, body, exc)
            return
        except DecisionError as exc:
            same = "different person" in str(exc)
            _ephemeral(client, body, reply("same_person", channel.locale) if same else str(exc))
            return
        channel.delivery.deliver_due()

    @app.action(ACTION_REJECT)
    def reject_edit(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        checkpoint_id = channel.permitted(client, body)
        if checkpoint_id is None:
            return
        user = body["user"]["id"]
        try:
            channel.service.reject(
                checkpoint_id, rejected_by=channel.name_of(client, user), channel="slack"
            )
        except (AlreadyDecided, DecisionError) as exc:
            _ephemeral(client, body, str(exc))
            return
        channel.delivery.deliver_due()

    def modal_opener(make: Callable[..., dict[str, Any]]) -> Callable[..., None]:
        """A button that opens a modal for an open checkpoint (edit, reject)."""

        def open_modal(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
            ack()
            checkpoint_id = channel.permitted(client, body)
            if checkpoint_id is None:
                return
            checkpoint = channel.store.get(checkpoint_id)
            if checkpoint.status != "open":
                channel.already(
                    client,
                    body,
                    AlreadyDecided(checkpoint_id, checkpoint.decision, checkpoint.status),
                )
                return
            client.views_open(
                trigger_id=body["trigger_id"], view=make(checkpoint, locale=channel.locale)
            )

        return open_modal

    app.action(ACTION_EDIT)(modal_opener(edit_view))
    app.action(ACTION_REJECT_CASE)(modal_opener(reject_view))

    def submit(
        ack: Ack,
        body: dict[str, Any],
        client: WebClient,
        view: dict[str, Any],
        decide: Callable[[str, dict[str, str], str], None],
    ) -> None:
        """A modal's decision: checked like a click, errors shown on the modal's fields."""
        checkpoint_id = view["private_metadata"]
        values = submitted_values(view)
        first_field = next(iter(values), "comment")
        if not channel.allowed(body["user"]["id"], checkpoint_id):
            ack(response_action="errors", errors={first_field: reply("refused", channel.locale)})
            channel.refuse(client, body, checkpoint_id)
            return
        try:
            decide(checkpoint_id, values, channel.name_of(client, body["user"]["id"]))
        except DecisionError as exc:
            # Slack shows an error only on an input the modal has.
            inputs = set((view.get("state") or {}).get("values") or {})
            errors = {field: message for field, message in exc.problems.items() if field in inputs}
            ack(response_action="errors", errors=errors or {first_field: str(exc)[:150]})
            return
        except AlreadyDecided as exc:
            ack()
            channel.already(client, body, exc)
            return
        ack()
        channel.delivery.deliver_due()

    def reject_case(checkpoint_id: str, values: dict[str, str], by: str) -> None:
        reason = values.get("reason", "")
        try:
            channel.service.decide(
                checkpoint_id, kind="reject", decided_by=by, channel="slack", comment=reason
            )
        except DecisionError as exc:  # the reason is the modal's only field
            raise DecisionError(str(exc), {"reason": str(exc)[:150]}) from exc

    def edit_case(checkpoint_id: str, values: dict[str, str], by: str) -> None:
        comment = values.pop("comment", "")
        first_field = next(iter(values), "comment")
        checkpoint = channel.store.get(checkpoint_id)
        try:
            process = processes.get(checkpoint.process)
        except processes.ProcessNotLoaded as exc:
            raise DecisionError(str(exc)) from exc
        edits = _changed(process.form_values(checkpoint.case), values)
        if not edits:
            raise DecisionError("nothing was changed", {first_field: "nothing was changed"})
        channel.service.decide(
            checkpoint_id,
            kind="edit",
            decided_by=by,
            channel="slack",
            edits=edits,
            comment=comment,
        )

    @app.view(REJECT_VIEW)
    def submit_reject(
        ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient
    ) -> None:
        submit(ack, body, client, view, reject_case)

    @app.view(EDIT_VIEW)
    def submit_edit(
        ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient
    ) -> None:
        submit(ack, body, client, view, edit_case)


def _changed(raw: dict[str, Any], values: dict[str, str]) -> dict[str, str]:
    """Only what the person changed; an empty CPR field means `keep it`."""
    edits = {}
    for field, value in values.items():
        parts = field.split(".")
        current: Any = raw
        for part in parts:
            if isinstance(current, list) and part.isdigit() and int(part) < len(current):
                current = current[int(part)]
            elif isinstance(current, dict):
                current = current.get(part)
            else:
                current = None
        if field.endswith(".cpr") and not value.strip():
            continue
        if (current or "") != value.strip():
            edits[field] = value
    return edits


def _ephemeral(client: WebClient, body: dict[str, Any], text: str) -> None:
    channel = (body.get("channel") or {}).get("id")
    if channel:
        client.chat_postEphemeral(channel=channel, user=body["user"]["id"], text=text[:3000])


def build_app(
    settings: SlackSettings,
    channel: SlackChannel,
    client: WebClient,
    *,
    process_before_response: bool = False,
) -> App:
    """The Bolt app for either connection mode (HTTP verifies Slack's signature)."""
    http = settings.mode == "http"
    if http and settings.signing_secret is None:
        raise ValueError("HTTP mode needs RPA_SLACK__SIGNING_SECRET")
    app = App(
        client=client,
        signing_secret=settings.signing_secret.get_secret_value()
        if settings.signing_secret
        else None,
        request_verification_enabled=http,
        token_verification_enabled=False,
        process_before_response=process_before_response,
    )
    guards.register(app, locale=channel.locale)
    register(app, channel)
    return app
