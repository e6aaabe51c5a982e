"""A local emulator of Messenger for tests: the Send API over real HTTP on
loopback, and Meta's side of the webhook (signed deliveries, the verification
GET). Use it in tests of this channel, or as a model for your own::

    with SendApiEmulator(page_id="1001") as meta:
        payload = meta.webhook_payload(meta.user_message("2001", "envoyer 10€ @alice"))
        status, _ = meta.deliver(webhook_url, payload)          # X-Hub-Signature-256
        status, body = meta.verify(webhook_url, meta.verify_token, "1158201444")
        ...                                                      # the channel replies
        assert meta.sent[0]["text"].startswith("Confirm")

The Send API checks the page access token (the Authorization header, or the
access_token parameter), the body's shape, that the person wrote to the page,
and Messenger's 24-hour rule for RESPONSE messages, on the emulator's clock
(`clock`, settable). Errors are Graph API error documents: code 190 for a bad
token, 100 for a bad request, 10/2018278 outside the window, 613 when
`fail_next(613)` asks for a rate limit. `sent` lists what was accepted,
`calls` every request with its status (never the token). `linking` is
Messenger's account linking, for signing in to a site from Messenger
(account_linking.py).
"""

from __future__ import annotations

import hmac
import http.server
import itertools
import json
import secrets
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

from envoi_channel_messenger.account_linking import REDIRECT_PATH, AccountLinking
from envoi_channel_messenger.webhook import sign

WINDOW_S = 24 * 3600
MAX_TEXT_CHARS = 2000
_mids = itertools.count(1)
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _error(status: int, code: int, message: str, subcode: int | None = None) -> tuple[int, dict]:
    error = {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "emulated"}
    if subcode is not None:
        error["error_subcode"] = subcode
    return status, {"error": error}


def _http(request: urllib.request.Request, timeout_s: float = 10.0) -> tuple[int, bytes, str]:
    try:
        with _NO_PROXY.open(request, timeout=timeout_s) as response:
            return response.status, response.read(), response.headers.get("Content-Type", "")
    except urllib.error.HTTPError as error:
        return error.code, error.read(), error.headers.get("Content-Type", "")


