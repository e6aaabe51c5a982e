"""What keeps the pages safe: CSRF tokens, bounded requests, strict headers."""

from __future__ import annotations

import hmac
import secrets

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import PlainTextResponse

MAX_BODY_BYTES = 16 * 1024  # a form of a few fields; anything bigger is refused
MAX_FORM_FIELDS = 20
CSRF_FIELD = "csrf_token"

# No inline script or style, nothing from elsewhere: an injected tag runs nothing.
HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
        b"object-src 'none'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
    (b"cache-control", b"no-store"),
]


def csrf_token(session: dict) -> str:
    """The session's CSRF token (synchronizer pattern), made on first use."""
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


async def checked_form(request: Request) -> FormData | None:
    """The posted form when its CSRF token is the session's, else None."""
    form = await request.form(max_fields=MAX_FORM_FIELDS, max_files=0)
    sent, expected = form.get(CSRF_FIELD), request.session.get("csrf")
    if not isinstance(sent, str) or not expected:
        return None
    return form if hmac.compare_digest(sent.encode(), expected.encode()) else None


class Guard:
    """ASGI middleware: bodies over MAX_BODY_BYTES get 413, every answer the HEADERS."""

    def __init__(self, app, max_body_bytes: int = MAX_BODY_BYTES):
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope["headers"]).get(b"content-length", b"0")
        if not declared.isdigit() or int(declared) > self.max_body_bytes:
            return await PlainTextResponse("request too large", 413)(scope, receive, send)
        received = 0

        async def bounded_receive():
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_body_bytes:  # chunked bodies declare no length
                raise TooLarge
            return message

        async def with_headers(message):
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *HEADERS]}
            await send(message)

        try:
            await self.app(scope, bounded_receive, with_headers)
        except TooLarge:
            await PlainTextResponse("request too large", 413)(scope, receive, send)


class TooLarge(Exception):
    pass
