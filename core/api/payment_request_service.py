"""envoi.v1.PaymentRequestService: a merchant asks a person to pay it."""

from envoi.client import errors
from envoi.core.api import proto_rows
from envoi.core.api.account_service import identity_ref
from envoi.core.api.mutations import mutation
from envoi.core.api.request_validation import MAX_MEMO_LENGTH, RequestCheck
from envoi.core.auth.access import require_own_account
from envoi.core.auth.caller import current_caller
from envoi.core.ledger import payment_requests
from envoi.core.runtime import Runtime
from envoi.v1 import payment_request_service_pb2, payment_request_service_pb2_grpc


class PaymentRequestService(payment_request_service_pb2_grpc.PaymentRequestServiceServicer):
    SERVICE = payment_request_service_pb2.DESCRIPTOR.services_by_name["PaymentRequestService"]

    def __init__(self, runtime: Runtime):
        self.runtime = runtime
        self.settings = runtime.settings

    @mutation
    def RequestPayment(self, request, once):
        caller = current_caller.get()
        check = RequestCheck()
        check.request_id(request.request_id)
        check.uuid("account_id", request.account_id)
        if request.HasField("payer_identity") == bool(request.payer_account_id):
            check.fail(
                "payer_account_id", "give exactly one of payer_account_id and payer_identity"
            )
        elif request.HasField("payer_identity"):
            check.identity("payer_identity", request.payer_identity)
        else:
            check.uuid("payer_account_id", request.payer_account_id)
        check.money("amount", request.amount, self.settings.currencies)
        if not payment_requests.is_merchant_reference(request.merchant_reference):
            check.fail(
                "merchant_reference",
                f"required: 1 to {payment_requests.MAX_MERCHANT_REFERENCE_LENGTH}"
                " printable ASCII characters, no spaces",
            )
        check.text("memo", request.memo, max_length=MAX_MEMO_LENGTH)
        if request.expire_after_s and not (
            payment_requests.MIN_EXPIRE_AFTER_S
            <= request.expire_after_s
            <= payment_requests.MAX_EXPIRE_AFTER_S
        ):
            check.fail(
                "expire_after_s",
                f"0 (the default) or {payment_requests.MIN_EXPIRE_AFTER_S}"
                f" to {payment_requests.MAX_EXPIRE_AFTER_S} seconds",
            )
        check.raise_if_any()
        if request.payer_account_id and request.payer_account_id == request.account_id:
            raise errors.SelfTransfer(
                "a merchant cannot ask itself to pay",
                field_violations={"payer_account_id": "the merchant's own account"},
            )
        require_own_account(caller, request.account_id)
        payer_identity = (
            identity_ref(request.payer_identity) if request.HasField("payer_identity") else None
        )

        def work(conn):
            row = payment_requests.request_payment(
                conn,
                self.settings,
                merchant_account_id=request.account_id,
                payer_account_id=request.payer_account_id or None,
                payer_identity=payer_identity,
                amount_cents=request.amount.amount_cents,
                currency_code=request.amount.currency_code,
                merchant_reference=request.merchant_reference,
                memo=request.memo,
                # The default never passes the bound the daily cap's window relies on.
                expire_after_s=request.expire_after_s
                or min(self.settings.confirmation_timeout_s, payment_requests.MAX_EXPIRE_AFTER_S),
                initiated_by=caller.principal,
            )
            return payment_request_service_pb2.RequestPaymentResponse(
                transfer=proto_rows.transfer(row)
            )

        return once(work)
