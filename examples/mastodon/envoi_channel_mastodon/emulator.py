"""A small emulator of a Mastodon server's API, over real HTTP, for tests:
accounts, statuses with their mentions resolved, the bot's mention
notifications (REST and the streaming API's server-sent events), and posting
statuses with an Idempotency-Key, as Mastodon's API does.

    with MastodonEmulator("envoi.social") as server:
        bot = server.add_account("envoi")
        alice = server.add_account("alice")
        server.post(alice, "@envoi #envoyer 10€ @bob@example.social")

What it serves (Bearer token required):
  GET  /api/v1/notifications?types[]=mention&since_id=N   the 40 newest after N;
       with min_id=N instead, the 40 oldest after N (paging forward); newest
       first in a page, as Mastodon orders them
  GET  /api/v1/streaming/user/notification                 `event: notification`,
       then `:thump` every heartbeat_s (Mastodon's keep-alive)
  POST /api/v1/statuses   status, in_reply_to_id, visibility; Idempotency-Key
"""

from __future__ import annotations

import html
import http.server
import itertools
import json
import queue
import re
import secrets
import sys
import threading
import urllib.parse
from typing import Any

_MENTION = re.compile(r"@([A-Za-z0-9_]+(?:[.-]+[A-Za-z0-9_]+)*)(?:@([A-Za-z0-9.-]+\.[A-Za-z]+))?")


class MastodonEmulator:
    def __init__(self, domain: str = "envoi.social", *, heartbeat_s: float = 0.2):
        self.domain = domain
        self.heartbeat_s = heartbeat_s
        self.access_token = secrets.token_urlsafe(24)
        self.accounts: dict[str, dict] = {}  # full acct (user@domain) -> account
        self.statuses: list[dict] = []
        self.posted: list[dict] = []  # statuses posted through the API, in order
        self.notifications: list[dict] = []  # the bot's, oldest first
        self.stream_connections = 0
        self.fail_streams = 0  # answer the next N stream requests 503
        self.padding_bytes = 0  # a hostile server: notification pages this much longer
        self._ids = itertools.count(100_000)
        self._idempotent: dict[str, dict] = {}
        self._listeners: list[queue.Queue] = []
        self._bot: dict | None = None
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def env(self) -> dict[str, str]:
        """The MASTODON_* settings of a channel whose bot is this server's bot."""
        return {
            "MASTODON_BASE_URL": self.base_url,
            "MASTODON_ACCESS_TOKEN": self.access_token,
            "MASTODON_BOT_ACCT": self._bot["full_acct"],
        }

    # -- the people and their posts ----------------------------------------

    def add_account(self, username: str, domain: str | None = None, *, bot: bool = False) -> dict:
        """An account of this server (or, with domain, one of another server it knows)."""
        domain = domain or self.domain
        full = f"{username}@{domain}".lower()
        account = {
            "id": str(next(self._ids)),
            "username": username,
            "acct": username if domain == self.domain else f"{username}@{domain}",
            "full_acct": full,
            "url": f"https://{domain}/@{username}",
        }
        with self._lock:
            self.accounts[full] = account
            if bot:
                self._bot = account
        return account

    def post(self, author: dict, text: str, *, visibility: str = "public", **extra) -> dict:
        """A status by author, its mentions resolved as Mastodon does (unknown
        accounts are not mentions); the bot is notified when it is mentioned."""
        mentions = []
        for username, domain in _MENTION.findall(text):
            account = self.accounts.get(f"{username}@{domain or self.domain}".lower())
            if account and account not in mentions:
                mentions.append(account)
        status = {
            "id": str(next(self._ids)),
            "content": _html(text, mentions),
            "account": _public(author),
            "mentions": [_public(m) for m in mentions],
            "visibility": visibility,
            "reblog": None,
            "in_reply_to_id": None,
            **extra,
        }
        with self._lock:
            self.statuses.append(status)
        if self._bot in mentions:
            self._notify("mention", author, status)
        return status

    def replies_to(self, status_id: str) -> list[dict]:
        return [s for s in self.posted if s["in_reply_to_id"] == status_id]

    def direct_to(self, account: dict) -> list[dict]:
        """Direct statuses the bot posted that mention account."""
        return [
            s
            for s in self.posted
            if s["visibility"] == "direct" and account["id"] in {m["id"] for m in s["mentions"]}
        ]

    def _notify(self, kind: str, author: dict, status: dict) -> None:
        notification = {
            "id": str(next(self._ids)),
            "type": kind,
            "account": _public(author),
            "status": status,
        }
        with self._lock:
            self.notifications.append(notification)
            listeners = list(self._listeners)
        for listener in listeners:
            listener.put(notification)

    # -- HTTP ----------------------------------------------------------------

    def _handler(self):
        emulator = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # the stream is sent in chunks, as Mastodon's is

            def do_GET(self):
                emulator._serve(self, "GET")

            def do_POST(self):
                emulator._serve(self, "POST")

            def log_message(self, *args):  # requests carry the token: no access log
                pass

        return Handler

    def _serve(self, request, method: str) -> None:
        if request.headers.get("Authorization") != f"Bearer {self.access_token}":
            return _answer(request, 401, {"error": "The access token is invalid"})
        url = urllib.parse.urlsplit(request.path)
        query = urllib.parse.parse_qs(url.query)
        if method == "GET" and url.path == "/api/v1/notifications":
            page = self._notifications(query)
            if self.padding_bytes:
                page.append({"id": "0", "type": "padding", "pad": "x" * self.padding_bytes})
            return _answer(request, 200, page)
        if method == "GET" and url.path == "/api/v1/streaming/user/notification":
            return self._stream(request)
        if method == "POST" and url.path == "/api/v1/statuses":
            length = int(request.headers.get("Content-Length") or 0)
            body = json.loads(request.rfile.read(length) or b"{}")
            return _answer(request, 200, self._create(body, request.headers.get("Idempotency-Key")))
        return _answer(request, 404, {"error": "Record not found"})

    def _notifications(self, query) -> list[dict]:
        forward = "min_id" in query
        after = int((query.get("min_id") or query.get("since_id") or ["0"])[0])
        types = set(query.get("types[]") or [])
        with self._lock:
            found = [
                n
                for n in self.notifications
                if int(n["id"]) > after and (not types or n["type"] in types)
            ]
        page = found[:40] if forward else found[-40:]
        return list(reversed(page))

    def _stream(self, request) -> None:
        with self._lock:
            self.stream_connections += 1
            failing = self.fail_streams > 0
            self.fail_streams -= failing
        if failing:
            return _answer(request, 503, {"error": "streaming unavailable"})
        events: queue.Queue = queue.Queue()
        with self._lock:
            self._listeners.append(events)
        request.send_response(200)
        request.send_header("Content-Type", "text/event-stream")
        request.send_header("Transfer-Encoding", "chunked")
        request.send_header("Connection", "close")
        request.end_headers()
        try:
            while True:
                try:
                    notification = events.get(timeout=self.heartbeat_s)
                except queue.Empty:
                    chunk = ":thump\n"
                else:
                    if notification is None:  # disconnect_streams
                        return
                    chunk = f"event: notification\ndata: {json.dumps(notification)}\n\n"
                data = chunk.encode()
                request.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                request.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client went away
        finally:
            with self._lock:
                self._listeners.remove(events)

    def _create(self, body: dict, idempotency_key: str | None) -> dict:
        with self._lock:
            if idempotency_key and idempotency_key in self._idempotent:
                return self._idempotent[idempotency_key]  # the same status, not a second
        status = self.post(
            self._bot,
            body.get("status", ""),
            visibility=body.get("visibility", "public"),
            in_reply_to_id=body.get("in_reply_to_id"),
        )
        with self._lock:
            self.posted.append(status)
            if idempotency_key:
                self._idempotent[idempotency_key] = status
        return status

    def disconnect_streams(self) -> None:
        """Hang up every open stream (as a server restart would)."""
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            listener.put(None)

    def __enter__(self) -> MastodonEmulator:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._server.shutdown()
        self._server.server_close()


