"""A tweepy client whose X API host is configuration.

tweepy 4 hard-codes ``https://api.twitter.com`` in ``BaseClient.request`` and
sends everything through ``client.session``, a ``requests.Session``. X has moved
domains before (api.twitter.com -> api.x.com), and tests point tweepy at a local
emulator, so `make_client` swaps that session for a `HostRewritingSession` that
sends requests for either X host to the configured base URL instead.

The rewrite happens while the request is prepared, before OAuth 1.0a signs it,
so the signature covers the URL that is actually requested.
"""

from __future__ import annotations

import copy
import logging
import urllib.parse

import requests
import tweepy

X_API_HOSTS = ("https://api.twitter.com", "https://api.x.com")

# tweepy logs every request's headers at DEBUG, the bearer token among them;
# requests_oauthlib and oauthlib log the signed OAuth 1.0a headers at DEBUG.
# Secrets must never reach logs, so these loggers stay at INFO or above
# whatever the application's logging level, and a filter drops their DEBUG
# records even if someone lowers the level again later.
_SECRET_LOGGING_LOGGERS = ("tweepy", "requests_oauthlib", "oauthlib")


def _drop_debug(record: logging.LogRecord) -> bool:
    return record.levelno >= logging.INFO


for _name in _SECRET_LOGGING_LOGGERS:
    _logger = logging.getLogger(_name)
    if _logger.level < logging.INFO:
        _logger.setLevel(logging.INFO)
# Filters apply only to records logged on the logger itself, not on its
# children, so they go on the loggers that actually log requests.
for _name in ("tweepy.client", "requests_oauthlib.oauth1_auth", "oauthlib.oauth1.rfc5849"):
    _logger = logging.getLogger(_name)
    if _drop_debug not in _logger.filters:
        _logger.addFilter(_drop_debug)


class HostRewritingSession(requests.Session):
    """A requests session that sends X API requests to ``api_base_url``.

    ``https://api.twitter.com/2/users/me?x=1`` becomes
    ``<api_base_url>/2/users/me?x=1``; any other URL is left alone. A base URL
    may carry a path prefix (``http://127.0.0.1:8080/x``), which is kept in
    front of the request's path.
    """

    def __init__(self, api_base_url: str):
        super().__init__()
        parts = urllib.parse.urlsplit(api_base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"api_base_url must be an http(s) URL, got {api_base_url!r}")
        if parts.query or parts.fragment:
            raise ValueError("api_base_url must not carry a query or fragment")
        self.api_base_url = api_base_url.rstrip("/")

    def rewrite_url(self, url: str) -> str:
        for host in X_API_HOSTS:
            if url == host or url.startswith(host + "/") or url.startswith(host + "?"):
                return self.api_base_url + url[len(host) :]
        return url

    def prepare_request(self, request: requests.Request) -> requests.PreparedRequest:
        # Session.request() calls this before the auth hook signs the request.
        request = copy.copy(request)
        request.url = self.rewrite_url(request.url)
        return super().prepare_request(request)


def make_client(
    api_base_url: str,
    *,
    bearer_token: str | None = None,
    consumer_key: str | None = None,
    consumer_secret: str | None = None,
    access_token: str | None = None,
    access_token_secret: str | None = None,
) -> tweepy.Client:
    """A tweepy v2 Client that talks to ``api_base_url``.

    With ``https://api.twitter.com`` it behaves exactly like plain tweepy.
    ``wait_on_rate_limit`` is off: a 429 raises ``tweepy.TooManyRequests``
    (with ``reset_time``) and the caller decides when to retry.
    """
    client = tweepy.Client(
        bearer_token=bearer_token,
        consumer_key=consumer_key,
        consumer_secret=consumer_secret,
        access_token=access_token,
        access_token_secret=access_token_secret,
        wait_on_rate_limit=False,
    )
    client.session.close()
    client.session = HostRewritingSession(api_base_url)
    return client
