"""The wallet's Prometheus metrics (names start with envoi_wallet_)."""

import time

from prometheus_client import Counter, Gauge, Histogram, start_http_server

from envoi.wallet.settings import split_listen

REQUESTS = Histogram(
    "envoi_wallet_http_request_duration_seconds",
    "Time to answer a page or form, by route and status",
    ["route", "status"],
)
SIGN_INS = Counter(
    "envoi_wallet_sign_ins_total", "Sign-ins with X, by outcome (known, new, failed)", ["outcome"]
)
CONFIRMATIONS = Counter(
    "envoi_wallet_confirmations_total",
    "Codes typed on the confirmation page, by outcome",
    ["outcome"],
)
LIVE_STREAMS = Gauge("envoi_wallet_live_streams", "Pages open on the live feed")


def serve(listen: str) -> None:
    """Serve /metrics on listen (host:port); an empty value turns it off."""
    if listen:
        host, port = split_listen(listen)
        start_http_server(port, addr=host)


class Timed:
    """ASGI middleware: REQUESTS by route (its path pattern, not the concrete path)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        status = {"code": 500}

        async def remember(message):
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        started = time.monotonic()
        try:
            await self.app(scope, receive, remember)
        finally:
            elapsed_s = time.monotonic() - started
            REQUESTS.labels(_route(scope), str(status["code"])).observe(elapsed_s)


def _route(scope) -> str:
    route = scope.get("route")
    return getattr(route, "path", "other")
