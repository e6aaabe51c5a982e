"""Paying a social identity: straight to its account when linked, else into
escrow until the identity is linked (claimed) or the window ends (refunded)."""

import datetime
import uuid

import pytest

from envoi.client import errors
from envoi.core import maintenance
from envoi.v1 import identity_pb2, transfer_pb2

S = transfer_pb2


def twitter_user(handle="someone") -> identity_pb2.Identity:
    return identity_pb2.Identity(
        namespace="twitter", subject_id=str(uuid.uuid4().int)[:18], handle=handle
    )


@pytest.fixture
def sender(open_account, wallet):
    """A funded person who linked their X identity."""
    account_id = open_account(balance_cents=10_000)
    identity = twitter_user("alice")
    wallet.link_identity(account_id, identity)
    return account_id, identity


def escrow_balance(db) -> int:
    return db.execute(
        "SELECT account_balance_cents(accounts) FROM accounts WHERE system_purpose = 'ESCROW'"
        " AND currency_code = 'EUR'"
    ).fetchone()[0]


def events_of(db, transfer_id) -> list[str]:
    return [
        row[0]
        for row in db.execute(
            "SELECT event_type FROM outbox_events WHERE transfer_id = %s ORDER BY event_id",
            (transfer_id,),
        )
    ]


def test_paying_a_linked_identity_pays_its_account(twitter_channel, wallet, open_account, sender):
    _, alice = sender
    bob_account = open_account()
    bob = twitter_user("bob")
    wallet.link_identity(bob_account, bob)
    transfer = twitter_channel.initiate_transfer(alice, bob, 500, channel_reference="tweet:1")
    assert transfer.to_account_id == bob_account
    assert (transfer.channel, transfer.channel_reference) == ("twitter", "tweet:1")
    assert transfer.from_identity.subject_id == alice.subject_id
    assert (
        wallet.confirm_transfer(transfer.transfer_id, "123456").state == S.TRANSFER_STATE_COMPLETED
    )
    assert wallet.get_balance(bob_account).balance.amount_cents == 500


def test_unclaimed_money_waits_in_escrow_and_the_new_account_claims_it(
    twitter_channel, wallet, sender, db
):
    alice_account, alice = sender
    carol = twitter_user("carol")
    escrow_before = escrow_balance(db)
    first = twitter_channel.initiate_transfer(alice, carol, 700)
    second = twitter_channel.initiate_transfer(alice, carol, 300)
    for transfer in (first, second):
        confirmed = wallet.confirm_transfer(transfer.transfer_id, "123456")
        assert confirmed.state == S.TRANSFER_STATE_AWAITING_CLAIM
        assert confirmed.claim_expire_time.seconds - confirmed.resolve_time.seconds == 14 * 86400
    assert escrow_balance(db) == escrow_before + 1_000
    assert wallet.get_balance(alice_account).balance.amount_cents == 9_000

    # Carol signs in with X in the wallet app: both wait no more, in one go.
    response = wallet.open_account_response("PERSON", "Carol", "222222", identity=carol)
    carol_account = response.account.account_id
    assert [i.subject_id for i in response.account.identities] == [carol.subject_id]
    assert sorted(t.transfer_id for t in response.claimed_transfers) == sorted(
        [first.transfer_id, second.transfer_id]
    )
    assert all(
        t.state == S.TRANSFER_STATE_COMPLETED and t.to_account_id == carol_account
        for t in response.claimed_transfers
    )
    assert wallet.get_balance(carol_account).balance.amount_cents == 1_000
    assert escrow_balance(db) == escrow_before
    assert events_of(db, first.transfer_id) == [
        "CONFIRMATION_REQUIRED",
        "TRANSFER_AWAITING_CLAIM",
        "TRANSFER_CLAIMED",
    ]


def test_linking_later_claims_every_waiting_transfer(twitter_channel, wallet, open_account, sender):
    _, alice = sender
    dave = twitter_user("dave")
    waiting = [twitter_channel.initiate_transfer(alice, dave, 100 + n) for n in range(3)]
    for transfer in waiting:
        wallet.confirm_transfer(transfer.transfer_id, "123456")
    dave_account = open_account()
    linked = wallet.link_identity(dave_account, dave)
    assert len(linked.claimed_transfers) == 3
    assert wallet.get_balance(dave_account).balance.amount_cents == 303
    # Claimed once: linking again (a handle refresh) claims nothing more.
    assert not wallet.link_identity(dave_account, dave).claimed_transfers


