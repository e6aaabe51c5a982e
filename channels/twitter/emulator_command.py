"""`envoi x-emulator`: the X API emulator as a local server, for operators and
plugin authors: fixed credentials (printed at start, test-only), the bot
account, a few people, and a page to post as them (emulator_page)."""

import argparse
import signal
import threading

from envoi.channels.twitter.emulator_page import PostingPage
from envoi.channels.twitter.x_api_emulator import XApiEmulator

DEFAULT_LISTEN = "localhost:8086"
BOT_HANDLE = "SmoneyFR"
# Fixed so that a gateway's settings survive a restart of the emulator. They
# open nothing but this local emulator: never use them elsewhere.
CONSUMER_KEY = "emulator-consumer-key"
CONSUMER_SECRET = "emulator-consumer-secret-not-for-production"
APP_BEARER_TOKEN = "emulator-app-bearer-token"
BOT_ACCESS_TOKEN = "emulator-bot-access-token"
BOT_ACCESS_TOKEN_SECRET = "emulator-bot-access-token-secret"
# The wallet's OAuth 2.0 client ("sign in with X").
OAUTH2_CLIENT_ID = "emulator-oauth2-client-id"
OAUTH2_CLIENT_SECRET = "emulator-oauth2-client-secret-not-for-production"


class RunningEmulator:
    """An XApiEmulator with the fixed credentials, the bot and its posting page."""

    def __init__(self, listen: str, usernames: list[str], webhook_url: str = ""):
        host, port = split_listen(listen)
        self.x = XApiEmulator(
            consumer_key=CONSUMER_KEY,
            consumer_secret=CONSUMER_SECRET,
            app_bearer_token=APP_BEARER_TOKEN,
        )
        self.bot = self.x.add_user(BOT_HANDLE)
        self.x.oauth1_credentials(
            self.bot, access_token=BOT_ACCESS_TOKEN, access_token_secret=BOT_ACCESS_TOKEN_SECRET
        )
        # "Sign in with X" (x_oauth2.py) with the wallet's fixed client.
        self.x.oauth2.client_id = OAUTH2_CLIENT_ID
        self.x.oauth2.client_secret = OAUTH2_CLIENT_SECRET
        self.page = PostingPage(self.x, self.bot, webhook_url)
        self.users = {name: self.page.add_user(name) for name in usernames}
        self.webhook_url = webhook_url
        self.x.start(host, port)
        self.url = f"http://{host}:{self.x.base_url.rsplit(':', 1)[1]}"

    def gateway_env(self) -> dict[str, str]:
        """The settings of an `envoi gateway` (or serve) whose Twitter channel uses this."""
        return {
            "ENVOI_TWITTER_API_BASE_URL": self.url,
            "ENVOI_TWITTER_BOT_HANDLE": BOT_HANDLE,
            "ENVOI_TWITTER_BOT_USER_ID": self.bot["id"],
            "ENVOI_TWITTER_CONSUMER_KEY": CONSUMER_KEY,
            "ENVOI_TWITTER_CONSUMER_SECRET": CONSUMER_SECRET,
            "ENVOI_TWITTER_ACCESS_TOKEN": BOT_ACCESS_TOKEN,
            "ENVOI_TWITTER_ACCESS_TOKEN_SECRET": BOT_ACCESS_TOKEN_SECRET,
            # Webhooks when the emulator delivers them, else a poll every few seconds.
            "ENVOI_TWITTER_POLL_INTERVAL_S": "0" if self.webhook_url else "5",
        }

    def wallet_env(self) -> dict[str, str]:
        """The settings of a wallet (envoi-wallet) whose "sign in with X" uses this."""
        return {
            "ENVOI_WALLET_X_API_URL": self.url,
            "ENVOI_WALLET_X_CLIENT_ID": OAUTH2_CLIENT_ID,
            "ENVOI_WALLET_X_CLIENT_SECRET": OAUTH2_CLIENT_SECRET,
        }

    def stop(self) -> None:
        self.x.stop()


def split_listen(listen: str) -> tuple[str, int]:
    host, _, port = listen.rpartition(":")
    if not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"--listen takes HOST:PORT, not {listen!r}")
    return host, int(port)


def usernames(value: str) -> list[str]:
    names = [name.strip().lstrip("@") for name in value.split(",") if name.strip()]
    if len(names) > 100:
        raise argparse.ArgumentTypeError("100 users at most")
    return names


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--listen", default=DEFAULT_LISTEN, help=f"HOST:PORT to serve on (default {DEFAULT_LISTEN})"
    )
    p.add_argument(
        "--users",
        type=usernames,
        default=["alice", "bob"],
        help="comma-separated people to create beside the bot (default: alice,bob)",
    )
    p.add_argument(
        "--webhook-url",
        default="",
        help="deliver posts that mention the bot here, signed, as X's Account Activity API"
        " does (e.g. http://localhost:8080/twitter/webhook); default: none (poll instead)",
    )


def run_command(args) -> None:
    try:
        emulator = RunningEmulator(args.listen, args.users, args.webhook_url)
    except OSError as error:
        raise SystemExit(f"envoi x-emulator: cannot listen on {args.listen}: {error}") from None
    # Handlers first: whoever reads "Ctrl-C stops it." may send SIGINT at once.
    stop = stop_on_signals()
    print(describe(emulator), flush=True)
    while not stop.wait(3600):
        pass
    emulator.stop()


def describe(emulator: RunningEmulator) -> str:
    people = ", ".join(f"@{name} (id {user['id']})" for name, user in emulator.users.items())
    return (
        f"X API emulator on {emulator.url} (test credentials, for this emulator only)\n"
        f"  bot: @{BOT_HANDLE} (id {emulator.bot['id']}); people: {people}\n"
        f"  post as someone: {emulator.url}/\n"
        f"  app bearer token: {APP_BEARER_TOKEN}\n"
        f"a gateway against it (envoi serve or envoi gateway) takes:\n"
        f"{_exports(emulator.gateway_env())}\n"
        f"a wallet (envoi-wallet) signing in with it takes:\n{_exports(emulator.wallet_env())}\n"
        "Ctrl-C stops it."
    )


def _exports(variables: dict[str, str]) -> str:
    return "\n".join(f"  export {name}={value}" for name, value in variables.items())


def stop_on_signals() -> threading.Event:
    """An event set by SIGINT or SIGTERM."""
    stop = threading.Event()
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signal_number, lambda *_: stop.set())
    return stop
