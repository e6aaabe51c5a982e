"""pytest fixtures for anything built on envoi: a real PostgreSQL and a real
envoi gRPC server (pytest-grpc, real-server mode), with the ledger's
invariants checked after every test. Use it from a conftest.py:

    pytest_plugins = ["envoi.core.testing"]      # or "envoi.channels.testing"

The database server is ENVOI_TEST_DATABASE_URL when set, else an embedded
PostgreSQL 16 (pgserver) started for the session. Each session works in a new
database of its own on that server, dropped at the end.

Each test module gets its own envoi server; a module changes the server's
settings by overriding the `settings` fixture.
"""

import os
import uuid

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from envoi.client import EnvoiClient
from envoi.core import api_tokens, embedded_postgres, migrations
from envoi.core.auth_interceptor import AuthInterceptor
from envoi.core.config import Settings
from envoi.core.ledger_invariants import assert_ledger_invariants
from envoi.core.runtime import Runtime, open_pool
from envoi.core.server import add_services, load_payment_providers, prepare_database

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
    name = f"envoi_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = make_conninfo(**{**conninfo_to_dict(postgres_server_url), "dbname": name})
    migrations.migrate(url)
    prepare_database(url, Settings(currencies=("EUR", "USD")))
    yield url
    with psycopg.connect(postgres_server_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


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


@pytest.fixture(scope="module")
def settings(database_url):
    return Settings(database_url=database_url, code_key=TEST_CODE_KEY, currencies=("EUR", "USD"))


@pytest.fixture(scope="module")
def payment_providers():
    """Runtime's providers, loaded through the plugin manager: the sandbox."""
    return load_payment_providers(TEST_PROVIDER_ENV)


@pytest.fixture(scope="module")
def runtime(settings, database_url, payment_providers):
    pool = open_pool(database_url, 24)
    yield Runtime(settings, pool, settings.code_key, **payment_providers)
    pool.close()


# pytest-grpc: the servicer handed to grpc_add_to_server is our Runtime.
@pytest.fixture(scope="module")
def grpc_servicer(runtime):
    return runtime


@pytest.fixture(scope="module")
def grpc_add_to_server():
    return lambda runtime, server: add_services(server, runtime)


@pytest.fixture(scope="module")
def grpc_interceptors(runtime):
    return [AuthInterceptor(runtime.pool)]


@pytest.fixture(scope="module")
def make_token(database_url):
    """make_token(role, ...) -> a new bearer token."""

    def make(role, **subject):
        with psycopg.connect(database_url, autocommit=True) as conn:
            return api_tokens.create_token(conn, role, **subject)[1]

    return make


@pytest.fixture(scope="module")
def client_for(grpc_channel):
    """client_for(token) -> an EnvoiClient over the module's real gRPC server."""
    return lambda token, **options: EnvoiClient(channel=grpc_channel, token=token, **options)


@pytest.fixture(scope="module")
def admin(client_for, make_token):
    return client_for(make_token("admin"))


@pytest.fixture(scope="module")
def wallet(client_for, make_token):
    return client_for(make_token("wallet"))


@pytest.fixture(scope="module")
def channel(client_for, make_token):
    return client_for(make_token("channel", channel_name="twitter"))


@pytest.fixture(scope="module")
def open_account(admin):
    """open_account(kind="PERSON", code=..., balance_cents=0) -> account id, funded by a credit."""

    def open_(kind="PERSON", *, code="123456", balance_cents=0, currency_code="EUR", name=None):
        account = admin.open_account(
            kind,
            name or f"{kind.title()} {uuid.uuid4().hex[:6]}",
            code,
            currency_code=currency_code,
        )
        if balance_cents:
            admin.credit_account(account.account_id, balance_cents, currency_code=currency_code)
        return account.account_id

    return open_


@pytest.fixture(scope="module")
def merchant(open_account, make_token, client_for):
    """A merchant account and a client holding that merchant's token."""
    account_id = open_account("MERCHANT", code="424242", balance_cents=10_000)
    return account_id, client_for(make_token("merchant", merchant_account_id=account_id))
