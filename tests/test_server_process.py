"""The real `envoi serve` process: start-up on the embedded or a given database,
health and reflection, the CLI against it, SIGTERM with an RPC in flight,
several workers on one port, and the refusal to start without a code key.

Each test runs the installed `envoi` command as a subprocess on a free port with
its own ENVOI_DATA_DIR, and waits for the gRPC health service to say SERVING.
"""

import json
import signal
import socket
import stat
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc
import psutil
import psycopg
import pytest
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from server_process import (
    ENVOI,
    NOT_SERVING,
    SHUTDOWN_GRACE_S,
    ServerProcess,
    database_env,
    envoi_env,
    free_port,
    health_status,
    run_envoi,
    wait_for,
)

from envoi.client import EnvoiClient, errors
from envoi.core.schema import db_roles
from envoi.core.testing import TEST_CODE_KEY
from envoi.v1 import identity_pb2, transfer_pb2


def reflected_services(target: str) -> set[str]:
    with grpc.insecure_channel(target) as channel:
        stub = reflection_pb2_grpc.ServerReflectionStub(channel)
        request = reflection_pb2.ServerReflectionRequest(list_services="")
        return {
            service.name
            for response in stub.ServerReflectionInfo(iter([request]), timeout=5)
            for service in response.list_services_response.service
        }


