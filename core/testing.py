"""pytest fixtures for anything built on envoi: a real PostgreSQL and a real
envoi gRPC server, with the ledger's invariants checked after every test.
Use it from a conftest.py:

    pytest_plugins = ["envoi.core.testing"]      # or "envoi.channels.testing"

The database server is ENVOI_TEST_DATABASE_URL when set, else an embedded
PostgreSQL 16 (pgserver) started for the session. Each session works in a new
database of its own on that server, dropped at the end.

`database_url` and `db` connect as the owner of the tables (tests read and
change SQL directly); the server's pool connects as envoi_server
(`server_database_url`), the gateway's as envoi_gateway
(`gateway_database_url`) and the webhooks worker's as envoi_webhooks
(`webhooks_database_url`), so a missing grant fails a test (docs/operations.md).

Each test module gets its own envoi server; a module changes the server's
settings by overriding the `settings` fixture.

The server is the grpc.aio server `envoi serve` runs (server.start_server),
on an event loop of its own thread. It replaces pytest-grpc's `grpc_server`
fixture, which builds a synchronous grpc.server; pytest-grpc's `grpc_addr`,
`grpc_channel` and `grpc_create_channel` work as before. `grpc_interceptors`
takes grpc.aio.ServerInterceptor objects.
"""

import asyncio
import os
import threading
import uuid
import warnings

import grpc
import psycopg
import pytest

from envoi.client import EnvoiClient, channel_options
from envoi.client import client as envoi_client
from envoi.core import embedded_postgres, schema
from envoi.core.auth import api_tokens
from envoi.core.auth.interceptor import AuthInterceptor
from envoi.core.config import Settings
from envoi.core.ledger.invariants import assert_ledger_invariants
from envoi.core.observability.rpc_metrics import MetricsInterceptor
from envoi.core.ops.harness import create_database, drop_database
from envoi.core.runtime import Runtime, open_pool
from envoi.core.schema import db_roles
from envoi.core.server import load_payment_providers, prepare_database, start_server
from envoi.v1 import identity_pb2

# A valid SIREN (its Luhn check digit matches), for test merchants and associations.
TEST_SIREN = "732829320"
TEST_CODE_KEY = b"test-only key for confirmation codes, 48 bytes.."
# Enables the sandbox payment provider (test cards and IBANs) in the test server.
TEST_PROVIDER_ENV = {"ENVOI_SANDBOX_WEBHOOK_SECRET": "test-only sandbox webhook secret, 44 bytes"}


@pytest.fixture(scope="session")
def postgres_server_url(tmp_path_factory):
    url = os.environ.get("ENVOI_TEST_DATABASE_URL")
    if url:
        yield url
        return
    url, handle = embedded_postgres.start(tmp_path_factory.mktemp("pg") / "pgdata")
    yield url
    del handle


@pytest.fixture(scope="session")
def database_url(postgres_server_url):
    """A new, migrated database for this session."""
    url = create_database(postgres_server_url, "envoi_test")
    schema.migrate(url)
    prepare_database(url, Settings(currencies=("EUR", "USD")))
    yield url
    drop_database(postgres_server_url, url)


@pytest.fixture(scope="session")
def server_database_url(database_url):
    """The session's database as envoi_server, the role `envoi serve` connects as."""
    db_roles.enable_login(database_url)
    return db_roles.role_url(database_url, db_roles.SERVER_ROLE)


@pytest.fixture(scope="session")
def gateway_database_url(database_url):
    """The session's database as envoi_gateway, the channel gateway's role."""
    db_roles.enable_login(database_url)
    return db_roles.role_url(database_url, db_roles.GATEWAY_ROLE)


@pytest.fixture(scope="session")
def webhooks_database_url(database_url):
    """The session's database as envoi_webhooks, the `envoi webhooks` worker's role."""
    db_roles.enable_login(database_url)
    return db_roles.role_url(database_url, db_roles.WEBHOOKS_ROLE)


@pytest.fixture(scope="module")
def gateway_pool(gateway_database_url):
    pool = open_pool(gateway_database_url, 4)
    yield pool
    pool.close()


@pytest.fixture
def db(database_url):
    with psycopg.connect(database_url, autocommit=True) as conn:
        yield conn


@pytest.fixture(autouse=True)
def _ledger_invariants_hold(request):
    """After every test that touched the database: the ledger still balances."""
    yield
    if "database_url" in request.fixturenames:
        assert_ledger_invariants(request.getfixturevalue("database_url"))


def settings_with(database_url: str, **overrides) -> Settings:
    """The test server's settings, with `overrides`: for a module's own
    `settings` fixture."""
    return Settings(
        **{
            "database_url": database_url,
            "code_key": TEST_CODE_KEY,
            "currencies": ("EUR", "USD"),
            **overrides,
        }
    )


@pytest.fixture(scope="module")
def settings(database_url):
    return settings_with(database_url)


@pytest.fixture(scope="module")
def payment_providers():
    """Runtime's providers, loaded through the plugin manager: the sandbox."""
    return load_payment_providers(TEST_PROVIDER_ENV)


@pytest.fixture(scope="module")
def runtime(settings, server_database_url, payment_providers):
    pool = open_pool(server_database_url, 24)
    yield Runtime(settings, pool, settings.code_key, **payment_providers)
    pool.close()


