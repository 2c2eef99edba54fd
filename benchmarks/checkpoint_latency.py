"""Time from a recorded decision to the robot having carried it out, per checkpoint.

Real parts only: a local Prefect server, the served deployments in their own process
(as `rpa up` runs them), the sandbox, headless Chromium, the checkpoint store
(SQLite under a temporary RPA_HOME, or RPA_DATABASE_URL). One batch sets cases aside;
then each checkpoint is decided through the decision service, one after the other,
and timed until the store says `applied`.

With `--via slack` each decision is a correctly signed button click into the real Bolt
app (HTTP mode) instead, with the Slack Web API faked locally (tests/slack_fake.py):
the time is then from the click to the robot having finished.

    .venv/bin/python benchmarks/checkpoint_latency.py --cases 60 --checkpoints 20
    .venv/bin/python benchmarks/checkpoint_latency.py --cases 60 --checkpoints 20 --via slack
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import uvicorn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from checkpoints.models import Checkpoint, DecisionKind
from cli.stack import Stack, apply_env, free_port, prefect_env
from config.settings import Settings, get_settings
from sandbox import generate_sample


def main() -> None:
    """Run the benchmark and print one line per checkpoint, then the summary."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=60, help="cases in the sample batch")
    parser.add_argument("--checkpoints", type=int, default=20, help="checkpoints to decide")
    parser.add_argument("--via", choices=["cli", "slack"], default="cli", help="how to decide")
    args = parser.parse_args()
    fake = None
    if args.via == "slack":
        from tests.slack_fake import CHANNEL, SECRET, SlackFake

        fake = SlackFake().__enter__()
        os.environ |= {
            "RPA_SLACK__BOT_TOKEN": "xoxb-bench",
            "RPA_SLACK__SIGNING_SECRET": SECRET,
            "RPA_SLACK__MODE": "http",
            "RPA_SLACK__HTTP_PORT": str(free_port()),
            "RPA_SLACK__CHANNEL": CHANNEL,
            "RPA_SLACK__API_URL": fake.api_url,
            "RPA_SLACK__OUTBOX_INTERVAL_S": "0.5",
        }

    workdir = Path(tempfile.mkdtemp(prefix="rpa-bench-"))
    seed = workdir / "seed.json"
    seed.write_text(json.dumps(generate_sample(args.cases), ensure_ascii=False))
    os.environ["RPA_HOME"] = str(workdir / "home")
    get_settings.cache_clear()
    settings: Settings = get_settings()
    with Stack(settings) as stack:
        sandbox_url = stack.start_sandbox(seed, None)
        api_url = stack.start_prefect()
        apply_env(prefect_env(settings, api_url))
        stack.start_runner(sandbox_url)
        from checkpoints.service import DecisionService
        from flows.change_of_address import process_inbox
        from flows.common import open_store
        from flows.resume import resumer

        summary = asyncio.run(process_inbox(target_url=sandbox_url))
        print(f"batch: {summary.headline()}", flush=True)
        store = open_store(settings)
        waiting = store.all("open")[: args.checkpoints]
        if len(waiting) < args.checkpoints:
            print(f"only {len(waiting)} checkpoints to decide", flush=True)
        _wait_all_paused(waiting)
        service = DecisionService(store, resumer=resumer(store, wait_s=30))
        click = _slack(settings, api_url, stack) if args.via == "slack" else None
        print("checkpoint     case             decision         decide_s  to_done_s  result")
        latencies = []
        for n, checkpoint in enumerate(waiting):
            kind = _decision_for(checkpoint, n)
            started = time.monotonic()
            if click is None:
                service.decide(
                    checkpoint.checkpoint_id, kind=kind, decided_by="bench", channel="cli"
                )
            else:
                click(checkpoint.checkpoint_id, kind)
            decided = time.monotonic() - started
            status = _wait_done(store, checkpoint.checkpoint_id)
            total = time.monotonic() - started
            latencies.append(total)
            print(
                f"{checkpoint.checkpoint_id}  {checkpoint.case_id:15}  {kind:15}  "
                f"{decided:8.2f}  {total:9.2f}  {status}",
                flush=True,
            )
        if latencies:
            print(
                f"{'click' if click else 'decide'} -> robot done over "
                f"{len(latencies)} checkpoints: "
                f"median {statistics.median(latencies):.1f} s, "
                f"worst {max(latencies):.1f} s, best {min(latencies):.1f} s"
            )
        store.close()


def _slack(settings: Settings, api_url: str, stack: Stack) -> Any:
    """Start the Slack channel in HTTP mode here; return a function that clicks a button."""
    from checkpoints.channels.slack.serve import assemble, http_app, outbox_loop
    from flows.resume import resumer
    from tests.slack_fake import SECRET, click, signed_post

    runtime = assemble(
        settings,
        resumer=lambda store: resumer(store, wait_s=30),
        prefect_ui_url=api_url.removesuffix("/api"),
    )
    stop = threading.Event()
    threading.Thread(target=outbox_loop, args=(runtime, 0.5, stop), daemon=True).start()
    server = uvicorn.Server(
        uvicorn.Config(
            http_app(runtime.app, signing_secret=SECRET),
            host="127.0.0.1",
            port=settings.slack.http_port,
            log_level="warning",
        )
    )
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    url = f"http://127.0.0.1:{settings.slack.http_port}/slack/events"
    actions = {
        "approve": "checkpoint_approve",
        "manual": "checkpoint_manual",
        "contact_citizen": "checkpoint_contact_citizen",
    }

    def press(checkpoint_id: str, kind: str) -> None:
        while runtime.delivery.outbox.posted(checkpoint_id) is None:
            time.sleep(0.1)  # a caseworker can only click a posted message
        response = signed_post(url, click("UJENS", actions[kind], checkpoint_id))
        response.raise_for_status()

    return press


def _decision_for(checkpoint: Checkpoint, n: int) -> DecisionKind:
    """Approve what the robot can register, spread the other decisions over the rest."""
    reasons = {r.rule_id for r in checkpoint.reasons}
    can_register = checkpoint.proposal.action == "register_move" and not reasons & {
        "address.unknown",
        "cpr.unknown",
    }
    if can_register and n % 3 != 2:
        return "approve"
    return "manual" if n % 2 else "contact_citizen"


def _wait_all_paused(checkpoints: list[Checkpoint]) -> None:
    from uuid import UUID

    from prefect import get_client

    deadline = time.monotonic() + 300
    with get_client(sync_client=True) as client:
        for checkpoint in checkpoints:
            while True:
                fresh = checkpoint.flow_run_id
                if fresh:
                    state = client.read_flow_run(UUID(fresh)).state
                    if state is not None and state.is_paused():
                        break
                if time.monotonic() > deadline:
                    raise SystemExit(f"{checkpoint.checkpoint_id} never started waiting")
                time.sleep(0.5)


def _wait_done(store: object, checkpoint_id: str) -> str:
    from checkpoints.store.repository import CheckpointStore

    assert isinstance(store, CheckpointStore)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        status = store.get(checkpoint_id).status
        if status in ("applied", "failed", "superseded"):
            return status
        time.sleep(0.1)
    return "timeout"


if __name__ == "__main__":
    main()
