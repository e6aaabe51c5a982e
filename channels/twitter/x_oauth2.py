"""OAuth 2.0 authorization code with PKCE in the X API emulator: "sign in with X".

X's flow (RFC 6749 section 4.1 and RFC 7636, S256 only): the app sends the
person to ``/2/oauth2/authorize`` with its client_id, redirect_uri, state and
code_challenge; the person says who they are (the emulator has no passwords: a
form asks for the username) and is sent back to redirect_uri with a code and
the state; the app trades the code, with its code_verifier and its client
credentials (HTTP Basic), at ``/2/oauth2/token`` for a user access token, and
calls ``GET /2/users/me`` with it::

    x = XApiEmulator()  # x.oauth2.client_id, x.oauth2.client_secret
    # browser: GET {x.base_url}/2/oauth2/authorize?response_type=code&...

A code works once, within CODE_TTL_S, for the client and redirect_uri it was
issued to, and only with the verifier whose SHA-256 is its challenge.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import json
import secrets
import threading
import time
import urllib.parse
from typing import Any, Callable

CODE_TTL_S = 30
MAX_BODY_BYTES = 8192
AUTHORIZE_PATH = "/2/oauth2/authorize"
TOKEN_PATH = "/2/oauth2/token"
_AUTHORIZE_PARAMS = (
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
)

# (status, content type, body, extra headers)
Answer = tuple[int, str, bytes, dict]


def _json(status: int, document: dict) -> Answer:
    return status, "application/json; charset=utf-8", json.dumps(document).encode(), {}


def _error(status: int, error: str, description: str) -> Answer:
    return _json(status, {"error": error, "error_description": description})


def s256(verifier: str) -> str:
    """The code_challenge of a code_verifier (RFC 7636 section 4.2)."""
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in with X (emulator)</title></head>
<body><main>
<h1>Sign in with X</h1>
<p>The X API emulator has no passwords: say who you are.</p>
{error}
<form method="post" action="{action}">
{hidden}
<label for="username">Username</label>
<input id="username" name="username" autocomplete="username" required autofocus>
<button type="submit">Authorize app</button>
</form>
</main></body></html>
"""


class OAuth2Provider:
    """The authorization server of one emulator: its client, its codes."""

    def __init__(
        self,
        find_user: Callable[[str], "dict | None"],
        issue_token: Callable[[str], str],
        *,
        client_id: str | None = None,
        client_secret: str | None = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.client_id = client_id or "emu-oauth2-" + secrets.token_hex(8)
        self.client_secret = client_secret or "emu-oauth2-secret-" + secrets.token_hex(16)
        self._find_user = find_user
        self._issue_token = issue_token
        self._clock = clock
        self._lock = threading.Lock()
        self._codes: dict[str, dict] = {}  # code -> what it was issued for

    def handle(self, method: str, target: str, headers: Any, body: bytes) -> Answer | None:
        """The answer to a request for the OAuth 2.0 endpoints, None for any other path."""
        path, _, raw_query = target.partition("?")
        if path == AUTHORIZE_PATH and method == "GET":
            params = dict(urllib.parse.parse_qsl(raw_query, keep_blank_values=True))
            return self._authorize_page(params)
        if path == AUTHORIZE_PATH and method == "POST":
            return self._authorize(_form(body))
        if path == TOKEN_PATH and method == "POST":
            return self._token(headers, _form(body))
        return None

    def _authorize_check(self, params: dict) -> str | None:
        """Why the authorize request is refused, or None."""
        if params.get("response_type") != "code":
            return "response_type must be code"
        if not hmac.compare_digest(params.get("client_id", ""), self.client_id):
            return "unknown client_id"
        if urllib.parse.urlsplit(params.get("redirect_uri", "")).scheme not in ("http", "https"):
            return "redirect_uri must be an http(s) URL"
        if params.get("code_challenge_method") != "S256" or not params.get("code_challenge"):
            return "a code_challenge with code_challenge_method S256 is required"
        if not params.get("state"):
            return "state is required"
        return None

    def _authorize_page(self, params: dict, error: str = "") -> Answer:
        refused = self._authorize_check(params)
        if refused:  # never redirect to an unchecked redirect_uri
            return 400, "text/plain; charset=utf-8", refused.encode(), {}
        hidden = "\n".join(
            f'<input type="hidden" name="{name}" value="{html.escape(params.get(name, ""))}">'
            for name in _AUTHORIZE_PARAMS
        )
        notice = f'<p role="alert">{html.escape(error)}</p>' if error else ""
        page = _PAGE.format(action=AUTHORIZE_PATH, hidden=hidden, error=notice)
        return 200, "text/html; charset=utf-8", page.encode(), {}

    def _authorize(self, form: dict) -> Answer:
        if self._authorize_check(form):
            return self._authorize_page(form)
        user = self._find_user(form.get("username", "").lstrip("@"))
        if user is None:
            return self._authorize_page(form, "No such user.")
        code = secrets.token_urlsafe(24)
        with self._lock:
            self._codes[code] = {
                "user_id": user["id"],
                "redirect_uri": form["redirect_uri"],
                "challenge": form["code_challenge"],
                "scope": form.get("scope", ""),
                "expires_at": self._clock() + CODE_TTL_S,
            }
        query = urllib.parse.urlencode({"state": form["state"], "code": code})
        separator = "&" if "?" in form["redirect_uri"] else "?"
        return 302, "text/plain", b"", {"Location": form["redirect_uri"] + separator + query}

    def _client_authenticated(self, headers: Any, form: dict) -> bool:
        scheme, _, value = headers.get("Authorization", "").partition(" ")
        if scheme != "Basic":
            return False
        try:
            client_id, _, secret = base64.b64decode(value).decode().partition(":")
        except ValueError:
            return False
        return hmac.compare_digest(client_id, self.client_id) and hmac.compare_digest(
            secret, self.client_secret
        )

    def _token(self, headers: Any, form: dict) -> Answer:
        if not self._client_authenticated(headers, form):
            return _error(401, "invalid_client", "client authentication failed")
        if form.get("grant_type") != "authorization_code":
            return _error(400, "unsupported_grant_type", "only authorization_code")
        with self._lock:
            issued = self._codes.pop(form.get("code", ""), None)  # a code works once
        if (
            issued is None
            or issued["expires_at"] < self._clock()
            or form.get("redirect_uri") != issued["redirect_uri"]
            or not hmac.compare_digest(s256(form.get("code_verifier", "")), issued["challenge"])
        ):
            return _error(
                400, "invalid_request", "Value passed for the authorization code was invalid."
            )
        token = self._issue_token(issued["user_id"])
        return _json(
            200,
            {
                "token_type": "bearer",
                "expires_in": 7200,
                "access_token": token,
                "scope": issued["scope"],
            },
        )


def _form(body: bytes) -> dict:
    if len(body) > MAX_BODY_BYTES:
        return {}
    try:
        return dict(urllib.parse.parse_qsl(body.decode(), keep_blank_values=True))
    except UnicodeDecodeError:
        return {}
