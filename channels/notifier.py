"""From envoi's events to messages on the channel, and out to the network.

relay_events reads the channel's events through gRPC (EventService) and
queues the channel's messages for them, advancing the cursor in the same
transaction: a restart neither skips an event nor queues a message twice.
send_due sends the queued messages, each once, later when rate-limited.
"""

import logging
import time

from envoi.channels.channel import Channel, OutboundMessage, RateLimited
from envoi.channels.gateway_store import GatewayStore
from envoi.client import EnvoiClient
from envoi.core.error_causes import cause

log = logging.getLogger("envoi.channels.notifier")

EVENTS_CURSOR = "events"
MAX_BACKOFF_S = 300


def relay_events(
    channel: Channel, client: EnvoiClient, store: GatewayStore, page_size: int = 100
) -> bool:
    """Queue the messages for the next page of events; return whether the
    cursor moved (a page may hold no event and still move past others')."""
    cursor = store.cursor(channel.name, EVENTS_CURSOR) or ""
    page = client.list_events(cursor, page_size=page_size)
    if page.next_cursor == cursor:
        return False
    with store.pool.connection() as conn, conn.transaction():
        for event in page.events:
            if event.transfer.channel == channel.name:
                store.queue(conn, channel.name, channel.messages_for_event(event))
        store.save_cursor(conn, channel.name, EVENTS_CURSOR, page.next_cursor)
    return True


def send_due(channel: Channel, store: GatewayStore, limit: int = 50) -> int:
    """Send up to `limit` due messages; return how many were tried."""

    def send(message: OutboundMessage, attempts: int) -> float | None:
        try:
            channel.send(message)
            return None
        except RateLimited as limited:
            log.info("%s rate-limited until %s", channel.name, limited.retry_at_s)
            return limited.retry_at_s
        except Exception as exc:  # the network failed: try again later, never drop
            log.warning("%s: sending %s failed (%s)", channel.name, message.key, cause(exc))
            return time.time() + min(MAX_BACKOFF_S, 2**attempts)

    tried = 0
    while tried < limit and store.send_due(channel.name, send):
        tried += 1
    return tried
