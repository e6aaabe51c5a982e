"""What the bot says, and to whom. Each person's notification preference
decides: a public reply (never with an amount), a private message, or nothing
(the wallet app only). A payment started in a private message is answered in
private messages."""

from envoi.channels.channel import InboundPost, OutboundMessage
from envoi.v1 import account_pb2, event_pb2

E = event_pb2


def euros(amount_cents: int) -> str:
    return f"{amount_cents // 100},{amount_cents % 100:02d} €"


def for_event(event: event_pb2.Event) -> list[OutboundMessage]:
    transfer = event.transfer
    origin, _, origin_id = transfer.channel_reference.partition(":")
    sender, recipient = transfer.from_identity, transfer.to_identity
    if not origin_id or not sender.subject_id:
        return []
    amount = euros(transfer.amount.amount_cents)
    # A payment into a collection (`#envoyer 5€ #TelethonACF`) has no person to pay.
    payee = "the collection" if transfer.collection_id else f"@{recipient.handle}"
    key = f"event:{event.event_id}"
    preferences = {
        "sender": event.sender_notification_preference,
        "recipient": event.recipient_notification_preference,
    }
    # X refuses a status identical to an earlier one: the reference keeps
    # replies about different payments apart, and helps support find them.
    reference = f" (ref {transfer.transfer_id[:8]})"

    def to(audience, person, public_text, private_text) -> list[OutboundMessage]:
        """As the person chose: nothing (app only), a private message (also for
        a payment started in private), or a public reply without the amount."""
        preference = preferences[audience]
        if preference == account_pb2.NOTIFICATION_PREFERENCE_APP_ONLY:
            return []
        if origin == "dm" or preference == account_pb2.NOTIFICATION_PREFERENCE_PRIVATE_MESSAGE:
            return [
                OutboundMessage(
                    f"{key}:{audience}", private_text + reference, direct_to=person.subject_id
                )
            ]
        return [
            OutboundMessage(f"{key}:{audience}", public_text + reference, in_reply_to=origin_id)
        ]

    if event.type == E.EVENT_TYPE_CONFIRMATION_REQUIRED:
        return to(
            "sender",
            sender,
            f"@{sender.handle} confirm this payment in your envoi app.",
            f"Confirm your payment of {amount} to {payee} in your envoi app.",
        )
    if event.type == E.EVENT_TYPE_TRANSFER_COMPLETED and transfer.collection_id:
        return to(
            "sender",
            sender,
            f"@{sender.handle} thank you: your payment to the collection went through.",
            f"Your payment of {amount} to the collection went through. Thank you!",
        )
    if event.type == E.EVENT_TYPE_TRANSFER_COMPLETED:
        return to(
            "recipient",
            recipient,
            f"@{recipient.handle} @{sender.handle} sent you money: it is in your envoi app.",
            f"You received {amount} from @{sender.handle}.",
        )
    if event.type == E.EVENT_TYPE_TRANSFER_AWAITING_CLAIM:
        return to(
            "recipient",
            recipient,
            f"@{recipient.handle} @{sender.handle} sent you money. Sign in "
            f"to the envoi app with X within 14 days to receive it.",
            f"@{sender.handle} sent you {amount}. Sign in to the envoi app with X "
            f"within 14 days to receive it.",
        )
    if event.type == E.EVENT_TYPE_TRANSFER_REFUNDED:  # both are told
        return to(
            "sender",
            sender,
            f"@{sender.handle} your payment to @{recipient.handle} was not claimed in time: "
            f"the money went back to you.",
            f"Your payment of {amount} to @{recipient.handle} was not claimed in time: "
            f"it is back in your account.",
        ) + to(
            "recipient",
            recipient,
            f"@{recipient.handle} the payment @{sender.handle} sent you was not claimed in "
            f"time and went back.",
            f"The payment @{sender.handle} sent you was not claimed in time and went back.",
        )
    if event.type in (E.EVENT_TYPE_TRANSFER_CANCELLED, E.EVENT_TYPE_TRANSFER_EXPIRED):
        what = (
            "cancelled"
            if event.type == E.EVENT_TYPE_TRANSFER_CANCELLED
            else "not confirmed in time"
        )
        return to(
            "sender",
            sender,
            f"@{sender.handle} this payment was {what}: nothing was sent.",
            f"Your payment of {amount} to {payee} was {what}: nothing was sent.",
        )
    return []


def for_rejection(
    post: InboundPost, reason: str, explanation: str, *, private: bool
) -> list[OutboundMessage]:
    """A refusal: in public, what the grammar expects; in private, anything about money."""
    key = f"rejected:{post.post_id}"
    if private or post.direct_message:
        return [OutboundMessage(key, explanation, direct_to=post.author.subject_id)]
    return [OutboundMessage(key, f"@{post.author.handle} {explanation}", in_reply_to=post.post_id)]
