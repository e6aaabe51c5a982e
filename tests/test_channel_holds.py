"""What a channel may hold on one account: payments it starts from a post are
capped in count and amount while they wait for the code, so that whoever
controls a social account (or forges its posts) cannot freeze its money."""

import pytest

from envoi.client import errors
from envoi.core.testing import settings_with
from envoi.v1 import transfer_pb2


@pytest.fixture(scope="module")
def settings(database_url):
    # The per-identity rate limit off, so that the caps are what refuses.
    return settings_with(
        database_url,
        identity_rate_per_min=0,
        channel_pending_max_count=3,
        channel_pending_max_cents=25_000,
    )


def refused_limit(call) -> str:
    with pytest.raises(errors.LimitExceeded) as refused:
        call()
    return refused.value.metadata["limit"]


def test_a_channel_holds_at_most_so_much_of_one_account(
    twitter_channel, wallet, posted_by, open_account
):
    victim = open_account(balance_cents=100_000, tier="VERIFIED")
    poster, payee = posted_by(victim), open_account()
    first = twitter_channel.initiate_transfer(poster, payee, 20_000)
    assert refused_limit(lambda: twitter_channel.initiate_transfer(poster, payee, 5_001)) == (
        "CHANNEL_PENDING"
    )
    assert wallet.get_balance(victim).held.amount_cents == 20_000
    # The owner's own payments from the wallet are not the channel's to count.
    wallet.initiate_transfer(victim, payee, 25_000)
    twitter_channel.initiate_transfer(poster, payee, 5_000)
    # Once the owner answers a held payment, the channel may ask again.
    wallet.confirm_transfer(first.transfer_id, "123456")
    assert twitter_channel.initiate_transfer(poster, payee, 20_000).state == (
        transfer_pb2.TRANSFER_STATE_PENDING_CONFIRMATION
    )


def test_a_channel_holds_at_most_so_many_payments_of_one_account(
    twitter_channel, wallet, posted_by, open_account
):
    victim = open_account(balance_cents=10_000)
    poster, payee = posted_by(victim), open_account()
    held = [twitter_channel.initiate_transfer(poster, payee, 100) for _ in range(3)]
    assert refused_limit(lambda: twitter_channel.initiate_transfer(poster, payee, 100)) == (
        "CHANNEL_PENDING"
    )
    wallet.cancel_transfer(held[0].transfer_id)
    assert twitter_channel.initiate_transfer(poster, payee, 100).transfer_id
