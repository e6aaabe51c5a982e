"""A local emulator of the X API v2, for tests: real tweepy, real HTTP, loopback.

It serves the endpoints a Twitter/X channel uses, with the JSON shapes, auth
checks, rate-limit headers and errors X returns, and it delivers signed Account
Activity webhooks the way X does. Use it in your own channel plugin's tests::

    from envoi.channels.twitter.x_api_emulator import XApiEmulator
    from envoi.channels.twitter.x_api_session import make_client

    with XApiEmulator() as x:
        bot, bob, alice = x.add_user("SmoneyFR"), x.add_user("bob"), x.add_user("alice")
        payment = x.post(bob, "@SmoneyFR #envoyer 10€ @alice")

        client = make_client(x.base_url, bearer_token=x.app_bearer_token,
                             **x.oauth1_credentials(bot))
        page = client.get_users_mentions(bot["id"], tweet_fields=["entities"])
        assert str(page.data[0].id) == payment["id"]
        client.create_tweet(text="@bob confirm in your app",
                            in_reply_to_tweet_id=payment["id"])
        assert x.replies_to(payment)[0]["text"] == "@bob confirm in your app"

        x.fail_next("get_users_mentions", status=429, reset_in_s=60)
        # ... the next mentions call raises tweepy.TooManyRequests, reset_time now + 60

        payload = x.account_activity_payload(payment, for_user=bot)
        status, body = x.deliver_webhook(webhook_url, payload, x.consumer_secret)

Credentials are issued by the emulator (`app_bearer_token`, `oauth1_credentials`,
`user_bearer_token`) and checked on every call, OAuth 1.0a signatures included;
`calls` records every request with the kind of auth it used and its status.
"Sign in with X" (OAuth 2.0 with PKCE) is served at /2/oauth2/authorize and
/2/oauth2/token for the client `oauth2.client_id` / `oauth2.client_secret`
(see x_oauth2.py).

Endpoints are named after tweepy's methods (see `ENDPOINTS`); `fail_next` and
`set_rate_limit` take such a name, a path pattern (``/2/users/:id/mentions``,
optionally preceded by the method) or a concrete path. Each endpoint has one
fixed rate-limit window (not one per user). An injected failure has no effect.

What is modelled on X: ids are snowflakes, increasing across all emulators in
a process (a cursor kept from an earlier test stays behind new posts); post
text is HTML-escaped (&amp; &lt; &gt;) on the wire while entity offsets count
code points in the text as typed; mention entities exist only for known users;
a retweet's text is "RT @author: text" and retweets appear in the mentions
timeline; a user lookup that finds nobody is a 200 with `errors`; posting the
same text twice from one account is refused (403) unless
``reject_duplicate_posts=False``.
"""

from __future__ import annotations

import base64
import copy
import datetime
import hashlib
import hmac
import html
import http.server
import json
import logging
import re
import secrets
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from http import HTTPStatus
from typing import Any, Callable

from envoi.channels.twitter.x_oauth2 import OAuth2Provider

log = logging.getLogger(__name__)

RATE_WINDOW_S = 900
MAX_BODY_BYTES = 1 << 20  # bigger requests get 413, unread
_USER_PARAMS = ("expansions", "tweet.fields", "user.fields")
_MENTIONS_PARAMS = (
    "expansions",
    "max_results",
    "media.fields",
    "pagination_token",
    "place.fields",
    "poll.fields",
    "since_id",
    "tweet.fields",
    "until_id",
    "user.fields",
)
# name (tweepy's method): (method, path pattern, query parameters, default calls per window)
ENDPOINTS: dict[str, tuple[str, str, tuple[str, ...], int]] = {
    "get_me": ("GET", "/2/users/me", _USER_PARAMS, 75),
    "get_user_by_username": ("GET", "/2/users/by/username/:username", _USER_PARAMS, 900),
    "get_users_mentions": ("GET", "/2/users/:id/mentions", _MENTIONS_PARAMS, 450),
    "get_user": ("GET", "/2/users/:id", _USER_PARAMS, 900),
    "create_tweet": ("POST", "/2/tweets", (), 200),
    "create_direct_message": ("POST", "/2/dm_conversations/with/:participant_id/messages", (), 200),
}
_ROUTES = {
    name: re.compile(re.sub(r":(\w+)", r"(?P<\1>[^/]+)", pattern))
    for name, (_, pattern, _, _) in ENDPOINTS.items()
}
TWEET_FIELDS = frozenset(
    "attachments author_id card_uri context_annotations conversation_id created_at "
    "edit_controls edit_history_tweet_ids entities geo id in_reply_to_user_id lang "
    "non_public_metrics note_tweet organic_metrics possibly_sensitive promoted_metrics "
    "public_metrics referenced_tweets reply_settings scopes source text withheld".split()
)
TWEET_EXPANSIONS = frozenset(
    "attachments.media_keys attachments.poll_ids author_id edit_history_tweet_ids "
    "entities.mentions.username geo.place_id in_reply_to_user_id referenced_tweets.id "
    "referenced_tweets.id.author_id".split()
)
_USERNAME = re.compile(r"[A-Za-z0-9_]{1,15}")
_MENTION = re.compile(r"(?<![A-Za-z0-9_!@#$%&*])[@＠]([A-Za-z0-9_]{1,15})(?![A-Za-z0-9_@＠])")
_HASHTAG = re.compile(r"(?<![\w&])[#＃](\w*[^\W\d]\w*)")
_ISO = "%Y-%m-%dT%H:%M:%S.%fZ"
_TWITTER_EPOCH_MS = 1288834974657
_id_lock = threading.Lock()
_last_id = 0


