"""Running the sandbox: blocking for the CLI, or in a background thread for tests."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path
from types import TracebackType

import uvicorn
from fastapi import FastAPI

from config.settings import SandboxSettings
from sandbox.app import create_app
from sandbox.seed import Seed


def serve(seed: Seed, settings: SandboxSettings, state_file: Path | None = None) -> None:
    """Serve the sandbox on settings.host:settings.port until interrupted."""
    uvicorn.run(
        create_app(seed, settings, state_file=state_file),
        host=settings.host,
        port=settings.port,
        log_level="warning",
    )


class SandboxServer:
    """The sandbox on a port of its own (0: a free one), served from a background thread."""

    def __init__(
        self,
        seed: Seed,
        settings: SandboxSettings,
        *,
        port: int | None = None,
        state_file: Path | None = None,
    ) -> None:
        self.settings = settings
        self.app: FastAPI = create_app(seed, settings, state_file=state_file)
        self._port = settings.port if port is None else port
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._url: str | None = None
        self._socket: socket.socket | None = None

    @property
    def url(self) -> str:
        """Base URL, e.g. `http://127.0.0.1:54321` (after start)."""
        if self._url is None:
            raise RuntimeError("SandboxServer is not running: call start() first")
        return self._url

    def start(self, timeout: float = 10.0) -> SandboxServer:
        """Start serving and return once the server accepts connections."""
        if self._server is not None:
            raise RuntimeError(f"SandboxServer already running at {self._url}")
        # Binding here (not in uvicorn) tells us the real port when port 0 was asked for.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.settings.host, self._port))
        except OSError as exc:
            sock.close()
            raise RuntimeError(
                f"Sandbox cannot listen on {self.settings.host}:{self._port} ({exc}); "
                "pick another port or use port 0 for any free one"
            ) from exc
        host, port = sock.getsockname()[:2]
        config = uvicorn.Config(self.app, log_level="warning", lifespan="off")
        server = uvicorn.Server(config)
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name="sandbox-server", daemon=True
        )
        self._server, self._thread, self._socket = server, thread, sock
        thread.start()
        deadline = time.monotonic() + timeout
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"Sandbox did not start on {host}:{port} within {timeout} s")
            time.sleep(0.01)
        self._url = f"http://{host}:{port}"
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop serving and wait for the thread to end."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
        if self._socket is not None:
            self._socket.close()
        self._server, self._thread, self._socket, self._url = None, None, None, None

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
