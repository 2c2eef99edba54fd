"""A local Prefect server for the `flow` and `checkpoints` workloads, behind a counting proxy.

Started as benchmarks/batch_throughput.py does (cli.stack.Stack, start_prefect,
apply_env(prefect_env(...))), under the benchmark's own RPA_HOME. Every Prefect client
(this process, the runner and its flow-run processes) is given the proxy's address, so
each HTTP request the server receives is counted (bench/proxy.py).
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path
from types import TracebackType

import httpx

from bench.processes import Started, counting_proxy, proxy_count
from cli.stack import Stack, apply_env, prefect_env
from config.settings import Settings


class PrefectSide:
    """The Prefect server (a Stack part) and the proxy in front of it."""

    def __init__(self, settings: Settings, logs: Path) -> None:
        self.settings = settings
        self.logs = logs
        self.stack = Stack(settings, command="rpa bench")
        self._proxy: contextlib.ExitStack = contextlib.ExitStack()
        self.proxy: Started | None = None
        self.direct_api_url = ""

    def __enter__(self) -> PrefectSide:
        if "prefect" in sys.modules:
            # Prefect reads its settings once, on import: the flow would run on a temporary
            # server of its own, in this process, and the figures would measure that.
            raise RuntimeError(
                "Prefect was imported before the benchmark's Prefect server was set up; "
                "a workload before `flow` must not import it"
            )
        self.stack.__enter__()
        try:
            # Our own server, never one PREFECT_API_URL names: nothing else may count.
            os.environ.pop("PREFECT_API_URL", None)
            self.direct_api_url = self.stack.start_prefect()
            port = httpx.URL(self.direct_api_url).port
            assert port is not None
            self.proxy = self._proxy.enter_context(counting_proxy(port, self.logs))
            api_url = f"{self.proxy.url}/api"
            self.stack.prefect_api_url = api_url  # the runner is started with this address
            env = prefect_env(self.settings, api_url)
            # Prefect's console output off in this process (the API log handler stays):
            # the progress lines on stderr are the benchmark's.
            env["PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL"] = "WARNING"
            apply_env(env)  # before Prefect is first imported here
        except BaseException:
            self._proxy.close()
            self.stack.stop()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            self.stack.stop()
        finally:
            self._proxy.close()

    def roots(self) -> dict[str, int]:
        """The started processes by meter root name."""
        roots = {name.replace("-", "_"): p.pid for name, p in self.stack.processes}
        if self.proxy is not None:
            roots["proxy"] = self.proxy.pid
        return roots

    def api_requests(self) -> int:
        """Requests the Prefect server has received through the proxy so far."""
        assert self.proxy is not None
        return int(str(proxy_count(self.proxy.url)["requests"]))

    def requests_by_path(self) -> dict[str, int]:
        """Requests so far, by method and path (ids replaced)."""
        assert self.proxy is not None
        counted = proxy_count(self.proxy.url)["by_path"]
        assert isinstance(counted, dict)
        return {str(k): int(v) for k, v in counted.items()}
