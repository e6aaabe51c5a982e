"""envoi.v1.TransferService: two-phase transfers and the history of an account."""

import dataclasses
import math

import psycopg
from psycopg.types.json import Jsonb

from envoi.client import errors
from envoi.core.api import page_tokens, proto_rows
from envoi.core.api.account_service import identity_ref
from envoi.core.api.ledger_calls import ledger_call, transfer_response
from envoi.core.api.mutations import mutation
from envoi.core.api.request_validation import (
    IDENTITY_NAMESPACE,
    MAX_CHANNEL_REFERENCE_LENGTH,
    MAX_MEMO_LENGTH,
    RequestCheck,
)
from envoi.core.api.transfer_facts import TransferFacts
from envoi.core.auth.access import (
    money_refusals,
    refund_credentials,
    require_channel_poster,
    require_money_access,
    require_own_account,
    require_party,
    require_transfer_reader,
)
from envoi.core.auth.caller import current_caller
from envoi.core.enums import CreateTransferStatus, Role, TransferState, proto_names
from envoi.core.ledger import (
    accounts,
    bulk_transfers,
    collections,
    payment_requests,
    refusals,
    transfers,
)
from envoi.core.ledger.group_commit import GroupCommit
from envoi.core.ledger.transactions import run_in_transaction
from envoi.core.policy import confirmation_codes
from envoi.core.policy.rate_limits import RateLimiter
from envoi.core.runtime import Runtime
from envoi.v1 import transfer_service_pb2, transfer_service_pb2_grpc

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
LISTABLE_STATES = proto_names(TransferState)
BATCH_MODES = {value: name for name, value in transfer_service_pb2.BatchMode.items() if value}
# BadRequest details travel in a trailer: report the first few bad fields only.
MAX_REPORTED_VIOLATIONS = 50
DIRECTIONS = {
    value: name.removeprefix("TRANSFER_DIRECTION_")
    for name, value in transfer_service_pb2.TransferDirection.items()
}


