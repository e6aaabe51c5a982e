"""PaymentRequestService.RequestMoney: a person asks another to pay them, from
the wallet or from a post (a channel, for the post's author). The payer
confirms with their code (that pays the requester), declines, or lets it
expire; nothing is held, and no money moves, until the payer's code."""

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

CODE = "123456"
PENDING = transfer_pb2.TRANSFER_STATE_PENDING_CONFIRMATION
COMPLETED = transfer_pb2.TRANSFER_STATE_COMPLETED
CANCELLED = transfer_pb2.TRANSFER_STATE_CANCELLED
EXPIRED = transfer_pb2.TRANSFER_STATE_EXPIRED
SEVEN_DAYS_S = 7 * 24 * 3600


def money_of(client, account_id) -> tuple[int, int, int]:
    balance = client.get_balance(account_id)
    return (balance.balance.amount_cents, balance.held.amount_cents, balance.available.amount_cents)


def next_event_of(stream: StreamReader, transfer_id: str):
    while True:
        (event,) = stream.take(1)
        if event.transfer.transfer_id == transfer_id:
            return event


def twitter_identity(handle="someone") -> identity_pb2.Identity:
    return identity_pb2.Identity(
        namespace="twitter", subject_id=str(secrets.randbelow(10**15)), handle=handle
    )


def test_a_request_confirmed_by_the_payer_pays_the_requester(wallet, open_account):
    alice = open_account(code=CODE)
    bob = open_account(balance_cents=5_000, code=CODE)
    with (
        StreamReader(wallet.watch_events(bob)) as bob_stream,
        StreamReader(wallet.watch_events(alice)) as alice_stream,
    ):
        request = wallet.request_money(alice, bob, 1_250, memo="le resto")
        assert (request.state, request.from_account_id, request.to_account_id) == (
            PENDING,
            bob,
            alice,
        )
        assert request.requested and request.memo == "le resto"
        # Nothing held: asking locks none of Bob's money.
        assert money_of(wallet, bob) == (5_000, 0, 5_000)
        for stream in (bob_stream, alice_stream):
            event = next_event_of(stream, request.transfer_id)
            assert event.type == event_pb2.EVENT_TYPE_CONFIRMATION_REQUIRED
            assert event.transfer.requested
        # Bob's wallet shows it among what waits for his code.
        pending = wallet.list_pending_confirmations(bob).transfers
        assert [(t.transfer_id, t.requested) for t in pending] == [(request.transfer_id, True)]
        assert wallet.list_pending_confirmations(alice).transfers == []

        assert wallet.confirm_transfer(request.transfer_id, CODE).state == COMPLETED
        for stream in (bob_stream, alice_stream):
            event = next_event_of(stream, request.transfer_id)
            assert event.type == event_pb2.EVENT_TYPE_TRANSFER_COMPLETED
    assert money_of(wallet, bob) == (3_750, 0, 3_750)
    assert money_of(wallet, alice) == (1_250, 0, 1_250)


def test_only_the_payers_code_pays_it(wallet, open_account):
    alice = open_account(code="111111")
    bob = open_account(balance_cents=5_000, code="222222")
    request = wallet.request_money(alice, bob, 1_000)
    # The requester's own code is a wrong code: the request cannot pay itself.
    with pytest.raises(errors.InvalidCode):
        wallet.confirm_transfer(request.transfer_id, "111111")
    assert wallet.get_transfer(request.transfer_id).state == PENDING
    assert money_of(wallet, bob) == (5_000, 0, 5_000)
    assert wallet.confirm_transfer(request.transfer_id, "222222").state == COMPLETED


def test_the_payer_declines_and_the_requester_is_told(wallet, open_account):
    alice, bob = open_account(), open_account(balance_cents=5_000)
    request = wallet.request_money(alice, bob, 1_000)
    with StreamReader(wallet.watch_events(alice)) as stream:
        assert next_event_of(stream, request.transfer_id).type == (
            event_pb2.EVENT_TYPE_CONFIRMATION_REQUIRED
        )
        assert wallet.cancel_transfer(request.transfer_id).state == CANCELLED
        assert next_event_of(stream, request.transfer_id).type == (
            event_pb2.EVENT_TYPE_TRANSFER_CANCELLED
        )
    assert money_of(wallet, bob) == (5_000, 0, 5_000)
    assert money_of(wallet, alice) == (0, 0, 0)
    with pytest.raises(errors.TransferNotPending):
        wallet.confirm_transfer(request.transfer_id, CODE)


def test_a_request_expires_after_seven_days_by_default(wallet, open_account, runtime):
    alice, bob = open_account(), open_account(balance_cents=5_000)
    request = wallet.request_money(alice, bob, 1_000)
    expire_time = request.expire_time.ToDatetime(datetime.timezone.utc)
    lifetime = expire_time - request.create_time.ToDatetime(datetime.timezone.utc)
    assert lifetime == datetime.timedelta(seconds=SEVEN_DAYS_S)
    # The sweeper, run as if it were a second before the expiry, then a second after.
    maintenance.expire_due_transfers(runtime, now=expire_time - datetime.timedelta(seconds=1))
    assert wallet.get_transfer(request.transfer_id).state == PENDING
    maintenance.expire_due_transfers(runtime, now=expire_time + datetime.timedelta(seconds=1))
    assert wallet.get_transfer(request.transfer_id).state == EXPIRED
    assert money_of(wallet, bob) == (5_000, 0, 5_000)
    with pytest.raises(errors.TransferNotPending):
        wallet.confirm_transfer(request.transfer_id, CODE)


