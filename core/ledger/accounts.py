"""Accounts: opening, reading under lock, codes, tiers, envoi's own system accounts."""

from __future__ import annotations

import uuid

import psycopg
import psycopg.errors
from psycopg.rows import dict_row

from envoi.client import errors
from envoi.core.config import Settings
from envoi.core.enums import AccountKind
from envoi.core.ledger import identities, refusals
from envoi.core.ledger.idempotency import RecordedFailure
from envoi.core.policy import confirmation_codes

FUNDING_PURPOSE = "FUNDING"
ESCROW_PURPOSE = "ESCROW"
PAYOUT_PURPOSE = "PAYOUT"
FEE_REVENUE_PURPOSE = "FEE_REVENUE"
# The end of a code reset's hold (code_resets.py) while it lasts, else NULL:
# compared by the database's clock, with the read of the row.
CODE_HOLD_END_TIME = (
    "CASE WHEN code_hold_end_time > now() THEN code_hold_end_time END AS code_hold_end_time"
)
ACCOUNT_COLUMNS = (
    "account_id, kind, display_name, currency_code,"
    " account_balance_cents(accounts) AS balance_cents, held_cents, floor_cents, code_hmac,"
    " failed_code_attempts, create_time, tier, notification_preference, credits_deferred,"
    " legal_name, registration_country_code, registration_number, profile_verify_time,"
    " fee_basis_points, fee_fixed_cents, debit_mandate_reason, debit_mandate_time,"
    " freeze_time, freeze_reason, close_time, " + CODE_HOLD_END_TIME
)
# Accounts the account APIs never show: envoi's own, and collections (read and
# moved only through CollectionService, so that no other path pays into or
# out of one).
HIDDEN_KINDS = "('SYSTEM', 'COLLECTION')"


def ensure_system_accounts(conn: psycopg.Connection, currencies) -> None:
    """Per currency: the funding account credited money comes from (no floor),
    the escrow account money for unclaimed identities waits in (floor 0), the
    payout account settled payouts go to: money that left (floor 0), and the
    fee revenue account merchants' fees go to (floor 0)."""
    for currency in currencies:
        for purpose, floor_cents in (
            (FUNDING_PURPOSE, None),
            (ESCROW_PURPOSE, 0),
            (PAYOUT_PURPOSE, 0),
            (FEE_REVENUE_PURPOSE, 0),
        ):
            conn.execute(
                "INSERT INTO accounts (account_id, kind, system_purpose, display_name,"
                " currency_code, floor_cents) VALUES (%s, 'SYSTEM', %s, %s, %s, %s)"
                " ON CONFLICT (system_purpose, currency_code) DO NOTHING",
                (
                    uuid.uuid4(),
                    purpose,
                    f"envoi {purpose.lower()} {currency}",
                    currency,
                    floor_cents,
                ),
            )


def system_account_id(conn, purpose: str, currency_code: str):
    return conn.execute(
        "SELECT account_id FROM accounts WHERE system_purpose = %s AND currency_code = %s",
        (purpose, currency_code),
    ).fetchone()[0]


def open_account(
    conn,
    settings: Settings,
    code_key: bytes,
    *,
    kind: str,
    display_name: str,
    currency_code: str,
    code: str,
) -> dict:
    account_id = str(uuid.uuid4())
    # A new merchant pays the server's default fee until an admin sets its own.
    fees = (
        (settings.merchant_fee_basis_points, settings.merchant_fee_fixed_cents)
        if kind == AccountKind.MERCHANT
        else (None, None)
    )
    return (
        conn.cursor(row_factory=dict_row)
        .execute(
            f"INSERT INTO accounts (account_id, kind, display_name, currency_code, code_hmac,"
            f" fee_basis_points, fee_fixed_cents)"
            f" VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING {ACCOUNT_COLUMNS}",
            (
                account_id,
                kind,
                display_name,
                currency_code,
                confirmation_codes.code_hmac(code_key, account_id, code),
                *fees,
            ),
        )
        .fetchone()
    )


