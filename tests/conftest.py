"""envoi's own tests use the fixtures it ships for plugin authors."""

import pytest

from envoi.channels.twitter.x_api_emulator import XApiEmulator

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
