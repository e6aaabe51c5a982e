"""Checks on a failed envoi RPC as the wire carries it: the google.rpc.Status
of a raw grpc.RpcError, and the typed exception the client makes of it."""

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from envoi.client import errors

# The contract, written out independently of errors.py: reason -> (class, gRPC code).
SPEC = {
    "INVALID_ARGUMENT": (errors.InvalidArgument, grpc.StatusCode.INVALID_ARGUMENT),
    "SELF_TRANSFER": (errors.SelfTransfer, grpc.StatusCode.INVALID_ARGUMENT),
    "CURRENCY_MISMATCH": (errors.CurrencyMismatch, grpc.StatusCode.INVALID_ARGUMENT),
    "INVALID_PAGE_TOKEN": (errors.InvalidPageToken, grpc.StatusCode.INVALID_ARGUMENT),
    "IDEMPOTENCY_KEY_REUSED": (errors.IdempotencyKeyReused, grpc.StatusCode.INVALID_ARGUMENT),
    "UNAUTHENTICATED": (errors.Unauthenticated, grpc.StatusCode.UNAUTHENTICATED),
    "PERMISSION_DENIED": (errors.PermissionDenied, grpc.StatusCode.PERMISSION_DENIED),
    "INVALID_SIGNATURE": (errors.InvalidSignature, grpc.StatusCode.UNAUTHENTICATED),
    "ACCOUNT_NOT_FOUND": (errors.AccountNotFound, grpc.StatusCode.NOT_FOUND),
    "TRANSFER_NOT_FOUND": (errors.TransferNotFound, grpc.StatusCode.NOT_FOUND),
    "TOP_UP_NOT_FOUND": (errors.TopUpNotFound, grpc.StatusCode.NOT_FOUND),
    "PAYOUT_NOT_FOUND": (errors.PayoutNotFound, grpc.StatusCode.NOT_FOUND),
    "COLLECTION_NOT_FOUND": (errors.CollectionNotFound, grpc.StatusCode.NOT_FOUND),
    "COLLECTION_HASHTAG_TAKEN": (errors.CollectionHashtagTaken, grpc.StatusCode.ALREADY_EXISTS),
    "COLLECTION_NOT_OPEN": (errors.CollectionNotOpen, grpc.StatusCode.FAILED_PRECONDITION),
    "IDENTITY_NOT_LINKED": (errors.IdentityNotLinked, grpc.StatusCode.NOT_FOUND),
    "IDENTITY_ALREADY_LINKED": (errors.IdentityAlreadyLinked, grpc.StatusCode.ALREADY_EXISTS),
    "INSUFFICIENT_FUNDS": (errors.InsufficientFunds, grpc.StatusCode.FAILED_PRECONDITION),
    "LIMIT_EXCEEDED": (errors.LimitExceeded, grpc.StatusCode.FAILED_PRECONDITION),
    "RECIPIENT_NOT_VERIFIED": (errors.RecipientNotVerified, grpc.StatusCode.FAILED_PRECONDITION),
    "AMOUNT_BELOW_FEE": (errors.AmountBelowFee, grpc.StatusCode.FAILED_PRECONDITION),
    "INVALID_CODE": (errors.InvalidCode, grpc.StatusCode.FAILED_PRECONDITION),
    "CODE_LOCKED": (errors.CodeLocked, grpc.StatusCode.FAILED_PRECONDITION),
    "CODE_RESET_HOLD": (errors.CodeResetHold, grpc.StatusCode.FAILED_PRECONDITION),
    "ACCOUNT_FROZEN": (errors.AccountFrozen, grpc.StatusCode.FAILED_PRECONDITION),
    "ACCOUNT_NOT_FROZEN": (errors.AccountNotFrozen, grpc.StatusCode.FAILED_PRECONDITION),
    "ACCOUNT_CLOSED": (errors.AccountClosed, grpc.StatusCode.FAILED_PRECONDITION),
    "ACCOUNT_NOT_EMPTY": (errors.AccountNotEmpty, grpc.StatusCode.FAILED_PRECONDITION),
    "TRANSFER_NOT_PENDING": (errors.TransferNotPending, grpc.StatusCode.FAILED_PRECONDITION),
    "TRANSFER_EXPIRED": (errors.TransferExpired, grpc.StatusCode.FAILED_PRECONDITION),
    "TOP_UP_NOT_PENDING": (errors.TopUpNotPending, grpc.StatusCode.FAILED_PRECONDITION),
    "PAYOUT_NOT_PENDING": (errors.PayoutNotPending, grpc.StatusCode.FAILED_PRECONDITION),
    "TRANSFER_ID_REUSED": (errors.TransferIdReused, grpc.StatusCode.ALREADY_EXISTS),
    "BATCH_REJECTED": (errors.BatchRejected, grpc.StatusCode.FAILED_PRECONDITION),
    "DEBIT_NOT_ALLOWED": (errors.DebitNotAllowed, grpc.StatusCode.FAILED_PRECONDITION),
    "RATE_LIMITED": (errors.RateLimited, grpc.StatusCode.RESOURCE_EXHAUSTED),
    "PAYMENT_REQUEST_EXISTS": (errors.PaymentRequestExists, grpc.StatusCode.ALREADY_EXISTS),
    "TRANSFER_NOT_REFUNDABLE": (
        errors.TransferNotRefundable,
        grpc.StatusCode.FAILED_PRECONDITION,
    ),
    "REFUND_EXCEEDS_PAYMENT": (errors.RefundExceedsPayment, grpc.StatusCode.FAILED_PRECONDITION),
    "API_KEY_NOT_FOUND": (errors.ApiKeyNotFound, grpc.StatusCode.NOT_FOUND),
    "API_KEY_REVOKED": (errors.ApiKeyRevoked, grpc.StatusCode.FAILED_PRECONDITION),
    "WEBHOOK_ENDPOINT_NOT_FOUND": (errors.WebhookEndpointNotFound, grpc.StatusCode.NOT_FOUND),
    "WEBHOOK_DELIVERY_NOT_FOUND": (errors.WebhookDeliveryNotFound, grpc.StatusCode.NOT_FOUND),
    "WEBHOOK_ENDPOINT_DISABLED": (
        errors.WebhookEndpointDisabled,
        grpc.StatusCode.FAILED_PRECONDITION,
    ),
    "UNAVAILABLE": (errors.Unavailable, grpc.StatusCode.UNAVAILABLE),
    "HISTORY_NOT_SETTLED": (errors.HistoryNotSettled, grpc.StatusCode.UNAVAILABLE),
    "INTERNAL": (errors.Internal, grpc.StatusCode.INTERNAL),
}


