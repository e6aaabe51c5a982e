"""PaymentRequestService.RequestPayment: a merchant asks a person to pay it;
the person confirms in the wallet app with their code, or declines; the
merchant follows its request on its own event stream. Nothing is held on the
payer until they confirm."""

import datetime
import secrets
import uuid

import pytest
from concurrently import run_together
from event_streams import StreamReader

from envoi.client import errors
from envoi.core import maintenance
from envoi.core.ledger import payment_requests
from envoi.v1 import event_pb2, identity_pb2, transfer_pb2

PERSON_CODE = "123456"
PENDING = transfer_pb2.TRANSFER_STATE_PENDING_CONFIRMATION
COMPLETED = transfer_pb2.TRANSFER_STATE_COMPLETED
CANCELLED = transfer_pb2.TRANSFER_STATE_CANCELLED
EXPIRED = transfer_pb2.TRANSFER_STATE_EXPIRED


@pytest.fixture
def shop(open_account, admin, client_for):
    """A merchant of this test alone: (account id, a client with an API key of it)."""
    account_id = open_account("MERCHANT", code="424242")
    key = admin.create_api_key(account_id, label="shop backend")
    return account_id, client_for(key.secret)


def new_order() -> str:
    return f"order-{secrets.token_hex(6)}"


def money_of(client, account_id) -> tuple[int, int, int]:
    balance = client.get_balance(account_id)
    return (balance.balance.amount_cents, balance.held.amount_cents, balance.available.amount_cents)


def next_event_of(stream: StreamReader, transfer_id: str):
    """The stream's next event about this transfer (a payer's stream shows the
    credit that funded it first)."""
    while True:
        (event,) = stream.take(1)
        if event.transfer.transfer_id == transfer_id:
            return event


def test_a_request_is_confirmed_by_the_payer_and_pays_the_merchant(shop, wallet, open_account):
    shop_id, merchant = shop
    payer = open_account(balance_cents=5_000, code=PERSON_CODE)
    with (
        StreamReader(wallet.watch_events(payer)) as payer_stream,
        StreamReader(merchant.watch_events(shop_id)) as shop_stream,
    ):
        order = new_order()
        request = merchant.request_payment(
            shop_id, payer, 1_250, merchant_reference=order, memo="2 croissants"
        )
        assert (request.state, request.from_account_id, request.to_account_id) == (
            PENDING,
            payer,
            shop_id,
        )
        assert request.merchant_reference == order
        assert request.amount.amount_cents == 1_250
        # Nothing held: a merchant cannot lock a person's money by asking.
        assert money_of(wallet, payer) == (5_000, 0, 5_000)
        for stream in (payer_stream, shop_stream):
            event = next_event_of(stream, request.transfer_id)
            assert event.type == event_pb2.EVENT_TYPE_CONFIRMATION_REQUIRED
            assert event.transfer.merchant_reference == order
        # The wallet app shows it on the payer's confirmation screen.
        pending = wallet.list_pending_confirmations(payer).transfers
        assert [t.transfer_id for t in pending] == [request.transfer_id]
        assert pending[0].to_display_name and pending[0].merchant_reference == order

        done = wallet.confirm_transfer(request.transfer_id, PERSON_CODE)
        assert done.state == COMPLETED
        for stream in (payer_stream, shop_stream):
            event = next_event_of(stream, request.transfer_id)
            assert event.type == event_pb2.EVENT_TYPE_TRANSFER_COMPLETED
            assert event.transfer.merchant_reference == order
    assert money_of(wallet, payer) == (3_750, 0, 3_750)
    assert money_of(merchant, shop_id) == (1_250, 0, 1_250)
    assert merchant.get_transfer(request.transfer_id).state == COMPLETED


def test_a_wrong_code_is_counted_and_moves_nothing(shop, wallet, open_account):
    shop_id, merchant = shop
    payer = open_account(balance_cents=5_000, code=PERSON_CODE)
    request = merchant.request_payment(shop_id, payer, 1_000, merchant_reference=new_order())
    with pytest.raises(errors.InvalidCode) as wrong:
        wallet.confirm_transfer(request.transfer_id, "999999")
    assert wrong.value.metadata["attempts_left"] == "2"
    assert merchant.get_transfer(request.transfer_id).state == PENDING
    assert money_of(wallet, payer) == (5_000, 0, 5_000)
    assert wallet.confirm_transfer(request.transfer_id, PERSON_CODE).state == COMPLETED


