"""`rpa bench`: throughput, latency, CPU and memory of each layer, measured on this machine.

Workloads, from the floor up: `http-floor` (the robot's HTTP requests without a browser),
`playwright-bare` (a hand-written Playwright script doing the same work), `robot` (the
project's robot without Prefect), `flow` (process_inbox through Prefect) and
`checkpoints` (the human-checkpoint machinery at scale); `memory` on request.
See bench/runner.py.
"""