def envoi_cli(env: dict, *args) -> dict:
    """Run `envoi ARGS`; it must succeed; return the JSON it printed."""
    done = subprocess.run([str(ENVOI), *args], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, f"envoi {args[:2]} failed ({done.returncode}): {done.stderr}"
    return json.loads(done.stdout)


def stop_embedded_postgres(pgdata: Path):
    """A killed server leaves its embedded PostgreSQL running: stop the one of pgdata."""
    for proc in psutil.process_iter(["name", "cmdline"]):
        if proc.info["name"] == "postgres" and str(pgdata) in (proc.info["cmdline"] or []):
            proc.send_signal(signal.SIGINT)  # PostgreSQL's fast shutdown
            try:
                proc.wait(10)
            except psutil.TimeoutExpired:
                proc.kill()


@pytest.fixture
def start_server(tmp_path):
    """start_server(env, *args) -> a SERVING ServerProcess; all are stopped at teardown."""
    started = []

    def start(env, *args):
        server = ServerProcess(env, args, tmp_path / f"serve-{len(started)}.log")
        started.append((server, env))
        server.wait_until_serving()
        return server

    yield start
    for server, _ in started:
        server.kill()
    # Only once every server is down: a live one still uses its embedded database.
    for pgdata in {
        Path(env["ENVOI_DATA_DIR"]) / "pgdata"
        for _, env in started
        if not env.get("ENVOI_DATABASE_URL")
    }:
        stop_embedded_postgres(pgdata)


@pytest.fixture
def external_db_env(database_url, tmp_path):
    """Settings for a server on the test database, as conftest's servers use it."""
    return envoi_env(
        **database_env(database_url),
        ENVOI_CODE_KEY=TEST_CODE_KEY.decode(),
        ENVOI_CURRENCIES="EUR,USD",
        ENVOI_DATA_DIR=str(tmp_path / "data"),
        ENVOI_SHUTDOWN_GRACE_S=str(SHUTDOWN_GRACE_S),
        ENVOI_DB_POOL_SIZE="4",
    )


def cents(money: dict) -> int:
    return int(money.get("amount_cents", 0))  # int64 is a string in proto JSON


def cli_as(env: dict, target: str, token: dict):
    """`envoi ARGS --target TARGET --token TOKEN`: run it, return its JSON."""

    def run(*args) -> dict:
        return envoi_cli(env, *args, "--target", target, "--token", token["token"])

    return run


def cli_balance(as_wallet, account_id: str) -> tuple[int, int]:
    """(balance, held) in cents, as the CLI reads them."""
    answer = as_wallet("account", "balance", account_id)
    return cents(answer["balance"]), cents(answer["held"])


def pay_with_the_cli(as_admin, as_wallet) -> tuple[str, str]:
    """Open Alice and Bob, credit Alice 5000 and pay Bob 1200: (alice, bob)."""
    alice = as_wallet("account", "open", "--name", "Alice", "--code", "123456")["account_id"]
    bob = as_wallet("account", "open", "--name", "Bob", "--code", "654321")["account_id"]
    credit = as_admin("account", "credit", alice, "--amount-cents", "5000")
    assert cents(credit["balance"]["balance"]) == 5000
    sent = as_wallet(
        "transfer",
        "send",
        "--from",
        alice,
        "--to",
        bob,
        "--amount-cents",
        "1200",
        "--memo",
        "pizza",
    )
    assert sent["state"] == "TRANSFER_STATE_PENDING_CONFIRMATION"
    assert cli_balance(as_wallet, alice) == (5000, 1200)
    confirmed = as_wallet("transfer", "confirm", sent["transfer_id"], "--code", "123456")
    assert confirmed["state"] == "TRANSFER_STATE_COMPLETED"
    assert (cli_balance(as_wallet, alice), cli_balance(as_wallet, bob)) == ((3800, 0), (1200, 0))
    history = as_wallet("transfer", "list", alice)["transfers"]
    assert [t["transfer_id"] for t in history] == [
        sent["transfer_id"],
        credit["transfer"]["transfer_id"],
    ]
    return alice, bob


def check_a_ledger_token_posts_batches_only(env, target, as_admin, as_wallet, alice, bob):
    """An internal service's token posts batches of transfers, and only that,
    from one of envoi's settlement accounts (never from a person's); the admin
    grants and revokes a merchant's debit mandate on the way."""
    bank = as_admin(
        "account", "open", "--kind", "SETTLEMENT", "--name", "Bank", "--code", "111111"
    )["account_id"]
    as_admin("account", "credit", bank, "--amount-cents", "1000")
    shop = as_admin("account", "open", "--kind", "MERCHANT", "--name", "Shop", "--code", "222222")
    granted = as_admin(
        "account", "debit-mandate", shop["account_id"], "--grant", "--reason", "RUM-1"
    )
    assert granted["debit_mandate"]["reason"] == "RUM-1"
    revoked = as_admin(
        "account", "debit-mandate", shop["account_id"], "--revoke", "--reason", "end"
    )
    assert "debit_mandate" not in revoked
    ledger = envoi_cli(env, "token", "create", "--role", "ledger")
    assert ledger["role"] == "ledger"
    with EnvoiClient(target, ledger["token"]) as service:
        batch = [{"from_account_id": bank, "to_account_id": bob, "amount_cents": 500}] * 2
        results = service.create_transfers(batch, mode="ALL_OR_NOTHING").results
        assert len(results) == 2 and results[0].transfer_id != results[1].transfer_id
        with pytest.raises(errors.PermissionDenied):
            service.get_balance(alice)
    assert (cli_balance(as_wallet, alice), cli_balance(as_wallet, bob)) == ((3500, 0), (2500, 0))


def test_embedded_database_serves_the_cli_and_keeps_data_and_code_key_across_restarts(
    start_server, tmp_path
):
    data_dir = tmp_path / "data"
    env = envoi_env(ENVOI_DATA_DIR=str(data_dir))
    server = start_server(env)
    assert {"envoi.v1.AccountService", "envoi.v1.TransferService"} <= reflected_services(
        server.target
    )

    admin = envoi_cli(env, "token", "create", "--role", "admin")
    wallet = envoi_cli(env, "token", "create", "--role", "wallet")
    assert (admin["role"], wallet["role"]) == ("admin", "wallet")
    alice, bob = pay_with_the_cli(
        cli_as(env, server.target, admin), cli_as(env, server.target, wallet)
    )

    key_file = data_dir / "code.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key = key_file.read_bytes()
    assert server.terminate() == 0, server.log()

    # Same data dir: the ledger, the tokens and the code key are all still there.
    server = start_server(env)
    as_admin, as_wallet = cli_as(env, server.target, admin), cli_as(env, server.target, wallet)
    assert (cli_balance(as_wallet, alice), cli_balance(as_wallet, bob)) == ((3800, 0), (1200, 0))
    assert key_file.read_bytes() == key
    # The code set before the restart still matches only if the same key is used.
    again = as_wallet("transfer", "send", "--from", alice, "--to", bob, "--amount-cents", "300")
    confirmed = as_wallet("transfer", "confirm", again["transfer_id"], "--code", "123456")
    assert confirmed["state"] == "TRANSFER_STATE_COMPLETED"
    assert (cli_balance(as_wallet, alice), cli_balance(as_wallet, bob)) == ((3500, 0), (1500, 0))

    check_a_ledger_token_posts_batches_only(env, server.target, as_admin, as_wallet, alice, bob)
    assert server.terminate() == 0, server.log()


def test_sigterm_stops_taking_calls_but_finishes_the_one_in_flight(
    start_server, external_db_env, database_url, make_token, db, request
):
    server = start_server(external_db_env)
    admin = EnvoiClient(server.target, make_token("admin"))
    # One attempt: a retry must not hide an in-flight call that the shutdown cut.
    wallet = EnvoiClient(server.target, make_token("wallet"), max_attempts=1, timeout_s=30)
    request.addfinalizer(admin.close)
    request.addfinalizer(wallet.close)
    alice = admin.open_account("PERSON", "Alice", "123456").account_id
    bob = admin.open_account("PERSON", "Bob", "654321").account_id
    admin.credit_account(alice, 1_000)

    outcome = {}

    def initiate():
        try:
            outcome["transfer"] = wallet.initiate_transfer(alice, bob, 400)
        except Exception as error:  # reported by the assertions below
            outcome["error"] = error

    with psycopg.connect(database_url) as lock_conn:
        # The server's InitiateTransfer locks the sender's row: hold it first.
        lock_conn.execute("SELECT 1 FROM accounts WHERE account_id = %s FOR UPDATE", (alice,))
        caller = threading.Thread(target=initiate)
        try:
            caller.start()
            wait_for(
                lambda: db.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE %s = ANY(pg_blocking_pids(pid))",
                    (lock_conn.info.backend_pid,),
                ).fetchone()[0],
                "InitiateTransfer to block",
            )

            server.process.send_signal(signal.SIGTERM)
            wait_for(
                lambda: health_status(server.target) in (NOT_SERVING, None),
                "health to turn NOT_SERVING or refuse calls",
                timeout_s=10,
            )
            assert caller.is_alive() and not outcome, outcome
        finally:
            lock_conn.rollback()
        caller.join(timeout=SHUTDOWN_GRACE_S)

    assert "error" not in outcome, outcome["error"]
    transfer = outcome["transfer"]
    assert transfer.state == transfer_pb2.TRANSFER_STATE_PENDING_CONFIRMATION
    assert transfer.amount.amount_cents == 400
    assert server.process.wait(timeout=SHUTDOWN_GRACE_S) == 0, server.log()
    assert (
        db.execute("SELECT held_cents FROM accounts WHERE account_id = %s", (alice,)).fetchone()[0]
        == 400
    )


