"""Card top-ups in the ledger, each run inside a caller's transaction.

The provider is asked first (outside any transaction); this module records
its answer. The SQL triggers of migrations/0005 do the bookkeeping: a top-up
that SUCCEEDED gets its FUNDING transfer from the funding system account and
its event, once, and a resolved top-up never changes again.
"""

import uuid

from psycopg.rows import dict_row

from envoi.client import errors
from envoi.core import ledger, transfer_policy
from envoi.core.config import Settings
from envoi.core.idempotency import request_sha256
from envoi.providers.provider import CallbackResult, ChargeResult

TOP_UP_COLUMNS = (
    "top_up_id, account_id, currency_code, amount_cents, provider, provider_reference,"
    " card_last4, state, failure_reason, next_action_url, transfer_id, create_time, resolve_time"
)
# Names top-up ids, so that one request always makes the same one.
TOP_UP_ID_NAMESPACE = uuid.UUID("6f1d2a8e-52f4-4c43-9a59-5b1c3f0e7d21")


def top_up_id_for(principal: str, method: str, request) -> str:
    """The id (and the provider's idempotency key) of the top-up a request makes:
    the same request, retried even after a crash, charges the card once."""
    name = f"{principal}\0{request.request_id}\0{request_sha256(method, request).hex()}"
    return str(uuid.uuid5(TOP_UP_ID_NAMESPACE, name))


def creditable_account(
    conn, settings: Settings, account_id: str, currency_code: str, amount_cents: int
) -> dict:
    """The account a top-up of this currency and amount may credit; checked before
    the card is charged (the tier's maximum balance included)."""
    account = ledger.get_account(conn, account_id)
    transfer_policy.check_max_balance(settings, account, amount_cents)
    if account["currency_code"] != currency_code:
        raise errors.CurrencyMismatch(
            f"the account holds {account['currency_code']}, not {currency_code}",
            field_violations={"amount.currency_code": f"must be {account['currency_code']}"},
        )
    return account


def record(
    conn,
    *,
    top_up_id: str,
    account_id: str,
    currency_code: str,
    amount_cents: int,
    provider: str,
    card_token: str,
    charge: ChargeResult,
    initiated_by: str,
) -> dict:
    """Store the provider's answer to a charge; the trigger credits a success."""
    cursor = conn.cursor(row_factory=dict_row)
    row = cursor.execute(
        f"INSERT INTO card_top_ups (top_up_id, account_id, currency_code, amount_cents,"
        f" provider, provider_reference, card_token, card_last4, state, failure_reason,"
        f" next_action_url, initiated_by, resolve_time)"
        f" VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s,"
        f"         CASE WHEN %s <> 'PENDING' THEN now() END)"
        f" ON CONFLICT (top_up_id) DO NOTHING RETURNING {TOP_UP_COLUMNS}",
        (
            top_up_id,
            account_id,
            currency_code,
            amount_cents,
            provider,
            charge.reference,
            card_token,
            charge.card_last4,
            charge.state,
            charge.failure_reason or None,
            charge.next_action_url,
            initiated_by,
            charge.state,
        ),
    ).fetchone()
    # Already there: the same request, retried after its request_id was forgotten.
    return row if row is not None else get(conn, top_up_id)


def get(conn, top_up_id: str) -> dict:
    row = (
        conn.cursor(row_factory=dict_row)
        .execute(f"SELECT {TOP_UP_COLUMNS} FROM card_top_ups WHERE top_up_id = %s", (top_up_id,))
        .fetchone()
    )
    if row is None:
        raise errors.TopUpNotFound(f"no top-up {top_up_id}", metadata={"top_up_id": top_up_id})
    return row


def get_many(conn, top_up_ids: list) -> dict:
    """top_up_id -> row."""
    rows = (
        conn.cursor(row_factory=dict_row)
        .execute(
            f"SELECT {TOP_UP_COLUMNS} FROM card_top_ups WHERE top_up_id = ANY(%s)", (top_up_ids,)
        )
        .fetchall()
    )
    return {row["top_up_id"]: row for row in rows}


def resolve_by_callback(conn, provider: str, result: CallbackResult) -> dict:
    """Apply a verified callback to its top-up, locked: PENDING resolves; the same
    news again changes nothing; news that contradicts the outcome is refused."""
    top_up = (
        conn.cursor(row_factory=dict_row)
        .execute(
            f"SELECT {TOP_UP_COLUMNS} FROM card_top_ups"
            f" WHERE provider = %s AND provider_reference = %s FOR UPDATE",
            (provider, result.reference),
        )
        .fetchone()
    )
    if top_up is None:
        raise errors.TopUpNotFound(
            "no top-up has this provider reference",
            metadata={"provider": provider, "provider_reference": result.reference},
        )
    if top_up["state"] == result.state:
        return top_up  # a callback delivered twice
    if top_up["state"] != "PENDING":
        raise errors.TopUpNotPending(
            f"the top-up already {top_up['state']}",
            metadata={"top_up_id": str(top_up["top_up_id"]), "state": top_up["state"]},
        )
    return (
        conn.cursor(row_factory=dict_row)
        .execute(
            f"UPDATE card_top_ups SET state = %s, failure_reason = %s, next_action_url = '',"
            f" resolve_time = now() WHERE top_up_id = %s RETURNING {TOP_UP_COLUMNS}",
            (result.state, result.failure_reason or None, top_up["top_up_id"]),
        )
        .fetchone()
    )
