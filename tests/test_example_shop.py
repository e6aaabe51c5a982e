"""examples/shop/shop.py, the merchant's guide's example checkout, against a
real `envoi serve` process: the shop asks a customer to pay for an order and
waits; the test plays the wallet app, which confirms (or declines) with the
customer's code; the shop prints the outcome and the money has moved."""

import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from server_process import SHUTDOWN_GRACE_S, ServerProcess, database_env, envoi_env, wait_for

from envoi.client import EnvoiClient
from envoi.core.testing import TEST_CODE_KEY, TEST_SIREN
from envoi.v1 import identity_pb2

SHOP = Path(__file__).parent.parent / "examples" / "shop" / "shop.py"
CUSTOMER_CODE = "271828"
EXIT_TIMEOUT_S = 60


@pytest.fixture
def server(database_url, tmp_path):
    server = ServerProcess(
        envoi_env(
            **database_env(database_url),
            ENVOI_CODE_KEY=TEST_CODE_KEY.decode(),
            ENVOI_CURRENCIES="EUR,USD",
            ENVOI_DATA_DIR=str(tmp_path / "data"),
            ENVOI_SHUTDOWN_GRACE_S=str(SHUTDOWN_GRACE_S),
            ENVOI_DB_POOL_SIZE="4",
        ),
        ["--no-gateway"],
        tmp_path / "serve.log",
    )
    try:
        server.wait_until_serving()
        yield server
    finally:
        server.kill()


@pytest.fixture
def world(server, make_token):
    """An admin, the wallet app's backend, a shop with an API key, a customer with money."""
    admin = EnvoiClient(server.target, token=make_token("admin"))
    wallet = EnvoiClient(server.target, token=make_token("wallet"))
    shop_id = admin.open_account("MERCHANT", "La Boulangerie", "424242").account_id
    admin.set_business_profile(shop_id, "La Boulangerie SARL", TEST_SIREN)  # verified: payable
    key = admin.create_api_key(shop_id, label="checkout").secret
    customer = wallet.open_account("PERSON", "Camille", CUSTOMER_CODE).account_id
    admin.credit_account(customer, 5_000)
    yield {"admin": admin, "wallet": wallet, "shop": shop_id, "key": key, "customer": customer}
    admin.close()
    wallet.close()


def run_shop(server, world, order: str, payer_args=None) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            str(SHOP),
            "--target",
            server.target,
            "--key",
            world["key"],
            "--account",
            world["shop"],
            *(payer_args or ["--payer", world["customer"]]),
            "--order",
            order,
            "--amount-cents",
            "1250",
            "--memo",
            "2 croissants",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def the_request(wallet, customer: str):
    """What the wallet app's confirmation screen shows, once the shop has asked."""
    return wait_for(
        lambda: next(iter(wallet.list_pending_confirmations(customer).transfers), None),
        "the shop's payment request",
    )


def balance_cents(client, account_id) -> int:
    return client.get_balance(account_id).balance.amount_cents


@pytest.mark.parametrize(
    "customer_does, outcome, status", [("confirm", "COMPLETED", 0), ("decline", "CANCELLED", 1)]
)
def test_the_example_shop_is_paid_or_declined(customer_does, outcome, status, server, world):
    order = f"A-{uuid.uuid4().hex[:8]}"
    shop = run_shop(server, world, order)
    try:
        request = the_request(world["wallet"], world["customer"])
        assert (request.merchant_reference, request.amount.amount_cents, request.memo) == (
            order,
            1250,
            "2 croissants",
        )
        assert request.to_display_name == "La Boulangerie"
        if customer_does == "confirm":
            world["wallet"].confirm_transfer(request.transfer_id, CUSTOMER_CODE)
        else:
            world["wallet"].cancel_transfer(request.transfer_id)
        stdout, stderr = shop.communicate(timeout=EXIT_TIMEOUT_S)
    finally:
        shop.kill()
    assert shop.returncode == status, stderr
    lines = stdout.splitlines()
    assert lines[0].startswith(f"order {order}: asked 12.50 EUR, transfer {request.transfer_id};")
    assert lines[-1] == f"order {order}: {outcome}"
    paid = 1250 if outcome == "COMPLETED" else 0
    assert balance_cents(world["admin"], world["shop"]) == paid
    assert balance_cents(world["wallet"], world["customer"]) == 5_000 - paid


def test_running_the_checkout_again_follows_the_same_request(server, world):
    order = f"A-{uuid.uuid4().hex[:8]}"
    first = run_shop(server, world, order)
    request = the_request(world["wallet"], world["customer"])
    first.kill()  # the shop crashed while it waited
    first.wait()
    again = run_shop(server, world, order)
    try:
        world["wallet"].confirm_transfer(request.transfer_id, CUSTOMER_CODE)
        stdout, stderr = again.communicate(timeout=EXIT_TIMEOUT_S)
    finally:
        again.kill()
    assert again.returncode == 0, stderr
    assert f"transfer {request.transfer_id};" in stdout.splitlines()[0]
    assert stdout.splitlines()[-1] == f"order {order}: COMPLETED"
    assert balance_cents(world["admin"], world["shop"]) == 1250  # paid once


def test_the_help_says_what_it_does():
    done = subprocess.run(
        [sys.executable, str(SHOP), "--help"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0
    for words in ("--key", "--order", "COMPLETED", "CANCELLED", "EXPIRED"):
        assert words in done.stdout


def test_the_example_shop_asks_a_customer_by_their_social_identity(server, world):
    subject_id = str(uuid.uuid4().int % 10**12)  # an X user id: digits
    world["wallet"].link_identity(
        world["customer"],
        identity_pb2.Identity(namespace="twitter", subject_id=subject_id, handle="camille"),
    )
    order = f"A-{uuid.uuid4().hex[:8]}"
    shop = run_shop(server, world, order, ["--payer-identity", f"twitter:{subject_id}"])
    try:
        request = the_request(world["wallet"], world["customer"])
        world["wallet"].confirm_transfer(request.transfer_id, CUSTOMER_CODE)
        stdout, stderr = shop.communicate(timeout=EXIT_TIMEOUT_S)
    finally:
        shop.kill()
    assert shop.returncode == 0, stderr
    assert stdout.splitlines()[-1] == f"order {order}: COMPLETED"
    assert balance_cents(world["admin"], world["shop"]) == 1250
