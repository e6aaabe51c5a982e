"""Transfers read and written from Python: credits, the insert of a transfer,
reads, histories, and the sweeps of maintenance.

The core operations (initiate, confirm, cancel) are SQL functions, one call
each (core/schema/functions/transfer_*.sql, through core/ledger/group_commit.py);
the SQL triggers do the bookkeeping of every transfer (holds, postings,
balances, outbox events, one resolution per transfer). Locks go: a transfer
row first, then the accounts it touches in account_id order, so two
transactions never wait on each other in a circle.
"""

from __future__ import annotations

import dataclasses
import datetime
import uuid

import psycopg
import psycopg.errors
from psycopg.rows import dict_row

from envoi.client import errors
from envoi.core.config import Settings
from envoi.core.enums import TransferKind, TransferState
from envoi.core.ledger import accounts, identities, refusals

TRANSFER_COLUMNS = (
    "transfer_id, seq, kind, state, from_account_id, to_account_id, currency_code,"
    " amount_cents, memo, initiated_by, create_time, expire_time, resolve_time,"
    " from_namespace, from_subject_id, from_handle, to_namespace, to_subject_id,"
    " to_handle, channel_reference, claim_expire_time, fee_cents, merchant_reference,"
    " collection_id, requested"
)
# A transfer with the names and kinds of its sides (the view of migration 0021).
TRANSFER_WITH_NAMES = "SELECT t.* FROM transfers_named t"


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
    accounts.get_account(conn, account_id, lock=True)
    refusals.check(
        conn,
        "coalesce(currency_refusal(a.currency_code, %s, 'the account'),"
        " max_balance_refusal(%s, a, %s::bigint)) FROM accounts a WHERE a.account_id = %s",
        (currency_code, refusals.rules(settings), amount_cents, account_id),
    )
    return insert_transfer(
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


def insert_transfer(
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
    merchant_reference=None,
    requested=False,
    to_identity=None,
    channel_reference="",
) -> dict:
    """Write a transfer (a credit, or a request) as given; read it back named."""
    from_identity = from_identity or identities.IdentityRef(None, None, None)
    to_identity = to_identity or identities.IdentityRef(None, None, None)
    transfer_id = uuid.uuid4()
    try:
        conn.execute(
            "INSERT INTO transfers (transfer_id, kind, state, from_account_id, to_account_id,"
            " currency_code, amount_cents, memo, initiated_by, expire_time, resolve_time,"
            " from_namespace, from_subject_id, from_handle, merchant_reference, requested,"
            " to_namespace, to_subject_id, to_handle, channel_reference)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, now() + make_interval(secs => %s),"
            " CASE WHEN %s = 'COMPLETED' THEN now() END, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
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
                merchant_reference,
                requested,
                *to_identity,
                channel_reference,
            ),
        )
    except psycopg.errors.CheckViolation as exc:
        # The database's own floor check: the last word on overdrafts.
        if exc.diag.constraint_name == "balance_above_floor":
            raise errors.InsufficientFunds("the sender's available balance is too low") from None
        raise
    return get_transfer(conn, transfer_id)


def get_transfer(conn, transfer_id) -> dict:
    row = (
        conn.cursor(row_factory=dict_row)
        .execute(TRANSFER_WITH_NAMES + " WHERE t.transfer_id = %s", (transfer_id,))
        .fetchone()
    )
    if row is None:
        raise errors.TransferNotFound(
            f"no transfer {transfer_id}", metadata={"transfer_id": str(transfer_id)}
        )
    return row


def get_channel_transfer(conn, channel: str, channel_reference: str) -> dict:
    """The transfer a channel started for a post (transfers_channel_reference)."""
    row = (
        conn.cursor(row_factory=dict_row)
        .execute(
            TRANSFER_WITH_NAMES + " WHERE t.initiated_by = %s AND t.channel_reference = %s",
            (f"channel:{channel}", channel_reference),
        )
        .fetchone()
    )
    if row is None:
        raise errors.TransferNotFound(
            f"the {channel} channel started no transfer for {channel_reference}",
            metadata={"channel": channel, "channel_reference": channel_reference},
        )
    return row


def expire_one_due(conn, now=None) -> bool:
    """Expire one pending transfer whose time is up; False when none is left.

    One per transaction, and SKIP LOCKED, so the sweepers of several server
    processes never wait on each other or on a confirmation in progress: the
    transfer and its sender's row (which releasing the hold updates) are both
    taken or both left for the next round. A batch of payments locks its
    accounts before its transfers; a sweeper that waited for a sender's row
    while holding its transfer would close a circle with it."""
    row = conn.execute(
        "UPDATE transfers SET state = 'EXPIRED', resolve_time = now() WHERE transfer_id = ("
        " SELECT t.transfer_id FROM transfers t"
        " JOIN accounts a ON a.account_id = t.from_account_id"
        " WHERE t.state = 'PENDING_CONFIRMATION' AND t.expire_time <= coalesce(%s, now())"
        " ORDER BY t.expire_time LIMIT 1"
        " FOR UPDATE OF t SKIP LOCKED FOR NO KEY UPDATE OF a SKIP LOCKED)"
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
    """Give back one transfer whose claim window closed; False when none is left.
    Its two accounts (escrow and the sender) are taken with it or left, as in
    expire_one_due."""
    row = conn.execute(
        "UPDATE transfers SET state = 'REFUNDED' WHERE transfer_id = ("
        " SELECT t.transfer_id FROM transfers t"
        " JOIN accounts s ON s.account_id = t.from_account_id"
        " JOIN accounts e ON e.account_id = t.to_account_id"
        " WHERE t.state = 'AWAITING_CLAIM' AND t.claim_expire_time <= coalesce(%s, now())"
        " ORDER BY t.claim_expire_time LIMIT 1"
        " FOR UPDATE OF t SKIP LOCKED FOR NO KEY UPDATE OF s, e SKIP LOCKED)"
        " RETURNING transfer_id",
        (now,),
    ).fetchone()
    return row is not None


# Identities
