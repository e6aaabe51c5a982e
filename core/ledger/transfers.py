"""Ledger operations, each run inside a caller's transaction.

The SQL triggers of migrations/0001_ledger.sql do the bookkeeping (holds,
postings, balances, outbox events, one resolution per transfer). This module
decides what to do and in which order to lock: a transfer row first, then
the accounts it touches in account_id order, so two transactions never wait
on each other in a circle.
"""

from __future__ import annotations

import dataclasses
import datetime
import uuid
from typing import NamedTuple

import psycopg
import psycopg.errors
from psycopg.rows import dict_row

from envoi.client import errors
from envoi.core.config import Settings
from envoi.core.enums import AccountKind, TransferKind, TransferState
from envoi.core.ledger import accounts, code_resets, collections, identities
from envoi.core.ledger.idempotency import RecordedFailure
from envoi.core.policy import merchant_fees, transfer_policy

TRANSFER_COLUMNS = (
    "transfer_id, seq, kind, state, from_account_id, to_account_id, currency_code,"
    " amount_cents, memo, initiated_by, create_time, expire_time, resolve_time,"
    " from_namespace, from_subject_id, from_handle, to_namespace, to_subject_id,"
    " to_handle, channel_reference, claim_expire_time, fee_cents, merchant_reference,"
    " collection_id"
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
    account = accounts.get_account(conn, account_id, lock=True)
    accounts.require_currency(account["currency_code"], currency_code, "the account")
    transfer_policy.check_max_balance(settings, account, amount_cents)
    return _insert_transfer(
        conn,
        kind=TransferKind.FUNDING,
        state=TransferState.COMPLETED,
        from_account_id=accounts.system_account_id(conn, accounts.FUNDING_PURPOSE, currency_code),
        to_account_id=account_id,
        currency_code=currency_code,
        amount_cents=amount_cents,
        memo=memo,
        initiated_by=initiated_by,
        expire_after_s=None,
    )


class Payee(NamedTuple):
    """Whom a payment is to, as its checks see it."""

    account_id: str  # the account credited: the recipient's, escrow's or a collection's
    kind: str  # capped as: the recipient's kind, PERSON for escrow, a collection's owner's
    currency_code: str
    account: dict | None  # the recipient's row; None for escrow or a collection
    collection_id: str | None = None


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
    from_identity: identities.IdentityRef | None = None,
    to_identity: identities.IdentityRef | None = None,
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
        from_account_id = _linked_account_id(conn, from_identity)
    if to_identity is not None:
        to_account_id = identities.identity_account_id(conn, to_identity)
    collection = None
    if to_collection_id or to_collection_hashtag:
        collection = collections.for_payment(
            conn, collection_id=to_collection_id, hashtag=to_collection_hashtag
        )
        to_account_id = str(collection["collection_id"])
    if from_account_id == to_account_id:
        raise errors.SelfTransfer(
            "an account cannot pay itself", field_violations={"to_account_id": "same as the sender"}
        )
    payee = _payee(conn, to_account_id, collection, currency_code)
    # The sender's row lock serializes its transfers, so two concurrent
    # requests cannot both pass the daily cap or both spend the same money.
    sender = accounts.get_account(conn, from_account_id, lock=True)
    authorize_sender(sender)
    _check_payment(conn, settings, sender, payee, amount_cents, currency_code, initiated_by)
    return _insert_transfer(
        conn,
        kind=TransferKind.PAYMENT,
        state=TransferState.PENDING_CONFIRMATION,
        from_account_id=from_account_id,
        to_account_id=payee.account_id,
        currency_code=currency_code,
        amount_cents=amount_cents,
        memo=memo,
        initiated_by=initiated_by,
        expire_after_s=settings.confirmation_timeout_s,
        from_identity=from_identity,
        to_identity=to_identity,
        channel_reference=channel_reference,
        collection_id=payee.collection_id,
    )


def _linked_account_id(conn, from_identity: identities.IdentityRef) -> str:
    """The account of the sender's identity; IDENTITY_NOT_LINKED if none."""
    account_id = identities.identity_account_id(conn, from_identity)
    if account_id is None:
        raise errors.IdentityNotLinked(
            "the sender's identity is not linked to an envoi account",
            metadata={"namespace": from_identity.namespace, "subject_id": from_identity.subject_id},
        )
    return account_id


def _payee(conn, to_account_id: str | None, collection: dict | None, currency_code: str) -> Payee:
    if collection is not None:  # no tier: a collection has no maximum balance
        # Capped like a payment to its owner, whose verification (an
        # association's) may have been withdrawn since it opened the collection.
        transfer_policy.check_recipient_verified(
            collection["owner_account_id"],
            collection["owner_kind"],
            collection["owner_profile_verify_time"],
        )
        return Payee(
            to_account_id,
            collection["owner_kind"],
            collection["currency_code"],
            None,
            collection_id=to_account_id,
        )
    if to_account_id is None:  # nobody has linked the recipient's identity yet
        escrow_id = accounts.system_account_id(conn, accounts.ESCROW_PURPOSE, currency_code)
        return Payee(escrow_id, AccountKind.PERSON, currency_code, None)
    account = accounts.get_account(conn, to_account_id)
    return Payee(to_account_id, account["kind"], account["currency_code"], account)


def _check_payment(
    conn,
    settings: Settings,
    sender: dict,
    payee: Payee,
    amount_cents: int,
    currency_code: str,
    initiated_by: str,
) -> None:
    """Every check of a payment, in the order its errors are reported; the
    sender's row is locked."""
    transfer_policy.refuse_settlement(sender["kind"], "from_account_id")
    transfer_policy.refuse_settlement(payee.kind, "to_account_id")
    accounts.require_currency(sender["currency_code"], currency_code, "from_account_id")
    accounts.require_currency(payee.currency_code, currency_code, "to_account_id")
    if payee.account is not None:  # escrow is a person, a collection's owner checked
        transfer_policy.check_recipient_row_verified(payee.account)
        merchant_fees.check_fee_below_amount(conn, payee.account, amount_cents)
    transfer_policy.check_caps(
        conn,
        settings,
        sender=sender,
        recipient_kind=payee.kind,
        recipient_account=payee.account,
        amount_cents=amount_cents,
    )
    if initiated_by.startswith("channel:"):
        transfer_policy.check_channel_holds(conn, settings, sender, amount_cents)
    accounts.require_available(sender, amount_cents, "the sender's")


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
    from_identity = from_identity or identities.IdentityRef(None, None, None)
    to_identity = to_identity or identities.IdentityRef(None, None, None)
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
    if transfer["state"] != TransferState.PENDING_CONFIRMATION:
        raise errors.TransferNotPending(
            f"the transfer is already {transfer['state']}",
            metadata={"transfer_id": str(transfer["transfer_id"]), "state": transfer["state"]},
        )
    if transfer["past_deadline"]:
        _resolve(conn, transfer["transfer_id"], TransferState.EXPIRED)
        raise RecordedFailure(
            errors.TransferExpired(
                "the transfer was not confirmed in time; its hold is released",
                metadata={"transfer_id": str(transfer["transfer_id"])},
            )
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
        f" profile_verify_time, {accounts.CODE_HOLD_END_TIME}"
    )
    parties = {
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
    code_resets.require_no_hold(parties[transfer["from_account_id"]])
    accounts.verify_code(conn, settings, code_key, parties[transfer["from_account_id"]], code)
    recipient = parties[transfer["to_account_id"]]
    if transfer["merchant_reference"] is not None:
        # A payment request held nothing: what a payment checks when it is
        # initiated is checked now, with the payer's row locked above.
        check_payer_can_pay(conn, settings, transfer, recipient)
    if recipient["kind"] != AccountKind.SYSTEM:  # its balance may have grown since the initiation
        transfer_policy.check_max_balance(settings, recipient, transfer["amount_cents"])
        # An admin may have withdrawn the verification since the initiation.
        transfer_policy.check_recipient_row_verified(recipient)
    if transfer["to_subject_id"] is None or recipient["kind"] != AccountKind.SYSTEM:
        return _resolve(conn, transfer["transfer_id"], TransferState.COMPLETED)
    # Paid to an identity nobody had linked: into escrow, then straight to its
    # account if it was linked while the transfer waited for confirmation.
    conn.execute(
        "UPDATE transfers SET state = 'AWAITING_CLAIM', resolve_time = now(),"
        " claim_expire_time = now() + make_interval(secs => %s) WHERE transfer_id = %s",
        (settings.claim_window_s, transfer["transfer_id"]),
    )
    identity = identities.IdentityRef(transfer["to_namespace"], transfer["to_subject_id"])
    claimer = identities.identity_account_id(conn, identity)
    if claimer is not None:
        identities.claim_for_identity(conn, settings, identity, claimer)
    return get_transfer(conn, transfer["transfer_id"])


def check_payer_can_pay(conn, settings: Settings, transfer: dict, recipient: dict) -> None:
    """The caps and the available balance of a payment request's payer, whose
    row the caller has locked; the floor CHECK stays the last word."""
    payer = accounts.get_account(conn, transfer["from_account_id"])
    transfer_policy.check_caps(
        conn,
        settings,
        sender=payer,
        recipient_kind=recipient["kind"],
        recipient_account=recipient,
        amount_cents=transfer["amount_cents"],
    )
    accounts.require_available(payer, transfer["amount_cents"], "the payer's")


def _require_collection_accepting(conn, transfer: dict) -> None:
    """A contribution completes only while its collection takes payments: one
    closed, cancelled or past its deadline since the initiation releases the
    hold (CANCELLED) and answers COLLECTION_NOT_OPEN, kept for the request_id.
    Locked before the accounts, in the order closing takes them."""
    collection = collections.lock_for_contribution(conn, transfer["collection_id"])
    if not collection["accepting_payments"]:
        _resolve(conn, transfer["transfer_id"], TransferState.CANCELLED)
        raise RecordedFailure(collections.not_open(collection))


def cancel(conn, transfer: dict) -> dict:
    """Release the hold of a locked pending transfer."""
    _require_pending(conn, transfer)
    return _resolve(conn, transfer["transfer_id"], TransferState.CANCELLED)


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
