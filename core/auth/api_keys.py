"""Merchants' API keys: merchant tokens (api_tokens.py) with a label, managed
through ApiKeyService. Stored only as SHA-256, like every token; the secret
is returned once, by create and rotate, and never kept or logged.

Rotation makes a new key of the same account and label and gives the old
one a revoke_time: now, or up to MAX_GRACE_PERIOD_S later so that a
merchant can roll the new key out before the old one stops working.
"""

import uuid

from psycopg.rows import dict_row

from envoi.client import errors
from envoi.core.auth import api_tokens
from envoi.core.enums import Role
from envoi.core.ledger import accounts

MAX_LIVE_KEYS = 10
MAX_GRACE_PERIOD_S = 24 * 3600
MAX_LABEL_LENGTH = 64
# ListApiKeys shows the live keys and those revoked this recently.
LISTED_REVOKED_DAYS = 30
KEY_COLUMNS = (
    "token_id, merchant_account_id, label, create_time, secret_last4, revoke_time,"
    " coalesce(revoke_time <= now(), false) AS revoked, scopes"
)


def create(conn, account_id: str, label: str, scopes: tuple[str, ...] = ()) -> tuple[dict, str]:
    """A new key of a merchant account: (its row, its secret)."""
    accounts.lock_merchant_account(conn, account_id, "API keys")
    live = conn.execute(
        "SELECT count(*) FROM api_tokens WHERE merchant_account_id = %s AND revoke_time IS NULL",
        (account_id,),
    ).fetchone()[0]
    if live >= MAX_LIVE_KEYS:
        raise errors.LimitExceeded(
            f"a merchant has at most {MAX_LIVE_KEYS} live API keys: revoke one first",
            metadata={"limit": "API_KEYS", "max_keys": str(MAX_LIVE_KEYS)},
        )
    token_id, secret = api_tokens.create_token(
        conn, Role.MERCHANT, merchant_account_id=account_id, label=label, scopes=scopes
    )
    return get(conn, token_id), secret


def get(conn, api_key_id: str, *, lock: bool = False) -> dict:
    """The key's row; raises ApiKeyNotFound (tokens of other roles are not API keys)."""
    row = (
        conn.cursor(row_factory=dict_row)
        .execute(
            f"SELECT {KEY_COLUMNS} FROM api_tokens WHERE token_id = %s AND role = 'merchant'"
            + (" FOR NO KEY UPDATE" if lock else ""),
            (uuid.UUID(api_key_id),),
        )
        .fetchone()
    )
    if row is None:
        raise errors.ApiKeyNotFound(f"no API key {api_key_id}", metadata={"api_key_id": api_key_id})
    return row


def list_keys(conn, account_id: str) -> list[dict]:
    accounts.get_account(conn, account_id)
    return (
        conn.cursor(row_factory=dict_row)
        .execute(
            f"SELECT {KEY_COLUMNS} FROM api_tokens WHERE merchant_account_id = %s"
            f" AND (revoke_time IS NULL"
            f"      OR revoke_time > now() - make_interval(days => %s))"
            f" ORDER BY create_time DESC, token_id",
            (account_id, LISTED_REVOKED_DAYS),
        )
        .fetchall()
    )


def rotate(conn, key: dict, grace_period_s: int) -> tuple[dict, str, dict]:
    """Replace a live key (its row, locked): (new row, new secret, old row)."""
    if key["revoke_time"] is not None:
        raise errors.ApiKeyRevoked(
            "this key is revoked or already rotated",
            metadata={"api_key_id": str(key["token_id"])},
        )
    conn.execute(
        "UPDATE api_tokens SET revoke_time = now() + make_interval(secs => %s) WHERE token_id = %s",
        (grace_period_s, key["token_id"]),
    )
    token_id, secret = api_tokens.create_token(
        conn,
        Role.MERCHANT,
        merchant_account_id=str(key["merchant_account_id"]),
        label=key["label"],
        scopes=tuple(key["scopes"]),
    )
    return get(conn, token_id), secret, get(conn, str(key["token_id"]))


def revoke(conn, key: dict) -> dict:
    """Stop a key (its row, locked) now; a revoked key is returned as it is."""
    if not key["revoked"]:
        conn.execute(
            "UPDATE api_tokens SET revoke_time = now() WHERE token_id = %s", (key["token_id"],)
        )
    return get(conn, str(key["token_id"]))
