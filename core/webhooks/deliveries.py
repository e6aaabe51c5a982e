"""The delivery queue, as the worker claims and finishes it.

An endpoint's queue is its PENDING deliveries by delivery_id; only its head
is ever claimed, and only when no lease on it runs: one delivery in flight per
endpoint, in order. A claim is a lease (lease_expire_time), taken under
FOR UPDATE SKIP LOCKED so that workers never wait on each other. The
attempt's result, the state and the lease's end are written in one
transaction: a delivery marked SUCCEEDED is never claimed again, and one
whose worker died is claimed again when its lease runs out (at least once).
"""

import dataclasses

from psycopg.rows import dict_row

from envoi.core.enums import EventType
from envoi.core.webhooks.sender import Outcome

# A secret rotated less than this long ago still signs, beside the new one.
ROTATION_OVERLAP_S = 24 * 3600

HEADS = """
SELECT delivery_id FROM (
    SELECT DISTINCT ON (d.endpoint_id) d.delivery_id, d.next_attempt_time, d.lease_expire_time
      FROM webhook_deliveries d JOIN webhook_endpoints e ON e.endpoint_id = d.endpoint_id
     WHERE d.state = 'PENDING' AND e.delete_time IS NULL AND e.disable_time IS NULL
     ORDER BY d.endpoint_id, d.delivery_id) heads
 WHERE next_attempt_time <= now() AND (lease_expire_time IS NULL OR lease_expire_time <= now())
 ORDER BY next_attempt_time LIMIT %(limit)s
"""

CLAIM = """
UPDATE webhook_deliveries d
   SET lease_expire_time = now() + make_interval(secs => %(lease_s)s)
  FROM webhook_endpoints e
 WHERE e.endpoint_id = d.endpoint_id AND d.delivery_id IN (
        SELECT delivery_id FROM webhook_deliveries
         WHERE delivery_id = ANY(%(ids)s) AND state = 'PENDING'
           AND (lease_expire_time IS NULL OR lease_expire_time <= now())
           FOR UPDATE SKIP LOCKED)
RETURNING d.delivery_id, d.endpoint_id, d.event_id, d.body, d.lease_expire_time, e.url,
          (SELECT tx_id::text::bigint FROM outbox_events o WHERE o.event_id = d.event_id) AS tx_id,
          (SELECT array_agg(secret ORDER BY secret_id DESC) FROM (
               SELECT s.secret, s.secret_id, s.create_time,
                      max(s.create_time) OVER () AS newest, rank() OVER w AS newness
                 FROM webhook_secrets s WHERE s.endpoint_id = d.endpoint_id
               WINDOW w AS (ORDER BY s.secret_id DESC)) s
            WHERE newness = 1
               OR (newness = 2 AND newest > now() - make_interval(secs => %(overlap_s)s)))
          AS secrets
"""


@dataclasses.dataclass(frozen=True)
class Retry:
    base_s: float
    max_s: float
    give_up_s: float

    def delay_s(self, attempt_count: int) -> float:
        """After the attempt_count-th failure: base, doubled each time, capped."""
        return min(self.max_s, self.base_s * 2 ** min(attempt_count - 1, 40))


def claim(conn, limit: int, lease_s: float) -> list[dict]:
    """Up to `limit` endpoints' heads that are due, leased to the caller."""
    ids = [row[0] for row in conn.execute(HEADS, {"limit": limit}).fetchall()]
    if not ids:
        return []
    params = {"ids": ids, "lease_s": lease_s, "overlap_s": ROTATION_OVERLAP_S}
    return conn.cursor(row_factory=dict_row).execute(CLAIM, params).fetchall()


def finish(conn, delivery: dict, attempt_time, outcome: Outcome, retry: Retry) -> None:
    """Record one attempt and end the lease, in the caller's transaction."""
    conn.execute(
        "INSERT INTO webhook_attempts (delivery_id, attempt_time, status_code, latency_ms,"
        " error_class, response_excerpt) VALUES (%s, %s, %s, %s, %s, %s)",
        (
            delivery["delivery_id"],
            attempt_time,
            outcome.status_code,
            outcome.latency_ms,
            outcome.error_class,
            outcome.response_excerpt,
        ),
    )
    row = conn.execute(
        "UPDATE webhook_deliveries SET attempt_count = attempt_count + 1,"
        " first_attempt_time = coalesce(first_attempt_time, %s), lease_expire_time = NULL"
        " WHERE delivery_id = %s AND state = 'PENDING'"
        " RETURNING attempt_count, now() - first_attempt_time >= make_interval(secs => %s)",
        (attempt_time, delivery["delivery_id"], retry.give_up_s),
    ).fetchone()
    if row is None:  # finished by another worker after this one's lease ran out
        return
    attempt_count, too_long = row
    if outcome.acknowledged:
        _set_state(conn, delivery, "SUCCEEDED")
    elif too_long:
        _set_state(conn, delivery, "FAILED")
        disable_endpoint(conn, delivery["endpoint_id"])
    else:
        conn.execute(
            "UPDATE webhook_deliveries SET next_attempt_time = now() + make_interval(secs => %s)"
            " WHERE delivery_id = %s",
            (retry.delay_s(attempt_count), delivery["delivery_id"]),
        )


def _set_state(conn, delivery: dict, state: str) -> None:
    conn.execute(
        "UPDATE webhook_deliveries SET state = %s, finish_time = now() WHERE delivery_id = %s",
        (state, delivery["delivery_id"]),
    )


def disable_endpoint(conn, endpoint_id) -> None:
    """Stop sending to it, and tell its owner (an outbox event, delivered to
    the owner's other endpoints and WatchEvents streams like any other)."""
    disabled = conn.execute(
        "UPDATE webhook_endpoints SET disable_time = now()"
        " WHERE endpoint_id = %s AND disable_time IS NULL RETURNING endpoint_id",
        (endpoint_id,),
    ).fetchone()
    if disabled:
        conn.execute(
            "INSERT INTO outbox_events (event_type, webhook_endpoint_id) VALUES (%s, %s)",
            (EventType.WEBHOOK_ENDPOINT_DISABLED, endpoint_id),
        )


def erase_unused_secrets(conn) -> None:
    """Secrets that sign nothing any more: a deleted endpoint's, and those a
    rotation replaced more than the overlap ago."""
    conn.execute(
        "DELETE FROM webhook_secrets s USING webhook_endpoints e"
        " WHERE e.endpoint_id = s.endpoint_id AND e.delete_time IS NOT NULL"
    )
    conn.execute(
        "DELETE FROM webhook_secrets s WHERE EXISTS (SELECT FROM webhook_secrets newer"
        "  WHERE newer.endpoint_id = s.endpoint_id AND newer.secret_id > s.secret_id"
        "  AND newer.create_time <= now() - make_interval(secs => %s))",
        (ROTATION_OVERLAP_S,),
    )