class TransferService(transfer_service_pb2_grpc.TransferServiceServicer):
    SERVICE = transfer_service_pb2.DESCRIPTOR.services_by_name["TransferService"]

    def __init__(self, runtime: Runtime, ledger: GroupCommit):
        self.runtime = runtime
        self.ledger = ledger
        self.facts = TransferFacts(ledger.pool)
        self.settings = runtime.settings
        self.identity_limiter = RateLimiter(
            runtime.settings.identity_rate_per_min, runtime.settings.identity_rate_burst
        )

    async def InitiateTransfer(self, request, context):
        caller = current_caller.get()
        check = RequestCheck()
        check.request_id(request.request_id)
        if request.HasField("from_identity") == bool(request.from_account_id):
            check.fail("from_account_id", "give exactly one of from_account_id and from_identity")
        elif request.HasField("from_identity"):
            check.identity("from_identity", request.from_identity)
        else:
            check.uuid("from_account_id", request.from_account_id)
        to_collection_hashtag = check_recipient(check, request)
        check.money("amount", request.amount, self.settings.currencies)
        check.text("memo", request.memo, max_length=MAX_MEMO_LENGTH)
        check.text(
            "channel_reference", request.channel_reference, max_length=MAX_CHANNEL_REFERENCE_LENGTH
        )
        check.raise_if_any()
        from_identity = (
            identity_ref(request.from_identity) if request.HasField("from_identity") else None
        )
        to_identity = identity_ref(request.to_identity) if request.HasField("to_identity") else None
        if (request.from_account_id and request.from_account_id == request.to_account_id) or (
            from_identity and to_identity and from_identity[:2] == to_identity[:2]
        ):
            raise errors.SelfTransfer(
                "an account cannot pay itself",
                field_violations={"to_account_id": "same as the sender"},
            )
        if from_identity is None:
            require_own_account(caller, request.from_account_id)
        elif caller.role == Role.MERCHANT:
            raise errors.PermissionDenied("a merchant pays from its own account id")
        require_channel_poster(caller, from_identity)
        call = ledger_call(
            "transfer_initiate",
            self._method("InitiateTransfer"),
            caller,
            request,
            self.runtime.code_key,
            from_account_id=request.from_account_id or None,
            to_account_id=request.to_account_id or None,
            to_collection_id=request.to_collection_id or None,
            to_collection_hashtag=to_collection_hashtag,
            amount_cents=request.amount.amount_cents,
            currency_code=request.amount.currency_code,
            memo=request.memo,
            initiated_by=caller.principal,
            channel_reference=request.channel_reference,
            money_refusals=money_refusals(caller.role),
            **identity_fields(from_identity=from_identity, to_identity=to_identity),
        )
        answer = await self._within_identity_rate(call, from_identity)
        response = transfer_response(answer, transfer_service_pb2.InitiateTransferResponse)
        self.facts.remember(answer["transfer"])
        return response

    async def _within_identity_rate(self, call: dict, from_identity) -> dict:
        """The ledger's answer to an initiation, after spending one payment of the
        sender identity's rate: RATE_LIMITED past it, unless the request (or the
        channel message) was answered before. A replayed answer spends nothing."""
        if from_identity is None or not self.identity_limiter.enabled:
            return await self.ledger.call(call)
        key = from_identity[:2]
        wait_s = self.identity_limiter.take(key)
        if wait_s is not None:
            earlier = await self._answered_before(call)
            if earlier is not None:
                return earlier
            raise errors.RateLimited(
                "too many payments from this identity; try again later",
                metadata={"retry_after_s": str(math.ceil(wait_s))},
            )
        answer = await self.ledger.call(call)
        if answer.get("replayed"):
            self.identity_limiter.give_back(key)
        return answer

    async def _answered_before(self, call: dict) -> dict | None:
        """The stored answer of this request id, or the transfer its channel message
        started, or None: read only, outside any batch."""
        try:
            async with self.ledger.pool.connection() as conn:
                cursor = await conn.execute(
                    "SELECT coalesce(stored_answer(%(call)s), channel_message_transfer(%(call)s))",
                    {"call": Jsonb(call)},
                )
                return (await cursor.fetchone())[0]
        except psycopg.Error as exc:
            error = refusals.error_for_exception(exc)
            if error is None:
                raise
            raise error from None

    async def ConfirmTransfer(self, request, context):
        caller = current_caller.get()
        check = RequestCheck()
        check.request_id(request.request_id)
        check.uuid("transfer_id", request.transfer_id)
        check.code("code", request.code)
        check.raise_if_any()
        facts = await self.facts.of(request.transfer_id)
        require_party(caller, facts, may_be_recipient=False)
        require_money_access(caller, facts["from_kind"])
        code_hmac = confirmation_codes.code_hmac(
            self.runtime.code_key, facts["from_account_id"], request.code
        )
        call = ledger_call(
            "transfer_confirm",
            self._method("ConfirmTransfer"),
            caller,
            request,
            self.runtime.code_key,
            transfer_id=facts["transfer_id"],
            from_account_id=facts["from_account_id"],
            code_hmac=code_hmac.hex(),
        )
        answer = await self.ledger.call(call)
        return transfer_response(answer, transfer_service_pb2.ConfirmTransferResponse)

    async def CancelTransfer(self, request, context):
        caller = current_caller.get()
        check = RequestCheck()
        check.request_id(request.request_id)
        check.uuid("transfer_id", request.transfer_id)
        check.raise_if_any()
        facts = await self.facts.of(request.transfer_id)
        require_party(caller, facts)
        require_money_access(caller, facts["from_kind"])
        call = ledger_call(
            "transfer_cancel",
            self._method("CancelTransfer"),
            caller,
            request,
            self.runtime.code_key,
            transfer_id=facts["transfer_id"],
            from_account_id=facts["from_account_id"],
        )
        answer = await self.ledger.call(call)
        return transfer_response(answer, transfer_service_pb2.CancelTransferResponse)

    async def RefundTransfer(self, request, context):
        caller = current_caller.get()
        check = RequestCheck()
        check.request_id(request.request_id)
        check.uuid("transfer_id", request.transfer_id)
        check.money("amount", request.amount, self.settings.currencies)
        check.text("memo", request.memo, max_length=MAX_MEMO_LENGTH)
        if caller.role == Role.WALLET:
            check.code("code", request.code)
        elif request.code:
            check.fail("code", "a merchant's key refunds with its refunds scope, not a code")
        check.raise_if_any()
        facts = await self.facts.of(request.transfer_id)
        refunder_id = str(facts["to_account_id"])
        arguments = refund_credentials(caller, refunder_id)
        if caller.role == Role.WALLET:
            arguments["code_hmac"] = confirmation_codes.code_hmac(
                self.runtime.code_key, refunder_id, request.code
            ).hex()
        call = ledger_call(
            "transfer_refund",
            self._method("RefundTransfer"),
            caller,
            request,
            self.runtime.code_key,
            transfer_id=facts["transfer_id"],
            from_account_id=refunder_id,
            amount_cents=request.amount.amount_cents,
            currency_code=request.amount.currency_code,
            memo=request.memo,
            initiated_by=caller.principal,
            **arguments,
        )
        answer = await self.ledger.call(call)
        return transfer_response(answer, transfer_service_pb2.RefundTransferResponse)

    def _method(self, name: str) -> str:
        return f"/{self.SERVICE.full_name}/{name}"

    def GetTransfer(self, request, context):
        caller = current_caller.get()
        if request.channel_reference or request.channel:
            row = self._channel_transfer(caller, request)
        else:
            check = RequestCheck()
            check.uuid("transfer_id", request.transfer_id)
            check.raise_if_any()
            row = run_in_transaction(
                self.runtime.pool, lambda conn: transfers.get_transfer(conn, request.transfer_id)
            )
        require_transfer_reader(caller, row)
        return transfer_service_pb2.GetTransferResponse(transfer=proto_rows.transfer(row))

    def _channel_transfer(self, caller, request) -> dict:
        """GetTransfer by channel_reference: what became of a post."""
        channel = request.channel or (caller.channel_name if caller.role == Role.CHANNEL else "")
        check = RequestCheck()
        if request.transfer_id:
            check.fail("transfer_id", "give transfer_id or channel_reference, not both")
        check.text(
            "channel_reference",
            request.channel_reference,
            max_length=MAX_CHANNEL_REFERENCE_LENGTH,
            required=True,
        )
        if not IDENTITY_NAMESPACE.fullmatch(channel):  # a channel's name is its namespace
            check.fail("channel", "the channel's name (a channel's token may leave it empty)")
        check.raise_if_any()
        return run_in_transaction(
            self.runtime.pool,
            lambda conn: transfers.get_channel_transfer(conn, channel, request.channel_reference),
        )

    def ListTransfers(self, request, context):
        check = RequestCheck()
        check.uuid("account_id", request.account_id)
        check_page_size(check, request.page_size)
        for state in request.states:
            check.enum("states", state, LISTABLE_STATES)
        check.enum("direction", request.direction, DIRECTIONS)
        if request.counterpart_account_id:
            check.uuid("counterpart_account_id", request.counterpart_account_id)
        if request.merchant_reference and not payment_requests.is_merchant_reference(
            request.merchant_reference
        ):
            check.fail("merchant_reference", "a merchant_reference of RequestPayment")
        start_time = check.timestamp("start_time", request)
        end_time = check.timestamp("end_time", request)
        if start_time and end_time and end_time <= start_time:
            check.fail("end_time", "must be after start_time")
        check.raise_if_any()
        caller = current_caller.get()
        require_own_account(caller, request.account_id)
        direction = DIRECTIONS[request.direction]
        history = transfers.HistoryFilter(
            states=sorted({TransferState.from_proto(s).value for s in request.states}),
            direction="BOTH" if direction == "UNSPECIFIED" else direction,
            start_time=start_time,
            end_time=end_time,
            counterpart_account_id=request.counterpart_account_id,
            merchant_reference=request.merchant_reference,
        )
        digest = page_tokens.filters_digest(request.account_id, history)
        history = dataclasses.replace(
            history, before_seq=page_tokens.decode(request.page_token, digest)
        )
        page_size = request.page_size or DEFAULT_PAGE_SIZE

        def work(conn):
            require_money_access(caller, accounts.get_account(conn, request.account_id)["kind"])
            return transfers.list_transfers(
                conn, request.account_id, history=history, limit=page_size + 1
            )

        rows = run_in_transaction(self.runtime.pool, work)
        return page_of(transfer_service_pb2.ListTransfersResponse, rows, page_size, digest)

    def ListPendingConfirmations(self, request, context):
        check = RequestCheck()
        check.uuid("account_id", request.account_id)
        check_page_size(check, request.page_size)
        check.raise_if_any()
        caller = current_caller.get()
        require_own_account(caller, request.account_id)
        digest = page_tokens.filters_digest("pending", request.account_id)
        after_seq = page_tokens.decode(request.page_token, digest)
        page_size = request.page_size or DEFAULT_PAGE_SIZE

        def work(conn):
            require_money_access(caller, accounts.get_account(conn, request.account_id)["kind"])
            return transfers.pending_confirmations(
                conn, request.account_id, after_seq=after_seq, limit=page_size + 1
            )

        rows = run_in_transaction(self.runtime.pool, work)
        return page_of(
            transfer_service_pb2.ListPendingConfirmationsResponse, rows, page_size, digest
        )

    @mutation
    def CreateTransfers(self, request, once):
        caller = current_caller.get()
        check = RequestCheck()
        check.request_id(request.request_id)
        check.enum("mode", request.mode, BATCH_MODES)
        count = len(request.transfers)
        if not 1 <= count <= bulk_transfers.MAX_TRANSFERS:
            check.fail("transfers", f"1 to {bulk_transfers.MAX_TRANSFERS} transfers")
        else:
            check_batch(check, request.transfers, self.settings.currencies)
        check.raise_if_any()
        batch = [
            bulk_transfers.NewTransfer(
                t.transfer_id,
                t.from_account_id,
                t.to_account_id,
                t.amount.amount_cents,
                t.amount.currency_code,
                t.memo,
            )
            for t in request.transfers
        ]
        all_or_nothing = request.mode == transfer_service_pb2.BATCH_MODE_ALL_OR_NOTHING

        def work(conn):
            outcomes = bulk_transfers.create_transfers(
                conn,
                self.settings,
                batch,
                all_or_nothing=all_or_nothing,
                initiated_by=caller.principal,
            )
            return transfer_service_pb2.CreateTransfersResponse(
                results=[
                    transfer_service_pb2.CreateTransferResult(
                        index=index,
                        transfer_id=transfer.transfer_id,
                        status=CreateTransferStatus(outcome.status).proto(),
                        reason=outcome.reason,
                        message=outcome.message,
                    )
                    for index, (transfer, outcome) in enumerate(zip(batch, outcomes, strict=True))
                ]
            )

        return once(work)


