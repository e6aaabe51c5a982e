"""EnvoiClient over a real gRPC server: retries keep their request_id, every
mutating call gets one, errors come back as typed exceptions, timeout_s is a
deadline."""

import json
import threading
import uuid
from concurrent import futures

import grpc
import psycopg
import pytest
import rpc_catalog

from envoi.client import EnvoiClient, channel_options, errors
from envoi.core.auth.interceptor import AuthInterceptor
from envoi.providers.sandbox import bank_transfers, cards
from envoi.v1 import (
    identity_pb2,
    transfer_pb2,
)

INITIATE = "/envoi.v1.TransferService/InitiateTransfer"

# Every RPC whose request carries a request_id, read from the contract itself,
# so a new mutating RPC is covered by the request_id test or makes it fail.
MUTATING_METHODS = {
    path
    for path, method in rpc_catalog.methods_by_path().items()
    if "request_id" in method.input_type.fields_by_name
}


class CallRecorder(grpc.aio.ServerInterceptor):
    """In front of envoi's AuthInterceptor: records every unary call's request_id,
    and answers `injected_code` (UNAVAILABLE unless set) to the next
    `unavailable_left` InitiateTransfer calls."""

    def __init__(self):
        self.lock = threading.Lock()
        self.calls = []  # (method, request_id)
        self.unavailable_left = 0
        self.injected_code = grpc.StatusCode.UNAVAILABLE

    def request_ids(self, method):
        return [request_id for called, request_id in self.calls if called == method]

    async def intercept_service(self, continuation, handler_call_details):
        handler = await continuation(handler_call_details)
        if handler is None or handler.unary_unary is None:
            return handler
        method = handler_call_details.method

        async def recorded(request, context):
            with self.lock:
                self.calls.append((method, getattr(request, "request_id", None)))
                fail = method == INITIATE and self.unavailable_left > 0
                if fail:
                    self.unavailable_left -= 1
            if fail:
                await context.abort(self.injected_code, "injected: try again")
            return await handler.unary_unary(request, context)

        return grpc.unary_unary_rpc_method_handler(
            recorded,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )


@pytest.fixture(scope="module")
def call_recorder():
    return CallRecorder()


# Overrides conftest's: the recorder sees each attempt before authentication.
@pytest.fixture(scope="module")
def grpc_interceptors(runtime, call_recorder):
    return [call_recorder, AuthInterceptor(runtime.pool)]


@pytest.fixture
def recorder(call_recorder):
    call_recorder.calls.clear()
    call_recorder.unavailable_left = 0
    call_recorder.injected_code = grpc.StatusCode.UNAVAILABLE
    yield call_recorder
    call_recorder.unavailable_left = 0


@pytest.fixture(scope="module")
def wallet_token(make_token):
    return make_token("wallet")


def payments_from(db, account_id) -> list[str]:
    return [
        str(row[0])
        for row in db.execute(
            "SELECT transfer_id FROM transfers WHERE from_account_id = %s AND kind = 'PAYMENT'",
            (account_id,),
        )
    ]


# CANCELLED: what a server shutting down answers a call it never ran
# (grpc/grpc#41785); the client never cancels a unary call itself.
@pytest.mark.parametrize("code", [grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED])
def test_unavailable_is_retried_with_the_same_request_id(
    client_for, wallet_token, open_account, recorder, db, code
):
    alice, bob = open_account(balance_cents=1_000), open_account()
    client = client_for(wallet_token, max_attempts=4, retry_backoff_s=0.01)
    recorder.unavailable_left = 2
    recorder.injected_code = code

    transfer = client.initiate_transfer(alice, bob, 250)

    attempts = recorder.request_ids(INITIATE)
    assert len(attempts) == 3 and len(set(attempts)) == 1 and attempts[0]
    assert payments_from(db, alice) == [transfer.transfer_id]


