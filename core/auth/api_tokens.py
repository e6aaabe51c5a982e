"""Bearer tokens: made by `envoi token create`, stored only as their SHA-256.

A token is 32 random bytes, so a plain SHA-256 is enough to make the stored
value useless to whoever reads the database, and it can be looked up by index.
"""

import hashlib
import secrets
import uuid

import psycopg

from envoi.core.auth.caller import Caller
from envoi.core.enums import Role

ROLES = tuple(role.value for role in Role)
# What a merchant's key may do beyond its role: `refunds` sends money back to
# payers without a code (RefundTransfer; docs/security.md).
SCOPES = ("refunds",)
TOKEN_PREFIX = "envoi_"


def token_sha256(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def create_token(
    conn: psycopg.Connection,
    role: str,
    *,
    channel_name: str | None = None,
    merchant_account_id: str | None = None,
    label: str = "",
    scopes: tuple[str, ...] = (),
) -> tuple[str, str]:
    """Store a new token; return (token_id, token). The token is shown only here.
    scopes: what a merchant's key may do beyond its role (SCOPES)."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    if (role == Role.CHANNEL) != (channel_name is not None):
        raise ValueError("a channel token, and only one, names its channel (--channel)")
    if (role == Role.MERCHANT) != (merchant_account_id is not None):
        raise ValueError("a merchant token, and only one, names its account (--account)")
    if scopes and (role != Role.MERCHANT or not set(scopes) <= set(SCOPES)):
        raise ValueError(f"only a merchant key has scopes, among {', '.join(SCOPES)}")
    if merchant_account_id is not None:
        kind = conn.execute(
            "SELECT kind FROM accounts WHERE account_id = %s", (uuid.UUID(merchant_account_id),)
        ).fetchone()
        if kind is None or kind[0] != "MERCHANT":
            raise ValueError("--account must be a merchant account")
    token_id = str(uuid.uuid4())
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    conn.execute(
        "INSERT INTO api_tokens (token_id, token_sha256, role, channel_name, merchant_account_id,"
        " label, secret_last4, scopes) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
        (
            token_id,
            token_sha256(token),
            role,
            channel_name,
            merchant_account_id,
            label,
            token[-4:] if role == Role.MERCHANT else "",
            sorted(set(scopes)),
        ),
    )
    return token_id, token


def revoke_token(conn: psycopg.Connection, token_id: str) -> bool:
    """Revoke a token; False if there is no such live token."""
    cur = conn.execute(
        "UPDATE api_tokens SET revoke_time = now() WHERE token_id = %s"
        " AND (revoke_time IS NULL OR revoke_time > now())",
        (uuid.UUID(token_id),),
    )
    return cur.rowcount == 1


def caller_for_token_sha256(conn: psycopg.Connection, sha256: bytes) -> Caller | None:
    """The caller a live token (given by its SHA-256) stands for, or None."""
    row = conn.execute(
        "SELECT token_id, role, channel_name, merchant_account_id, revoke_time IS NOT NULL,"
        " scopes FROM api_tokens"
        # A rotated merchant key may have a grace period: revoked in the future.
        " WHERE token_sha256 = %s AND (revoke_time IS NULL OR revoke_time > now())",
        (sha256,),
    ).fetchone()
    if row is None:
        return None
    token_id, role, channel_name, merchant_account_id, in_grace_period, scopes = row
    return Caller(
        str(token_id),
        role,
        channel_name,
        str(merchant_account_id) if merchant_account_id else None,
        in_grace_period,
        frozenset(scopes),
    )