def _next_id() -> str:
    """A snowflake: milliseconds since X's epoch << 22, strictly increasing."""
    global _last_id
    with _id_lock:
        _last_id = max(_last_id + 1, (int(time.time() * 1000) - _TWITTER_EPOCH_MS) << 22)
        return str(_last_id)


# -- webhooks: signatures, CRC, delivery over real HTTP ---------------------------


def _hmac_sha256(key: str, message: bytes) -> str:
    digest = hmac.new(key.encode(), message, hashlib.sha256).digest()
    return "sha256=" + base64.b64encode(digest).decode()


def signature(body: bytes, consumer_secret: str) -> str:
    """The x-twitter-webhooks-signature header X sends with ``body``."""
    return _hmac_sha256(consumer_secret, body)


def expected_crc_response(crc_token: str, consumer_secret: str) -> str:
    """The ``response_token`` a webhook must answer to a CRC GET with ``crc_token``."""
    return _hmac_sha256(consumer_secret, crc_token.encode())


_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _http(request: urllib.request.Request, timeout_s: float) -> tuple[int, bytes]:
    try:
        with _NO_PROXY.open(request, timeout=timeout_s) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def deliver_webhook(
    url: str,
    payload: dict | bytes,
    consumer_secret: str,
    *,
    signature: str | None = None,
    timeout_s: float = 10.0,
) -> tuple[int, bytes]:
    """POST ``payload`` (a dict, or the exact body bytes) to ``url`` as X does.

    The signature header is the right one unless ``signature`` is given: a
    forged one, or "" to send none. Returns the status and the response body.
    """
    if isinstance(payload, bytes):
        body = payload
    else:
        body = json.dumps(payload, separators=(",", ":")).encode()
    headers = {"Content-Type": "application/json; charset=utf-8"}
    header = _hmac_sha256(consumer_secret, body) if signature is None else signature
    if header:
        headers["x-twitter-webhooks-signature"] = header
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    return _http(request, timeout_s)


def new_crc_token() -> str:
    """A crc_token as X sends it: base64 of a random UUID string (48 characters)."""
    return base64.b64encode(str(uuid.uuid4()).encode()).decode().rstrip("=")


def crc_request(
    url: str, crc_token: str | None = None, *, timeout_s: float = 10.0
) -> tuple[int, Any]:
    """X's CRC GET, with a fresh real-shaped token unless ``crc_token`` is given
    (a test's hostile one) and a nonce (base64 of the time in milliseconds), as
    X sends them; returns the status and the parsed JSON (None if not JSON)."""
    nonce = base64.b64encode(str(int(time.time() * 1000)).encode()).decode().rstrip("=")
    query = urllib.parse.urlencode(
        {"crc_token": new_crc_token() if crc_token is None else crc_token, "nonce": nonce}
    )
    status, body = _http(
        urllib.request.Request(f"{url}{'&' if '?' in url else '?'}{query}"), timeout_s
    )
    try:
        return status, json.loads(body)
    except ValueError:
        return status, None


# -- X's error documents --------------------------------------------------------


def _problem(
    status: int, detail: str | None = None, type_: str = "about:blank"
) -> tuple[int, dict]:
    title = HTTPStatus(status).phrase
    return status, {"title": title, "detail": detail or title, "type": type_, "status": status}


def _invalid(parameter: str, value: str, message: str) -> tuple[int, dict]:
    return 400, {
        "errors": [{"parameters": {parameter: [value]}, "message": message}],
        "title": "Invalid Request",
        "detail": "One or more parameters to your request was invalid.",
        "type": "https://api.twitter.com/2/problems/invalid-request",
    }


def _invalid_value(parameter: str, value: str, why: str = "is not valid") -> tuple[int, dict]:
    return _invalid(parameter, value, f"The `{parameter}` query parameter value [{value}] {why}")


def _not_found(parameter: str, value: str) -> tuple[int, dict]:
    return 200, {
        "errors": [
            {
                "value": value,
                "detail": f"Could not find user with {parameter}: [{value}].",
                "title": "Not Found Error",
                "resource_type": "user",
                "parameter": parameter,
                "resource_id": value,
                "type": "https://api.twitter.com/2/problems/resource-not-found",
            }
        ]
    }


