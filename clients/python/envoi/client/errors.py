"""envoi's error model: one exception class per stable ErrorInfo reason.

The server raises these and sends them as google.rpc.Status with exactly one
ErrorInfo (domain "envoi"), plus a BadRequest for invalid fields; the client
turns a status back into the same class. docs/errors.md lists them all.
"""

import grpc
from google.protobuf import any_pb2
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

ERROR_DOMAIN = "envoi"


class EnvoiError(Exception):
    """Base class. `reason` is the ErrorInfo reason, `code` the gRPC status code."""

    reason = "UNKNOWN"
    code = grpc.StatusCode.UNKNOWN

    def __init__(
        self,
        message: str,
        *,
        metadata: dict[str, str] | None = None,
        field_violations: dict[str, str] | None = None,
    ):
        super().__init__(message)
        self.message = message
        self.metadata = dict(metadata or {})
        # field path -> what is wrong with it (google.rpc.BadRequest)
        self.field_violations = dict(field_violations or {})

    def to_status(self) -> grpc.Status:
        return rpc_status.to_status(self.status_proto())

    def status_proto(self) -> status_pb2.Status:
        info = error_details_pb2.ErrorInfo(
            reason=self.reason, domain=ERROR_DOMAIN, metadata=self.metadata
        )
        details = [info]
        if self.field_violations:
            details.append(
                error_details_pb2.BadRequest(
                    field_violations=[
                        error_details_pb2.BadRequest.FieldViolation(field=field, description=text)
                        for field, text in self.field_violations.items()
                    ]
                )
            )
        packed = []
        for detail in details:
            any_detail = any_pb2.Any()
            any_detail.Pack(detail)
            packed.append(any_detail)
        return status_pb2.Status(code=self.code.value[0], message=self.message, details=packed)


class InvalidArgument(EnvoiError):
    """The request is malformed; field_violations says which fields and why."""

    reason, code = "INVALID_ARGUMENT", grpc.StatusCode.INVALID_ARGUMENT


class SelfTransfer(InvalidArgument):
    reason = "SELF_TRANSFER"


class CurrencyMismatch(InvalidArgument):
    reason = "CURRENCY_MISMATCH"


class InvalidPageToken(InvalidArgument):
    reason = "INVALID_PAGE_TOKEN"


class IdempotencyKeyReused(InvalidArgument):
    """The request_id was used before for a different request."""

    reason = "IDEMPOTENCY_KEY_REUSED"


class Unauthenticated(EnvoiError):
    reason, code = "UNAUTHENTICATED", grpc.StatusCode.UNAUTHENTICATED


class PermissionDenied(EnvoiError):
    reason, code = "PERMISSION_DENIED", grpc.StatusCode.PERMISSION_DENIED


class InvalidSignature(EnvoiError):
    """A provider callback whose signature is not the provider's: nothing changed."""

    reason, code = "INVALID_SIGNATURE", grpc.StatusCode.UNAUTHENTICATED


class AccountNotFound(EnvoiError):
    reason, code = "ACCOUNT_NOT_FOUND", grpc.StatusCode.NOT_FOUND


class TransferNotFound(EnvoiError):
    reason, code = "TRANSFER_NOT_FOUND", grpc.StatusCode.NOT_FOUND


class TopUpNotFound(EnvoiError):
    """metadata: top_up_id, or provider and provider_reference for a callback."""

    reason, code = "TOP_UP_NOT_FOUND", grpc.StatusCode.NOT_FOUND


class PayoutNotFound(EnvoiError):
    """metadata: payout_id, or provider and provider_reference for a callback."""

    reason, code = "PAYOUT_NOT_FOUND", grpc.StatusCode.NOT_FOUND


class CollectionNotFound(EnvoiError):
    """No such collection (metadata: collection_id, or hashtag)."""

    reason, code = "COLLECTION_NOT_FOUND", grpc.StatusCode.NOT_FOUND


class CollectionHashtagTaken(EnvoiError):
    """Another open collection has this hashtag (metadata: hashtag)."""

    reason, code = "COLLECTION_HASHTAG_TAKEN", grpc.StatusCode.ALREADY_EXISTS


class CollectionNotOpen(EnvoiError):
    """The collection takes no payments, or was already closed or cancelled
    (metadata: collection_id, state, deadline_passed)."""

    reason, code = "COLLECTION_NOT_OPEN", grpc.StatusCode.FAILED_PRECONDITION


class IdentityNotLinked(EnvoiError):
    """No account has linked this social identity (metadata: namespace, subject_id)."""

    reason, code = "IDENTITY_NOT_LINKED", grpc.StatusCode.NOT_FOUND


class IdentityAlreadyLinked(EnvoiError):
    """The identity belongs to another account: unlink it there first."""

    reason, code = "IDENTITY_ALREADY_LINKED", grpc.StatusCode.ALREADY_EXISTS