def test_the_payer_declines(shop, wallet, open_account):
    shop_id, merchant = shop
    payer = open_account(balance_cents=5_000, code=PERSON_CODE)
    order = new_order()
    request = merchant.request_payment(shop_id, payer, 1_000, merchant_reference=order)
    with StreamReader(merchant.watch_events(shop_id)) as stream:
        assert next_event_of(stream, request.transfer_id).type == (
            event_pb2.EVENT_TYPE_CONFIRMATION_REQUIRED
        )
        assert wallet.cancel_transfer(request.transfer_id).state == CANCELLED
        assert next_event_of(stream, request.transfer_id).type == (
            event_pb2.EVENT_TYPE_TRANSFER_CANCELLED
        )
    assert money_of(wallet, payer) == (5_000, 0, 5_000)
    assert money_of(merchant, shop_id) == (0, 0, 0)
    # A declined request frees its reference: the shop may ask again for the order.
    again = merchant.request_payment(shop_id, payer, 1_000, merchant_reference=order)
    assert again.transfer_id != request.transfer_id and again.state == PENDING


def test_the_merchant_withdraws_its_request(shop, wallet, open_account):
    shop_id, merchant = shop
    payer = open_account(balance_cents=5_000, code=PERSON_CODE)
    request = merchant.request_payment(shop_id, payer, 1_000, merchant_reference=new_order())
    assert merchant.cancel_transfer(request.transfer_id).state == CANCELLED
    with pytest.raises(errors.TransferNotPending):
        wallet.confirm_transfer(request.transfer_id, PERSON_CODE)


def test_an_unconfirmed_request_expires_at_its_expiry(shop, wallet, open_account, runtime, db):
    shop_id, merchant = shop
    payer = open_account(balance_cents=5_000, code=PERSON_CODE)
    request = merchant.request_payment(
        shop_id, payer, 1_000, merchant_reference=new_order(), expire_after_s=120
    )
    expire_time = request.expire_time.ToDatetime(datetime.timezone.utc)
    lifetime_s = (expire_time - request.create_time.ToDatetime(datetime.timezone.utc)).seconds
    assert lifetime_s == 120
    # The sweeper, run as if it were a second before the expiry, then a second after.
    maintenance.expire_due_transfers(runtime, now=expire_time - datetime.timedelta(seconds=1))
    assert merchant.get_transfer(request.transfer_id).state == PENDING
    maintenance.expire_due_transfers(runtime, now=expire_time + datetime.timedelta(seconds=1))
    assert merchant.get_transfer(request.transfer_id).state == EXPIRED
    assert money_of(wallet, payer) == (5_000, 0, 5_000)
    with pytest.raises(errors.TransferNotPending):
        wallet.confirm_transfer(request.transfer_id, PERSON_CODE)
    assert (
        db.execute(
            "SELECT count(*) FROM outbox_events WHERE transfer_id = %s AND event_type = %s",
            (request.transfer_id, "TRANSFER_EXPIRED"),
        ).fetchone()[0]
        == 1
    )


def test_the_default_expiry_is_the_confirmation_timeout(shop, open_account, settings):
    shop_id, merchant = shop
    request = merchant.request_payment(shop_id, open_account(), 100, merchant_reference=new_order())
    lifetime = request.expire_time.ToDatetime() - request.create_time.ToDatetime()
    assert lifetime == datetime.timedelta(seconds=settings.confirmation_timeout_s)


def test_a_request_by_social_identity(shop, wallet, open_account):
    shop_id, merchant = shop
    payer = open_account(balance_cents=5_000, code=PERSON_CODE)
    identity = identity_pb2.Identity(
        namespace="twitter", subject_id=secrets.token_hex(6), handle="croissant_fan"
    )
    wallet.link_identity(payer, identity)
    request = merchant.request_payment(shop_id, identity, 700, merchant_reference=new_order())
    assert request.from_account_id == payer
    assert request.from_identity.subject_id == identity.subject_id
    assert wallet.confirm_transfer(request.transfer_id, PERSON_CODE).state == COMPLETED
    assert money_of(merchant, shop_id)[0] == 700


def test_a_request_to_an_identity_nobody_linked_is_refused(shop, db):
    shop_id, merchant = shop
    stranger = identity_pb2.Identity(namespace="twitter", subject_id=secrets.token_hex(6))
    with pytest.raises(errors.IdentityNotLinked) as refused:
        merchant.request_payment(shop_id, stranger, 700, merchant_reference=new_order())
    assert refused.value.metadata == {"namespace": "twitter", "subject_id": stranger.subject_id}
    assert db.execute(
        "SELECT count(*) FROM transfers WHERE to_account_id = %s", (shop_id,)
    ).fetchone() == (0,)


