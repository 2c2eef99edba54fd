"""The Slack channel over the real protocol: a fake Web API, signed requests into real Bolt."""

from __future__ import annotations

import contextlib
import json
import queue
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
import yaml
from pydantic import SecretStr
from websockets.exceptions import ConnectionClosed
from websockets.sync.server import ServerConnection, serve

from checkpoints.channels.slack.app import Deciders, SlackChannel, build_app
from checkpoints.channels.slack.blocks import (
    ACTION_APPROVE,
    ACTION_CONFIRM,
    ACTION_EDIT,
    BLOCK_LIMIT,
    SECTION_LIMIT,
    checkpoint_message,
    escape,
)
from checkpoints.channels.slack.delivery import Links, SlackDelivery, make_client
from checkpoints.channels.slack.serve import http_app
from checkpoints.models import Checkpoint
from checkpoints.service import DecisionService
from checkpoints.store.repository import CheckpointStore
from cli.stack import free_port
from config.rules import ChangeOfAddressRules
from config.settings import SlackSettings
from flows.change_of_address.clearance import route_case
from flows.change_of_address.proposal import proposal_for
from tests.checkpoints.conftest import ANNA, CaseFactory, Resumes
from tests.slack_fake import SECRET, SlackFake, click, signed_post, submission

CHANNEL = "C0CHECK"


class Slack:
    """The running channel: Bolt app over HTTP, delivery, and the recording resumer."""

    def __init__(self, url: str, delivery: SlackDelivery, resumes: Resumes) -> None:
        self.url = url
        self.delivery = delivery
        self.resumes = resumes


@pytest.fixture
def slack(store: CheckpointStore, slack_settings: SlackSettings) -> Iterator[Slack]:
    """The real Bolt app served over HTTP by uvicorn on a free port."""
    with serving(store, slack_settings, four_eyes=False) as running:
        yield running


@pytest.fixture
def slack_four_eyes(store: CheckpointStore, slack_settings: SlackSettings) -> Iterator[Slack]:
    """The same, with edits needing a second, different person."""
    with serving(store, slack_settings, four_eyes=True) as running:
        yield running


@contextlib.contextmanager
def serving(
    store: CheckpointStore,
    settings: SlackSettings,
    *,
    four_eyes: bool,
    process_before_response: bool = True,
) -> Iterator[Slack]:
    """Serve the Bolt app in HTTP mode until the block ends."""
    client = make_client(settings)
    resumes = Resumes()
    delivery = SlackDelivery(store, client, settings, locale="da")
    channel = SlackChannel(
        service=DecisionService(store, resumer=resumes, four_eyes_edits=four_eyes),
        delivery=delivery,
        deciders=Deciders(client, settings),
    )
    app = build_app(settings, channel, client, process_before_response=process_before_response)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            http_app(app, signing_secret=SECRET),
            host="127.0.0.1",
            port=port,
            log_level="warning",
            log_config=None,  # uvicorn's records reach the root logger, so caplog sees them
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the Slack app did not start"
        time.sleep(0.05)
    try:
        yield Slack(f"http://127.0.0.1:{port}/slack/events", delivery, resumes)
    finally:
        server.should_exit = True
        thread.join(10)


def flagged(
    store: CheckpointStore, make_case: CaseFactory, rules: ChangeOfAddressRules, **changes: Any
) -> Checkpoint:
    """A checkpoint for a case with remarks, queued for Slack."""
    case = make_case(**({"remarks": "Ring før kl. 12"} | changes))
    reasons = route_case(case, config=rules).reasons
    return store.open_checkpoint(
        case=case,
        reasons=reasons,
        proposal=proposal_for(case, reasons, "da"),
        screenshot=None,
        process="change-of-address",
        deadline_hours=48,
        target_url="http://sager.local",
        channels=("slack",),
    )


def all_text(message: Any) -> str:
    """Every string in a message (its text, blocks, values), joined by new lines."""
    if isinstance(message, str):
        try:
            return all_text(json.loads(message))
        except ValueError:
            return message
    if isinstance(message, dict):
        return "\n".join(all_text(v) for v in message.values())
    if isinstance(message, list):
        return "\n".join(all_text(v) for v in message)
    return ""


