"""RPC counts and latencies from a grpc.aio server interceptor.

It runs outermost (before auth), so refusals count too, and it adds no
database round trip: a counter and a histogram in memory per call. Only
registered methods are counted (an unknown method has no handler), so the
method label takes a bounded set of values."""

import asyncio
import inspect
import logging
import time

import grpc

from envoi.core.observability import metrics
from envoi.core.observability.logs import request_id

# One DEBUG line per unary RPC (method, code, time), with its request and trace
# ids in JSON lines; off at the default INFO level.
access_log = logging.getLogger("envoi.rpc")


class MetricsInterceptor(grpc.aio.ServerInterceptor):
    async def intercept_service(self, continuation, handler_call_details):
        handler = await continuation(handler_call_details)
        if handler is None:
            return None
        method = handler_call_details.method
        if handler.unary_unary is not None and inspect.iscoroutinefunction(handler.unary_unary):
            return grpc.unary_unary_rpc_method_handler(
                _timed_unary(method, handler.unary_unary),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        if handler.unary_stream is not None and inspect.isasyncgenfunction(handler.unary_stream):
            return grpc.unary_stream_rpc_method_handler(
                _counted_stream(method, handler.unary_stream),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        return handler  # reflection's stream-stream method: not an envoi RPC


def _code(context, outcome: str) -> str:
    """The status the call ended with: the one set by an abort, else its outcome."""
    code = context.code()
    return code.name if isinstance(code, grpc.StatusCode) else outcome


def _timed_unary(method: str, behavior):
    async def timed(request, context):
        request_id.set(getattr(request, "request_id", "") or "")
        started = time.perf_counter()
        outcome = "UNKNOWN"
        try:
            response = await behavior(request, context)
            outcome = "OK"
            return response
        except asyncio.CancelledError:
            outcome = "CANCELLED"  # the client went away or the server is stopping
            raise
        finally:
            elapsed_s = time.perf_counter() - started
            code = _code(context, outcome)
            metrics.RPC_DURATION.labels(method).observe(elapsed_s)
            metrics.RPCS.labels(method, code).inc()
            if access_log.isEnabledFor(logging.DEBUG):
                access_log.debug("%s %s %.1f ms", method, code, elapsed_s * 1000)

    return timed


def _counted_stream(method: str, stream):
    async def counted(request, context):
        outcome = "UNKNOWN"
        try:
            async for response in stream(request, context):
                yield response
            outcome = "OK"
        except (asyncio.CancelledError, GeneratorExit):
            outcome = "CANCELLED"
            raise
        finally:
            metrics.RPCS.labels(method, _code(context, outcome)).inc()

    return counted
