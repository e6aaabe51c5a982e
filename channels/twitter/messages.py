"""What the bot says, and to whom. Each person's notification preference
decides: a public reply (never with an amount), a private message, or nothing
(the wallet app only). A payment started in a private message is answered in
private messages."""

from dataclasses import dataclass, replace

from envoi.channels.channel import InboundPost, OutboundMessage
from envoi.channels.money_text import money_text
from envoi.v1 import account_pb2, event_pb2

E = event_pb2


@dataclass(frozen=True)
class Told:
    """One message about an event: to whom, and its public and private texts
    (templates of sender, recipient, amount and payee)."""

    audience: str  # "sender" or "recipient"
    public_text: str
    private_text: str


def _not_sent(what: str) -> tuple[Told, ...]:
    return (
        Told(
            "sender",
            f"@{{sender}} this payment was {what}: nothing was sent.",
            f"Your payment of {{amount}} to {{payee}} was {what}: nothing was sent.",
        ),
    )


COLLECTION_PAID = (
    Told(
        "sender",
        "@{sender} thank you: your payment to the collection went through.",
        "Your payment of {amount} to the collection went through. Thank you!",
    ),
)
TOLD_BY_EVENT_TYPE = {
    E.EVENT_TYPE_CONFIRMATION_REQUIRED: (
        Told(
            "sender",
            "@{sender} confirm this payment in your envoi app.",
            "Confirm your payment of {amount} to {payee} in your envoi app.",
        ),
    ),
    E.EVENT_TYPE_TRANSFER_COMPLETED: (
        Told(
            "recipient",
            "@{recipient} @{sender} sent you money: it is in your envoi app.",
            "You received {amount} from @{sender}.",
        ),
    ),
    E.EVENT_TYPE_TRANSFER_AWAITING_CLAIM: (
        Told(
            "recipient",
            "@{recipient} @{sender} sent you money. Sign in "
            "to the envoi app with X within 14 days to receive it.",
            "@{sender} sent you {amount}. Sign in to the envoi app with X "
            "within 14 days to receive it.",
        ),
    ),
    E.EVENT_TYPE_TRANSFER_REFUNDED: (  # both are told
        Told(
            "sender",
            "@{sender} your payment to @{recipient} was not claimed in time: "
            "the money went back to you.",
            "Your payment of {amount} to @{recipient} was not claimed in time: "
            "it is back in your account.",
        ),
        Told(
            "recipient",
            "@{recipient} the payment @{sender} sent you was not claimed in time and went back.",
            "The payment @{sender} sent you was not claimed in time and went back.",
        ),
    ),
    E.EVENT_TYPE_TRANSFER_CANCELLED: _not_sent("cancelled"),
    E.EVENT_TYPE_TRANSFER_EXPIRED: _not_sent("not confirmed in time"),
}
# A request (`#demander`): the payer ("sender") is asked, the requester
# ("recipient") is told how it ended.
TOLD_FOR_REQUEST_BY_EVENT_TYPE = {
    E.EVENT_TYPE_CONFIRMATION_REQUIRED: (
        Told(
            "sender",
            "@{sender} @{recipient} asks you for money: confirm it with your code, or "
            "decline it, in your envoi app.",
            "@{recipient} asks you for {amount}{memo}. Confirm it with your code, or "
            "decline it, in your envoi app.",
        ),
    ),
    E.EVENT_TYPE_TRANSFER_COMPLETED: (
        Told(
            "recipient",
            "@{recipient} @{sender} paid your request: it is in your envoi app.",
            "@{sender} paid your request of {amount}.",
        ),
    ),
    E.EVENT_TYPE_TRANSFER_CANCELLED: (
        Told(
            "recipient",
            "@{recipient} your request to @{sender} was declined or withdrawn: nothing was paid.",
            "Your request of {amount} to @{sender} was declined or withdrawn: nothing was paid.",
        ),
    ),
    E.EVENT_TYPE_TRANSFER_EXPIRED: (
        Told(
            "recipient",
            "@{recipient} your request to @{sender} was not answered in time: nothing was paid.",
            "Your request of {amount} to @{sender} was not answered in time: nothing was paid.",
        ),
    ),
}


