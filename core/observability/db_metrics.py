"""Gauges read from the database when Prometheus scrapes: the ledger's
transfers (envoi serve), the webhook backlog and the outbox lag (envoi
webhooks), the channel messages not yet sent (envoi gateway).

Each process reads only what its own database role may read, on a pool of
one connection of its own (a scrape never takes an RPC's connection). The
cost is bounded: the queries run at most once per MIN_INTERVAL_S (scrapes in
between get the last values) and each is cut off after QUERY_TIMEOUT_MS;
envoi_metrics_database_up says whether the last read worked."""

import logging
import threading
import time

import psycopg_pool
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from envoi.core.error_causes import cause

log = logging.getLogger("envoi.observability")

MIN_INTERVAL_S = 10.0  # ENVOI_METRICS_DATABASE_INTERVAL_S
QUERY_TIMEOUT_MS = 2000


def transfers(conn) -> list:
    """envoi serve: transfers by kind and state, and the oldest one pending."""
    by_state = GaugeMetricFamily(
        "envoi_transfers", "Transfers in the ledger, by kind and state", labels=["kind", "state"]
    )
    for kind, state, count in conn.execute(
        "SELECT kind, state, count(*) FROM transfers GROUP BY kind, state"
    ):
        by_state.add_metric([kind, state], count)
    [(age_s,)] = conn.execute(
        "SELECT coalesce(extract(epoch FROM now() - min(create_time)), 0) FROM transfers"
        " WHERE state = 'PENDING_CONFIRMATION'"
    )
    oldest = GaugeMetricFamily(
        "envoi_transfer_oldest_pending_seconds",
        "Age of the oldest transfer waiting for its confirmation code (0: none)",
        value=float(age_s),
    )
    return [by_state, oldest]


def webhook_backlog(conn) -> list:
    """envoi webhooks: deliveries waiting, and outbox events not yet fanned out."""
    [(pending, oldest_s)] = conn.execute(
        "SELECT count(*), coalesce(extract(epoch FROM now() - min(create_time)), 0)"
        " FROM webhook_deliveries WHERE state = 'PENDING'"
    )
    [(lag_events, lag_s)] = conn.execute(
        "SELECT count(*), coalesce(extract(epoch FROM now() - min(e.create_time)), 0)"
        " FROM outbox_events e, webhook_cursor c WHERE e.event_id > c.event_id"
    )
    return [
        GaugeMetricFamily(
            "envoi_webhook_deliveries_pending",
            "Webhook deliveries not yet acknowledged by their endpoint",
            value=pending,
        ),
        GaugeMetricFamily(
            "envoi_webhook_oldest_pending_seconds",
            "Age of the oldest webhook delivery still pending (0: none)",
            value=float(oldest_s),
        ),
        GaugeMetricFamily(
            "envoi_outbox_lag_events",
            "Outbox events the webhooks worker has not yet read",
            value=lag_events,
        ),
        GaugeMetricFamily(
            "envoi_outbox_lag_seconds",
            "Age of the oldest outbox event the webhooks worker has not yet read (0: none)",
            value=float(lag_s),
        ),
    ]


def channel_backlog(conn) -> list:
    """envoi gateway: replies and notifications not yet sent, by channel."""
    unsent = GaugeMetricFamily(
        "envoi_channel_messages_unsent",
        "Channel messages (replies, notifications) not yet sent, by channel",
        labels=["channel"],
    )
    oldest = GaugeMetricFamily(
        "envoi_channel_oldest_unsent_seconds",
        "Age of a channel's oldest message not yet sent",
        labels=["channel"],
    )
    for channel, count, age_s in conn.execute(
        "SELECT channel, count(*), extract(epoch FROM now() - min(create_time))"
        " FROM channel_messages WHERE sent_time IS NULL GROUP BY channel"
    ):
        unsent.add_metric([channel], count)
        oldest.add_metric([channel], float(age_s))
    return [unsent, oldest]


class DatabaseCollector(Collector):
    """The families of `reads` (functions of a connection), read at most every
    MIN_INTERVAL_S, on `pool` (closed by close())."""

    def __init__(self, pool: psycopg_pool.ConnectionPool, reads, min_interval_s=MIN_INTERVAL_S):
        self._pool = pool
        self._reads = reads
        self._min_interval_s = min_interval_s
        self._lock = threading.Lock()  # one read at a time; concurrent scrapes share it
        self._read_at = None
        self._families: list = []
        self._up = 0

    def collect(self):
        with self._lock:
            if self._read_at is None or time.monotonic() - self._read_at >= self._min_interval_s:
                self._refresh()
            families = list(self._families)
            up = self._up
        yield from families
        yield GaugeMetricFamily(
            "envoi_metrics_database_up",
            "1 if the last read of the database's gauges worked, else 0",
            value=up,
        )

    def _refresh(self) -> None:
        try:
            with self._pool.connection(timeout=1.0) as conn, conn.transaction():
                conn.execute(f"SET LOCAL statement_timeout = {QUERY_TIMEOUT_MS}")
                self._families = [family for read in self._reads for family in read(conn)]
            self._up = 1
        except Exception as exc:  # the database may be restarting: say so, serve the rest
            log.warning("metrics: database gauges not read: %s", cause(exc))
            self._families, self._up = [], 0
        self._read_at = time.monotonic()

    def close(self) -> None:
        self._pool.close()