def test_a_shorter_expiry(wallet, open_account):
    request = wallet.request_money(open_account(), open_account(), 100, expire_after_s=60)
    lifetime = request.expire_time.ToDatetime() - request.create_time.ToDatetime()
    assert lifetime == datetime.timedelta(seconds=60)


def test_the_cap_on_a_payment_to_a_person_applies(wallet, open_account, settings):
    alice, bob = open_account(), open_account()
    with pytest.raises(errors.LimitExceeded) as capped:
        wallet.request_money(alice, bob, settings.max_to_person_cents + 1)
    assert capped.value.metadata["limit"] == "PER_TRANSFER"
    assert wallet.request_money(alice, bob, settings.max_to_person_cents).state == PENDING


def test_the_payers_money_is_checked_when_they_confirm(wallet, admin, open_account):
    alice, bob = open_account(), open_account(balance_cents=500, code=CODE)
    request = wallet.request_money(alice, bob, 2_000)
    with pytest.raises(errors.InsufficientFunds):
        wallet.confirm_transfer(request.transfer_id, CODE)
    assert wallet.get_transfer(request.transfer_id).state == PENDING
    admin.credit_account(bob, 1_500)
    assert wallet.confirm_transfer(request.transfer_id, CODE).state == COMPLETED
    assert money_of(wallet, alice) == (2_000, 0, 2_000)


def test_a_retry_gets_the_same_request(wallet, open_account, db):
    alice, bob, request_id = open_account(), open_account(), str(uuid.uuid4())
    first = wallet.request_money(alice, bob, 900, request_id=request_id)
    again = wallet.request_money(alice, bob, 900, request_id=request_id)
    assert again == first
    assert db.execute(
        "SELECT count(*) FROM transfers WHERE to_account_id = %s", (alice,)
    ).fetchone() == (1,)


def test_the_payer_by_identity_and_an_unlinked_identity(wallet, open_account, db):
    alice, bob = open_account(), open_account()
    bob_on_x = twitter_identity("bob")
    wallet.link_identity(bob, bob_on_x)
    request = wallet.request_money(alice, bob_on_x, 700)
    assert (request.from_account_id, request.from_identity.subject_id) == (
        bob,
        bob_on_x.subject_id,
    )
    # Nobody linked this one: refused, and nothing is kept for later.
    stranger = twitter_identity("stranger")
    with pytest.raises(errors.IdentityNotLinked) as refused:
        wallet.request_money(alice, stranger, 700)
    assert refused.value.metadata == {"namespace": "twitter", "subject_id": stranger.subject_id}
    assert db.execute(
        "SELECT count(*) FROM transfers WHERE to_account_id = %s", (alice,)
    ).fetchone() == (1,)


@pytest.mark.parametrize("kind, side", [("MERCHANT", "payer"), ("MERCHANT", "requester")])
def test_money_is_asked_between_people_only(kind, side, wallet, open_account):
    person, other = open_account(), open_account(kind)
    requester, payer = (person, other) if side == "payer" else (other, person)
    with pytest.raises(errors.InvalidArgument) as refused:
        wallet.request_money(requester, payer, 100)
    assert set(refused.value.field_violations) == {
        "payer_account_id" if side == "payer" else "account_id"
    }


def test_nobody_asks_themselves(wallet, open_account):
    alice = open_account()
    with pytest.raises(errors.SelfTransfer):
        wallet.request_money(alice, alice, 100)
    alice_on_x = twitter_identity()
    wallet.link_identity(alice, alice_on_x)
    with pytest.raises(errors.SelfTransfer):
        wallet.request_money(alice, alice_on_x, 100)


@pytest.mark.parametrize(
    "field, options",
    [
        ("expire_after_s", {"expire_after_s": 59}),
        ("expire_after_s", {"expire_after_s": SEVEN_DAYS_S + 1}),
        ("memo", {"memo": "x" * 281}),
        ("channel_reference", {"channel_reference": "x" * 129}),
    ],
)
def test_a_malformed_request_is_refused(field, options, wallet, open_account):
    with pytest.raises(errors.InvalidArgument) as refused:
        wallet.request_money(open_account(), open_account(), 100, **options)
    assert set(refused.value.field_violations) == {field}


def test_a_payer_has_at_most_so_many_open_requests_of_one_person(wallet, open_account):
    alice, bob = open_account(), open_account()
    made = run_together(
        [
            lambda: wallet.request_money(alice, bob, 100)
            for _ in range(payment_requests.MAX_OPEN_REQUESTS_PER_PAYER + 3)
        ]
    )
    assert {type(m) for m in made} == {transfer_pb2.Transfer, errors.LimitExceeded}
    assert len([m for m in made if isinstance(m, transfer_pb2.Transfer)]) == (
        payment_requests.MAX_OPEN_REQUESTS_PER_PAYER
    )
    with pytest.raises(errors.LimitExceeded) as refused:
        wallet.request_money(alice, bob, 100)
    assert refused.value.metadata["limit"] == "OPEN_REQUESTS"
    # Another person may still ask Bob.
    assert wallet.request_money(open_account(), bob, 100).state == PENDING


