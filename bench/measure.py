"""CPU seconds and peak memory of this process, its browsers and the processes it started.

A `Meter` samples this process and every descendant with psutil (CPU every 0.2 s,
memory every second, in a background thread) and splits the CPU they used over the
workload into:

- `python`: this process (minus the meter's own sampling), plus, for a started
  `runner`, the runner and its flow-run processes (not their browsers);
- `browser`: Chromium processes (under this process or under the runner);
- `driver`: Playwright's Node.js driver processes;
- one figure per other started process (`sandbox`, `prefect_server`, `proxy`), each
  with everything it started.

Totals are exact where Linux keeps them: a process's CPU time includes that of the
children it reaped (`children_user`, `children_system`), so a subtree's total is its
live processes' own time plus what they reaped, even when processes come and go
between samples. The split between Chromium and the driver under one subtree is by
the time each was seen using (a process that exits loses at most one interval).

Memory is sampled at the same time: `peak_rss_mb` is the peak of the summed resident
sets of this process and the browser processes under it (as the kernel reports each;
pages shared between Chromium's processes count once per process), `peak_pss_mb` the
peak of their proportional set sizes (each shared page split among its sharers: the
memory they take together), `python_peak_rss_mb` that of this process alone.
"""

from __future__ import annotations

import contextlib
import math
import os
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import psutil  # type: ignore[import-untyped]

INTERVAL_S = 0.2
MEMORY_EVERY = 5
SELF = "self"


def percentile(values: Iterable[float], q: float) -> float:
    """The q-th percentile (0-100) with linear interpolation; 0.0 for no values."""
    ordered = sorted(values)
    if not ordered:
        return 0.0
    rank = (len(ordered) - 1) * q / 100.0
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def kind_of(name: str) -> str:
    """`browser`, `driver` or `python` (anything else) from a process name."""
    lowered = name.lower()
    if "chrom" in lowered or "headless" in lowered:
        return "browser"
    if lowered == "node" or lowered.startswith("node-"):  # Playwright's driver: node-MainThread
        return "driver"
    return "python"


@dataclass
class _Seen:
    kind: str
    root: str
    base_own: float
    last_own: float


@dataclass
class Usage:
    """What a workload used, in CPU seconds and megabytes."""

    python_cpu_s: float = 0.0
    browser_cpu_s: float = 0.0
    driver_cpu_s: float = 0.0
    runner_cpu_s: float = 0.0
    sandbox_cpu_s: float = 0.0
    prefect_server_cpu_s: float = 0.0
    proxy_cpu_s: float = 0.0
    peak_rss_mb: float = 0.0
    peak_pss_mb: float = 0.0
    python_peak_rss_mb: float = 0.0
    runner_peak_rss_mb: float = 0.0
    sampler_cpu_s: float = 0.0
    samples: int = 0

    def figures(self) -> dict[str, float]:
        """The figures for a result line, rounded."""
        return {
            "browser_cpu_s": round(self.browser_cpu_s, 2),
            "python_cpu_s": round(self.python_cpu_s, 2),
            "peak_rss_mb": round(self.peak_rss_mb, 1),
            "peak_pss_mb": round(self.peak_pss_mb, 1),
            "python_peak_rss_mb": round(self.python_peak_rss_mb, 1),
            "driver_cpu_s": round(self.driver_cpu_s, 2),
            "sandbox_cpu_s": round(self.sandbox_cpu_s, 2),
            "prefect_server_cpu_s": round(self.prefect_server_cpu_s, 2),
        }


