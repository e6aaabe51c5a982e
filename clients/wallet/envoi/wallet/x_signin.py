"""Sign in with X: OAuth 2.0 authorization code with PKCE (RFC 6749, RFC 7636).

The wallet keeps the state and the code verifier in the signed session, sends
the person to X, trades the code for a user token (server to server, with the
client secret) and asks X who it belongs to. The X token is used once and
forgotten: the wallet keeps only the X user id and handle.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import secrets
import urllib.parse

import httpx

from envoi.wallet.settings import Settings

TIMEOUT_S = 10.0
MAX_ANSWER_BYTES = 64 * 1024
SCOPES = "users.read tweet.read"
CALLBACK_PATH = "/signin/x/callback"


class SignInFailed(Exception):
    """X refused, or answered something unexpected; the message says what (no secrets)."""


@dataclasses.dataclass(frozen=True)
class XUser:
    user_id: str
    username: str


def authorize_url(settings: Settings, session: dict) -> str:
    """Where to send the person; remembers the state and verifier in the session."""
    verifier = secrets.token_urlsafe(64)  # 86 characters of [A-Za-z0-9_-]
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    session["x_state"] = secrets.token_urlsafe(24)
    session["x_verifier"] = verifier
    query = {
        "response_type": "code",
        "client_id": settings.x_client_id,
        "redirect_uri": settings.public_url + CALLBACK_PATH,
        "scope": SCOPES,
        "state": session["x_state"],
        "code_challenge": challenge.rstrip(b"=").decode(),
        "code_challenge_method": "S256",
    }
    return settings.x_authorize_url + "?" + urllib.parse.urlencode(query)


def finish(settings: Settings, session: dict, query) -> XUser:
    """The X user behind the callback's code, after checking its state."""
    state, verifier = session.pop("x_state", None), session.pop("x_verifier", None)
    sent_state, code = query.get("state", ""), query.get("code", "")
    if not state or not verifier or not hmac.compare_digest(sent_state.encode(), state.encode()):
        raise SignInFailed("the state does not match this session's")
    if not code or len(code) > 512:
        raise SignInFailed("no code in X's answer (refused, or not a real one)")
    try:
        return _ask_x(settings, code, verifier)
    except httpx.HTTPError as error:  # unreachable, timed out: the class says enough
        raise SignInFailed(f"X did not answer: {type(error).__name__}") from None


def _ask_x(settings: Settings, code: str, verifier: str) -> XUser:
    with httpx.Client(timeout=TIMEOUT_S, trust_env=False) as http:
        token = _answer(
            http.post(
                settings.x_api_url + "/2/oauth2/token",
                data={
                    "grant_type": "authorization_code",
                    "code": code,
                    "redirect_uri": settings.public_url + CALLBACK_PATH,
                    "code_verifier": verifier,
                    "client_id": settings.x_client_id,
                },
                auth=(settings.x_client_id, settings.x_client_secret),
            )
        ).get("access_token")
        if not isinstance(token, str):
            raise SignInFailed("no access token")
        me = _answer(
            http.get(
                settings.x_api_url + "/2/users/me", headers={"Authorization": f"Bearer {token}"}
            )
        )
    user = me.get("data") or {}
    user_id, username = user.get("id"), user.get("username")
    if not (isinstance(user_id, str) and user_id.isdigit() and isinstance(username, str)):
        raise SignInFailed("X did not say who signed in")
    return XUser(user_id, username[:15])


def _answer(response: httpx.Response) -> dict:
    if response.status_code != 200:
        raise SignInFailed(f"X answered {response.status_code}")
    if len(response.content) > MAX_ANSWER_BYTES:
        raise SignInFailed("X's answer is too large")
    try:
        document = response.json()
    except ValueError:
        raise SignInFailed("X's answer is not JSON") from None
    if not isinstance(document, dict):
        raise SignInFailed("X's answer is not an object")
    return document
