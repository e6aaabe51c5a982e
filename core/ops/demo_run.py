"""One run of `envoi demo`: what it starts, in order, and stops in reverse."""

import os
import pathlib
import threading

import psycopg

from envoi.channels.twitter.emulator_command import RunningEmulator
from envoi.client import EnvoiClient
from envoi.core import config, startup
from envoi.core import demo_command as demo
from envoi.core.auth import api_tokens
from envoi.core.ops import demo_processes, demo_world
from envoi.core.ops.harness import ServeProcess

PEOPLE = list(demo_world.PEOPLE)


class Demo:
    def __init__(self, directory: pathlib.Path, args):
        self.directory, self.args = directory, args
        self.logs = directory / "logs"
        self.urls = self.emulator = self.serve = self.wallet = None
        self.wallet_token_id = None
        self.people: dict = {}
        self.stopped = threading.Event()
        self.failures: list[str] = []
        self.failure = ""
        self.wallet_url = f"http://{args.wallet_listen}"

    def start(self) -> None:
        args = self.args
        for listen, what in (
            (args.listen, "envoi (--listen)"),
            (args.gateway_listen, "the gateway (--gateway-listen)"),
            (args.x_listen, "the X API emulator (--x-listen)"),
            (args.wallet_listen, "the wallet (--wallet-listen, ENVOI_WALLET_LISTEN)"),
        ):
            demo_processes.check_free(listen, what)
        self.logs.mkdir(parents=True, exist_ok=True)
        settings = config.from_environment(data_dir=self.directory / "data")
        if not settings.database_url:
            settings = config.from_environment(data_dir=demo.fresh_data_dir(self.directory))
        print(f"envoi demo: starting (logs in {self.logs})", flush=True)
        self.urls = startup.database_urls(settings)  # the embedded PostgreSQL, unless given
        webhook_url = f"http://{args.gateway_listen}/twitter/webhook"
        self.emulator = RunningEmulator(args.x_listen, PEOPLE, webhook_url)
        self._start_serve(settings)
        self._populate()
        self._start_wallet()
        demo.write_state(self.directory, self.state())

    def _start_serve(self, settings) -> None:
        env = {
            **os.environ,
            **self.emulator.gateway_env(),
            "ENVOI_DATA_DIR": str(settings.data_dir),
            "ENVOI_CHANNELS": "twitter",
            "ENVOI_GATEWAY_LISTEN": self.args.gateway_listen,
            "ENVOI_TWITTER_POLL_INTERVAL_S": "0",  # the emulator delivers webhooks
            "ENVOI_WALLET_PUBLIC_URL": self.wallet_url,  # the bot's reply links to it
        }
        self.serve = ServeProcess(env, [], self.logs / "serve.log", target=self.args.listen)
        self.serve.wait_until_serving(demo.READY_TIMEOUT_S)
        demo.stop_event_on_exit(self.serve.process, self.stopped, "envoi server", self.failures)
        if not demo_processes.wait_for_port(
            self.args.gateway_listen, self.serve.process, demo.READY_TIMEOUT_S
        ):
            raise SystemExit(f"envoi demo: the gateway did not start; see {self.logs}/serve.log")

    def _populate(self) -> None:
        with psycopg.connect(self.urls.server, autocommit=True) as conn:
            admin_id, admin_token = api_tokens.create_token(conn, "admin", label="envoi demo")
            self.wallet_token_id, self.wallet_token = api_tokens.create_token(
                conn, "wallet", label="envoi demo wallet"
            )
        try:
            with EnvoiClient(self.args.listen, admin_token) as admin:
                self.people = demo_world.populate(admin, self.emulator.users)
        finally:
            self._revoke(admin_id)

    def _start_wallet(self) -> None:
        executable = demo_processes.wallet_executable()
        if executable is None:
            print("envoi demo: the wallet (envoi-wallet) is not installed: not started", flush=True)
            return
        env = demo_processes.wallet_environment(
            {
                "ENVOI_TARGET": self.args.listen,
                "ENVOI_WALLET_TOKEN": self.wallet_token,
                "ENVOI_WALLET_LISTEN": self.args.wallet_listen,
                "ENVOI_WALLET_PUBLIC_URL": self.wallet_url,
                "ENVOI_WALLET_SECRET": demo.new_secret(),
                **self.emulator.wallet_env(),
                # Off: a demo runs beside what may already hold the default ports.
                "ENVOI_WALLET_METRICS_LISTEN": "",
            }
        )
        self.wallet = demo_processes.start_logged([executable], env, self.logs / "wallet.log")
        demo.stop_event_on_exit(self.wallet, self.stopped, "wallet", self.failures)
        if not demo_processes.wait_for_port(
            self.args.wallet_listen, self.wallet, demo.READY_TIMEOUT_S
        ):
            raise SystemExit(f"envoi demo: the wallet did not start; see {self.logs}/wallet.log")

    def state(self) -> dict:
        return {
            "pid": os.getpid(),
            "target": self.args.listen,
            "gateway_url": f"http://{self.args.gateway_listen}",
            "x_api_url": self.emulator.url,
            "bot": {"username": self.emulator.bot["username"], "id": self.emulator.bot["id"]},
            "wallet_url": self.wallet_url if self.wallet else None,
            "people": self.people,
        }

    def summary(self) -> str:
        lines = ["", "envoi demo is ready (Ctrl-C stops everything)", ""]
        if self.wallet:
            lines.append(f"  wallet:          {self.wallet_url}")
        else:
            lines.append("  wallet:          not installed (pip install -e clients/wallet)")
        lines.append(f"  envoi (gRPC):    {self.args.listen}")
        lines.append(f"  X API emulator:  {self.emulator.url}/  (a page to post as someone)")
        lines.append("")
        for username, person in self.people.items():
            lines.append(
                f"  @{username:<8} {person['display_name']:<22} code {person['code']}"
                f"  account {person['account_id']}"
            )
        lines.append(
            f"  alice has {demo_world.ALICE_CREDIT_CENTS // 100} EUR, bob"
            f" {demo_world.BOB_CREDIT_CENTS // 100} EUR; the charity collects"
            f" with #{demo_world.COLLECTION_HASHTAG}"
        )
        lines += [
            "",
            "Post as someone:",
            "  envoi demo post --as alice '@SmoneyFR #envoyer 10€ @bob'",
        ]
        return "\n".join(lines)

    def wait(self) -> None:
        while not self.stopped.wait(3600):
            pass
        self.failure = "; ".join(self.failures)

    def stop(self) -> None:
        self.stopped.set()
        (self.directory / "state.json").unlink(missing_ok=True)
        demo_processes.stop(self.wallet)
        if self.serve is not None:
            self.serve.stop()
        if self.emulator is not None:
            self.emulator.stop()
        if self.wallet_token_id and self.urls is not None:
            self._revoke(self.wallet_token_id)
        if self.urls is not None and self.urls.embedded is not None:
            self.urls.embedded.cleanup()

    def _revoke(self, token_id: str) -> None:
        with psycopg.connect(self.urls.server, autocommit=True) as conn:
            api_tokens.revoke_token(conn, token_id)