def _message(event: event_pb2.Event, told: Told) -> list[OutboundMessage]:
    """As the person chose: nothing (app only), a private message (also for
    a payment started in private), or a public reply without the amount."""
    transfer = event.transfer
    origin, origin_id = origin_of(transfer)
    if told.audience == "sender":
        preference, person = event.sender_notification_preference, transfer.from_identity
    else:
        preference, person = event.recipient_notification_preference, transfer.to_identity
    if preference == account_pb2.NOTIFICATION_PREFERENCE_APP_ONLY:
        return []
    key = f"event:{event.event_id}:{told.audience}"
    # X refuses a status identical to an earlier one: the reference keeps
    # replies about different payments apart, and is the whole transfer id,
    # which every command and support take (a prefix could match others').
    reference = f" (ref {transfer.transfer_id})"
    if origin == "dm" or preference == account_pb2.NOTIFICATION_PREFERENCE_PRIVATE_MESSAGE:
        text = told.private_text.format(**_template_values(transfer))
        return [OutboundMessage(key, text + reference, direct_to=person.subject_id)]
    text = told.public_text.format(**_template_values(transfer))
    return [OutboundMessage(key, text + reference, in_reply_to=origin_id)]


def origin_of(transfer) -> tuple[str, str]:
    """("post" or "dm", the post's id) of "post:<id>", or of a request's "post:<id>:<n>"."""
    origin, _, rest = transfer.channel_reference.partition(":")
    return origin, rest.partition(":")[0]


def _template_values(transfer) -> dict:
    return {
        "memo": f" ({transfer.memo})" if transfer.memo else "",
        "sender": transfer.from_identity.handle,
        "recipient": transfer.to_identity.handle,
        "amount": money_text(transfer.amount.amount_cents, transfer.amount.currency_code),
        # A payment into a collection (`#envoyer 5€ #TelethonACF`) has no person to pay.
        "payee": "the collection" if transfer.collection_id else f"@{transfer.to_identity.handle}",
    }


def for_event(event: event_pb2.Event, wallet_url: str = "") -> list[OutboundMessage]:
    """What to say about the event; a payment to confirm carries the wallet's
    confirmation page, `<wallet_url>/confirm/<transfer_id>`, when wallet_url is set."""
    told_messages = _for_event(event)
    if wallet_url and event.type == E.EVENT_TYPE_CONFIRMATION_REQUIRED:
        link = f" {wallet_url.rstrip('/')}/confirm/{event.transfer.transfer_id}"
        return [replace(message, text=message.text + link) for message in told_messages]
    return told_messages


def _for_event(event: event_pb2.Event) -> list[OutboundMessage]:
    transfer = event.transfer
    _, origin_id = origin_of(transfer)
    if not origin_id or not transfer.from_identity.subject_id:
        return []
    if transfer.requested:
        told = TOLD_FOR_REQUEST_BY_EVENT_TYPE.get(event.type, ())
    elif event.type == E.EVENT_TYPE_TRANSFER_COMPLETED and transfer.collection_id:
        told = COLLECTION_PAID
    else:
        told = TOLD_BY_EVENT_TYPE.get(event.type, ())
    return [message for one in told for message in _message(event, one)]


def for_rejection(
    post: InboundPost, reason: str, explanation: str, *, private: bool
) -> list[OutboundMessage]:
    """A refusal: in public, what the grammar expects; in private, anything about money."""
    key = f"rejected:{post.post_id}"
    if private or post.direct_message:
        return [OutboundMessage(key, explanation, direct_to=post.author.subject_id)]
    return [OutboundMessage(key, f"@{post.author.handle} {explanation}", in_reply_to=post.post_id)]
