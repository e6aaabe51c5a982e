"""Authenticates every RPC by its bearer token and checks the caller's role.

Methods not in roles.ALLOWED_ROLES_BY_METHOD are refused, so a new RPC is
closed until someone decides who may call it.
"""

import grpc
import psycopg_pool

from envoi.client import errors
from envoi.core import api_tokens, roles
from envoi.core.caller import Caller, current_caller
from envoi.core.rpc_errors import run_rpc


def _bearer_token(context: grpc.ServicerContext) -> str | None:
    for key, value in context.invocation_metadata():
        if key == "authorization" and value.startswith("Bearer "):
            return value[len("Bearer ") :].strip() or None
    return None


class AuthInterceptor(grpc.ServerInterceptor):
    def __init__(self, pool: psycopg_pool.ConnectionPool):
        self._pool = pool

    def intercept_service(self, continuation, handler_call_details):
        method = handler_call_details.method
        handler = continuation(handler_call_details)
        if handler is None or method.startswith(roles.PUBLIC_SERVICE_PREFIXES):
            return handler
        allowed_roles = roles.ALLOWED_ROLES_BY_METHOD.get(method, set())
        if handler.unary_unary is None:
            raise NotImplementedError(f"{method}: only unary RPCs are authenticated yet")
        behavior = handler.unary_unary

        def authenticate(context) -> Caller:
            token = _bearer_token(context)
            caller = None
            if token is not None:
                with self._pool.connection() as conn:
                    caller = api_tokens.caller_for_token(conn, token)
            if caller is None:
                raise errors.Unauthenticated(
                    "a valid bearer token is required (metadata: authorization: Bearer <token>)"
                )
            if caller.role not in allowed_roles:
                raise errors.PermissionDenied(f"the {caller.role} role may not call {method}")
            return caller

        def authenticated(request, context):
            caller = run_rpc(context, method, lambda: authenticate(context))
            reset = current_caller.set(caller)
            try:
                return run_rpc(context, method, lambda: behavior(request, context))
            finally:
                current_caller.reset(reset)

        return grpc.unary_unary_rpc_method_handler(
            authenticated,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )
