"""The webhook server under hostile HTTP (issue 13, finding 5): raw sockets
against the real uvicorn server, the real Twitter channel and envoi's gRPC server."""

import socket
import time

import psutil
import pytest

from envoi.channels.gateway_store import GatewayStore
from envoi.channels.http_limits import WebhookLimits
from envoi.channels.twitter.channel import WEBHOOK_PATH, TwitterChannel
from envoi.channels.twitter.config import TwitterConfig
from envoi.channels.webhook_server import WebhookServer

SOCKET_TIMEOUT_S = 10.0
POST_HEAD = f"POST {WEBHOOK_PATH} HTTP/1.1\r\nHost: envoi\r\n".encode()


@pytest.fixture
def serve(x, bot, gateway_pool, channel_client_for):
    """serve(**limits) -> a started WebhookServer for the Twitter channel."""
    servers = []

    def start(**limits):
        channel = TwitterChannel(
            TwitterConfig(
                bot_handle="SmoneyFR",
                bot_user_id=bot["id"],
                api_base_url=x.base_url,
                **x.oauth1_credentials(bot),
            )
        )
        server = WebhookServer(
            "127.0.0.1:0",
            {channel: channel.webhook_routes()},
            {"twitter": channel_client_for("twitter")},
            GatewayStore(gateway_pool),
            WebhookLimits(**limits),
        )
        server.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def connect(server, data: bytes = b"") -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=SOCKET_TIMEOUT_S)
    if data:
        sock.sendall(data)
    return sock


def status_of(sock) -> int | None:
    """The response's status code, or None when the server closed without one."""
    received = b""
    while b"\r\n" not in received:
        try:
            chunk = sock.recv(4096)
        except ConnectionResetError:
            return None
        if not chunk:
            return None
        received += chunk
    return int(received.split(b" ")[1])


def send_until_refused(sock, total_bytes: int) -> None:
    """Push body bytes until the server stops taking them."""
    chunk = b"x" * 65_536
    try:
        for _ in range(total_bytes // len(chunk)):
            sock.sendall(chunk)
    except OSError:  # the server answered and closed
        pass


def is_open(sock) -> bool:
    sock.setblocking(False)
    try:
        return sock.recv(1, socket.MSG_PEEK) != b""
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        sock.setblocking(True)


def test_a_negative_content_length_is_400_and_reads_nothing(serve):
    server = serve()
    process = psutil.Process()
    rss_before = process.memory_info().rss
    for _ in range(5):
        sock = connect(server, POST_HEAD + b"Content-Length: -1\r\n\r\n" + b"x" * 1000)
        assert status_of(sock) == 400
        send_until_refused(sock, 20_000_000)
        sock.close()
    assert process.memory_info().rss - rss_before < 50_000_000


@pytest.mark.parametrize("length", ["abc", "", "1, 2", "99999999999999999999"])
def test_a_bad_or_huge_content_length_is_refused(serve, length):
    sock = connect(serve(), POST_HEAD + f"Content-Length: {length}\r\n\r\n".encode())
    assert status_of(sock) == (413 if length.isdigit() else 400)


def test_a_chunked_body_over_the_limit_is_413(serve):
    sock = connect(serve(max_body_bytes=100_000), POST_HEAD + b"Transfer-Encoding: chunked\r\n\r\n")
    try:
        for _ in range(50):  # 50 chunks of 64 KiB: well over the limit
            sock.sendall(b"10000\r\n" + b"x" * 65_536 + b"\r\n")
    except OSError:
        pass
    assert status_of(sock) == 413


def test_slow_headers_are_closed_after_the_header_deadline(serve):
    sock = connect(serve(header_timeout_s=1.0), POST_HEAD)  # and never the blank line
    assert status_of(sock) is None  # closed, well within SOCKET_TIMEOUT_S


def test_a_slow_body_is_408(serve):
    sock = connect(serve(body_read_timeout_s=1.0), POST_HEAD + b"Content-Length: 100\r\n\r\n{")
    assert status_of(sock) == 408


def test_a_genuine_delivery_gets_its_200_among_200_hostile_connections(x, bot, serve):
    server = serve()  # the default limits: the hostile connections stay open meanwhile
    hostile = []
    for _ in range(70):
        hostile.append(connect(server, POST_HEAD + b"Content-Length: 50"))  # slow headers
    for _ in range(70):
        hostile.append(connect(server, POST_HEAD + b"Content-Length: 900000\r\n\r\n{"))  # slow body
    for _ in range(60):  # oversized
        hostile.append(
            connect(server, POST_HEAD + b"Content-Length: 50000000\r\n\r\n" + b"x" * 1000)
        )
    post = x.post(x.add_user("alice"), "@SmoneyFR #envoyer 10€ @bob")
    url = f"http://127.0.0.1:{server.port}{WEBHOOK_PATH}"
    started_s = time.monotonic()
    status, _ = x.deliver_webhook(url, x.account_activity_payload(post, bot), x.consumer_secret)
    elapsed_s = time.monotonic() - started_s
    assert status == 200 and elapsed_s < 1.0, elapsed_s
    assert all(is_open(sock) for sock in hostile[:140])  # still held, not dropped to make room
    for sock in hostile:
        sock.close()


def test_oversized_headers_are_refused(serve):
    server = serve()
    whole = connect(server, POST_HEAD + b"X-Padding: " + b"a" * 20_000 + b"\r\n\r\n")
    assert status_of(whole) == 431
    trickled = connect(server, POST_HEAD)
    try:
        for _ in range(30):
            trickled.sendall(b"X-Padding: " + b"a" * 1000 + b"\r\n")
            time.sleep(0.01)  # separate reads, so h11 sees them still arriving
    except OSError:
        pass
    assert status_of(trickled) == 400


def test_a_path_no_channel_serves_is_404(serve):
    sock = connect(serve(), b"GET /nowhere HTTP/1.1\r\nHost: envoi\r\n\r\n")
    assert status_of(sock) == 404


def test_past_the_connection_limit_a_request_gets_503(serve):
    server = serve(max_connections=5)
    held = [connect(server, POST_HEAD) for _ in range(5)]  # headers not finished
    sock = connect(server, b"GET /nowhere HTTP/1.1\r\nHost: envoi\r\n\r\n")
    assert status_of(sock) == 503
    for sock in held:
        sock.close()
