"""`envoi webhooks`: the worker that delivers the outbox to merchants' endpoints.

A loop fans new outbox events out into deliveries, claims the heads of the
endpoints' queues that are due (at most as many as free sending threads) and
hands each to a thread of the pool: one delivery in flight per endpoint, many
endpoints at once, each attempt bounded in time and size (sender.py), so a
slow or hostile endpoint holds one thread for at most ENVOI_WEBHOOKS_TIMEOUT_S
and never the core, which only wrote its outbox. Several workers may run:
leases and the cursor's lock keep them apart.
"""

import datetime
import logging
import threading
import time
from concurrent import futures

import psycopg
import psycopg_pool

from envoi.client.webhooks import SIGNATURE_HEADER, sign_webhook
from envoi.core.api.event_service import encode_cursor
from envoi.core.error_causes import cause
from envoi.core.ledger.transactions import run_in_transaction
from envoi.core.webhooks import deliveries, fan_out, sender
from envoi.core.webhooks.settings import WebhookSettings

log = logging.getLogger("envoi.webhooks")

HOUSEKEEPING_EVERY_S = 60.0


def signature_header(body: bytes, secrets: list[str], timestamp_s: int) -> str:
    """t=<unix>,v1=<hex>[,v1=<hex>]: one v1 per secret that still signs."""
    return ",".join(
        [f"t={timestamp_s}"] + [f"v1={sign_webhook(body, s, timestamp_s)}" for s in secrets]
    )


class Worker:
    def __init__(self, pool: psycopg_pool.ConnectionPool, settings: WebhookSettings):
        self.pool = pool
        self.settings = settings
        self.retry = deliveries.Retry(
            settings.retry_base_s, settings.retry_max_s, settings.give_up_s
        )
        self.limits = sender.Limits(
            settings.connect_timeout_s,
            settings.timeout_s,
            settings.max_response_bytes,
            settings.allow_http_loopback,
        )
        self._in_flight: set[futures.Future] = set()
        self._done = threading.Event()  # a send finished: a slot is free
        self._next_housekeeping = 0.0

    def run(self, stopping: threading.Event) -> None:
        """Until `stopping` is set; then wait for the sends in flight (bounded by
        their timeouts), so that none is left to be sent again."""
        log.info("delivering, %d endpoints at once", self.settings.concurrency)
        with futures.ThreadPoolExecutor(self.settings.concurrency, "envoi-webhook") as pool:
            while not stopping.is_set():
                try:
                    self._housekeeping()
                    busy = self.step(pool)
                except (psycopg.OperationalError, psycopg_pool.PoolTimeout) as unavailable:
                    # The database went away for a while: try again, never exit for it.
                    log.warning("database unavailable: %s", cause(unavailable))
                    busy = False
                if not busy:
                    self._done.wait(self.settings.poll_s)
                    self._done.clear()
            futures.wait(list(self._in_flight))

    def _housekeeping(self) -> None:
        if time.monotonic() >= self._next_housekeeping:
            run_in_transaction(self.pool, deliveries.erase_unused_secrets)
            self._next_housekeeping = time.monotonic() + HOUSEKEEPING_EVERY_S

    def step(self, pool: futures.Executor) -> bool:
        """Fan out one batch, and start what is due; True when there may be more now."""
        read = run_in_transaction(self.pool, fan_out.fan_out)
        free = self.settings.concurrency - len(self._in_flight)
        claimed = []
        if free > 0:
            claimed = run_in_transaction(
                self.pool, lambda conn: deliveries.claim(conn, free, self.settings.lease_s)
            )
        for delivery in claimed:
            future = pool.submit(self.deliver, delivery)
            self._in_flight.add(future)
            future.add_done_callback(self._finished)
        return read == fan_out.BATCH_SIZE or (bool(claimed) and len(claimed) == free)

    def _finished(self, future: futures.Future) -> None:
        self._in_flight.discard(future)
        self._done.set()
        if future.exception() is not None:
            # Its lease runs out and it is claimed again; say what, never the body.
            log.error("a delivery failed to be recorded: %s", type(future.exception()).__name__)

    def deliver(self, delivery: dict) -> None:
        body = delivery["body"].encode()
        attempt_time = datetime.datetime.now(datetime.timezone.utc)
        headers = {
            "Content-Type": "application/json",
            "Envoi-Event-Id": encode_cursor(delivery["tx_id"], delivery["event_id"]),
            SIGNATURE_HEADER: signature_header(body, delivery["secrets"], int(time.time())),
        }
        outcome = sender.post(delivery["url"], body, headers, self.limits)
        run_in_transaction(
            self.pool,
            lambda conn: deliveries.finish(conn, delivery, attempt_time, outcome, self.retry),
        )
        log.info(
            "delivery %s: %s in %d ms",
            delivery["delivery_id"],
            outcome.status_code or outcome.error_class,
            outcome.latency_ms,
        )