_USER_CONTEXT_ONLY = _problem(
    403,
    "Authenticating with OAuth 2.0 Application-Only is forbidden for this endpoint.  "
    "Supported authentication types are [OAuth 1.0a User Context, OAuth 2.0 User Context].",
    "https://api.twitter.com/2/problems/unsupported-authentication",
)


def _pct(value: str) -> str:
    return urllib.parse.quote(value, safe="~")


def _ms(iso: str) -> int:
    when = datetime.datetime.strptime(iso, _ISO).replace(tzinfo=datetime.timezone.utc)
    return int(when.timestamp() * 1000)


def _mentions_query_error(params: dict) -> "tuple[int, dict] | None":
    """The 400 a GET /2/users/:id/mentions query earns, or None when it is valid."""
    for key in ("since_id", "until_id"):
        if key in params and not params[key].isdigit():
            return _invalid_value(key, params[key])
    max_results = params.get("max_results", "10")
    if not max_results.isdigit() or not 5 <= int(max_results) <= 100:
        return _invalid_value("max_results", max_results, "is not between 5 and 100")
    for key, allowed in (("tweet.fields", TWEET_FIELDS), ("expansions", TWEET_EXPANSIONS)):
        values = _csv(params, key)
        if values - allowed:
            return _invalid_value(key, min(values - allowed), f"is not one of {sorted(allowed)}")
    return None


def _csv(params: dict, key: str) -> set[str]:
    return set(filter(None, params.get(key, "").split(",")))


def _base36(number: int) -> str:
    digits, out = "0123456789abcdefghijklmnopqrstuvwxyz", ""
    while True:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
        if not number:
            return out


# -- the HTTP server ----------------------------------------------------------------


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            self.send_error(413)
            return
        body = self.rfile.read(length) if length else b""
        emulator = self.server.emulator
        # Pages added with add_route, then "Sign in with X", then X's API.
        answer = emulator._page(self.command, self.path, self.headers, body)
        if answer is None:
            answer = emulator.oauth2.handle(self.command, self.path, self.headers, body)
        if answer is None:
            status, document, headers = emulator._handle(
                self.command, self.path, self.headers, body
            )
            answer = (
                status,
                "application/json; charset=utf-8",
                json.dumps(document).encode(),
                headers,
            )
        status, content_type, data, headers = answer
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("x-api-emulator: " + format, *args)  # the request line, never headers


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    emulator: XApiEmulator


