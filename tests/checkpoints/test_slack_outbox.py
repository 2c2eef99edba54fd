"""The Slack outbox sends each entry exactly once: replicas, clicks and loops at the same time."""

from __future__ import annotations

import contextlib
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from checkpoints.channels.slack.blocks import ACTION_APPROVE
from checkpoints.channels.slack.delivery import SlackDelivery, make_client
from checkpoints.models import Checkpoint
from checkpoints.store import outbox
from checkpoints.store.repository import CheckpointStore
from config.rules import ChangeOfAddressRules
from config.settings import SlackSettings
from tests.checkpoints.conftest import CaseFactory
from tests.checkpoints.test_slack import Slack, flagged, serving
from tests.conftest import wait_until
from tests.slack_fake import CHANNEL, DROP, SlackFake, click, signed_post

BOSS = "C0BOSS"


@pytest.fixture
def stores(store_url: str) -> Iterator[Callable[[], CheckpointStore]]:
    """Open the one database as often as asked, each with its own engine (like a process)."""
    opened: list[CheckpointStore] = []

    def open_store() -> CheckpointStore:
        opened.append(CheckpointStore.connect(store_url))
        return opened[-1]

    yield open_store
    for store in opened:
        store.close()


def payload(message: dict[str, Any]) -> dict[str, Any]:
    """The outbox's metadata on a posted message."""
    return dict((message.get("metadata") or {}).get("event_payload") or {})


def in_parallel(*work: Callable[[], object]) -> None:
    """Run the functions at once (released together by a barrier); re-raise any failure."""
    barrier = threading.Barrier(len(work))
    errors: list[BaseException] = []

    def run(fn: Callable[[], object]) -> None:
        barrier.wait()
        try:
            fn()
        except BaseException as exc:  # re-raised below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(fn,)) for fn in work]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]


@contextlib.contextmanager
def draining(*deliveries: SlackDelivery, threads_each: int = 2) -> Iterator[None]:
    """Outbox loops, several per replica, draining as fast as they can until the block ends."""
    stop = threading.Event()
    failures: list[BaseException] = []

    def loop(delivery: SlackDelivery) -> None:
        while not stop.is_set():
            try:
                delivery.deliver_due()
            except BaseException as exc:  # reported by the test, not lost in a thread
                failures.append(exc)
                return
            stop.wait(0.005)

    threads = [
        threading.Thread(target=loop, args=(d,)) for d in deliveries for _ in range(threads_each)
    ]
    for thread in threads:
        thread.start()
    try:
        yield
    finally:
        stop.set()
        for thread in threads:
            thread.join(30)
    assert failures == []


def test_claims_on_due_entries_never_overlap(
    stores: Callable[[], CheckpointStore],
    make_case: CaseFactory,
    rules: ChangeOfAddressRules,
) -> None:
    store = stores()
    for n in range(20):
        flagged(store, make_case, rules, case_id=f"FLY-2026-{n:06d}")
    outboxes = [stores().outbox("slack") for _ in range(6)]
    claims: list[list[outbox.DuePost]] = [[] for _ in outboxes]

    def claim(i: int) -> Callable[[], None]:
        return lambda: claims[i].extend(outboxes[i].claim_due(f"sender-{i}", limit=20))

    in_parallel(*(claim(i) for i in range(len(outboxes))))
    ids = [post.id for batch in claims for post in batch]
    assert len(ids) == 20
    assert len(set(ids)) == 20  # each entry went to exactly one sender
    assert all(post.attempts == 0 for batch in claims for post in batch)
    assert outboxes[0].claim_due("late") == []  # all held by their leases


def test_two_replicas_loops_and_clicks_send_every_message_exactly_once(
    stores: Callable[[], CheckpointStore],
    make_case: CaseFactory,
    rules: ChangeOfAddressRules,
    fake: SlackFake,
    slack_settings: SlackSettings,
) -> None:
    creator = stores()
    checkpoints = [
        flagged(creator, make_case, rules, case_id=f"FLY-2026-{n:06d}") for n in range(6)
    ]
    pending = creator.outbox("slack").pending_count
    with (
        serving(stores(), slack_settings, four_eyes=False) as a,
        serving(stores(), slack_settings, four_eyes=False) as b,
        draining(a.delivery, b.delivery),
    ):
        wait_until(lambda: pending() == 0, "every checkpoint posted", 60)

        # Both replicas find the same checkpoints overdue at the same moment.
        later = max(c.created_at for c in checkpoints) + timedelta(hours=25)
        queued: list[int] = []

        def nudge(delivery: SlackDelivery) -> Callable[[], None]:
            return lambda: queued.append(delivery.schedule_nudges(now=later))

        in_parallel(*(nudge(d) for d in (a.delivery, b.delivery, a.delivery, b.delivery)))
        assert sum(queued) == 2 * len(checkpoints)  # one reminder, one escalation each
        wait_until(lambda: pending() == 0, "every reminder and escalation sent", 60)

        # Two people click Approve on each message at once, through different replicas;
        # each click handler drains the outbox too, while the loops do.
        in_parallel(
            *(click_on(s, u, c) for c in checkpoints for s, u in ((a, "UJENS"), (b, "UMETTE")))
        )
        wait_until(lambda: pending() == 0, "every decision shown", 60)

        for c in checkpoints:
            creator.finish(
                c.checkpoint_id,
                status="applied",
                kind="robot.registered",
                data={"registrations": [f"REG-{c.case_id}"]},
                outcome={"action": "registered", "registrations": [f"REG-{c.case_id}"]},
            )
        wait_until(lambda: pending() == 0, "every outcome shown", 60)

    posts = fake.posts()
    by_kind = Counter((payload(m)["checkpoint_id"], payload(m)["kind"]) for m in posts)
    for c in checkpoints:
        for kind in (outbox.POST, outbox.REMINDER, outbox.ESCALATION, outbox.OUTCOME):
            assert by_kind[(c.checkpoint_id, kind)] == 1, (c.case_id, kind)
    assert len(posts) == 4 * len(checkpoints)
    tops = {
        payload(m)["checkpoint_id"]: m["ts"] for m in posts if payload(m)["kind"] == outbox.POST
    }
    updates = Counter(call.args["ts"] for call in fake.ok_calls("chat.update"))
    # One update for the decision, one for the outcome: per message, no more.
    assert {tops[c.checkpoint_id]: 2 for c in checkpoints} == dict(updates)
    assert len(fake.ok_calls("chat.postEphemeral")) == len(checkpoints)  # the later clicker
    assert creator.outbox("slack").pending_count() == 0