# --- the message ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "remarks",
    [
        "<!channel> flyt mig nu <@U0BOSS> <https://evil.example|klik her>",
        '<script>alert("x")</script> & *fed*',
        "Zero\u200bwidth\u200bspace",
    ],
)
def test_citizen_text_is_escaped_never_markup(
    store: CheckpointStore, make_case: CaseFactory, rules: ChangeOfAddressRules, remarks: str
) -> None:
    checkpoint = flagged(store, make_case, rules, remarks=remarks)
    message = checkpoint_message(checkpoint, locale="da")
    text = all_text(message)
    for dangerous in ("<!channel>", "<@U0BOSS>", "<https://evil", "<script>"):
        assert dangerous not in text
    assert escape(remarks) in text
    assert ANNA not in text  # CPR masked
    assert "010190-XXXX" in text
    assert message["text"].startswith("Sag FLY-2026-000123 venter på en afgørelse")


def test_long_remarks_are_cut_with_a_note_and_the_message_stays_within_limits(
    store: CheckpointStore, make_case: CaseFactory, rules: ChangeOfAddressRules
) -> None:
    checkpoint = flagged(store, make_case, rules, remarks="<&>" * 1700)  # 5,100 characters
    message = checkpoint_message(checkpoint, locale="en", case_url="http://sager.local/sager/x")
    assert len(message["blocks"]) <= BLOCK_LIMIT
    sections = [b["text"]["text"] for b in message["blocks"] if b["type"] == "section"]
    assert all(len(text) <= SECTION_LIMIT for text in sections)
    (remarks,) = [s for s in sections if "The citizen's remarks" in s]
    assert "shortened: 2500 of 5100 characters shown" in remarks
    actions = [b for b in message["blocks"] if b["type"] == "actions"]
    assert [e["action_id"] for e in actions[0]["elements"]] == [
        "checkpoint_approve",
        "checkpoint_edit",
        "checkpoint_manual",
        "checkpoint_contact_citizen",
    ]


# --- the round trip ------------------------------------------------------------------


def test_post_click_decision_stored_resumed_and_message_updated(
    store: CheckpointStore,
    make_case: CaseFactory,
    rules: ChangeOfAddressRules,
    fake: SlackFake,
    slack: Slack,
) -> None:
    checkpoint = flagged(store, make_case, rules)
    assert slack.delivery.deliver_due() == 1
    (post,) = fake.ok_calls("chat.postMessage")
    assert post.args["channel"] == CHANNEL
    assert post.token == "xoxb-test"
    assert "Ring før kl. 12" in all_text(post.args)

    response = signed_post(slack.url, click("UJENS", ACTION_APPROVE, checkpoint.checkpoint_id))
    assert response.status_code == 200
    decision = store.decision_for(checkpoint.checkpoint_id)
    assert decision is not None
    assert (decision.kind, decision.decided_by, decision.channel) == (
        "approve",
        "Jens Hansen (UJENS)",
        "slack",
    )
    assert slack.resumes.calls == [checkpoint.checkpoint_id]
    (update,) = fake.ok_calls("chat.update")
    assert update.args["ts"] == post.args.get("ts", update.args["ts"])
    assert "Godkendt af Jens Hansen (UJENS)" in all_text(update.args)
    assert "checkpoint_approve" not in all_text(update.args)  # no buttons any more
    assert store.journal(checkpoint.case_id)[-1].kind == "decision.recorded"

    # The robot finishes: the message says what it did, in place and in its thread.
    store.finish(
        checkpoint.checkpoint_id,
        status="applied",
        kind="robot.registered",
        data={"registrations": ["REG-000042"]},
        outcome={"action": "registered", "registrations": ["REG-000042"]},
    )
    assert slack.delivery.deliver_due() == 1
    final = fake.ok_calls("chat.update")[-1]
    assert "REG-000042" in all_text(final.args)
    thread = fake.ok_calls("chat.postMessage")[-1]
    assert thread.args["thread_ts"] == final.args["ts"]
    assert "REG-000042" in thread.args["text"]


