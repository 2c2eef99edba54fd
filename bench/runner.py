"""`rpa bench`: every workload, one after another, each on a fresh sandbox of the same seed.

One JSON line per (workload, concurrency) on stdout (and in `--out FILE`), then a
table and the ratios; progress on stderr. Everything runs under a temporary RPA_HOME
of its own, and every process started is stopped at the end, on Ctrl-C or an error.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import seeds
from bench.common import Progress, Work, say
from bench.measure import Meter, Usage, load_average, percentile
from bench.options import ON_REQUEST, WORKLOADS, Options
from bench.prefect_side import PrefectSide
from bench.processes import registered_in, sandbox
from bench.report import medians, ratios, table
from config.settings import Settings, get_settings


class BenchFailed(RuntimeError):
    """Some workloads failed; the others' lines were printed."""


BROWSER_WORKLOADS = {"playwright-bare", "robot", "flow", "checkpoints"}
PREFECT_WORKLOADS = {"flow", "checkpoints"}


@dataclass
class Bench:
    """One `rpa bench` run."""

    options: Options
    workdir: Path
    settings: Settings = field(init=False)
    lines: list[dict[str, Any]] = field(default_factory=list)
    case_ids: list[str] = field(default_factory=list)
    routine: set[str] = field(default_factory=set)
    seed_file: Path = field(init=False)
    failures: list[str] = field(default_factory=list)
    round: int = 1
    _runs: int = 0

    def __post_init__(self) -> None:
        self.logs = self.workdir / "logs"
        self.seed_file = self.workdir / "seed.json"
        os.environ["RPA_HOME"] = str(self.workdir / "home")
        os.environ.pop("RPA_DATABASE_URL", None)
        os.environ.pop("RPA_TARGET__URL", None)
        get_settings.cache_clear()
        self.settings = get_settings()

    # -- the run ------------------------------------------------------------------

    def run(self) -> list[dict[str, Any]]:
        """Every selected workload; the result lines. A workload that fails is named on
        stderr and the others run; BenchFailed at the end names the failed ones."""
        options = self.options
        chosen = [w for w in (*WORKLOADS, *ON_REQUEST) if w in options.only]
        if "memory" in chosen:
            self.attempt("memory", self.memory)
        chosen = [w for w in chosen if w != "memory"]
        if chosen:
            self.write_seed()
        executable = None
        if BROWSER_WORKLOADS & set(chosen):
            from robots.session import find_browser

            executable = find_browser(self.settings.browser)
        # Every workload on the same machine state: when a Prefect workload runs, its
        # server runs from the start, behind the robot's figures too (an idle server keeps
        # the CPUs awake; measured here, the robot alone at concurrency 1 waited longer
        # for its pages than the flow did beside the server).
        with (
            PrefectSide(self.settings, self.logs)
            if PREFECT_WORKLOADS & set(chosen)
            else (contextlib.nullcontext()) as prefect
        ):
            if prefect is not None:
                say("Started a local Prefect server for every workload's background")
            self.workloads(chosen, executable, prefect)
        self.finish()
        if self.failures:
            raise BenchFailed(f"these workloads failed (see above): {', '.join(self.failures)}")
        return self.lines

    def workloads(
        self, chosen: list[str], executable: Path | None, prefect: PrefectSide | None
    ) -> None:
        """Each chosen workload at each concurrency; robot and flow side by side."""
        options = self.options
        for name, step in (
            ("http-floor", self.http_floor),
            ("playwright-bare", lambda c: self.bare(c, executable)),
        ):
            for concurrency in options.concurrency if name in chosen else ():
                self.attempt(f"{name} at concurrency {concurrency}", step, concurrency)
        for concurrency in options.concurrency:
            for round_ in range(1, options.rounds + 1):
                self.round = round_
                if "robot" in chosen:
                    self.attempt(f"robot at concurrency {concurrency}", self.robot, concurrency)
                if "flow" in chosen:
                    assert prefect is not None
                    self.attempt(
                        f"flow at concurrency {concurrency}", self.flow, concurrency, prefect
                    )
        self.round = 1
        if "checkpoints" in chosen:
            assert prefect is not None
            self.attempt("checkpoints", self.checkpoints, prefect)

    def attempt(self, what: str, step: Callable[..., None], *args: Any) -> None:
        """Run one workload; when it fails, say so with its traceback and go on."""
        try:
            step(*args)
        except Exception as exc:
            self.failures.append(what)
            say(traceback.format_exc().rstrip())
            say(f"error: {what} failed: {type(exc).__name__}: {exc}".splitlines()[0])

    def write_seed(self) -> None:
        options = self.options
        say(f"Building the {options.sample} sample of {options.cases} cases...")
        data = seeds.sample_seed(options.sample, options.cases, seed=options.seed)
        self.seed_file.write_text(json.dumps(data, ensure_ascii=False))
        self.case_ids = [n["case_id"] for n in data["notifications"]]
        self.routine = seeds.expected_routine(data)
        if options.sample == "routine" and len(self.routine) != len(self.case_ids):
            say(
                f"warning: {len(self.case_ids) - len(self.routine)} cases of the routine "
                "sample do not look routine"
            )

    def emit(self, line: dict[str, Any]) -> None:
        """Print a result line as JSON (and append it to --out)."""
        self.lines.append(line)
        text = json.dumps(line, ensure_ascii=False)
        print(text, flush=True)
        if self.options.out is not None:
            with self.options.out.open("a", encoding="utf-8") as out:
                out.write(text + "\n")

    def finish(self) -> None:
        """The table and the ratios."""
        if not self.lines:
            return
        print()
        shown = medians(self.lines)
        if self.options.rounds > 1:
            print(f"robot and flow: the median of {self.options.rounds} rounds (by cases/s)")
        for row in table(shown):
            print(row)
        found = ratios(shown)
        if found:
            print()
        for row in found:
            print(row)
        memory = [line for line in self.lines if line["name"].startswith("memory")]
        if len(memory) >= 2:
            first, last = memory[0], memory[-1]
            for key, what in (
                ("peak_rss_mb", "peak RSS with the browser"),
                ("python_peak_rss_mb", "peak RSS of the Python process alone"),
            ):
                ratio = last[key] / first[key] if first.get(key) else 0.0
                print(
                    f"memory ({first['workload']}): {what} at {last['cases']} cases / at "
                    f"{first['cases']} cases: {ratio:.2f}x (target: at most 1.2x)"
                )
        sys.stdout.flush()

    # -- one measured workload ------------------------------------------------------

    def fresh_store(self) -> None:
        """A store of its own for each workload run (SQLite under the bench's RPA_HOME)."""
        self._runs += 1
        path = self.workdir / "home" / f"run-{self._runs}.db"
        os.environ["RPA_DATABASE_URL"] = f"sqlite:///{path}"
        get_settings.cache_clear()
        self.settings = get_settings()

    def measured(
        self,
        name: str,
        concurrency: int,
        work: Callable[[str, Progress, Callable[[], None]], Work],
        prefect: PrefectSide | None = None,
        seed_file: Path | None = None,
    ) -> None:
        """Run a workload on a fresh sandbox under the meter; emit its line."""
        cases = len(self.case_ids)
        self.fresh_store()
        say(f"{name} at concurrency {concurrency}: {cases} cases on a fresh sandbox")
        with sandbox(seed_file or self.seed_file, self.logs) as box:
            roots = {"sandbox": box.pid} | (prefect.roots() if prefect else {})
            progress = Progress(f"{name} c={concurrency}", cases)
            load = load_average()
            calls_before = prefect.api_requests() if prefect else 0
            with Meter(roots) as meter:
                started = time.monotonic()
                done = work(box.url, progress, meter.sample_now)
                wall = time.monotonic() - started
                usage = meter.stop()
            calls = prefect.api_requests() - calls_before if prefect else None
            statuses = registered_in(box.url)
        line = self.line(name, concurrency, cases, done, usage, wall, statuses, load)
        if calls is not None:
            line["prefect_api_calls"] = calls
            line["prefect_api_calls_per_case"] = round(calls / max(1, cases), 1)
        self.emit(line)

    def line(
        self,
        name: str,
        concurrency: int,
        cases: int,
        done: Work,
        usage: Usage,
        wall: float,
        statuses: dict[str, int],
        load: float,
    ) -> dict[str, Any]:
        registered = statuses.get("registered", 0)
        line: dict[str, Any] = {
            "name": name,
            "sample": self.options.sample,
            "concurrency": concurrency,
            "cases": cases,
            "cases_per_s": round(cases / wall, 3) if wall > 0 else 0.0,
            "p50_ms": round(1000 * percentile(done.latencies_s, 50), 1),
            "p95_ms": round(1000 * percentile(done.latencies_s, 95), 1),
            **usage.figures(),
            "wall_s": round(wall, 2),
            "cpu_ms_per_case": round(
                1000 * (usage.python_cpu_s + usage.browser_cpu_s + usage.driver_cpu_s) / cases, 1
            ),
            "registered": registered,
            "set_aside": done.results.get("set_aside", 0),
            "failed": done.results.get("failed", 0),
            "load1": load,
            "round": self.round,
            **done.extra,
        }
        expected = cases if self.options.sample == "routine" else len(self.routine)
        if registered < expected:
            first = f"; first error: {done.errors[0]}" if done.errors else ""
            say(
                f"warning: {name} c={concurrency}: {registered} of {cases} cases registered "
                f"({expected} expected; set aside {line['set_aside']}, failed "
                f"{line['failed']}){first}"
            )
        return line

    # -- the workloads ----------------------------------------------------------------

    def http_floor(self, concurrency: int) -> None:
        from bench.http_floor import http_floor

        def work(url: str, progress: Progress, _: Callable[[], None]) -> Work:
            return asyncio.run(
                http_floor(self.settings, url, self.case_ids, self.routine, concurrency, progress)
            )

        self.measured("http-floor", concurrency, work)

    def bare(self, concurrency: int, executable: Path | None) -> None:
        from bench.bare import playwright_bare

        def work(url: str, progress: Progress, before_close: Callable[[], None]) -> Work:
            return asyncio.run(
                playwright_bare(
                    self.settings,
                    executable,
                    url,
                    self.case_ids,
                    self.routine,
                    concurrency,
                    progress,
                    self.workdir / "shots",
                    before_close,
                )
            )

        self.measured("playwright-bare", concurrency, work)

    def robot(self, concurrency: int) -> None:
        from bench.robot import robot_work

        def work(url: str, progress: Progress, before_close: Callable[[], None]) -> Work:
            return asyncio.run(
                robot_work(self.settings, url, self.case_ids, concurrency, progress, before_close)
            )

        self.measured("robot", concurrency, work)

    def flow(self, concurrency: int, prefect: PrefectSide) -> None:
        # Imported before the clock starts, as `robot` imports its code: the first flow
        # workload would otherwise carry the import of Prefect's engine and the flows.
        import flows.change_of_address.batch  # noqa: F401
        from bench.flow import flow_work

        def work(url: str, progress: Progress, _: Callable[[], None]) -> Work:
            return flow_work(url, concurrency, progress)

        self.measured("flow", concurrency, work, prefect)

    def checkpoints(self, prefect: PrefectSide) -> None:
        from bench import checkpoints as cp

        options = self.options
        data = seeds.with_remarks(seeds.routine_seed(options.cases, seed=options.seed))
        seed_file = self.workdir / "seed-remarks.json"
        seed_file.write_text(json.dumps(data, ensure_ascii=False))
        case_ids = [n["case_id"] for n in data["notifications"]]
        self.fresh_store()
        settings = self.settings
        lanes = max(options.concurrency)
        say(f"checkpoints: {len(case_ids)} cases with remarks on a fresh sandbox")
        from flows.common import open_store

        with sandbox(seed_file, self.logs) as box:
            stack = prefect.stack
            store = open_store(settings)
            try:
                say("  starting the deployment runner (as `rpa up` does)...")
                # The runner's environment is made from the stack's settings: this store's.
                stack.settings = settings
                stack.start_runner(box.url)
                runner_pid = dict(stack.processes)["runner"].pid
                with cp.ReconcileLoop(settings, stack) as reconcile:
                    reading = Progress("checkpoints: reading", len(case_ids))
                    cases = asyncio.run(cp.read_cases(settings, box.url, case_ids, lanes, reading))
                    if len(cases) < len(case_ids):
                        say(f"warning: only {len(cases)} of {len(case_ids)} cases set aside")
                    figures = self._checkpoint_figures(
                        cp, prefect, box.pid, store, settings, cases, box.url, runner_pid
                    )
                    say(f"  reconcile ran {reconcile.rounds} times every {reconcile.every_s:g} s")
                    if reconcile.errors:
                        say(f"  reconcile errors: {reconcile.errors[0]}")
            finally:
                store.close()
                stack.forget("runner")
        self.emit(figures)
        say(cp.summary(figures))

    def _checkpoint_figures(
        self,
        cp: Any,
        prefect: PrefectSide,
        sandbox_pid: int,
        store: Any,
        settings: Settings,
        cases: list[Any],
        target_url: str,
        runner_pid: int,
    ) -> dict[str, Any]:
        options = self.options
        n = len(cases)
        roots = {"sandbox": sandbox_pid} | prefect.roots()
        load = load_average()
        opening = Progress("checkpoints: opening", n)
        with Meter(roots) as meter:
            started = time.monotonic()
            opened = asyncio.run(cp.open_checkpoints(store, settings, cases, target_url, opening))
            open_wall = time.monotonic() - started
            say(f"  opened {n} checkpoints in {open_wall:.1f} s; waiting until all runs wait...")
            quiet = cp.wait_until_quiet(store, opened, runner_pid, max(300.0, 20.0 * n))
            settle = time.monotonic() - started
            usage = meter.stop()
        if not quiet:
            say("warning: the checkpoint runs did not all reach their waiting state in time")
        say(f"  quiet after {settle:.1f} s; counting Prefect API calls for {options.quiet_s:g} s")
        before = prefect.requests_by_path()
        with Meter(roots) as idle_meter:
            time.sleep(options.quiet_s)
            idle = idle_meter.stop()
        after = prefect.requests_by_path()
        calls = {k: after.get(k, 0) - before.get(k, 0) for k in after}
        calls = {k: v for k, v in sorted(calls.items(), key=lambda kv: -kv[1]) if v}
        quiet_calls = sum(calls.values())
        for path, count in list(calls.items())[:6]:
            say(f"    {count:6d}  {path}")
        per_min = quiet_calls / max(1, n) / (options.quiet_s / 60.0)
        k = min(options.decide, n)
        say(f"  deciding {k} checkpoints one after another...")
        latencies, endings = cp.decide_one_by_one(store, opened[:k])
        cpu = usage.python_cpu_s + usage.browser_cpu_s + usage.driver_cpu_s
        per_s = n / open_wall if open_wall > 0 else 0.0
        return {
            "name": "checkpoints",
            "sample": "remarks",
            "concurrency": 1,
            "cases": n,
            "cases_per_s": round(per_s, 3),
            "p50_ms": round(1000 * percentile(latencies, 50), 1),
            "p95_ms": round(1000 * percentile(latencies, 95), 1),
            **usage.figures(),
            "wall_s": round(settle, 2),
            "opened_per_s": round(per_s, 3),
            "open_wall_s": round(open_wall, 2),
            "quiet": quiet,
            "cpu_s_per_checkpoint": round(cpu / max(1, n), 3),
            "runner_cpu_s": round(usage.runner_cpu_s, 2),
            "runner_peak_rss_mb": round(usage.runner_peak_rss_mb, 1),
            "prefect_api_calls_per_waiting_per_min": round(per_min, 2),
            "quiet_window_s": options.quiet_s,
            "quiet_api_calls": quiet_calls,
            "quiet_python_cpu_s": round(idle.python_cpu_s, 2),
            "quiet_prefect_server_cpu_s": round(idle.prefect_server_cpu_s, 2),
            "decided": sum(endings.values()),
            "applied": endings.get("applied", 0),
            "endings": endings,
            "load1": load,
        }

    # -- memory at scale ------------------------------------------------------------

    def memory(self) -> None:
        """The memory workload at each size, each in a fresh `rpa bench` process."""
        options = self.options
        workload = options.memory_workload
        lanes = max(options.concurrency)
        for cases in options.memory_cases:
            say(f"memory: {workload} at {cases} cases, concurrency {lanes}, in a fresh process")
            out = self.workdir / f"memory-{cases}.jsonl"
            command = [sys.executable, "-m", "cli.main", "bench", "--only", workload]
            command += ["--cases", str(cases), "--concurrency", str(lanes)]
            command += ["--sample", options.sample, "--seed", str(options.seed)]
            command += ["--out", str(out)]
            # Its progress goes to our stderr; on Ctrl-C or an error it is told to stop (it
            # then stops what it started) and waited for.
            child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
            try:
                code = child.wait()
            finally:
                if child.poll() is None:
                    child.terminate()
                    try:
                        child.wait(60)
                    except subprocess.TimeoutExpired:
                        child.kill()
                        child.wait()
            if code != 0 or not out.exists():
                raise RuntimeError(f"the memory run at {cases} cases failed (exit code {code})")
            line = json.loads(out.read_text().splitlines()[0])
            self.emit(line | {"name": f"memory-{workload}", "workload": workload})


def run(options: Options) -> list[dict[str, Any]]:
    """Run the benchmark in a temporary directory of its own; the result lines."""
    workdir = Path(tempfile.mkdtemp(prefix="rpa-bench-"))
    saved = {k: os.environ.get(k) for k in ("RPA_HOME", "RPA_DATABASE_URL", "RPA_TARGET__URL")}
    try:
        return Bench(options, workdir).run()
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        get_settings.cache_clear()
        with contextlib.suppress(OSError):
            shutil.rmtree(workdir, ignore_errors=True)
