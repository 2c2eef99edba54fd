"""The `rpa bench` command (registered in cli/main.py): options in, bench.runner out."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from bench.options import (
    MEMORY_WORKLOADS,
    ON_REQUEST,
    SAMPLES,
    WORKLOADS,
    Options,
    parse_ints,
    parse_list,
)
from cli.common import fail


def bench(
    cases: Annotated[
        int, typer.Option(min=1, help="Cases in the seeded sandbox (each workload's).")
    ] = 500,
    concurrency: Annotated[
        str, typer.Option(help="Lanes to measure each workload at: a comma list, e.g. 1,2,4,8.")
    ] = "1,4",
    only: Annotated[
        str,
        typer.Option(
            help=f"Workloads to run, a comma list of {', '.join(WORKLOADS)} (default: all), "
            "or memory: the memory workload at --memory-cases (long, only on request)."
        ),
    ] = ",".join(WORKLOADS),
    sample: Annotated[
        str,
        typer.Option(
            help="routine: every case plainly routine, one mover each; "
            "mixed: the generated sample as is."
        ),
    ] = "routine",
    out: Annotated[
        Path | None, typer.Option(help="Also append the JSON lines to this file.", dir_okay=False)
    ] = None,
    seed: Annotated[int, typer.Option(help="Random seed of the sample data.")] = 7,
    quiet_s: Annotated[
        float,
        typer.Option(min=1, help="checkpoints: the quiet window in which API calls are counted."),
    ] = 60.0,
    decide: Annotated[
        int, typer.Option(min=1, help="checkpoints: how many to decide one after another.")
    ] = 20,
    memory_cases: Annotated[
        str, typer.Option(help="memory: the batch sizes to compare, a comma list.")
    ] = "1000,10000",
    memory_workload: Annotated[
        str, typer.Option(help=f"memory: the workload measured, {' or '.join(MEMORY_WORKLOADS)}.")
    ] = "flow",
    rounds: Annotated[
        int,
        typer.Option(
            min=1,
            max=20,
            help="robot and flow alternate at each concurrency this many times; the table "
            "and the ratios take each one's median round.",
        ),
    ] = 1,
) -> None:
    """Measure each layer on the same machine: the case system alone, a bare Playwright
    script, the robot, the Prefect flow and the checkpoint machinery.

    One JSON line per workload and concurrency on stdout (cases/s, latency, CPU, memory),
    then a table and the ratios between the layers. A benchmark, not a test: at the
    defaults it runs for a long time.
    """
    try:
        options = Options(
            cases=cases,
            concurrency=parse_ints(concurrency, "--concurrency", 1, 32),
            only=parse_list(only, "--only workload", (*WORKLOADS, *ON_REQUEST)),
            sample=parse_list(sample, "--sample", SAMPLES)[0],
            out=out,
            seed=seed,
            quiet_s=quiet_s,
            decide=decide,
            memory_cases=parse_ints(memory_cases, "--memory-cases", 1, 1_000_000),
            memory_workload=parse_list(memory_workload, "--memory-workload", MEMORY_WORKLOADS)[0],
            rounds=rounds,
        )
    except ValueError as exc:
        fail(str(exc))
    _stop_on_sigterm()
    from bench.runner import BenchFailed, run

    try:
        run(options)
    except BenchFailed as exc:
        fail(str(exc))


def _stop_on_sigterm() -> None:
    """SIGTERM and SIGHUP unwind like Ctrl-C: everything started is stopped.

    Ctrl-C raises KeyboardInterrupt at once, also inside asyncio.run: with Python's
    default handler asyncio turns it into a cancellation of the running workload, which
    a library may swallow, and the benchmark would go on.
    """

    def stop(signum: int, frame: Any) -> NoReturn:
        raise SystemExit(128 + signum)

    def interrupt(signum: int, frame: Any) -> NoReturn:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGHUP, stop)
    signal.signal(signal.SIGINT, interrupt)
