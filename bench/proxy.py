"""A counting HTTP proxy: every request a Prefect client sends passes here and is counted.

`python -m bench.proxy PORT UPSTREAM_PORT` listens on 127.0.0.1:PORT and forwards each
connection to 127.0.0.1:UPSTREAM_PORT byte for byte. It reads each request's head (and
skips its body by Content-Length or chunks) to count it; answers are not parsed. A
websocket upgrade is counted once and then passed through untouched. `GET /__bench/count`
on a new connection is answered here (never forwarded or counted) with the counts as JSON.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import sys
from collections import Counter

from cli.lifeline import watch_lifeline

_IDS = re.compile(rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_HEAD_LIMIT = 1 << 20


class Counts:
    """What passed through so far."""

    def __init__(self) -> None:
        self.requests = 0
        self.websockets = 0
        self.by_path: Counter[str] = Counter()

    def count(self, method: bytes, target: bytes) -> None:
        path = _IDS.sub(b"{id}", target.split(b"?", 1)[0])
        self.requests += 1
        self.by_path[f"{method.decode()} {path.decode(errors='replace')}"] += 1

    def as_json(self) -> bytes:
        return json.dumps(
            {
                "requests": self.requests,
                "websockets": self.websockets,
                "by_path": dict(self.by_path.most_common()),
            }
        ).encode()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError, OSError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    with contextlib.suppress(ConnectionError, OSError, RuntimeError):
        if writer.can_write_eof():
            writer.write_eof()


async def _forward_exact(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, size: int
) -> None:
    while size > 0:
        data = await reader.read(min(size, 65536))
        if not data:
            raise asyncio.IncompleteReadError(b"", size)
        writer.write(data)
        size -= len(data)


async def _forward_chunked(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while True:
        line = await reader.readuntil(b"\r\n")
        writer.write(line)
        size = int(line.split(b";", 1)[0].strip() or b"0", 16)
        if size == 0:
            while True:  # trailers, then the empty line
                trailer = await reader.readuntil(b"\r\n")
                writer.write(trailer)
                if trailer == b"\r\n":
                    return
        await _forward_exact(reader, writer, size + 2)


def _headers(head: bytes) -> tuple[bytes, bytes, dict[bytes, bytes]]:
    lines = head.split(b"\r\n")
    method, target, _ = [*lines[0].split(b" ", 2), b"", b""][:3]
    headers: dict[bytes, bytes] = {}
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name:
            headers[name.strip().lower()] = value.strip()
    return method, target, headers


class Proxy:
    """Forwards connections to the upstream port, counting requests."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.counts = Counts()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream_writer: asyncio.StreamWriter | None = None
        answers: asyncio.Task[None] | None = None
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            method, target, headers = _headers(head)
            if target.startswith(b"/__bench/"):
                body = self.counts.as_json()
                writer.write(
                    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                    + b"content-length: %d\r\nconnection: close\r\n\r\n" % len(body)
                    + body
                )
                await writer.drain()
                return
            upstream_reader, upstream_writer = await asyncio.open_connection(
                "127.0.0.1", self.upstream_port, limit=_HEAD_LIMIT
            )
            answers = asyncio.create_task(_pipe(upstream_reader, writer))
            while True:
                self.counts.count(method, target)
                upstream_writer.write(head)
                if b"chunked" in headers.get(b"transfer-encoding", b"").lower():
                    await _forward_chunked(reader, upstream_writer)
                elif length := headers.get(b"content-length"):
                    await _forward_exact(reader, upstream_writer, int(length))
                await upstream_writer.drain()
                if headers.get(b"upgrade"):
                    self.counts.websockets += 1
                    await _pipe(reader, upstream_writer)
                    break
                head = await reader.readuntil(b"\r\n\r\n")
                method, target, headers = _headers(head)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError, OSError):
            pass
        finally:
            if upstream_writer is not None:
                with contextlib.suppress(Exception):
                    upstream_writer.close()
            if answers is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(answers, timeout=5)
                answers.cancel()
            with contextlib.suppress(Exception):
                writer.close()


async def serve(port: int, upstream_port: int) -> None:
    """Serve until killed."""
    proxy = Proxy(upstream_port)
    server = await asyncio.start_server(proxy.handle, "127.0.0.1", port, limit=_HEAD_LIMIT)
    async with server:
        await server.serve_forever()


def main() -> None:
    """`python -m bench.proxy PORT UPSTREAM_PORT`."""
    if len(sys.argv) != 3:
        sys.exit("usage: python -m bench.proxy PORT UPSTREAM_PORT")
    watch_lifeline()
    asyncio.run(serve(int(sys.argv[1]), int(sys.argv[2])))


if __name__ == "__main__":
    main()
