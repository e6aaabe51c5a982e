"""What the page says to the person who paid, or who asked for money
(`demander 10€ @bob`), in their conversation with it.

Every message is private (a Messenger conversation has no public side), so
it may carry the amount. The person's notification preference is honoured:
APP_ONLY means nothing here. The recipient, usually on another network, is
not told through Messenger: the wallet app tells them (and their own network's
channel, for payments it started); nor is a payer asked by a request: their
wallet app shows it, and tells them.
"""

from envoi.channels.channel import InboundPost, OutboundMessage
from envoi.channels.money_text import money_text
from envoi.v1 import account_pb2, event_pb2

E = event_pb2


def payee(transfer) -> str:
    """How the sender named the recipient: "@alice on twitter", or "the collection"."""
    if transfer.collection_id:
        return "the collection"
    to = transfer.to_identity
    if to.handle:
        return f"@{to.handle} on {to.namespace}"
    return transfer.to_display_name or "them"


def text_for_event(event: event_pb2.Event) -> str | None:
    """The sentence for the sender, or None when this event tells them nothing."""
    transfer = event.transfer
    amount = money_text(transfer.amount.amount_cents, transfer.amount.currency_code)
    to = payee(transfer)
    if event.type == E.EVENT_TYPE_CONFIRMATION_REQUIRED:
        return f"Confirm your payment of {amount} to {to} in your envoi app."
    if event.type == E.EVENT_TYPE_TRANSFER_COMPLETED and transfer.collection_id:
        return f"Your payment of {amount} to the collection went through. Thank you!"
    if event.type == E.EVENT_TYPE_TRANSFER_COMPLETED:
        return f"Your payment of {amount} to {to} went through."
    if event.type == E.EVENT_TYPE_TRANSFER_AWAITING_CLAIM:
        return f"Your payment of {amount} to {to} waits for them to sign in to envoi."
    if event.type == E.EVENT_TYPE_TRANSFER_REFUNDED:
        return f"Your payment of {amount} to {to} was not claimed in time: it is back with you."
    if event.type == E.EVENT_TYPE_TRANSFER_CANCELLED:
        return f"Your payment of {amount} to {to} was cancelled: nothing was sent."
    if event.type == E.EVENT_TYPE_TRANSFER_EXPIRED:
        return f"Your payment of {amount} to {to} was not confirmed in time: nothing was sent."
    return None


# What the one who asked is told, by event: {who} is the payer, as they were named.
REQUEST_TEXTS = {
    E.EVENT_TYPE_CONFIRMATION_REQUIRED: "You asked {who} for {amount}: they pay it with their"
    " code in their envoi app.",
    E.EVENT_TYPE_TRANSFER_COMPLETED: "{who} paid your request of {amount}.",
    E.EVENT_TYPE_TRANSFER_CANCELLED: "Your request of {amount} to {who} was declined or"
    " withdrawn: nothing was paid.",
    E.EVENT_TYPE_TRANSFER_EXPIRED: "Your request of {amount} to {who} was not answered in"
    " time: nothing was paid.",
}


def text_for_request(event: event_pb2.Event) -> str | None:
    """The sentence for whoever asked for the money, or None."""
    transfer, text = event.transfer, REQUEST_TEXTS.get(event.type)
    if text is None:
        return None
    payer = transfer.from_identity
    who = f"@{payer.handle} on {payer.namespace}" if payer.handle else transfer.from_display_name
    amount = money_text(transfer.amount.amount_cents, transfer.amount.currency_code)
    return text.format(who=who, amount=amount)


def for_event(event: event_pb2.Event, channel_name: str) -> list[OutboundMessage]:
    transfer = event.transfer
    if transfer.requested:  # told to the one who asked: the transfer's recipient
        audience, person = "recipient", transfer.to_identity
        preference, text = event.recipient_notification_preference, text_for_request(event)
    else:
        audience, person = "sender", transfer.from_identity
        preference, text = event.sender_notification_preference, text_for_event(event)
    if person.namespace != channel_name or not person.subject_id or text is None:
        return []
    if preference == account_pb2.NOTIFICATION_PREFERENCE_APP_ONLY:
        return []
    return [
        OutboundMessage(f"event:{event.event_id}:{audience}", text, direct_to=person.subject_id)
    ]


def for_rejection(post: InboundPost, explanation: str) -> list[OutboundMessage]:
    return [
        OutboundMessage(f"rejected:{post.post_id}", explanation, direct_to=post.author.subject_id)
    ]
