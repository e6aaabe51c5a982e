"""Mutating RPCs, declared once.

@mutation turns `rpc(self, request, once)` into a servicer method. The full
method name comes from the servicer's SERVICE descriptor and the method's
name, the response type from that descriptor's output type: neither is typed
by hand, so a method cannot store its answers under another's name.
"""

import dataclasses
import functools

import psycopg_pool
from google.protobuf import message_factory

from envoi.core.ledger.transactions import apply_once


@dataclasses.dataclass(frozen=True)
class Once:
    """One call of a mutating RPC. once(work) runs work(conn) -> response at
    most once per (caller, request_id); a retry gets the first answer."""

    pool: psycopg_pool.ConnectionPool
    method: str
    request: object
    response_type: type
    code_key: bytes = dataclasses.field(repr=False)

    def __call__(self, work, redact=None):
        return apply_once(
            self.pool, self.method, self.request, self.response_type, work, self.code_key, redact
        )


def mutation(rpc):
    """Servicer method of rpc(self, request, once), for a class with a SERVICE
    (ServiceDescriptor) and a runtime (its pool and code key)."""

    @functools.wraps(rpc)
    def servicer_method(self, request, context):
        method = self.SERVICE.methods_by_name[rpc.__name__]
        once = Once(
            self.runtime.pool,
            f"/{self.SERVICE.full_name}/{method.name}",
            request,
            message_factory.GetMessageClass(method.output_type),
            self.runtime.code_key,
        )
        return rpc(self, request, once)

    return servicer_method
