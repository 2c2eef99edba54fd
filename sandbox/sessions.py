"""Login sessions: random tokens held server-side with an expiry time."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable

COOKIE = "sandbox_session"


class Sessions:
    """Tokens of logged-in users; each lives a fixed number of minutes from login.

    It also counts them: how many are live now and the most that ever were at once, so a
    test can see that the robots never held more sessions than their limit allows.
    """

    def __init__(self, minutes: int, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._lifetime = minutes * 60.0
        self._clock = clock
        self._lock = threading.Lock()
        self._tokens: dict[str, tuple[str, float]] = {}
        self._peak = 0

    @property
    def lifetime_seconds(self) -> int:
        """How long a session lives, for the cookie's Max-Age."""
        return int(self._lifetime)

    def create(self, username: str) -> str:
        """A new session token for a user."""
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._forget_expired()
            self._tokens[token] = (username, self._clock() + self._lifetime)
            self._peak = max(self._peak, len(self._tokens))
        return token

    def counts(self) -> dict[str, int]:
        """Live sessions now, and the most there were at once since the start."""
        with self._lock:
            self._forget_expired()
            return {"live": len(self._tokens), "peak": self._peak}

    def _forget_expired(self) -> None:
        now = self._clock()
        for token in [t for t, (_, expires) in self._tokens.items() if now >= expires]:
            del self._tokens[token]

    def user(self, token: str | None) -> str | None:
        """The user of a live session, or None (an expired session is forgotten)."""
        if not token:
            return None
        with self._lock:
            entry = self._tokens.get(token)
            if entry is None:
                return None
            username, expires = entry
            if self._clock() >= expires:
                del self._tokens[token]
                return None
            return username

    def end(self, token: str | None) -> None:
        """Log one session out."""
        with self._lock:
            self._tokens.pop(token or "", None)

    def end_all(self) -> int:
        """Log every session out; how many there were."""
        with self._lock:
            count = len(self._tokens)
            self._tokens.clear()
            return count
