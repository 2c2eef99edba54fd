"""The second process in Slack: its own channel, deciders, header, buttons and modals.

Nothing in the Slack code names a process: the message, the buttons, the edit form and
the reject form all come from the process's declaration.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import uvicorn

from checkpoints.channels.slack.app import Deciders, SlackChannel, build_app
from checkpoints.channels.slack.blocks import (
    ACTION_APPROVE,
    ACTION_EDIT,
    ACTION_REJECT_CASE,
    REJECT_VIEW,
)
from checkpoints.channels.slack.delivery import SlackDelivery, make_client
from checkpoints.channels.slack.serve import http_app
from checkpoints.models import Checkpoint
from checkpoints.service import DecisionService
from checkpoints.store.repository import CheckpointStore
from cli.stack import free_port
from config.settings import SlackSettings
from flows.resident_parking.case import PermitCase
from flows.resident_parking.process import parking
from flows.runtime import proposal_of
from robots.sandbox.permit_models import VehicleRead
from tests.checkpoints.conftest import Resumes
from tests.slack_fake import SECRET, SlackFake, click, signed_post, submission

PARKING_CHANNEL = "C0PARK"
CARL = "0303752345"


def permit_case(**changes: Any) -> PermitCase:
    base: dict[str, Any] = {
        "case_id": "PRK-2026-000003",
        "status": "open",
        "received_at": "2026-11-19T08:00:00+01:00",
        "applicant_cpr": CARL,
        "applicant_name": "Carl Nielsen",
        "plate": "EF 34 567",
        "zone": "A",
        "start_date": "2026-12-01",
        "remarks": "",
        "vehicle": VehicleRead(
            plate="EF34567",
            make="Mercedes-Benz",
            model="Sprinter",
            total_weight_kg="4200",
            owner_cpr=CARL,
            user_cpr=None,
        ),
        "vehicle_looked_up": True,
    }
    return PermitCase.model_validate(base | changes)


def opened(store: CheckpointStore, case: PermitCase) -> Checkpoint:
    reasons = parking.route(case, parking.settings_from({}), "da")
    return store.open_checkpoint(
        case=case,
        reasons=reasons,
        proposal=proposal_of(parking, case, "da"),
        screenshot=None,
        process=parking.name,
        deadline_hours=24,
        target_url="http://sager.local",
        channels=("slack",),
    )


@contextlib.contextmanager
def serving(store: CheckpointStore, settings: SlackSettings) -> Iterator[tuple[str, Any]]:
    client = make_client(settings)
    delivery = SlackDelivery(
        store, client, settings, locale="da", channels={parking.name: PARKING_CHANNEL}
    )
    channel = SlackChannel(
        service=DecisionService(store, resumer=Resumes()),
        delivery=delivery,
        deciders=Deciders(client, settings, groups={parking.name: "S0PARK"}),
    )
    app = build_app(settings, channel, client, process_before_response=True)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(http_app(app, signing_secret=SECRET), host="127.0.0.1", port=port,
                       log_level="warning", log_config=None)
    )  # fmt: skip
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the Slack app did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}/slack/events", delivery
    finally:
        server.should_exit = True
        thread.join(10)


def view_of(fake: SlackFake) -> dict[str, Any]:
    call = fake.ok_calls("views.open")[-1]
    view = call.args["view"]
    return view if isinstance(view, dict) else json.loads(view)  # type: ignore[no-any-return]


def test_a_parking_checkpoint_is_posted_to_its_process_channel_in_its_own_words(
    store: CheckpointStore, fake: SlackFake, slack_settings: SlackSettings
) -> None:
    checkpoint = opened(store, permit_case())
    with serving(store, slack_settings) as (_, delivery):
        assert delivery.deliver_due() == 1
    (post,) = fake.ok_calls("chat.postMessage")
    assert post.args["channel"] == PARKING_CHANNEL
    text = json.dumps(post.args, ensure_ascii=False)
    assert f"Beboerparkering {checkpoint.case_id}: afventer afgørelse" in text
    assert "Nummerplade" in text
    assert "Bilen vejer 4200 kg" in text
    assert CARL not in text
    assert "030375-XXXX" in text
    blocks = post.args["blocks"]
    blocks = blocks if isinstance(blocks, list) else json.loads(blocks)
    actions = next(b for b in blocks if b["type"] == "actions")
    assert [e["action_id"] for e in actions["elements"]] == [
        ACTION_APPROVE,
        ACTION_EDIT,
        "checkpoint_manual",
        ACTION_REJECT_CASE,
    ]  # no "contact the citizen": this process does not take that decision


def test_reject_in_slack_needs_a_reason_and_stores_it(
    store: CheckpointStore, fake: SlackFake, slack_settings: SlackSettings
) -> None:
    checkpoint = opened(store, permit_case())
    fake.group_members["S0PARK"] = ["UMETTE"]
    with serving(store, slack_settings) as (url, _):
        signed_post(url, click("UMETTE", ACTION_REJECT_CASE, checkpoint.checkpoint_id))
        view = view_of(fake)
        assert view["callback_id"] == REJECT_VIEW
        empty = submission("UMETTE", checkpoint.checkpoint_id, {"reason": "  "})
        empty["view"]["callback_id"] = REJECT_VIEW
        answer = signed_post(url, empty).json()
        assert answer["response_action"] == "errors"
        assert "reason" in answer["errors"]
        assert store.decision_for(checkpoint.checkpoint_id) is None

        given = submission("UMETTE", checkpoint.checkpoint_id, {"reason": "Bilen er for tung."})
        given["view"]["callback_id"] = REJECT_VIEW
        assert signed_post(url, given).status_code == 200
    decision = store.decision_for(checkpoint.checkpoint_id)
    assert decision is not None
    assert (decision.kind, decision.comment) == ("reject", "Bilen er for tung.")


def test_the_edit_modal_is_the_process_form_and_validates_with_it(
    store: CheckpointStore, fake: SlackFake, slack_settings: SlackSettings
) -> None:
    checkpoint = opened(store, permit_case())
    fake.group_members["S0PARK"] = ["UMETTE"]
    with serving(store, slack_settings) as (url, _):
        signed_post(url, click("UMETTE", ACTION_EDIT, checkpoint.checkpoint_id))
        initial = {
            b["block_id"]: b["element"].get("initial_value") for b in view_of(fake)["blocks"]
        }
        assert initial == {"plate": "EF 34 567", "zone": "A", "start_date": "2026-12-01",
                           "comment": None}  # fmt: skip
        bad = signed_post(url, submission("UMETTE", checkpoint.checkpoint_id, {"zone": "AB"}))
        assert list(bad.json()["errors"]) == ["zone"]
        ok = submission("UMETTE", checkpoint.checkpoint_id, {"zone": "B", "plate": "EF 34 567"})
        assert signed_post(url, ok).status_code == 200
    decision = store.decision_for(checkpoint.checkpoint_id)
    assert decision is not None
    assert decision.kind == "edit"
    assert [(c.field, c.after) for c in decision.changes] == [("zone", "B")]
    assert decision.values == {"plate": "EF34567", "zone": "B", "start_date": "2026-12-01"}


def test_only_the_process_deciders_may_decide_its_cases(
    store: CheckpointStore, fake: SlackFake, slack_settings: SlackSettings
) -> None:
    checkpoint = opened(store, permit_case())
    fake.group_members["S0PARK"] = ["UMETTE"]  # Jens decides moves, not parking
    with serving(store, slack_settings) as (url, _):
        signed_post(url, click("UJENS", ACTION_APPROVE, checkpoint.checkpoint_id))
        assert store.decision_for(checkpoint.checkpoint_id) is None
        signed_post(url, click("UMETTE", ACTION_APPROVE, checkpoint.checkpoint_id))
    decision = store.decision_for(checkpoint.checkpoint_id)
    assert decision is not None
    assert decision.kind == "approve"
    journal = store.journal(parking.journal_key(checkpoint.case_id))
    assert [e.kind for e in journal if e.kind == "decision.refused"] == ["decision.refused"]
