"""The `envoi webhooks` worker's settings, from ENVOI_WEBHOOKS_* variables.
WEBHOOKS_HELP is what `envoi webhooks --help` prints: every variable read here."""

import dataclasses
import os

from envoi.core.config import ConfigError

WEBHOOKS_HELP = """\
environment variables:
  ENVOI_WEBHOOKS_DATABASE_URL        the worker's PostgreSQL URL, a member of
                                     envoi_webhooks (docs/operations.md); required
  ENVOI_WEBHOOKS_CONCURRENCY         endpoints sent to at once, one delivery each
                                     (default: 16)
  ENVOI_WEBHOOKS_CONNECT_TIMEOUT_S   to connect (and TLS) (default: 5)
  ENVOI_WEBHOOKS_TIMEOUT_S           a whole attempt, connecting to the last byte
                                     read (default: 10)
  ENVOI_WEBHOOKS_LEASE_S             a claimed delivery is another worker's to send
                                     again if not finished by then; more than
                                     ENVOI_WEBHOOKS_TIMEOUT_S (default: 60)
  ENVOI_WEBHOOKS_RETRY_BASE_S        the wait after a first failure, doubled after
                                     each next one (default: 5)
  ENVOI_WEBHOOKS_RETRY_MAX_S         ... up to this (default: 21600, 6 hours)
  ENVOI_WEBHOOKS_GIVE_UP_S           a delivery failing this long since its first
                                     attempt disables its endpoint (default: 259200,
                                     3 days)
  ENVOI_WEBHOOKS_POLL_S              how often the outbox and the queue are read
                                     (default: 1)
  ENVOI_WEBHOOKS_ALLOW_HTTP_LOOPBACK 1: connect to loopback addresses (tests and
                                     local development only; never in production)
  ENVOI_WEBHOOKS_METRICS_LISTEN      its Prometheus metrics (default: localhost:9466;
                                     empty: off); ENVOI_LOG_FORMAT and OTEL_* as for serve
"""


@dataclasses.dataclass(frozen=True)
class WebhookSettings:
    database_url: str = dataclasses.field(repr=False)
    concurrency: int = 16
    connect_timeout_s: float = 5.0
    timeout_s: float = 10.0
    lease_s: float = 60.0
    retry_base_s: float = 5.0
    retry_max_s: float = 6 * 3600.0
    give_up_s: float = 3 * 24 * 3600.0
    poll_s: float = 1.0
    allow_http_loopback: bool = False
    # Bytes of an answer read at most; the rest is never read.
    max_response_bytes: int = 64 * 1024

    def __post_init__(self):
        if self.concurrency < 1:
            raise ConfigError("ENVOI_WEBHOOKS_CONCURRENCY must be at least 1")
        for name in ("connect_timeout_s", "timeout_s", "retry_base_s", "poll_s", "give_up_s"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"ENVOI_WEBHOOKS_{name.upper()} must be more than 0")
        if self.lease_s <= self.timeout_s:
            raise ConfigError("ENVOI_WEBHOOKS_LEASE_S must be more than ENVOI_WEBHOOKS_TIMEOUT_S")
        if self.retry_max_s < self.retry_base_s:
            raise ConfigError("ENVOI_WEBHOOKS_RETRY_MAX_S must be at least the base")


# The numbers read from ENVOI_WEBHOOKS_<NAME>; the URL and the flag are read apart.
NUMBER_FIELDS = tuple(
    field
    for field in dataclasses.fields(WebhookSettings)
    if field.name not in ("database_url", "max_response_bytes", "allow_http_loopback")
)


def from_environment(env=os.environ, database_url: str | None = None) -> WebhookSettings:
    url = database_url or env.get("ENVOI_WEBHOOKS_DATABASE_URL")
    if not url:
        raise ConfigError("set ENVOI_WEBHOOKS_DATABASE_URL (a member of envoi_webhooks)")
    values = {}
    for field in NUMBER_FIELDS:
        raw = env.get(f"ENVOI_WEBHOOKS_{field.name.upper()}")
        if not raw:
            continue
        try:
            values[field.name] = field.type(raw) if field.type is int else float(raw)
        except ValueError:
            raise ConfigError(f"ENVOI_WEBHOOKS_{field.name.upper()} must be a number") from None
    allow = env.get("ENVOI_WEBHOOKS_ALLOW_HTTP_LOOPBACK") == "1"
    return WebhookSettings(database_url=url, allow_http_loopback=allow, **values)
