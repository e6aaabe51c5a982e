"""The cause of an error, for a log line: its class and its message, never a
secret. Messages can hold one: libpq quotes a whole connection URL it cannot
parse (password included), a database error's DETAIL quotes the failing row,
an HTTP library's error names the URL it called (query string included)."""

import re

MAX_CAUSE_CHARS = 300  # one readable line; the class says the rest
REDACTED = "[redacted]"

_URL_PASSWORD = re.compile(r"(://[^/\s:@]*):[^@\s]*@")  # postgresql://user:password@host
_QUERY = re.compile(r"\?[\w.-]+=[^\s\"']*")  # ?access_token=..., of a URL or a path
_SECRET_SETTING = re.compile(  # password=..., "token": "...", api_key: ...
    r"""((?:password|passwd|token|secret|signature|api[_-]?key)["']?\s*[=:]\s*)"""
    r"""("[^"]*"|'[^']*'|[^\s&,;"']+)""",
    re.IGNORECASE,
)
_AUTHORIZATION = re.compile(r"""(authorization["']?\s*[=:]\s*["']?)[^"',;]*""", re.IGNORECASE)
_BEARER = re.compile(r"(bearer\s+)[^\s\"',;]+", re.IGNORECASE)


def cause(error: BaseException) -> str:
    """`Class: message`, the message without what could be a secret, on one line."""
    # A database error by its primary message only: its DETAIL can quote a row.
    primary = getattr(getattr(error, "diag", None), "message_primary", None)
    message = " ".join(str(primary or error).split())
    message = _URL_PASSWORD.sub(rf"\1:{REDACTED}@", message)
    message = _QUERY.sub(f"?{REDACTED}", message)
    for secret in (_SECRET_SETTING, _AUTHORIZATION, _BEARER):
        message = secret.sub(rf"\1{REDACTED}", message)
    if len(message) > MAX_CAUSE_CHARS:
        message = message[:MAX_CAUSE_CHARS] + "..."
    return f"{type(error).__name__}: {message}" if message else type(error).__name__
