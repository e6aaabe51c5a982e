"""What every page handler shares: the envoi client, templates, the session's person."""

from __future__ import annotations

import pathlib

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse

from envoi.wallet import i18n
from envoi.wallet.security import CSRF_FIELD, csrf_token

TEMPLATES = pathlib.Path(__file__).parent / "templates"
_env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))


def lang_of(request: Request) -> str:
    return i18n.language(request.session.get("lang"))


def t_of(request: Request):
    return i18n.translator(lang_of(request))


def account_of(request: Request) -> str | None:
    return request.session.get("account_id")


async def envoi(request: Request, method: str, *args, **kwargs):
    """Call an EnvoiClient method off the event loop (the client is synchronous)."""
    client = request.app.state.client
    return await run_in_threadpool(getattr(client, method), *args, **kwargs)


def render(request: Request, template: str, status: int = 200, **values) -> HTMLResponse:
    lang = lang_of(request)
    page = _env.get_template(template).render(
        t=i18n.translator(lang),
        lang=lang,
        csrf_field=CSRF_FIELD,
        csrf_token=csrf_token(request.session),
        who=request.session.get("who"),
        signed_in=bool(account_of(request)),
        path=request.url.path,
        **values,
    )
    return HTMLResponse(page, status)


def redirect(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303)


def local_path(value: object, default: str = "/") -> str:
    """A path on this site only: no scheme, no host, no "//" (an open redirect)."""
    if isinstance(value, str) and value.startswith("/") and not value.startswith(("//", "/\\")):
        return value[:200]
    return default
