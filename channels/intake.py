"""From a post to a payment: parse it with the channel's grammar, find the
recipient among the mentions the network resolved (or the collection a hashtag
names, or, for a `namespace:handle` recipient of another network, the
identity someone linked, through AccountService.ResolveIdentity), and
initiate the transfer
through gRPC with request_id "<channel>:<post id>", so a post delivered twice,
or by webhook and by polling, starts one transfer.

A request post (`#demander`) asks each payer named, in the post's order, for
their share (PaymentRequestService.RequestMoney, for the post's author), with
request_id "<channel>:<post id>:<n>" and channel_reference "post:<id>:<n>" (n
from 1): one request per payer, however often the post is delivered. Each
payer is asked on their own: whoever cannot be asked (not on the network, no
envoi account, a limit) is named in one answer to the author, and the others'
requests stand, for the share they were given (docs/people.md)."""

import logging

from envoi.channels.channel import Channel, InboundPost
from envoi.channels.gateway_store import GatewayStore
from envoi.channels.grammar import Rejection, RequestIntent
from envoi.client import EnvoiClient, errors
from envoi.v1 import identity_pb2

log = logging.getLogger("envoi.channels.intake")

# Posts that merely mention the bot, or share someone's payment, get no answer.
SILENT_REASONS = frozenset({"RETWEET", "QUOTE_TWEET", "NOT_ADDRESSED", "MISSING_KEYWORD"})

# Refusals from the core worth explaining to the sender, in their words.
REFUSALS = {
    "IDENTITY_NOT_LINKED": "Open your envoi wallet and sign in with this account to send money.",
    "INSUFFICIENT_FUNDS": "Your envoi balance is too low for this payment.",
    "LIMIT_EXCEEDED": "This payment is over your limit.",
    "SELF_TRANSFER": "You cannot pay yourself.",
    "CURRENCY_MISMATCH": "This payment is not in your account's currency.",
    "PERMISSION_DENIED": "This payment cannot be made from here.",
    "COLLECTION_NOT_FOUND": "No collection has this hashtag.",
    "COLLECTION_NOT_OPEN": "This collection no longer takes payments.",
    "ACCOUNT_FROZEN": "Your envoi account is frozen: no money leaves it. Contact envoi's support.",
    "ACCOUNT_CLOSED": "This envoi account is closed.",
}
# A request's refusals, in the requester's words ({payer} as the channel names them).
REQUEST_REFUSALS = {
    "IDENTITY_NOT_LINKED": "{payer} has no envoi account yet: ask again once they have one.",
    "LIMIT_EXCEEDED": "{payer} cannot be asked for this amount (a limit).",
    "SELF_TRANSFER": "You cannot ask yourself.",
    "INVALID_ARGUMENT": "{payer} cannot be asked for money here.",
    "PAYMENT_REQUEST_EXISTS": "{payer} was already asked by this post.",
}


def take_in(channel: Channel, client: EnvoiClient, store: GatewayStore, post: InboundPost) -> str:
    """Handle one post, once ever; return what became of it: "initiated",
    "ignored" or "refused" ("ignored" too for a post taken in before: a replay,
    even after envoi forgot its request id, starts and answers nothing).

    Raises envoi.client.errors.Unavailable when the core cannot be reached, so
    that the webhook answers 503 (and the network delivers again) or the poller
    keeps its cursor: such a post is not recorded.
    """
    if store.taken_in(channel.name, post.post_id):
        return "ignored"
    outcome = _take_in_once(channel, client, store, post)
    store.record_intake(channel.name, post.post_id, outcome)
    return outcome


def _take_in_once(channel: Channel, client: EnvoiClient, store: GatewayStore, post) -> str:
    result = channel.grammar.parse(
        post.text,
        direct_message=post.direct_message,
        is_retweet=post.is_retweet,
        is_quote=post.is_quote,
    )
    if isinstance(result, Rejection):
        if result.reason in SILENT_REASONS:
            return "ignored"
        return _refuse(channel, store, post, result.reason, result.message, private=False)
    if isinstance(result, RequestIntent):
        return _ask(channel, client, store, post, result)
    payee, unknown = _payee(channel, client, post, result.recipient)
    if unknown:
        return _refuse(channel, store, post, "UNKNOWN_RECIPIENT", unknown, private=False)
    try:
        client.initiate_transfer(
            _author(channel, post),
            payee,
            result.amount_cents,
            currency_code=result.currency,
            memo=result.memo[:280],
            channel_reference=f"{'dm' if post.direct_message else 'post'}:{post.post_id}",
            request_id=f"{channel.name}:{post.post_id}",
        )
    except errors.Unavailable:
        raise
    except errors.RateLimited:
        # A flood from one account: answering each post would flood the
        # network in turn. The post is dropped, not retried.
        log.info("%s post %s dropped: its sender is rate-limited", channel.name, post.post_id)
        return "ignored"
    except errors.EnvoiError as error:
        log.info("%s post %s refused: %s", channel.name, post.post_id, error.reason)
        return _refuse(
            channel,
            store,
            post,
            error.reason,
            REFUSALS.get(error.reason, "This payment could not be started."),
            private=True,
        )
    return "initiated"


