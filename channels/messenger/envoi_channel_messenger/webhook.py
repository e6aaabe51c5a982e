"""Messenger webhooks: the verification GET, the signature of every POST, and
the messages a delivery carries, read strictly.

What is taken in: `message` events with a `mid` and a `text`, sent by a person
to our page. What is left alone (understood, not a payment): the page's own
messages (`message.is_echo`), messages without text (a sticker, a picture),
`delivery` and `read` receipts, events for another page. Anything else is a
payload we do not understand: ValueError, and the webhook answers 400.
"""

import hashlib
import hmac
import json
import logging
import re

from envoi.channels.channel import InboundPost, Person

log = logging.getLogger("envoi_channel_messenger.webhook")

SIGNATURE_HEADER = "x-hub-signature-256"  # the gateway gives header names in lower case
_SIGNATURE = re.compile(r"sha256=([0-9a-fA-F]{64})")
_PSID = re.compile(r"[0-9]{1,64}")
# Message ids are opaque ASCII (m_AG5Hz2Uq...); bounded so that the request id
# "messenger:<mid>" fits envoi's 128 characters.
_MID = re.compile(r"[A-Za-z0-9_.:\-]{1,100}")
IGNORED_EVENTS = ("delivery", "read")
# Meta's hub.challenge is a number (1158201444): only such a challenge is echoed,
# so the verification answers no bytes a caller chose.
_CHALLENGE = re.compile(r"[0-9]{1,32}")


def sign(body: bytes, app_secret: str) -> str:
    """The X-Hub-Signature-256 header Meta sends with `body`."""
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def signature_is_valid(body: bytes, header: str | None, app_secret: str) -> bool:
    """Whether the header signs exactly these bytes with the app secret; the
    digests are compared in constant time."""
    found = _SIGNATURE.fullmatch(header or "")
    if found is None:
        return False
    expected = hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), found.group(1).lower().encode())


def verification_challenge(query: dict, verify_token: str) -> str | None:
    """The hub.challenge to echo when Meta subscribes with our verify token, else None."""
    given = query.get("hub.verify_token", "")
    challenge = query.get("hub.challenge", "")
    if query.get("hub.mode") != "subscribe" or not _CHALLENGE.fullmatch(challenge):
        return None
    if not hmac.compare_digest(given.encode(), verify_token.encode()):
        return None
    return challenge


def _field(container: dict, key: str, kind: type, pattern: re.Pattern | None = None):
    value = container[key]
    if type(value) is not kind:  # bool is not an int here
        raise ValueError(f"{key} must be a {kind.__name__}")
    if pattern is not None and not pattern.fullmatch(value):
        raise ValueError(f"{key} is not in the expected form")
    if kind is str:
        value.encode()  # JSON may carry lone surrogates: UnicodeEncodeError, a ValueError
    return value


def _object(container: dict, key: str) -> dict:
    return _field(container, key, dict)


def posts_in(body: bytes, page_id: str) -> list[InboundPost]:
    """The people's messages to the page in a delivery, in order. Raises ValueError
    (or KeyError, TypeError) for anything it does not fully understand."""
    payload = json.loads(body)
    if type(payload) is not dict or payload.get("object") != "page":
        raise ValueError('not a page delivery (object must be "page")')
    posts = []
    for entry in _field(payload, "entry", list):
        if type(entry) is not dict:
            raise ValueError("an entry must be an object")
        _field(entry, "id", str)
        for event in _field(entry, "messaging", list):
            if type(event) is not dict:
                raise ValueError("a messaging event must be an object")
            sender = _field(_object(event, "sender"), "id", str, _PSID)
            recipient = _field(_object(event, "recipient"), "id", str, _PSID)
            _field(event, "timestamp", int)
            if "message" in event:
                post = _message(event["message"], sender, recipient, page_id)
                if post is not None:
                    posts.append(post)
            elif not any(kind in event for kind in IGNORED_EVENTS):
                raise ValueError("a messaging event of an unknown kind")
    return posts


def _message(message, sender: str, recipient: str, page_id: str) -> InboundPost | None:
    if type(message) is not dict:
        raise ValueError("message must be an object")
    mid = _field(message, "mid", str, _MID)
    if message.get("is_echo", False) is not False:
        if message["is_echo"] is not True:
            raise ValueError("is_echo must be a boolean")
        return None  # the page's own message, echoed back
    if recipient != page_id:
        log.warning("a message to another page (%s) was delivered here; not taken in", recipient)
        return None
    if "text" not in message:
        return None  # a sticker or an attachment: not a payment
    return InboundPost(
        post_id=mid,
        author=Person(sender, ""),  # Messenger gives no handle, only the page-scoped id
        text=_field(message, "text", str),
        direct_message=True,  # a conversation with the page: private, addressed to it
    )