@pytest.mark.parametrize("code", [grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED])
def test_unavailable_past_max_attempts_raises_unavailable(
    client_for, wallet_token, open_account, recorder, db, code
):
    alice, bob = open_account(balance_cents=1_000), open_account()
    client = client_for(wallet_token, max_attempts=3, retry_backoff_s=0.01)
    recorder.unavailable_left = 10
    recorder.injected_code = code

    with pytest.raises(errors.Unavailable) as raised:
        client.initiate_transfer(alice, bob, 250)

    assert raised.value.code == grpc.StatusCode.UNAVAILABLE
    attempts = recorder.request_ids(INITIATE)
    assert len(attempts) == 3 and len(set(attempts)) == 1
    assert payments_from(db, alice) == []


def top_up_and_withdraw(wallet, payment_providers, alice):
    """Money in by a 3-D Secure card and out to an IBAN, each to its provider's callback."""
    sandbox_cards = payment_providers["funding_providers"]["sandbox"]
    three_d_secure = wallet.top_up(
        alice, 500, provider="sandbox", card_token=cards.tokenize_card(cards.THREE_D_SECURE)
    )
    wallet.complete_top_up(
        "sandbox",
        *sandbox_cards.three_d_secure_callback(
            three_d_secure.provider_reference, authenticated=True
        ),
    )
    payout = wallet.withdraw(
        alice,
        200,
        iban=bank_transfers.SETTLES,
        beneficiary_name="Alice",
        code="111111",
        provider="sandbox",
    )
    reference = wallet.get_payout(payout.payout_id).provider_reference
    wallet.complete_payout(
        "sandbox", *payment_providers["payout_providers"]["sandbox"].settlement_callback(reference)
    )


def test_every_mutating_call_gets_a_request_id_of_its_own(
    client_for, make_token, wallet_token, recorder, payment_providers
):
    wallet = client_for(wallet_token)
    admin = client_for(make_token("admin"))
    alice = wallet.open_account("PERSON", "Alice", "123456").account_id
    bob = wallet.open_account("PERSON", "Bob", "654321").account_id
    wallet.change_code(alice, "123456", "111111")
    admin.credit_account(alice, 1_000)
    confirmed = wallet.initiate_transfer(alice, bob, 100)
    wallet.confirm_transfer(confirmed.transfer_id, "111111")
    cancelled = wallet.initiate_transfer(alice, bob, 100)
    wallet.cancel_transfer(cancelled.transfer_id)
    handle = identity_pb2.Identity(namespace="twitter", subject_id="client-test-1", handle="al")
    wallet.link_identity(alice, handle)
    wallet.unlink_identity(alice, handle)
    admin.set_account_tier(alice, "VERIFIED")
    wallet.set_notification_preference(alice, "APP_ONLY")
    shop = admin.open_account("MERCHANT", "Shop", "222222").account_id
    admin.set_business_profile(shop, "Shop SAS", "732829320")
    admin.set_merchant_fees(shop, 150, 25)
    admin.set_debit_mandate(shop, active=True, reason="client test mandate")
    bank = admin.open_account("SETTLEMENT", "Bank", "333333").account_id
    admin.credit_account(bank, 1)
    admin.create_transfers(
        [{"from_account_id": bank, "to_account_id": bob, "amount_cents": 1}], mode="INDEPENDENT"
    )
    top_up_and_withdraw(wallet, payment_providers, alice)

    shop_id = shop  # the verified merchant above
    shop = client_for(admin.create_api_key(shop_id, scopes=("refunds",)).secret)
    shop.request_payment(shop_id, alice, 100, merchant_reference="client-test-order")
    wallet.request_money(bob, alice, 100, memo="client test")
    paid = wallet.initiate_transfer(alice, shop_id, 100)
    shop.refund_transfer(wallet.confirm_transfer(paid.transfer_id, "111111").transfer_id, 50)
    rotated = shop.rotate_api_key(shop.list_api_keys(shop_id)[0].api_key_id)
    admin.revoke_api_key(rotated.api_key.api_key_id)
    shop = client_for(admin.create_api_key(shop_id).secret)  # the keys above are revoked
    hook = shop.create_webhook_endpoint(shop_id, "https://shop.example/h", ["CODE_RESET"])
    shop.rotate_webhook_secret(hook.endpoint.endpoint_id)
    with pytest.raises(errors.WebhookDeliveryNotFound):  # still a call with its request_id
        shop.redeliver("1" + "0" * 15)
    shop.delete_webhook_endpoint(hook.endpoint.endpoint_id)

    pot = wallet.create_collection(bob, "Pot", "ClientTest" + uuid.uuid4().hex[:8])
    wallet.close_collection(pot.collection_id)
    drive = wallet.create_collection(bob, "Drive", "ClientTest" + uuid.uuid4().hex[:8])
    wallet.cancel_collection(drive.collection_id)
    admin.reset_code(bob, "333333", "client test: the owner forgot the code")
    carol = wallet.open_account("PERSON", "Carol", "444444").account_id
    admin.freeze_account(carol, "client test")
    admin.unfreeze_account(carol, "client test")
    wallet.close_account(carol, code="444444")

    mutating_calls = [(m, rid) for m, rid in recorder.calls if m in MUTATING_METHODS]
    assert {m for m, _ in mutating_calls} == MUTATING_METHODS
    request_ids = [rid for _, rid in mutating_calls]
    assert all(request_ids) and len(set(request_ids)) == len(request_ids)


