"""Starting and stopping the local parts: Prefect server, sandbox, deployment runner."""

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

import httpx

from config.settings import Settings

log = logging.getLogger(__name__)

STACK_FILE = "stack.json"


class StackError(RuntimeError):
    """A part of the stack did not start."""


@dataclass
class StackInfo:
    """What a running `rpa up` serves; written to RPA_HOME/stack.json for `rpa run`."""

    pid: int
    prefect_api_url: str
    sandbox_url: str | None = None
    started_prefect: bool = True

    @property
    def prefect_ui_url(self) -> str:
        """The Prefect UI, next to its API."""
        return self.prefect_api_url.removesuffix("/api")


def prefect_env(settings: Settings, api_url: str | None = None) -> dict[str, str]:
    """Environment for anything Prefect: our home, no analytics, fast runner polls."""
    home = settings.home.resolve()
    env = {
        "RPA_HOME": str(home),
        "PREFECT_HOME": str(settings.prefect_home.resolve()),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        "PREFECT_SERVER_LOGGING_LEVEL": "WARNING",
        # Resumed and new runs are picked up within ~2 s instead of the default 10 s.
        "PREFECT_RUNNER_POLL_FREQUENCY": "2",
        "PREFECT_UI_SHOW_PROMOTIONAL_CONTENT": "false",
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
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def read_running_stack(settings: Settings) -> StackInfo | None:
    """The `rpa up` of this RPA_HOME, if one is running and healthy."""
    path = settings.home / STACK_FILE
    try:
        info = StackInfo(**json.loads(path.read_text()))
    except (OSError, ValueError, TypeError):
        return None
    try:
        os.kill(info.pid, 0)
    except OSError:
        return None
    return info if _healthy(f"{info.prefect_api_url}/health") else None


def _healthy(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2.0).status_code == 200
    except httpx.HTTPError:
        return False


@dataclass
class Stack:
    """The processes one `rpa up`, `rpa demo` or standalone `rpa run` started."""

    settings: Settings
    processes: list[tuple[str, subprocess.Popen[bytes]]] = field(default_factory=list)
    prefect_api_url: str | None = None
    sandbox_url: str | None = None
    started_prefect: bool = False

    def __enter__(self) -> Stack:
        self.settings.home.mkdir(parents=True, exist_ok=True)
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
        configured = os.environ.get("PREFECT_API_URL")
        if configured:
            if not _healthy(f"{configured}/health"):
                raise StackError(f"PREFECT_API_URL={configured} does not answer; start that server")
            self.prefect_api_url = configured
            return configured
        cfg = self.settings.prefect
        port = cfg.port if port_is_free(cfg.host, cfg.port) else free_port(cfg.host)
        url = f"http://{cfg.host}:{port}/api"
        self.settings.prefect_home.mkdir(parents=True, exist_ok=True)
        self._spawn(
            "prefect-server",
            [
                sys.executable,
                "-m",
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
        self._wait_healthy("prefect-server", f"{url}/health", cfg.start_timeout_s)
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
        self._spawn("sandbox", command, {"RPA_HOME": str(self.settings.home.resolve())})
        url = f"http://{cfg.host}:{port}"
        self._wait_healthy("sandbox", f"{url}/api/health", 30.0)
        self.sandbox_url = url
        return url

    def start_runner(self, target_url: str | None) -> None:
        """Serve the deployments, so batch runs (and resumed runs) are executed."""
        if self.prefect_api_url is None:
            raise StackError("start the Prefect server before the runner")
        env = prefect_env(self.settings, self.prefect_api_url)
        if target_url:
            env["RPA_TARGET__URL"] = target_url
        self._spawn("runner", [sys.executable, "-m", "flows.serve"], env)
        self._wait_for_deployment(60.0)

    def start_slack(self) -> None:
        """Start the Slack app and its outbox (`rpa slack`) next to the runner."""
        if self.prefect_api_url is None:
            raise StackError("start the Prefect server before the Slack app")
        env = prefect_env(self.settings, self.prefect_api_url)
        self._spawn("slack", [sys.executable, "-m", "cli.main", "slack"], env)
        slack = self.settings.slack
        if slack.mode == "http":
            self._wait_healthy_port("slack", slack.http_host, slack.http_port, 30.0)
            return
        time.sleep(2.0)  # Socket Mode has no port: a bad token shows as an early exit
        process = dict(self.processes)["slack"]
        if process.poll() is not None:
            raise StackError(
                f"the Slack app exited with code {process.returncode}; see "
                f"{self.logs_dir / 'slack.log'}"
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
        return StackInfo(os.getpid(), self.prefect_api_url, self.sandbox_url, self.started_prefect)

    def publish(self) -> None:
        """Write stack.json so `rpa run` with the same RPA_HOME finds this stack."""
        (self.settings.home / STACK_FILE).write_text(json.dumps(asdict(self.info())))

    def stop(self) -> None:
        """Stop every started process, newest first, and forget the stack file."""
        stack_file = self.settings.home / STACK_FILE
        with contextlib.suppress(OSError, ValueError, TypeError):
            if json.loads(stack_file.read_text()).get("pid") == os.getpid():
                stack_file.unlink()
        for name, process in reversed(self.processes):
            _terminate(name, process)
        self.processes.clear()

    def _spawn(self, name: str, command: list[str], env: dict[str, str]) -> None:
        self.logs_dir.mkdir(parents=True, exist_ok=True)
        log_file = (self.logs_dir / f"{name}.log").open("ab")
        process = subprocess.Popen(
            command,
            env=os.environ | env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # our Ctrl-C is handled by us, then passed on in order
        )
        log_file.close()
        self.processes.append((name, process))

    def _wait_healthy(self, name: str, url: str, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        process = dict(self.processes)[name]
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise StackError(
                    f"{name} exited with code {process.returncode} at start; see "
                    f"{self.logs_dir / (name + '.log')}"
                )
            if _healthy(url):
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


def _terminate(name: str, process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
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
