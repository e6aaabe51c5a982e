"""gRPC's own retry of UNAVAILABLE (a service config on the channel), for the
envoi.v1 calls that are safe to send twice.

Safe: a read (Get, List, Resolve), or a mutating call whose request carries a
request_id, which the server answers once (the request is resent unchanged, so
a retry never pays twice). Any other call, and WatchEvents (EventStream resumes
it from its last event, which a retry of the same request cannot), is not
retried.
"""

import json

from envoi.client import errors

READ_PREFIXES = ("Get", "List", "Resolve")
# gRPC takes at most 5 attempts (its retry design, gRFC A6): more count as 5.
GRPC_MAX_ATTEMPTS = 5
# The policy's backoffs are durations above zero.
MIN_BACKOFF_S = 0.001


def retried_methods(service_modules) -> list[dict]:
    """The service config names of the unary methods safe to retry."""
    return [
        {"service": service.full_name, "method": method.name}
        for module in service_modules
        for service in module.DESCRIPTOR.services_by_name.values()
        for method in service.methods
        if not (method.client_streaming or method.server_streaming)
        and (
            method.name.startswith(READ_PREFIXES)
            or "request_id" in method.input_type.fields_by_name
        )
    ]


def service_config(service_modules, max_attempts: int, retry_backoff_s: float) -> str:
    """The JSON service config: up to max_attempts, backoff doubling from
    retry_backoff_s (gRPC draws each wait at random below it, so that clients
    retrying together spread out)."""
    if max_attempts < 2:
        return json.dumps({})
    attempts = min(max_attempts, GRPC_MAX_ATTEMPTS)
    initial_backoff_s = max(retry_backoff_s, MIN_BACKOFF_S)
    policy = {
        "maxAttempts": attempts,
        "initialBackoff": f"{initial_backoff_s:.3f}s",
        "maxBackoff": f"{initial_backoff_s * 2 ** (attempts - 2):.3f}s",
        "backoffMultiplier": 2,
        "retryableStatusCodes": sorted(code.name for code in errors.RETRIED_CODES),
    }
    method_config = {"name": retried_methods(service_modules), "retryPolicy": policy}
    return json.dumps({"methodConfig": [method_config]})