def test_a_channel_asks_for_the_poster_only(channel_client_for, wallet, open_account):
    twitter = channel_client_for("twitter")
    alice, bob = open_account(), open_account(balance_cents=2_000, code=CODE)
    alice_on_x, bob_on_x = twitter_identity("alice"), twitter_identity("bob")
    wallet.link_identity(alice, alice_on_x)
    wallet.link_identity(bob, bob_on_x)
    request = twitter.request_money(
        alice_on_x, bob_on_x, 1_500, channel_reference="post:7:" + bob_on_x.subject_id
    )
    assert (request.from_account_id, request.to_account_id, request.channel) == (
        bob,
        alice,
        "twitter",
    )
    assert request.to_identity.handle == "alice"
    # Not by account ids, nor for another network's people.
    with pytest.raises(errors.PermissionDenied):
        twitter.request_money(alice, bob_on_x, 100)
    with pytest.raises(errors.PermissionDenied):
        twitter.request_money(alice_on_x, bob, 100)
    with pytest.raises(errors.PermissionDenied):
        channel_client_for("mastodon").request_money(alice_on_x, bob_on_x, 100)
    # One request per post and payer, whatever the request id.
    with pytest.raises(errors.PaymentRequestExists):
        twitter.request_money(
            alice_on_x, bob_on_x, 1_500, channel_reference="post:7:" + bob_on_x.subject_id
        )
    # A request from a post holds nothing, and is not one of Bob's own payments
    # from posts: his own payment from a post still goes.
    assert money_of(wallet, bob) == (2_000, 0, 2_000)
    assert wallet.confirm_transfer(request.transfer_id, CODE).state == COMPLETED
    assert money_of(wallet, alice) == (1_500, 0, 1_500)


def test_others_asking_never_block_the_payers_own_posts(
    channel_client_for, wallet, open_account, settings
):
    twitter = channel_client_for("twitter")
    bob = open_account(balance_cents=2_000)
    bob_on_x = twitter_identity("bob")
    wallet.link_identity(bob, bob_on_x)
    for n in range(settings.channel_pending_max_count + 1):
        asker, asker_on_x = open_account(), twitter_identity(f"asker{n}")
        wallet.link_identity(asker, asker_on_x)
        twitter.request_money(asker_on_x, bob_on_x, 100, channel_reference=f"post:{uuid.uuid4()}:x")
    friend = twitter_identity("friend")
    wallet.link_identity(open_account(), friend)
    assert twitter.initiate_transfer(bob_on_x, friend, 100).state == PENDING


def test_the_same_request_sent_at_once_from_many_threads_is_made_once(wallet, open_account, db):
    alice, bob, request_id = open_account(), open_account(), str(uuid.uuid4())
    made = run_together([lambda: wallet.request_money(alice, bob, 300, request_id=request_id)] * 6)
    assert len({m.transfer_id for m in made}) == 1, made
    assert db.execute(
        "SELECT count(*) FROM transfers WHERE to_account_id = %s", (alice,)
    ).fetchone() == (1,)


def test_the_payers_daily_cap_is_checked_when_they_confirm(wallet, open_account, settings):
    bob = open_account(balance_cents=150_000, code=CODE, tier="VERIFIED")
    share = settings.max_to_person_cents
    within_cap = settings.daily_cap_cents // share
    asked = [wallet.request_money(open_account(), bob, share) for _ in range(within_cap + 1)]
    # Pending requests use none of Bob's day; each counts once he pays it.
    for request in asked[:within_cap]:
        assert wallet.confirm_transfer(request.transfer_id, CODE).state == COMPLETED
    with pytest.raises(errors.LimitExceeded) as capped:
        wallet.confirm_transfer(asked[-1].transfer_id, CODE)
    assert capped.value.metadata["limit"] == "DAILY"
    assert wallet.get_transfer(asked[-1].transfer_id).state == PENDING


def test_a_post_asks_a_payer_once_even_under_two_request_ids_at_once(
    channel_client_for, wallet, open_account
):
    twitter = channel_client_for("twitter")
    alice_on_x, bob_on_x = twitter_identity("alice"), twitter_identity("bob")
    wallet.link_identity(open_account(), alice_on_x)
    wallet.link_identity(open_account(), bob_on_x)
    reference = f"post:{uuid.uuid4().int % 10**18}:1"
    made = run_together(
        [
            lambda: twitter.request_money(alice_on_x, bob_on_x, 100, channel_reference=reference)
            for _ in range(4)
        ]
    )
    assert sorted(type(m).__name__ for m in made) == [
        "PaymentRequestExists",
        "PaymentRequestExists",
        "PaymentRequestExists",
        "Transfer",
    ]