def lock_merchant_account(conn, account_id: str, what: str) -> dict:
    """The account's row, locked (it serialises the creations of `what`, API
    keys or webhook endpoints, for their count); InvalidArgument unless it
    is a merchant's."""
    account = get_account(conn, account_id, lock=True)
    if account["kind"] != "MERCHANT":
        raise errors.InvalidArgument(
            f"{what} are for merchant accounts",
            field_violations={"account_id": "must be a MERCHANT account"},
        )
    return account


def get_account(conn, account_id: str, *, lock: bool = False) -> dict:
    """The account row; raises AccountNotFound (system accounts are not shown)."""
    sql = (
        f"SELECT {ACCOUNT_COLUMNS} FROM accounts"
        f" WHERE account_id = %s AND kind NOT IN {HIDDEN_KINDS}"
    )
    row = (
        conn.cursor(row_factory=dict_row)
        .execute(sql + (" FOR NO KEY UPDATE" if lock else ""), (account_id,))
        .fetchone()
    )
    if row is None:
        raise errors.AccountNotFound(
            f"no account {account_id}", metadata={"account_id": account_id}
        )
    return row


def change_code(
    conn, settings: Settings, code_key: bytes, account: dict, current_code: str, new_code: str
) -> dict:
    """Set a new code on the locked `account` if `current_code` is its code now
    (verify_code: a wrong one is counted, a locked code stays locked)."""
    verify_code(conn, settings, code_key, account, current_code)
    account_id = str(account["account_id"])
    return (
        conn.cursor(row_factory=dict_row)
        .execute(
            f"UPDATE accounts SET code_hmac = %s WHERE account_id = %s RETURNING {ACCOUNT_COLUMNS}",
            (confirmation_codes.code_hmac(code_key, account_id, new_code), account_id),
        )
        .fetchone()
    )


def verify_code(conn, settings: Settings, code_key: bytes, account: dict, code: str) -> None:
    """Raise CodeLocked, or InvalidCode (recorded: the attempt is counted), unless
    `code` is the account's; a right code clears the count. `account` is locked.
    The SQL function code_attempt compares and counts: it gets the HMAC of the
    typed code, computed here under the key, which never reaches the database."""
    account_id = str(account["account_id"])
    try:
        refusal = conn.execute(
            "SELECT code_attempt(%s, a, %s) FROM accounts a WHERE a.account_id = %s",
            (
                refusals.rules(settings),
                confirmation_codes.code_hmac(code_key, account_id, code),
                account_id,
            ),
        ).fetchone()[0]
    except psycopg.Error as exc:
        raise refusals.error_for_exception(exc) or exc from None
    if refusal is not None:
        raise RecordedFailure(refusals.error_for(refusal))


def set_tier(conn, settings: Settings, account_id: str, tier: str) -> list:
    """Move an account to a tier; return what its identities can claim now."""
    get_account(conn, account_id, lock=True)
    conn.execute("UPDATE accounts SET tier = %s WHERE account_id = %s", (tier, account_id))
    return [
        transfer
        for identity in identities.account_identities(conn, account_id)
        for transfer in identities.claim_for_identity(conn, settings, identity, account_id)
    ]


def set_notification_preference(conn, account_id: str, preference: str) -> None:
    get_account(conn, account_id)
    conn.execute(
        "UPDATE accounts SET notification_preference = %s WHERE account_id = %s",
        (preference, account_id),
    )


def accounts_with_deferred_credits(conn) -> list[str]:
    return [str(row[0]) for row in conn.execute("SELECT DISTINCT account_id FROM deferred_credits")]


def fold_deferred_credits(conn, account_id: str) -> None:
    """Move an account's deferred credits into its balance row (migration 0010)."""
    conn.execute("SELECT fold_deferred_credits(%s)", (account_id,))
