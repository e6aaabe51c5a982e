"""The channel gateway: webhooks, pollers, listeners, the event relay and the message
sender of every loaded channel, talking to envoi's core through gRPC only,
each channel with a `channel` token of its own name. It never touches the
ledger's tables: its store connects as envoi_gateway (docs/operations.md)."""

import logging
import threading
import time

from envoi.channels import notifier, poller
from envoi.channels.gateway_store import GatewayStore
from envoi.channels.listener import BACKOFF_S, Listener, ListenIntake, listens
from envoi.channels.webhook_server import WebhookServer
from envoi.client import EnvoiClient
from envoi.core.error_causes import cause

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
        listen_backoff_s: float = BACKOFF_S,
    ):
        self.channels = channels
        self.clients = clients
        self.store = store
        self.tick_s = tick_s
        routes = {channel: channel.webhook_routes() for channel in channels}
        self.webhooks = None
        if listen and any(routes.values()):
            self.webhooks = WebhookServer(listen, routes, clients, store)
        self.listeners = [
            Listener(
                channel,
                ListenIntake(channel, clients[channel.name], store),
                backoff_s=listen_backoff_s,
            )
            for channel in channels
            if listens(channel)
        ]
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
                log.warning("%s: %s", channel.name, cause(exc))

    def _run(self):
        while not self._stopping.is_set():
            self.run_once()
            self._stopping.wait(self.tick_s)

    def start(self) -> None:
        if self.webhooks:
            self.webhooks.start()
            log.info("channel webhooks on port %d", self.webhooks.port)
        for listener in self.listeners:
            listener.start()
        self._thread.start()
        log.info(
            "channel gateway running: %s",
            ", ".join(channel.name for channel in self.channels) or "no channel",
        )

    def stop(self) -> None:
        for listener in self.listeners:
            listener.intake.stopping.set()  # all at once, then wait for each
        for listener in self.listeners:
            listener.stop()
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join()
        if self.webhooks:
            self.webhooks.stop()


def token_variable(channel_name: str) -> str:
    """The environment variable that holds a channel's token."""
    return f"ENVOI_CHANNEL_TOKEN_{channel_name.upper()}"
