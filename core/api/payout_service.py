"""envoi.v1.PayoutService: money out to an IBAN, through a PayoutProvider plugin.

Withdraw holds the amount (with the holder's code) and commits that with its
request_id and event; only then is the payout handed to the provider. The
provider's signed callback settles it (money out) or fails it (hold released).
"""

from envoi.core.api import proto_rows
from envoi.core.api.mutations import mutation
from envoi.core.api.request_validation import MAX_BENEFICIARY_NAME_LENGTH, RequestCheck
from envoi.core.auth.access import require_money_access, require_own_account
from envoi.core.auth.caller import current_caller
from envoi.core.ledger import accounts, payout_submission, payouts, provider_calls
from envoi.core.ledger.transactions import run_in_transaction
from envoi.core.policy import transfer_policy
from envoi.core.runtime import Runtime
from envoi.v1 import payout_service_pb2, payout_service_pb2_grpc


class PayoutService(payout_service_pb2_grpc.PayoutServiceServicer):
    SERVICE = payout_service_pb2.DESCRIPTOR.services_by_name["PayoutService"]

    def __init__(self, runtime: Runtime):
        self.runtime = runtime
        self.providers = runtime.payout_providers

    @mutation
    def Withdraw(self, request, once):
        caller = current_caller.get()
        check = RequestCheck()
        check.request_id(request.request_id)
        check.uuid("account_id", request.account_id)
        check.money("amount", request.amount, self.runtime.settings.currencies)
        iban = check.iban("iban", request.iban)
        check.text(
            "beneficiary_name",
            request.beneficiary_name,
            max_length=MAX_BENEFICIARY_NAME_LENGTH,
            required=True,
        )
        check.code("code", request.code)
        check.provider("provider", request.provider, self.providers)
        check.raise_if_any()
        require_own_account(caller, request.account_id)

        def work(conn):
            account = accounts.get_account(conn, request.account_id, lock=True)
            require_money_access(caller, account["kind"])
            transfer_policy.check_currency(
                conn, account["currency_code"], request.amount.currency_code, "the account"
            )
            row = payouts.hold(
                conn,
                self.runtime.settings,
                self.runtime.code_key,
                account=account,
                code=request.code,
                amount_cents=request.amount.amount_cents,
                iban=iban,
                beneficiary_name=request.beneficiary_name,
                provider=request.provider,
                initiated_by=caller.principal,
            )
            return payout_service_pb2.WithdrawResponse(payout=proto_rows.payout(row))

        response = once(work)
        payout_submission.submit(self.runtime, response.payout.payout_id)
        return response

    def GetPayout(self, request, context):
        check = RequestCheck()
        check.uuid("payout_id", request.payout_id)
        check.raise_if_any()
        caller = current_caller.get()

        def read(conn):
            row = payouts.get(conn, request.payout_id)
            require_own_account(caller, str(row["account_id"]))
            require_money_access(caller, accounts.get_account(conn, str(row["account_id"]))["kind"])
            return row

        row = run_in_transaction(self.runtime.pool, read)
        return payout_service_pb2.GetPayoutResponse(payout=proto_rows.payout(row))

    @mutation
    def CompletePayout(self, request, once):
        check = RequestCheck()
        check.request_id(request.request_id)
        check.provider("provider", request.provider, self.providers)
        check.callback(request.payload, request.signature)
        check.raise_if_any()
        provider = self.providers[request.provider]
        # The signature is checked before anything is read or written.
        result = provider_calls.verified_callback(provider, request.payload, request.signature)

        def work(conn):
            row = payouts.resolve_by_callback(conn, provider.name, result)
            return payout_service_pb2.CompletePayoutResponse(payout=proto_rows.payout(row))

        return once(work)