def test_a_second_click_and_two_users_at_once_give_exactly_one_decision(
    store: CheckpointStore,
    make_case: CaseFactory,
    rules: ChangeOfAddressRules,
    fake: SlackFake,
    slack: Slack,
) -> None:
    checkpoint = flagged(store, make_case, rules)
    slack.delivery.deliver_due()
    barrier = threading.Barrier(2)
    statuses: list[int] = []

    def press(user: str) -> None:
        barrier.wait()
        statuses.append(
            signed_post(
                slack.url, click(user, ACTION_APPROVE, checkpoint.checkpoint_id)
            ).status_code
        )

    threads = [threading.Thread(target=press, args=(u,)) for u in ("UJENS", "UMETTE")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200, 200]
    decision = store.decision_for(checkpoint.checkpoint_id)
    assert decision is not None
    (told,) = fake.ok_calls("chat.postEphemeral")
    loser = "UMETTE" if decision.decided_by.endswith("(UJENS)") else "UJENS"
    assert told.args["user"] == loser
    assert f"allerede afgjort af {escape(decision.decided_by)}" in told.args["text"]

    # Anyone clicking again later: told, nothing changes.
    signed_post(slack.url, click("UJENS", ACTION_APPROVE, checkpoint.checkpoint_id))
    assert len(fake.ok_calls("chat.postEphemeral")) == 2
    assert slack.resumes.calls == [checkpoint.checkpoint_id]
    kinds = [e.kind for e in store.journal(checkpoint.case_id)]
    assert kinds.count("decision.recorded") == 1


def test_an_unauthorised_user_is_refused_and_the_attempt_journalled(
    store: CheckpointStore,
    make_case: CaseFactory,
    rules: ChangeOfAddressRules,
    fake: SlackFake,
    slack: Slack,
) -> None:
    checkpoint = flagged(store, make_case, rules)
    response = signed_post(slack.url, click("UEVE", ACTION_APPROVE, checkpoint.checkpoint_id))
    assert response.status_code == 200
    assert store.decision_for(checkpoint.checkpoint_id) is None
    assert store.get(checkpoint.checkpoint_id).status == "open"
    (refusal,) = fake.ok_calls("chat.postEphemeral")
    assert refusal.args["user"] == "UEVE"
    assert "ikke adgang" in refusal.args["text"]
    entry = store.journal(checkpoint.case_id)[-1]
    assert (entry.kind, entry.actor) == ("decision.refused", "slack:UEVE")
    assert slack.resumes.calls == []


def test_forged_signatures_and_stale_timestamps_are_rejected(
    store: CheckpointStore,
    make_case: CaseFactory,
    rules: ChangeOfAddressRules,
    slack: Slack,
) -> None:
    checkpoint = flagged(store, make_case, rules)
    payload = click("UJENS", ACTION_APPROVE, checkpoint.checkpoint_id)
    forged = signed_post(slack.url, payload, secret="not-the-secret")
    stale = signed_post(slack.url, payload, timestamp=int(time.time()) - 6 * 60)
    garbled = httpx.post(
        slack.url,
        content="payload=%7B%7D",
        headers={"X-Slack-Request-Timestamp": "soon", "X-Slack-Signature": "v0=00"},
    )
    assert (forged.status_code, stale.status_code, garbled.status_code) == (401, 401, 401)
    assert store.decision_for(checkpoint.checkpoint_id) is None
    assert [e.kind for e in store.journal(checkpoint.case_id)][-1] == "checkpoint.opened"


def test_the_edit_modal_shows_errors_on_the_field_then_accepts_a_valid_edit(
    store: CheckpointStore,
    make_case: CaseFactory,
    rules: ChangeOfAddressRules,
    fake: SlackFake,
    slack: Slack,
) -> None:
    checkpoint = flagged(store, make_case, rules)
    signed_post(slack.url, click("UMETTE", ACTION_EDIT, checkpoint.checkpoint_id))
    (opened,) = fake.ok_calls("views.open")
    view = (
        opened.args["view"]
        if isinstance(opened.args["view"], dict)
        else json.loads(opened.args["view"])
    )
    initial = {b["block_id"]: b["element"].get("initial_value") for b in view["blocks"]}
    assert initial["new_address.street"] == "Sct. Mathias Gade"
    assert initial["move_date"] == "2026-11-15"
    assert initial["movers.0.cpr"] is None  # never sent to Slack in full
    assert ANNA not in json.dumps(view)

    values = {"new_address.street": "Gravene", "new_address.postcode": "88OO"}
    refused = signed_post(slack.url, submission("UMETTE", checkpoint.checkpoint_id, values))
    assert refused.status_code == 200
    answer = refused.json()
    assert answer["response_action"] == "errors"
    assert list(answer["errors"]) == ["new_address.postcode"]
    assert store.decision_for(checkpoint.checkpoint_id) is None

    values["new_address.postcode"] = "8800"
    values["comment"] = "Bekræftet i telefonen"
    accepted = signed_post(slack.url, submission("UMETTE", checkpoint.checkpoint_id, values))
    assert accepted.status_code == 200
    assert accepted.text in ("", "null")
    decision = store.decision_for(checkpoint.checkpoint_id)
    assert decision is not None
    assert decision.kind == "edit"
    assert [(c.field, c.after) for c in decision.changes] == [("new_address.street", "Gravene")]
    assert decision.comment == "Bekræftet i telefonen"


