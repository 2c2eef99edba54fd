"""Starting and stopping the local parts: Prefect server, sandbox, deployment runner.

Every process a stack starts dies with it (see cli/lifeline.py), and one stack at a
time holds an RPA_HOME (see cli/home_lock.py).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import TracebackType

from cli.home_lock import Holder, HomeBusy, HomeLock, stop_leftovers
from cli.lifeline import GROUP_SIGNAL, child_env, die_with_parent
from cli.running import (
    STACK_FILE,
    StackError,
    StackInfo,
    healthy,
    read_running_stack,
    wait_for_stack,
)
from config.settings import Settings

__all__ = [
    "Stack",
    "StackError",
    "StackInfo",
    "apply_env",
    "free_port",
    "prefect_env",
    "read_running_stack",
    "wait_for_stack",
]

log = logging.getLogger(__name__)

SANDBOX_URLS_FILE = "sandbox-urls.json"


def prefect_env(settings: Settings, api_url: str | None = None) -> dict[str, str]:
    """Environment for anything Prefect: our home, no analytics, fast runner polls."""
    home = settings.home.resolve()
    env = {
        "RPA_HOME": str(home),
        "PREFECT_HOME": str(settings.prefect_home.resolve()),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        "PREFECT_SERVER_LOGGING_LEVEL": "WARNING",
        # Resumed and new runs are picked up within ~1 s instead of the default 10 s: a
        # decision is carried out while the person still looks at it.
        "PREFECT_RUNNER_POLL_FREQUENCY": "1",
        "PREFECT_SERVER_UI_SHOW_PROMOTIONAL_CONTENT": "false",
        # History does not pile up: finished runs older than RPA_PREFECT__RETENTION_DAYS go.
        "PREFECT_SERVER_SERVICES_DB_VACUUM_ENABLED": "events,flow_runs",
        "PREFECT_SERVER_SERVICES_DB_VACUUM_RETENTION_PERIOD": str(
            max(3601, int(settings.prefect.retention_days * 86400))
        ),
        # The server records task runs and events from the run's event stream. Prefect's
        # defaults write each task run event on its own (batch size 1): a statement
        # compiled and committed per event, about 27 ms of server CPU per task run here,
        # more than the robot's own work on a routine case. In batches of up to 100,
        # flushed every second, it is about a third of that; the UI shows a task run's
        # state at most a second later (rpa bench, `flow`).
        **{
            f"PREFECT_SERVER_SERVICES_{service}_{name}": value
            for service in ("TASK_RUN_RECORDER", "EVENT_PERSISTER")
            for name, value in (
                ("READ_BATCH_SIZE", "20"),
                ("BATCH_SIZE", "100"),
                ("FLUSH_INTERVAL", "1"),
            )
        },
    }
    if api_url:
        env["PREFECT_API_URL"] = api_url
    if settings.database_url:
        env["RPA_DATABASE_URL"] = settings.database_url
    return env


def apply_env(env: dict[str, str]) -> None:
    """Set variables in this process (before Prefect is imported, or it keeps its defaults)."""
    os.environ.update(env)


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_is_free(host: str, port: int) -> bool:
    """True when nothing listens on host:port."""
    with socket.socket() as sock:
        # As the servers bind: connections of a stopped server in TIME_WAIT do not count,
        # so a restarted stack gets its old addresses back.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


@dataclass
class Stack:
    """The processes one `rpa up`, `rpa demo` or standalone `rpa run` started."""

    settings: Settings
    command: str = "rpa up"
    processes: list[tuple[str, subprocess.Popen[bytes]]] = field(default_factory=list)
    prefect_api_url: str | None = None
    sandbox_url: str | None = None
    started_prefect: bool = False
    earlier_sandbox_urls: list[str] = field(default_factory=list)
    lock: HomeLock | None = None
    # How to start each part again (`restart`): the arguments it was started with.
    _sandbox_args: tuple[Path | None, int] | None = None
    _runner_target: str | None = None
    _prefect_port: int | None = None

    def __enter__(self) -> Stack:
        """Take this RPA_HOME's lock; stop what a killed earlier holder left running."""
        self.settings.home.mkdir(parents=True, exist_ok=True)
        lock = HomeLock(self.settings.home, self.command)
        try:
            earlier = lock.acquire()
        except HomeBusy as exc:
            raise StackError(_busy_message(self.settings.home, exc.holder)) from None
        self.lock = lock
        if earlier is not None:
            left = stop_leftovers(earlier)
            stopped = f"; stopped what it left running: {', '.join(left)}" if left else ""
            log.warning("took over from %s, which was killed%s", earlier.describe(), stopped)
            sys.stderr.write(
                f"Taking over RPA_HOME={self.settings.home} from {earlier.describe()}, "
                f"which stopped without cleaning up{stopped}.\n"
            )
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def logs_dir(self) -> Path:
        """Where the started processes write their output."""
        return self.settings.home / "logs"

    def start_prefect(self) -> str:
        """Use PREFECT_API_URL when set, else start a local server under RPA_HOME."""
        # A restart of our own server: PREFECT_API_URL names it now (apply_env), not another.
        configured = None if self.started_prefect else os.environ.get("PREFECT_API_URL")
        if configured:
            if not healthy(f"{configured}/health"):
                raise StackError(f"PREFECT_API_URL={configured} does not answer; start that server")
            self.prefect_api_url = configured
            return configured
        cfg = self.settings.prefect
        if self._prefect_port is not None:  # a restart: the same address
            port = self._prefect_port
        else:
            port = cfg.port if port_is_free(cfg.host, cfg.port) else free_port(cfg.host)
        self._prefect_port = port
        url = f"http://{cfg.host}:{port}/api"
        self.settings.prefect_home.mkdir(parents=True, exist_ok=True)
        self._spawn(
            "prefect-server",
            [
                sys.executable,
                "-m",
                "cli.lifeline",
                "prefect",
                "server",
                "start",
                "--host",
                cfg.host,
                "--port",
                str(port),
            ],
            prefect_env(self.settings),
        )
        self._waithealthy("prefect-server", f"{url}/health", cfg.start_timeout_s)
        self.prefect_api_url = url
        self.started_prefect = True
        return url

    def start_sandbox(self, seed: Path | None, port: int | None, *, fresh: bool = False) -> str:
        """Start the sandbox, seeded from a file or the bundled sample.

        Its changes are kept in RPA_HOME/sandbox-state.jsonl, so a restart continues where
        it stopped (same seed); `fresh` starts over from the seed.
        """
        cfg = self.settings.sandbox
        if port is None:
            port = cfg.port if port_is_free(cfg.host, cfg.port) else free_port(cfg.host)
        elif not port_is_free(cfg.host, port):
            raise StackError(f"port {port} is in use: pick another with --sandbox-port")
        state = (self.settings.home / "sandbox-state.jsonl").resolve()
        if fresh:
            state.unlink(missing_ok=True)
        command = [sys.executable, "-m", "cli.main", "sandbox", "serve", "--port", str(port)]
        command += ["--state", str(state)]
        if seed is not None:
            command += ["--seed", str(seed.resolve())]
        self._sandbox_args = (seed, port)
        self._spawn("sandbox", command, {"RPA_HOME": str(self.settings.home.resolve())})
        url = f"http://{cfg.host}:{port}"
        self._waithealthy("sandbox", f"{url}/api/health", 30.0)
        self.sandbox_url = url
        self.earlier_sandbox_urls = _remember_sandbox(self.settings.home, url)
        return url

    def start_runner(self, target_url: str | None) -> None:
        """Serve the deployments, so batch runs (and resumed runs) are executed."""
        if self.prefect_api_url is None:
            raise StackError("start the Prefect server before the runner")
        env = prefect_env(self.settings, self.prefect_api_url)
        if target_url:
            env["RPA_TARGET__URL"] = target_url
        self._runner_target = target_url
        # GROUP_SIGNAL, not SIGKILL, at our death: the runner stops its flow runs first.
        self._spawn("runner", [sys.executable, "-m", "cli.runner"], env, GROUP_SIGNAL)
        self._wait_for_deployment(60.0)

    def start_channel(self, name: str) -> None:
        """Start a chat channel's app and outbox (`rpa channel NAME`) next to the runner."""
        from checkpoints import channels

        if self.prefect_api_url is None:
            raise StackError(f"start the Prefect server before the {name} channel")
        env = prefect_env(self.settings, self.prefect_api_url)
        self._spawn(name, [sys.executable, "-m", "cli.main", "channel", name], env)
        port = channels.get(name, self.settings).port(self.settings)
        if port is not None:
            self._wait_healthy_port(name, port[0], port[1], 30.0)
            return
        time.sleep(2.0)  # no port to wait for: a bad token shows as an early exit
        process = dict(self.processes)[name]
        if process.poll() is not None:
            raise StackError(
                f"the {name} channel exited with code {process.returncode}; see "
                f"{self.logs_dir / f'{name}.log'}"
            )

    def _wait_healthy_port(self, name: str, host: str, port: int, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        process = dict(self.processes)[name]
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise StackError(
                    f"{name} exited with code {process.returncode} at start; see "
                    f"{self.logs_dir / (name + '.log')}"
                )
            if not port_is_free(host, port):
                return
            time.sleep(0.3)
        raise StackError(f"{name} did not listen on {host}:{port} within {timeout_s:.0f} s")

    def info(self) -> StackInfo:
        """What this stack serves."""
        if self.prefect_api_url is None:
            raise StackError("the stack has no Prefect server")
        return StackInfo(
            os.getpid(),
            self.prefect_api_url,
            self.sandbox_url,
            self.started_prefect,
            children=self.children(),
            earlier_sandbox_urls=self.earlier_sandbox_urls,
        )

    def children(self) -> dict[str, int]:
        """The pid of every part this stack started, by name."""
        return {name: process.pid for name, process in self.processes}

    def publish(self) -> None:
        """Write stack.json so `rpa run` with the same RPA_HOME finds this stack."""
        path = self.settings.home / STACK_FILE
        draft = path.with_suffix(".tmp")
        draft.write_text(json.dumps(asdict(self.info())))
        draft.replace(path)  # readers never see half a file
        self.set_state("running")

    def set_state(self, state: str) -> None:
        """Tell other commands (through the lock file) what this stack does now."""
        if self.lock is not None:
            self.lock.update(state=state, children=self.children())

    def dead(self) -> list[tuple[str, int]]:
        """The parts that exited, with their exit codes (a signal as a negative code)."""
        return [(n, p.returncode) for n, p in self.processes if p.poll() is not None]

    def restart(self, name: str) -> None:
        """Start a part that exited again, with the arguments it was started with."""
        self.forget(name)
        if name == "sandbox" and self._sandbox_args is not None:
            seed, port = self._sandbox_args
            if not port_is_free(self.settings.sandbox.host, port):
                raise StackError(f"the sandbox cannot start again: port {port} is taken")
            self.start_sandbox(seed, port)
        elif name == "prefect-server":
            self.start_prefect()
        elif name == "runner":
            self.start_runner(self._runner_target)
        elif name in self.channel_names():
            self.start_channel(name)
        else:
            raise StackError(f"{name} cannot be restarted")
        self.set_state("running")

    def channel_names(self) -> tuple[str, ...]:
        """The chat channels this stack runs (those configured)."""
        from checkpoints import channels

        return channels.enabled(self.settings)

    def forget(self, name: str) -> None:
        """Stop a part (and the processes of its group) and forget it."""
        for entry in [e for e in self.processes if e[0] == name]:
            _terminate(*entry)
            self.processes.remove(entry)

    def stop(self) -> None:
        """Stop every started process, newest first, forget the stack file, let go of the lock."""
        self.set_state("stopping")
        stack_file = self.settings.home / STACK_FILE
        with contextlib.suppress(OSError, ValueError, TypeError):
            if json.loads(stack_file.read_text()).get("pid") == os.getpid():
                stack_file.unlink()
        for name, process in reversed(self.processes):
            _terminate(name, process)
        self.processes.clear()
        if self.lock is not None:
            self.lock.release()
            self.lock = None

    def _spawn(
        self, name: str, command: list[str], env: dict[str, str], death: int = signal.SIGKILL
    ) -> None:
        self.logs_dir.mkdir(parents=True, exist_ok=True)
        log_file = (self.logs_dir / f"{name}.log").open("ab")
        process = subprocess.Popen(
            command,
            env=os.environ | env | child_env(),
            stdout=log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # our Ctrl-C is handled by us, then passed on in order
            preexec_fn=die_with_parent(death),  # only prctl: see cli/lifeline.py
        )
        log_file.close()
        self.processes.append((name, process))
        if self.lock is not None:
            self.lock.update(children=self.children())

    def _waithealthy(self, name: str, url: str, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        process = dict(self.processes)[name]
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise StackError(
                    f"{name} exited with code {process.returncode} at start; see "
                    f"{self.logs_dir / (name + '.log')}"
                )
            if healthy(url):
                return
            time.sleep(0.3)
        raise StackError(f"{name} did not become healthy within {timeout_s:.0f} s at {url}")

    def _wait_for_deployment(self, timeout_s: float) -> None:
        from cli.runs import deployment_exists

        process = dict(self.processes)["runner"]
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise StackError(
                    f"the deployment runner exited with code {process.returncode}; see "
                    f"{self.logs_dir / 'runner.log'}"
                )
            if deployment_exists():
                return
            time.sleep(0.5)
        raise StackError(f"the deployment runner did not register within {timeout_s:.0f} s")


def _busy_message(home: Path, owner: Holder) -> str:
    if owner.serves_stack:
        advice = f"stop it (Ctrl-C, or `kill {owner.pid}`) or use another RPA_HOME"
    else:
        advice = "wait for its batch to finish, or use another RPA_HOME"
    return f"{owner.describe()} already runs with RPA_HOME={home}: {advice}"


def _remember_sandbox(home: Path, url: str) -> list[str]:
    """Record the sandbox URL this home serves; return the ones served before."""
    path = home / SANDBOX_URLS_FILE
    try:
        known = [str(u) for u in json.loads(path.read_text())]
    except (OSError, ValueError, TypeError):
        known = []
    earlier = [u for u in known if u != url]
    path.write_text(json.dumps([*earlier, url]))
    return earlier


def _terminate(name: str, process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        # Gone: what it started in its process group (a runner's flow runs) goes too.
        with contextlib.suppress(OSError):
            os.killpg(process.pid, signal.SIGKILL)
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        log.warning("%s did not stop on SIGTERM; killing it", name)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)
