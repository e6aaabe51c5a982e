"""The Mastodon channel: mentions of the bot in, through the streaming API
(`listen`), with the REST notifications to catch up on what was posted while
nobody listened; direct statuses out, each sent with its message key as
Mastodon's Idempotency-Key, so a retried send never posts twice.

Everything the bot says is a direct status to the person (it may name the
amount); nothing is public.
"""

import json
import logging
import time

import requests

from envoi.channels.channel import Channel, InboundPost, OutboundMessage, RateLimited
from envoi.channels.grammar import FEDIVERSE_MENTIONS, Grammar
from envoi.channels.money_text import money_text
from envoi.v1 import account_pb2, event_pb2
from envoi_channel_mastodon import statuses
from envoi_channel_mastodon.config import MastodonConfig

log = logging.getLogger("envoi_channel_mastodon")

E = event_pb2
STREAM_PATH = "/api/v1/streaming/user/notification"
MAX_EVENT_BYTES = 1_000_000  # one server-sent event; a status is far smaller
MAX_PAGE_BYTES = 4_000_000  # one page of 40 notifications
CONNECT_TIMEOUT_S = 5.0
SEND_TIMEOUT_S = 10.0

TEXTS = {
    E.EVENT_TYPE_CONFIRMATION_REQUIRED: "Confirm your payment of {amount} to {to} "
    "in your envoi app.",
    E.EVENT_TYPE_TRANSFER_COMPLETED: "Your payment of {amount} to {to} went through.",
    E.EVENT_TYPE_TRANSFER_AWAITING_CLAIM: "Your payment of {amount} to {to} waits for them "
    "to sign in to envoi.",
    E.EVENT_TYPE_TRANSFER_REFUNDED: "Your payment of {amount} to {to} was not claimed in time: "
    "it is back with you.",
    E.EVENT_TYPE_TRANSFER_CANCELLED: "Your payment of {amount} to {to} was cancelled.",
    E.EVENT_TYPE_TRANSFER_EXPIRED: "Your payment of {amount} to {to} was not confirmed in time.",
}


class MastodonChannel(Channel):
    name = "mastodon"

    def __init__(self, config: MastodonConfig):
        self.config = config
        self.grammar = Grammar(
            bot_handle=config.bot_acct, keywords=config.keywords, mentions=FEDIVERSE_MENTIONS
        )
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {config.access_token}"

    # In

    def listen(self, intake) -> None:
        stream_url = self.config.base_url + STREAM_PATH
        timeout = (CONNECT_TIMEOUT_S, self.config.read_timeout_s)
        with self.http.get(stream_url, stream=True, timeout=timeout) as stream:
            stream.raise_for_status()
            # The stream is open: what is posted from now on comes through it.
            # What came before it, since the cursor, comes from the REST API.
            cursor = self._catch_up(intake, intake.cursor())
            for event, data in _server_sent_events(stream, intake.stopping):
                if event == "notification":
                    cursor = self._take_in(intake, json.loads(data), cursor)

    def _catch_up(self, intake, cursor: str | None) -> str | None:
        """Every notification after the cursor, a page of 40 at a time, oldest
        first (min_id pages forward); the cursor after them."""
        while not intake.stopping.is_set():
            before, page = cursor, self._notifications_after(cursor)
            for notification in sorted(page, key=lambda n: int(n["id"])):
                cursor = self._take_in(intake, notification, cursor)
            if cursor == before:  # nothing newer: caught up
                break
        return cursor

    def _notifications_after(self, cursor: str | None) -> list[dict]:
        with self.http.get(
            self.config.base_url + "/api/v1/notifications",
            params={"types[]": ["mention", "reblog"], "min_id": cursor or "0", "limit": 40},
            timeout=(CONNECT_TIMEOUT_S, SEND_TIMEOUT_S),
            stream=True,
        ) as response:
            response.raise_for_status()
            return json.loads(_bounded_body(response, MAX_PAGE_BYTES))

    def _take_in(self, intake, notification: dict, cursor: str | None) -> str | None:
        """Take one notification's post in, then move the cursor past it; the cursor."""
        post = statuses.post_of(notification, self.config.domain)
        if post is not None:
            intake.take_in(post)
        if cursor is None or int(notification["id"]) > int(cursor):
            cursor = notification["id"]
            intake.save_cursor(cursor)
        return cursor

    # Out

    def messages_for_event(self, event: event_pb2.Event) -> list[OutboundMessage]:
        sender, transfer = event.transfer.from_identity, event.transfer
        template = TEXTS.get(event.type)
        if (
            template is None
            # A request (`#demander`): this example words payments only; the
            # wallet app tells both sides of a request.
            or transfer.requested
            or sender.namespace != self.name
            or event.sender_notification_preference == account_pb2.NOTIFICATION_PREFERENCE_APP_ONLY
        ):
            return []
        to = transfer.to_identity
        text = template.format(
            amount=money_text(transfer.amount.amount_cents, transfer.amount.currency_code),
            to=self.name_person(to.handle, to.namespace) if to.handle else "the collection",
        )
        return [
            OutboundMessage(f"event:{event.event_id}:sender", text, direct_to=sender.subject_id)
        ]

    def messages_for_rejection(self, post: InboundPost, reason, explanation, *, private):
        # Always a direct reply, which reaches whom it mentions: the author alone
        # sees it, so it may be about money.
        text = f"@{post.author.subject_id} {explanation}"
        return [OutboundMessage(f"rejected:{post.post_id}", text, in_reply_to=post.post_id)]

    def send(self, message: OutboundMessage) -> None:
        body = {"status": message.text, "visibility": "direct"}
        if message.in_reply_to:
            body["in_reply_to_id"] = message.in_reply_to
        else:  # a direct status reaches whom it mentions
            body["status"] = f"@{message.direct_to} {message.text}"
        response = self.http.post(
            self.config.base_url + "/api/v1/statuses",
            json=body,
            headers={"Idempotency-Key": message.key},  # a retry posts nothing twice
            timeout=(CONNECT_TIMEOUT_S, SEND_TIMEOUT_S),
        )
        if response.status_code == 429:
            raise RateLimited(time.time() + 60)
        response.raise_for_status()


def _bounded_body(response, max_bytes: int) -> bytes:
    """The whole body, read as it comes: an error past max_bytes, never buffered beyond."""
    body = b""
    for chunk in response.iter_content(chunk_size=65536):
        body += chunk
        if len(body) > max_bytes:
            raise ValueError("a response over its size limit")
    return body


def _server_sent_events(response, stopping):
    """(event, data) of each event of a text/event-stream, until stopping is set
    or the server hangs up; comments (keep-alives) are skipped. An event over
    MAX_EVENT_BYTES is an error: nothing is buffered beyond it."""
    buffer, event, data = b"", "message", []
    for chunk in response.iter_content(chunk_size=None):
        if stopping.is_set():
            return
        buffer += chunk
        if len(buffer) > MAX_EVENT_BYTES:
            raise ValueError("a server-sent event over MAX_EVENT_BYTES")
        *lines, buffer = buffer.split(b"\n")
        for raw in lines:
            line = raw.decode("utf-8").rstrip("\r")
            if not line:
                if data:
                    yield event, "\n".join(data)
                event, data = "message", []
            elif line.startswith(":"):
                continue
            else:
                field, _, value = line.partition(":")
                value = value.removeprefix(" ")
                if field == "event":
                    event = value
                elif field == "data":
                    data.append(value)
