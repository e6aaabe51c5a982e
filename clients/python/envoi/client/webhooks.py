"""Checking that a webhook delivery comes from envoi (docs/merchants.md).

envoi signs each delivery with the endpoint's secret:

    Envoi-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">

After a rotation the header carries one v1 under each live secret for a day;
any one that matches is enough. Check the signature on the raw bytes of the
body, before parsing it.
"""

import hashlib
import hmac
import time

SIGNATURE_HEADER = "Envoi-Signature"
MAX_HEADER_LENGTH = 4096


class WebhookSignatureError(ValueError):
    """The delivery is not envoi's, or is too old (a replay): answer 400 and drop it."""


def sign_webhook(body: bytes, secret: str, timestamp_s: int) -> str:
    """The v1 signature of a body at a time (what envoi sends, one per secret)."""
    signed = str(timestamp_s).encode() + b"." + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def verify_webhook(
    body: bytes,
    header: str,
    secret: str,
    tolerance_s: int = 300,
    *,
    now_s: float | None = None,
) -> None:
    """Raise WebhookSignatureError unless `header` (the Envoi-Signature value)
    signs `body` (the raw request body) under `secret`, at a time within
    tolerance_s of now. Comparisons take constant time."""
    if not isinstance(header, str) or not header or len(header) > MAX_HEADER_LENGTH:
        raise WebhookSignatureError("no Envoi-Signature header, or one too long")
    timestamp, signatures = None, []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isdigit() and len(value) <= 12:
            timestamp = int(value)
        elif key == "v1":
            signatures.append(value)
    if timestamp is None or not signatures:
        raise WebhookSignatureError("the Envoi-Signature header needs t= and v1=")
    if abs((time.time() if now_s is None else now_s) - timestamp) > tolerance_s:
        raise WebhookSignatureError("the signature's time is outside the tolerance (a replay?)")
    expected = sign_webhook(bytes(body), secret, timestamp)
    # Compare against every v1 without stopping early: rotation sends several.
    matched = False
    for signature in signatures:
        matched |= hmac.compare_digest(expected.encode(), signature.encode("ascii", "replace"))
    if not matched:
        raise WebhookSignatureError("no v1 signature matches this secret")