def identity_fields(**identities) -> dict:
    """The identities of a ledger call, by field, those given only."""
    return {field: ref._asdict() for field, ref in identities.items() if ref is not None}


RECIPIENT_FIELDS = ("to_account_id", "to_identity", "to_collection_hashtag", "to_collection_id")


def check_recipient(check: RequestCheck, request) -> str | None:
    """Exactly one way to name the recipient; returns a collection hashtag without "#"."""
    given = [
        field
        for field in RECIPIENT_FIELDS
        if (request.HasField(field) if field == "to_identity" else getattr(request, field))
    ]
    if len(given) != 1:
        check.fail("to_account_id", "give exactly one of " + ", ".join(RECIPIENT_FIELDS))
        return None
    (field,) = given
    if field == "to_identity":
        check.identity("to_identity", request.to_identity)
    elif field == "to_collection_hashtag":
        hashtag = collections.normalize_hashtag(request.to_collection_hashtag)
        problem = collections.hashtag_problem(hashtag, ())
        if problem:
            check.fail("to_collection_hashtag", problem)
        return hashtag
    else:
        check.uuid(field, getattr(request, field))
    return None


def check_batch(check: RequestCheck, transfers, currencies) -> None:
    """Field violations of the transfers of a batch, by index: transfers[12].amount..."""
    first_index = {}
    for index, transfer in enumerate(transfers):
        if len(check.violations) >= MAX_REPORTED_VIOLATIONS:
            return
        field = f"transfers[{index}]"
        check.uuid(f"{field}.transfer_id", transfer.transfer_id)
        seen = first_index.setdefault(transfer.transfer_id, index)
        if seen != index:
            check.fail(f"{field}.transfer_id", f"the same as transfers[{seen}].transfer_id")
        check.uuid(f"{field}.from_account_id", transfer.from_account_id)
        check.uuid(f"{field}.to_account_id", transfer.to_account_id)
        if transfer.from_account_id and transfer.from_account_id == transfer.to_account_id:
            check.fail(f"{field}.to_account_id", "same as the sender")
        check.money(f"{field}.amount", transfer.amount, currencies)
        check.text(f"{field}.memo", transfer.memo, max_length=MAX_MEMO_LENGTH)


def check_page_size(check: RequestCheck, page_size: int) -> None:
    if not 0 <= page_size <= MAX_PAGE_SIZE:
        check.fail("page_size", f"must be between 0 and {MAX_PAGE_SIZE}")


def page_of(response_type, rows: list[dict], page_size: int, digest: str):
    """One page of transfers (rows holds one more when another page follows)."""
    response = response_type(transfers=[proto_rows.transfer(row) for row in rows[:page_size]])
    if len(rows) > page_size:
        response.next_page_token = page_tokens.encode(rows[page_size - 1]["seq"], digest)
    return response
