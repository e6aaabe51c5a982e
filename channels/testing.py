"""pytest fixtures for channel plugin authors: everything in envoi.core.testing
(a real PostgreSQL, a real envoi gRPC server, tokens, accounts) plus a real
gateway for your channel. In your plugin's tests/conftest.py:

    pytest_plugins = ["envoi.channels.testing"]

then, in a test:

    def test_a_post_starts_a_payment(start_gateway, channel_client_for):
        gateway = start_gateway(MyChannel(...), channel_client_for("mynet"))
        # POST to f"http://127.0.0.1:{gateway.webhooks.port}/mynet/webhook" ...
        gateway.run_once()  # relay events and send messages, one deterministic round

docs/plugins.md walks through it.
"""

import pytest

from envoi.channels.gateway import Gateway
from envoi.channels.gateway_store import GatewayStore

pytest_plugins = ["envoi.core.testing"]


@pytest.fixture(scope="module")
def channel_client_for(client_for, make_token):
    """channel_client_for(name) -> an EnvoiClient holding a `channel` token of that name."""
    return lambda name: client_for(make_token("channel", channel_name=name))


@pytest.fixture
def start_gateway(gateway_pool):
    """start_gateway(channel, client) -> a Gateway whose webhooks listen on a free
    local port (gateway.webhooks.port, when the channel has routes), and whose
    channel listens (gateway.listeners, when it implements listen()); drive
    polling, events and messages with gateway.run_once(). Its store connects as
    envoi_gateway, as in production. Stopped after the test."""
    started = []

    def start(channel, client):
        gateway = Gateway(
            [channel], {channel.name: client}, GatewayStore(gateway_pool), listen="127.0.0.1:0"
        )
        if gateway.webhooks:
            gateway.webhooks.start()
        for listener in gateway.listeners:
            listener.start()
        started.append(gateway)
        return gateway

    yield start
    for gateway in started:
        for listener in gateway.listeners:
            listener.stop()
        if gateway.webhooks:
            gateway.webhooks.stop()
