"""envoi's own tests use the fixtures it ships for plugin authors."""

import time

import pytest

from envoi.channels.twitter.channel import TwitterChannel
from envoi.channels.twitter.config import TwitterConfig
from envoi.channels.twitter.x_api_emulator import XApiEmulator
from envoi.v1 import identity_pb2

_names = iter(range(10**6))

pytest_plugins = ["envoi.channels.testing"]


# The X API emulator and the bot's account, for each test module of the Twitter
# channel (tests/test_x_api_emulator.py has its own, on a fake clock).
@pytest.fixture(scope="module")
def x():
    with XApiEmulator() as emulator:
        yield emulator


@pytest.fixture(scope="module")
def bot(x):
    return x.add_user("SmoneyFR")


@pytest.fixture(scope="module")
def twitter_channel(channel_client_for):
    """An EnvoiClient with the twitter channel's token, as the built-in channel's gateway."""
    return channel_client_for("twitter")


# The Twitter channel on the emulator, for its end-to-end tests
# (tests/test_twitter_channel.py, tests/test_twitter_requests.py).
@pytest.fixture(scope="module")
def make_channel(x, bot):
    def make(poll_interval_s=0.0):
        return TwitterChannel(
            TwitterConfig(
                bot_handle="SmoneyFR",
                bot_user_id=bot["id"],
                api_base_url=x.base_url,
                poll_interval_s=poll_interval_s,
                **x.oauth1_credentials(bot),
            )
        )

    return make


@pytest.fixture(scope="module")
def twitter_client(channel_client_for):
    return channel_client_for("twitter")


@pytest.fixture
def start_twitter_gateway(start_gateway, twitter_client, make_channel):
    """start_twitter_gateway(poll_interval_s=0) -> a gateway with its webhooks
    listening; tests drive its rounds with run_once() so each step is deterministic."""
    return lambda poll_interval_s=0.0: start_gateway(make_channel(poll_interval_s), twitter_client)


@pytest.fixture
def person(x, open_account, wallet):
    """person(balance_cents=0, linked=True) -> (X user, envoi account id or None)."""

    def make(balance_cents=0, linked=True):
        user = x.add_user(f"user{next(_names)}_{int(time.time()) % 1000}")
        if not linked:
            return user, None
        account_id = open_account(balance_cents=balance_cents)
        wallet.link_identity(
            account_id,
            identity_pb2.Identity(
                namespace="twitter", subject_id=user["id"], handle=user["username"]
            ),
        )
        return user, account_id

    return make
