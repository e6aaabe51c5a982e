"""Secrets never reach a log line or an error: every logger at DEBUG is captured
(as text, and as the JSON lines of ENVOI_LOG_FORMAT=json) while tokens,
confirmation codes, the code key and a provider's webhook secret are used,
right and wrong, and the log and every error seen are searched; the real
`envoi serve` and its webhooks worker logging JSON lines are searched too."""

import contextlib
import io
import json
import logging

import psycopg
import psycopg_pool
import pytest
import requests
from server_process import ServerProcess, serve_env, wait_for

from envoi.channels.channel import Channel
from envoi.channels.grammar import Grammar
from envoi.client import EnvoiClient, errors
from envoi.core import maintenance
from envoi.core.auth import api_tokens
from envoi.core.error_causes import cause
from envoi.core.observability.logs import JsonFormatter
from envoi.core.runtime import Runtime
from envoi.core.testing import TEST_CODE_KEY, TEST_PROVIDER_ENV
from envoi.providers.sandbox import cards

# Codes unlike anything else in a log (no id or amount contains them by chance).
CODE, WRONG_CODE, NEW_CODE = "739164", "048213", "562817"
WEBHOOK_SECRET = TEST_PROVIDER_ENV["ENVOI_SANDBOX_WEBHOOK_SECRET"]


def error_text(error: errors.EnvoiError) -> str:
    return " ".join(
        [error.message, *error.metadata.values(), *error.field_violations.values(), str(error)]
    )


@contextlib.contextmanager
def json_log_lines():
    """Every logger's records at DEBUG, formatted as ENVOI_LOG_FORMAT=json does."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logging.getLogger().addHandler(handler)
    lines: list[str] = []
    try:
        yield lines
    finally:
        logging.getLogger().removeHandler(handler)
        lines.extend(stream.getvalue().splitlines())


def test_secrets_stay_out_of_logs_and_errors(
    caplog, admin, client_for, database_url, runtime, payment_providers
):
    caplog.set_level(logging.DEBUG)  # every logger, the libraries' too
    with json_log_lines() as json_lines:
        secrets, seen = _use_secrets_right_and_wrong(
            admin, client_for, database_url, payment_providers
        )
    assert len(seen) == 7 and caplog.records, "the flows did not run"
    records = [json.loads(line) for line in json_lines]
    # The lines logged while serving an RPC (envoi.rpc's, at DEBUG) name its request id.
    assert any(r.get("request_id") and r["logger"] == "envoi.rpc" for r in records)
    texts = {
        "the log": caplog.text,
        "the JSON log": "\n".join(json_lines),
        **{f"error {e.reason}": error_text(e) for e in seen},
    }
    leaks = [
        f"{name} in {where}"
        for name, secret in secrets.items()
        for where, text in texts.items()
        if secret in text
    ]
    assert not leaks, leaks


def _use_secrets_right_and_wrong(admin, client_for, database_url, payment_providers):
    """Tokens, codes, a card and a provider's callback used right and wrong: the
    secrets by name, and the errors seen."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        wallet_id, wallet_token = api_tokens.create_token(conn, "wallet")
        revoked_id, revoked_token = api_tokens.create_token(conn, "wallet")
        api_tokens.revoke_token(conn, revoked_id)
    wallet = client_for(wallet_token)
    seen: list[errors.EnvoiError] = []

    def refused(call):
        with pytest.raises(errors.EnvoiError) as raised:
            call()
        seen.append(raised.value)

    alice = wallet.open_account("PERSON", "Alice", CODE).account_id
    bob = wallet.open_account("PERSON", "Bob", CODE).account_id
    admin.credit_account(alice, 10_000)
    transfer = wallet.initiate_transfer(alice, bob, 1_000)
    refused(lambda: wallet.confirm_transfer(transfer.transfer_id, WRONG_CODE))
    wallet.confirm_transfer(transfer.transfer_id, CODE)
    refused(lambda: wallet.change_code(alice, WRONG_CODE, NEW_CODE))
    wallet.change_code(alice, CODE, NEW_CODE)
    admin.reset_code(bob, NEW_CODE, "logs test: the owner forgot the code")
    held = wallet.initiate_transfer(bob, alice, 100)
    refused(lambda: wallet.confirm_transfer(held.transfer_id, NEW_CODE))  # CODE_RESET_HOLD
    refused(lambda: wallet.open_account("PERSON", "Carol", "12345"))  # not 6 digits
    refused(lambda: client_for(revoked_token).get_account(alice))
    refused(lambda: client_for(wallet_token + "x").get_account(alice))

    # A card top-up, 3-D Secure, and a callback forged without the secret.
    card_token = cards.tokenize_card(cards.THREE_D_SECURE)
    top_up = wallet.top_up(alice, 500, provider="sandbox", card_token=card_token)
    sandbox = payment_providers["funding_providers"]["sandbox"]
    body, signature = sandbox.three_d_secure_callback(top_up.provider_reference, authenticated=True)
    refused(lambda: wallet.complete_top_up("sandbox", body, "0" * len(signature)))
    wallet.complete_top_up("sandbox", body, signature)
    return {
        "wallet token": wallet_token,
        "revoked token": revoked_token,
        "code": CODE,
        "wrong code": WRONG_CODE,
        "new code": NEW_CODE,
        "code key": TEST_CODE_KEY.decode(),
        "webhook secret": WEBHOOK_SECRET,
        "callback signature": signature,
        "card number": cards.THREE_D_SECURE,
    }, seen


