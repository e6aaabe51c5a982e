"""Opaque AIP-158 page tokens for history lists.

A token holds where the next page starts and a digest of the filters it was
made for, so it cannot be replayed with other filters.
"""

import base64
import hashlib

from envoi.client import errors


def filters_digest(*filters) -> str:
    return hashlib.sha256(repr(filters).encode()).hexdigest()[:16]


def encode(before_seq: int, digest: str) -> str:
    return base64.urlsafe_b64encode(f"v1:{before_seq}:{digest}".encode()).decode()


def decode(token: str, digest: str) -> int | None:
    """The seq the page starts below; None for the first page."""
    if not token:
        return None
    try:
        version, before_seq, token_digest = (
            base64.urlsafe_b64decode(token.encode("ascii")).decode("ascii").split(":")
        )
        if version == "v1" and token_digest == digest and before_seq.isdigit():
            return int(before_seq)
    except (ValueError, UnicodeError):
        pass
    raise _invalid()


def _invalid() -> errors.InvalidPageToken:
    return errors.InvalidPageToken(
        "page_token is not one this list returned, or the filters changed",
        field_violations={"page_token": "use next_page_token with the same filters"},
    )


def encode_position(position: tuple[int, ...], digest: str) -> str:
    """A token for a page that starts after a position of several integers."""
    numbers = ".".join(str(n) for n in position)
    return base64.urlsafe_b64encode(f"v2:{numbers}:{digest}".encode()).decode()


def decode_position(token: str, digest: str, size: int) -> tuple[int, ...] | None:
    """The position (`size` non-negative integers) the page starts after; None
    for the first page."""
    if not token:
        return None
    try:
        version, numbers, token_digest = (
            base64.urlsafe_b64decode(token.encode("ascii")).decode("ascii").split(":")
        )
        parts = numbers.split(".")
        if (
            version == "v2"
            and token_digest == digest
            and len(parts) == size
            and all(p.isdigit() and len(p) <= 19 for p in parts)
        ):
            return tuple(int(p) for p in parts)
    except (ValueError, UnicodeError):
        pass
    raise _invalid()