class InsufficientFunds(EnvoiError):
    reason, code = "INSUFFICIENT_FUNDS", grpc.StatusCode.FAILED_PRECONDITION


class LimitExceeded(EnvoiError):
    """metadata["limit"] names the limit; metadata["limit_cents"] gives it."""

    reason, code = "LIMIT_EXCEEDED", grpc.StatusCode.FAILED_PRECONDITION


class RecipientNotVerified(EnvoiError):
    """A payment to a merchant or an association whose business profile an
    admin has not verified (metadata: account_id)."""

    reason, code = "RECIPIENT_NOT_VERIFIED", grpc.StatusCode.FAILED_PRECONDITION


class AmountBelowFee(EnvoiError):
    """A payment to a merchant that its fee would take all of: the amount must
    be more than the fee (metadata: fee_cents, the fee on this amount)."""

    reason, code = "AMOUNT_BELOW_FEE", grpc.StatusCode.FAILED_PRECONDITION


class RateLimited(EnvoiError):
    """Too many requests from one sender for now; metadata["retry_after_s"]
    says when one more will be taken."""

    reason, code = "RATE_LIMITED", grpc.StatusCode.RESOURCE_EXHAUSTED


class InvalidCode(EnvoiError):
    """metadata["attempts_left"] says how many tries remain before the lock."""

    reason, code = "INVALID_CODE", grpc.StatusCode.FAILED_PRECONDITION


class CodeLocked(EnvoiError):
    """Only an admin's ResetCode sets a new code and lifts the lock."""

    reason, code = "CODE_LOCKED", grpc.StatusCode.FAILED_PRECONDITION


class CodeResetHold(EnvoiError):
    """An admin reset the code lately: no money leaves the account until
    metadata["hold_end_time"] (RFC 3339). Nothing changed, no attempt counted."""

    reason, code = "CODE_RESET_HOLD", grpc.StatusCode.FAILED_PRECONDITION


class AccountFrozen(EnvoiError):
    """An admin froze the account (metadata: account_id, freeze_time): no money
    leaves it by any path until it is unfrozen; money in still arrives.
    Nothing changed, no code attempt counted."""

    reason, code = "ACCOUNT_FROZEN", grpc.StatusCode.FAILED_PRECONDITION


class AccountNotFrozen(EnvoiError):
    """UnfreezeAccount of an account that is not frozen (metadata: account_id)."""

    reason, code = "ACCOUNT_NOT_FROZEN", grpc.StatusCode.FAILED_PRECONDITION


class AccountClosed(EnvoiError):
    """The account is closed (metadata: account_id, close_time): no money goes
    in or out, nothing links to it, it never opens again."""

    reason, code = "ACCOUNT_CLOSED", grpc.StatusCode.FAILED_PRECONDITION


class AccountNotEmpty(EnvoiError):
    """CloseAccount of an account that still holds or waits for something.
    metadata["left"] lists what (comma-separated), each also a key of metadata
    with its count or amount: balance_cents, held_cents, pending_transfers_out,
    pending_transfers_in, transfers_awaiting_claim, payouts_in_flight,
    pending_top_ups, open_collections."""

    reason, code = "ACCOUNT_NOT_EMPTY", grpc.StatusCode.FAILED_PRECONDITION


class TransferNotPending(EnvoiError):
    """metadata["state"] is the state the transfer is in."""

    reason, code = "TRANSFER_NOT_PENDING", grpc.StatusCode.FAILED_PRECONDITION


class TopUpNotPending(EnvoiError):
    """A callback contradicts how the top-up already resolved (metadata: top_up_id, state)."""

    reason, code = "TOP_UP_NOT_PENDING", grpc.StatusCode.FAILED_PRECONDITION


class PayoutNotPending(EnvoiError):
    """A callback contradicts how the payout already resolved (metadata: payout_id, state)."""

    reason, code = "PAYOUT_NOT_PENDING", grpc.StatusCode.FAILED_PRECONDITION


class TransferIdReused(EnvoiError):
    """CreateTransfers: the transfer_id names a transfer with other content
    (metadata: transfer_id). Found in a batch's results, or in BatchRejected."""

    reason, code = "TRANSFER_ID_REUSED", grpc.StatusCode.ALREADY_EXISTS


class DebitNotAllowed(EnvoiError):
    """CreateTransfers: the transfer debits an account a batch may not debit: a
    person's, or a merchant's or an association's without a live debit mandate
    (SetDebitMandate). Found in a batch's results, or in BatchRejected."""

    reason, code = "DEBIT_NOT_ALLOWED", grpc.StatusCode.FAILED_PRECONDITION


class BatchRejected(EnvoiError):
    """CreateTransfers in all-or-nothing mode: one transfer failed, so none was
    posted. metadata: index, transfer_id, and failure_reason (INSUFFICIENT_FUNDS,
    ACCOUNT_NOT_FOUND, CURRENCY_MISMATCH, DEBIT_NOT_ALLOWED, LIMIT_EXCEEDED,
    ACCOUNT_FROZEN, ACCOUNT_CLOSED or TRANSFER_ID_REUSED)."""

    reason, code = "BATCH_REJECTED", grpc.StatusCode.FAILED_PRECONDITION


