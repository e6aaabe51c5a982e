"""Money requests: a person asks another person to pay them.

A request is a PAYMENT transfer from the payer to the one who asks, marked
`requested` (migration 0024), pending until the payer confirms it with their
code (ConfirmTransfer, where the payer's caps and money are checked: the SQL
function transfer_payable_refusal), declines it (CancelTransfer) or it
expires (the maintenance sweep). Like a merchant's payment request
(payment_requests.py) it holds nothing while it waits: nobody can lock
another's money, or learn their balance, by asking. So only what is about the
requester is checked here (the cap on a payment to them, their maximum
balance, the currencies), with the number of requests they already wait on
from this payer.
"""

import dataclasses

import psycopg.errors

from envoi.client import errors
from envoi.core.auth.access import WALLET_KINDS
from envoi.core.config import Settings
from envoi.core.enums import TransferKind, TransferState
from envoi.core.ledger import accounts, identities, payment_requests, transfers

DEFAULT_EXPIRE_AFTER_S = payment_requests.MAX_EXPIRE_AFTER_S  # 7 days
CHANNEL_REFERENCE_INDEX = "transfers_channel_reference"


@dataclasses.dataclass(frozen=True)
class Side:
    """One side of a request: an account id, or an identity linked to one."""

    account_id: str | None
    identity: identities.IdentityRef | None
    field: str  # the request's field that named it

    def resolve(self, conn, who: str) -> dict:
        """The side's account (a PERSON's or an ASSOCIATION's), read."""
        account_id = self.account_id or payment_requests.linked_account_id(conn, self.identity, who)
        account = accounts.get_account(conn, account_id)
        if account["kind"] not in WALLET_KINDS:
            raise errors.InvalidArgument(
                "money is asked between people and associations"
                " (a merchant asks with RequestPayment)",
                field_violations={self.field: f"a {account['kind'].lower()} account"},
            )
        return account


def request_money(
    conn,
    settings: Settings,
    *,
    requester: Side,
    payer: Side,
    amount_cents: int,
    currency_code: str,
    memo: str,
    expire_after_s: int,
    channel_reference: str,
    initiated_by: str,
) -> dict:
    """Insert the pending request (its CONFIRMATION_REQUIRED event comes with it)."""
    requester_account = requester.resolve(conn, "requester")
    payer_account = payer.resolve(conn, "payer")
    requester_id = str(requester_account["account_id"])
    payer_id = str(payer_account["account_id"])
    if requester_id == payer_id:
        raise errors.SelfTransfer(
            "nobody can ask themselves for money",
            field_violations={payer.field: "the requester's own account"},
        )
    payment_requests.refuse_request(
        conn, settings, payer_id, requester_id, amount_cents, currency_code
    )
    payment_requests.refuse_too_many_open(conn, requester_id, payer_id)
    if channel_reference:
        _refuse_asked_before(conn, initiated_by, channel_reference)
    try:
        return transfers.insert_transfer(
            conn,
            kind=TransferKind.PAYMENT,
            state=TransferState.PENDING_CONFIRMATION,
            from_account_id=payer_id,
            to_account_id=requester_id,
            currency_code=currency_code,
            amount_cents=amount_cents,
            memo=memo,
            initiated_by=initiated_by,
            expire_after_s=expire_after_s,
            from_identity=payer.identity,
            to_identity=requester.identity,
            channel_reference=channel_reference,
            requested=True,
        )
    except psycopg.errors.UniqueViolation as exc:
        # A concurrent request of the same post for the same payer committed
        # first: the caller retries, and is then told it exists.
        if exc.diag.constraint_name == CHANNEL_REFERENCE_INDEX:
            raise psycopg.errors.SerializationFailure("same post, concurrently") from exc
        raise


def _refuse_asked_before(conn, initiated_by: str, channel_reference: str) -> None:
    """A post asks each payer once (the channel's own retries reuse their request id)."""
    row = conn.execute(
        "SELECT transfer_id, state FROM transfers WHERE initiated_by = %s"
        " AND channel_reference = %s",
        (initiated_by, channel_reference),
    ).fetchone()
    if row is not None:
        raise errors.PaymentRequestExists(
            "this post already asked this payer",
            metadata={"transfer_id": str(row[0]), "state": row[1]},
        )
