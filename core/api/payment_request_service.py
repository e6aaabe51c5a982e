"""envoi.v1.PaymentRequestService: a merchant, or a person, asks someone to pay it."""

from envoi.client import errors
from envoi.core.api import proto_rows
from envoi.core.api.account_service import identity_ref
from envoi.core.api.mutations import mutation
from envoi.core.api.request_validation import (
    MAX_CHANNEL_REFERENCE_LENGTH,
    MAX_MEMO_LENGTH,
    RequestCheck,
)
from envoi.core.auth.access import require_channel_poster, require_own_account
from envoi.core.auth.caller import current_caller
from envoi.core.enums import Role
from envoi.core.ledger import money_requests, payment_requests
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
        check_one_side(check, request, "payer_account_id", "payer_identity")
        check.money("amount", request.amount, self.settings.currencies)
        if not payment_requests.is_merchant_reference(request.merchant_reference):
            check.fail(
                "merchant_reference",
                f"required: 1 to {payment_requests.MAX_MERCHANT_REFERENCE_LENGTH}"
                " printable ASCII characters, no spaces",
            )
        check.text("memo", request.memo, max_length=MAX_MEMO_LENGTH)
        check_expire_after_s(check, request.expire_after_s)
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

    @mutation
    def RequestMoney(self, request, once):
        caller = current_caller.get()
        check = RequestCheck()
        check.request_id(request.request_id)
        check_one_side(check, request, "account_id", "requester_identity")
        check_one_side(check, request, "payer_account_id", "payer_identity")
        check.money("amount", request.amount, self.settings.currencies)
        check.text("memo", request.memo, max_length=MAX_MEMO_LENGTH)
        check_expire_after_s(check, request.expire_after_s)
        check.text(
            "channel_reference", request.channel_reference, max_length=MAX_CHANNEL_REFERENCE_LENGTH
        )
        check.raise_if_any()
        requester = side(request, "account_id", "requester_identity")
        payer = side(request, "payer_account_id", "payer_identity")
        if request.account_id and request.account_id == request.payer_account_id:
            raise errors.SelfTransfer(
                "nobody can ask themselves for money",
                field_violations={"payer_account_id": "the requester's own account"},
            )
        require_channel_poster(caller, requester.identity)
        if caller.role == Role.CHANNEL and payer.identity is None:
            raise errors.PermissionDenied("a channel names the payer by identity (payer_identity)")

        def work(conn):
            row = money_requests.request_money(
                conn,
                self.settings,
                requester=requester,
                payer=payer,
                amount_cents=request.amount.amount_cents,
                currency_code=request.amount.currency_code,
                memo=request.memo,
                expire_after_s=request.expire_after_s or money_requests.DEFAULT_EXPIRE_AFTER_S,
                channel_reference=request.channel_reference,
                initiated_by=caller.principal,
            )
            return payment_request_service_pb2.RequestMoneyResponse(
                transfer=proto_rows.transfer(row)
            )

        return once(work)


def check_one_side(check: RequestCheck, request, account_field: str, identity_field: str) -> None:
    """Exactly one of an account id and an identity, well formed."""
    if request.HasField(identity_field) == bool(getattr(request, account_field)):
        check.fail(account_field, f"give exactly one of {account_field} and {identity_field}")
    elif request.HasField(identity_field):
        check.identity(identity_field, getattr(request, identity_field))
    else:
        check.uuid(account_field, getattr(request, account_field))


def side(request, account_field: str, identity_field: str) -> money_requests.Side:
    """A checked side of a request, as the ledger takes it."""
    if request.HasField(identity_field):
        return money_requests.Side(
            None, identity_ref(getattr(request, identity_field)), identity_field
        )
    return money_requests.Side(getattr(request, account_field), None, account_field)


def check_expire_after_s(check: RequestCheck, expire_after_s: int) -> None:
    if expire_after_s and not (
        payment_requests.MIN_EXPIRE_AFTER_S <= expire_after_s <= payment_requests.MAX_EXPIRE_AFTER_S
    ):
        check.fail(
            "expire_after_s",
            f"0 (the default) or {payment_requests.MIN_EXPIRE_AFTER_S}"
            f" to {payment_requests.MAX_EXPIRE_AFTER_S} seconds",
        )