def worker_processes(server: ServerProcess) -> list[psutil.Process]:
    return [
        child
        for child in psutil.Process(server.process.pid).children()
        if "--multiprocessing-fork" in child.cmdline()
    ]


def wait_for_workers(server: ServerProcess, count: int = 2) -> list[psutil.Process]:
    def found():
        workers = worker_processes(server)
        return workers if len(workers) == count else None

    return wait_for(found, f"{count} worker processes")


def connections_on(proc: psutil.Process, port: int, status: str) -> int:
    return sum(
        1
        for c in proc.net_connections(kind="tcp")
        if c.laddr and c.laddr.port == port and c.status == status
    )


def test_two_workers_share_the_port_and_stop_together(start_server, external_db_env, make_token):
    server = start_server(external_db_env, "--workers", "2")
    workers = wait_for_workers(server)
    # Both bind the port (SO_REUSEPORT); wait until the second one listens too.
    wait_for(
        lambda: all(connections_on(w, server.port, psutil.CONN_LISTEN) for w in workers),
        "both workers to listen",
    )

    admin_token, wallet_token = make_token("admin"), make_token("wallet")
    # Each client gets a connection of its own, so the kernel spreads them over the workers.
    channels = [
        grpc.insecure_channel(server.target, options=[("grpc.use_local_subchannel_pool", 1)])
        for _ in range(24)
    ]

    def open_fund_and_read(channel):
        admin = EnvoiClient(channel=channel, token=admin_token)
        wallet = EnvoiClient(channel=channel, token=wallet_token)
        account_id = wallet.open_account("PERSON", "Worker test", "123456").account_id
        admin.credit_account(account_id, 700)
        return wallet.get_balance(account_id).balance.amount_cents

    try:
        with ThreadPoolExecutor(8) as pool:
            assert list(pool.map(open_fund_and_read, channels)) == [700] * len(channels)
        served = [connections_on(w, server.port, psutil.CONN_ESTABLISHED) for w in workers]
        assert all(served), f"connections per worker: {served}"
    finally:
        for channel in channels:
            channel.close()

    assert server.terminate() == 0, server.log()
    _, alive = psutil.wait_procs(workers, timeout=10)
    assert not alive