class ServerOnThread:
    """The envoi server on an event loop of its own thread, for synchronous test code."""

    START_TIMEOUT_S = 30.0

    def __init__(self, runtime: Runtime, listen: str, interceptors=None):
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="envoi-test-server", daemon=True
        )
        self._thread.start()
        self.running = self.run(start_server(runtime, listen, interceptors))

    def run(self, coroutine, timeout_s: float = START_TIMEOUT_S):
        """Run a coroutine on the server's loop and return its result."""
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout_s)

    def stream_count(self, account_id: str | None = None) -> int:
        """How many WatchEvents streams are open (subscribed) now: of one account, or all."""

        async def count():
            return self.running.wakeups.stream_count(account_id)

        return self.run(count())

    def stop(self, grace_s: float = 1.0) -> None:
        self.run(self.running.stop(grace_s))
        self.run(self._loop.shutdown_default_executor())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()


@pytest.fixture(scope="module")
def grpc_interceptors(runtime):
    # As `envoi serve` has them: the metrics interceptor outermost.
    return [MetricsInterceptor(), AuthInterceptor(runtime.pool, runtime.settings.token_cache_s)]


# Replaces pytest-grpc's grpc_server, so that its grpc_channel reaches envoi's own server.
@pytest.fixture(scope="module")
def grpc_server(grpc_addr, grpc_interceptors, runtime):
    server = ServerOnThread(runtime, grpc_addr, grpc_interceptors)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def make_token(server_database_url):
    """make_token(role, ...) -> a new bearer token, made as `envoi token create` does."""

    def make(role, **subject):
        with psycopg.connect(server_database_url, autocommit=True) as conn:
            return api_tokens.create_token(conn, role, **subject)[1]

    return make


@pytest.fixture(scope="module")
def client_for(grpc_addr, grpc_server):
    """client_for(token, **options) -> an EnvoiClient over the module's real gRPC
    server. The retry policy lives on the channel: one channel per policy."""
    channels = {}

    def client(token, **options):
        retries = (
            options.get("max_attempts", envoi_client.DEFAULT_MAX_ATTEMPTS),
            options.get("retry_backoff_s", envoi_client.DEFAULT_RETRY_BACKOFF_S),
        )
        if retries not in channels:
            channels[retries] = grpc.insecure_channel(grpc_addr, channel_options(*retries))
        return EnvoiClient(channel=channels[retries], token=token, **options)

    yield client
    for channel in channels.values():
        channel.close()


@pytest.fixture(scope="module")
def admin(client_for, make_token):
    return client_for(make_token("admin"))


@pytest.fixture(scope="module")
def wallet(client_for, make_token):
    return client_for(make_token("wallet"))


@pytest.fixture(scope="module")
def channel(client_for, make_token):
    """Deprecated since 0.1, removed in 1.0: a client of the *twitter* channel
    whatever your channel is. Use channel_client_for("yournet") (envoi.channels.testing)."""
    warnings.warn(
        "the `channel` fixture (a token of the twitter channel) is deprecated and goes "
        'in envoi 1.0: use channel_client_for("<your channel>")',
        DeprecationWarning,
        stacklevel=2,
    )
    return client_for(make_token("channel", channel_name="twitter"))


@pytest.fixture(scope="module")
def open_account(admin):
    """open_account(kind="PERSON", code=..., balance_cents=0, tier=None) -> account id,
    funded by a credit; tier="VERIFIED" lifts the lower limits of new accounts.
    A merchant or an association gets a verified business profile (payments to
    it need one) unless verified=False."""

    def open_(
        kind="PERSON",
        *,
        code="123456",
        balance_cents=0,
        currency_code="EUR",
        name=None,
        tier=None,
        verified=True,
    ):
        account = admin.open_account(
            kind,
            name or f"{kind.title()} {uuid.uuid4().hex[:6]}",
            code,
            currency_code=currency_code,
        )
        if verified and kind in ("MERCHANT", "ASSOCIATION"):
            admin.set_business_profile(account.account_id, account.display_name, TEST_SIREN)
        if tier:
            admin.set_account_tier(account.account_id, tier)
        if balance_cents:
            admin.credit_account(account.account_id, balance_cents, currency_code=currency_code)
        return account.account_id

    return open_


@pytest.fixture(scope="module")
def posted_by(admin):
    """posted_by(account_id, network="twitter") -> a new identity of that network,
    linked to the account: a channel starts payments only from the identity
    that posted (docs/roles.md)."""

    def link(account_id: str, network: str = "twitter") -> identity_pb2.Identity:
        identity = identity_pb2.Identity(
            namespace=network, subject_id=str(uuid.uuid4().int)[:18], handle="poster"
        )
        admin.link_identity(account_id, identity)
        return identity

    return link


@pytest.fixture(scope="module")
def merchant(open_account, make_token, client_for):
    """A merchant account and a client holding that merchant's token, which has
    every scope (it may refund)."""
    account_id = open_account("MERCHANT", code="424242", balance_cents=10_000)
    token = make_token("merchant", merchant_account_id=account_id, scopes=("refunds",))
    return account_id, client_for(token)