class XApiEmulator:
    """An X API v2 server on 127.0.0.1 (a free port), and the test-side helpers.

    Users, posts and DMs are dicts: a user is ``{"id", "name", "username",
    "created_at"}``; a post is X's v2 post object with every field we model
    (id, text as typed, author_id, created_at, conversation_id,
    edit_history_tweet_ids, entities, referenced_tweets, in_reply_to_user_id);
    a DM is X's v2 DM event plus recipient_id. Wherever a user is expected, a
    user dict, an id or a username will do; a post, its dict or its id.
    """

    signature = staticmethod(signature)
    expected_crc_response = staticmethod(expected_crc_response)
    deliver_webhook = staticmethod(deliver_webhook)
    crc_request = staticmethod(crc_request)
    new_crc_token = staticmethod(new_crc_token)

    def __init__(
        self,
        *,
        consumer_key: str | None = None,
        consumer_secret: str | None = None,
        app_bearer_token: str | None = None,
        reject_duplicate_posts: bool = True,
        clock: Callable[[], float] = time.time,
    ):
        self.consumer_key = consumer_key or "emu-ck-" + secrets.token_hex(8)
        self.consumer_secret = consumer_secret or "emu-cs-" + secrets.token_hex(16)
        self.app_bearer_token = app_bearer_token or "emu-app-" + secrets.token_hex(16)
        self.reject_duplicate_posts = reject_duplicate_posts
        self._clock = clock  # created_at and rate-limit windows; ids use real time
        self._lock = threading.Lock()
        self._users: dict[str, dict] = {}
        self._posts: dict[str, dict] = {}
        self._dms: list[dict] = []
        self._calls: list[dict] = []
        self._user_bearers: dict[str, str] = {}  # token -> user id
        self._access_tokens: dict[str, tuple[str, str]] = {}  # token -> (user id, secret)
        self._limits = {
            name: {"limit": budget, "window_s": RATE_WINDOW_S, "remaining": budget, "reset_at": 0}
            for name, (_, _, _, budget) in ENDPOINTS.items()
        }
        self._failures: dict[str, list[tuple[int, int]]] = {name: [] for name in ENDPOINTS}
        self._routes: list[tuple[str, re.Pattern, Callable]] = []
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        # "Sign in with X": OAuth 2.0 with PKCE (x_oauth2.py), tokens as user_bearer_token's.
        self.oauth2 = OAuth2Provider(self._user_named, self.user_bearer_token)

    # -- lifecycle ----------------------------------------------------------------

    def start(self, host: str = "127.0.0.1", port: int = 0) -> XApiEmulator:
        """Serve on host:port (default: a free port of 127.0.0.1)."""
        if self._server is None:
            self._server = _Server((host, port), _Handler)
            self._server.emulator = self
            self._thread = threading.Thread(
                target=self._server.serve_forever, args=(0.05,), name="x-api-emulator", daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join()
            self._server = self._thread = None

    def __enter__(self) -> XApiEmulator:
        return self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("the X API emulator is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    # -- test side: the world -----------------------------------------------------

    def add_user(self, username: str, name: str | None = None) -> dict:
        if not _USERNAME.fullmatch(username):
            raise ValueError(f"not a valid X username: {username!r}")
        with self._lock:
            if self._find_username(username):
                raise ValueError(f"username taken: {username}")
            user = {
                "id": _next_id(),
                "name": name or username,
                "username": username,
                "created_at": self._now_iso(),
            }
            self._users[user["id"]] = user
            return copy.deepcopy(user)

    def user(self, user: dict | str) -> dict:
        with self._lock:
            return copy.deepcopy(self._user(user))

    def post(
        self,
        author: dict | str,
        text: str | None,
        *,
        retweet_of: dict | str | None = None,
        quote_of: dict | str | None = None,
        reply_to: dict | str | None = None,
    ) -> dict:
        """A post by ``author``. A retweet's ``text`` may be None: "RT @author: text"."""
        with self._lock:
            post = self._create_post(
                self._user(author)["id"],
                text,
                retweet_of=retweet_of,
                quote_of=quote_of,
                reply_to=reply_to,
            )
            return copy.deepcopy(post)

    def send_dm(self, sender: dict | str, recipient: dict | str, text: str) -> dict:
        with self._lock:
            dm = self._create_dm(self._user(sender)["id"], self._user(recipient)["id"], text)
            return copy.deepcopy(dm)

    def replies_to(self, post: dict | str) -> list[dict]:
        post_id = post["id"] if isinstance(post, dict) else str(post)
        reference = {"type": "replied_to", "id": post_id}
        with self._lock:
            return copy.deepcopy(
                [p for p in self._posts.values() if reference in p.get("referenced_tweets", [])]
            )

    def posts_by(self, user: dict | str) -> list[dict]:
        with self._lock:
            user_id = self._user(user)["id"]
            return copy.deepcopy([p for p in self._posts.values() if p["author_id"] == user_id])

    def dms_to(self, user: dict | str) -> list[dict]:
        with self._lock:
            user_id = self._user(user)["id"]
            return copy.deepcopy([dm for dm in self._dms if dm["recipient_id"] == user_id])

    @property
    def calls(self) -> list[dict]:
        """Every request: method, path, query, endpoint, auth, user_id, status.

        auth is "oauth1", "oauth2-app", "oauth2-user", or None when refused.
        """
        with self._lock:
            return copy.deepcopy(self._calls)

    # -- test side: credentials, limits, failures -------------------------------

    def oauth1_credentials(
        self,
        user: dict | str,
        *,
        access_token: str | None = None,
        access_token_secret: str | None = None,
    ) -> dict[str, str]:
        """OAuth 1.0a user-context credentials for ``user``: keyword arguments of make_client.
        New random ones, unless given (`envoi x-emulator`'s fixed ones)."""
        with self._lock:
            user_id = self._user(user)["id"]
            # X's tokens start with the user id
            token = access_token or f"{user_id}-{secrets.token_hex(12)}"
            self._access_tokens[token] = (user_id, access_token_secret or secrets.token_hex(16))
            return {
                "consumer_key": self.consumer_key,
                "consumer_secret": self.consumer_secret,
                "access_token": token,
                "access_token_secret": self._access_tokens[token][1],
            }

    def user_bearer_token(self, user: dict | str) -> str:
        """An OAuth 2.0 user-context access token for ``user``."""
        with self._lock:
            token = "emu-user-" + secrets.token_hex(16)
            self._user_bearers[token] = self._user(user)["id"]
            return token

    def add_route(self, method: str, path: str, handler: Callable) -> None:
        """Serve ``method path`` (a regular expression matching the whole path)
        with ``handler(match, query, headers, body)``, which returns (status,
        content type, body bytes, extra headers): pages and tools beside X's API."""
        self._routes.append((method, re.compile(path), handler))

    def _page(self, method: str, target: str, headers: Any, body: bytes) -> "tuple | None":
        path, _, raw_query = target.partition("?")
        for route_method, pattern, handler in self._routes:
            match = pattern.fullmatch(path)
            if route_method == method and match:
                query = dict(urllib.parse.parse_qsl(raw_query, keep_blank_values=True))
                return handler(match, query, headers, body)
        return None

    def set_rate_limit(self, endpoint: str, limit: int, *, window_s: int = RATE_WINDOW_S) -> None:
        """Allow ``limit`` calls to ``endpoint`` per ``window_s``, the first window from now."""
        with self._lock:
            self._limits[self._endpoint(endpoint)] = {
                "limit": limit,
                "window_s": window_s,
                "remaining": limit,
                "reset_at": int(self._clock()) + window_s,
            }

    def fail_next(
        self, endpoint: str, status: int = 429, *, times: int = 1, reset_in_s: int = RATE_WINDOW_S
    ) -> None:
        """The next ``times`` authenticated calls to ``endpoint`` get ``status``, do nothing.

        A 429 says x-rate-limit-remaining 0 and x-rate-limit-reset now + reset_in_s.
        """
        if status < 400:
            raise ValueError(f"fail_next takes an error status, not {status}")
        with self._lock:
            self._failures[self._endpoint(endpoint)] += [(status, reset_in_s)] * times

    # -- test side: Account Activity webhooks ------------------------------------

    def account_activity_payload(self, post_or_dm: dict, for_user: dict | str) -> dict:
        """The JSON X's Account Activity API posts to ``for_user``'s webhook."""
        with self._lock:
            for_user_id = self._user(for_user)["id"]
            if "event_type" not in post_or_dm:
                tweet = self._v1_tweet(self._posts[post_or_dm["id"]])
                if any(m["id_str"] == for_user_id for m in tweet["entities"]["user_mentions"]):
                    tweet["user_has_blocked"] = False
                return {"for_user_id": for_user_id, "tweet_create_events": [tweet]}
            dm = next((d for d in self._dms if d["id"] == post_or_dm["id"]), None)
            if dm is None:
                raise KeyError(f"no such DM: {post_or_dm['id']}")
            users = [self._users[dm["sender_id"]], self._users[dm["recipient_id"]]]
            return {
                "for_user_id": for_user_id,
                "direct_message_events": [
                    {
                        "type": "message_create",
                        "id": dm["id"],
                        "created_timestamp": str(_ms(dm["created_at"])),
                        "message_create": {
                            "target": {"recipient_id": dm["recipient_id"]},
                            "sender_id": dm["sender_id"],
                            "message_data": {"text": dm["text"], "entities": self._v1_entities(dm)},
                        },
                    }
                ],
                "users": {
                    u["id"]: {
                        "id": u["id"],
                        "created_timestamp": str(_ms(u["created_at"])),
                        "name": u["name"],
                        "screen_name": u["username"],
                    }
                    for u in users
                },
            }

    # -- the world --------------------------------------------------------------------

    def _now_iso(self) -> str:
        now = datetime.datetime.fromtimestamp(self._clock(), datetime.timezone.utc)
        return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"

    def _find_username(self, username: str) -> dict | None:
        wanted = username.lower()
        return next((u for u in self._users.values() if u["username"].lower() == wanted), None)

    def _user_named(self, username: str) -> dict | None:
        with self._lock:
            return copy.deepcopy(self._find_username(username))

    def _user(self, ref: dict | str) -> dict:
        key = ref["id"] if isinstance(ref, dict) else str(ref)
        user = self._users.get(key) or self._find_username(key.lstrip("@"))
        if user is None:
            raise KeyError(f"no such user: {ref!r}")
        return user

    def _entities(self, text: str) -> dict:
        mentions = [
            {"start": m.start(), "end": m.end(), "username": user["username"], "id": user["id"]}
            for m in _MENTION.finditer(text)
            if (user := self._find_username(m.group(1)))
        ]
        hashtags = [
            {"start": m.start(), "end": m.end(), "tag": m.group(1)} for m in _HASHTAG.finditer(text)
        ]
        return {
            key: value for key, value in (("mentions", mentions), ("hashtags", hashtags)) if value
        }

    def _create_post(
        self,
        author_id: str,
        text: str | None,
        *,
        retweet_of: Any = None,
        quote_of: Any = None,
        reply_to: Any = None,
    ) -> dict:
        references = {}
        for kind, ref in (
            ("retweeted", retweet_of),
            ("quoted", quote_of),
            ("replied_to", reply_to),
        ):
            if ref is not None:
                references[kind] = ref["id"] if isinstance(ref, dict) else str(ref)
                if references[kind] not in self._posts:
                    raise KeyError(f"no such post: {references[kind]}")
        if text is None:
            if retweet_of is None:
                raise ValueError("only a retweet may leave its text to the emulator")
            original = self._posts[references["retweeted"]]
            text = f"RT @{self._users[original['author_id']]['username']}: {original['text']}"
        post_id = _next_id()
        post = {
            "id": post_id,
            "text": text,
            "edit_history_tweet_ids": [post_id],
            "author_id": author_id,
            "created_at": self._now_iso(),
            "conversation_id": post_id,
        }
        if "replied_to" in references:
            parent = self._posts[references["replied_to"]]
            post["conversation_id"] = parent["conversation_id"]
            post["in_reply_to_user_id"] = parent["author_id"]
        if entities := self._entities(text):
            post["entities"] = entities
        if references:
            post["referenced_tweets"] = [{"type": k, "id": v} for k, v in references.items()]
        self._posts[post_id] = post
        return post

    def _create_dm(self, sender_id: str, recipient_id: str, text: str) -> dict:
        dm = {
            "id": _next_id(),
            "event_type": "MessageCreate",
            "text": text,
            "sender_id": sender_id,
            "recipient_id": recipient_id,
            "created_at": self._now_iso(),
            "dm_conversation_id": "-".join(sorted((sender_id, recipient_id), key=int)),
        }
        if entities := self._entities(text):
            dm["entities"] = entities
        self._dms.append(dm)
        return dm

    def _v1_entities(self, item: dict) -> dict:
        entities = item.get("entities", {})
        return {
            "hashtags": [
                {"text": h["tag"], "indices": [h["start"], h["end"]]}
                for h in entities.get("hashtags", [])
            ],
            "symbols": [],
            "urls": [],
            "user_mentions": [
                {
                    "screen_name": m["username"],
                    "name": self._users[m["id"]]["name"],
                    "id": int(m["id"]),
                    "id_str": m["id"],
                    "indices": [m["start"], m["end"]],
                }
                for m in entities.get("mentions", [])
            ],
        }

    def _v1_tweet(self, post: dict) -> dict:
        author = self._users[post["author_id"]]
        refs = {r["type"]: r["id"] for r in post.get("referenced_tweets", [])}
        parent = self._posts.get(refs.get("replied_to", ""))
        created = datetime.datetime.strptime(post["created_at"], _ISO)
        tweet = {
            "created_at": created.strftime("%a %b %d %H:%M:%S +0000 %Y"),
            "id": int(post["id"]),
            "id_str": post["id"],
            "text": html.escape(post["text"], quote=False),
            "truncated": False,
            "timestamp_ms": str(_ms(post["created_at"])),
            "in_reply_to_status_id": int(parent["id"]) if parent else None,
            "in_reply_to_status_id_str": parent["id"] if parent else None,
            "in_reply_to_user_id": int(parent["author_id"]) if parent else None,
            "in_reply_to_user_id_str": parent["author_id"] if parent else None,
            "in_reply_to_screen_name": self._users[parent["author_id"]]["username"]
            if parent
            else None,
            "user": {
                "id": int(author["id"]),
                "id_str": author["id"],
                "name": author["name"],
                "screen_name": author["username"],
            },
            "is_quote_status": "quoted" in refs,
            "entities": self._v1_entities(post),
        }
        if "quoted" in refs:
            tweet["quoted_status_id"] = int(refs["quoted"])
            tweet["quoted_status_id_str"] = refs["quoted"]
            tweet["quoted_status"] = self._v1_tweet(self._posts[refs["quoted"]])
        if "retweeted" in refs:
            tweet["retweeted_status"] = self._v1_tweet(self._posts[refs["retweeted"]])
        return tweet

    # -- HTTP: routing, auth, rate limits -----------------------------------------

    def _endpoint(self, ref: str) -> str:
        if ref in ENDPOINTS:
            return ref
        method, _, path = ref.rpartition(" ")
        for name, (endpoint_method, pattern, _, _) in ENDPOINTS.items():
            if method.upper() in ("", endpoint_method) and (
                path == pattern or _ROUTES[name].fullmatch(path)
            ):
                return name
        raise KeyError(f"unknown endpoint {ref!r}; known: {', '.join(ENDPOINTS)}")

    def _authenticate(
        self, method: str, path: str, query: list, headers: Any, body: bytes
    ) -> tuple[str, str | None] | None:
        """(kind of auth, acting user id or None), or None for missing or bad credentials."""
        scheme, _, value = headers.get("Authorization", "").partition(" ")
        if scheme == "Bearer":
            if value and hmac.compare_digest(value, self.app_bearer_token):
                return "oauth2-app", None
            user_id = self._user_bearers.get(value)
            return ("oauth2-user", user_id) if user_id else None
        if scheme != "OAuth":
            return None
        oauth = {k: urllib.parse.unquote(v) for k, v in re.findall(r'(\w+)="([^"]*)"', value)}
        token = self._access_tokens.get(oauth.get("oauth_token", ""))
        if (
            token is None
            or oauth.get("oauth_consumer_key") != self.consumer_key
            or oauth.get("oauth_signature_method") != "HMAC-SHA1"
        ):
            return None
        # RFC 5849 section 3.4: query, oauth_* and form-encoded body parameters, sorted.
        params = list(query) + [
            (k, v) for k, v in oauth.items() if k not in ("oauth_signature", "realm")
        ]
        if "application/x-www-form-urlencoded" in headers.get("Content-Type", ""):
            params += urllib.parse.parse_qsl(body.decode(), keep_blank_values=True)
        normalized = "&".join(f"{k}={v}" for k, v in sorted((_pct(k), _pct(v)) for k, v in params))
        base_url = f"http://{headers.get('Host', '').lower()}{path}"
        base_string = "&".join((method.upper(), _pct(base_url), _pct(normalized)))
        key = f"{_pct(self.consumer_secret)}&{_pct(token[1])}".encode()
        expected = base64.b64encode(hmac.new(key, base_string.encode(), hashlib.sha1).digest())
        if not hmac.compare_digest(expected.decode(), oauth.get("oauth_signature", "")):
            return None
        return "oauth1", token[0]

    def _handle(
        self, method: str, target: str, headers: Any, body: bytes
    ) -> tuple[int, dict, dict]:
        """(status, JSON document, extra headers) for one request; under the lock."""
        path, _, raw_query = target.partition("?")
        query = urllib.parse.parse_qsl(raw_query, keep_blank_values=True)
        name = next(
            (
                n
                for n, (m, _, _, _) in ENDPOINTS.items()
                if m == method and _ROUTES[n].fullmatch(path)
            ),
            None,
        )
        with self._lock:
            call = {
                "method": method,
                "path": path,
                "query": dict(query),
                "endpoint": name,
                "auth": None,
                "user_id": None,
                "status": 404,
            }
            self._calls.append(call)
            if name is None:
                return (
                    404,
                    {"errors": [{"message": "Sorry, that page does not exist", "code": 34}]},
                    {},
                )
            limit, now = self._limits[name], int(self._clock())
            if now >= limit["reset_at"]:
                limit["remaining"], limit["reset_at"] = limit["limit"], now + limit["window_s"]
            rate = {
                "x-rate-limit-limit": str(limit["limit"]),
                "x-rate-limit-remaining": str(limit["remaining"]),
                "x-rate-limit-reset": str(limit["reset_at"]),
            }
            status, document = self._serve(
                name, call, limit, rate, now, method, path, query, headers, body
            )
            call["status"] = status
            return status, document, rate

    def _serve(
        self,
        name: str,
        call: dict,
        limit: dict,
        rate: dict,
        now: int,
        method: str,
        path: str,
        query: list,
        headers: Any,
        body: bytes,
    ) -> tuple[int, dict]:
        auth = self._authenticate(method, path, query, headers, body)
        if auth is None:
            return _problem(401)
        call["auth"], call["user_id"] = auth
        if self._failures[name]:
            status, reset_in_s = self._failures[name].pop(0)
            if status == 429:
                rate["x-rate-limit-remaining"] = "0"
                rate["x-rate-limit-reset"] = str(now + reset_in_s)
            return _problem(status)
        if limit["remaining"] <= 0:
            return _problem(429)
        limit["remaining"] -= 1
        rate["x-rate-limit-remaining"] = str(limit["remaining"])
        params = dict(query)
        allowed = ENDPOINTS[name][2]
        for key in params:
            if key not in allowed:
                return _invalid(
                    key, params[key], f"The query parameter [{key}] is not one of {list(allowed)}"
                )
        try:
            document = json.loads(body) if body else {}
        except ValueError:
            document = None
        path_params = _ROUTES[name].fullmatch(path).groupdict()
        return getattr(self, "_api_" + name)(auth[1], params, document, **path_params)

    # -- HTTP: endpoints (me is the acting user's id, None for app-only auth) -----

    @staticmethod
    def _user_out(user: dict, params: dict) -> dict:
        fields = _csv(params, "user.fields") | {"id", "name", "username"}
        return {k: v for k, v in user.items() if k in fields}

    @staticmethod
    def _tweet_out(post: dict, fields: set[str]) -> dict:
        out = {k: v for k, v in post.items() if k in fields}
        out["text"] = html.escape(post["text"], quote=False)
        return out

    def _api_get_me(self, me: str | None, params: dict, _: Any) -> tuple[int, dict]:
        if me is None:
            return _USER_CONTEXT_ONLY
        return 200, {"data": self._user_out(self._users[me], params)}

    def _api_get_user(self, me: str | None, params: dict, _: Any, id: str) -> tuple[int, dict]:
        if not id.isdigit():
            return _invalid_value("id", id)
        user = self._users.get(id)
        return (200, {"data": self._user_out(user, params)}) if user else _not_found("id", id)

    def _api_get_user_by_username(
        self, me: str | None, params: dict, _: Any, username: str
    ) -> tuple[int, dict]:
        if not _USERNAME.fullmatch(username):
            return _invalid_value("username", username, "does not match ^[A-Za-z0-9_]{1,15}$")
        user = self._find_username(username)
        if user is None:
            return _not_found("username", username)
        return 200, {"data": self._user_out(user, params)}

    def _api_get_users_mentions(
        self, me: str | None, params: dict, _: Any, id: str
    ) -> tuple[int, dict]:
        refused = _mentions_query_error(params)
        if refused:
            return refused
        if id not in self._users:
            return _not_found("id", id)
        upper = int(params.get("until_id", 0)) or None
        if "pagination_token" in params:
            try:
                upper = int(params["pagination_token"], 36)
            except ValueError:
                return _invalid_value("pagination_token", params["pagination_token"])
        found = self._mentions_of(id, int(params.get("since_id", 0)), upper)
        page = found[: int(params.get("max_results", "10"))]
        if not page:
            return 200, {"meta": {"result_count": 0}}
        fields = _csv(params, "tweet.fields") | {"id", "text", "edit_history_tweet_ids"}
        out = {
            "data": [self._tweet_out(p, fields) for p in page],
            "meta": {
                "result_count": len(page),
                "newest_id": page[0]["id"],
                "oldest_id": page[-1]["id"],
            },
        }
        if len(found) > len(page):
            out["meta"]["next_token"] = _base36(int(page[-1]["id"]))
        includes = self._includes(page, _csv(params, "expansions"), fields, params)
        if includes:
            out["includes"] = includes
        return 200, out

    def _mentions_of(self, user_id: str, lower: int, upper: int | None) -> list[dict]:
        """The posts that mention the user with lower < id < upper, newest first."""
        return sorted(
            (
                p
                for p in self._posts.values()
                if any(m["id"] == user_id for m in p.get("entities", {}).get("mentions", []))
                and int(p["id"]) > lower
                and (upper is None or int(p["id"]) < upper)
            ),
            key=lambda p: int(p["id"]),
            reverse=True,
        )

    def _includes(self, page: list[dict], expansions: set[str], fields: set[str], params) -> dict:
        """The users and posts the expansions ask for, each once, in the order first met."""
        user_ids, tweet_ids = [], []
        for p in page:
            refs = [r["id"] for r in p.get("referenced_tweets", [])]
            if "author_id" in expansions:
                user_ids.append(p["author_id"])
            if "entities.mentions.username" in expansions:
                user_ids += [m["id"] for m in p.get("entities", {}).get("mentions", [])]
            if "in_reply_to_user_id" in expansions and "in_reply_to_user_id" in p:
                user_ids.append(p["in_reply_to_user_id"])
            if "referenced_tweets.id" in expansions:
                tweet_ids += refs
            if "referenced_tweets.id.author_id" in expansions:
                user_ids += [self._posts[r]["author_id"] for r in refs]
        includes = {}
        if user_ids:
            includes["users"] = [
                self._user_out(self._users[u], params) for u in dict.fromkeys(user_ids)
            ]
        if tweet_ids:
            includes["tweets"] = [
                self._tweet_out(self._posts[t], fields) for t in dict.fromkeys(tweet_ids)
            ]
        return includes

    def _api_create_tweet(self, me: str | None, params: dict, doc: Any) -> tuple[int, dict]:
        if me is None:
            return _USER_CONTEXT_ONLY
        text = doc.get("text") if isinstance(doc, dict) else None
        if not isinstance(text, str) or not text.strip():
            return _invalid("text", str(text), "The `text` field must be a non-empty string")
        reply_to = (doc.get("reply") or {}).get("in_reply_to_tweet_id")
        if reply_to is not None and str(reply_to) not in self._posts:
            return _problem(
                403, "You attempted to reply to a Tweet that is deleted or not visible to you."
            )
        quote_of = doc.get("quote_tweet_id")
        if quote_of is not None and str(quote_of) not in self._posts:
            return _problem(
                403, "You attempted to quote a Tweet that is deleted or not visible to you."
            )
        if self.reject_duplicate_posts and any(
            p["author_id"] == me and p["text"] == text for p in self._posts.values()
        ):
            return _problem(403, "You are not allowed to create a Tweet with duplicate content.")
        post = self._create_post(me, text, quote_of=quote_of, reply_to=reply_to)
        return 201, {
            "data": {"id": post["id"], "text": post["text"], "edit_history_tweet_ids": [post["id"]]}
        }

    def _api_create_direct_message(
        self, me: str | None, params: dict, doc: Any, participant_id: str
    ) -> tuple[int, dict]:
        if me is None:
            return _USER_CONTEXT_ONLY
        if participant_id not in self._users:
            return _invalid(
                "participant_id",
                participant_id,
                f"The `participant_id` [{participant_id}] is not a known user",
            )
        text = doc.get("text") if isinstance(doc, dict) else None
        if not isinstance(text, str) or not text:
            return _invalid("text", str(text), "The `text` field must be a non-empty string")
        dm = self._create_dm(me, participant_id, text)
        return 201, {
            "data": {"dm_conversation_id": dm["dm_conversation_id"], "dm_event_id": dm["id"]}
        }
