"""Freezing, unfreezing and closing accounts (FreezeAccount, UnfreezeAccount,
CloseAccount).

An admin freezes an account with a reason: no money leaves it by any path
until an admin unfreezes it; money in still arrives. Its owner, with the
code, or an admin, closes an account that holds and waits for nothing: no
money goes in or out again, and its identities are unlinked, to be linked
elsewhere. The SQL function account_status_change (core/schema/functions/)
does each change under the account's lock, with its record and its event;
account_status_refusal is the one rule every path that moves money meets.
"""

import uuid

import psycopg
from psycopg.rows import dict_row

from envoi.core.auth.caller import Caller
from envoi.core.ledger import accounts, refusals

MAX_REASON_LENGTH = 280
FROZEN, UNFROZEN, CLOSED = "FROZEN", "UNFROZEN", "CLOSED"
CHANGE_COLUMNS = "account_status_change_id, account_id, change, reason, change_time"


def lock(conn, account_id: str) -> None:
    """Lock the account FOR UPDATE, the first and only lock a change takes on
    it: it waits for every transaction moving the account's money (they hold
    weaker locks on its row), and a weaker lock taken first and upgraded
    could wait on them in a circle."""
    conn.execute(
        f"SELECT 1 FROM accounts WHERE account_id = %s AND kind NOT IN {accounts.HIDDEN_KINDS}"
        f" FOR UPDATE",
        (account_id,),
    )


def change(conn, account_id: str, kind: str, reason: str, by: Caller) -> dict:
    """Apply a change (FROZEN, UNFROZEN, CLOSED) and answer its record; raise
    the typed refusal (ACCOUNT_FROZEN, ACCOUNT_NOT_FROZEN, ACCOUNT_CLOSED,
    ACCOUNT_NOT_EMPTY) when it cannot be made."""
    try:
        row = conn.execute(
            "SELECT account_status_change(%s, %s, %s, %s, %s)",
            (account_id, kind, reason, by.principal, by.token_id),
        ).fetchone()[0]
    except psycopg.Error as exc:
        raise refusals.error_for_exception(exc) or exc from None
    change_id = uuid.UUID(row["account_status_change_id"])
    return get_many(conn, [change_id])[change_id]


def get_many(conn, change_ids: list) -> dict:
    """account_status_change_id -> row."""
    rows = (
        conn.cursor(row_factory=dict_row)
        .execute(
            f"SELECT {CHANGE_COLUMNS} FROM account_status_changes"
            f" WHERE account_status_change_id = ANY(%s)",
            (change_ids,),
        )
        .fetchall()
    )
    return {row["account_status_change_id"]: row for row in rows}
