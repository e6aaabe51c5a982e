"""The gateway's own state in PostgreSQL (migrations 0003 and 0018): cursors,
the messages to send, each exactly once, and the posts taken in, each once."""

import datetime

import psycopg_pool
from psycopg.rows import dict_row

from envoi.channels.channel import OutboundMessage


class GatewayStore:
    def __init__(self, pool: psycopg_pool.ConnectionPool):
        self.pool = pool

    def cursor(self, channel: str, name: str) -> str | None:
        with self.pool.connection() as conn:
            row = conn.execute(
                "SELECT value FROM channel_cursors WHERE channel = %s AND name = %s",
                (channel, name),
            ).fetchone()
        return row[0] if row else None

    def save_cursor(self, conn, channel: str, name: str, value: str) -> None:
        conn.execute(
            "INSERT INTO channel_cursors (channel, name, value) VALUES (%s, %s, %s)"
            " ON CONFLICT (channel, name)"
            " DO UPDATE SET value = EXCLUDED.value, update_time = now()",
            (channel, name, value),
        )

    def taken_in(self, channel: str, post_id: str) -> bool:
        """Whether this post was taken in before (whatever became of it)."""
        with self.pool.connection() as conn:
            return (
                conn.execute(
                    "SELECT 1 FROM channel_intake WHERE channel = %s AND post_id = %s",
                    (channel, post_id),
                ).fetchone()
                is not None
            )

    def record_intake(self, channel: str, post_id: str, outcome: str) -> None:
        """Remember a post once it was handled: a replay of it is then left alone."""
        with self.pool.connection() as conn:
            conn.execute(
                "INSERT INTO channel_intake (channel, post_id, outcome) VALUES (%s, %s, %s)"
                " ON CONFLICT DO NOTHING",
                (channel, post_id, outcome),
            )

    def queue(self, conn, channel: str, messages: list[OutboundMessage]) -> None:
        """Store messages to send; a key already queued (or sent) is kept as it was."""
        for message in messages:
            conn.execute(
                "INSERT INTO channel_messages (channel, message_key, text, in_reply_to, direct_to)"
                " VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                (channel, message.key, message.text, message.in_reply_to, message.direct_to),
            )

    def send_due(self, channel: str, send) -> bool:
        """Send the oldest due message with send(message, attempts_so_far), which returns
        None when sent or the epoch second to retry at; False if none was due.

        The row stays locked while it is sent, so two gateways never send the
        same message; it is marked sent in the same transaction. A crash after
        the network accepted it and before the commit is the one case in which
        a message could go out twice (networks take no idempotency key).
        """
        with self.pool.connection() as conn, conn.transaction():
            row = (
                conn.cursor(row_factory=dict_row)
                .execute(
                    "SELECT message_key, text, in_reply_to, direct_to, attempts"
                    " FROM channel_messages"
                    " WHERE channel = %s AND sent_time IS NULL AND not_before <= now()"
                    " ORDER BY seq LIMIT 1 FOR UPDATE SKIP LOCKED",
                    (channel,),
                )
                .fetchone()
            )
            if row is None:
                return False
            message = OutboundMessage(
                row["message_key"], row["text"], row["in_reply_to"], row["direct_to"]
            )
            retry_at = send(message, row["attempts"])
            if retry_at is None:
                conn.execute(
                    "UPDATE channel_messages SET sent_time = now(), attempts = attempts + 1"
                    " WHERE channel = %s AND message_key = %s",
                    (channel, message.key),
                )
            else:
                conn.execute(
                    "UPDATE channel_messages SET not_before = %s, attempts = attempts + 1"
                    " WHERE channel = %s AND message_key = %s",
                    (
                        datetime.datetime.fromtimestamp(retry_at, datetime.timezone.utc),
                        channel,
                        message.key,
                    ),
                )
            return True

    def messages(self, channel: str) -> list[dict]:
        """Every message of the channel, oldest first (for operators and tests)."""
        with self.pool.connection() as conn:
            return (
                conn.cursor(row_factory=dict_row)
                .execute(
                    "SELECT * FROM channel_messages WHERE channel = %s ORDER BY seq",
                    (channel,),
                )
                .fetchall()
            )
