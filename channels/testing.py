"""pytest fixtures for channel plugin authors: everything in envoi.core.testing
(a real PostgreSQL, a real envoi gRPC server, tokens, accounts) plus a real
gateway for your channel. In your plugin's tests/conftest.py:

    pytest_plugins = ["envoi.channels.testing"]

then, in a test:

    def test_a_post_starts_a_payment(start_gateway, channel_client_for):
        gateway = start_gateway(MyChannel(...), channel_client_for("mynet"))
        # POST to f"http://127.0.0.1:{gateway.webhooks.port}/mynet/webhook" ...
        gateway.run_once()  # relay events and send messages, one deterministic round

or end to end, on a real `envoi serve` that loads your installed plugin:

    def test_end_to_end(envoi_serve):
        serve = envoi_serve({"MYNET_APP_SECRET": "...", ...})
        wallet = serve.client("wallet")
        ...
        serve.client("channel", channel_name="mynet").get_channel_transfer("post:42")

docs/plugins.md walks through it.
"""

import ast
import dataclasses
import pathlib
import socket
import time
from collections.abc import Mapping

import psycopg
import pytest

from envoi.channels.gateway import Gateway
from envoi.channels.gateway_store import GatewayStore
from envoi.client import EnvoiClient
from envoi.core import schema
from envoi.core.auth import api_tokens
from envoi.core.ops.harness import (
    ServeProcess,
    create_database,
    database_env,
    drop_database,
    envoi_env,
    free_port,
)

pytest_plugins = ["envoi.core.testing"]
GATEWAY_READY_TIMEOUT_S = 30.0
# The modules of envoi a channel plugin may import (docs/plugins.md, "What is
# public"), besides the client (envoi.client) and the contract (envoi.v1).
PUBLIC_MODULES = frozenset(
    {
        "envoi.channels",
        "envoi.channels.channel",
        "envoi.channels.grammar",
        "envoi.channels.listener",
        "envoi.channels.money_text",
        "envoi.channels.testing",
        "envoi.core.testing",
    }
)


def private_imports(*directories: pathlib.Path) -> list[tuple[str, str]]:
    """(file, module) for each import of envoi's internals in the .py files of
    `directories`: a plugin's package and tests should have none."""
    found = []
    for directory in directories:
        for source in sorted(pathlib.Path(directory).glob("*.py")):
            for node in ast.walk(ast.parse(source.read_text())):
                if isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    names = [node.module]
                elif isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                else:
                    continue
                found += [(source.name, name) for name in names if _private(name)]
    return found


def _private(module: str) -> bool:
    parts = module.split(".")
    if parts[0] != "envoi" or module in PUBLIC_MODULES:
        return False
    return len(parts) < 2 or parts[1] not in ("client", "v1")


@dataclasses.dataclass
class RunningServe:
    """A running `envoi serve` process, its channel gateway included."""

    process: ServeProcess
    owner_url: str  # its database, as the owner of the tables
    gateway_url: str  # http://127.0.0.1:PORT: the webhooks of every loaded channel

    @property
    def target(self) -> str:
        """Its gRPC address (host:port)."""
        return self.process.target

    def client(
        self, role: str, *, channel_name: str | None = None, merchant_account_id: str | None = None
    ) -> EnvoiClient:
        """An EnvoiClient with a new token of `role` (`channel` needs channel_name;
        `merchant` needs merchant_account_id)."""
        with psycopg.connect(self.owner_url, autocommit=True) as conn:
            _, token = api_tokens.create_token(
                conn, role, channel_name=channel_name, merchant_account_id=merchant_account_id
            )
        return EnvoiClient(self.target, token)

    def log(self) -> str:
        """What the server and its gateway printed so far."""
        return self.process.log()


@pytest.fixture
def envoi_serve(postgres_server_url, tmp_path):
    """envoi_serve(env) -> a RunningServe: a real `envoi serve` process on a new
    database of the test PostgreSQL, with your plugin's settings in `env` (it
    loads installed plugins as in production, through their entry points; limit
    them with ENVOI_CHANNELS). Returned once gRPC answers SERVING and, when a
    loaded channel has webhook routes, the gateway's port takes connections.
    Stopped, and its database dropped, after the test."""
    started = []

    def start(env: Mapping[str, str] = {}) -> RunningServe:
        from envoi.core.testing import TEST_CODE_KEY  # loaded as a pytest plugin first

        owner_url = create_database(postgres_server_url, "envoi_kit")
        schema.migrate(owner_url)
        gateway_port = free_port()
        process_env = envoi_env(
            **database_env(owner_url),
            ENVOI_CODE_KEY=TEST_CODE_KEY.decode(),
            ENVOI_DATA_DIR=str(tmp_path / f"serve-{len(started)}"),
            ENVOI_GATEWAY_LISTEN=f"127.0.0.1:{gateway_port}",
            **env,
        )
        log_path = pathlib.Path(tmp_path / f"serve-{len(started)}.log")
        serve = RunningServe(
            ServeProcess(process_env, [], log_path), owner_url, f"http://127.0.0.1:{gateway_port}"
        )
        started.append(serve)
        serve.process.wait_until_serving()
        if _has_webhooks(process_env):
            _wait_for_port(gateway_port, serve)
        return serve

    yield start
    for serve in started:
        serve.process.stop()
        drop_database(postgres_server_url, serve.owner_url)


def _has_webhooks(env) -> bool:
    from envoi import plugins

    return any(channel.webhook_routes() for channel in plugins.load_channels(env))


def _wait_for_port(port: int, serve: RunningServe) -> None:
    deadline = time.monotonic() + GATEWAY_READY_TIMEOUT_S
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"the channel gateway took no connection on {port}:\n{serve.log()}")


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
