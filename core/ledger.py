"""Ledger operations, each run inside a caller's transaction.

The SQL triggers of migrations/0001_ledger.sql do the bookkeeping (holds,
postings, balances, outbox events, one resolution per transfer). This module
decides what to do and in which order to lock: a transfer row first, then
the accounts it touches in account_id order, so two transactions never wait
on each other in a circle.
"""
import uuid

import psycopg
import psycopg.errors
from psycopg.rows import dict_row

from envoi.client import errors
from envoi.core import confirmation_codes, transfer_policy
from envoi.core.config import Settings
from envoi.core.idempotency import RecordedFailure

FUNDING_PURPOSE = "FUNDING"
ACCOUNT_COLUMNS = ("account_id, kind, display_name, currency_code, balance_cents, held_cents,"
                   " floor_cents, code_hmac, failed_code_attempts, create_time")
TRANSFER_COLUMNS = ("transfer_id, seq, kind, state, from_account_id, to_account_id, currency_code,"
                    " amount_cents, memo, initiated_by, create_time, expire_time, resolve_time")


def ensure_funding_accounts(conn: psycopg.Connection, currencies) -> None:
    """One funding system account per currency: where credited money comes from."""
    for currency in currencies:
        conn.execute(
            "INSERT INTO accounts (account_id, kind, system_purpose, display_name, currency_code,"
            " floor_cents) VALUES (%s, 'SYSTEM', %s, %s, %s, NULL)"
            " ON CONFLICT (system_purpose, currency_code) DO NOTHING",
            (uuid.uuid4(), FUNDING_PURPOSE, f"envoi funding {currency}", currency))


def open_account(conn, settings: Settings, code_key: bytes, *, kind: str, display_name: str,
                 currency_code: str, code: str) -> dict:
    account_id = str(uuid.uuid4())
    return conn.cursor(row_factory=dict_row).execute(
        f"INSERT INTO accounts (account_id, kind, display_name, currency_code, code_hmac)"
        f" VALUES (%s, %s, %s, %s, %s) RETURNING {ACCOUNT_COLUMNS}",
        (account_id, kind, display_name, currency_code,
         confirmation_codes.code_hmac(code_key, account_id, code))).fetchone()


def get_account(conn, account_id: str, *, lock: bool = False) -> dict:
    """The account row; raises AccountNotFound (system accounts are not shown)."""
    sql = f"SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE account_id = %s AND kind <> 'SYSTEM'"
    row = conn.cursor(row_factory=dict_row).execute(
        sql + (" FOR NO KEY UPDATE" if lock else ""), (account_id,)).fetchone()
    if row is None:
        raise errors.AccountNotFound(f"no account {account_id}",
                                     metadata={"account_id": account_id})
    return row


def account_kind(conn, account_id: str) -> str | None:
    """The kind of any account, system ones included; None if there is none."""
    row = conn.execute("SELECT kind FROM accounts WHERE account_id = %s", (account_id,)).fetchone()
    return row[0] if row else None


def change_code(conn, code_key: bytes, account_id: str, new_code: str) -> dict:
    """Set a new code and clear wrong attempts, which lifts a lock."""
    row = conn.cursor(row_factory=dict_row).execute(
        f"UPDATE accounts SET code_hmac = %s, failed_code_attempts = 0"
        f" WHERE account_id = %s AND kind <> 'SYSTEM' RETURNING {ACCOUNT_COLUMNS}",
        (confirmation_codes.code_hmac(code_key, account_id, new_code), account_id)).fetchone()
    if row is None:
        raise errors.AccountNotFound(f"no account {account_id}",
                                     metadata={"account_id": account_id})
    return row


