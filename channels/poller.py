"""Polling intake: new posts since the saved cursor, each taken in, then the
cursor saved. A crash in between takes the same posts in again, which starts
nothing twice (request ids) and answers nothing twice (message keys)."""

from envoi.channels.channel import Channel
from envoi.channels.gateway_store import GatewayStore
from envoi.channels.intake import take_in
from envoi.client import EnvoiClient

POLL_CURSOR = "poll"


def poll_once(channel: Channel, client: EnvoiClient, store: GatewayStore) -> int | None:
    """Take in the posts that arrived since the last poll; None if the channel does not poll."""
    polled = channel.poll(store.cursor(channel.name, POLL_CURSOR))
    if polled is None:
        return None
    posts, new_cursor = polled
    for post in posts:
        take_in(channel, client, store, post)
    if new_cursor is not None:
        with store.pool.connection() as conn, conn.transaction():
            store.save_cursor(conn, channel.name, POLL_CURSOR, new_cursor)
    return len(posts)