class _Server(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        # A client that hung up mid-response (as the channel does on an
        # oversized page) is not an error of the server.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def _answer(request, status: int, document) -> None:
    body = json.dumps(document).encode()
    request.send_response(status)
    request.send_header("Content-Type", "application/json")
    request.send_header("Content-Length", str(len(body)))
    request.end_headers()
    request.wfile.write(body)


def _public(account: dict) -> dict:
    return {key: account[key] for key in ("id", "username", "acct", "url")}


def _html(text: str, mentions: list[dict]) -> str:
    """The status's content as Mastodon renders it: escaped text in <p>, each
    mention a link with its username in a span."""
    known = {m["acct"].lower(): m for m in mentions} | {m["full_acct"]: m for m in mentions}

    def link(match: re.Match) -> str:
        username, domain = match.groups()
        account = known.get(f"{username}@{domain}".lower() if domain else username.lower())
        if account is None:
            return html.escape(match.group())
        return (
            f'<span class="h-card"><a href="{account["url"]}" class="u-url mention">'
            f"@<span>{html.escape(account['username'])}</span></a></span>"
        )

    pieces, last = [], 0
    for match in _MENTION.finditer(text):
        pieces += [html.escape(text[last : match.start()]), link(match)]
        last = match.end()
    pieces.append(html.escape(text[last:]))
    return "<p>" + "".join(pieces).replace("\n", "<br>") + "</p>"