def bearer(token: str | None) -> tuple:
    return (("authorization", f"Bearer {token}"),) if token else ()


def failed_call(stub_method, request, auth: tuple) -> grpc.RpcError:
    """Call a generated stub method directly; it must fail."""
    with pytest.raises(grpc.RpcError) as raised:
        stub_method(request, metadata=auth, timeout=10)
    return raised.value


def assert_envoi_error(
    rpc_error: grpc.RpcError, reason: str, *, fields=None, metadata=None
) -> errors.EnvoiError:
    """Assert the raw status and the typed exception of a failed call; return the latter.

    fields: the exact BadRequest field paths (required for the INVALID_ARGUMENT
    family, absent otherwise); metadata: the exact ErrorInfo metadata (default none).
    """
    cls, code = SPEC[reason]
    assert rpc_error.code() == code, (rpc_error.code(), rpc_error.details())
    status = rpc_status.from_call(rpc_error)
    assert status is not None, "no google.rpc.Status in the trailing metadata"
    assert status.code == code.value[0]

    infos, bad_requests = [], []
    for detail in status.details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            infos.append(error_details_pb2.ErrorInfo())
            detail.Unpack(infos[-1])
        elif detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad_requests.append(error_details_pb2.BadRequest())
            detail.Unpack(bad_requests[-1])
        else:
            pytest.fail(f"unexpected detail {detail.type_url}")
    assert len(infos) == 1, infos
    assert (infos[0].domain, infos[0].reason) == ("envoi", reason)
    assert dict(infos[0].metadata) == (metadata or {})

    # The INVALID_ARGUMENT family always says which fields; the others never do.
    assert (fields is not None) == issubclass(cls, errors.InvalidArgument)
    if fields is None:
        assert bad_requests == []
    else:
        assert len(bad_requests) == 1
        violations = bad_requests[0].field_violations
        assert sorted(v.field for v in violations) == sorted(fields)
        assert all(v.description for v in violations)

    typed = errors.from_rpc_error(rpc_error)
    assert type(typed) is cls
    assert (typed.reason, typed.code) == (reason, code)
    assert typed.metadata == (metadata or {})
    assert sorted(typed.field_violations) == sorted(fields or ())
    return typed


def ledger_state(db) -> dict:
    """Everything a failed call must leave as it was."""
    return {
        "accounts": db.execute(
            # With deferred credits (migration 0010), folded or not.
            "SELECT account_id, account_balance_cents(accounts), held_cents,"
            " failed_code_attempts, code_hmac FROM accounts ORDER BY account_id"
        ).fetchall(),
        "transfers": db.execute("SELECT transfer_id, state FROM transfers ORDER BY seq").fetchall(),
        "postings": db.execute("SELECT count(*) FROM postings").fetchone()[0],
        "outbox_events": db.execute("SELECT count(*) FROM outbox_events").fetchone()[0],
        "idempotency_keys": db.execute("SELECT count(*) FROM idempotency_keys").fetchone()[0],
    }


def expect_failure(
    db, stub_method, request, auth, reason, *, fields=None, metadata=None
) -> errors.EnvoiError:
    """One raw call that fails with `reason` and changes nothing in the ledger."""
    before = ledger_state(db)
    typed = assert_envoi_error(
        failed_call(stub_method, request, auth), reason, fields=fields, metadata=metadata
    )
    assert ledger_state(db) == before, "a failed call changed the ledger"
    return typed
