"""AIP-155 request ids: a retry gets the first answer, a reuse is refused.

The key, a digest of the request and the answer are written in the same
transaction as the effect, so either both exist or neither does. Two copies
of one request racing both run; the second one's insert of the key fails,
its transaction (effect included) rolls back, and it returns the first answer.

The digest is an HMAC under a key derived from the server's code key: some
requests hold a 6-digit code, and a plain hash of one in the database would
give the code away to whoever hashed the 10^6 possible ones. Keys written
before kept a plain SHA-256 (request_sha256), which is still compared until
they are purged (ENVOI_IDEMPOTENCY_RETENTION_S after the upgrade).
"""

import functools
import hashlib
import hmac

import psycopg
from google.rpc import status_pb2

from envoi.client import errors


class RecordedFailure(Exception):
    """Raised by work that changed state (a wrong code counts an attempt) and must
    commit before the caller sees `error`; a retry gets the same error."""

    def __init__(self, error: errors.EnvoiError):
        super().__init__(error.reason)
        self.error = error


class StoredError(Exception):
    """A recorded error status (google.rpc.Status), replayed to a retry."""

    def __init__(self, status_bytes: bytes):
        super().__init__("replayed error")
        self.status = status_pb2.Status.FromString(status_bytes)


def request_content(method: str, request) -> bytes:
    """The method and everything in the request except its request_id."""
    content = type(request)()
    content.CopyFrom(request)
    content.ClearField("request_id")
    return method.encode() + b"\0" + content.SerializeToString(deterministic=True)


def request_sha256(method: str, request) -> bytes:
    """Plain hash of a request, for what holds no secret (a top-up's id) and to
    compare with the keys written before digests were keyed."""
    return hashlib.sha256(request_content(method, request)).digest()


@functools.cache
def digest_key(code_key: bytes) -> bytes:
    return hmac.new(code_key, b"envoi idempotency request digest", hashlib.sha256).digest()


def request_hmac(code_key: bytes, method: str, request) -> bytes:
    """The request's digest as kept with its request id."""
    return hmac.new(digest_key(code_key), request_content(method, request), hashlib.sha256).digest()


def same_request(stored_hmac, stored_sha256, code_key: bytes, method: str, request) -> bool:
    if stored_hmac is not None:
        return hmac.compare_digest(bytes(stored_hmac), request_hmac(code_key, method, request))
    return bytes(stored_sha256) == request_sha256(method, request)


def stored_answer(
    conn: psycopg.Connection, principal: str, request, method: str, response_type, code_key: bytes
):
    """The first answer to this request_id, or None if it is new.

    Raises IdempotencyKeyReused if the id came with a different request, and
    StoredError if the first answer was a recorded error.
    """
    row = conn.execute(
        "SELECT method, request_hmac, request_sha256, response_bytes, status_bytes"
        " FROM idempotency_keys"
        " WHERE principal = %s AND request_id = %s",
        (principal, request.request_id),
    ).fetchone()
    if row is None:
        return None
    stored_method, stored_hmac, stored_sha256, response_bytes, status_bytes = row
    if stored_method != method or not same_request(
        stored_hmac, stored_sha256, code_key, method, request
    ):
        raise errors.IdempotencyKeyReused(
            "this request_id was already used for a different request",
            field_violations={"request_id": "already used for a different request"},
        )
    if status_bytes is not None:
        raise StoredError(bytes(status_bytes))
    return response_type.FromString(bytes(response_bytes))


def record_answer(
    conn: psycopg.Connection,
    principal: str,
    request,
    method: str,
    code_key: bytes,
    *,
    response=None,
    error: errors.EnvoiError | None = None,
) -> None:
    response_bytes = response.SerializeToString() if response is not None else None
    status_bytes = error.status_proto().SerializeToString() if error is not None else None
    conn.execute(
        "INSERT INTO idempotency_keys"
        " (principal, request_id, method, request_hmac, response_bytes, status_bytes)"
        " VALUES (%s, %s, %s, %s, %s, %s)",
        (
            principal,
            request.request_id,
            method,
            request_hmac(code_key, method, request),
            response_bytes,
            status_bytes,
        ),
    )


def purge_expired(conn: psycopg.Connection, retention_s: int) -> int:
    cur = conn.execute(
        "DELETE FROM idempotency_keys WHERE create_time < now() - make_interval(secs => %s)",
        (retention_s,),
    )
    return cur.rowcount
