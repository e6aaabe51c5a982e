"""The wallet's ASGI app: routes, signed session cookies, the request guard."""

from __future__ import annotations

import pathlib

import grpc
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from envoi.client import EnvoiClient, errors
from envoi.wallet import (
    account_pages,
    give_pages,
    live,
    metrics,
    money_pages,
    pages,
    signin_pages,
)
from envoi.wallet.security import Guard
from envoi.wallet.settings import Settings
from envoi.wallet.web import render, t_of

STATIC = pathlib.Path(__file__).parent / "static"
SESSION_MAX_AGE_S = 8 * 3600


def create_app(settings: Settings, client: EnvoiClient | None = None) -> Starlette:
    """The app; client defaults to one for settings.target with the wallet token."""
    routes = [
        Route("/", pages.home),
        Route("/confirm/{transfer_id}", pages.confirm, methods=["GET", "POST"]),
        Route("/events", live.events),
        Route("/top-up", money_pages.top_up, methods=["GET", "POST"]),
        Route("/withdraw", money_pages.withdraw, methods=["GET", "POST"]),
        Route("/give", give_pages.give, methods=["GET", "POST"]),
        Route("/code", account_pages.change_code, methods=["GET", "POST"]),
        Route("/notifications", account_pages.notifications, methods=["GET", "POST"]),
        Route("/signin/x", signin_pages.start),
        Route("/signin/x/callback", signin_pages.callback),
        Route("/signin/messenger", signin_pages.messenger),
        Route("/welcome", signin_pages.welcome, methods=["GET", "POST"]),
        Route("/signout", signin_pages.sign_out, methods=["POST"]),
        Route("/language", signin_pages.switch_language, methods=["POST"]),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    middleware = [
        Middleware(metrics.Timed),
        Middleware(Guard),
        # A cookie signed with ENVOI_WALLET_SECRET (itsdangerous), HttpOnly,
        # SameSite=Lax, Secure when the wallet is served over https.
        Middleware(
            SessionMiddleware,
            secret_key=settings.secret,
            session_cookie="envoi_wallet",
            max_age=SESSION_MAX_AGE_S,
            same_site="lax",
            https_only=settings.secure_cookies,
        ),
    ]
    app = Starlette(
        routes=routes,
        middleware=middleware,
        exception_handlers={errors.EnvoiError: unavailable, errors.AccountNotFound: signed_out},
    )
    app.state.settings = settings
    app.state.client = client or EnvoiClient(settings.target, token=settings.token)
    return app


async def unavailable(request, error):
    """envoi unreachable or restarting: say so, and let the person try again."""
    if error.code not in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
        raise error
    return render(request, "message.html", 503, message=t_of(request)("try_again"))


async def signed_out(request, _error):
    """The session names an account envoi does not know (any more): start again."""
    lang = request.session.get("lang")
    request.session.clear()
    if lang:
        request.session["lang"] = lang
    return render(request, "message.html", 401, message=t_of(request)("sign_in_again"))
