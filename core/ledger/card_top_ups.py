"""Card top-ups in the ledger, each run inside a caller's transaction.

The provider is asked first (outside any transaction); this module records
its answer. The SQL triggers of migrations/0007 do the bookkeeping: a top-up
that SUCCEEDED gets its FUNDING transfer from the funding system account and
its event, once, and a resolved top-up never changes again.

The tier's maximum balance is checked twice, each time with the account's row
locked: before the card is charged (counting the account's PENDING top-ups),
and when a charge that succeeded is credited. A charge that no longer fits
then ends FAILED (max_balance_exceeded), credits nothing, and is refunded to
the card (top_up_refunds.py).
"""

import uuid

from psycopg.rows import dict_row

from envoi.client import errors
from envoi.core.config import Settings
from envoi.core.enums import TopUpState
from envoi.core.ledger import accounts, refusals, top_up_refunds
from envoi.core.ledger.idempotency import request_sha256
from envoi.core.policy import transfer_policy
from envoi.providers.provider import CallbackResult, ChargeResult

TOP_UP_COLUMNS = (
    "top_up_id, account_id, currency_code, amount_cents, provider, provider_reference,"
    " card_last4, state, failure_reason, next_action_url, transfer_id, create_time, resolve_time"
)
# The same columns read with the top-up's refund, if it has one.
READ_COLUMNS = (
    ", ".join("u." + column.strip() for column in TOP_UP_COLUMNS.split(","))
    + ", r.amount_cents AS refund_cents, r.provider_reference AS refund_reference,"
    " r.create_time AS refund_create_time, r.send_time AS refund_send_time"
)
READ_FROM = "card_top_ups u LEFT JOIN top_up_refunds r USING (top_up_id)"
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
    the card is charged, with the account locked: its tier's maximum balance
    counts the top-ups still waiting for 3-D Secure too. Charges in flight at
    the provider are not rows yet: the check at completion catches those."""
    account = accounts.get_account(conn, account_id, lock=True)
    refusals.check(conn, "account_status_refusal(%s, false)", (account_id,))
    pending_cents = conn.execute(
        "SELECT coalesce(sum(amount_cents), 0) FROM card_top_ups"
        " WHERE account_id = %s AND state = 'PENDING'",
        (account_id,),
    ).fetchone()[0]
    transfer_policy.check_max_balance(conn, settings, account_id, pending_cents + amount_cents)
    transfer_policy.check_currency(conn, account["currency_code"], currency_code, "the account")
    return account


def _outcome(conn, settings: Settings, account_id, amount_cents: int, state: str, reason):
    """(state, failure_reason) to record for a charge's news: a success whose credit
    would pass the maximum balance of the account, locked here, fails with envoi's
    own reason (and is refunded)."""
    if state == TopUpState.SUCCEEDED:
        account = accounts.get_account(conn, str(account_id), lock=True)
        # A closed account may hold nothing: its maximum balance is 0.
        if account["close_time"] is not None or not transfer_policy.fits_max_balance(
            conn, settings, account_id, amount_cents
        ):
            return TopUpState.FAILED, top_up_refunds.MAX_BALANCE_EXCEEDED
    return state, reason or None


def record(
    conn,
    settings: Settings,
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
    state, failure_reason = _outcome(
        conn, settings, account_id, amount_cents, charge.state, charge.failure_reason
    )
    inserted = conn.execute(
        "INSERT INTO card_top_ups (top_up_id, account_id, currency_code, amount_cents,"
        " provider, provider_reference, card_token, card_last4, state, failure_reason,"
        " next_action_url, initiated_by, resolve_time)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s,"
        "         CASE WHEN %s <> 'PENDING' THEN now() END)"
        " ON CONFLICT (top_up_id) DO NOTHING RETURNING top_up_id",
        (
            top_up_id,
            account_id,
            currency_code,
            amount_cents,
            provider,
            charge.reference,
            card_token,
            charge.card_last4,
            state,
            failure_reason,
            charge.next_action_url,
            initiated_by,
            state,
        ),
    ).fetchone()
    # Not inserted: the same request, retried after its request_id was forgotten.
    if inserted is not None and failure_reason == top_up_refunds.MAX_BALANCE_EXCEEDED:
        top_up_refunds.record(conn, top_up_id)
    return get(conn, top_up_id)


def get(conn, top_up_id: str) -> dict:
    row = (
        conn.cursor(row_factory=dict_row)
        .execute(f"SELECT {READ_COLUMNS} FROM {READ_FROM} WHERE top_up_id = %s", (top_up_id,))
        .fetchone()
    )
    if row is None:
        raise errors.TopUpNotFound(f"no top-up {top_up_id}", metadata={"top_up_id": top_up_id})
    return row


def get_many(conn, top_up_ids: list) -> dict:
    """top_up_id -> row."""
    rows = (
        conn.cursor(row_factory=dict_row)
        .execute(f"SELECT {READ_COLUMNS} FROM {READ_FROM} WHERE top_up_id = ANY(%s)", (top_up_ids,))
        .fetchall()
    )
    return {row["top_up_id"]: row for row in rows}


def resolve_by_callback(conn, settings: Settings, provider: str, result: CallbackResult) -> dict:
    """Apply a verified callback to its top-up, locked: PENDING resolves (a success
    that no longer fits the maximum balance fails and is refunded); the same news
    again changes nothing; news that contradicts the outcome is refused."""
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
    refunded = top_up["failure_reason"] == top_up_refunds.MAX_BALANCE_EXCEEDED
    if top_up["state"] == result.state or (refunded and result.state == TopUpState.SUCCEEDED):
        return get(conn, top_up["top_up_id"])  # a callback delivered twice
    if top_up["state"] != TopUpState.PENDING:
        raise errors.TopUpNotPending(
            f"the top-up already {top_up['state']}",
            metadata={"top_up_id": str(top_up["top_up_id"]), "state": top_up["state"]},
        )
    state, failure_reason = _outcome(
        conn,
        settings,
        top_up["account_id"],
        top_up["amount_cents"],
        result.state,
        result.failure_reason,
    )
    conn.execute(
        "UPDATE card_top_ups SET state = %s, failure_reason = %s, next_action_url = '',"
        " resolve_time = now() WHERE top_up_id = %s",
        (state, failure_reason, top_up["top_up_id"]),
    )
    if failure_reason == top_up_refunds.MAX_BALANCE_EXCEEDED:
        top_up_refunds.record(conn, top_up["top_up_id"])
    return get(conn, top_up["top_up_id"])