@dataclass
class Meter:
    """Samples this process's tree while a workload runs (`with Meter(roots) as meter:`).

    `roots` names direct children of this process that are not part of the Python side
    or the browser (`sandbox`, `prefect_server`, `proxy`) or whose Python side counts
    (`runner`): pid by name.
    """

    roots: Mapping[str, int] = field(default_factory=dict)
    interval_s: float = INTERVAL_S
    _me: psutil.Process = field(default_factory=psutil.Process)
    _seen: dict[tuple[int, float], _Seen] = field(default_factory=dict)
    _tree_first: dict[str, float] = field(default_factory=dict)
    _tree_last: dict[str, float] = field(default_factory=dict)
    _peak_self: float = 0.0
    _peak_pss: float = 0.0
    _peak_me: float = 0.0
    _peak_runner: float = 0.0
    _samples: int = 0
    _sampling_cpu: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _first: bool = True
    _result: Usage | None = None

    def __enter__(self) -> Meter:
        self.sample_now()  # the baseline
        self._first = False
        self._thread = threading.Thread(target=self._loop, name="bench-meter", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._result is None:
            self.stop()

    def _loop(self) -> None:
        started = time.thread_time()
        while not self._stop.wait(self.interval_s):
            self._sample()
        with self._lock:
            self._sampling_cpu += time.thread_time() - started

    def sample_now(self) -> None:
        """Take a sample now (before something that ends processes, say)."""
        started = time.thread_time()
        self._sample()
        with self._lock:
            self._sampling_cpu += time.thread_time() - started

    def stop(self) -> Usage:
        """A last sample; then what the workload used since the meter started."""
        if self._result is not None:
            return self._result
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.sample_now()
        self._result = self._usage()
        return self._result

    @property
    def peak_rss_mb(self) -> float:
        """Peak RSS so far of this process and the browsers under it."""
        return self._peak_self / 2**20

    def _sample(self) -> None:
        try:
            children = self._me.children(recursive=True)
        except psutil.Error:
            return
        rows = []
        # Memory (smaps_rollup of every process) costs ten times the CPU times: read it
        # every MEMORY_EVERY-th sample (about once a second), or the meter's own thread
        # takes the measured work's CPU and GIL.
        with_memory = self._samples % MEMORY_EVERY == 0
        for process in [self._me, *children]:
            try:
                with process.oneshot():
                    times = process.cpu_times()
                    rows.append(
                        (
                            process.pid,
                            process.create_time(),
                            process.ppid(),
                            process.name(),
                            times.user + times.system,
                            times.children_user + times.children_system,
                            *(_memory(process) if with_memory else (0.0, 0.0)),
                        )
                    )
            except psutil.Error:
                continue  # gone between listing and reading
        parents = {pid: ppid for pid, _, ppid, *_ in rows}
        root_pids = {pid: name for name, pid in self.roots.items()}
        me = self._me.pid
        trees: dict[str, float] = {}
        rss_self = pss_self = rss_runner = 0.0
        with self._lock:
            for pid, created, _, name, own, reaped, rss, pss in rows:
                root = SELF if pid == me else self._root_of(pid, parents, root_pids, me)
                if root is None:
                    continue  # its parent exited meanwhile: whose it is shows next time
                kind = "python" if pid == me else kind_of(name)
                key = (pid, created)
                seen = self._seen.get(key)
                if seen is None:
                    base = own if self._first else 0.0
                    seen = self._seen[key] = _Seen(kind, root, base, own)
                seen.last_own = max(seen.last_own, own)
                trees[root] = trees.get(root, 0.0) + own + reaped
                if pid == me and with_memory:
                    self._peak_me = max(self._peak_me, rss)
                if root == SELF:
                    rss_self += rss
                    pss_self += pss
                elif root == "runner":
                    rss_runner += rss
            for root, total in trees.items():
                self._tree_first.setdefault(root, 0.0 if not self._first else total)
                self._tree_last[root] = max(self._tree_last.get(root, 0.0), total)
            if self._first:
                for root in self.roots:
                    self._tree_first.setdefault(root, 0.0)
            if with_memory:
                self._peak_self = max(self._peak_self, rss_self)
                self._peak_pss = max(self._peak_pss, pss_self)
                self._peak_runner = max(self._peak_runner, rss_runner)
            self._samples += 1

    @staticmethod
    def _root_of(pid: int, parents: dict[int, int], roots: dict[int, str], me: int) -> str | None:
        current = pid
        while True:
            parent = parents.get(current)
            if parent is None:
                return None
            if parent == me:
                return roots.get(current, SELF)
            current = parent

    def _delta_tree(self, root: str) -> float:
        return max(0.0, self._tree_last.get(root, 0.0) - self._tree_first.get(root, 0.0))

    def _observed(self, root: str, kind: str) -> float:
        return sum(
            max(0.0, s.last_own - s.base_own)
            for s in self._seen.values()
            if s.root == root and s.kind == kind
        )

    def _usage(self) -> Usage:
        with self._lock:
            me = self._seen[(self._me.pid, self._me.create_time())]
            own = max(0.0, me.last_own - me.base_own)
            python_self = max(0.0, own - self._sampling_cpu)
            # Everything under this process that is not a named root: exact in total
            # (reaped children included), split by what each kind was seen using.
            below = max(0.0, self._delta_tree(SELF) - own)
            shares = {k: self._observed(SELF, k) for k in ("browser", "driver", "python")}
            seen_below = sum(shares.values())
            split = {
                k: (below * v / seen_below if seen_below > 0 else 0.0) for k, v in shares.items()
            }
            runner_total = self._delta_tree("runner")
            runner_browser = self._observed("runner", "browser")
            runner_driver = self._observed("runner", "driver")
            runner_python = max(0.0, runner_total - runner_browser - runner_driver)
            return Usage(
                python_cpu_s=python_self + split["python"] + runner_python,
                browser_cpu_s=split["browser"] + runner_browser,
                driver_cpu_s=split["driver"] + runner_driver,
                runner_cpu_s=runner_python,
                sandbox_cpu_s=self._delta_tree("sandbox"),
                prefect_server_cpu_s=self._delta_tree("prefect_server"),
                proxy_cpu_s=self._delta_tree("proxy"),
                peak_rss_mb=self._peak_self / 2**20,
                peak_pss_mb=self._peak_pss / 2**20,
                python_peak_rss_mb=self._peak_me / 2**20,
                runner_peak_rss_mb=self._peak_runner / 2**20,
                sampler_cpu_s=self._sampling_cpu,
                samples=self._samples,
            )


def _memory(process: psutil.Process) -> tuple[float, float]:
    """Resident and proportional set size (shared pages split among their sharers)."""
    try:
        full = process.memory_full_info()
        return float(full.rss), float(full.pss)
    except (psutil.AccessDenied, AttributeError):
        rss = float(process.memory_info().rss)
        return rss, rss


def cpu_rate(pids: Iterable[int], window_s: float = 2.0) -> float:
    """CPU cores the processes (with everything they started) used over a short window."""

    def total() -> float:
        spent = 0.0
        for pid in pids:
            with contextlib.suppress(psutil.Error):
                process = psutil.Process(pid)
                for member in [process, *process.children(recursive=True)]:
                    with contextlib.suppress(psutil.Error):
                        times = member.cpu_times()
                        spent += (
                            times.user + times.system + times.children_user + times.children_system
                        )
        return spent

    before = total()
    time.sleep(window_s)
    return (total() - before) / window_s


def load_average() -> float:
    """The machine's 1-minute load average (others' work shows here)."""
    return round(os.getloadavg()[0], 2)
