"""The Slack HTTP endpoint under bad requests: never a 500, never a traceback in the log."""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
import pytest

from checkpoints.channels.slack.blocks import (
    ACTION_APPROVE,
    ACTION_CONFIRM,
    ACTION_EDIT,
)
from checkpoints.channels.slack.endpoint import MAX_BODY
from checkpoints.store.repository import CheckpointStore
from config.rules import ChangeOfAddressRules
from config.settings import SlackSettings
from tests.checkpoints.conftest import CaseFactory
from tests.checkpoints.test_slack import Slack, flagged, serving
from tests.conftest import wait_until
from tests.slack_fake import (
    SlackFake,
    click,
    signed_body,
    signed_post,
    submission,
)

UNKNOWN = "cp-does-not-exist"


@pytest.fixture(params=[True, False], ids=["ack-after", "ack-first"])
def slack(
    request: pytest.FixtureRequest, store: CheckpointStore, slack_settings: SlackSettings
) -> Iterator[Slack]:
    """The Bolt app over HTTP, answering after its handler or (as in production) at once."""
    with serving(
        store, slack_settings, four_eyes=False, process_before_response=request.param
    ) as running:
        yield running


def no_tracebacks(caplog: pytest.LogCaptureFixture) -> None:
    """No log record carries a traceback, and none is an error."""
    assert [r.getMessage() for r in caplog.records if r.exc_info or r.exc_text] == []
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


def asked(fake: SlackFake) -> list[str]:
    """What was asked of Slack besides Bolt's own token check."""
    return [c.method for c in fake.calls if c.method != "auth.test"]


def _form(payload: Any) -> str:
    return urlencode({"payload": json.dumps(payload)})


def _click_with(**changes: Any) -> Callable[[], str]:
    def build() -> str:
        payload = click("UJENS", ACTION_APPROVE, "cp-1") | changes
        return _form(payload)

    return build


def _action_with(**changes: Any) -> Callable[[], str]:
    def build() -> str:
        payload = click("UJENS", ACTION_APPROVE, "cp-1")
        payload["actions"] = [payload["actions"][0] | changes]
        return _form(payload)

    return build


def _view_with(**changes: Any) -> Callable[[], str]:
    def build() -> str:
        payload = submission("UJENS", "cp-1", {"new_address.street": "Gravene"})
        payload["view"] = {k: v for k, v in (payload["view"] | changes).items() if v is not None}
        return _form(payload)

    return build


MALFORMED: dict[str, Callable[[], str]] = {
    "payload is not JSON": lambda: "payload=%7Bnot+json",
    "payload is a JSON list": lambda: _form([1, 2]),
    "JSON body that is a number": lambda: JSON_NUMBER,
    "no actions": _click_with(actions=None),
    "actions is empty": _click_with(actions=[]),
    "actions is a string": _click_with(actions="approve"),
    "unknown action id": _action_with(action_id="checkpoint_delete_everything"),
    "value of the wrong type": _action_with(value=42),
    "no user": _click_with(user=None),
    "user is a string": _click_with(user="UJENS"),
    "team is a number": _click_with(team=5),
    "channel is a string": _click_with(channel="C0CHECK"),
    "edit without trigger id": lambda: _form(
        click("UJENS", ACTION_EDIT, "cp-1") | {"trigger_id": None}
    ),
    "unsupported type": _click_with(type="shortcut"),
    "view without private_metadata": _view_with(private_metadata=None),
    "view with unknown callback id": _view_with(callback_id="someone_elses_view"),
    "view values of the wrong type": _view_with(
        state={"values": {"new_address.street": {"value": {"value": 7}}}}
    ),
    "view state is a list": _view_with(state=[]),
}
JSON_NUMBER = "5"


@pytest.mark.parametrize("name", list(MALFORMED))
def test_a_signed_malformed_payload_gets_a_short_400_and_no_traceback(
    name: str, slack: Slack, fake: SlackFake, caplog: pytest.LogCaptureFixture
) -> None:
    body = MALFORMED[name]()
    caplog.set_level(logging.INFO)
    content_type = (
        "application/json" if body == JSON_NUMBER else "application/x-www-form-urlencoded"
    )
    response = signed_body(slack.url, body, content_type=content_type)
    assert response.status_code == 400, response.text
    assert 0 < len(response.text) < 100
    assert "Traceback" not in response.text
    assert asked(fake) == []  # no handler ran
    no_tracebacks(caplog)