def click_on(slack: Slack, user: str, checkpoint: Checkpoint) -> Callable[[], None]:
    """A signed Approve click by `user` through one replica."""

    def press() -> None:
        response = signed_post(slack.url, click(user, ACTION_APPROVE, checkpoint.checkpoint_id))
        assert response.status_code == 200

    return press


@pytest.mark.parametrize("failure", [DROP, 500])
def test_a_post_slack_took_before_the_error_is_not_posted_twice(
    failure: int,
    stores: Callable[[], CheckpointStore],
    make_case: CaseFactory,
    rules: ChangeOfAddressRules,
    fake: SlackFake,
    slack_settings: SlackSettings,
) -> None:
    store = stores()
    delivery = SlackDelivery(store, make_client(slack_settings), slack_settings)
    checkpoint = flagged(store, make_case, rules)
    fake.fail_next("chat.postMessage", failure, after_effect=True)
    assert delivery.deliver_due() == 0
    assert len(fake.posts()) == 1  # it went through, though the sender saw an error
    later = datetime.now(UTC) + timedelta(minutes=10)
    assert delivery.deliver_due(now=later) == 1
    assert len(fake.posts()) == 1
    ts = fake.posts()[0]["ts"]
    assert store.outbox("slack").posted(checkpoint.checkpoint_id) == {
        "channel": CHANNEL,
        "ts": ts,
        "permalink": f"https://fake.slack/{CHANNEL}/{ts}",  # linked on the run (flows/)
    }

    # The same for a reminder in the thread and for the escalation.
    start = checkpoint.created_at
    assert delivery.schedule_nudges(now=start + timedelta(hours=25)) == 2
    fake.fail_next("chat.postMessage", failure, times=2, after_effect=True)
    assert delivery.deliver_due(now=later) == 0
    assert len(fake.posts()) == 3
    assert delivery.deliver_due(now=later + timedelta(minutes=10)) == 2
    kinds = Counter(payload(m)["kind"] for m in fake.posts())
    assert kinds == {outbox.POST: 1, outbox.REMINDER: 1, outbox.ESCALATION: 1}


def test_a_sender_that_dies_mid_send_leaves_the_entry_to_another_once_its_lease_ends(
    stores: Callable[[], CheckpointStore],
    make_case: CaseFactory,
    rules: ChangeOfAddressRules,
    fake: SlackFake,
    slack_settings: SlackSettings,
) -> None:
    dead = SlackDelivery(stores(), make_client(slack_settings), slack_settings)
    alive = SlackDelivery(stores(), make_client(slack_settings), slack_settings)
    posted = flagged(dead.store, make_case, rules, case_id="FLY-2026-000001")
    unsent = flagged(dead.store, make_case, rules, case_id="FLY-2026-000002")
    now = datetime.now(UTC) + timedelta(seconds=1)
    first, second = dead.outbox.claim_due(dead.owner, now)
    assert (first.checkpoint_id, second.checkpoint_id) == (
        posted.checkpoint_id,
        unsent.checkpoint_id,
    )
    dead.send(first)  # posted, then the process died before it could mark it sent
    assert len(fake.posts()) == 1

    assert alive.deliver_due(now=now + timedelta(minutes=1)) == 0  # still under lease
    after_lease = now + outbox.LEASE + timedelta(seconds=1)
    assert alive.deliver_due(now=after_lease) == 2
    posts = Counter(payload(m)["checkpoint_id"] for m in fake.posts())
    assert posts == {posted.checkpoint_id: 1, unsent.checkpoint_id: 1}
    assert len(fake.ok_calls("conversations.history")) == 2  # it looked before each
