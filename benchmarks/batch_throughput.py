"""Batch wall time and cases per second of process_inbox, at several concurrencies.

Real parts only: a local Prefect server, the sandbox in its own process (seeded
afresh for every concurrency, so every run sees the same batch), headless Chromium.

    .venv/bin/python benchmarks/batch_throughput.py --cases 40 --concurrency 1 4
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cli.stack import Stack, apply_env, free_port, prefect_env
from config.settings import Settings, get_settings
from sandbox import generate_sample


def main() -> None:
    """Run the benchmark and print one line of figures per concurrency."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=40)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="rpa-bench-"))
    seed = workdir / "seed.json"
    seed.write_text(json.dumps(generate_sample(args.cases), ensure_ascii=False))
    os.environ["RPA_HOME"] = str(workdir / "home")
    get_settings.cache_clear()
    settings: Settings = get_settings()
    with Stack(settings) as stack:
        api_url = stack.start_prefect()
        apply_env(prefect_env(settings, api_url))
        from flows.change_of_address import process_inbox

        print(f"cases={args.cases} browser={settings.browser.executable_path or 'auto'}")
        print(
            "concurrency  wall_s  cases_per_s  robot_s_median  robot_s_p95  "
            "registered  set_aside  failed"
        )
        for concurrency in args.concurrency:
            for _ in range(args.repeat):
                port = free_port()
                sandbox = subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "cli.main",
                        "sandbox",
                        "serve",
                        "--seed",
                        str(seed),
                        "--port",
                        str(port),
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                try:
                    url = f"http://127.0.0.1:{port}"
                    _wait(f"{url}/api/health")
                    started = time.monotonic()
                    summary = asyncio.run(process_inbox(target_url=url, concurrency=concurrency))
                    wall = time.monotonic() - started
                finally:
                    sandbox.terminate()
                    sandbox.wait(10)
                robot = sorted(o.robot_seconds for o in summary.outcomes if o.robot_seconds)
                p95 = robot[int(0.95 * (len(robot) - 1))] if robot else 0.0
                print(
                    f"{concurrency:>11}  {wall:6.1f}  {summary.total / wall:11.2f}  "
                    f"{statistics.median(robot) if robot else 0:14.2f}  {p95:11.2f}  "
                    f"{summary.count('registered'):>10}  {summary.count('set_aside'):>9}  "
                    f"{summary.count('failed'):>6}",
                    flush=True,
                )


def _wait(url: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise SystemExit(f"{url} did not answer")


if __name__ == "__main__":
    main()