def test_a_retry_gets_the_same_request_and_a_reference_is_asked_once(shop, open_account):
    shop_id, merchant = shop
    payer, order, request_id = open_account(), new_order(), str(uuid.uuid4())
    first = merchant.request_payment(
        shop_id, payer, 900, merchant_reference=order, request_id=request_id
    )
    assert (
        merchant.request_payment(
            shop_id, payer, 900, merchant_reference=order, request_id=request_id
        )
        == first
    )
    with pytest.raises(errors.IdempotencyKeyReused):
        merchant.request_payment(
            shop_id, payer, 901, merchant_reference=order, request_id=request_id
        )
    # Another request for the same order, while the first is pending: refused.
    with pytest.raises(errors.PaymentRequestExists) as exists:
        merchant.request_payment(shop_id, open_account(), 900, merchant_reference=order)
    assert exists.value.metadata == {
        "transfer_id": first.transfer_id,
        "state": "PENDING_CONFIRMATION",
    }
    listed = merchant.list_transfers(shop_id, merchant_reference=order).transfers
    assert [t.transfer_id for t in listed] == [first.transfer_id]


def test_concurrent_requests_for_one_order_make_one(shop, open_account):
    shop_id, merchant = shop
    payer, order = open_account(), new_order()
    results = run_together(
        [
            lambda: merchant.request_payment(shop_id, payer, 500, merchant_reference=order)
            for _ in range(8)
        ]
    )
    made = [r for r in results if not isinstance(r, errors.EnvoiError)]
    assert len(made) == 1
    assert all(isinstance(r, errors.PaymentRequestExists) for r in results if r not in made)


def test_another_merchant_neither_sees_nor_cancels_it(shop, open_account, admin, client_for, db):
    shop_id, merchant = shop
    other_id = open_account("MERCHANT")
    other = client_for(admin.create_api_key(other_id).secret)
    request = merchant.request_payment(shop_id, open_account(), 500, merchant_reference=new_order())
    for call in (
        lambda: other.get_transfer(request.transfer_id),
        lambda: other.cancel_transfer(request.transfer_id),
        lambda: other.confirm_transfer(request.transfer_id, PERSON_CODE),
        lambda: other.list_transfers(shop_id),
        lambda: other.request_payment(shop_id, open_account(), 500, merchant_reference="x"),
    ):
        with pytest.raises(errors.PermissionDenied):
            call()
    assert merchant.get_transfer(request.transfer_id).state == PENDING
    with pytest.raises(errors.PermissionDenied):  # its own request: only the payer confirms
        merchant.confirm_transfer(request.transfer_id, PERSON_CODE)


def test_the_payers_money_and_caps_are_checked_when_they_confirm(shop, wallet, admin, open_account):
    shop_id, merchant = shop
    payer = open_account(balance_cents=500, code=PERSON_CODE)
    request = merchant.request_payment(shop_id, payer, 2_000, merchant_reference=new_order())
    # Asking reveals nothing of the payer's balance; confirming needs the money.
    request_id = str(uuid.uuid4())
    with pytest.raises(errors.InsufficientFunds):
        wallet.confirm_transfer(request.transfer_id, PERSON_CODE, request_id=request_id)
    assert merchant.get_transfer(request.transfer_id).state == PENDING
    admin.credit_account(payer, 1_500)
    # Nothing was kept for that request_id: once topped up, the same retry goes through.
    done = wallet.confirm_transfer(request.transfer_id, PERSON_CODE, request_id=request_id)
    assert done.state == COMPLETED
    assert money_of(wallet, payer) == (0, 0, 0)


def test_the_per_transfer_cap_to_a_merchant_applies(shop, open_account, settings):
    shop_id, merchant = shop
    with pytest.raises(errors.LimitExceeded) as capped:
        merchant.request_payment(
            shop_id,
            open_account(),
            settings.max_to_organisation_cents + 1,
            merchant_reference=new_order(),
        )
    assert capped.value.metadata["limit"] == "PER_TRANSFER"


