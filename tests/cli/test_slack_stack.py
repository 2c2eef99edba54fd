"""`rpa up` with Slack settings pointing at the fake: post, signed click, robot, updated message."""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

import pytest

from cli.stack import free_port
from tests import seeds
from tests.cli.test_commands import RPA, rpa, rpa_env, state
from tests.conftest import wait_until
from tests.slack_fake import CHANNEL, SECRET, SlackFake, click, signed_post


@pytest.mark.e2e
def test_up_posts_every_checkpoint_and_a_signed_approve_makes_the_robot_register(
    tmp_path: Path, seed_file: Path
) -> None:
    slack_port = free_port()
    with SlackFake() as fake:
        env = rpa_env(
            tmp_path / "home",
            RPA_SLACK__BOT_TOKEN="xoxb-test",
            RPA_SLACK__SIGNING_SECRET=SECRET,
            RPA_SLACK__MODE="http",
            RPA_SLACK__HTTP_PORT=str(slack_port),
            RPA_SLACK__CHANNEL=CHANNEL,
            RPA_SLACK__API_URL=fake.api_url,
            RPA_SLACK__OUTBOX_INTERVAL_S="0.5",
        )
        sandbox_url = f"http://127.0.0.1:{env['RPA_SANDBOX__PORT']}"
        up = subprocess.Popen(
            [*RPA, "up", "--seed", str(seed_file)],
            env=env,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        try:
            wait_until(lambda: (Path(env["RPA_HOME"]) / "stack.json").exists(), "rpa up")
            result = rpa("run", "change-of-address", env=env, timeout=240)
            assert result.returncode == 0, result.stderr
            listed = json.loads(rpa("checkpoints", "list", "--json", env=env).stdout)
            by_case = {c["case_id"]: c["checkpoint_id"] for c in listed}
            assert sorted(by_case) == sorted(seeds.EXPECTED_REASONS)

            posts = wait_until(
                lambda: (
                    len(fake.ok_calls("chat.postMessage")) == 4
                    and fake.ok_calls("chat.postMessage")
                ),
                "one Slack message per checkpoint",
            )
            posted = {p.args["metadata"]["event_payload"]["checkpoint_id"] for p in posts}
            assert posted == set(by_case.values())

            checkpoint_id = by_case[seeds.REMARKS]
            clicked = signed_post(
                f"http://127.0.0.1:{slack_port}/slack/events",
                click("UJENS", "checkpoint_approve", checkpoint_id),
            )
            assert clicked.status_code == 200
            wait_until(
                lambda: (
                    {n["case_id"]: n["status"] for n in state(sandbox_url)["notifications"]}[
                        seeds.REMARKS
                    ]
                    == "registered"
                ),
                "the robot to register the approved case",
            )
            registration = next(
                r["registration_id"]
                for r in state(sandbox_url)["registrations"]
                if r["case_id"] == seeds.REMARKS
            )

            def final_update() -> bool:
                updates = [
                    json.dumps(u.args, ensure_ascii=False) for u in fake.ok_calls("chat.update")
                ]
                return any(registration in u and "Jens Hansen" in u for u in updates)

            wait_until(final_update, "the message to show who approved and the registration")
            # Still exactly one message per checkpoint, plus the thread reply.
            replies = [p for p in fake.ok_calls("chat.postMessage") if p.args.get("thread_ts")]
            assert len(fake.ok_calls("chat.postMessage")) - len(replies) == 4
            assert any(registration in p.args["text"] for p in replies)
        finally:
            up.send_signal(signal.SIGTERM)
            assert up.wait(60) == 0
