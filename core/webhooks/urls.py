"""Which URLs an endpoint may have, and which addresses envoi may POST to.

An endpoint is https:// to a public address. Plain http is allowed only to a
loopback host and only with ENVOI_WEBHOOKS_ALLOW_HTTP_LOOPBACK=1 (tests and
local development): the same setting lets the worker connect to loopback
addresses, which it refuses otherwise. The host is checked again at each
send, on the addresses it resolves to then (DNS can change after creation).
"""

import ipaddress
import urllib.parse

MAX_URL_LENGTH = 2048
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "[::1]")


def url_refusal(url: str, *, allow_http_loopback: bool) -> str | None:
    """Why `url` cannot be an endpoint's, or None."""
    if not url or len(url) > MAX_URL_LENGTH or not url.isascii() or not url.isprintable():
        return f"an https:// URL of at most {MAX_URL_LENGTH} printable ASCII characters"
    try:
        parts = urllib.parse.urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return "not a URL"
    if parts.username is not None or parts.password is not None:
        return "must not carry a user name or a password"
    if not parts.hostname or parts.fragment:
        return "needs a host, and no #fragment"
    loopback = parts.netloc.rsplit(":", 1)[0] in LOOPBACK_HOSTS or parts.netloc in LOOPBACK_HOSTS
    if parts.scheme == "https":
        return None
    if parts.scheme == "http" and allow_http_loopback and loopback:
        return None
    return "must be https://"


def address_refusal(address: str, *, allow_loopback: bool) -> str | None:
    """Why the worker must not connect to this IP address, or None: anything
    but a public address (private networks, the cloud's metadata service,
    link-local, multicast, reserved), and loopback unless allowed."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    if ip.is_loopback:
        return None if allow_loopback else "a loopback address"
    if not ip.is_global or ip.is_multicast:
        return "not a public address"
    return None