def test_a_body_that_is_not_utf8_is_refused_as_unsigned(
    slack: Slack, fake: SlackFake, caplog: pytest.LogCaptureFixture
) -> None:
    # Slack signs UTF-8 text; bytes that are not cannot carry its signature.
    caplog.set_level(logging.INFO)
    response = signed_body(slack.url, b"payload=\xff\xfe")
    assert response.status_code == 401
    assert asked(fake) == []
    no_tracebacks(caplog)


def test_an_unsigned_body_that_is_not_json_is_refused_401_not_500(
    slack: Slack, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    for body in ("payload=%7Bnot+json", "{not json", "payload=%5B1%5D"):
        response = httpx.post(
            slack.url,
            content=body,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert response.status_code == 401, body
    no_tracebacks(caplog)


def test_an_oversized_body_is_refused_413_before_it_is_read(
    slack: Slack, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    # Thirty megabytes announced, a few bytes sent: the answer comes without the rest.
    address = urlsplit(slack.url)
    assert address.hostname is not None
    assert address.port is not None
    with socket.create_connection((address.hostname, address.port), timeout=10) as conn:
        conn.sendall(
            b"POST /slack/events HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\n"
            b"Content-Length: 30000000\r\n\r\npayload="
        )
        answer = conn.recv(4096).decode()
    assert answer.startswith("HTTP/1.1 413"), answer
    no_tracebacks(caplog)


def test_an_oversized_chunked_body_is_cut_off_at_the_cap(
    slack: Slack, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)

    def chunks() -> Iterator[bytes]:
        yield b"payload="
        for _ in range(MAX_BODY // 65536 + 2):
            yield b"x" * 65536

    # No Content-Length (chunked): the cap on what is actually read stops it.
    big = httpx.post(
        slack.url,
        content=chunks(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        timeout=30,
    )
    assert big.status_code == 413
    no_tracebacks(caplog)


@pytest.mark.parametrize("action_id", [ACTION_APPROVE, ACTION_EDIT, ACTION_CONFIRM])
def test_a_click_on_an_unknown_checkpoint_gets_a_short_private_answer(
    action_id: str, slack: Slack, fake: SlackFake, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    response = signed_post(slack.url, click("UJENS", action_id, UNKNOWN))
    assert response.status_code == 200
    told = wait_until(lambda: fake.ok_calls("chat.postEphemeral"), "a private answer", 10)
    assert told[0].args["user"] == "UJENS"
    assert told[0].args["text"] == "Sagen findes ikke (længere) hos robotten. Intet blev ændret."
    assert fake.ok_calls("views.open") == []
    no_tracebacks(caplog)


def test_an_edit_submitted_for_an_unknown_checkpoint_gets_a_short_error_on_the_form(
    slack: Slack, fake: SlackFake, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    values = {"new_address.street": "Gravene", "comment": "ok"}
    response = signed_post(slack.url, submission("UJENS", UNKNOWN, values))
    assert response.status_code == 200
    assert response.json() == {
        "response_action": "errors",
        "errors": {
            "new_address.street": "Sagen findes ikke (længere) hos robotten. Intet blev ændret."
        },
    }
    no_tracebacks(caplog)


def test_well_formed_requests_still_work_after_the_checks(
    store: CheckpointStore,
    make_case: CaseFactory,
    rules: ChangeOfAddressRules,
    slack: Slack,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    checkpoint = flagged(store, make_case, rules)
    slack.delivery.deliver_due()
    values = {"new_address.street": "Gravene"}
    accepted = signed_post(slack.url, submission("UMETTE", checkpoint.checkpoint_id, values))
    assert accepted.status_code == 200
    decision = store.decision_for(checkpoint.checkpoint_id)
    assert decision is not None
    assert decision.kind == "edit"
    no_tracebacks(caplog)
