"""Confirmation codes: 6 ASCII digits, kept only as HMAC-SHA256 under a server key.

The key comes from configuration and never reaches the database, so a copy of
the database alone cannot be brute-forced over the 10^6 possible codes.
"""

import hashlib
import hmac
import os
import pathlib
import re
import secrets

CODE_PATTERN = re.compile(r"[0-9]{6}")


def is_well_formed(code: str) -> bool:
    return CODE_PATTERN.fullmatch(code) is not None


def code_hmac(key: bytes, account_id: str, code: str) -> bytes:
    """Bound to the account, so equal codes of two accounts hash differently."""
    return hmac.new(key, f"{account_id}:{code}".encode(), hashlib.sha256).digest()


def code_matches(key: bytes, account_id: str, code: str, stored_hmac: bytes) -> bool:
    # compare_digest takes the same time wherever the first difference is.
    return hmac.compare_digest(code_hmac(key, account_id, code), stored_hmac)


def load_or_create_key(key_file: pathlib.Path) -> bytes:
    """The key kept in a 0600 file beside the embedded database; made once."""
    if key_file.exists():
        return key_file.read_bytes().strip()
    key_file.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(secrets.token_urlsafe(48).encode())
    return key_file.read_bytes().strip()
