"""Turns whatever an RPC raises into one google.rpc.Status for the caller.

Typed envoi errors pass through; a database that cannot be reached, or a
standby reached instead of the primary, becomes UNAVAILABLE (retry with the
same request_id); anything else becomes INTERNAL.
Logs name the exception's type and SQLSTATE only: messages from the database
can quote row values, and those must not reach logs.
"""

import logging
import traceback

import grpc
import psycopg
import psycopg_pool
from grpc_status import rpc_status

from envoi.client import errors
from envoi.core.error_causes import cause
from envoi.core.ledger import refusals
from envoi.core.ledger.idempotency import StoredError

log = logging.getLogger("envoi.rpc")


def status_for(method: str, exc: Exception) -> grpc.Status:
    if isinstance(exc, errors.EnvoiError):
        return exc.to_status()
    if isinstance(exc, StoredError):
        return rpc_status.to_status(exc.status)
    # A rule's refusal raised inside the database (a trigger's last word, as
    # on a frozen or closed account) from a path that did not catch it.
    refused = refusals.error_for_exception(exc) if isinstance(exc, psycopg.Error) else None
    if refused is not None:
        return refused.to_status()
    # ReadOnlySqlTransaction: a connection reached a standby (a former leader
    # being demoted, before the router stopped sending to it); the statement
    # changed nothing, and the leader will take the same request.
    if isinstance(
        exc,
        (psycopg.OperationalError, psycopg_pool.PoolTimeout, psycopg.errors.ReadOnlySqlTransaction),
    ):
        log.warning("%s: database unavailable (%s)", method, cause(exc))
        return errors.Unavailable(
            "the database is unavailable; retry with the same request_id"
        ).to_status()
    diag = getattr(exc, "diag", None)
    frames = "".join(traceback.format_tb(exc.__traceback__))
    log.error(
        "%s: unexpected %s (sqlstate %s, constraint %s)\n%s",
        method,
        cause(exc),
        getattr(exc, "sqlstate", None),
        getattr(diag, "constraint_name", None),
        frames,
    )
    return errors.Internal("internal error").to_status()


async def abort_with_error(context: grpc.aio.ServicerContext, method: str, exc: Exception):
    """End the RPC with the status for what it raised (raises grpc.aio.AbortError)."""
    await context.abort_with_status(status_for(method, exc))
