"""The channel gateway: webhooks, pollers, the event relay and the message
sender of every loaded channel, talking to envoi's core through gRPC only,
each channel with a `channel` token of its own name."""

import logging
import threading
import time

import psycopg

from envoi.channels import notifier, poller
from envoi.channels.gateway_store import GatewayStore
from envoi.channels.webhook_server import WebhookServer
from envoi.client import EnvoiClient
from envoi.core import api_tokens

log = logging.getLogger("envoi.channels.gateway")

DEFAULT_LISTEN = "localhost:8080"
TICK_S = 0.5


class Gateway:
    def __init__(
        self,
        channels: list,
        clients: dict[str, EnvoiClient],
        store: GatewayStore,
        *,
        listen: str | None = DEFAULT_LISTEN,
        tick_s: float = TICK_S,
    ):
        self.channels = channels
        self.clients = clients
        self.store = store
        self.tick_s = tick_s
        routes = {channel: channel.webhook_routes() for channel in channels}
        self.webhooks = None
        if listen and any(routes.values()):
            self.webhooks = WebhookServer(listen, routes, clients, store)
        self._next_poll = {channel.name: 0.0 for channel in channels}
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="envoi-gateway", daemon=True)

    def run_once(self) -> None:
        """One round for every channel: poll if due, relay all new events, send due messages."""
        for channel in self.channels:
            client = self.clients[channel.name]
            try:
                if time.monotonic() >= self._next_poll[channel.name]:
                    poller.poll_once(channel, client, self.store)
                    self._next_poll[channel.name] = time.monotonic() + channel.poll_interval_s
                while notifier.relay_events(channel, client, self.store):
                    pass
                notifier.send_due(channel, self.store)
            except Exception as exc:  # the core or the network is away: next round
                log.warning("%s: %s", channel.name, type(exc).__name__)

    def _run(self):
        while not self._stopping.is_set():
            self.run_once()
            self._stopping.wait(self.tick_s)

    def start(self) -> None:
        if self.webhooks:
            self.webhooks.start()
            log.info("channel webhooks on port %d", self.webhooks.port)
        self._thread.start()
        log.info(
            "channel gateway running: %s",
            ", ".join(channel.name for channel in self.channels) or "no channel",
        )

    def stop(self) -> None:
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join()
        if self.webhooks:
            self.webhooks.stop()


def channel_tokens(channels: list, env, database_url: str) -> tuple[dict[str, str], list[str]]:
    """ENVOI_CHANNEL_TOKEN_<NAME> for each channel, else a token made for this run.
    Returns the tokens by channel and the ids of the ones made here (to revoke at stop)."""
    tokens, made = {}, []
    for channel in channels:
        token = env.get(f"ENVOI_CHANNEL_TOKEN_{channel.name.upper()}")
        if not token:
            with psycopg.connect(database_url, autocommit=True) as conn:
                token_id, token = api_tokens.create_token(
                    conn, "channel", channel_name=channel.name
                )
            made.append(token_id)
        tokens[channel.name] = token
    return tokens, made


def revoke_tokens(database_url: str, token_ids: list[str]) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        for token_id in token_ids:
            api_tokens.revoke_token(conn, token_id)