def test_a_database_url_without_a_code_key_refuses_to_start(tmp_path):
    password = "db-password-that-must-not-be-printed"
    env = envoi_env(
        ENVOI_DATABASE_URL=f"postgresql://envoi:{password}@127.0.0.1:9/envoi",
        ENVOI_DATA_DIR=str(tmp_path / "data"),
    )
    done = subprocess.run(
        [str(ENVOI), "serve", "--listen", f"127.0.0.1:{free_port()}"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "ENVOI_CODE_KEY" in done.stderr
    assert "Traceback" not in done.stderr
    assert password not in done.stdout + done.stderr
    assert not (tmp_path / "data" / "code.key").exists()


@pytest.mark.parametrize("role", ["owner", "superuser"])
def test_serve_refuses_a_role_that_could_change_the_ledgers_rules(
    external_db_env, database_url, db, role
):
    """As the tables' owner or a superuser, serve could disable the ledger's
    triggers: it refuses to start, naming the setting and the doc."""
    url = database_url  # the tests' owner is a superuser
    if role == "owner":
        name = "envoi_test_owner"
        db.execute(
            "DO $$ BEGIN CREATE ROLE envoi_test_owner LOGIN;"
            " EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$"
        )
        db.execute("CREATE TABLE envoi_test_owned (x int)")
        db.execute(f"ALTER TABLE envoi_test_owned OWNER TO {name}")
        url = db_roles.role_url(database_url, name)
    try:
        done = run_envoi(
            "serve",
            "--listen",
            f"127.0.0.1:{free_port()}",
            timeout_s=60,
            **{**external_db_env, "ENVOI_DATABASE_URL": url},
        )
    finally:
        if role == "owner":
            db.execute("DROP TABLE envoi_test_owned")
    assert done.returncode != 0
    assert "ENVOI_DATABASE_URL connects as" in done.stderr
    assert "docs/operations.md" in done.stderr and "Traceback" not in done.stderr


def test_serve_without_the_owners_url_needs_a_current_schema(
    external_db_env, postgres_server_url, tmp_path
):
    name = f"envoi_test_empty_{tmp_path.name[-8:].lower()}"
    with psycopg.connect(postgres_server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        empty = db_roles.role_url(postgres_server_url, db_roles.SERVER_ROLE)
        empty = psycopg.conninfo.make_conninfo(empty, dbname=name)
        env = {**external_db_env, "ENVOI_DATABASE_URL": empty}
        del env["ENVOI_MIGRATION_DATABASE_URL"]
        done = run_envoi("serve", "--listen", f"127.0.0.1:{free_port()}", timeout_s=60, **env)
    finally:
        with psycopg.connect(postgres_server_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    assert done.returncode != 0
    assert "envoi migrate" in done.stderr and "Traceback" not in done.stderr


def test_a_crashed_worker_stops_the_server_with_a_failure_code(start_server, external_db_env):
    server = start_server(external_db_env, "--workers", "2")
    crashed, survivor = wait_for_workers(server)
    crashed.kill()
    # The parent notices, stops the other worker and says it failed, so that a
    # supervisor restarts it instead of taking the exit for a requested stop.
    assert server.process.wait(timeout=SHUTDOWN_GRACE_S + 10) != 0, server.log()
    _, alive = psutil.wait_procs([survivor], timeout=10)
    assert not alive


def test_serve_runs_the_channel_gateway_with_the_twitter_channel(
    start_server, external_db_env, make_token, db
):
    # Full stack: `envoi serve` loads the twitter plugin from its entry point,
    # mints its channel token, serves the webhook, and replies through tweepy.
    from envoi.channels.twitter.x_api_emulator import XApiEmulator

    with XApiEmulator() as x:
        bot, alice, bob = x.add_user("SmoneyFR"), x.add_user("alice_fs"), x.add_user("bob_fs")
        credentials = x.oauth1_credentials(bot)
        gateway_port = free_port()
        env = {
            **external_db_env,
            **twitter_emulator_env(x.base_url, bot, credentials),
            "ENVOI_GATEWAY_LISTEN": f"127.0.0.1:{gateway_port}",
        }
        tokens_before = live_channel_tokens(db)
        server = start_server(env)
        gateway = gateway_process_of(server)
        wallet_token, admin_token = make_token("wallet"), make_token("admin")
        wallet = EnvoiClient(server.target, wallet_token)
        admin = EnvoiClient(server.target, admin_token)
        alice_account = open_linked_account(wallet, alice)
        admin.credit_account(alice_account, 2_000)
        open_linked_account(wallet, bob)

        post = x.post(alice, "@SmoneyFR #envoyer 5€ @bob_fs")
        webhook = f"http://127.0.0.1:{gateway_port}/twitter/webhook"
        wait_for(lambda: port_open(gateway_port), "the gateway's webhooks")
        status, _ = x.deliver_webhook(
            webhook, x.account_activity_payload(post, bot), x.consumer_secret
        )
        assert status == 200
        wait_for(lambda: x.replies_to(post), "the gateway's reply to the post", 15)
        assert "confirm" in x.replies_to(post)[0]["text"]
        forged = x.post(alice, "@SmoneyFR #envoyer 1€ @bob_fs")
        payload = x.account_activity_payload(forged, bot)
        assert x.deliver_webhook(webhook, payload, "not the consumer secret")[0] == 401
        # The gateway answered from its own process, which holds none of the core's
        # secrets: its database URL is the envoi_gateway role's, its token the one
        # serve minted for it.
        assert gateway.pid != server.process.pid and gateway.is_running()
        gateway_env = gateway.environ()
        for name in ("ENVOI_DATABASE_URL", "ENVOI_MIGRATION_DATABASE_URL", "ENVOI_CODE_KEY"):
            assert name not in gateway_env
        assert "envoi_gateway" in gateway_env["ENVOI_GATEWAY_DATABASE_URL"]
        assert gateway_env["ENVOI_CHANNEL_TOKEN_TWITTER"]
        assert server.terminate() == 0
        assert not gateway.is_running()
        # Nothing secret in the server's own log (it logs at INFO), errors included.
        log = server.log()
        assert "serving gRPC" in log, "the server's log was not captured"
        for name, secret in {
            "X consumer secret": x.consumer_secret,
            "X access token": credentials["access_token"],
            "X access token secret": credentials["access_token_secret"],
            "wallet token": wallet_token,
            "admin token": admin_token,
        }.items():
            assert secret not in log, f"the {name} is in the server's log"
        # The channel token the gateway made for its run dies with it.
        assert live_channel_tokens(db) == tokens_before


def twitter_emulator_env(base_url: str, bot: dict, credentials: dict) -> dict:
    """The Twitter channel's settings for the bot on the X API emulator."""
    return {
        "ENVOI_TWITTER_API_BASE_URL": base_url,
        "ENVOI_TWITTER_BOT_USER_ID": bot["id"],
        "ENVOI_TWITTER_POLL_INTERVAL_S": "0",
        **{f"ENVOI_TWITTER_{key.upper()}": value for key, value in credentials.items()},
    }


def open_linked_account(wallet: EnvoiClient, user: dict) -> str:
    """A person's account linked to the emulator user's Twitter identity: its id."""
    account = wallet.open_account("PERSON", user["username"], "123456")
    wallet.link_identity(
        account.account_id,
        identity_pb2.Identity(namespace="twitter", subject_id=user["id"], handle=user["username"]),
    )
    return account.account_id


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def gateway_process_of(server: ServerProcess) -> psutil.Process:
    """The `envoi gateway` child of an `envoi serve`."""
    return child_process_of(server, "gateway")


def child_process_of(server: ServerProcess, command: str) -> psutil.Process:
    """The `envoi COMMAND` child of an `envoi serve`."""

    def found():
        for child in psutil.Process(server.process.pid).children():
            if command in child.cmdline():
                return child
        return None

    return wait_for(found, f"the {command} process")


TWITTER_TEST_ENV = {
    "ENVOI_CHANNELS": "twitter",
    "ENVOI_TWITTER_API_BASE_URL": "http://127.0.0.1:9",
    "ENVOI_TWITTER_BOT_USER_ID": "1",
    **{
        f"ENVOI_TWITTER_{key}": "test-only"
        for key in ("CONSUMER_KEY", "CONSUMER_SECRET", "ACCESS_TOKEN", "ACCESS_TOKEN_SECRET")
    },
}


def test_envoi_gateway_alone_needs_its_token_and_its_own_role(gateway_database_url):
    """It cannot make a token (nor read the ledger): each channel's comes from outside."""
    done = run_envoi("gateway", timeout_s=60, **TWITTER_TEST_ENV)
    assert done.returncode != 0 and "ENVOI_GATEWAY_DATABASE_URL" in done.stderr
    done = run_envoi(
        "gateway", timeout_s=60, ENVOI_GATEWAY_DATABASE_URL=gateway_database_url, **TWITTER_TEST_ENV
    )
    assert done.returncode != 0 and "ENVOI_CHANNEL_TOKEN_TWITTER" in done.stderr
    assert "Traceback" not in done.stderr


def test_the_gateways_code_does_not_load_the_token_module():
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from envoi.core import cli; cli.build_parser();"
            " import envoi.channels.gateway, envoi.channels.gateway_store, envoi.plugins;"
            " print('envoi.core.auth.api_tokens' in sys.modules)",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.stdout.strip() == "False", done.stderr


def test_serve_stops_with_a_failure_code_when_its_gateway_dies(start_server, external_db_env, db):
    # A dead gateway takes serve down (exit 1), so that a supervisor restarts the pair.
    env = {
        **external_db_env,
        **TWITTER_TEST_ENV,
        "ENVOI_GATEWAY_LISTEN": f"127.0.0.1:{free_port()}",
    }
    tokens_before = live_channel_tokens(db)
    server = start_server(env)
    gateway_process_of(server).kill()
    assert server.process.wait(timeout=SHUTDOWN_GRACE_S + 10) != 0, server.log()
    assert "channel gateway exited" in server.log()
    assert live_channel_tokens(db) == tokens_before


def test_serve_runs_the_webhooks_worker_without_the_cores_secrets(
    start_server, external_db_env, webhooks_database_url
):
    server = start_server({**external_db_env, "ENVOI_WEBHOOKS_DATABASE_URL": webhooks_database_url})
    worker = child_process_of(server, "webhooks")
    worker_env = worker.environ()
    for name in ("ENVOI_DATABASE_URL", "ENVOI_MIGRATION_DATABASE_URL", "ENVOI_CODE_KEY"):
        assert name not in worker_env
    assert "envoi_webhooks" in worker_env["ENVOI_WEBHOOKS_DATABASE_URL"]
    # A dead worker takes serve down (exit 1), as the gateway does.
    worker.kill()
    assert server.process.wait(timeout=SHUTDOWN_GRACE_S + 10) != 0, server.log()
    assert "webhooks worker exited" in server.log()


def test_serve_without_the_workers_url_runs_no_worker(start_server, external_db_env):
    server = start_server(external_db_env)
    assert "webhooks: not started" in server.log()
    assert all(
        "webhooks" not in child.cmdline() for child in psutil.Process(server.process.pid).children()
    )


def live_channel_tokens(db) -> int:
    return db.execute(
        "SELECT count(*) FROM api_tokens WHERE role = 'channel' AND revoke_time IS NULL"
    ).fetchone()[0]


def test_two_servers_share_one_database_and_its_events(start_server, external_db_env, make_token):
    # Two `envoi serve` processes, as behind a load balancer: a payment started
    # on one is confirmed on the other, a retry sent to the other server gets
    # the first answer, and a stream on one sees what the other committed.
    from envoi.v1 import event_pb2

    first, second = start_server(external_db_env), start_server(external_db_env)
    token = make_token("wallet")
    on_first, on_second = EnvoiClient(first.target, token), EnvoiClient(second.target, token)
    admin = EnvoiClient(second.target, make_token("admin"))
    alice = on_first.open_account("PERSON", "Alice", "123456").account_id
    bob = on_second.open_account("PERSON", "Bob", "123456").account_id
    admin.credit_account(alice, 1_000)
    with on_first.watch_events(bob, timeout_s=20) as stream:
        events = iter(stream)
        transfer = on_first.initiate_transfer(alice, bob, 300, request_id="two-servers-1")
        assert (
            on_second.initiate_transfer(alice, bob, 300, request_id="two-servers-1").transfer_id
            == transfer.transfer_id
        )  # the retry, elsewhere: the same answer
        on_second.confirm_transfer(transfer.transfer_id, "123456")
        seen = [next(events).type for _ in range(2)]
    assert seen == [
        event_pb2.EVENT_TYPE_CONFIRMATION_REQUIRED,
        event_pb2.EVENT_TYPE_TRANSFER_COMPLETED,
    ]
    assert on_first.get_balance(bob).balance.amount_cents == 300
    assert on_second.get_balance(alice).balance.amount_cents == 700
