"""Authenticates every RPC by its bearer token and checks the caller's role.

Methods not in roles.ALLOWED_ROLES_BY_METHOD are refused, so a new RPC is
closed until someone decides who may call it.

The server is grpc.aio: this interceptor wraps each envoi method in a
coroutine. The synchronous unary services run on the loop's executor
threads, with the token lookup, never on the event loop itself. An async
service (the core transfer path) runs on the loop, and so does its token
check when the token cache knows the token; a lookup in the database goes
to a thread. A streaming method is an async generator that runs on the loop
and is passed through as one.
"""

import asyncio
import functools
import inspect

import grpc
import psycopg_pool

from envoi.client import errors
from envoi.core.api.rpc_errors import abort_with_error
from envoi.core.auth import api_tokens, roles
from envoi.core.auth.caller import Caller, current_caller
from envoi.core.auth.token_cache import TokenCache


def _bearer_token(metadata) -> str | None:
    for key, value in metadata or ():
        if key == "authorization" and value.startswith("Bearer "):
            return value[len("Bearer ") :].strip() or None
    return None


class AuthInterceptor(grpc.aio.ServerInterceptor):
    def __init__(self, pool: psycopg_pool.ConnectionPool, token_cache_ttl_s: float = 0.0):
        self._pool = pool
        self._token_cache = TokenCache(token_cache_ttl_s)

    def _caller(self, token: str) -> Caller | None:
        sha256 = api_tokens.token_sha256(token)
        caller = self._token_cache.get(sha256)
        if caller is None:
            with self._pool.connection() as conn:
                caller = api_tokens.caller_for_token_sha256(conn, sha256)
            if caller is not None:
                self._token_cache.put(sha256, caller)
        return caller

    async def _caller_async(self, token: str) -> Caller | None:
        """_caller from the event loop: a remembered token costs no thread."""
        caller = self._token_cache.get(api_tokens.token_sha256(token))
        return caller if caller is not None else await asyncio.to_thread(self._caller, token)

    async def intercept_service(self, continuation, handler_call_details):
        method = handler_call_details.method
        handler = await continuation(handler_call_details)
        if handler is None or method.startswith(roles.PUBLIC_SERVICE_PREFIXES):
            return handler
        allowed = functools.partial(
            _allowed, method, roles.ALLOWED_ROLES_BY_METHOD.get(method, set())
        )
        if handler.unary_unary is not None and inspect.iscoroutinefunction(handler.unary_unary):
            return _unary(handler, self._async_unary(method, allowed, handler.unary_unary))
        if handler.unary_unary is not None:
            return _unary(handler, self._threaded_unary(method, allowed, handler.unary_unary))
        if handler.unary_stream is not None:
            return grpc.unary_stream_rpc_method_handler(
                self._stream(method, allowed, handler.unary_stream),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        raise NotImplementedError(f"{method}: only unary and server-streaming RPCs are served")

    def _authenticate(self, context, allowed) -> Caller:
        """Blocking (a database lookup): call it on a thread."""
        token = _bearer_token(context.invocation_metadata())
        return allowed(self._caller(token) if token is not None else None)

    def _async_unary(self, method: str, allowed, behavior):
        """An async service, on the event loop: its token checked there when remembered."""

        async def authenticated(request, context):
            try:
                token = _bearer_token(context.invocation_metadata())
                caller = await self._caller_async(token) if token is not None else None
                current_caller.set(allowed(caller))
                return await behavior(request, context)
            except Exception as exc:  # every failure becomes a typed status
                await abort_with_error(context, method, exc)

        return authenticated

    def _threaded_unary(self, method: str, allowed, behavior):
        """A synchronous service: one hop to a thread for the lookup and the service together."""

        def authenticate_and_call(request, context):
            current_caller.set(self._authenticate(context, allowed))  # this thread's context
            return behavior(request, context)

        async def authenticated(request, context):
            try:
                return await asyncio.to_thread(authenticate_and_call, request, context)
            except Exception as exc:  # every failure becomes a typed status
                await abort_with_error(context, method, exc)

        return authenticated

    def _stream(self, method: str, allowed, stream):
        """A streaming method: an async generator, on the event loop."""

        async def authenticated(request, context):
            try:
                # The RPC's task runs this generator to its end: the caller
                # set here is the one the stream reads.
                current_caller.set(await asyncio.to_thread(self._authenticate, context, allowed))
                async for response in stream(request, context):
                    yield response
            except grpc.aio.AbortError:
                raise
            except Exception as exc:  # every failure becomes a typed status
                await abort_with_error(context, method, exc)

        return authenticated


def _allowed(method: str, allowed_roles, caller: Caller | None) -> Caller:
    """The caller, if its token is valid and its role may call method."""
    if caller is None:
        raise errors.Unauthenticated(
            "a valid bearer token is required (metadata: authorization: Bearer <token>)"
        )
    if caller.role not in allowed_roles:
        raise errors.PermissionDenied(f"the {caller.role} role may not call {method}")
    return caller


def _unary(handler, behavior):
    """handler's unary method, served by behavior instead."""
    return grpc.unary_unary_rpc_method_handler(
        behavior,
        request_deserializer=handler.request_deserializer,
        response_serializer=handler.response_serializer,
    )
