"""The gateway's HTTP server: each channel's webhook routes, on one port.

A route returns the response and the posts the request delivered; the posts
are taken in before the response is sent, so a 2xx means they are safely in
(and a 503 asks the network to deliver them again).

It is a Starlette app on uvicorn, with the limits of channels/http_limits.py:
bodies bounded while read, header and body deadlines, a connection limit. The
routes and take_in make blocking gRPC calls: they run in a bounded thread
pool, never on the event loop.
"""

import asyncio
import concurrent.futures
import functools
import logging
import socket
import threading
import time
import urllib.parse

import uvicorn
from opentelemetry import context, propagate, trace
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from envoi.channels.channel import WebhookRequest, WebhookResponse
from envoi.channels.http_limits import (
    HeaderDeadlineProtocol,
    RequestRefused,
    WebhookLimits,
    read_body,
)
from envoi.channels.intake import take_in
from envoi.client import errors
from envoi.core.error_causes import cause

log = logging.getLogger("envoi.channels.webhooks")
_tracer = trace.get_tracer("envoi.channels.webhook_server")

DEFAULT_LIMITS = WebhookLimits()
_STARTUP_TIMEOUT_S = 10.0


class WebhookServer:
    def __init__(
        self,
        listen: str,
        routes_by_channel: dict,
        client_for_channel: dict,
        store,
        limits: WebhookLimits = DEFAULT_LIMITS,
    ):
        self.routes = {}  # (method, path) -> (channel, route)
        for channel, routes in routes_by_channel.items():
            for route in routes:
                if not route.path.startswith(f"/{channel.name}/"):
                    raise ValueError(
                        f"{channel.name} route {route.path} must start with /{channel.name}/"
                    )
                self.routes[(route.method, route.path)] = (channel, route)
        self.clients = client_for_channel
        self.store = store
        self.limits = limits
        self._pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=limits.worker_threads, thread_name_prefix="envoi-webhook"
        )
        self._socket = _listening_socket(listen, limits.backlog)
        self._server = uvicorn.Server(self._config())
        self._thread = threading.Thread(
            target=self._server.run, args=([self._socket],), name="envoi-webhooks", daemon=True
        )

    def _config(self) -> uvicorn.Config:
        app = Starlette(routes=[Route("/{path:path}", self._endpoint, methods=["GET", "POST"])])
        limits = self.limits
        protocol = functools.partial(
            HeaderDeadlineProtocol, header_timeout_s=limits.header_timeout_s
        )
        return uvicorn.Config(
            app,
            http=protocol,
            loop="asyncio",
            ws="none",
            lifespan="off",
            log_config=None,  # the gateway's logging stays as the operator set it
            access_log=False,  # requests carry signatures: no access log
            server_header=False,
            limit_concurrency=limits.max_connections,
            backlog=limits.backlog,
            timeout_keep_alive=limits.keep_alive_timeout_s,
            timeout_graceful_shutdown=limits.shutdown_timeout_s,
            h11_max_incomplete_event_size=limits.max_header_bytes,
        )

    @property
    def port(self) -> int:
        return self._socket.getsockname()[1]

    def start(self):
        self._thread.start()
        deadline_s = time.monotonic() + _STARTUP_TIMEOUT_S
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline_s:
                raise RuntimeError("the webhook server did not start")
            time.sleep(0.01)

    def stop(self):
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(self.limits.shutdown_timeout_s + _STARTUP_TIMEOUT_S)
        self._socket.close()
        self._pool.shutdown(wait=False, cancel_futures=True)

    async def _endpoint(self, http_request: Request) -> Response:
        method, path = http_request.method, http_request.url.path
        found = self.routes.get((method, path))
        if found is None:
            return _json(404, "no such route")
        try:
            body = await read_body(http_request, self.limits)
        except RequestRefused as refused:
            log.warning("%s %s refused: %s %s", method, path, refused.status, refused.error)
            return _json(refused.status, refused.error, close=True)
        request = WebhookRequest(
            method=method,
            path=path,
            query=dict(urllib.parse.parse_qsl(http_request.url.query)),
            headers=dict(http_request.headers.items()),  # Starlette gives names in lower case
            body=body,
        )
        loop = asyncio.get_running_loop()
        response = await loop.run_in_executor(self._pool, self._answer, *found, request)
        return Response(
            response.body, response.status, headers={"content-type": response.content_type}
        )

    def _answer(self, channel, route, request: WebhookRequest) -> WebhookResponse:
        """The route's response, once the posts it delivered are taken in: in a
        trace of its own (a no-op unless traces are on), so that the gRPC calls
        made here follow it. A sender's traceparent is only linked, not followed:
        anyone on the internet may send one, and must not choose our trace ids
        nor make us sample."""
        sender = trace.get_current_span(propagate.extract(request.headers)).get_span_context()
        with _tracer.start_as_current_span(
            f"{request.method} {request.path}",  # a route's path: a bounded set of names
            context=context.Context(),  # a new root, whatever this thread had
            kind=trace.SpanKind.SERVER,
            links=[trace.Link(sender)] if sender.is_valid else (),
        ):
            return self._answer_in_span(channel, route, request)

    def _answer_in_span(self, channel, route, request: WebhookRequest) -> WebhookResponse:
        try:
            response = route.handle(request)
            for post in response.posts:
                take_in(channel, self.clients[channel.name], self.store, post)
            return response
        except errors.Unavailable:
            return WebhookResponse(503, b'{"error": "try again"}')
        except Exception as exc:  # the cause for the operator; never the body or headers
            log.error("%s %s failed: %s", request.method, request.path, cause(exc))
            return WebhookResponse(500, b'{"error": "internal error"}')


def _json(status: int, error: str, *, close: bool = False) -> Response:
    # A request refused before its body was read leaves bytes on the wire: close.
    headers = {"connection": "close"} if close else {}
    return Response(f'{{"error": "{error}"}}', status, headers, media_type="application/json")


def _listening_socket(listen: str, backlog: int) -> socket.socket:
    """Bound and listening before start(), so .port is known and early
    connections wait in the backlog."""
    host, _, port = listen.rpartition(":")
    host = (host or "localhost").strip("[]")
    family, kind, proto, _, address = socket.getaddrinfo(
        host, int(port), type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(address)
    sock.listen(backlog)
    sock.setblocking(False)
    return sock