class TransferNotRefundable(EnvoiError):
    """RefundTransfer of what is not a completed payment to the caller's kind of
    account (metadata: transfer_id): a pending or cancelled one, a refund, a
    contribution to a collection (cancel the collection instead)."""

    reason, code = "TRANSFER_NOT_REFUNDABLE", grpc.StatusCode.FAILED_PRECONDITION


class RefundExceedsPayment(EnvoiError):
    """RefundTransfer of more than is left of the payment (metadata: transfer_id,
    refundable_cents): its refunds never add up to more than it."""

    reason, code = "REFUND_EXCEEDS_PAYMENT", grpc.StatusCode.FAILED_PRECONDITION


class TransferExpired(EnvoiError):
    reason, code = "TRANSFER_EXPIRED", grpc.StatusCode.FAILED_PRECONDITION


class PaymentRequestExists(EnvoiError):
    """RequestPayment: a request with this merchant_reference is already pending or
    completed; or a channel's RequestMoney for a channel_reference it already
    asked with (metadata: transfer_id, state): follow that one."""

    reason, code = "PAYMENT_REQUEST_EXISTS", grpc.StatusCode.ALREADY_EXISTS


class ApiKeyNotFound(EnvoiError):
    """No such merchant API key (metadata: api_key_id)."""

    reason, code = "API_KEY_NOT_FOUND", grpc.StatusCode.NOT_FOUND


class ApiKeyRevoked(EnvoiError):
    """RotateApiKey of a key that is revoked, or already rotated (metadata: api_key_id)."""

    reason, code = "API_KEY_REVOKED", grpc.StatusCode.FAILED_PRECONDITION


class WebhookEndpointNotFound(EnvoiError):
    """No such webhook endpoint, or it was deleted (metadata: endpoint_id)."""

    reason, code = "WEBHOOK_ENDPOINT_NOT_FOUND", grpc.StatusCode.NOT_FOUND


class WebhookDeliveryNotFound(EnvoiError):
    """No such webhook delivery (metadata: delivery_id)."""

    reason, code = "WEBHOOK_DELIVERY_NOT_FOUND", grpc.StatusCode.NOT_FOUND


class WebhookEndpointDisabled(EnvoiError):
    """RotateWebhookSecret or Redeliver on an endpoint envoi disabled after
    failing for days (metadata: endpoint_id): create a new endpoint."""

    reason, code = "WEBHOOK_ENDPOINT_DISABLED", grpc.StatusCode.FAILED_PRECONDITION


class Unavailable(EnvoiError):
    """Retry with the same request_id."""

    reason, code = "UNAVAILABLE", grpc.StatusCode.UNAVAILABLE


class HistoryNotSettled(Unavailable):
    """A balance in the past (as_of, a statement's end_time) asked about a time
    before which a transaction is still open: retry in a moment (retried like
    any UNAVAILABLE). metadata["settled_time"]: the latest time answerable now."""

    reason = "HISTORY_NOT_SETTLED"


class Internal(EnvoiError):
    reason, code = "INTERNAL", grpc.StatusCode.INTERNAL


def _all_subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _all_subclasses(sub)


# What the client retries (with the same request_id). CANCELLED too: the
# client cancels no call it still waits on, so a CANCELLED comes from a
# server that was shutting down and never ran the call (grpc/grpc#41785).
RETRIED_CODES = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED})

ERRORS_BY_REASON = {cls.reason: cls for cls in _all_subclasses(EnvoiError)}


def from_rpc_error(error: grpc.RpcError) -> EnvoiError:
    """The typed exception for a failed call, from its ErrorInfo reason."""
    status = rpc_status.from_call(error) if hasattr(error, "trailing_metadata") else None
    reason, metadata, violations = None, {}, {}
    for detail in status.details if status else ():
        info = error_details_pb2.ErrorInfo()
        bad_request = error_details_pb2.BadRequest()
        if detail.Unpack(info):
            reason, metadata = info.reason, dict(info.metadata)
        elif detail.Unpack(bad_request):
            violations = {v.field: v.description for v in bad_request.field_violations}
    cls = ERRORS_BY_REASON.get(reason)
    if cls is None:  # no ErrorInfo: a transport or unknown error
        cls = {
            grpc.StatusCode.UNAVAILABLE: Unavailable,
            grpc.StatusCode.CANCELLED: Unavailable,  # see RETRIED_CODES
            grpc.StatusCode.UNAUTHENTICATED: Unauthenticated,
            grpc.StatusCode.PERMISSION_DENIED: PermissionDenied,
        }.get(error.code(), EnvoiError)
    exc = cls(error.details() or "", metadata=metadata, field_violations=violations)
    if cls is EnvoiError:
        exc.code = error.code()
    return exc
