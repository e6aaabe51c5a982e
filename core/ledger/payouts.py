"""Payouts in the ledger, each run inside a caller's transaction.

A payout is inserted PENDING, which holds its amount on the account (SQL
trigger, migrations/0005): what is held cannot be spent or withdrawn again.
It is handed to the provider after that commits (payout_submission.py), and
a signed callback settles it (the PAYOUT transfer moves the money out) or
fails it (the hold is released and the money stays).
"""

import uuid

import psycopg.errors
from psycopg.rows import dict_row

from envoi.client import errors
from envoi.core.config import Settings
from envoi.core.enums import PayoutState
from envoi.core.ledger import accounts, refusals
from envoi.providers.provider import CallbackResult

PAYOUT_COLUMNS = (
    "payout_id, account_id, currency_code, amount_cents, provider, provider_reference, iban,"
    " beneficiary_name, state, failure_reason, transfer_id, create_time, submit_time,"
    " resolve_time"
)


def hold(
    conn,
    settings: Settings,
    code_key: bytes,
    *,
    account: dict,
    code: str,
    amount_cents: int,
    iban: str,
    beneficiary_name: str,
    provider: str,
    initiated_by: str,
) -> dict:
    """Check the holder's code (outside a code reset's hold) and the available
    balance of the locked account, then hold the amount: a PENDING payout."""
    refusals.check(
        conn,
        "code_hold_refusal(a) FROM accounts a WHERE a.account_id = %s",
        (account["account_id"],),
    )
    accounts.verify_code(conn, settings, code_key, account, code)
    refusals.check(
        conn,
        "coalesce(monthly_outgoing_refusal(%s, a, %s::bigint),"
        " available_refusal(a, %s::bigint, 'the account''s'))"
        " FROM account_for(%s, false) a",
        (refusals.rules(settings), amount_cents, amount_cents, account["account_id"]),
    )
    try:
        return (
            conn.cursor(row_factory=dict_row)
            .execute(
                f"INSERT INTO payouts (payout_id, account_id, currency_code, amount_cents,"
                f" provider, iban, beneficiary_name, state, initiated_by)"
                f" VALUES (%s, %s, %s, %s, %s, %s, %s, 'PENDING', %s)"
                f" RETURNING {PAYOUT_COLUMNS}",
                (
                    uuid.uuid4(),
                    account["account_id"],
                    account["currency_code"],
                    amount_cents,
                    provider,
                    iban,
                    beneficiary_name,
                    initiated_by,
                ),
            )
            .fetchone()
        )
    except psycopg.errors.CheckViolation as exc:
        # The database's own floor check: the last word on overdrafts.
        if exc.diag.constraint_name == "balance_above_floor":
            raise errors.InsufficientFunds("the account's available balance is too low") from None
        raise


def get(conn, payout_id: str) -> dict:
    row = (
        conn.cursor(row_factory=dict_row)
        .execute(f"SELECT {PAYOUT_COLUMNS} FROM payouts WHERE payout_id = %s", (payout_id,))
        .fetchone()
    )
    if row is None:
        raise errors.PayoutNotFound(f"no payout {payout_id}", metadata={"payout_id": payout_id})
    return row


def get_many(conn, payout_ids: list) -> dict:
    """payout_id -> row."""
    rows = (
        conn.cursor(row_factory=dict_row)
        .execute(f"SELECT {PAYOUT_COLUMNS} FROM payouts WHERE payout_id = ANY(%s)", (payout_ids,))
        .fetchall()
    )
    return {row["payout_id"]: row for row in rows}


def unsubmitted(conn, *, older_than_s: float, limit: int) -> list[str]:
    """Pending payouts no provider has taken yet, oldest first."""
    return [
        str(row[0])
        for row in conn.execute(
            "SELECT payout_id FROM payouts WHERE state = 'PENDING' AND submit_time IS NULL"
            " AND create_time < now() - make_interval(secs => %s) ORDER BY create_time LIMIT %s",
            (older_than_s, limit),
        )
    ]


def mark_submitted(conn, payout_id: str, provider_reference: str) -> bool:
    """Record the provider's reference, once; False if it was recorded already."""
    return bool(
        conn.execute(
            "UPDATE payouts SET provider_reference = %s, submit_time = now()"
            " WHERE payout_id = %s AND state = 'PENDING' AND submit_time IS NULL",
            (provider_reference, payout_id),
        ).rowcount
    )


def resolve_by_callback(conn, provider: str, result: CallbackResult) -> dict:
    """Apply a verified callback to its payout, locked: PENDING settles or fails;
    the same news again changes nothing; contradicting news is refused."""
    payout = (
        conn.cursor(row_factory=dict_row)
        .execute(
            f"SELECT {PAYOUT_COLUMNS} FROM payouts"
            f" WHERE provider = %s AND provider_reference = %s FOR UPDATE",
            (provider, result.reference),
        )
        .fetchone()
    )
    if payout is None:
        raise errors.PayoutNotFound(
            "no payout has this provider reference",
            metadata={"provider": provider, "provider_reference": result.reference},
        )
    if payout["state"] == result.state:
        return payout  # a callback delivered twice
    if payout["state"] != PayoutState.PENDING:
        raise errors.PayoutNotPending(
            f"the payout is already {payout['state']}",
            metadata={"payout_id": str(payout["payout_id"]), "state": payout["state"]},
        )
    # The account's row first, as everywhere: then the triggers lock nothing new.
    conn.execute(
        "SELECT 1 FROM accounts WHERE account_id = %s FOR NO KEY UPDATE", (payout["account_id"],)
    )
    return (
        conn.cursor(row_factory=dict_row)
        .execute(
            f"UPDATE payouts SET state = %s, failure_reason = %s, resolve_time = now()"
            f" WHERE payout_id = %s RETURNING {PAYOUT_COLUMNS}",
            (result.state, result.failure_reason or None, payout["payout_id"]),
        )
        .fetchone()
    )
