"""The gateway's HTTP server: each channel's webhook routes, on one port.

A route returns the response and the posts the request delivered; the posts
are taken in before the response is sent, so a 2xx means they are safely in
(and a 503 asks the network to deliver them again).
"""

import http.server
import logging
import threading
import urllib.parse

from envoi.channels.channel import WebhookRequest, WebhookResponse
from envoi.channels.intake import take_in
from envoi.client import errors

log = logging.getLogger("envoi.channels.webhooks")

MAX_BODY_BYTES = 1_000_000


class _WebhookHTTPServer(http.server.ThreadingHTTPServer):
    # The standard library listens with a backlog of 5: a burst of deliveries
    # (a popular post, a network catching up) got connections refused.
    request_queue_size = 1024


class WebhookServer:
    def __init__(self, listen: str, routes_by_channel: dict, client_for_channel: dict, store):
        host, _, port = listen.rpartition(":")
        self.routes = {}  # (method, path) -> (channel, route)
        for channel, routes in routes_by_channel.items():
            for route in routes:
                if not route.path.startswith(f"/{channel.name}/"):
                    raise ValueError(
                        f"{channel.name} route {route.path} must start with /{channel.name}/"
                    )
                self.routes[(route.method, route.path)] = (channel, route)
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                server._handle(self)

            def do_POST(self):
                server._handle(self)

            def log_message(self, *args):  # requests carry signatures: no access log
                pass

        self.clients = client_for_channel
        self.store = store
        self.httpd = _WebhookHTTPServer((host or "localhost", int(port)), Handler)
        self.httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, name="envoi-webhooks", daemon=True
        )

    @property
    def port(self) -> int:
        return self.httpd.server_address[1]

    def start(self):
        self._thread.start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()

    def _handle(self, handler) -> None:
        url = urllib.parse.urlsplit(handler.path)
        found = self.routes.get((handler.command, url.path))
        if found is None:
            return self._reply(handler, WebhookResponse(404, b'{"error": "no such route"}'))
        length = int(handler.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            return self._reply(handler, WebhookResponse(413, b'{"error": "body too large"}'))
        channel, route = found
        request = WebhookRequest(
            method=handler.command,
            path=url.path,
            query=dict(urllib.parse.parse_qsl(url.query)),
            headers={key.lower(): value for key, value in handler.headers.items()},
            body=handler.rfile.read(length),
        )
        try:
            response = route.handle(request)
            for post in response.posts:
                take_in(channel, self.clients[channel.name], self.store, post)
        except errors.Unavailable:
            response = WebhookResponse(503, b'{"error": "try again"}')
        except Exception as exc:  # never leak details (or secrets) to the caller
            log.error("%s %s failed: %s", handler.command, url.path, type(exc).__name__)
            response = WebhookResponse(500, b'{"error": "internal error"}')
        self._reply(handler, response)

    @staticmethod
    def _reply(handler, response: WebhookResponse) -> None:
        handler.send_response(response.status)
        handler.send_header("Content-Type", response.content_type)
        handler.send_header("Content-Length", str(len(response.body)))
        handler.end_headers()
        handler.wfile.write(response.body)
