"""Callback signatures: HMAC-SHA256 of the raw body under a shared webhook secret.

The signature is over the exact bytes received, before any parsing, and is
compared in constant time, so its bytes cannot be guessed one by one.
"""

import hashlib
import hmac

MIN_SECRET_LENGTH = 32


def sign(secret: bytes, body: bytes) -> str:
    return hmac.new(secret, body, hashlib.sha256).hexdigest()


def is_valid(secret: bytes, body: bytes, signature: str) -> bool:
    if not signature.isascii():
        return False
    return hmac.compare_digest(sign(secret, body).encode(), signature.strip().lower().encode())
