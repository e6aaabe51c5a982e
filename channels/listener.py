"""Listening intake: a channel's long-running `listen(intake)` (a stream, long
polling, a websocket), run by the gateway in a thread of its own. It is called
again when it fails or returns, after a backoff that doubles from 1 s to 60 s
(back to 1 s once a run lasted longer than that), and told to stop on
shutdown through `intake.stopping`. Each post goes through the same intake as
webhooks and polling (channels/intake.py): taken in once ever, whatever the
stream replays after a reconnection."""

import logging
import threading
import time

from envoi.channels.channel import Channel, InboundPost
from envoi.channels.gateway_store import GatewayStore
from envoi.channels.intake import take_in
from envoi.client import EnvoiClient
from envoi.core.error_causes import cause

log = logging.getLogger("envoi.channels.listener")

LISTEN_CURSOR = "listen"
BACKOFF_S = 1.0
MAX_BACKOFF_S = 60.0


def listens(channel: Channel) -> bool:
    """Whether the channel implements listen()."""
    return type(channel).listen is not Channel.listen


class ListenIntake:
    """What a listening channel hands its posts to, and where it keeps its place."""

    def __init__(self, channel: Channel, client: EnvoiClient, store: GatewayStore):
        self._channel, self._client, self._store = channel, client, store
        self.stopping = threading.Event()  # set on shutdown: return soon after

    def take_in(self, post: InboundPost) -> str:
        """Take one post in (once ever): "initiated", "ignored" or "refused".
        Raises envoi.client.errors.Unavailable while envoi is away: let it
        end listen(), which is called again later and resumes from cursor()."""
        return take_in(self._channel, self._client, self._store, post)

    def cursor(self) -> str | None:
        """The position saved last (an event id, an offset), None at first."""
        return self._store.cursor(self._channel.name, LISTEN_CURSOR)

    def save_cursor(self, cursor: str) -> None:
        """Save the position after the posts taken in (kept in PostgreSQL)."""
        with self._store.pool.connection() as conn, conn.transaction():
            self._store.save_cursor(conn, self._channel.name, LISTEN_CURSOR, cursor)


class Listener:
    """Runs one channel's listen() until stopped, again after each failure."""

    def __init__(self, channel: Channel, intake: ListenIntake, *, backoff_s: float = BACKOFF_S):
        self.channel = channel
        self.intake = intake
        self.backoff_s = backoff_s
        self.max_backoff_s = max(MAX_BACKOFF_S, backoff_s)
        self.runs = 0  # calls of listen() so far
        self._thread = threading.Thread(
            target=self._run, name=f"envoi-listen-{channel.name}", daemon=True
        )

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        """Ask listen() to stop and wait for it, at most timeout_s."""
        self.intake.stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout_s)
            if self._thread.is_alive():
                log.warning("%s: listen() did not stop within %.0f s", self.channel.name, timeout_s)

    def _run(self) -> None:
        delay_s = self.backoff_s
        while not self.intake.stopping.is_set():
            started = time.monotonic()
            self.runs += 1
            try:
                self.channel.listen(self.intake)
                outcome = "returned"
            except Exception as exc:  # the network or envoi is away: again later
                outcome = f"failed: {cause(exc)}"
            if self.intake.stopping.is_set():
                return
            if time.monotonic() - started > self.max_backoff_s:
                delay_s = self.backoff_s  # it had been listening well
            log.warning("%s: listen %s; again in %.1f s", self.channel.name, outcome, delay_s)
            self.intake.stopping.wait(delay_s)
            delay_s = min(delay_s * 2, self.max_backoff_s)