def test_unclaimed_money_goes_back_to_the_sender_after_the_window(
    twitter_channel, wallet, sender, runtime, db
):
    alice_account, alice = sender
    erin = twitter_user("erin")
    transfer = twitter_channel.initiate_transfer(alice, erin, 400)
    confirmed = wallet.confirm_transfer(transfer.transfer_id, "123456")
    # A clock we control: just before the deadline nothing happens; after it, a refund.
    deadline = confirmed.claim_expire_time.ToDatetime(tzinfo=datetime.timezone.utc)
    maintenance.expire_due_transfers(runtime, now=deadline - datetime.timedelta(seconds=1))
    assert wallet.get_transfer(transfer.transfer_id).state == S.TRANSFER_STATE_AWAITING_CLAIM
    maintenance.expire_due_transfers(runtime, now=deadline)
    assert wallet.get_transfer(transfer.transfer_id).state == S.TRANSFER_STATE_REFUNDED
    assert wallet.get_balance(alice_account).balance.amount_cents == 10_000
    assert events_of(db, transfer.transfer_id)[-1] == "TRANSFER_REFUNDED"
    # Linked too late: nothing is left to claim.
    assert not wallet.link_identity(
        wallet.open_account("PERSON", "Erin", "333333").account_id, erin
    ).claimed_transfers


def test_an_identity_linked_before_confirmation_is_paid_at_once(
    twitter_channel, wallet, open_account, sender, db
):
    _, alice = sender
    frank = twitter_user("frank")
    transfer = twitter_channel.initiate_transfer(alice, frank, 250)
    frank_account = open_account()
    wallet.link_identity(frank_account, frank)
    confirmed = wallet.confirm_transfer(transfer.transfer_id, "123456")
    assert (confirmed.state, confirmed.to_account_id) == (S.TRANSFER_STATE_COMPLETED, frank_account)
    assert wallet.get_balance(frank_account).balance.amount_cents == 250


def test_money_a_sender_sent_to_their_own_identity_goes_back(
    twitter_channel, wallet, open_account, sender
):
    alice_account, alice = sender
    alt = twitter_user("alice_alt")
    transfer = twitter_channel.initiate_transfer(alice, alt, 600)
    wallet.confirm_transfer(transfer.transfer_id, "123456")
    assert not wallet.link_identity(alice_account, alt).claimed_transfers
    assert wallet.get_transfer(transfer.transfer_id).state == S.TRANSFER_STATE_REFUNDED
    assert wallet.get_balance(alice_account).balance.amount_cents == 10_000


def test_one_identity_belongs_to_one_account(wallet, open_account):
    grace = twitter_user("Grace_H")
    first, second = open_account(), open_account()
    wallet.link_identity(first, grace)
    with pytest.raises(errors.IdentityAlreadyLinked):
        wallet.link_identity(second, grace)
    resolved = wallet.resolve_identity(identity_pb2.Identity(namespace="twitter", handle="grace_h"))
    assert (resolved.account_id, resolved.identity.subject_id) == (first, grace.subject_id)
    wallet.unlink_identity(first, grace)
    assert not wallet.get_account(first).identities
    wallet.link_identity(second, grace)
    assert wallet.resolve_identity(grace).account_id == second


def test_an_unknown_sender_identity_cannot_pay(twitter_channel, open_account):
    with pytest.raises(errors.IdentityNotLinked):
        twitter_channel.initiate_transfer(twitter_user("nobody"), open_account(), 100)


def test_money_waiting_in_escrow_counts_against_the_daily_cap(
    twitter_channel, wallet, admin, sender, settings
):
    # Confirmed payments to people without an account are spent money too.
    alice_account, alice = sender
    admin.credit_account(alice_account, settings.daily_cap_cents)
    per_payment_cents = settings.max_to_person_cents
    for n in range(settings.daily_cap_cents // per_payment_cents):
        payment = twitter_channel.initiate_transfer(
            alice, twitter_user(f"cap{n}"), per_payment_cents
        )
        assert (
            wallet.confirm_transfer(payment.transfer_id, "123456").state
            == S.TRANSFER_STATE_AWAITING_CLAIM
        )
    with pytest.raises(errors.LimitExceeded) as refused:
        twitter_channel.initiate_transfer(alice, twitter_user("one_more"), 1)
    assert refused.value.metadata["limit"] == "DAILY"
