"""A real HTTP server on localhost that plays merchants' webhook endpoints,
each path one endpoint with a behaviour the test sets and changes: answer a
status, hang until released, send a huge body, redirect, or hold an answer
until the test lets it go. It records every request it received."""

import dataclasses
import http.server
import json
import threading

HUGE_BODY_BYTES = 50 * 1024 * 1024


@dataclasses.dataclass
class Received:
    path: str
    headers: dict
    body: bytes

    @property
    def event_id(self) -> str:
        return json.loads(self.body)["id"]


class Receiver:
    def __init__(self, tls_context=None):
        """tls_context: an ssl.SSLContext to serve https:// instead."""
        self.behaviours: dict[str, str] = {}  # path -> "ok", "fail", "hang", "huge", "redirect"
        self.received: list[Received] = []
        self.answered: list[Received] = []  # those it answered 2xx (the connection may be gone)
        self.release = threading.Event()  # ends every "hang"
        self.holds: dict[str, threading.Event] = {}  # path -> the gate of "hold"
        self.lock = threading.Lock()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                receiver._handle(self)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.scheme = "http"
        if tls_context is not None:
            self.server.socket = tls_context.wrap_socket(self.server.socket, server_side=True)
            self.scheme = "https"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return f"{self.scheme}://127.0.0.1:{self.server.server_address[1]}/{path}"

    def requests_to(self, path: str) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.path == "/" + path]

    def answered_to(self, path: str) -> list[Received]:
        with self.lock:
            return [r for r in self.answered if r.path == "/" + path]

    def _handle(self, handler):
        body = handler.rfile.read(int(handler.headers["Content-Length"]))
        request = Received(handler.path, dict(handler.headers), body)
        with self.lock:
            self.received.append(request)
        behaviour = self.behaviours.get(handler.path.lstrip("/"), "ok")
        if behaviour == "hang":
            self.release.wait()
            return
        if behaviour == "hold":
            self.holds[handler.path.lstrip("/")].wait()
            behaviour = "ok"
        if behaviour == "huge":
            self._send_huge(handler, request)
        elif behaviour == "redirect":
            handler.send_response(302)
            handler.send_header("Location", "http://169.254.169.254/latest/meta-data/")
            handler.send_header("Content-Length", "0")
            handler.end_headers()
        else:
            status = 200 if behaviour == "ok" else 500
            self._answer(handler, request, status, b"ok" if status == 200 else b"boom")

    def _answer(self, handler, request, status: int, text: bytes):
        try:
            handler.send_response(status)
            handler.send_header("Content-Length", str(len(text)))
            handler.end_headers()
            handler.wfile.write(text)
        except OSError:
            return  # the worker is gone (killed): this answer reached no one
        if status == 200:
            with self.lock:
                self.answered.append(request)

    def _send_huge(self, handler, request):
        handler.send_response(200)
        handler.send_header("Content-Length", str(HUGE_BODY_BYTES))
        handler.end_headers()
        with self.lock:
            self.answered.append(request)
        chunk = b"x" * 65536
        try:
            for _ in range(HUGE_BODY_BYTES // len(chunk)):
                handler.wfile.write(chunk)
        except OSError:
            pass  # the worker stopped reading, as it should

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc_info):
        self.release.set()
        for gate in self.holds.values():
            gate.set()
        self.server.shutdown()
        self.server.server_close()
