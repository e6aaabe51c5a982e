"""Account Activity webhooks: the CRC challenge, the signature of each
delivery, and the posts and private messages a delivery carries."""

import base64
import hashlib
import hmac
import json
import re

from envoi.channels.channel import InboundPost, Person

SIGNATURE_HEADER = "x-twitter-webhooks-signature"

# X's crc_token is base64 of a UUID string: 36 bytes, so 48 characters and never
# padding, in the standard or the URL-safe alphabet.
_CRC_TOKEN = re.compile(r"[A-Za-z0-9+/_-]{48}")
_UUID = re.compile(rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_URL_SAFE_TO_STANDARD = str.maketrans("-_", "+/")


def signed(message: bytes, consumer_secret: str) -> str:
    """ "sha256=" + base64 HMAC-SHA256 under the consumer secret: X's CRC answer
    (of the crc_token) and its delivery signature (of the raw body)."""
    digest = hmac.new(consumer_secret.encode(), message, hashlib.sha256).digest()
    return "sha256=" + base64.b64encode(digest).decode()


def is_crc_token(token: str) -> bool:
    """Whether `token` is shaped as X's CRC sends it: base64 of a canonical
    (lower-case) UUID. The CRC answers only such tokens, so it signs nothing an
    attacker chose: the signature of a crc_token is never that of a delivery."""
    if not _CRC_TOKEN.fullmatch(token):
        return False
    decoded = base64.b64decode(token.translate(_URL_SAFE_TO_STANDARD), validate=True)
    return _UUID.fullmatch(decoded) is not None


def signature_is_valid(body: bytes, signature_header: str | None, consumer_secret: str) -> bool:
    """Whether the header signs exactly this body; compared in constant time."""
    if not signature_header:
        return False
    return hmac.compare_digest(signed(body, consumer_secret).encode(), signature_header.encode())


def _str(value) -> str:
    """A field that must be a string; anything else is a payload we do not
    understand (the webhook answers 400)."""
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {type(value).__name__}")
    return value


def _person(fields: dict) -> Person:
    return Person(_str(fields["id_str"]), _str(fields["screen_name"]))


def _visible_part(full: dict, tweet: dict, bot_user_id: str) -> tuple[str, list[dict]]:
    """The text the author typed, and its mentions.

    Long posts carry their whole text and entities in extended_tweet. In a
    reply, X puts the handles replied to before display_text_range: they are
    not recipients, but when the bot is among them the post still addresses it.
    """
    text = _str(full.get("full_text", tweet.get("text", "")))
    mentions = full.get("entities", {}).get("user_mentions", [])
    start, end = full.get("display_text_range", tweet.get("display_text_range", (0, len(text))))
    if not all(type(i) is int for i in (start, end)):
        raise TypeError("display_text_range must be two integers")
    if start == 0:
        return text[:end], mentions
    shown = [m for m in mentions if m.get("indices", (start,))[0] >= start]
    bot = next((m for m in mentions if m["id_str"] == bot_user_id), None)
    if bot is None or bot in shown:
        return text[start:end], shown
    return f"@{bot['screen_name']} {text[start:end]}", shown


def posts_in(body: bytes, bot_user_id: str) -> list[InboundPost]:
    """The posts and private messages of a delivery, except the bot's own."""
    payload = json.loads(body)
    if not isinstance(payload, dict):  # nor can a CRC token ever be a delivery
        raise TypeError(f"a delivery is a JSON object, not {type(payload).__name__}")
    posts = []
    for tweet in payload.get("tweet_create_events", []):
        if tweet["user"]["id_str"] == bot_user_id:
            continue
        text, mentions = _visible_part(tweet.get("extended_tweet", tweet), tweet, bot_user_id)
        posts.append(
            InboundPost(
                post_id=_str(tweet["id_str"]),
                author=_person(tweet["user"]),
                text=text,  # X escapes &, < and > as entities; the grammar decodes them
                mentions=tuple(_person(m) for m in mentions),
                is_retweet="retweeted_status" in tweet,
                is_quote=bool(tweet.get("is_quote_status")),
            )
        )
    users = payload.get("users", {})
    for event in payload.get("direct_message_events", []):
        if event.get("type") != "message_create":
            continue
        message = event["message_create"]
        sender_id = _str(message["sender_id"])
        if sender_id == bot_user_id:
            continue
        data = message["message_data"]
        posts.append(
            InboundPost(
                post_id=f"dm{_str(event['id'])}",
                author=Person(sender_id, _str(users.get(sender_id, {}).get("screen_name", ""))),
                text=_str(data.get("text", "")),
                mentions=tuple(
                    _person(m) for m in data.get("entities", {}).get("user_mentions", [])
                ),
                direct_message=True,
            )
        )
    return posts
