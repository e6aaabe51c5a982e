"""Remembers, for a short while, which caller a bearer token stands for.

Every RPC carries its token; looking it up each time cost a database round
trip (and a commit) per call, about a sixth of a confirmed transfer's
database work. Only live tokens are remembered, for `ttl_s`: a revoked token
keeps working on a server that saw it for at most that long. Unknown tokens
are never remembered, so a token created a moment ago works at once.
"""

import threading
import time

from envoi.core.auth.caller import Caller


class TokenCache:
    def __init__(self, ttl_s: float, clock=time.monotonic):
        self._ttl_s = ttl_s
        self._clock = clock
        self._lock = threading.Lock()
        # token SHA-256 -> (caller, monotonic time after which it is looked up again)
        self._callers: dict[bytes, tuple[Caller, float]] = {}

    def get(self, token_sha256: bytes) -> Caller | None:
        with self._lock:
            entry = self._callers.get(token_sha256)
            if entry is None:
                return None
            caller, expire_at = entry
            if self._clock() >= expire_at:
                del self._callers[token_sha256]
                return None
            return caller

    def put(self, token_sha256: bytes, caller: Caller) -> None:
        if self._ttl_s <= 0:
            return
        with self._lock:
            now = self._clock()
            if len(self._callers) >= MAX_ENTRIES:  # drop what has expired before growing
                self._callers = {k: v for k, v in self._callers.items() if v[1] > now}
            if len(self._callers) < MAX_ENTRIES:
                self._callers[token_sha256] = (caller, now + self._ttl_s)


# Live tokens are few (one per service or merchant key); the bound only keeps
# a server's memory flat whatever happens.
MAX_ENTRIES = 10_000