class SendApiEmulator:
    version = "v21.0"

    def __init__(self, page_id: str = "1001", *, clock=time.time):
        self.page_id = page_id
        self.clock = clock
        self.app_secret = secrets.token_hex(16)
        self.verify_token = secrets.token_urlsafe(12)
        self.page_access_token = secrets.token_urlsafe(24)
        self.sent: list[dict] = []
        self.calls: list[dict] = []
        self._last_message_s: dict[str, float] = {}  # psid -> when they last wrote
        self._failures: list[int] = []
        self._lock = threading.Lock()
        emulator = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self._reply(*emulator._handle(self.path, self.headers, body))

            def do_GET(self):  # account linking (account_linking.py)
                self._reply(*emulator._handle_get(self.path, self.headers))

            def _reply(self, status: int, document: dict) -> None:
                out = json.dumps(document).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            def log_message(self, *args):  # requests carry the token: no access log
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self.linking = AccountLinking(lambda: self.base_url, page_id)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def env(self) -> dict[str, str]:
        """The MESSENGER_* settings of a channel that talks to this emulator."""
        return {
            "MESSENGER_APP_SECRET": self.app_secret,
            "MESSENGER_VERIFY_TOKEN": self.verify_token,
            "MESSENGER_PAGE_ACCESS_TOKEN": self.page_access_token,
            "MESSENGER_PAGE_ID": self.page_id,
            "MESSENGER_GRAPH_API_URL": self.base_url,
            "MESSENGER_GRAPH_API_VERSION": self.version,
        }

    def __enter__(self) -> SendApiEmulator:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    # -- Meta's side of the webhook -------------------------------------------------

    def user_message(self, psid: str, text: str | None, *, mid: str | None = None) -> dict:
        """A person writes to the page: the messaging event Meta delivers. Opens
        (or renews) their 24-hour window on the emulator's clock."""
        now_s = self.clock()
        with self._lock:
            self._last_message_s[psid] = now_s
        message = {"mid": mid or f"m_emulated{next(_mids)}"}
        if text is not None:
            message["text"] = text
        return {
            "sender": {"id": psid},
            "recipient": {"id": self.page_id},
            "timestamp": int(now_s * 1000),
            "message": message,
        }

    def webhook_payload(self, *events: dict) -> dict:
        return {
            "object": "page",
            "entry": [
                {"id": self.page_id, "time": int(self.clock() * 1000), "messaging": list(events)}
            ],
        }

    def deliver(
        self, url: str, payload: dict | bytes, *, signature: str | None = None
    ) -> tuple[int, bytes]:
        """POST a delivery as Meta does, signed with the app secret unless
        `signature` is given (a forged one, or "" for none)."""
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        headers = {"Content-Type": "application/json"}
        header = sign(body, self.app_secret) if signature is None else signature
        if header:
            headers["X-Hub-Signature-256"] = header
        status, answer, _ = _http(urllib.request.Request(url, body, headers, method="POST"))
        return status, answer

    def verify(
        self, url: str, verify_token: str, challenge: str, mode: str = "subscribe"
    ) -> tuple[int, bytes, str]:
        """Meta's verification GET: (status, body, content type)."""
        query = urllib.parse.urlencode(
            {"hub.mode": mode, "hub.verify_token": verify_token, "hub.challenge": challenge}
        )
        return _http(urllib.request.Request(f"{url}?{query}"))

    # -- failures -------------------------------------------------------------------

    def fail_next(self, code: int, status: int = 400, subcode: int | None = None) -> None:
        """The next Send API call answers this Graph API error (613: rate limited)."""
        with self._lock:
            self._failures.append((status, code, subcode))

    def _handle_get(self, path: str, headers) -> tuple[int, dict]:
        parts = urllib.parse.urlsplit(path)
        query = dict(urllib.parse.parse_qsl(parts.query))
        if parts.path == REDIRECT_PATH:
            return self.linking.finish(query)
        if parts.path != f"/{self.version}/me":
            return _error(404, 803, "Unknown path components")
        if not self._authorized(path, headers):
            return _error(400, 190, "Invalid OAuth access token.")
        return self.linking.recipient(query)

    # -- the Send API -----------------------------------------------------------------

    def _authorized(self, path: str, headers) -> bool:
        scheme, _, token = headers.get("Authorization", "").partition(" ")
        if scheme != "Bearer":
            query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(path).query))
            token = query.get("access_token", "")
        return bool(token) and hmac.compare_digest(token.encode(), self.page_access_token.encode())

    def _handle(self, path: str, headers, body: bytes) -> tuple[int, dict]:
        with self._lock:
            call = {"path": urllib.parse.urlsplit(path).path, "status": 0}
            self.calls.append(call)
            call["status"], document = self._serve(path, headers, body)
            return call["status"], document

    def _serve(self, path: str, headers, body: bytes) -> tuple[int, dict]:
        if urllib.parse.urlsplit(path).path != f"/{self.version}/me/messages":
            return _error(404, 803, "Unknown path components")
        if not self._authorized(path, headers):
            return _error(400, 190, "Invalid OAuth access token.")
        if self._failures:
            status, code, subcode = self._failures.pop(0)
            return _error(status, code, "Emulated failure", subcode)
        try:
            document = json.loads(body)
            psid = document["recipient"]["id"]
            text = document["message"]["text"]
            messaging_type = document["messaging_type"]
        except (ValueError, KeyError, TypeError):
            return _error(400, 100, "Invalid parameter")
        if not isinstance(text, str) or not 0 < len(text) <= MAX_TEXT_CHARS:
            return _error(400, 100, "Invalid parameter: message text")
        last_s = self._last_message_s.get(psid)
        if last_s is None:
            return _error(400, 100, "No matching user found", 2018001)
        if messaging_type == "RESPONSE" and self.clock() - last_s > WINDOW_S:
            return _error(
                400, 10, "This message is sent outside of allowed window.", subcode=2018278
            )
        message_id = f"m_sent{next(_mids)}"
        self.sent.append(
            {"recipient": psid, "messaging_type": messaging_type, "text": text, "mid": message_id}
        )
        return 200, {"recipient_id": psid, "message_id": message_id}