def _ask(channel: Channel, client: EnvoiClient, store: GatewayStore, post, intent) -> str:
    """Ask each payer of a request post for their share; answer the author once
    about those who could not be asked."""
    author = _author(channel, post)
    origin = "dm" if post.direct_message else "post"
    unasked, private = [], False
    for n, (handle, share_cents) in enumerate(
        zip(intent.payers, intent.shares_cents(), strict=True), 1
    ):
        payer, unknown = _payee(channel, client, post, handle, verb="ask")
        if unknown:
            unasked.append(unknown)
            continue
        try:
            client.request_money(
                author,
                payer,
                share_cents,
                currency_code=intent.currency,
                memo=intent.memo[:280],
                channel_reference=f"{origin}:{post.post_id}:{n}",
                request_id=f"{channel.name}:{post.post_id}:{n}",
            )
        except errors.Unavailable:
            raise
        except errors.EnvoiError as error:
            log.info("%s request %s:%d refused: %s", channel.name, post.post_id, n, error.reason)
            if _about_author(error, channel, post):  # the same for every payer: stop
                explanation = (
                    "Open your envoi wallet and sign in with this account to ask for money."
                )
                return _refuse(channel, store, post, error.reason, explanation, private=True)
            who = channel.name_person(payer.handle or handle, payer.namespace)
            template = REQUEST_REFUSALS.get(error.reason, "{payer} could not be asked.")
            unasked.append(template.format(payer=who))
            private = True  # about someone's account or limits: never in public
    if not unasked:
        return "initiated"
    _refuse(channel, store, post, "REQUEST_REFUSED", " ".join(unasked), private=private)
    return "initiated" if len(unasked) < len(intent.payers) else "refused"


def _about_author(error: errors.EnvoiError, channel: Channel, post) -> bool:
    """Whether a request was refused because its author has no envoi account."""
    return isinstance(error, errors.IdentityNotLinked) and error.metadata == {
        "namespace": channel.name,
        "subject_id": post.author.subject_id,
    }


def _author(channel: Channel, post) -> identity_pb2.Identity:
    return identity_pb2.Identity(
        namespace=channel.name, subject_id=post.author.subject_id, handle=post.author.handle
    )


def _payee(channel: Channel, client: EnvoiClient, post, recipient: str, verb="pay") -> tuple:
    """(whom the post pays: a collection's hashtag or an Identity, "") or
    (None, why nobody can be paid, in the sender's words)."""
    if recipient.startswith("#"):  # a collection, named by its hashtag
        return recipient, ""
    if ":" in recipient:  # twitter:alice, from a grammar with qualified_mentions
        linked = _linked_identity(channel, client, recipient)
        return (None, linked) if isinstance(linked, str) else (linked, "")
    for person in post.mentions:
        if person.handle.lower() == recipient.lower():
            return identity_pb2.Identity(
                namespace=channel.name, subject_id=person.subject_id, handle=person.handle
            ), ""
    # The network did not resolve the mention: no such user.
    return None, f"{channel.name_person(recipient, channel.name)} is not a user we can {verb}."


def _linked_identity(
    channel: Channel, client: EnvoiClient, recipient: str
) -> "identity_pb2.Identity | str":
    """The identity someone linked for namespace:handle, or why it cannot be paid.

    The handle comes from the text alone, so only an identity linked to an
    account is paid (nobody's money waits in escrow for a handle no network
    vouched for); its subject id is the one the network gave when it was linked.
    """
    namespace, _, handle = recipient.partition(":")
    try:
        found = client.resolve_identity(identity_pb2.Identity(namespace=namespace, handle=handle))
    except errors.Unavailable:
        raise
    except (errors.IdentityNotLinked, errors.InvalidArgument):
        return (
            f"Nobody has linked {channel.name_person(handle, namespace)} to envoi yet: "
            f"they can sign in to the envoi app with {namespace} first."
        )
    except errors.EnvoiError as error:  # refused, never a 500 to the network
        log.info("resolving a %s recipient was refused: %s", namespace, error.reason)
        return "This payment could not be started."
    return found.identity


def _refuse(channel, store, post, reason, explanation, *, private: bool) -> str:
    with store.pool.connection() as conn, conn.transaction():
        store.queue(
            conn,
            channel.name,
            channel.messages_for_rejection(post, reason, explanation, private=private),
        )
    return "refused"
