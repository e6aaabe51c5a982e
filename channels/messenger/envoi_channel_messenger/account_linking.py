"""Messenger's account linking in the Send API emulator: how a person signs in
to a website (the wallet) from a conversation with the page.

On Messenger, the page sends a "log in" button; opening it, Messenger adds an
``account_linking_token`` (single use, short-lived) and a ``redirect_uri`` to
the site's URL. The site asks the Graph API whose token it is
(``GET /<version>/me?fields=recipient&account_linking_token=...`` with the
page's access token: the page-scoped id, PSID) and, once the person signed in,
sends them to redirect_uri with an ``authorization_code`` (or nothing, when it
failed). In tests::

    url = meta.linking.url(psid, "http://127.0.0.1:8000/signin/messenger")
    # the browser opens url; the site signs them in as messenger/<psid>
    assert meta.linking.linked[psid]  # the authorization_code the site gave
"""

from __future__ import annotations

import secrets
import threading
import time
import urllib.parse

TOKEN_TTL_S = 600
REDIRECT_PATH = "/messenger_platform/account_linking/"


class AccountLinking:
    def __init__(self, base_url, page_id: str, clock=time.monotonic):
        self._base_url = base_url  # a callable: the emulator's URL once it listens
        self._page_id = page_id
        self._clock = clock
        self._lock = threading.Lock()
        self._tokens: dict[str, tuple[str, float]] = {}  # token -> (psid, expires at)
        self.linked: dict[str, str] = {}  # psid -> the authorization_code the site gave

    def url(self, psid: str, site_url: str) -> str:
        """The log-in button's URL as Messenger opens it for the person with psid."""
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._tokens[token] = (psid, self._clock() + TOKEN_TTL_S)
        redirect = f"{self._base_url()}{REDIRECT_PATH}?" + urllib.parse.urlencode(
            {"account_linking_token": token}
        )
        query = urllib.parse.urlencode({"account_linking_token": token, "redirect_uri": redirect})
        return f"{site_url}{'&' if '?' in site_url else '?'}{query}"

    def recipient(self, query: dict) -> tuple[int, dict]:
        """GET /me?fields=recipient&account_linking_token=: the PSID, once."""
        token = query.get("account_linking_token", "")
        with self._lock:
            psid, expires_at = self._tokens.get(token, ("", 0))
            self._tokens[token] = (psid, 0)  # used
        if query.get("fields") != "recipient" or not psid or expires_at < self._clock():
            error = {"message": "Invalid account_linking_token", "type": "OAuthException"}
            return 400, {"error": {**error, "code": 100, "fbtrace_id": "emulated"}}
        return 200, {"id": self._page_id, "recipient": psid}

    def finish(self, query: dict) -> tuple[int, dict]:
        """The site sends the person back: linked when it gives an authorization_code."""
        code = query.get("authorization_code", "")
        with self._lock:
            psid, _ = self._tokens.get(query.get("account_linking_token", ""), ("", 0))
            if code and psid:
                self.linked[psid] = code
        return 200, {"linked": bool(code and psid)}