# --- when Slack fails ----------------------------------------------------------------


def test_slack_down_then_back_posts_the_checkpoint_later_exactly_once(
    store: CheckpointStore,
    make_case: CaseFactory,
    rules: ChangeOfAddressRules,
    fake: SlackFake,
    slack: Slack,
) -> None:
    checkpoint = flagged(store, make_case, rules)
    fake.fail_next("chat.postMessage", 503, times=10)
    assert slack.delivery.deliver_due() == 0
    outbox = store.outbox("slack")
    assert outbox.pending_count() == 1
    assert fake.ok_calls("chat.postMessage") == []
    assert [c.status for c in fake.calls if c.method == "chat.postMessage"] == [503]

    summary = outbox.summary(checkpoint.checkpoint_id)
    assert summary is not None
    assert summary.startswith(
        "not posted yet; 1 waiting to be sent; last error: Slack answered 503"
    )
    assert slack.delivery.deliver_due() == 0  # not due yet: backoff
    fake.fail_next("chat.postMessage", 503, times=0)
    later = store.get(checkpoint.checkpoint_id).created_at + timedelta(minutes=10)
    assert slack.delivery.deliver_due(now=later) == 1
    assert slack.delivery.deliver_due(now=later) == 0
    assert len(fake.ok_calls("chat.postMessage")) == 1
    assert outbox.pending_count() == 0
    assert outbox.summary(checkpoint.checkpoint_id) == "posted"


def test_a_post_that_failed_after_slack_posted_it_is_not_posted_twice(
    store: CheckpointStore,
    make_case: CaseFactory,
    rules: ChangeOfAddressRules,
    fake: SlackFake,
    slack: Slack,
) -> None:
    checkpoint = flagged(store, make_case, rules)
    fake.fail_next("chat.postMessage", 500, times=1, after_effect=True)
    assert slack.delivery.deliver_due() == 0
    later = checkpoint.created_at + timedelta(minutes=10)
    assert slack.delivery.deliver_due(now=later) == 1
    assert len(fake.messages) == 1
    assert fake.ok_calls("chat.postMessage") == []
    ref = store.outbox("slack").posted(checkpoint.checkpoint_id)
    ts = fake.messages[0]["ts"]
    assert ref == {"channel": CHANNEL, "ts": ts, "permalink": f"https://fake.slack/{CHANNEL}/{ts}"}


def test_a_rate_limit_is_waited_out_by_the_client(
    store: CheckpointStore,
    make_case: CaseFactory,
    rules: ChangeOfAddressRules,
    fake: SlackFake,
    slack: Slack,
) -> None:
    flagged(store, make_case, rules)
    fake.fail_next("chat.postMessage", 429, times=1, retry_after=1)
    assert slack.delivery.deliver_due() == 1
    statuses = [c.status for c in fake.calls if c.method == "chat.postMessage"]
    assert statuses == [429, 200]


