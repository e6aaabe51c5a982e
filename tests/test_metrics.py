"""The real `envoi serve`, its webhooks worker and its gateway export
Prometheus metrics: each is scraped over HTTP before and after real RPCs or
deliveries, on a database of its own so that the database's gauges are exact."""

import psycopg
import pytest
from envoi_channel_messenger.channel import WEBHOOK_PATH
from envoi_channel_messenger.send_api_emulator import SendApiEmulator
from metrics_scrape import names, scrape, value
from server_process import ServerProcess, free_port, run_envoi, serve_env, wait_for

from envoi.client import EnvoiClient, errors
from envoi.core import startup
from envoi.core.auth import api_tokens
from envoi.core.config import ConfigError
from envoi.core.observability import metrics_server
from envoi.core.ops.harness import create_database, drop_database

CODE, WRONG_CODE = "739164", "048213"
INITIATE = "/envoi.v1.TransferService/InitiateTransfer"
CONFIRM = "/envoi.v1.TransferService/ConfirmTransfer"
OPEN_ACCOUNT = "/envoi.v1.AccountService/OpenAccount"


@pytest.fixture
def owner_url(postgres_server_url):
    url = create_database(postgres_server_url, "metrics")
    startup.migrate(url)  # the roles, before their URLs are made
    yield url
    drop_database(postgres_server_url, url)


@pytest.fixture
def served(owner_url, tmp_path):
    """A SERVING `envoi serve` with its webhooks worker, each with a metrics port."""
    listen = {
        name: f"127.0.0.1:{free_port()}"
        for name in ("ENVOI_METRICS_LISTEN", "ENVOI_WEBHOOKS_METRICS_LISTEN")
    }
    env = serve_env(owner_url, tmp_path / "data", **listen, ENVOI_METRICS_DATABASE_INTERVAL_S="0")
    server = ServerProcess(env, ["--no-gateway"], tmp_path / "serve.log")
    try:
        server.wait_until_serving()
        yield server, listen
    finally:
        server.kill()