def test_two_calls_without_a_request_id_are_two_transfers(
    client_for, wallet_token, open_account, db
):
    alice, bob = open_account(balance_cents=1_000), open_account()
    client = client_for(wallet_token)
    first = client.initiate_transfer(alice, bob, 100, memo="same")
    second = client.initiate_transfer(alice, bob, 100, memo="same")
    assert first.transfer_id != second.transfer_id
    assert sorted(payments_from(db, alice)) == sorted([first.transfer_id, second.transfer_id])


def test_insufficient_funds_is_typed(client_for, wallet_token, open_account):
    alice, bob = open_account(balance_cents=100), open_account()
    with pytest.raises(errors.InsufficientFunds) as raised:
        client_for(wallet_token).initiate_transfer(alice, bob, 101)
    assert raised.value.code == grpc.StatusCode.FAILED_PRECONDITION
    assert raised.value.reason == "INSUFFICIENT_FUNDS"


def test_limit_exceeded_keeps_its_metadata(client_for, wallet_token, open_account):
    alice, bob = open_account(balance_cents=100_000), open_account()
    with pytest.raises(errors.LimitExceeded) as raised:
        client_for(wallet_token).initiate_transfer(alice, bob, 25_001)
    assert raised.value.metadata == {"limit": "PER_TRANSFER", "limit_cents": "25000"}


def test_invalid_code_keeps_the_attempts_left(client_for, wallet_token, open_account):
    alice, bob = open_account(balance_cents=1_000, code="123456"), open_account()
    client = client_for(wallet_token)
    transfer = client.initiate_transfer(alice, bob, 100)
    with pytest.raises(errors.InvalidCode) as raised:
        client.confirm_transfer(transfer.transfer_id, "000000")
    assert raised.value.metadata == {"attempts_left": "2"}
    client.cancel_transfer(transfer.transfer_id)


def test_invalid_argument_keeps_its_field_violations(client_for, wallet_token, open_account):
    bob = open_account()
    with pytest.raises(errors.InvalidArgument) as raised:
        client_for(wallet_token).initiate_transfer("not-an-id", bob, 100)
    assert type(raised.value) is errors.InvalidArgument
    assert set(raised.value.field_violations) == {"from_account_id"}


def test_an_unknown_token_is_unauthenticated(client_for, open_account):
    with pytest.raises(errors.Unauthenticated):
        client_for("envoi_not-a-token").get_balance(open_account())


