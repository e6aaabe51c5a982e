"""The webhook server's limits on what a caller may hold open or send.

uvicorn bounds header size (h11), connections (limit_concurrency) and idle
keep-alive, but waits for request headers forever: HeaderDeadlineProtocol closes
a connection whose headers have not arrived in time. read_body reads a body as
a stream, never buffering more than the limit, under a per-read and a total
deadline.
"""

import asyncio
import dataclasses

import h11
from starlette.requests import ClientDisconnect, Request
from uvicorn.protocols.http.h11_impl import H11Protocol


@dataclasses.dataclass(frozen=True)
class WebhookLimits:
    max_body_bytes: int = 1_000_000
    max_header_bytes: int = 16_384
    # From the connection's opening (or the end of its previous response) to
    # the blank line that ends the request's headers.
    header_timeout_s: float = 10.0
    body_read_timeout_s: float = 10.0  # the longest wait for the body's next bytes
    body_timeout_s: float = 30.0  # the whole body
    max_connections: int = 1000  # beyond it, 503
    backlog: int = 1024  # connections accepted by the kernel, not yet by the server
    keep_alive_timeout_s: float = 5.0
    worker_threads: int = 16  # routes and take_in (blocking gRPC calls) run here
    shutdown_timeout_s: float = 5.0


class RequestRefused(Exception):
    """A request answered with `status` before its route saw it."""

    def __init__(self, status: int, error: str):
        super().__init__(error)
        self.status = status
        self.error = error


class HeaderDeadlineProtocol(H11Protocol):
    """uvicorn's h11 protocol, closing connections that are slow to send headers."""

    def __init__(self, *args, header_timeout_s: float, **kwargs):
        super().__init__(*args, **kwargs)
        self._header_timeout_s = header_timeout_s
        self._header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport) -> None:
        super().connection_made(transport)
        self._arm_header_timer()

    def connection_lost(self, exc) -> None:
        self._cancel_header_timer()
        super().connection_lost(exc)

    def handle_events(self) -> None:
        super().handle_events()
        if self.conn.their_state is not h11.IDLE:  # the request's headers are in
            self._cancel_header_timer()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        # A kept-alive connection owes the next request's headers in time too.
        if not self.transport.is_closing() and self.conn.their_state is h11.IDLE:
            self._arm_header_timer()

    def _arm_header_timer(self) -> None:
        self._cancel_header_timer()
        self._header_timer = self.loop.call_later(self._header_timeout_s, self._headers_late)

    def _cancel_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_late(self) -> None:
        self._header_timer = None
        if not self.transport.is_closing():
            self.transport.close()  # h11 cannot answer a request it has not read


async def read_body(request: Request, limits: WebhookLimits) -> bytes:
    """The whole body, or RequestRefused: 431 for headers over max_header_bytes,
    413 once the body passes max_body_bytes
    (at once when its Content-Length says so), 408 when it is too slow.

    h11 has already answered 400 to a Content-Length that is not a number
    (negative, empty, two different values) before the app sees the request.
    """
    # h11 bounds only headers still arriving; a block that came whole is counted here.
    if sum(len(name) + len(value) for name, value in request.scope["headers"]) > (
        limits.max_header_bytes
    ):
        raise RequestRefused(431, "headers too large")
    declared = request.headers.get("content-length")
    if declared is not None and int(declared) > limits.max_body_bytes:
        raise RequestRefused(413, "body too large")
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limits.body_timeout_s
    chunks = request.stream().__aiter__()
    body = bytearray()
    while True:
        wait_s = min(limits.body_read_timeout_s, deadline - loop.time())
        try:
            body += await asyncio.wait_for(chunks.__anext__(), timeout=max(wait_s, 0))
        except StopAsyncIteration:
            return bytes(body)
        except asyncio.TimeoutError:
            raise RequestRefused(408, "body too slow") from None
        except ClientDisconnect:
            raise RequestRefused(400, "client went away") from None
        if len(body) > limits.max_body_bytes:
            raise RequestRefused(413, "body too large")