def test_reminders_then_escalation_and_the_checkpoint_stays_open(
    store: CheckpointStore,
    make_case: CaseFactory,
    rules: ChangeOfAddressRules,
    fake: SlackFake,
    slack: Slack,
) -> None:
    checkpoint = flagged(store, make_case, rules)
    slack.delivery.deliver_due()
    start = checkpoint.created_at
    assert slack.delivery.schedule_nudges(now=start + timedelta(hours=1)) == 0
    assert slack.delivery.schedule_nudges(now=start + timedelta(hours=5)) == 1
    slack.delivery.deliver_due(now=start + timedelta(hours=5))
    reminder = fake.ok_calls("chat.postMessage")[-1]
    assert reminder.args["thread_ts"]
    assert "Påmindelse" in reminder.args["text"]
    assert slack.delivery.schedule_nudges(now=start + timedelta(hours=6)) == 0  # once
    assert slack.delivery.schedule_nudges(now=start + timedelta(hours=25)) == 1
    slack.delivery.deliver_due(now=start + timedelta(hours=25))
    escalation = fake.ok_calls("chat.postMessage")[-1]
    assert escalation.args["channel"] == "C0BOSS"
    assert "https://fake.slack/" in escalation.args["text"]
    assert store.get(checkpoint.checkpoint_id).status == "open"
    assert store.decision_for(checkpoint.checkpoint_id) is None


def test_membership_is_cached_for_minutes_not_forever(
    fake: SlackFake, slack_settings: SlackSettings
) -> None:
    now = [0.0]
    deciders = Deciders(make_client(slack_settings), slack_settings, clock=lambda: now[0])
    assert deciders.allowed("UJENS")
    fake.members.remove("UJENS")
    now[0] = 60.0
    assert deciders.allowed("UJENS")  # cached
    now[0] = 301.0
    assert not deciders.allowed("UJENS")
    reads = [c for c in fake.calls if c.method == "conversations.members"]
    assert len(reads) == 2


# --- Socket Mode ---------------------------------------------------------------------


class SocketModeFake:
    """Slack's Socket Mode end: a local websocket that sends envelopes and records acks."""

    def __init__(self) -> None:
        self.envelopes: queue.Queue[dict[str, Any]] = queue.Queue()
        self.acks: list[dict[str, Any]] = []
        self.connected = threading.Event()
        self._stop = threading.Event()
        self.server = serve(self._handle, "127.0.0.1", 0)
        self.url = f"ws://127.0.0.1:{self.server.socket.getsockname()[1]}/link/?ticket=t"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def _handle(self, websocket: ServerConnection) -> None:
        hello = {"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A0RPA"}}
        websocket.send(json.dumps(hello))
        self.connected.set()
        while not self._stop.is_set():
            with contextlib.suppress(queue.Empty):
                websocket.send(json.dumps(self.envelopes.get(timeout=0.05)))
            try:
                self.acks.append(json.loads(websocket.recv(timeout=0.05)))
            except TimeoutError:
                pass
            except ConnectionClosed:
                return

    def close(self) -> None:
        """Stop the server."""
        self._stop.set()
        self.server.shutdown()


def test_socket_mode_delivers_a_click_to_the_same_decision_service(
    store: CheckpointStore,
    make_case: CaseFactory,
    rules: ChangeOfAddressRules,
    fake: SlackFake,
) -> None:
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    socket_end = SocketModeFake()
    fake.websocket_url = socket_end.url
    settings = SlackSettings(
        bot_token=SecretStr("xoxb-test"),
        app_token=SecretStr("xapp-test"),
        channel=CHANNEL,
        api_url=fake.api_url,
    )
    client = make_client(settings)
    resumes = Resumes()
    delivery = SlackDelivery(store, client, settings)
    channel = SlackChannel(
        service=DecisionService(store, resumer=resumes),
        delivery=delivery,
        deciders=Deciders(client, settings),
    )
    handler = SocketModeHandler(build_app(settings, channel, client), "xapp-test")
    handler.connect()  # type: ignore[no-untyped-call]
    try:
        assert socket_end.connected.wait(10), "the app did not connect over Socket Mode"
        (opened,) = fake.ok_calls("apps.connections.open")
        assert opened.token == "xapp-test"
        checkpoint = flagged(store, make_case, rules)
        delivery.deliver_due()
        envelope = {
            "envelope_id": "env-approve-1",
            "type": "interactive",
            "accepts_response_payload": False,
            "payload": click("UMETTE", ACTION_APPROVE, checkpoint.checkpoint_id),
        }
        socket_end.envelopes.put(envelope)
        deadline = time.monotonic() + 15
        while store.decision_for(checkpoint.checkpoint_id) is None:
            assert time.monotonic() < deadline, "no decision arrived over Socket Mode"
            time.sleep(0.1)
        decision = store.decision_for(checkpoint.checkpoint_id)
        assert decision is not None
        assert (decision.decided_by, decision.channel) == ("Mette Lund (UMETTE)", "slack")
        while not any(a.get("envelope_id") == "env-approve-1" for a in socket_end.acks):
            assert time.monotonic() < deadline, "the envelope was never acknowledged"
            time.sleep(0.1)
        assert resumes.calls == [checkpoint.checkpoint_id]
    finally:
        handler.close()  # type: ignore[no-untyped-call]
        socket_end.close()


