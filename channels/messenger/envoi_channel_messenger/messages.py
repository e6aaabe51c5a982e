"""What the page says to the person who paid, in their conversation with it.

Every message is private (a Messenger conversation has no public side), so
it may carry the amount. The person's notification preference is honoured:
APP_ONLY means nothing here. The recipient, usually on another network, is
not told through Messenger: the wallet app tells them (and their own network's
channel, for payments it started).
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


def for_event(event: event_pb2.Event, channel_name: str) -> list[OutboundMessage]:
    sender = event.transfer.from_identity
    if sender.namespace != channel_name or not sender.subject_id:
        return []
    if event.sender_notification_preference == account_pb2.NOTIFICATION_PREFERENCE_APP_ONLY:
        return []
    text = text_for_event(event)
    if text is None:
        return []
    return [OutboundMessage(f"event:{event.event_id}:sender", text, direct_to=sender.subject_id)]


def for_rejection(post: InboundPost, explanation: str) -> list[OutboundMessage]:
    return [
        OutboundMessage(f"rejected:{post.post_id}", explanation, direct_to=post.author.subject_id)
    ]