# Logged causes: an error's message, with what could be a secret taken out.
PASSWORD = "hunter2-not-for-logs"
UNPARSABLE_URL = f"postgresql://envoi:{PASSWORD}@[::1/envoi"  # libpq quotes it whole


def raised_by(call) -> Exception:
    with pytest.raises(Exception) as raised:
        call()
    return raised.value


def test_a_cause_keeps_the_message_and_drops_the_secrets(database_url):
    unparsable = raised_by(lambda: psycopg.connect(UNPARSABLE_URL))
    assert PASSWORD in str(unparsable)  # what a class-only log line used to hide
    assert "IPv6 host address" in cause(unparsable) and PASSWORD not in cause(unparsable)
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("CREATE TEMP TABLE kept (code text CHECK (code = ''))")
        violation = raised_by(lambda: conn.execute("INSERT INTO kept VALUES (%s)", (CODE,)))
    assert CODE in str(violation)  # its DETAIL quotes the failing row
    assert "violates check constraint" in cause(violation) and CODE not in cause(violation)
    offline = raised_by(
        lambda: requests.get(f"http://127.0.0.1:1/send?access_token={PASSWORD}", timeout=5)
    )
    assert PASSWORD in str(offline) and PASSWORD not in cause(offline)
    assert cause(offline).startswith("ConnectionError: ")


class FailingChannel(Channel):
    """A channel whose every poll fails with a database error quoting a password."""

    name = "failing"
    grammar = Grammar(bot_handle="failingbot")

    def poll(self, cursor):
        psycopg.connect(UNPARSABLE_URL)


def test_a_failed_gateway_round_logs_its_cause_without_the_secret(caplog, start_gateway, admin):
    caplog.set_level(logging.WARNING, logger="envoi.channels.gateway")
    start_gateway(FailingChannel(), admin).run_once()
    [line] = [r.getMessage() for r in caplog.records if r.name == "envoi.channels.gateway"]
    assert line.startswith("failing: ProgrammingError: ") and "IPv6 host address" in line
    assert PASSWORD not in caplog.text


def test_a_failed_maintenance_tick_logs_its_cause(caplog, settings):
    caplog.set_level(logging.WARNING, logger="envoi.maintenance")
    never_opened = psycopg_pool.ConnectionPool(UNPARSABLE_URL, open=False)
    thread = maintenance.MaintenanceThread(Runtime(settings, never_opened, settings.code_key))
    thread.start()
    try:
        for _ in range(100):  # a tick is EXPIRY_INTERVAL_S
            if caplog.records or thread.stopping.wait(0.1):
                break
    finally:
        thread.stop()
    assert caplog.records[0].getMessage().startswith("maintenance failed: PoolClosed: the pool")
    assert PASSWORD not in caplog.text


def test_serve_and_its_webhooks_worker_log_json_lines_without_secrets(
    database_url, tmp_path, make_token
):
    env = serve_env(database_url, tmp_path / "data", ENVOI_LOG_FORMAT="json")
    server = ServerProcess(env, ["--no-gateway"], tmp_path / "serve.log")
    try:
        server.wait_until_serving()
        wallet_token = make_token("wallet")
        with EnvoiClient(server.target, wallet_token) as wallet:
            alice = wallet.open_account("PERSON", "Alice", CODE).account_id
            with pytest.raises(errors.EnvoiError):
                wallet.change_code(alice, WRONG_CODE, NEW_CODE)
        with pytest.raises(errors.Unauthenticated):
            with EnvoiClient(server.target, wallet_token + "x") as forged:
                forged.get_account(alice)
        wait_for(lambda: '"envoi.webhooks"' in server.log(), "the webhooks worker's first line")
        assert server.terminate() == 0, server.log()
    finally:
        server.kill()
    lines = [json.loads(line) for line in server.log().splitlines() if line.strip()]
    assert {"envoi.server", "envoi.webhooks"} <= {line["logger"] for line in lines}
    assert all({"time", "level", "logger", "message"} <= line.keys() for line in lines)
    for name, secret in {"token": wallet_token, "code": CODE, "wrong code": WRONG_CODE}.items():
        assert secret not in server.log(), f"the {name} is in the log"
