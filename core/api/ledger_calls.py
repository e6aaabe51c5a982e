"""The RPC side of a ledger call (core/ledger/group_commit.py): the call an
RPC makes of the SQL function ledger_call, and the response or error its
answer becomes. The SQL keeps the request id and the answer (AIP-155); the
request is identified here by its method and a hash of its content."""

import base64

from envoi.core.api import proto_rows
from envoi.core.auth.caller import Caller
from envoi.core.ledger import idempotency, refusals
from envoi.core.ledger.idempotency import StoredError


class LedgerCallFailed(Exception):
    """A call that failed unexpectedly in the database (alone: its neighbours
    committed). Its SQLSTATE and constraint reach the log; the caller gets INTERNAL."""

    def __init__(self, failed: dict):
        super().__init__(failed.get("message", ""))
        self.sqlstate = failed.get("sqlstate")
        self.constraint_name = failed.get("constraint")


def ledger_call(
    op: str, method: str, caller: Caller, request, code_key: bytes, **arguments
) -> dict:
    """The call of `op` (a function of ledger_call.sql) for an RPC's request;
    method is the RPC's full name, which stored answers are kept under; the
    request's digest is keyed by code_key (idempotency.py)."""
    return {
        "op": op,
        "principal": caller.principal,
        "request_id": request.request_id,
        "method": method,
        "request_hmac": idempotency.request_hmac(code_key, method, request).hex(),
        # For keys written before digests were keyed, until they are purged.
        "request_sha256": idempotency.request_sha256(method, request).hex(),
        **arguments,
    }


def transfer_response(answer: dict, response_type):
    """The RPC's response (a message with one `transfer`) for a ledger call's answer,
    or the error it answered."""
    if "transfer" in answer:
        return response_type(transfer=proto_rows.transfer(answer["transfer"]))
    if "error" in answer:
        raise refusals.error_for(answer["error"])
    if "failed" in answer:
        raise LedgerCallFailed(answer["failed"])
    # An answer stored as protobuf bytes, before the operation moved into SQL.
    if answer.get("status_bytes"):
        raise StoredError(base64.b64decode(answer["status_bytes"]))
    if answer.get("response_bytes"):
        return response_type.FromString(base64.b64decode(answer["response_bytes"]))
    raise LedgerCallFailed({"message": f"a ledger call answered {sorted(answer)}"})
