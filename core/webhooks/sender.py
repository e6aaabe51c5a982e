"""One POST of a delivery to an endpoint, bounded in every way.

http.client (the standard library) rather than requests: the worker must
connect to the very address it checked (resolve, refuse private and loopback
addresses, connect to that IP, TLS to the host name), which requests does not
let a caller do, and it follows no redirect on its own. Bounds: the connect
timeout, a deadline for the whole attempt (a watchdog shuts the socket, so a
receiver dripping bytes cannot hold it), and at most max_response_bytes read.
"""

import dataclasses
import http.client
import socket
import ssl
import threading
import time
import urllib.parse

from envoi.core.webhooks.urls import address_refusal

EXCERPT_CHARS = 256
USER_AGENT = "envoi-webhooks/1"


@dataclasses.dataclass(frozen=True)
class Outcome:
    status_code: int | None
    latency_ms: int
    error_class: str | None
    response_excerpt: str = ""

    @property
    def acknowledged(self) -> bool:
        return self.error_class is None


class AddressRefused(Exception):
    pass


@dataclasses.dataclass(frozen=True)
class Limits:
    connect_timeout_s: float
    timeout_s: float
    max_response_bytes: int
    allow_loopback: bool


def post(url: str, body: bytes, headers: dict[str, str], limits: Limits) -> Outcome:
    started = time.monotonic()
    deadline = started + limits.timeout_s
    status, excerpt = None, ""
    try:
        status, excerpt = _post(url, body, headers, limits, deadline)
        error = _status_error(status)
    except Exception as failure:  # noqa: BLE001 - every failure is a class in the log
        # Past the deadline, the watchdog shut the socket: whatever broke, it was time.
        error = "TIMEOUT" if time.monotonic() >= deadline else _error_class(failure)
    latency_ms = int((time.monotonic() - started) * 1000)
    return Outcome(status, latency_ms, error, excerpt)


def _error_class(failure: Exception) -> str:
    for kind, name in (
        (AddressRefused, "ADDRESS_REFUSED"),
        (socket.gaierror, "DNS"),
        (ssl.SSLError, "TLS"),
        (TimeoutError, "TIMEOUT"),
        (http.client.HTTPException, "PROTOCOL"),
        (OSError, "CONNECT"),
    ):
        if isinstance(failure, kind):
            return name
    return "PROTOCOL"


def _status_error(status: int) -> str | None:
    if 200 <= status <= 299:
        return None
    # A redirect is not followed: it could lead anywhere, a private address too.
    return "REDIRECT" if 300 <= status <= 399 else "HTTP_STATUS"


def _post(url, body, headers, limits: Limits, deadline: float) -> tuple[int, str]:
    parts = urllib.parse.urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    sock = _connect(parts.hostname, port, limits, deadline)
    # The watchdog: past the deadline, whatever the socket waits for ends.
    current = [sock]
    watchdog = threading.Timer(max(0.0, deadline - time.monotonic()), _shut, (current,))
    watchdog.start()
    try:
        if parts.scheme == "https":
            sock = ssl.create_default_context().wrap_socket(sock, server_hostname=parts.hostname)
            current[0] = sock
        # The class for its default port only (Host: shop.example, not :443):
        # the socket, already connected and checked, is handed over.
        https = parts.scheme == "https"
        connection = (http.client.HTTPSConnection if https else http.client.HTTPConnection)(
            parts.hostname, port
        )
        connection.sock = sock
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        connection.request("POST", path, body=body, headers={**headers, "User-Agent": USER_AGENT})
        response = connection.getresponse()
        data = response.read(limits.max_response_bytes)
        return response.status, _excerpt(data)
    finally:
        watchdog.cancel()
        sock.close()


def _connect(host: str, port: int, limits: Limits, deadline: float) -> socket.socket:
    """A socket to the first of the host's addresses that answers, once every
    address it resolves to is one envoi may reach (a mix could be used to
    reach the other)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    for *_, address in infos:
        if address_refusal(address[0], allow_loopback=limits.allow_loopback):
            raise AddressRefused(host)
    failure = None
    for family, kind, proto, _, address in infos:
        left_s = deadline - time.monotonic()
        if left_s <= 0:
            raise TimeoutError(host)
        sock = socket.socket(family, kind, proto)
        try:
            sock.settimeout(min(limits.connect_timeout_s, left_s))
            sock.connect(address)
            sock.settimeout(limits.timeout_s)
            return sock
        except OSError as error:
            sock.close()
            failure = error
    raise failure


def _shut(current: list) -> None:
    try:
        current[0].shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


def _excerpt(data: bytes) -> str:
    text = data[:EXCERPT_CHARS].decode("utf-8", "replace")
    return "".join(c if c.isprintable() else " " for c in text)[:EXCERPT_CHARS]
