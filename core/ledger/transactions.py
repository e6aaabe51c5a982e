"""Running work in one database transaction, retried when PostgreSQL asks.

Deadlocks and serialization failures roll the whole transaction back, so
running it again is safe. Mutating RPCs go through run_idempotent, which
stores the request_id and the answer in the same transaction as the effect.
"""

import psycopg
import psycopg.errors
import psycopg_pool

from envoi.client import errors
from envoi.core.auth.caller import current_caller
from envoi.core.ledger import idempotency

MAX_ATTEMPTS = 8
RETRYABLE_ERRORS = (psycopg.errors.SerializationFailure, psycopg.errors.DeadlockDetected)
IDEMPOTENCY_KEY_CONSTRAINT = "idempotency_keys_pkey"


def run_in_transaction(pool: psycopg_pool.ConnectionPool, work):
    """Return work(conn), run in a transaction that commits when it returns."""
    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            with pool.connection() as conn, conn.transaction():
                return work(conn)
        except RETRYABLE_ERRORS:
            if attempt == MAX_ATTEMPTS:
                raise


def run_idempotent(
    pool: psycopg_pool.ConnectionPool,
    principal: str,
    method: str,
    request,
    response_type,
    work,
    code_key: bytes,
    redact=None,
):
    """work(conn) -> response, applied at most once per (principal, request_id);
    code_key keys the digest of the request kept with it (idempotency.py).

    redact(response) -> the copy to keep for retries, when the response holds
    a secret that must not be stored (a new API key's)."""
    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            with pool.connection() as conn:
                with conn.transaction():
                    answer = idempotency.stored_answer(
                        conn, principal, request, method, response_type, code_key
                    )
                    if answer is not None:
                        return answer
                    try:
                        response = work(conn)
                    except idempotency.RecordedFailure as failure:
                        idempotency.record_answer(
                            conn, principal, request, method, code_key, error=failure.error
                        )
                        recorded_error = failure.error
                    else:
                        idempotency.record_answer(
                            conn,
                            principal,
                            request,
                            method,
                            code_key,
                            response=redact(response) if redact else response,
                        )
                        return response
                raise recorded_error  # after the commit of what it records
        except errors.EnvoiError:
            # A copy of this request may have committed while this one ran and
            # failed because of it (e.g. the transfer is no longer pending):
            # then the caller gets that first answer, not this error.
            with pool.connection() as conn:
                answer = idempotency.stored_answer(
                    conn, principal, request, method, response_type, code_key
                )
            if answer is not None:
                return answer
            raise
        except psycopg.errors.UniqueViolation as exc:
            # The same request_id committed first in a concurrent transaction:
            # this one rolled back; the next attempt returns that first answer.
            if exc.diag.constraint_name != IDEMPOTENCY_KEY_CONSTRAINT or attempt == MAX_ATTEMPTS:
                raise
        except RETRYABLE_ERRORS:
            if attempt == MAX_ATTEMPTS:
                raise


def apply_once(
    pool: psycopg_pool.ConnectionPool,
    method: str,
    request,
    response_type,
    work,
    code_key: bytes,
    redact=None,
):
    """run_idempotent for the caller of the current RPC."""
    return run_idempotent(
        pool, current_caller.get().principal, method, request, response_type, work, code_key, redact
    )
