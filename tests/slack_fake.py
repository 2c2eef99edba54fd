"""A local fake of the Slack Web API: a threaded stdlib HTTP server that records every call.

Point `WebClient(base_url=fake.api_url)` at it. It accepts JSON and form-encoded
bodies and query strings like Slack, answers with realistic JSON, and can be told to
fail the next calls of a method (5xx, 429 with Retry-After, or a dropped connection),
after doing what was asked if wanted (a post that went through despite the error).
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode

import httpx

from checkpoints.channels.slack.blocks import EDIT_VIEW

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
CHANNEL = "C0CHECK"
DROP = 0  # a "status" for fail_next: the connection is dropped without an answer


@dataclass
class Call:
    """One recorded Web API call."""

    method: str
    args: dict[str, Any]
    token: str | None
    status: int


@dataclass
class _Failure:
    status: int
    times: int
    retry_after: int | None = None
    after_effect: bool = False


@dataclass
class SlackFake:
    """State of the fake workspace and the calls made to it."""

    members: list[str] = field(default_factory=lambda: ["UJENS", "UMETTE"])
    group_members: dict[str, list[str]] = field(default_factory=dict)  # by user group id
    names: dict[str, str] = field(
        default_factory=lambda: {"UJENS": "Jens Hansen", "UMETTE": "Mette Lund", "UEVE": "Eve"}
    )
    websocket_url: str | None = None
    calls: list[Call] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)
    _failures: dict[str, _Failure] = field(default_factory=dict)
    _ts: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None

    @property
    def api_url(self) -> str:
        """The base URL for WebClient."""
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}/api/"

    def fail_next(
        self,
        method: str,
        status: int,
        times: int = 1,
        retry_after: int | None = None,
        after_effect: bool = False,
    ) -> None:
        """Make the next `times` calls of `method` answer `status` (after doing it, if asked).

        Status `DROP` answers nothing: the connection is closed once the request is read.
        """
        with self._lock:
            self._failures[method] = _Failure(status, times, retry_after, after_effect)

    def ok_calls(self, method: str) -> list[Call]:
        """Successful calls of a method, in order."""
        with self._lock:
            return [c for c in self.calls if c.method == method and c.status == 200]

    def answer(
        self, method: str, args: dict[str, Any]
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        """Status, JSON body and extra headers for one call."""
        with self._lock:
            failure = self._failures.get(method)
            if failure and failure.times > 0:
                failure.times -= 1
                if failure.after_effect:
                    self._do(method, args)
                headers = {"Retry-After": str(failure.retry_after)} if failure.retry_after else {}
                error = "ratelimited" if failure.status == 429 else "fatal_error"
                return failure.status, {"ok": False, "error": error}, headers
        channel = args.get("channel", "C0CHECK")
        if method in ("chat.postMessage", "chat.update"):
            with self._lock:
                ts = self._do(method, args)
            message = {k: args.get(k) for k in ("text", "blocks", "thread_ts") if k in args}
            return 200, {"ok": True, "channel": channel, "ts": ts, "message": message}, {}
        if method == "conversations.history":
            # Like Slack: the channel's messages, newest first, thread replies left out.
            with self._lock:
                found = [
                    m
                    for m in self.messages
                    if m["channel"] == channel and m.get("thread_ts") in (None, m["ts"])
                ]
            return 200, {"ok": True, "messages": list(reversed(found)), "has_more": False}, {}
        if method == "conversations.replies":
            # A thread: its parent first, then the replies, oldest first.
            ts = args.get("ts")
            with self._lock:
                found = [
                    m
                    for m in self.messages
                    if m["channel"] == channel and (m["ts"] == ts or m.get("thread_ts") == ts)
                ]
            return 200, {"ok": True, "messages": found, "has_more": False}, {}
        if method == "chat.postEphemeral":
            return 200, {"ok": True, "message_ts": f"{1_700_000_000 + next(self._ts)}.000200"}, {}
        if method == "chat.getPermalink":
            ts = args.get("message_ts", "")
            return (
                200,
                {"ok": True, "channel": channel, "permalink": f"https://fake.slack/{channel}/{ts}"},
                {},
            )
        if method == "views.open":
            return 200, {"ok": True, "view": {"id": "V0EDIT", **_json(args.get("view"))}}, {}
        if method == "users.info":
            user = args.get("user", "")
            return (
                200,
                {
                    "ok": True,
                    "user": {
                        "id": user,
                        "name": user.lower(),
                        "real_name": self.names.get(user, user),
                    },
                },
                {},
            )
        if method == "usergroups.users.list":
            users = self.group_members.get(str(args.get("usergroup")), self.members)
            return 200, {"ok": True, "users": list(users)}, {}
        if method == "conversations.members":
            return (
                200,
                {
                    "ok": True,
                    "members": list(self.members),
                    "response_metadata": {"next_cursor": ""},
                },
                {},
            )
        if method == "auth.test":
            return (
                200,
                {
                    "ok": True,
                    "url": "https://fake.slack/",
                    "team": "Kommune",
                    "user": "robot",
                    "team_id": "T0FAKE",
                    "user_id": "UROBOT",
                    "bot_id": "B0ROBOT",
                },
                {},
            )
        if method == "apps.connections.open":
            return 200, {"ok": True, "url": self.websocket_url or ""}, {}
        return 200, {"ok": False, "error": "unknown_method"}, {}

    def _do(self, method: str, args: dict[str, Any]) -> str:
        """Post a message (kept for conversations.history); its ts."""
        if method == "chat.update":
            return str(args.get("ts"))
        ts = f"{1_700_000_000 + next(self._ts)}.000100"
        metadata = _json(args.get("metadata"))
        self.messages.append(
            {
                "channel": args.get("channel"),
                "ts": ts,
                "thread_ts": args.get("thread_ts"),
                "text": args.get("text"),
                "metadata": metadata,
            }
        )
        return ts

    def posts(self) -> list[dict[str, Any]]:
        """Every message posted (thread replies too), oldest first."""
        with self._lock:
            return list(self.messages)

    def __enter__(self) -> SlackFake:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                path, _, query = self.path.partition("?")
                method = path.rsplit("/", 1)[-1]
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode() if length else ""
                if "json" in (self.headers.get("Content-Type") or ""):
                    args = json.loads(raw or "{}")
                else:
                    args = {k: v[0] for k, v in parse_qs(raw).items()}
                args |= {k: v[0] for k, v in parse_qs(query).items()}
                token = (self.headers.get("Authorization") or "").removeprefix("Bearer ") or None
                status, body, headers = fake.answer(method, args)
                with fake._lock:
                    fake.calls.append(Call(method, args, token, status))
                if status == DROP:
                    self.close_connection = True  # no answer at all
                    return
                payload = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(payload)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


def _json(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        return json.loads(value)  # type: ignore[no-any-return]
    return value or {}


def signed_post(
    url: str,
    payload: dict[str, Any],
    *,
    timestamp: int | None = None,
    secret: str = SECRET,
) -> httpx.Response:
    """POST an interaction payload the way Slack does, signed with the signing secret."""
    body = urlencode({"payload": json.dumps(payload)})
    return signed_body(url, body, timestamp=timestamp, secret=secret)


def signed_body(
    url: str,
    body: str | bytes,
    *,
    content_type: str = "application/x-www-form-urlencoded",
    timestamp: int | None = None,
    secret: str = SECRET,
) -> httpx.Response:
    """POST any body, correctly signed: what a client holding the signing secret can send."""
    raw = body.encode() if isinstance(body, str) else body
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"v0:{stamp}:".encode() + raw, hashlib.sha256).hexdigest()
    headers = {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": f"v0={digest}",
    }
    return httpx.post(url, content=raw, headers=headers, timeout=30)


def click(user: str, action_id: str, checkpoint_id: str) -> dict[str, Any]:
    """A block_actions payload for a button on the checkpoint's message."""
    return {
        "type": "block_actions",
        "user": {"id": user, "username": user.lower(), "team_id": "T0FAKE"},
        "api_app_id": "A0RPA",
        "token": "legacy",
        "trigger_id": "1337.42",
        "team": {"id": "T0FAKE", "domain": "kommune"},
        "channel": {"id": CHANNEL, "name": "flytninger"},
        "container": {"type": "message", "message_ts": "1700000001.000100", "channel_id": CHANNEL},
        "message": {"type": "message", "ts": "1700000001.000100", "text": "..."},
        "actions": [
            {
                "type": "button",
                "action_id": action_id,
                "block_id": f"decide:{checkpoint_id}",
                "value": checkpoint_id,
                "action_ts": "1700000002.0001",
            }
        ],
    }


def submission(user: str, checkpoint_id: str, values: dict[str, str]) -> dict[str, Any]:
    """A view_submission payload for the edit modal."""
    state = {
        field: {"value": {"type": "plain_text_input", "value": value}}
        for field, value in values.items()
    }
    return {
        "type": "view_submission",
        "team": {"id": "T0FAKE", "domain": "kommune"},
        "user": {"id": user, "username": user.lower(), "team_id": "T0FAKE"},
        "api_app_id": "A0RPA",
        "token": "legacy",
        "trigger_id": "1337.43",
        "view": {
            "id": "V0EDIT",
            "type": "modal",
            "callback_id": EDIT_VIEW,
            "private_metadata": checkpoint_id,
            "state": {"values": state},
        },
    }
