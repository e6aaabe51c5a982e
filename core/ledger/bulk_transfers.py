"""Bulk transfers: a batch of LEDGER transfers posted at once (CreateTransfers).

One transaction per batch, in three steps:

1. lock every account the batch touches, in account_id order (so two batches
   touching the same accounts in any order never deadlock), and read which
   transfer ids already exist;
2. decide each transfer in the order of the batch, against the locked
   balances: it exists already (same content), or fails (a reason), or is
   created, and then moves the running balances the next ones see. A
   batch debits only what DEBITABLE allows (DEBIT_NOT_ALLOWED otherwise),
   never a frozen account (ACCOUNT_FROZEN), never touches a closed one
   (ACCOUNT_CLOSED), and never takes a recipient over its tier's maximum
   balance (LIMIT_EXCEEDED);
3. insert every created transfer with one INSERT ... SELECT FROM unnest(...),
   in batch order. The triggers of the migrations do the bookkeeping: two
   postings, the balances, one TRANSFER_COMPLETED outbox event each, and the
   floor CHECK on accounts, which stays the last word on overdrafts, and the
   trigger of migration 0015, the last word on which accounts a batch debits.

Step 2 is exact because the accounts are locked: the insert of step 3 meets
the same balances, so in independent mode a failing transfer never aborts
the others and no savepoint is needed.
"""

import dataclasses

import psycopg
import psycopg.errors

from envoi.client import errors
from envoi.core.config import Settings
from envoi.core.enums import CreateTransferStatus, TransferKind
from envoi.core.ledger import refusals

MAX_TRANSFERS = 8_000
KIND = TransferKind.LEDGER
CREATED, EXISTS, FAILED = (
    CreateTransferStatus.CREATED,
    CreateTransferStatus.EXISTS,
    CreateTransferStatus.FAILED,
)


@dataclasses.dataclass(frozen=True)
class NewTransfer:
    transfer_id: str
    from_account_id: str
    to_account_id: str
    amount_cents: int
    currency_code: str
    memo: str


@dataclasses.dataclass(frozen=True)
class Outcome:
    status: str  # CREATED, EXISTS or FAILED
    reason: str = ""  # for FAILED: an ErrorInfo reason of docs/errors.md
    message: str = ""


def create_transfers(
    conn: psycopg.Connection,
    settings: Settings,
    batch: list[NewTransfer],
    *,
    all_or_nothing: bool,
    initiated_by: str,
) -> list[Outcome]:
    """Post the batch; one outcome per transfer, in order.

    In all-or-nothing mode the first failure raises BatchRejected and nothing
    is written. The batch is validated already (ids well formed and distinct,
    amounts positive, no self-transfer).
    """
    accounts = lock_accounts(conn, batch, settings)
    existing = {
        str(row[0]): (row[1], str(row[2]), str(row[3]), row[4], row[5], row[6])
        for row in conn.execute(
            "SELECT transfer_id, kind, from_account_id, to_account_id, currency_code,"
            " amount_cents, memo FROM transfers WHERE transfer_id = ANY(%s::uuid[])",
            ([t.transfer_id for t in batch],),
        )
    }

    outcomes = []
    for index, transfer in enumerate(batch):
        outcome = _decide(transfer, accounts, existing)
        if outcome.status == FAILED and all_or_nothing:
            raise errors.BatchRejected(
                f"transfers[{index}] failed ({outcome.reason}): {outcome.message};"
                " nothing was applied",
                metadata={
                    "index": str(index),
                    "transfer_id": transfer.transfer_id,
                    "failure_reason": outcome.reason,
                },
            )
        outcomes.append(outcome)

    created = [t for t, o in zip(batch, outcomes, strict=True) if o.status == CREATED]
    if created:
        insert_completed(conn, created, initiated_by)
    return outcomes


# The accounts a batch may debit without their owner's code: envoi's own
# settlement accounts, and merchants' or associations' under a live mandate
# an admin recorded (SetDebitMandate). Never a person's. The trigger of
# migration 0015 holds the same rule for any SQL.
DEBITABLE = "kind = 'SETTLEMENT' OR debit_mandate_time IS NOT NULL"


@dataclasses.dataclass
class LockedAccount:
    """An account of the batch as the running decisions see it."""

    currency_code: str
    available_cents: int  # what it may still spend
    balance_cents: int
    max_balance_cents: int | None  # its tier's maximum (account_max_balance_cents), if any
    kind: str
    debitable: bool
    frozen: bool  # no money out (FreezeAccount)
    closed: bool  # no money in or out (CloseAccount)


def lock_accounts(conn: psycopg.Connection, batch: list[NewTransfer], settings: Settings) -> dict:
    """Lock every account the batch touches, in account_id order; returns
    {account id: LockedAccount} (system accounts and collections are not
    reachable, so absent)."""
    account_ids = sorted({a for t in batch for a in (t.from_account_id, t.to_account_id)})
    return {
        str(row[0]): LockedAccount(*row[1:])
        for row in conn.execute(
            "SELECT account_id, currency_code,"
            " account_balance_cents(accounts) - held_cents - floor_cents,"
            " account_balance_cents(accounts), account_max_balance_cents(%s, accounts),"
            f" kind, {DEBITABLE}, freeze_time IS NOT NULL, close_time IS NOT NULL"
            # Collections are paid into and out of only by their own rules.
            " FROM accounts WHERE account_id = ANY(%s::uuid[])"
            " AND kind NOT IN ('SYSTEM', 'COLLECTION')"
            " ORDER BY account_id FOR NO KEY UPDATE",
            (refusals.rules(settings), account_ids),
        )
    }