def credit(conn, account_id: str, amount_cents: int, currency_code: str, memo: str,
           initiated_by: str) -> dict:
    """Post money from the funding account of the currency, in one step."""
    account = get_account(conn, account_id)
    if account["currency_code"] != currency_code:
        raise errors.CurrencyMismatch(
            f"the account holds {account['currency_code']}, not {currency_code}",
            field_violations={"amount.currency_code": f"must be {account['currency_code']}"})
    funding = conn.execute(
        "SELECT account_id FROM accounts WHERE system_purpose = %s AND currency_code = %s",
        (FUNDING_PURPOSE, currency_code)).fetchone()
    return _insert_transfer(conn, kind="FUNDING", state="COMPLETED", from_account_id=funding[0],
                            to_account_id=account_id, currency_code=currency_code,
                            amount_cents=amount_cents, memo=memo, initiated_by=initiated_by,
                            expire_after_s=None)


def initiate(conn, settings: Settings, *, from_account_id: str, to_account_id: str,
             amount_cents: int, currency_code: str, memo: str, initiated_by: str) -> dict:
    """Check policy and hold the amount on the sender: PENDING_CONFIRMATION."""
    recipient = get_account(conn, to_account_id)
    # The sender's row lock serializes its transfers, so two concurrent
    # requests cannot both pass the daily cap or both spend the same money.
    sender = get_account(conn, from_account_id, lock=True)
    for account, field in ((sender, "from_account_id"), (recipient, "to_account_id")):
        if account["currency_code"] != currency_code:
            raise errors.CurrencyMismatch(
                f"{field} holds {account['currency_code']}, not {currency_code}",
                field_violations={"amount.currency_code": f"must be {account['currency_code']}"})
    transfer_policy.check_caps(conn, settings, sender=sender, recipient=recipient,
                               amount_cents=amount_cents)
    available_cents = sender["balance_cents"] - sender["held_cents"] - sender["floor_cents"]
    if amount_cents > available_cents:
        raise errors.InsufficientFunds("the sender's available balance is too low")
    return _insert_transfer(conn, kind="PAYMENT", state="PENDING_CONFIRMATION",
                            from_account_id=from_account_id, to_account_id=to_account_id,
                            currency_code=currency_code, amount_cents=amount_cents, memo=memo,
                            initiated_by=initiated_by,
                            expire_after_s=settings.confirmation_timeout_s)


def _insert_transfer(conn, *, kind, state, from_account_id, to_account_id, currency_code,
                     amount_cents, memo, initiated_by, expire_after_s) -> dict:
    try:
        return conn.cursor(row_factory=dict_row).execute(
            f"INSERT INTO transfers (transfer_id, kind, state, from_account_id, to_account_id,"
            f" currency_code, amount_cents, memo, initiated_by, expire_time, resolve_time)"
            f" VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s,"
            f"         now() + make_interval(secs => %s),"
            f"         CASE WHEN %s = 'COMPLETED' THEN now() END)"
            f" RETURNING {TRANSFER_COLUMNS}",
            (uuid.uuid4(), kind, state, from_account_id, to_account_id, currency_code,
             amount_cents, memo, initiated_by, expire_after_s, state)).fetchone()
    except psycopg.errors.CheckViolation as exc:
        # The database's own floor check: the last word on overdrafts.
        if exc.diag.constraint_name == "balance_above_floor":
            raise errors.InsufficientFunds("the sender's available balance is too low") from None
        raise


def get_transfer(conn, transfer_id: str, *, lock: bool = False) -> dict:
    sql = f"SELECT {TRANSFER_COLUMNS} FROM transfers WHERE transfer_id = %s"
    row = conn.cursor(row_factory=dict_row).execute(
        sql + (" FOR UPDATE" if lock else ""), (transfer_id,)).fetchone()
    if row is None:
        raise errors.TransferNotFound(f"no transfer {transfer_id}",
                                      metadata={"transfer_id": transfer_id})
    return row


def _resolve(conn, transfer_id, state: str) -> dict:
    """Move a locked pending transfer to its final state; triggers do the rest."""
    return conn.cursor(row_factory=dict_row).execute(
        f"UPDATE transfers SET state = %s, resolve_time = now() WHERE transfer_id = %s"
        f" RETURNING {TRANSFER_COLUMNS}", (state, transfer_id)).fetchone()


