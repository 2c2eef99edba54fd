"""The HTTP endpoint for Slack's requests (HTTP mode): size, signature, then Bolt.

Order matters. Bolt's request object parses the body as it is built, before Bolt
checks the signature, so an unsigned POST of garbage gave a 500 with a traceback and
an unsigned 30 MB body was parsed in full. Here the body is capped (413) and its
signature checked (401) before anything is parsed; a signed body that does not parse
gets a short 400. Only then does Bolt see it (and verify the signature again).
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App, BoltRequest
from slack_bolt.adapter.starlette.handler import to_starlette_response
from slack_sdk.signature import SignatureVerifier
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

log = logging.getLogger(__name__)

MAX_BODY = 1_000_000  # bytes; Slack's interaction payloads are a few kilobytes


async def _read_capped(request: Request, limit: int) -> bytes | None:
    """The body, or None as soon as it grows past `limit` (the rest is never read)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _refuse(status: int, reason: str) -> Response:
    log.warning("Slack request refused (%s): %s", status, reason)
    return Response(reason, status_code=status, media_type="text/plain")


def http_app(app: App, *, signing_secret: str, max_body: int = MAX_BODY) -> Any:
    """A Starlette app serving Slack's requests at /slack/events."""
    verifier = SignatureVerifier(signing_secret)

    async def events(request: Request) -> Response:
        length = request.headers.get("content-length")
        if length is not None and not length.isdigit():
            return _refuse(400, "invalid Content-Length")
        if length is not None and int(length) > max_body:
            return _refuse(413, f"request body over {max_body} bytes")
        body = await _read_capped(request, max_body)
        if body is None:
            return _refuse(413, f"request body over {max_body} bytes")
        stamp = request.headers.get("x-slack-request-timestamp", "")
        signature = request.headers.get("x-slack-signature", "")
        # A non-numeric timestamp or a body that is not UTF-8 would make the verifier
        # raise; such a request is simply not signed by Slack (replacement characters
        # cannot match Slack's signature).
        text = body.decode("utf-8", errors="replace")
        if not stamp.isdigit() or not verifier.is_valid(text, stamp, signature):
            return _refuse(401, "invalid request signature or timestamp")
        try:
            bolt_request = BoltRequest(
                body=body.decode("utf-8"),
                query=request.url.query,
                headers=dict(request.headers),
            )
        except (ValueError, TypeError, AttributeError, LookupError):
            # Bolt parses the body and reads ids from it as it builds the request; a
            # signed payload that is not JSON, or not an object, fails there.
            return _refuse(400, "malformed Slack payload")
        response = await run_in_threadpool(app.dispatch, bolt_request)
        return to_starlette_response(response)

    return Starlette(routes=[Route("/slack/events", events, methods=["POST"])])
