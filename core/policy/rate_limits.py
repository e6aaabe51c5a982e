"""Per-identity rate limits on InitiateTransfer: a flood of posts from one
social identity is refused early (RATE_LIMITED) instead of drowning the
service, while everyone else goes on.

A token bucket per key, in this server process: `burst` requests at once,
then `per_minute` a minute. It lives in memory, so a limit holds per process
(N processes let through up to N times the rate) and starts afresh at a
restart; counting in PostgreSQL would cost a write per request, and a
transaction that fails would roll its count back.
"""

import threading
import time

# Buckets kept at most; full ones (idle identities) are dropped first.
MAX_BUCKETS = 100_000


class RateLimiter:
    def __init__(self, per_minute: int, burst: int, clock=time.monotonic):
        self._rate_per_s = per_minute / 60
        self._burst = burst
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[tuple, tuple[float, float]] = {}  # key -> (tokens, at)

    @property
    def enabled(self) -> bool:
        return self._rate_per_s > 0

    def take(self, key: tuple) -> float | None:
        """Spend one request of `key`; None if allowed, else seconds to wait."""
        if not self.enabled:
            return None
        with self._lock:
            now = self._clock()
            tokens, at = self._buckets.get(key, (self._burst, now))
            tokens = min(self._burst, tokens + (now - at) * self._rate_per_s)
            if tokens < 1:
                self._buckets[key] = (tokens, now)
                return (1 - tokens) / self._rate_per_s
            if len(self._buckets) >= MAX_BUCKETS and key not in self._buckets:
                self._drop_full_buckets(now)
            self._buckets[key] = (tokens - 1, now)
            return None

    def give_back(self, key: tuple) -> None:
        """Return the request `take` spent, when it turned out to be a retry."""
        if not self.enabled:
            return
        with self._lock:
            tokens, at = self._buckets.get(key, (self._burst, self._clock()))
            self._buckets[key] = (min(self._burst, tokens + 1), at)

    def _drop_full_buckets(self, now: float) -> None:
        self._buckets = {
            key: (tokens, at)
            for key, (tokens, at) in self._buckets.items()
            if tokens + (now - at) * self._rate_per_s < self._burst
        }
