"""Payment requests: a merchant asks a person to pay it.

A request is a PAYMENT transfer from the payer to the merchant, pending
until the payer confirms it with their code (ConfirmTransfer: the SQL function
transfer_confirm checks the payer then), declines it (CancelTransfer) or it
expires (maintenance). It holds nothing while it
waits (migration 0013): a merchant must not be able to lock a person's
money by asking, nor learn anything of it from the answer. So only what is
about the merchant is checked here (the cap on a payment to it, its
maximum balance: the SQL function payment_request_refusal); the payer's caps
and money are checked when they confirm.
"""

import psycopg.errors

from envoi.client import errors
from envoi.core.config import Settings
from envoi.core.enums import TransferKind, TransferState
from envoi.core.ledger import accounts, identities, refusals, transfers

MIN_EXPIRE_AFTER_S = 60
MAX_EXPIRE_AFTER_S = 7 * 24 * 3600  # transfer_policy.MAX_REQUEST_AGE
MAX_MERCHANT_REFERENCE_LENGTH = 64
# A merchant may not flood a person's confirmation screen.
MAX_OPEN_REQUESTS_PER_PAYER = 5
OPEN_REFERENCE_INDEX = "transfers_open_merchant_reference"


def is_merchant_reference(value: str) -> bool:
    """1 to 64 printable ASCII characters, no spaces (the CHECK of migration 0013)."""
    return (
        1 <= len(value) <= MAX_MERCHANT_REFERENCE_LENGTH
        and value.isascii()
        and all("!" <= c <= "~" for c in value)
    )


def request_payment(
    conn,
    settings: Settings,
    *,
    merchant_account_id: str,
    payer_account_id: str | None,
    payer_identity: identities.IdentityRef | None,
    amount_cents: int,
    currency_code: str,
    merchant_reference: str,
    memo: str,
    expire_after_s: int,
    initiated_by: str,
) -> dict:
    """Insert the pending request (its CONFIRMATION_REQUIRED event comes with it)."""
    if payer_identity is not None:
        payer_account_id = linked_account_id(conn, payer_identity, "payer")
    if payer_account_id == merchant_account_id:
        raise errors.SelfTransfer(
            "a merchant cannot ask itself to pay",
            field_violations={"payer_account_id": "the merchant's own account"},
        )
    accounts.get_account(conn, merchant_account_id)
    accounts.get_account(conn, payer_account_id)
    refuse_request(
        conn, settings, payer_account_id, merchant_account_id, amount_cents, currency_code
    )
    _refuse_open_reference(conn, merchant_account_id, merchant_reference)
    refuse_too_many_open(conn, merchant_account_id, payer_account_id)
    try:
        return transfers.insert_transfer(
            conn,
            kind=TransferKind.PAYMENT,
            state=TransferState.PENDING_CONFIRMATION,
            from_account_id=payer_account_id,
            to_account_id=merchant_account_id,
            currency_code=currency_code,
            amount_cents=amount_cents,
            memo=memo,
            initiated_by=initiated_by,
            expire_after_s=expire_after_s,
            from_identity=payer_identity,
            merchant_reference=merchant_reference,
            requested=True,
        )
    except psycopg.errors.UniqueViolation as exc:
        # A concurrent request with the same reference committed first: the
        # transaction is aborted, so the caller retries and is then refused.
        if exc.diag.constraint_name == OPEN_REFERENCE_INDEX:
            raise psycopg.errors.SerializationFailure("same reference, concurrently") from exc
        raise


def linked_account_id(conn, identity: identities.IdentityRef, who: str) -> str:
    """The account that linked `identity` (the payer's, the requester's), or
    IDENTITY_NOT_LINKED: nothing is asked of, or for, an identity nobody linked."""
    account_id = identities.identity_account_id(conn, identity)
    if account_id is None:
        raise errors.IdentityNotLinked(
            f"no account has linked the {who}'s identity",
            metadata={"namespace": identity.namespace, "subject_id": identity.subject_id},
        )
    return account_id


def refuse_request(
    conn, settings: Settings, payer_id: str, requester_id: str, amount_cents: int, currency: str
) -> None:
    """What a request checks of the one who asks (payment_request_refusal): the
    cap on a payment to them, their maximum balance, the currencies."""
    refusals.check(
        conn,
        "payment_request_refusal(%s, p, m, %s::bigint, %s) FROM accounts p, accounts m"
        " WHERE p.account_id = %s AND m.account_id = %s",
        (refusals.rules(settings), amount_cents, currency, payer_id, requester_id),
    )


def _refuse_open_reference(conn, merchant_account_id: str, merchant_reference: str) -> None:
    row = conn.execute(
        "SELECT transfer_id, state FROM transfers WHERE to_account_id = %s"
        " AND merchant_reference = %s AND state IN ('PENDING_CONFIRMATION', 'COMPLETED')",
        (merchant_account_id, merchant_reference),
    ).fetchone()
    if row is not None:
        raise errors.PaymentRequestExists(
            "a request with this merchant_reference is already pending or completed",
            metadata={"transfer_id": str(row[0]), "state": row[1]},
        )


def refuse_too_many_open(conn, requester_account_id: str, payer_account_id: str) -> None:
    """At most MAX_OPEN_REQUESTS_PER_PAYER pending requests from one merchant (or
    person) to one payer. A lock of that pair alone (not of either account's row)
    makes concurrent requests count one after the other."""
    conn.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
        (f"payment-requests:{requester_account_id}:{payer_account_id}",),
    )
    open_count = conn.execute(
        "SELECT count(*) FROM transfers WHERE from_account_id = %s AND to_account_id = %s"
        " AND state = 'PENDING_CONFIRMATION' AND requested AND expire_time > now()",
        (payer_account_id, requester_account_id),
    ).fetchone()[0]
    if open_count >= MAX_OPEN_REQUESTS_PER_PAYER:
        raise errors.LimitExceeded(
            f"this payer already has {open_count} requests of this requester to answer",
            metadata={
                "limit": "OPEN_REQUESTS",
                "max_open_requests": str(MAX_OPEN_REQUESTS_PER_PAYER),
            },
        )
