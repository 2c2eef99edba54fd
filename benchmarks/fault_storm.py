"""A batch of cases through a storm of faults and kills: the promise, counted.

Real parts only: a local Prefect server, the served deployments in their own process, the
sandbox (with its fault hooks on), headless Chromium and the checkpoint store under a
temporary RPA_HOME. Rounds of batch runs, each in its own process, against a case system
that answers a share of requests with 500, 429, 404, 403 and maintenance pages; some
batches are killed with SIGKILL at a random moment. Then the faults stop, a last batch
runs, reconcile starts what has no live run, and a person decides every checkpoint
(approve where the case can be registered, else manual handling). Printed: the totals
the promise is about.

    .venv/bin/python benchmarks/fault_storm.py --cases 60 --rounds 4
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cli.stack import Stack, apply_env, prefect_env
from config.settings import get_settings
from sandbox import generate_sample

ROOT = Path(__file__).resolve().parents[1]

FAULTS = [
    {"path_prefix": "/", "status": 500, "rate": 0.03},
    {"path_prefix": "/", "status": 429, "rate": 0.015},
    {"path_prefix": "/sager", "method": "GET", "status": 404, "rate": 0.02},
    {"path_prefix": "/cpr", "method": "GET", "kind": "maintenance", "rate": 0.02},
    {"path_prefix": "/adresseregister", "method": "GET", "status": 403, "rate": 0.02},
]
ACTIVE = ("open", "proposed", "decided", "failed")


def main() -> None:
    """Run the storm and print its totals."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=4, help="batch runs under faults")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    started = time.monotonic()

    workdir = Path(tempfile.mkdtemp(prefix="rpa-storm-"))
    seed_file = workdir / "seed.json"
    seed = generate_sample(args.cases, seed=args.seed)
    seed_file.write_text(json.dumps(seed, ensure_ascii=False))
    os.environ |= {
        "RPA_HOME": str(workdir / "home"),
        "RPA_SANDBOX__TEST_HOOKS": "true",
        "RPA_SANDBOX__STATE_API": "true",
        "RPA_RETRY_DELAYS_S": "[0.5, 1.0]",
    }
    get_settings.cache_clear()
    settings = get_settings()
    with Stack(settings) as stack:
        url = stack.start_sandbox(seed_file, None)
        api_url = stack.start_prefect()
        apply_env(prefect_env(settings, api_url))
        stack.start_runner(url)
        from checkpoints.service import DecisionError, DecisionService
        from checkpoints.store.repository import AlreadyDecided
        from flows.common import open_store
        from flows.resume import areconcile, resumer

        client = httpx.Client(base_url=url, timeout=30)
        for n, fault in enumerate(FAULTS):
            client.post("/api/test/faults", json=fault | {"seed": args.seed + n}).raise_for_status()
        killed = 0
        for round_no in range(1, args.rounds + 1):
            kill_after = rng.uniform(4, 25) if rng.random() < 0.75 else None
            code = _batch(url, kill_after)
            killed += code == -signal.SIGKILL
            print(f"round {round_no}: batch {'killed' if code < 0 else f'exit {code}'}")
        injected = sum(f["injected"] for f in client.get("/api/test/faults").json()["faults"])
        client.delete("/api/test/faults").raise_for_status()
        print(f"faults injected: {injected}; batches killed: {killed}")
        assert _batch(url, None) == 0, "the last batch, without faults, failed"

        store = open_store(settings)
        service = DecisionService(store, resumer=resumer(store, wait_s=30))
        decided = 0
        deadline = time.monotonic() + 900
        while time.monotonic() < deadline:
            asyncio.run(areconcile(store, grace_s=0))
            waiting = [c for c in store.all("open") if c.flow_run_id]
            for checkpoint in waiting:
                kind: Any = "approve" if _approvable(checkpoint) else "manual"
                try:
                    service.decide(
                        checkpoint.checkpoint_id, kind=kind, decided_by="Storm", channel="cli"
                    )
                except (AlreadyDecided, DecisionError):
                    service.decide(
                        checkpoint.checkpoint_id, kind="manual", decided_by="Storm", channel="cli"
                    )
                decided += 1
            if not [c for c in store.all() if c.status in ACTIVE]:
                break
            time.sleep(2)
        totals = _totals(client, store, seed, decided)
        store.close()
    totals["wall_seconds"] = round(time.monotonic() - started, 1)
    totals |= {"faults_injected": injected, "batches_killed": killed}
    print(json.dumps(totals, indent=2))


# What a caseworker might approve as read; the register's objections go to manual handling.
_APPROVABLE = {
    "remarks.present",
    "movers.many",
    "date.far_ahead",
    "date.long_ago",
    "address.crowded",
    "case.duplicate",
    "system.failed",
    "case.changed",
}


def _approvable(checkpoint: Any) -> bool:
    reasons = {r.rule_id for r in checkpoint.reasons}
    return checkpoint.case.notification is not None and reasons <= _APPROVABLE


def _batch(url: str, kill_after: float | None) -> int:
    """One batch in its own process; SIGKILLed after `kill_after` seconds when given."""
    code = (
        "import asyncio\n"
        "from flows.change_of_address import process_inbox\n"
        f"asyncio.run(process_inbox(target_url={url!r}, concurrency=2))\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        return process.wait(timeout=kill_after)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGKILL)
        return process.wait()


def _totals(client: httpx.Client, store: Any, seed: dict[str, Any], decided: int) -> dict[str, Any]:
    state = client.get("/api/state").json()
    statuses = {n["case_id"]: n["status"] for n in state["notifications"]}
    per_mover = Counter((r["case_id"], r["cpr"]) for r in state["registrations"])
    checkpoints = store.all()
    active = [c for c in checkpoints if c.status in ACTIVE]
    # Lost: still open in the case system with no checkpoint, or in progress with none.
    held = {c.case_id for c in active}
    lost = [
        case_id
        for case_id, status in statuses.items()
        if status in ("open", "in_progress") and case_id not in held
    ]
    applied = [c for c in checkpoints if c.status == "applied"]
    decisions = [c for c in checkpoints if c.decision is not None]
    _, breaks = store.verify_journals()
    return {
        "cases": len(seed["notifications"]),
        "registered_by_robot_or_decision": sum(1 for s in statuses.values() if s == "registered"),
        "closed_by_a_person's_decision": sum(
            1 for s in statuses.values() if s in ("manual", "awaiting_citizen")
        ),
        "lost": len(lost),
        "registered_twice": sum(1 for n in per_mover.values() if n > 1),
        "decisions_made": decided,
        "decisions_carried_out": len(applied),
        "decisions_superseded_and_decided_again": sum(
            1 for c in decisions if c.status == "superseded"
        ),
        "decisions_not_carried_out": sum(1 for c in decisions if c.status in ACTIVE),
        "checkpoints_still_waiting": len(active),
        "journals_unfinished": len(store.unfinished()),
        "journal_chain_breaks": len(breaks),
    }


if __name__ == "__main__":
    main()
