"""What a channel plugin implements, and the plain data it exchanges with the gateway.

A channel knows its network: how to check and unpack its webhooks, how to
poll it, how to word and send messages. The gateway does the rest, the same
for every network: parse posts with the channel's grammar, start payments
through envoi's gRPC API with the channel's token, turn envoi's events into
the channel's messages, and send each message once, later if rate-limited.
"""

import dataclasses
import typing
from collections.abc import Callable

from envoi.channels.grammar import Rejection, RequestIntent, TransferIntent
from envoi.v1 import event_pb2

if typing.TYPE_CHECKING:
    from envoi.channels.listener import ListenIntake


@dataclasses.dataclass(frozen=True)
class Person:
    """Someone on the network: a stable user id, and the handle last seen."""

    subject_id: str
    handle: str


@dataclasses.dataclass(frozen=True)
class InboundPost:
    """A post or private message addressed to the bot."""

    post_id: str  # unique on the network; the payment's request_id is "<channel>:<post_id>"
    author: Person
    text: str
    # The people the text mentions, with the ids the network resolved for them:
    # the recipient is taken from here, never from the text alone.
    mentions: tuple[Person, ...] = ()
    direct_message: bool = False
    is_retweet: bool = False
    is_quote: bool = False


@dataclasses.dataclass(frozen=True)
class OutboundMessage:
    """A reply under a post, or a private message: exactly one of the two targets."""

    key: str  # unique within the channel: the gateway sends each key once
    text: str
    in_reply_to: str | None = None  # a post id
    direct_to: str | None = None  # a subject id

    def __post_init__(self):
        if (self.in_reply_to is None) == (self.direct_to is None):
            raise ValueError("a message is either a reply or a private message")


class RateLimited(Exception):
    """Raised by Channel.send when the network says to wait until retry_at_s (epoch seconds)."""

    def __init__(self, retry_at_s: float):
        super().__init__(f"rate limited until {retry_at_s}")
        self.retry_at_s = retry_at_s


@dataclasses.dataclass(frozen=True)
class WebhookRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # names in lower case
    body: bytes


@dataclasses.dataclass(frozen=True)
class WebhookResponse:
    status: int
    body: bytes = b""
    content_type: str = "application/json"
    # Posts the request delivered, for the gateway to take in before it answers.
    posts: tuple[InboundPost, ...] = ()


@dataclasses.dataclass(frozen=True)
class WebhookRoute:
    method: str  # GET or POST
    path: str  # must start with "/<channel name>/"
    handle: Callable[[WebhookRequest], WebhookResponse]


@typing.runtime_checkable
class Parser(typing.Protocol):
    """What a channel's `grammar` does: envoi.channels.grammar.Grammar is one;
    a channel may bring its own, with the same contract (never raise; a
    Rejection's reason is a key of grammar.REASONS, its message one sentence
    that may be posted in public). A parser that never answers a
    RequestIntent simply takes no requests."""

    def parse(
        self,
        text: str,
        *,
        direct_message: bool = False,
        is_retweet: bool = False,
        is_quote: bool = False,
    ) -> TransferIntent | RequestIntent | Rejection: ...


class Channel:
    """Base class of a channel. `name` is also the identity namespace of its users."""

    name: str
    grammar: Parser
    poll_interval_s: float = 60.0

    def webhook_routes(self) -> list[WebhookRoute]:
        return []

    def poll(self, cursor: str | None) -> tuple[list[InboundPost], str | None] | None:
        """New posts since `cursor`, oldest first, and the cursor after them.
        None when this channel does not poll."""
        return None

    def listen(self, intake: "ListenIntake") -> None:
        """Optional: take posts in as the network pushes them (a stream, long
        polling, a websocket), handing each to intake.take_in(post) and saving
        your position with intake.save_cursor(...) after it; resume from
        intake.cursor(). Return soon after intake.stopping is set (read with a
        timeout). The gateway calls it again, with backoff, when it raises or
        returns (channels/listener.py)."""
        raise NotImplementedError

    def messages_for_event(self, event: event_pb2.Event) -> list[OutboundMessage]:
        """What to tell whom when something happens to a payment this channel started."""
        return []

    def messages_for_rejection(
        self, post: InboundPost, reason: str, explanation: str, *, private: bool
    ) -> list[OutboundMessage]:
        """What to answer a post that could not become a payment. `private` is set
        when the explanation is about the sender's money and must not be public."""
        return []

    def name_person(self, handle: str, namespace: str) -> str:
        """How this channel's messages name a person (`handle` on `namespace`,
        this channel's network or another's) without notifying anyone: on
        networks where `@handle` pings, the gateway's own sentences must not
        ping a stranger. The default writes no `@`."""
        return handle if namespace == self.name else f"{handle} on {namespace}"

    def send(self, message: OutboundMessage) -> None:
        """Send one message; raise RateLimited to be retried later."""
        raise NotImplementedError