def _require_pending(conn, transfer: dict) -> None:
    """Raise unless the locked transfer can still be resolved; expire it if its time is up."""
    if transfer["state"] != "PENDING_CONFIRMATION":
        raise errors.TransferNotPending(
            f"the transfer is already {transfer['state']}",
            metadata={"transfer_id": str(transfer["transfer_id"]), "state": transfer["state"]})
    expired = conn.execute("SELECT %s <= now()", (transfer["expire_time"],)).fetchone()[0]
    if expired:
        _resolve(conn, transfer["transfer_id"], "EXPIRED")
        raise RecordedFailure(errors.TransferExpired(
            "the transfer was not confirmed in time; its hold is released",
            metadata={"transfer_id": str(transfer["transfer_id"])}))


def confirm(conn, settings: Settings, code_key: bytes, transfer: dict, code: str) -> dict:
    """Post a pending transfer if `code` is the sender's. `transfer` is locked."""
    _require_pending(conn, transfer)
    accounts = {row["account_id"]: row for row in conn.cursor(row_factory=dict_row).execute(
        "SELECT account_id, code_hmac, failed_code_attempts FROM accounts"
        " WHERE account_id IN (%s, %s) ORDER BY account_id FOR NO KEY UPDATE",
        (transfer["from_account_id"], transfer["to_account_id"]))}
    sender = accounts[transfer["from_account_id"]]
    if sender["failed_code_attempts"] >= settings.code_max_attempts:
        raise errors.CodeLocked("too many wrong codes: change the code to confirm again")
    if not confirmation_codes.code_matches(code_key, str(sender["account_id"]), code,
                                           bytes(sender["code_hmac"])):
        attempts = conn.execute(
            "UPDATE accounts SET failed_code_attempts = failed_code_attempts + 1"
            " WHERE account_id = %s RETURNING failed_code_attempts",
            (sender["account_id"],)).fetchone()[0]
        attempts_left = max(settings.code_max_attempts - attempts, 0)
        raise RecordedFailure(errors.InvalidCode(
            f"wrong code; {attempts_left} attempt(s) left before confirmations lock",
            metadata={"attempts_left": str(attempts_left)}))
    if sender["failed_code_attempts"]:
        conn.execute("UPDATE accounts SET failed_code_attempts = 0 WHERE account_id = %s",
                     (sender["account_id"],))
    return _resolve(conn, transfer["transfer_id"], "COMPLETED")


def cancel(conn, transfer: dict) -> dict:
    """Release the hold of a locked pending transfer."""
    _require_pending(conn, transfer)
    return _resolve(conn, transfer["transfer_id"], "CANCELLED")


def expire_one_due(conn) -> bool:
    """Expire one pending transfer whose time is up; False when none is left.

    One per transaction, and SKIP LOCKED, so the sweepers of several server
    processes never wait on each other or on a confirmation in progress.
    """
    row = conn.execute(
        "UPDATE transfers SET state = 'EXPIRED', resolve_time = now() WHERE transfer_id = ("
        " SELECT transfer_id FROM transfers"
        " WHERE state = 'PENDING_CONFIRMATION' AND expire_time <= now()"
        " ORDER BY expire_time LIMIT 1 FOR UPDATE SKIP LOCKED)"
        " RETURNING transfer_id").fetchone()
    return row is not None


def list_transfers(conn, account_id: str, *, states: list[str], direction: str,
                   before_seq: int | None, limit: int) -> list[dict]:
    """Transfers of an account, newest first, with seq below before_seq."""
    sides = {"INCOMING": "to_account_id = %(account)s",
             "OUTGOING": "from_account_id = %(account)s",
             "BOTH": "(from_account_id = %(account)s OR to_account_id = %(account)s)"}[direction]
    sql = f"SELECT {TRANSFER_COLUMNS} FROM transfers WHERE {sides}"
    if states:
        sql += " AND state = ANY(%(states)s)"
    if before_seq is not None:
        sql += " AND seq < %(before_seq)s"
    sql += " ORDER BY seq DESC LIMIT %(limit)s"
    return conn.cursor(row_factory=dict_row).execute(
        sql, {"account": account_id, "states": states, "before_seq": before_seq,
              "limit": limit}).fetchall()
