"""The Messenger channel: a conversation with a Facebook page in, the Send
API out, and Messenger's 24-hour rule in between.

The 24-hour window. A page may answer a person only within 24 hours of their
last message. The channel counts the window from the payment's creation time
(`transfer.create_time`): the message that started the payment was taken in
then, so the person's last message is at least that recent. Past 24 hours the
notification is not queued: the wallet app has every event (WatchEvents), so
the person is told there only. It never fails silently: each skip is logged at
INFO with its reason and event id, and counted in `MessengerChannel.skipped`.
A message queued in time that the Send API refuses for the window (a long
outage between queueing and sending) is logged and counted the same way, and
not retried.
"""

import collections
import logging
import threading
import time

from envoi.channels.channel import (
    Channel,
    OutboundMessage,
    WebhookRequest,
    WebhookResponse,
    WebhookRoute,
)
from envoi.channels.grammar import Grammar
from envoi.v1 import event_pb2
from envoi_channel_messenger import messages, webhook
from envoi_channel_messenger.config import MessengerConfig
from envoi_channel_messenger.send_api import SendApi, WindowClosed

log = logging.getLogger("envoi_channel_messenger")

WEBHOOK_PATH = "/messenger/webhook"
WINDOW_S = 24 * 3600
OUTSIDE_WINDOW = "outside_24h_window"
# Never addressed in a conversation; names the page in the grammar's own checks.
PAGE_HANDLE = "envoi"


class MessengerChannel(Channel):
    name = "messenger"

    def __init__(self, config: MessengerConfig, *, clock=time.time):
        self.config = config
        self.clock = clock  # epoch seconds; tests move it past the window
        self.grammar = Grammar(
            bot_handle=PAGE_HANDLE,
            keywords=config.keywords,
            bare_keyword=True,
            qualified_mentions=True,
            default_namespace=config.default_network,
        )
        self.send_api = SendApi(
            config.graph_api_url, config.graph_api_version, config.page_access_token
        )
        self.skipped = collections.Counter()  # reason -> messages not sent
        self._skipped_lock = threading.Lock()

    # In

    def webhook_routes(self) -> list[WebhookRoute]:
        return [
            WebhookRoute("GET", WEBHOOK_PATH, self._verify),
            WebhookRoute("POST", WEBHOOK_PATH, self._delivery),
        ]

    def _verify(self, request: WebhookRequest) -> WebhookResponse:
        challenge = webhook.verification_challenge(request.query, self.config.verify_token)
        if challenge is None:
            return WebhookResponse(403, b"forbidden", content_type="text/plain")
        return WebhookResponse(200, challenge.encode(), content_type="text/plain")

    def _delivery(self, request: WebhookRequest) -> WebhookResponse:
        if not webhook.signature_is_valid(
            request.body, request.headers.get(webhook.SIGNATURE_HEADER), self.config.app_secret
        ):
            return WebhookResponse(403, b'{"error": "bad signature"}')
        try:
            posts = webhook.posts_in(request.body, self.config.page_id)
        except (ValueError, KeyError, TypeError, RecursionError):
            return WebhookResponse(400, b'{"error": "not a Messenger page delivery"}')
        return WebhookResponse(200, b"{}", posts=tuple(posts))

    # Out

    def messages_for_event(self, event: event_pb2.Event) -> list[OutboundMessage]:
        found = messages.for_event(event, self.name)
        if not found:
            return []
        started_s = event.transfer.create_time.ToMicroseconds() / 1e6
        if self.clock() - started_s > WINDOW_S:
            self._skip(f"event {event.event_id}")
            return []
        return found

    def messages_for_rejection(self, post, reason, explanation, *, private):
        return messages.for_rejection(post, explanation)  # a conversation is always private

    def name_person(self, handle: str, namespace: str) -> str:
        # A page's message pings nobody: the handle is written as people type it.
        return f"@{handle}" if namespace == self.name else f"@{handle} on {namespace}"

    def send(self, message: OutboundMessage) -> None:
        if message.direct_to is None:
            raise ValueError("Messenger has no public replies: only private messages")
        try:
            self.send_api.send_text(message.direct_to, message.text, clock=self.clock)
        except WindowClosed:
            self._skip(f"message {message.key} (refused by the Send API)")

    def _skip(self, what: str) -> None:
        with self._skipped_lock:
            self.skipped[OUTSIDE_WINDOW] += 1
        log.info("messenger: %s not sent: outside the 24-hour window; the wallet app has it", what)
