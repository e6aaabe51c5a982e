"""Webhook endpoints, their secrets and their delivery log, as the server
reads and changes them (WebhookService).

A secret is made here, written to webhook_secrets (which the server's role may
insert into but not read) and returned once. The `envoi webhooks` worker's
role alone reads it, to sign.
"""

import secrets as random_secrets

from psycopg.rows import dict_row

from envoi.client import errors
from envoi.core.ledger import accounts

MAX_ENDPOINTS = 16
SECRET_PREFIX = "whsec_"
# ListWebhookDeliveries shows at most this many attempts of each delivery.
LISTED_ATTEMPTS = 20
ENDPOINT_COLUMNS = "endpoint_id, account_id, url, event_types, create_time, disable_time"


def new_secret(conn, endpoint_id: str) -> str:
    secret = SECRET_PREFIX + random_secrets.token_urlsafe(32)
    conn.execute(
        "INSERT INTO webhook_secrets (endpoint_id, secret) VALUES (%s, %s)", (endpoint_id, secret)
    )
    return secret


def create(conn, account_id: str, url: str, event_types: list[str]) -> tuple[dict, str]:
    """A new endpoint of a merchant account: (its row, its secret)."""
    accounts.lock_merchant_account(conn, account_id, "webhooks")
    live = conn.execute(
        "SELECT count(*) FROM webhook_endpoints WHERE account_id = %s AND delete_time IS NULL",
        (account_id,),
    ).fetchone()[0]
    if live >= MAX_ENDPOINTS:
        raise errors.LimitExceeded(
            f"a merchant has at most {MAX_ENDPOINTS} webhook endpoints: delete one first",
            metadata={"limit": "WEBHOOK_ENDPOINTS", "max_endpoints": str(MAX_ENDPOINTS)},
        )
    row = _rows(
        conn,
        f"INSERT INTO webhook_endpoints (account_id, url, event_types) VALUES (%s, %s, %s)"
        f" RETURNING {ENDPOINT_COLUMNS}",
        (account_id, url, event_types),
    )[0]
    return row, new_secret(conn, row["endpoint_id"])


def get(conn, endpoint_id: str, *, lock: bool = False) -> dict:
    """A live (not deleted) endpoint; raises WebhookEndpointNotFound."""
    rows = _rows(
        conn,
        f"SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints"
        f" WHERE endpoint_id = %s AND delete_time IS NULL" + (" FOR UPDATE" if lock else ""),
        (endpoint_id,),
    )
    if not rows:
        raise errors.WebhookEndpointNotFound(
            "no such webhook endpoint", metadata={"endpoint_id": endpoint_id}
        )
    return rows[0]


def list_endpoints(conn, account_id: str) -> list[dict]:
    return _rows(
        conn,
        f"SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints"
        f" WHERE account_id = %s AND delete_time IS NULL ORDER BY create_time DESC, endpoint_id",
        (account_id,),
    )


def delete(conn, endpoint_id: str) -> None:
    conn.execute(
        "UPDATE webhook_endpoints SET delete_time = now() WHERE endpoint_id = %s", (endpoint_id,)
    )


def require_enabled(endpoint: dict) -> None:
    if endpoint["disable_time"] is not None:
        raise errors.WebhookEndpointDisabled(
            "this endpoint was disabled after failing for days: create a new one",
            metadata={"endpoint_id": str(endpoint["endpoint_id"])},
        )


DELIVERY_COLUMNS = (
    "d.delivery_id, d.endpoint_id, d.event_id, d.event_type, d.state, d.create_time,"
    " d.next_attempt_time, d.attempt_count, o.tx_id::text::bigint AS tx_id"
)


def list_deliveries(conn, endpoint_id: str, before_id: int | None, limit: int) -> list[dict]:
    """Newest first, below before_id; each with its last LISTED_ATTEMPTS attempts."""
    rows = _rows(
        conn,
        f"SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries d"
        f" JOIN outbox_events o ON o.event_id = d.event_id"
        f" WHERE d.endpoint_id = %s AND d.delivery_id < %s"
        f" ORDER BY d.delivery_id DESC LIMIT %s",
        (endpoint_id, before_id if before_id is not None else 2**63 - 1, limit),
    )
    attempts = _rows(
        conn,
        "SELECT * FROM (SELECT a.*, row_number() OVER"
        " (PARTITION BY delivery_id ORDER BY attempt_id DESC) AS newness"
        " FROM webhook_attempts a WHERE delivery_id = ANY(%s)) a"
        " WHERE newness <= %s ORDER BY attempt_id",
        ([row["delivery_id"] for row in rows], LISTED_ATTEMPTS),
    )
    for row in rows:
        row["attempts"] = [a for a in attempts if a["delivery_id"] == row["delivery_id"]]
    return rows


def get_delivery(conn, delivery_id: int) -> dict:
    rows = _rows(
        conn,
        "SELECT delivery_id, endpoint_id, event_id, event_type, body"
        " FROM webhook_deliveries WHERE delivery_id = %s",
        (delivery_id,),
    )
    if not rows:
        raise errors.WebhookDeliveryNotFound(
            "no such webhook delivery", metadata={"delivery_id": str(delivery_id)}
        )
    return rows[0]


def redeliver(conn, delivery: dict) -> dict:
    """A new delivery of the same event and body, at the end of the queue."""
    delivery_id = conn.execute(
        "INSERT INTO webhook_deliveries (endpoint_id, event_id, event_type, body, redelivery_of)"
        " VALUES (%s, %s, %s, %s, %s) RETURNING delivery_id",
        (
            delivery["endpoint_id"],
            delivery["event_id"],
            delivery["event_type"],
            delivery["body"],
            delivery["delivery_id"],
        ),
    ).fetchone()[0]
    row = list_deliveries(conn, delivery["endpoint_id"], delivery_id + 1, 1)[0]
    return row


def _rows(conn, sql: str, params) -> list[dict]:
    return conn.cursor(row_factory=dict_row).execute(sql, params).fetchall()
