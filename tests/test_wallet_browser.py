"""The wallet in a real browser (Debian's chromium driven by Playwright): pay by
post, confirm with the code from the bot's link, and the payee's open page
shows the money without a reload. Screenshots of each step go to
$ENVOI_TEST_ARTIFACTS (default: the test's tmp dir)."""

import os
import pathlib
import re

import pytest

from envoi.channels.twitter.channel import WEBHOOK_PATH, TwitterChannel
from envoi.channels.twitter.config import TwitterConfig
from envoi.core.ops.harness import free_port
from envoi.v1 import identity_pb2
from envoi.wallet.settings import Settings
from envoi.wallet.testing import serving

CHROMIUM = "/usr/bin/chromium"
ALICE_CODE = "123456"  # open_account's default
BOB_CODE = "246810"
WAIT_MS = 15_000  # an upper bound for the page to change, not a measured time

if not os.path.exists(CHROMIUM):
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI must run the browser tests: {CHROMIUM} is missing", pytrace=False)
    pytest.skip(
        f"no {CHROMIUM}: `apt-get install -y chromium` to run the wallet's browser tests",
        allow_module_level=True,
    )

from playwright.sync_api import expect, sync_playwright  # noqa: E402


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory) -> pathlib.Path:
    directory = os.environ.get("ENVOI_TEST_ARTIFACTS")
    path = pathlib.Path(directory) if directory else tmp_path_factory.mktemp("artifacts")
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        # --no-sandbox: CI runs as root, where Chromium's sandbox cannot start.
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def wallet_url(x, client_for, make_token):
    port = free_port()
    settings = Settings(
        token="unused: the client is given",
        listen=f"127.0.0.1:{port}",
        public_url=f"http://127.0.0.1:{port}",
        secret="test-secret-" + "s" * 32,
        x_api_url=x.base_url,
        x_authorize_url=f"{x.base_url}/2/oauth2/authorize",
        x_client_id=x.oauth2.client_id,
        x_client_secret=x.oauth2.client_secret,
        metrics_listen="",
    )
    with serving(settings, client_for(make_token("wallet"))):
        yield settings.public_url


def sign_in_on_x(page, username: str) -> None:
    """The emulator's authorize page: say who you are."""
    expect(page.get_by_role("heading", name="Sign in with X")).to_be_visible()
    page.get_by_label("Username").fill(username)
    page.get_by_role("button", name="Authorize app").click()


def test_a_post_paid_from_the_bot_s_link_shows_on_the_payee_s_open_page(
    x, bot, browser, wallet_url, artifacts, start_gateway, twitter_client, open_account, wallet
):
    alice = x.add_user("alice")
    alice_account = open_account(balance_cents=5_000)
    wallet.link_identity(
        alice_account,
        identity_pb2.Identity(namespace="twitter", subject_id=alice["id"], handle="alice"),
    )
    x.add_user("bob")

    # Bob is new: he signs in with X, chooses his code, and keeps his page open.
    # On a phone's screen.
    bob_page = browser.new_context(
        locale="fr-FR", viewport={"width": 390, "height": 844}
    ).new_page()
    bob_page.goto(wallet_url)
    bob_page.get_by_role("link", name="Se connecter avec X").click()
    sign_in_on_x(bob_page, "bob")
    bob_page.get_by_label("Code à 6 chiffres").fill(BOB_CODE)
    bob_page.get_by_label("Le même code, encore une fois").fill(BOB_CODE)
    bob_page.screenshot(path=artifacts / "1-bob-chooses-his-code.png")
    bob_page.get_by_role("button", name="Ouvrir mon compte").click()
    expect(bob_page.locator("#balance")).to_have_text(re.compile(r"^0,00\s€$"))
    bob_page.screenshot(path=artifacts / "2-bob-home.png")

    # Alice pays by post; the gateway relays it; the bot answers with the link.
    channel = TwitterChannel(
        TwitterConfig(
            bot_user_id=bot["id"],
            api_base_url=x.base_url,
            poll_interval_s=0,
            wallet_public_url=wallet_url,
            **x.oauth1_credentials(bot),
        )
    )
    gateway = start_gateway(channel, twitter_client)
    post = x.post(alice, "@SmoneyFR #envoyer 10€ @bob")
    status, _ = x.deliver_webhook(
        f"http://127.0.0.1:{gateway.webhooks.port}{WEBHOOK_PATH}",
        x.account_activity_payload(post, bot),
        x.consumer_secret,
    )
    assert status == 200
    gateway.run_once()
    [reply] = x.replies_to(post)
    link = re.search(re.escape(wallet_url) + r"/confirm/[0-9a-f-]{36}", reply["text"])
    assert link, reply["text"]

    # Alice opens it, signs in with X, and types her code.
    alice_page = browser.new_context(locale="fr-FR").new_page()
    alice_page.goto(link.group(0))
    sign_in_on_x(alice_page, "alice")
    expect(alice_page.locator(".intro")).to_contain_text("10,00")
    alice_page.keyboard.type(ALICE_CODE)  # the code field has the focus
    alice_page.screenshot(path=artifacts / "3-alice-types-her-code.png")
    alice_page.keyboard.press("Enter")
    expect(alice_page.locator(".notice")).to_contain_text("confirmé")
    expect(alice_page.locator("#balance")).to_have_text(re.compile(r"^40,00\s€$"))
    alice_page.screenshot(path=artifacts / "4-alice-confirmed.png")

    # Bob's page, never reloaded, shows the money.
    received = bob_page.locator("#live li")
    expect(received).to_have_text([re.compile(r"\+10,00\s€ de @alice effectué")], timeout=WAIT_MS)
    expect(bob_page.locator("#balance")).to_have_text(re.compile(r"^10,00\s€$"))
    bob_page.screenshot(path=artifacts / "5-bob-sees-the-money-live.png")
