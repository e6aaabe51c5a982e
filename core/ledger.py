"""Ledger operations, each run inside a caller's transaction.

The SQL triggers of migrations/0001_ledger.sql do the bookkeeping (holds,
postings, balances, outbox events, one resolution per transfer). This module
decides what to do and in which order to lock: a transfer row first, then
the accounts it touches in account_id order, so two transactions never wait
on each other in a circle.
"""

import dataclasses
import datetime
import uuid
from typing import NamedTuple

import psycopg
import psycopg.errors
from psycopg.rows import dict_row

from envoi.client import errors
from envoi.core import (
    code_resets,
    collection_ledger,
    confirmation_codes,
    merchant_fees,
    transfer_policy,
)
from envoi.core.config import Settings
from envoi.core.idempotency import RecordedFailure

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
    " fee_basis_points, fee_fixed_cents, debit_mandate_reason, debit_mandate_time, "
    + CODE_HOLD_END_TIME
)
TRANSFER_COLUMNS = (
    "transfer_id, seq, kind, state, from_account_id, to_account_id, currency_code,"
    " amount_cents, memo, initiated_by, create_time, expire_time, resolve_time,"
    " from_namespace, from_subject_id, from_handle, to_namespace, to_subject_id,"
    " to_handle, channel_reference, claim_expire_time, fee_cents, merchant_reference,"
    " collection_id"
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
        if kind == "MERCHANT"
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


def credit(
    conn,
    settings: Settings,
    account_id: str,
    amount_cents: int,
    currency_code: str,
    memo: str,
    initiated_by: str,
) -> dict:
    """Post money from the funding account of the currency, in one step."""
    account = get_account(conn, account_id, lock=True)
    if account["currency_code"] != currency_code:
        raise errors.CurrencyMismatch(
            f"the account holds {account['currency_code']}, not {currency_code}",
            field_violations={"amount.currency_code": f"must be {account['currency_code']}"},
        )
    transfer_policy.check_max_balance(settings, account, amount_cents)
    return _insert_transfer(
        conn,
        kind="FUNDING",
        state="COMPLETED",
        from_account_id=system_account_id(conn, FUNDING_PURPOSE, currency_code),
        to_account_id=account_id,
        currency_code=currency_code,
        amount_cents=amount_cents,
        memo=memo,
        initiated_by=initiated_by,
        expire_after_s=None,
    )


class IdentityRef(NamedTuple):
    """A social identity as a channel names it."""

    namespace: str
    subject_id: str
    handle: str = ""


def initiate(
    conn,
    settings: Settings,
    *,
    from_account_id: str | None,
    to_account_id: str | None,
    amount_cents: int,
    currency_code: str,
    memo: str,
    initiated_by: str,
    from_identity: IdentityRef | None = None,
    to_identity: IdentityRef | None = None,
    channel_reference: str = "",
    authorize_sender=lambda sender: None,
    to_collection_id: str | None = None,
    to_collection_hashtag: str | None = None,
) -> dict:
    """Check policy and hold the amount on the sender: PENDING_CONFIRMATION.

    A sender named by identity must have linked it. A recipient named by an
    identity nobody has linked is paid into escrow, and capped as a person.
    A payment into a collection (by id or hashtag) needs it to take payments
    now, and is capped as a payment to the collection's owner.
    authorize_sender(sender row) raises if the caller may not move its money;
    it runs before anything about the sender's money is looked at.
    """
    if from_identity is not None:
        from_account_id = identity_account_id(conn, from_identity)
        if from_account_id is None:
            raise errors.IdentityNotLinked(
                "the sender's identity is not linked to an envoi account",
                metadata={
                    "namespace": from_identity.namespace,
                    "subject_id": from_identity.subject_id,
                },
            )
    if to_identity is not None:
        to_account_id = identity_account_id(conn, to_identity)
    collection = None
    if to_collection_id or to_collection_hashtag:
        collection = collection_ledger.for_payment(
            conn, collection_id=to_collection_id, hashtag=to_collection_hashtag
        )
        to_account_id = str(collection["collection_id"])
    if from_account_id == to_account_id:
        raise errors.SelfTransfer(
            "an account cannot pay itself", field_violations={"to_account_id": "same as the sender"}
        )
    if collection is not None:  # no tier: a collection has no maximum balance
        # Capped like a payment to its owner, whose verification (an
        # association's) may have been withdrawn since it opened the collection.
        owner = {
            "account_id": collection["owner_account_id"],
            "kind": collection["owner_kind"],
            "profile_verify_time": collection["owner_profile_verify_time"],
        }
        transfer_policy.check_recipient_verified(owner)
        recipient = {"kind": owner["kind"], "currency_code": collection["currency_code"]}
    elif to_account_id is None:  # nobody has linked the recipient's identity yet
        recipient = {"kind": "PERSON", "currency_code": currency_code}
        to_account_id = system_account_id(conn, ESCROW_PURPOSE, currency_code)
    else:
        recipient = get_account(conn, to_account_id)
    # The sender's row lock serializes its transfers, so two concurrent
    # requests cannot both pass the daily cap or both spend the same money.
    sender = get_account(conn, from_account_id, lock=True)
    authorize_sender(sender)
    for account, field in ((sender, "from_account_id"), (recipient, "to_account_id")):
        transfer_policy.refuse_settlement(account, field)
    for account, field in ((sender, "from_account_id"), (recipient, "to_account_id")):
        if account["currency_code"] != currency_code:
            raise errors.CurrencyMismatch(
                f"{field} holds {account['currency_code']}, not {currency_code}",
                field_violations={"amount.currency_code": f"must be {account['currency_code']}"},
            )
    if collection is None:
        transfer_policy.check_recipient_verified(recipient)
        merchant_fees.check_fee_below_amount(conn, recipient, amount_cents)
    transfer_policy.check_caps(
        conn, settings, sender=sender, recipient=recipient, amount_cents=amount_cents
    )
    if initiated_by.startswith("channel:"):
        transfer_policy.check_channel_holds(conn, settings, sender, amount_cents)
    available_cents = sender["balance_cents"] - sender["held_cents"] - sender["floor_cents"]
    if amount_cents > available_cents:
        raise errors.InsufficientFunds("the sender's available balance is too low")
    return _insert_transfer(
        conn,
        kind="PAYMENT",
        state="PENDING_CONFIRMATION",
        from_account_id=from_account_id,
        to_account_id=to_account_id,
        currency_code=currency_code,
        amount_cents=amount_cents,
        memo=memo,
        initiated_by=initiated_by,
        expire_after_s=settings.confirmation_timeout_s,
        from_identity=from_identity,
        to_identity=to_identity,
        channel_reference=channel_reference,
        collection_id=to_account_id if collection is not None else None,
    )


# One channel message's transfer, with the predicate of the partial index
# transfers_channel_reference written out so that the planner uses it.
CHANNEL_MESSAGE_FILTER = (
    " WHERE t.initiated_by = %s AND t.channel_reference = %s"
    " AND t.initiated_by LIKE 'channel:%%' AND t.channel_reference <> ''"
)


def taken_in_before(conn, initiated_by: str, channel_reference: str, request) -> dict | None:
    """The transfer a channel already started for this message, or None. The
    same message asking for something else is refused: a message is immutable."""
    row = (
        conn.cursor(row_factory=dict_row)
        .execute(
            TRANSFER_WITH_NAMES + CHANNEL_MESSAGE_FILTER,
            (initiated_by, channel_reference),
        )
        .fetchone()
    )
    if row is None:
        return None
    if (row["from_subject_id"], row["amount_cents"], row["currency_code"]) != (
        request.from_identity.subject_id,
        request.amount.amount_cents,
        request.amount.currency_code,
    ):
        raise errors.IdempotencyKeyReused(
            "this channel_reference was already taken in for a different payment",
            field_violations={"channel_reference": "already used for a different payment"},
        )
    return row


def _insert_transfer(
    conn,
    *,
    kind,
    state,
    from_account_id,
    to_account_id,
    currency_code,
    amount_cents,
    memo,
    initiated_by,
    expire_after_s,
    from_identity=None,
    to_identity=None,
    channel_reference="",
    merchant_reference=None,
    collection_id=None,
) -> dict:
    from_identity = from_identity or IdentityRef(None, None, None)
    to_identity = to_identity or IdentityRef(None, None, None)
    transfer_id = uuid.uuid4()
    try:
        return (
            conn.cursor(row_factory=dict_row)
            .execute(
                _returning_named(
                    "INSERT INTO transfers (transfer_id, kind, state, from_account_id,"
                    " to_account_id, currency_code, amount_cents, memo, initiated_by,"
                    " expire_time, resolve_time, from_namespace, from_subject_id, from_handle,"
                    " to_namespace, to_subject_id, to_handle, channel_reference,"
                    " merchant_reference, collection_id)"
                    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s,"
                    "         now() + make_interval(secs => %s),"
                    "         CASE WHEN %s = 'COMPLETED' THEN now() END,"
                    "         %s, %s, %s, %s, %s, %s, %s, %s, %s)"
                ),
                (
                    transfer_id,
                    kind,
                    state,
                    from_account_id,
                    to_account_id,
                    currency_code,
                    amount_cents,
                    memo,
                    initiated_by,
                    expire_after_s,
                    state,
                    *from_identity,
                    *to_identity,
                    channel_reference,
                    merchant_reference,
                    collection_id,
                ),
            )
            .fetchone()
        )
    except psycopg.errors.CheckViolation as exc:
        # The database's own floor check: the last word on overdrafts.
        if exc.diag.constraint_name == "balance_above_floor":
            raise errors.InsufficientFunds("the sender's available balance is too low") from None
        raise
    except psycopg.errors.UniqueViolation as exc:
        # The same channel message, taken in concurrently: run again, and
        # taken_in_before finds the transfer that committed first.
        if exc.diag.constraint_name == "transfers_channel_reference":
            raise psycopg.errors.SerializationFailure("one message, concurrently") from exc
        raise


# A transfer (rows named t) with how a history shows each side: the account's
# name, or the handle of an identity whose money waits in escrow; and the
# kinds of both sides, which decide who may move or read its money.
_NAMED_TRANSFER_COLUMNS = (
    "t." + TRANSFER_COLUMNS.replace(", ", ", t.") + ","
    " fa.display_name AS from_display_name, fa.kind AS from_kind, ta.kind AS to_kind,"
    " CASE WHEN ta.kind = 'SYSTEM' AND t.to_handle IS NOT NULL THEN '@' || t.to_handle"
    "      ELSE ta.display_name END AS to_display_name,"
    # Compared by the database's clock, with the read: no round trip of its own.
    " t.expire_time <= now() AS past_deadline"
)
_NAME_JOINS = (
    " JOIN accounts fa ON fa.account_id = t.from_account_id"
    " JOIN accounts ta ON ta.account_id = t.to_account_id"
)
TRANSFER_WITH_NAMES = f"SELECT {_NAMED_TRANSFER_COLUMNS} FROM transfers t{_NAME_JOINS}"


def _returning_named(statement: str) -> str:
    """`statement` (an INSERT or UPDATE of one transfer) answering with the
    transfer as get_transfer reads it: one round trip instead of two."""
    return (
        f"WITH t AS ({statement} RETURNING *) SELECT {_NAMED_TRANSFER_COLUMNS} FROM t{_NAME_JOINS}"
    )


def get_transfer(conn, transfer_id: str, *, lock: bool = False) -> dict:
    sql = TRANSFER_WITH_NAMES + " WHERE t.transfer_id = %s" + (" FOR UPDATE OF t" if lock else "")
    row = conn.cursor(row_factory=dict_row).execute(sql, (transfer_id,)).fetchone()
    if row is None:
        raise errors.TransferNotFound(
            f"no transfer {transfer_id}", metadata={"transfer_id": transfer_id}
        )
    return row


def _resolve(conn, transfer_id, state: str) -> dict:
    """Move a locked pending transfer to its final state; triggers do the rest."""
    return (
        conn.cursor(row_factory=dict_row)
        .execute(
            _returning_named(
                "UPDATE transfers SET state = %s, resolve_time = now() WHERE transfer_id = %s"
            ),
            (state, transfer_id),
        )
        .fetchone()
    )


def _require_pending(conn, transfer: dict) -> None:
    """Raise unless the locked transfer (read by get_transfer) can still be resolved;
    expire it if its time is up."""
    if transfer["state"] != "PENDING_CONFIRMATION":
        raise errors.TransferNotPending(
            f"the transfer is already {transfer['state']}",
            metadata={"transfer_id": str(transfer["transfer_id"]), "state": transfer["state"]},
        )
    if transfer["past_deadline"]:
        _resolve(conn, transfer["transfer_id"], "EXPIRED")
        raise RecordedFailure(
            errors.TransferExpired(
                "the transfer was not confirmed in time; its hold is released",
                metadata={"transfer_id": str(transfer["transfer_id"])},
            )
        )


def verify_code(conn, settings: Settings, code_key: bytes, account: dict, code: str) -> None:
    """Raise CodeLocked, or InvalidCode (recorded: the attempt is counted), unless
    `code` is the account's; a right code clears the count. `account` is locked."""
    if account["failed_code_attempts"] >= settings.code_max_attempts:
        raise errors.CodeLocked(
            "too many wrong codes: the code is locked until an admin sets a new one (ResetCode)"
        )
    if not confirmation_codes.code_matches(
        code_key, str(account["account_id"]), code, bytes(account["code_hmac"])
    ):
        attempts = conn.execute(
            "UPDATE accounts SET failed_code_attempts = failed_code_attempts + 1"
            " WHERE account_id = %s RETURNING failed_code_attempts",
            (account["account_id"],),
        ).fetchone()[0]
        attempts_left = max(settings.code_max_attempts - attempts, 0)
        raise RecordedFailure(
            errors.InvalidCode(
                f"wrong code; {attempts_left} attempt(s) left before confirmations lock",
                metadata={"attempts_left": str(attempts_left)},
            )
        )
    if account["failed_code_attempts"]:
        conn.execute(
            "UPDATE accounts SET failed_code_attempts = 0 WHERE account_id = %s",
            (account["account_id"],),
        )


def confirm(conn, settings: Settings, code_key: bytes, transfer: dict, code: str) -> dict:
    """Post a pending transfer if `code` is the sender's. `transfer` is locked."""
    _require_pending(conn, transfer)
    if transfer["collection_id"] is not None:
        _require_collection_accepting(conn, transfer)
    # Both rows locked in id order, except a recipient that takes credits
    # deferred: donations to one association must not queue on its row.
    columns = (
        "account_id, kind, tier, balance_cents, code_hmac, failed_code_attempts,"
        f" profile_verify_time, {CODE_HOLD_END_TIME}"
    )
    accounts = {
        row["account_id"]: row
        for row in conn.cursor(row_factory=dict_row).execute(
            f"WITH locked AS (SELECT {columns}, credits_deferred FROM accounts"
            f"  WHERE account_id IN (%(from)s, %(to)s)"
            f"  AND (account_id = %(from)s OR NOT credits_deferred)"
            f"  ORDER BY account_id FOR NO KEY UPDATE)"
            f" SELECT * FROM locked UNION ALL"
            f" SELECT {columns}, credits_deferred FROM accounts"
            f"  WHERE account_id = %(to)s AND credits_deferred",
            {"from": transfer["from_account_id"], "to": transfer["to_account_id"]},
        )
    }
    code_resets.require_no_hold(accounts[transfer["from_account_id"]])
    verify_code(conn, settings, code_key, accounts[transfer["from_account_id"]], code)
    recipient = accounts[transfer["to_account_id"]]
    if transfer["merchant_reference"] is not None:
        # A payment request held nothing: what a payment checks when it is
        # initiated is checked now, with the payer's row locked above.
        check_payer_can_pay(conn, settings, transfer, recipient)
    if recipient["kind"] != "SYSTEM":  # its balance may have grown since the initiation
        transfer_policy.check_max_balance(settings, recipient, transfer["amount_cents"])
        # An admin may have withdrawn the verification since the initiation.
        transfer_policy.check_recipient_verified(recipient)
    if transfer["to_subject_id"] is None or recipient["kind"] != "SYSTEM":
        return _resolve(conn, transfer["transfer_id"], "COMPLETED")
    # Paid to an identity nobody had linked: into escrow, then straight to its
    # account if it was linked while the transfer waited for confirmation.
    conn.execute(
        "UPDATE transfers SET state = 'AWAITING_CLAIM', resolve_time = now(),"
        " claim_expire_time = now() + make_interval(secs => %s) WHERE transfer_id = %s",
        (settings.claim_window_s, transfer["transfer_id"]),
    )
    identity = IdentityRef(transfer["to_namespace"], transfer["to_subject_id"])
    claimer = identity_account_id(conn, identity)
    if claimer is not None:
        claim_for_identity(conn, settings, identity, claimer)
    return get_transfer(conn, transfer["transfer_id"])


def check_payer_can_pay(conn, settings: Settings, transfer: dict, recipient: dict) -> None:
    """The caps and the available balance of a payment request's payer, whose
    row the caller has locked; the floor CHECK stays the last word."""
    payer = get_account(conn, transfer["from_account_id"])
    transfer_policy.check_caps(
        conn, settings, sender=payer, recipient=recipient, amount_cents=transfer["amount_cents"]
    )
    available_cents = payer["balance_cents"] - payer["held_cents"] - payer["floor_cents"]
    if transfer["amount_cents"] > available_cents:
        raise errors.InsufficientFunds("the payer's available balance is too low")


def _require_collection_accepting(conn, transfer: dict) -> None:
    """A contribution completes only while its collection takes payments: one
    closed, cancelled or past its deadline since the initiation releases the
    hold (CANCELLED) and answers COLLECTION_NOT_OPEN, kept for the request_id.
    Locked before the accounts, in the order closing takes them."""
    collection = collection_ledger.lock_for_contribution(conn, transfer["collection_id"])
    if not collection["accepting_payments"]:
        _resolve(conn, transfer["transfer_id"], "CANCELLED")
        raise RecordedFailure(collection_ledger.not_open(collection))


def cancel(conn, transfer: dict) -> dict:
    """Release the hold of a locked pending transfer."""
    _require_pending(conn, transfer)
    return _resolve(conn, transfer["transfer_id"], "CANCELLED")


def expire_one_due(conn, now=None) -> bool:
    """Expire one pending transfer whose time is up; False when none is left.

    One per transaction, and SKIP LOCKED, so the sweepers of several server
    processes never wait on each other or on a confirmation in progress.
    """
    row = conn.execute(
        "UPDATE transfers SET state = 'EXPIRED', resolve_time = now() WHERE transfer_id = ("
        " SELECT transfer_id FROM transfers"
        " WHERE state = 'PENDING_CONFIRMATION' AND expire_time <= coalesce(%s, now())"
        " ORDER BY expire_time LIMIT 1 FOR UPDATE SKIP LOCKED)"
        " RETURNING transfer_id",
        (now,),
    ).fetchone()
    return row is not None


def list_transfers(conn, account_id: str, *, history: "HistoryFilter", limit: int) -> list[dict]:
    """Transfers of an account, newest first, with seq below history.before_seq."""
    sides = {
        "INCOMING": "t.to_account_id = %(account)s",
        "OUTGOING": "t.from_account_id = %(account)s",
        "BOTH": "(t.from_account_id = %(account)s OR t.to_account_id = %(account)s)",
    }[history.direction]
    sql = f"{TRANSFER_WITH_NAMES} WHERE {sides}"
    if history.states:
        sql += " AND t.state = ANY(%(states)s)"
    if history.before_seq is not None:
        sql += " AND t.seq < %(before_seq)s"
    if history.start_time is not None:
        sql += " AND t.create_time >= %(start_time)s"
    if history.end_time is not None:
        sql += " AND t.create_time < %(end_time)s"
    if history.merchant_reference:
        sql += " AND t.merchant_reference = %(merchant_reference)s"
    if history.counterpart_account_id:
        sql += (
            " AND %(counterpart)s IN (t.from_account_id, t.to_account_id)"
            " AND %(counterpart)s <> %(account)s"
        )
    sql += " ORDER BY t.seq DESC LIMIT %(limit)s"
    params = {
        **dataclasses.asdict(history),
        "account": account_id,
        "counterpart": history.counterpart_account_id or None,
        "limit": limit,
    }
    return conn.cursor(row_factory=dict_row).execute(sql, params).fetchall()


@dataclasses.dataclass(frozen=True)
class HistoryFilter:
    """What ListTransfers narrows a history to."""

    states: list[str]
    direction: str  # INCOMING, OUTGOING or BOTH
    before_seq: int | None = None
    start_time: datetime.datetime | None = None
    end_time: datetime.datetime | None = None
    counterpart_account_id: str = ""
    merchant_reference: str = ""


def pending_confirmations(conn, account_id: str, *, after_seq: int | None, limit: int) -> list:
    """The account's payments still waiting for its code, oldest first; those
    past their deadline (not yet swept) are left out: they can only expire."""
    sql = (
        f"{TRANSFER_WITH_NAMES} WHERE t.from_account_id = %(account)s"
        " AND t.state = 'PENDING_CONFIRMATION' AND t.expire_time > now()"
        " AND t.seq > coalesce(%(after_seq)s, 0) ORDER BY t.seq LIMIT %(limit)s"
    )
    params = {"account": account_id, "after_seq": after_seq, "limit": limit}
    return conn.cursor(row_factory=dict_row).execute(sql, params).fetchall()


def expire_or_refund_one_due(conn, now=None) -> bool:
    """Resolve one transfer whose deadline passed (at `now`, default the database's
    clock): a pending one expires, an unclaimed one goes back to its sender."""
    return expire_one_due(conn, now) or refund_one_due(conn, now)


def refund_one_due(conn, now=None) -> bool:
    row = conn.execute(
        "UPDATE transfers SET state = 'REFUNDED' WHERE transfer_id = ("
        " SELECT transfer_id FROM transfers"
        " WHERE state = 'AWAITING_CLAIM' AND claim_expire_time <= coalesce(%s, now())"
        " ORDER BY claim_expire_time LIMIT 1 FOR UPDATE SKIP LOCKED)"
        " RETURNING transfer_id",
        (now,),
    ).fetchone()
    return row is not None


# Identities


def identity_account_id(conn, identity: IdentityRef):
    row = conn.execute(
        "SELECT account_id FROM identities WHERE namespace = %s AND subject_id = %s",
        (identity.namespace, identity.subject_id),
    ).fetchone()
    return str(row[0]) if row else None


def account_identities(conn, account_id) -> list[IdentityRef]:
    return [
        IdentityRef(*row)
        for row in conn.execute(
            "SELECT namespace, subject_id, handle FROM identities WHERE account_id = %s"
            " ORDER BY namespace, subject_id",
            (account_id,),
        )
    ]


def link_identity(conn, settings: Settings, account_id: str, identity: IdentityRef) -> list:
    """Link (or refresh the handle of) an identity; return the transfers it claimed."""
    # Not locked here: the claim locks the waiting transfers, then the account,
    # in the order every other path takes.
    account = get_account(conn, account_id)
    # Money waiting for the identity would reach the account by a claim.
    transfer_policy.refuse_settlement(account, "account_id")
    owner = conn.execute(
        "INSERT INTO identities (namespace, subject_id, handle, account_id)"
        " VALUES (%s, %s, %s, %s) ON CONFLICT (namespace, subject_id)"
        " DO UPDATE SET handle = EXCLUDED.handle WHERE identities.account_id = EXCLUDED.account_id"
        " RETURNING account_id",
        (*identity, account_id),
    ).fetchone()
    if owner is None:
        raise errors.IdentityAlreadyLinked(
            "this identity already belongs to another account",
            metadata={"namespace": identity.namespace, "subject_id": identity.subject_id},
        )
    return claim_for_identity(conn, settings, identity, str(account["account_id"]))


def claim_for_identity(conn, settings: Settings, identity: IdentityRef, account_id: str) -> list:
    """Credit every transfer waiting in escrow for the identity to the account, at once.

    Money the account itself sent to the identity goes back to it instead (an
    account cannot pay itself), as does money in another currency. Money that
    would take the account over its tier's maximum balance keeps waiting: a
    higher tier (SetAccountTier) claims it, or the claim window returns it.
    """
    cursor = conn.cursor(row_factory=dict_row)
    waiting = cursor.execute(
        f"SELECT {TRANSFER_COLUMNS} FROM transfers WHERE state = 'AWAITING_CLAIM'"
        f" AND to_namespace = %s AND to_subject_id = %s ORDER BY transfer_id FOR UPDATE",
        (identity.namespace, identity.subject_id),
    ).fetchall()
    account = get_account(conn, account_id, lock=True)
    currency_code = account["currency_code"]
    claimed = []
    for transfer in waiting:
        if (
            str(transfer["from_account_id"]) == account_id
            or transfer["currency_code"] != currency_code
        ):
            conn.execute(
                "UPDATE transfers SET state = 'REFUNDED' WHERE transfer_id = %s",
                (transfer["transfer_id"],),
            )
            continue
        if not transfer_policy.fits_max_balance(settings, account, transfer["amount_cents"]):
            continue
        account = {**account, "balance_cents": account["balance_cents"] + transfer["amount_cents"]}
        conn.execute(
            "UPDATE transfers SET state = 'COMPLETED', to_account_id = %s WHERE transfer_id = %s",
            (account_id, transfer["transfer_id"]),
        )
        claimed.append(get_transfer(conn, transfer["transfer_id"]))
    return claimed


def set_tier(conn, settings: Settings, account_id: str, tier: str) -> list:
    """Move an account to a tier; return what its identities can claim now."""
    get_account(conn, account_id, lock=True)
    conn.execute("UPDATE accounts SET tier = %s WHERE account_id = %s", (tier, account_id))
    return [
        transfer
        for identity in account_identities(conn, account_id)
        for transfer in claim_for_identity(conn, settings, identity, account_id)
    ]


def set_notification_preference(conn, account_id: str, preference: str) -> None:
    get_account(conn, account_id)
    conn.execute(
        "UPDATE accounts SET notification_preference = %s WHERE account_id = %s",
        (preference, account_id),
    )


def unlink_identity(conn, account_id: str, identity: IdentityRef) -> None:
    get_account(conn, account_id)
    deleted = conn.execute(
        "DELETE FROM identities WHERE namespace = %s AND subject_id = %s AND account_id = %s",
        (identity.namespace, identity.subject_id, account_id),
    ).rowcount
    if not deleted:
        raise errors.IdentityNotLinked(
            "this identity is not linked to this account",
            metadata={"namespace": identity.namespace, "subject_id": identity.subject_id},
        )


def resolve_identity(conn, namespace: str, *, subject_id: str = "", handle: str = "") -> dict:
    """The identity row (with account) by subject_id, or else by handle."""
    cursor = conn.cursor(row_factory=dict_row)
    sql = (
        "SELECT i.namespace, i.subject_id, i.handle, a.account_id, a.display_name, a.kind"
        " FROM identities i JOIN accounts a USING (account_id) WHERE i.namespace = %s"
    )
    if subject_id:
        row = cursor.execute(sql + " AND i.subject_id = %s", (namespace, subject_id)).fetchone()
    else:
        row = cursor.execute(
            sql + " AND lower(i.handle) = lower(%s) ORDER BY i.link_time DESC LIMIT 1",
            (namespace, handle),
        ).fetchone()
    if row is None:
        raise errors.IdentityNotLinked(
            "no account has linked this identity", metadata={"namespace": namespace}
        )
    return row


# Events


def list_events(
    conn,
    *,
    initiated_by: str | None = None,
    account_id: str | None = None,
    after: tuple[int, int] | None,
    limit: int,
    visible_below: int | None = None,
    scan_limit: int | None = None,
) -> list[dict]:
    """Outbox events in visibility order, after a (tx_id, event_id) cursor;
    only those of transfers started by `initiated_by`, or sent or received by
    `account_id` (its current side: a claimed transfer's recipient is the claimer;
    a collection's owner gets its closing or cancelling, and its completed
    contributions, payout and refunds).

    Only events below the oldest running transaction are returned, so an
    event that commits later can never land before a cursor already handed out
    (`visible_below`: that transaction id, read earlier by the caller, instead
    of now). With `scan_limit`, only the first that many events after the
    cursor, anyone's, are looked at.
    """
    scanned, params = _events_looked_at(after, visible_below, scan_limit)
    params["limit"] = limit
    # An event is about a transfer (its columns), or a top-up, a payout, a
    # collection or a code reset (their ids).
    sql = (
        f"SELECT e.event_id, e.tx_id::text::bigint AS tx_id, e.event_type,"
        f" e.create_time AS event_time, e.top_up_id, e.payout_id,"
        f" e.collection_id AS event_collection_id, e.code_reset_id,"
        f" coalesce(tu.account_id, po.account_id, co.owner_account_id, cr.account_id)"
        f"  AS subject_account_id,"
        f" t.{TRANSFER_COLUMNS.replace(', ', ', t.')},"
        # How each side wants to be told; escrow stands for someone with no account yet.
        f" fa.notification_preference AS from_notification_preference,"
        f" CASE WHEN ta.kind = 'SYSTEM' THEN 'PUBLIC_REPLY'"
        f"      ELSE ta.notification_preference END AS to_notification_preference"
        f" FROM ({scanned}) e LEFT JOIN transfers t ON t.transfer_id = e.transfer_id"
        f" LEFT JOIN accounts fa ON fa.account_id = t.from_account_id"
        f" LEFT JOIN accounts ta ON ta.account_id = t.to_account_id"
        f" LEFT JOIN card_top_ups tu ON tu.top_up_id = e.top_up_id"
        f" LEFT JOIN payouts po ON po.payout_id = e.payout_id"
        f" LEFT JOIN code_resets cr ON cr.code_reset_id = e.code_reset_id"
        # The collection an event is about, or a completed contribution,
        # payout or refund is of: its owner sees them.
        f" LEFT JOIN collections co ON co.collection_id = CASE"
        f"  WHEN e.event_type = 'TRANSFER_COMPLETED' THEN t.collection_id ELSE e.collection_id END"
        f" WHERE true"
    )
    if initiated_by is not None:
        sql += " AND t.initiated_by = %(initiated_by)s"
        params["initiated_by"] = initiated_by
    if account_id is not None:
        sql += (
            " AND %(account_id)s IN"
            " (t.from_account_id, t.to_account_id, tu.account_id, po.account_id,"
            "  co.owner_account_id, cr.account_id)"
        )
        params["account_id"] = account_id
    sql += " ORDER BY e.tx_id, e.event_id LIMIT %(limit)s"
    return conn.cursor(row_factory=dict_row).execute(sql, params).fetchall()


def _events_looked_at(after, visible_below: int | None, scan_limit: int | None):
    """(SQL, params): the outbox rows list_events looks at: visible (below the
    oldest running transaction, or `visible_below`), after the cursor, and
    with `scan_limit` only the first that many of them."""
    visible = (
        "pg_snapshot_xmin(pg_current_snapshot())"
        if visible_below is None
        else "%(visible_below)s::text::xid8"
    )
    sql = f"SELECT * FROM outbox_events WHERE tx_id < {visible}"
    params: dict = {"visible_below": visible_below, "scan_limit": scan_limit}
    if after is not None:
        sql += " AND (tx_id, event_id) > (%(tx_id)s::text::xid8, %(event_id)s)"
        params.update(tx_id=after[0], event_id=after[1])
    if scan_limit is not None:
        sql += " ORDER BY tx_id, event_id LIMIT %(scan_limit)s"
    return sql, params


# A filtered page looks at up to this many events per event it may return.
SCAN_FACTOR = 10


def list_events_page(
    conn, *, initiated_by: str | None, after: tuple[int, int] | None, limit: int
) -> tuple[list[dict], tuple[int, int] | None]:
    """list_events, and the cursor to resume from. When fewer than `limit` of
    the caller's events came from the SCAN_FACTOR x limit events looked at, the
    cursor moves past all of those: a channel whose events are rare among
    everyone's does not scan the same events again on every call."""
    if initiated_by is None:
        rows = list_events(conn, after=after, limit=limit)
        return rows, (rows[-1]["tx_id"], rows[-1]["event_id"]) if rows else after
    # Read once, so that the page and the scan's end agree on what is visible.
    visible_below = conn.execute(
        "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint"
    ).fetchone()[0]
    scan_limit = SCAN_FACTOR * limit
    rows = list_events(
        conn,
        initiated_by=initiated_by,
        after=after,
        limit=limit,
        visible_below=visible_below,
        scan_limit=scan_limit,
    )
    if len(rows) == limit:
        return rows, (rows[-1]["tx_id"], rows[-1]["event_id"])
    scanned, params = _events_looked_at(after, visible_below, scan_limit)
    scan_end = conn.execute(
        f"SELECT tx_id::text::bigint, event_id FROM ({scanned}) e"
        " ORDER BY tx_id DESC, event_id DESC LIMIT 1",
        params,
    ).fetchone()
    return rows, tuple(scan_end) if scan_end else after


def last_visible_event(conn) -> tuple[int, int] | None:
    """The (tx_id, event_id) cursor of the newest event list_events can return now."""
    return conn.execute(
        "SELECT tx_id::text::bigint, event_id FROM outbox_events"
        " WHERE tx_id < pg_snapshot_xmin(pg_current_snapshot())"
        " ORDER BY tx_id DESC, event_id DESC LIMIT 1"
    ).fetchone()


def accounts_with_deferred_credits(conn) -> list[str]:
    return [str(row[0]) for row in conn.execute("SELECT DISTINCT account_id FROM deferred_credits")]


def fold_deferred_credits(conn, account_id: str) -> None:
    """Move an account's deferred credits into its balance row (migration 0010)."""
    conn.execute("SELECT fold_deferred_credits(%s)", (account_id,))