def test_the_daily_cap_counts_a_request_from_its_confirmation(shop, wallet, open_account, settings):
    shop_id, merchant = shop
    payer = open_account(balance_cents=150_000, code=PERSON_CODE, tier="VERIFIED")
    cap = settings.daily_cap_cents
    requests = [
        merchant.request_payment(shop_id, payer, 40_000, merchant_reference=new_order())
        for _ in range(3)
    ]
    # Three pending requests do not use up the payer's day: a payment still goes.
    other = open_account()
    assert wallet.initiate_transfer(payer, other, 10_000).state == PENDING
    wallet.confirm_transfer(requests[0].transfer_id, PERSON_CODE)
    wallet.confirm_transfer(requests[1].transfer_id, PERSON_CODE)
    assert 10_000 + 2 * 40_000 + 40_000 > cap
    with pytest.raises(errors.LimitExceeded) as capped:
        wallet.confirm_transfer(requests[2].transfer_id, PERSON_CODE)
    assert capped.value.metadata["limit"] == "DAILY"
    assert merchant.get_transfer(requests[2].transfer_id).state == PENDING


@pytest.mark.parametrize(
    "field, options",
    [
        ("merchant_reference", {"merchant_reference": ""}),
        ("merchant_reference", {"merchant_reference": "has space"}),
        ("merchant_reference", {"merchant_reference": "x" * 65}),
        ("expire_after_s", {"expire_after_s": 59}),
        ("expire_after_s", {"expire_after_s": 7 * 24 * 3600 + 1}),
        ("memo", {"memo": "x" * 281}),
    ],
)
def test_a_malformed_request_is_refused(field, options, shop, open_account, db):
    shop_id, merchant = shop
    options = {"merchant_reference": new_order(), **options}
    with pytest.raises(errors.InvalidArgument) as refused:
        merchant.request_payment(shop_id, open_account(), 100, **options)
    assert set(refused.value.field_violations) == {field}
    assert db.execute(
        "SELECT count(*) FROM transfers WHERE to_account_id = %s", (shop_id,)
    ).fetchone() == (0,)


def test_a_merchant_cannot_ask_itself(shop):
    shop_id, merchant = shop
    with pytest.raises(errors.SelfTransfer):
        merchant.request_payment(shop_id, shop_id, 100, merchant_reference=new_order())


def test_a_payer_has_at_most_so_many_open_requests_of_one_merchant(shop, open_account):
    shop_id, merchant = shop
    payer = open_account()
    requests = run_together(
        [
            lambda: merchant.request_payment(shop_id, payer, 100, merchant_reference=new_order())
            for _ in range(payment_requests.MAX_OPEN_REQUESTS_PER_PAYER + 3)
        ]
    )
    made = [r for r in requests if not isinstance(r, errors.EnvoiError)]
    assert len(made) == payment_requests.MAX_OPEN_REQUESTS_PER_PAYER
    refused = [r for r in requests if isinstance(r, errors.EnvoiError)]
    assert {(r.reason, r.metadata["limit"]) for r in refused} == {
        ("LIMIT_EXCEEDED", "OPEN_REQUESTS")
    }
    # Once one is answered, the merchant may ask again; other payers are not affected.
    merchant.cancel_transfer(made[0].transfer_id)
    merchant.request_payment(shop_id, payer, 100, merchant_reference=new_order())
    merchant.request_payment(shop_id, open_account(), 100, merchant_reference=new_order())


def test_requests_confirmed_at_once_never_overdraw_the_payer(
    shop, wallet, open_account, admin, client_for
):
    """Nothing was held for them: the payer's row lock at confirmation, and the
    floor CHECK behind it, are what keep two confirmations from both spending."""
    shop_id, merchant = shop
    other_id = open_account("MERCHANT")
    other = client_for(admin.create_api_key(other_id).secret)
    payer = open_account(balance_cents=1_000, code=PERSON_CODE)
    requests = [
        merchant.request_payment(shop_id, payer, 800, merchant_reference=new_order()),
        other.request_payment(other_id, payer, 800, merchant_reference=new_order()),
    ]
    results = run_together(
        [
            lambda r=request: wallet.confirm_transfer(r.transfer_id, PERSON_CODE)
            for request in requests
        ]
    )
    assert sorted(type(r).__name__ for r in results) == ["InsufficientFunds", "Transfer"]
    assert money_of(wallet, payer) == (200, 0, 200)
    paid = [r for r in results if not isinstance(r, errors.EnvoiError)][0]
    assert paid.state == COMPLETED


def test_listing_by_a_malformed_reference_is_refused(shop):
    shop_id, merchant = shop
    with pytest.raises(errors.InvalidArgument) as refused:
        merchant.list_transfers(shop_id, merchant_reference="has space")
    assert set(refused.value.field_violations) == {"merchant_reference"}