def test_serve_counts_rpcs_by_method_and_code_and_reads_the_ledger(served, owner_url):
    server, listen = served
    before = scrape(listen["ENVOI_METRICS_LISTEN"])
    with psycopg.connect(owner_url, autocommit=True) as conn:
        tokens = {role: api_tokens.create_token(conn, role)[1] for role in ("admin", "wallet")}
    with (
        EnvoiClient(server.target, tokens["admin"]) as admin,
        EnvoiClient(server.target, tokens["wallet"]) as wallet,
    ):
        alice = wallet.open_account("PERSON", "Alice", CODE).account_id
        bob = wallet.open_account("PERSON", "Bob", CODE).account_id
        admin.credit_account(alice, 5_000)
        with pytest.raises(errors.PermissionDenied):  # refused by auth: counted all the same
            admin.initiate_transfer(alice, bob, 1_200)
        transfer = wallet.initiate_transfer(alice, bob, 1_200)
        with pytest.raises(errors.EnvoiError) as wrong:
            wallet.confirm_transfer(transfer.transfer_id, WRONG_CODE)
        wallet.confirm_transfer(transfer.transfer_id, CODE)
    after = scrape(listen["ENVOI_METRICS_LISTEN"])

    def grew(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("envoi_rpcs_total", method=INITIATE, code="OK") == 1
    assert grew("envoi_rpcs_total", method=INITIATE, code="PERMISSION_DENIED") == 1
    assert grew("envoi_rpcs_total", method=CONFIRM, code="OK") == 1
    assert grew("envoi_rpcs_total", method=CONFIRM, code=wrong.value.code.name) == 1
    assert grew("envoi_rpc_duration_seconds_count", method=CONFIRM) == 2
    assert value(after, "envoi_rpc_duration_seconds_bucket", method=INITIATE, le="+Inf") >= 1
    # The ledger as it is now: the credit (a funding) and the payment, both done.
    assert value(after, "envoi_transfers", kind="FUNDING", state="COMPLETED") == 1
    assert value(after, "envoi_transfers", kind="PAYMENT", state="COMPLETED") == 1
    assert value(after, "envoi_metrics_database_up") == 1
    # The pools' use is sampled every second; maintenance sweeps every second.
    wait_for(
        lambda: (
            value(
                scrape(listen["ENVOI_METRICS_LISTEN"]),
                "envoi_db_pool_connections",
                pool="services",
                state="max",
            )
            == 2
        ),
        "the pool gauges",
    )
    wait_for(
        lambda: (
            value(
                scrape(listen["ENVOI_METRICS_LISTEN"]),
                "envoi_maintenance_sweeps_total",
                outcome="ok",
            )
            > value(after, "envoi_maintenance_sweeps_total", outcome="ok")
        ),
        "a maintenance sweep",
    )


def test_the_webhooks_worker_exports_its_backlog_and_the_outbox_lag(served):
    _, listen = served
    samples = wait_for(
        lambda: _scraped_if_up(listen["ENVOI_WEBHOOKS_METRICS_LISTEN"]), "the webhooks metrics"
    )
    assert {
        "envoi_webhook_deliveries_pending",
        "envoi_webhook_oldest_pending_seconds",
        "envoi_outbox_lag_events",
        "envoi_outbox_lag_seconds",
    } <= names(samples)
    assert value(samples, "envoi_metrics_database_up") == 1
    assert "envoi_rpcs_total" not in names(samples)  # the worker serves no RPC


def _scraped_if_up(listen: str):
    try:
        return scrape(listen)
    except OSError:  # the worker is still starting
        return None


def test_several_workers_export_their_sum_on_one_address(owner_url, tmp_path):
    listen = f"127.0.0.1:{free_port()}"
    env = serve_env(owner_url, tmp_path / "data", ENVOI_METRICS_LISTEN=listen, ENVOI_WORKERS="2")
    server = ServerProcess(env, ["--no-gateway", "--no-webhooks"], tmp_path / "serve.log")
    try:
        server.wait_until_serving()
        with psycopg.connect(owner_url, autocommit=True) as conn:
            _, token = api_tokens.create_token(conn, "wallet")
        calls = 20  # new connections each: the kernel spreads them over both workers
        for _ in range(calls):
            with EnvoiClient(server.target, token) as wallet:
                wallet.open_account("PERSON", "Alice", CODE)
        samples = scrape(listen)
        opened = value(samples, "envoi_rpcs_total", method=OPEN_ACCOUNT, code="OK")
        assert opened == calls
        # Each worker's pool is counted once: 2 workers x 2 connections at most.
        wait_for(
            lambda: (
                value(scrape(listen), "envoi_db_pool_connections", pool="services", state="max")
                == 4
            ),
            "both workers' pool gauges",
        )
    finally:
        server.kill()


def test_the_gateway_exports_the_channel_messages_it_has_not_sent(envoi_serve):
    listen = f"127.0.0.1:{free_port()}"
    with SendApiEmulator(page_id="1001") as meta:
        serve = envoi_serve(
            {
                **meta.env(),
                "ENVOI_CHANNELS": "messenger",
                "ENVOI_GATEWAY_METRICS_LISTEN": listen,
                "ENVOI_METRICS_DATABASE_INTERVAL_S": "0",
            }
        )
        before = wait_for(lambda: _scraped_if_up(listen), "the gateway's metrics")
        meta.fail_next(613, 429)  # rate limited: the reply waits for a later round
        event = meta.user_message("5000000002", "envoyer 10€ @alice")  # nobody linked
        assert meta.deliver(serve.gateway_url + WEBHOOK_PATH, meta.webhook_payload(event))[0] == 200
        unsent = wait_for(
            lambda: value(scrape(listen), "envoi_channel_messages_unsent", channel="messenger"),
            "the refusal's reply, unsent",
        )
    assert value(before, "envoi_channel_messages_unsent", channel="messenger") == 0
    assert unsent == 1
    assert value(before, "envoi_metrics_database_up") == 1


def test_a_bad_setting_stops_serve_before_it_starts_naming_the_setting(tmp_path):
    done = run_envoi("serve", timeout_s=60, ENVOI_LOG_FORMAT="yaml", ENVOI_DATA_DIR=str(tmp_path))
    assert done.returncode == 1
    assert done.stderr.strip() == "envoi: ENVOI_LOG_FORMAT must be text or json"


@pytest.mark.parametrize(
    "listen, address",
    [
        ("localhost:9464", ("localhost", 9464)),
        ("[::1]:9464", ("::1", 9464)),
        (":9464", ("0.0.0.0", 9464)),
    ],
)
def test_a_metrics_address_is_host_and_port(listen, address):
    assert metrics_server.parse_listen(listen) == address


@pytest.mark.parametrize("listen", ["localhost", "localhost:", "localhost:http", "host:70000"])
def test_a_metrics_address_without_a_port_is_refused(listen):
    with pytest.raises(ConfigError, match="expected host:port"):
        metrics_server.parse_listen(listen)


def test_each_process_has_its_own_default_address_and_empty_turns_it_off():
    defaults = {
        name: metrics_server.listen_address(name, {}) for name in metrics_server.DEFAULT_LISTEN
    }
    assert len(set(defaults.values())) == 3  # serve and its children never collide
    assert defaults["ENVOI_METRICS_LISTEN"] == "localhost:9464"
    assert metrics_server.listen_address("ENVOI_METRICS_LISTEN", {"ENVOI_METRICS_LISTEN": ""}) == ""