@pytest.fixture(scope="module")
def error_channel():
    """A bare gRPC server whose one method fails with the status of the reason it is sent."""

    def fail(reason: bytes, context):
        cls = errors.ERRORS_BY_REASON[reason.decode()]
        context.abort_with_status(
            cls(
                "it failed", metadata={"key": "value"}, field_violations={"field": "is wrong"}
            ).to_status()
        )

    server = grpc.server(futures.ThreadPoolExecutor(2))
    server.add_generic_rpc_handlers(
        [
            grpc.method_handlers_generic_handler(
                "test.Errors", {"Fail": grpc.unary_unary_rpc_method_handler(fail)}
            )
        ]
    )
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        yield channel
    server.stop(None)


@pytest.mark.parametrize("reason", sorted(errors.ERRORS_BY_REASON))
def test_every_reason_comes_back_as_its_class(error_channel, reason):
    client = EnvoiClient(channel=error_channel, max_attempts=1)
    with pytest.raises(errors.EnvoiError) as raised:
        client.call(error_channel.unary_unary("/test.Errors/Fail"), reason.encode())
    error = raised.value
    assert type(error) is errors.ERRORS_BY_REASON[reason]
    assert (error.reason, error.code, error.message) == (
        reason,
        errors.ERRORS_BY_REASON[reason].code,
        "it failed",
    )
    assert error.metadata == {"key": "value"}
    assert error.field_violations == {"field": "is wrong"}


def test_timeout_s_is_a_deadline_and_the_retry_returns_the_first_answer(
    client_for, wallet_token, open_account, database_url, db
):
    alice, bob = open_account(balance_cents=1_000), open_account()
    request_id = str(uuid.uuid4())
    with psycopg.connect(database_url, autocommit=True) as lock_conn:
        # Should the call ignore its deadline, PostgreSQL ends this session after
        # 10 s, so the test fails instead of hanging.
        lock_conn.execute("SET idle_in_transaction_session_timeout = '10s'")
        with lock_conn.transaction():
            # InitiateTransfer locks the sender's row; while we hold it, the call waits.
            lock_conn.execute("SELECT 1 FROM accounts WHERE account_id = %s FOR UPDATE", (alice,))
            with pytest.raises(errors.EnvoiError) as raised:
                client_for(wallet_token, timeout_s=0.5).initiate_transfer(
                    alice, bob, 100, request_id=request_id
                )
    assert raised.value.code == grpc.StatusCode.DEADLINE_EXCEEDED

    # The server went on once the lock was free; the same request_id gets that one transfer.
    transfer = client_for(wallet_token).initiate_transfer(alice, bob, 100, request_id=request_id)
    assert transfer.state == transfer_pb2.TRANSFER_STATE_PENDING_CONFIRMATION
    assert payments_from(db, alice) == [transfer.transfer_id]


def test_max_attempts_1_sends_once(client_for, wallet_token, open_account, recorder):
    alice, bob = open_account(balance_cents=1_000), open_account()
    client = client_for(wallet_token, max_attempts=1)
    recorder.unavailable_left = 1

    with pytest.raises(errors.Unavailable):
        client.initiate_transfer(alice, bob, 250)

    assert len(recorder.request_ids(INITIATE)) == 1


def test_the_retry_policy_retries_only_calls_safe_to_send_twice():
    """A read, or a call with a request_id (answered once); never WatchEvents,
    which EventStream resumes from its last event."""
    config = json.loads(dict(channel_options())["grpc.service_config"])
    (method_config,) = config["methodConfig"]
    retried = {f"/{name['service']}/{name['method']}" for name in method_config["name"]}
    methods = rpc_catalog.methods_by_path()
    for path in retried:
        assert path in MUTATING_METHODS or path.rsplit("/", 1)[1].startswith(
            ("Get", "List", "Resolve")
        ), path
        assert not methods[path].server_streaming, path
    services = {path.rsplit("/", 1)[0] for path in retried}
    assert {p for p in MUTATING_METHODS if p.rsplit("/", 1)[0] in services} <= retried
    assert method_config["retryPolicy"]["retryableStatusCodes"] == ["CANCELLED", "UNAVAILABLE"]