def _decide(transfer: NewTransfer, accounts: dict, existing: dict) -> Outcome:
    content = (
        KIND,
        transfer.from_account_id,
        transfer.to_account_id,
        transfer.currency_code,
        transfer.amount_cents,
        transfer.memo,
    )
    before = existing.get(transfer.transfer_id)
    if before is not None:
        if before == content:
            return Outcome(EXISTS)
        return Outcome(
            FAILED,
            errors.TransferIdReused.reason,
            "a transfer with this id exists with other content",
        )
    for side in ("from_account_id", "to_account_id"):
        account_id = getattr(transfer, side)
        if account_id not in accounts:
            return Outcome(
                FAILED, errors.AccountNotFound.reason, f"{side}: no account {account_id}"
            )
    sender, recipient = accounts[transfer.from_account_id], accounts[transfer.to_account_id]
    for side, account in (("from_account_id", sender), ("to_account_id", recipient)):
        if account.currency_code != transfer.currency_code:
            return Outcome(
                FAILED,
                errors.CurrencyMismatch.reason,
                f"{side} holds {account.currency_code}, not {transfer.currency_code}",
            )
    refused = _status_refusal(sender, recipient)
    if refused is not None:
        return refused
    if not sender.debitable:
        return Outcome(
            FAILED,
            errors.DebitNotAllowed.reason,
            f"a batch may not debit this {sender.kind.lower()} account: only settlement"
            " accounts and accounts with a debit mandate",
        )
    if transfer.amount_cents > sender.available_cents:
        return Outcome(
            FAILED, errors.InsufficientFunds.reason, "the sender's available balance is too low"
        )
    max_cents = recipient.max_balance_cents
    if max_cents is not None and recipient.balance_cents + transfer.amount_cents > max_cents:
        return Outcome(
            FAILED,
            errors.LimitExceeded.reason,
            "this would take the recipient over the maximum balance of its tier"
            f" ({max_cents} cents)",
        )
    for account, delta_cents in (
        (sender, -transfer.amount_cents),
        (recipient, transfer.amount_cents),
    ):
        account.available_cents += delta_cents
        account.balance_cents += delta_cents
    existing[transfer.transfer_id] = content  # a later copy in the batch would exist
    return Outcome(CREATED)


def _status_refusal(sender: LockedAccount, recipient: LockedAccount) -> Outcome | None:
    """A closed account moves nothing, a frozen one sends nothing (the rule
    account_status_refusal, which the insert meets too, holds for any SQL)."""
    for side, account in (("from_account_id", sender), ("to_account_id", recipient)):
        if account.closed:
            return Outcome(FAILED, errors.AccountClosed.reason, f"{side}: the account is closed")
    if sender.frozen:
        return Outcome(
            FAILED, errors.AccountFrozen.reason, "from_account_id: the account is frozen"
        )
    return None


def insert_completed(
    conn: psycopg.Connection, created: list[NewTransfer], initiated_by: str
) -> None:
    """Insert the transfers as COMPLETED, in order, with one INSERT ... SELECT
    FROM unnest(...); the triggers post them (the bench's raw SQL uses it too)."""
    columns = list(zip(*(dataclasses.astuple(t) for t in created), strict=True))
    try:
        conn.execute(
            "INSERT INTO transfers (transfer_id, kind, state, from_account_id, to_account_id,"
            " currency_code, amount_cents, memo, initiated_by, resolve_time)"
            " SELECT b.transfer_id, %s, 'COMPLETED', b.from_account_id, b.to_account_id,"
            "        b.currency_code, b.amount_cents, b.memo, %s, now()"
            " FROM unnest(%s::uuid[], %s::uuid[], %s::uuid[], %s::bigint[], %s::text[],"
            "             %s::text[]) WITH ORDINALITY"
            "      AS b(transfer_id, from_account_id, to_account_id, amount_cents,"
            "           currency_code, memo, position)"
            " ORDER BY b.position",
            (KIND, initiated_by, *(list(column) for column in columns)),
        )
    except psycopg.errors.CheckViolation as exc:
        # The database's own floor check: the pre-check above should make this unreachable.
        if exc.diag.constraint_name == "balance_above_floor":
            raise errors.InsufficientFunds("a sender's available balance is too low") from None
        if exc.diag.constraint_name == "ledger_debit_allowed":
            raise errors.DebitNotAllowed("a batch may not debit one of these accounts") from None
        raise
    except psycopg.errors.UniqueViolation as exc:
        # A concurrent batch inserted one of these ids first (on other accounts,
        # so no lock ordered the two): run again; that transfer is seen then.
        if exc.diag.constraint_name == "transfers_pkey":
            raise psycopg.errors.SerializationFailure(
                "a transfer id was taken concurrently"
            ) from exc
        raise
