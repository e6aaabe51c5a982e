"""envoi.v1.FundingService: money in by bank card, through a FundingProvider plugin.

TopUp asks the provider to charge the card before anything is written, with
the top-up id as idempotency key, and then records the answer, its credit,
its event and the request_id in one transaction: a retry (even after a crash
between the two) charges the card once and credits it once. A charge whose
credit would pass the account's maximum balance is refunded instead; TopUp
and CompleteTopUp hand that refund to the provider once it has committed.
"""

from envoi.core.api import proto_rows
from envoi.core.api.mutations import mutation
from envoi.core.api.request_validation import RequestCheck
from envoi.core.auth.access import require_money_access, require_own_account
from envoi.core.auth.caller import current_caller
from envoi.core.ledger import accounts, card_top_ups, idempotency, provider_calls, top_up_refunds
from envoi.core.ledger.transactions import run_in_transaction
from envoi.core.runtime import Runtime
from envoi.v1 import funding_service_pb2, funding_service_pb2_grpc


class FundingService(funding_service_pb2_grpc.FundingServiceServicer):
    SERVICE = funding_service_pb2.DESCRIPTOR.services_by_name["FundingService"]

    def __init__(self, runtime: Runtime):
        self.runtime = runtime
        self.providers = runtime.funding_providers

    @mutation
    def TopUp(self, request, once):
        caller = current_caller.get()
        check = RequestCheck()
        check.request_id(request.request_id)
        check.uuid("account_id", request.account_id)
        check.money("amount", request.amount, self.runtime.settings.currencies)
        check.provider("provider", request.provider, self.providers)
        check.card_token("card_token", request.card_token)
        check.raise_if_any()
        require_own_account(caller, request.account_id)

        # Before the card is charged: a retry gets its first answer, a reused
        # request_id is refused, and only an account the caller may credit is.
        def first_answer_or_checks(conn):
            answer = idempotency.stored_answer(
                conn, caller.principal, request, once.method, once.response_type, once.code_key
            )
            if answer is None:
                account = card_top_ups.creditable_account(
                    conn,
                    self.runtime.settings,
                    request.account_id,
                    request.amount.currency_code,
                    request.amount.amount_cents,
                )
                require_money_access(caller, account["kind"])
            return answer

        answer = run_in_transaction(self.runtime.pool, first_answer_or_checks)
        if answer is not None:
            return answer
        provider = self.providers[request.provider]
        top_up_id = card_top_ups.top_up_id_for(caller.principal, once.method, request)
        charge = provider_calls.charge(
            provider,
            idempotency_key=top_up_id,
            card_token=request.card_token,
            amount_cents=request.amount.amount_cents,
            currency_code=request.amount.currency_code,
        )

        def work(conn):
            row = card_top_ups.record(
                conn,
                self.runtime.settings,
                top_up_id=top_up_id,
                account_id=request.account_id,
                currency_code=request.amount.currency_code,
                amount_cents=request.amount.amount_cents,
                provider=provider.name,
                card_token=request.card_token,
                charge=charge,
                initiated_by=caller.principal,
            )
            return funding_service_pb2.TopUpResponse(top_up=proto_rows.top_up(row))

        answer = once(work)
        self._send_refund(answer.top_up)
        return answer

    def GetTopUp(self, request, context):
        check = RequestCheck()
        check.uuid("top_up_id", request.top_up_id)
        check.raise_if_any()
        caller = current_caller.get()

        def read(conn):
            row = card_top_ups.get(conn, request.top_up_id)
            require_own_account(caller, str(row["account_id"]))
            account = accounts.get_account(conn, str(row["account_id"]))
            require_money_access(caller, account["kind"])
            return row

        row = run_in_transaction(self.runtime.pool, read)
        return funding_service_pb2.GetTopUpResponse(top_up=proto_rows.top_up(row))

    @mutation
    def CompleteTopUp(self, request, once):
        check = RequestCheck()
        check.request_id(request.request_id)
        check.provider("provider", request.provider, self.providers)
        check.callback(request.payload, request.signature)
        check.raise_if_any()
        provider = self.providers[request.provider]
        # The signature is checked before anything is read or written.
        result = provider_calls.verified_callback(provider, request.payload, request.signature)

        def work(conn):
            row = card_top_ups.resolve_by_callback(
                conn, self.runtime.settings, provider.name, result
            )
            return funding_service_pb2.CompleteTopUpResponse(top_up=proto_rows.top_up(row))

        answer = once(work)
        self._send_refund(answer.top_up)
        return answer

    def _send_refund(self, top_up) -> None:
        """After commit: give back to the card a charge that would have passed the
        maximum balance. If the provider cannot take it now, maintenance retries."""
        if top_up.HasField("refund") and not top_up.refund.HasField("send_time"):
            top_up_refunds.send(self.runtime, top_up.top_up_id)