def test_the_app_manifest_asks_for_what_the_app_uses() -> None:
    manifest = yaml.safe_load(
        (Path(__file__).parents[2] / "deploy" / "slack" / "manifest.yaml").read_text()
    )
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    assert {
        "chat:write",
        "channels:history",
        "users:read",
        "usergroups:read",
        "channels:read",
    } <= scopes
    assert manifest["settings"]["interactivity"]["is_enabled"] is True
    assert manifest["settings"]["socket_mode_enabled"] is True


def test_four_eyes_an_edit_waits_for_a_second_different_person(
    store: CheckpointStore,
    make_case: CaseFactory,
    rules: ChangeOfAddressRules,
    fake: SlackFake,
    slack_four_eyes: Slack,
) -> None:
    slack = slack_four_eyes
    checkpoint = flagged(store, make_case, rules)
    slack.delivery.deliver_due()
    values = {"new_address.street": "Gravene", "comment": "Tjekket"}
    signed_post(slack.url, submission("UMETTE", checkpoint.checkpoint_id, values))
    proposed = store.get(checkpoint.checkpoint_id)
    assert proposed.status == "proposed"
    assert proposed.decision is None
    assert proposed.pending_edit is not None
    assert proposed.pending_edit.proposed_by == "Mette Lund (UMETTE)"
    assert slack.resumes.calls == []
    shown = all_text(fake.ok_calls("chat.update")[-1].args)
    assert "Rettelser foreslået af Mette Lund (UMETTE)" in shown
    assert "checkpoint_confirm_edit" in shown

    signed_post(slack.url, click("UMETTE", ACTION_CONFIRM, checkpoint.checkpoint_id))
    (told,) = fake.ok_calls("chat.postEphemeral")
    assert "En anden person" in told.args["text"]
    assert store.get(checkpoint.checkpoint_id).status == "proposed"

    signed_post(slack.url, click("UJENS", ACTION_CONFIRM, checkpoint.checkpoint_id))
    decision = store.decision_for(checkpoint.checkpoint_id)
    assert decision is not None
    assert (decision.kind, decision.decided_by, decision.confirmed_by) == (
        "edit",
        "Mette Lund (UMETTE)",
        "Jens Hansen (UJENS)",
    )
    assert slack.resumes.calls == [checkpoint.checkpoint_id]
    assert "bekræftet af Jens Hansen (UJENS)" in all_text(fake.ok_calls("chat.update")[-1].args)
    kinds = [e.kind for e in store.journal(checkpoint.case_id)]
    assert kinds[-2:] == ["decision.proposed", "decision.recorded"]


def test_the_message_links_the_robot_run_once_it_is_known(
    store: CheckpointStore,
    make_case: CaseFactory,
    rules: ChangeOfAddressRules,
    fake: SlackFake,
    slack_settings: SlackSettings,
) -> None:
    delivery = SlackDelivery(
        store, make_client(slack_settings), slack_settings, links=Links("http://prefect.local")
    )
    checkpoint = flagged(store, make_case, rules)
    delivery.deliver_due()
    (post,) = fake.ok_calls("chat.postMessage")
    assert "http://sager.local/sager/FLY-2026-000123" in all_text(post.args)
    assert "prefect.local" not in all_text(post.args)
    store.attach_run(checkpoint.checkpoint_id, "1b2c")
    store.attach_run(checkpoint.checkpoint_id, "1b2c")  # the same run again: no new update
    assert delivery.deliver_due() == 1
    (update,) = fake.ok_calls("chat.update")
    assert "http://prefect.local/runs/flow-run/1b2c" in all_text(update.args)
