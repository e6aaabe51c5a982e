"""Signing in (with X, or from Messenger), opening an account for a new person,
signing out, the language."""

from __future__ import annotations

import logging
import secrets
import urllib.parse
import uuid

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from envoi.client import errors
from envoi.v1 import identity_pb2
from envoi.wallet import i18n, messenger_signin, metrics, x_signin
from envoi.wallet.forms import CODE
from envoi.wallet.security import checked_form
from envoi.wallet.web import envoi, local_path, redirect, render, t_of

log = logging.getLogger(__name__)


def _new_session(request: Request, **values) -> None:
    """A sign-in starts a new session (no fixation), keeping only the language."""
    lang = request.session.get("lang")
    request.session.clear()
    request.session.update({**({"lang": lang} if lang else {}), **values})


def _failed(request: Request, failure: Exception):
    log.warning("sign-in failed: %s", failure)
    metrics.SIGN_INS.labels("failed").inc()
    return render(request, "message.html", 400, message=t_of(request)("sign_in_failed"))


def _onward(request: Request):
    """Back to Messenger when the sign-in came from it, else to the page asked for."""
    if "return_to" in request.session:
        return redirect(request.session.pop("return_to"))
    return redirect(local_path(request.session.pop("next", "/")))


async def _signed_in(request: Request, identity: identity_pb2.Identity, who: str, name: str):
    """The person behind a verified identity: their account, or the welcome page."""
    request.session["who"] = who
    try:
        found = await envoi(request, "resolve_identity", identity)
    except (errors.IdentityNotLinked, errors.AccountNotFound):
        request.session["new_user"] = {
            "namespace": identity.namespace,
            "id": identity.subject_id,
            "handle": identity.handle,
            "name": name,
        }
        metrics.SIGN_INS.labels("new").inc()
        return redirect("/welcome")
    request.session["account_id"] = found.account_id
    metrics.SIGN_INS.labels("known").inc()
    return _onward(request)


async def start(request: Request):
    _new_session(request, next=local_path(request.query_params.get("next")))
    return redirect(x_signin.authorize_url(request.app.state.settings, request.session))


async def callback(request: Request):
    settings = request.app.state.settings
    try:
        user = await run_in_threadpool(
            x_signin.finish, settings, request.session, request.query_params
        )
    except x_signin.SignInFailed as failure:
        return _failed(request, failure)
    identity = identity_pb2.Identity(
        namespace="twitter", subject_id=user.user_id, handle=user.username
    )
    return await _signed_in(request, identity, "@" + user.username, "@" + user.username)


async def messenger(request: Request):
    """Messenger's log-in button lands here (account linking)."""
    settings = request.app.state.settings
    if not settings.messenger_page_token:
        return render(request, "message.html", 404, message=t_of(request)("not_found"))
    _new_session(request)
    try:
        psid = await run_in_threadpool(
            messenger_signin.psid_of,
            settings,
            request.query_params.get("account_linking_token", ""),
        )
    except x_signin.SignInFailed as failure:
        return _failed(request, failure)
    back = request.query_params.get("redirect_uri", "")
    if back.startswith(settings.messenger_linking_url) and "#" not in back:
        code = urllib.parse.urlencode({"authorization_code": secrets.token_urlsafe(16)})
        request.session["return_to"] = f"{back}{'&' if '?' in back else '?'}{code}"
    identity = identity_pb2.Identity(namespace="messenger", subject_id=psid)
    return await _signed_in(request, identity, "Messenger", f"Messenger {psid[-4:]}")


async def welcome(request: Request):
    new_user = request.session.get("new_user")
    if not new_user:
        return redirect("/")
    if request.method == "GET":
        request.session["open_request_id"] = str(uuid.uuid4())
        return render(request, "welcome.html", error=None)
    t = t_of(request)
    form = await checked_form(request)
    if form is None:
        return render(request, "welcome.html", 403, error=t("csrf"))
    code, again = form.get("code", ""), form.get("code_again", "")
    if not isinstance(code, str) or not CODE.fullmatch(code):
        return render(request, "welcome.html", 400, error=t("code_format"))
    if code != again:
        return render(request, "welcome.html", 400, error=t("codes_differ"))
    identity = identity_pb2.Identity(
        namespace=new_user["namespace"], subject_id=new_user["id"], handle=new_user["handle"]
    )
    try:
        opened = await envoi(
            request,
            "open_account_response",
            "PERSON",
            new_user["name"],
            code,
            identity=identity,
            request_id=request.session.get("open_request_id"),
        )
        account_id = opened.account.account_id
        if opened.claimed_transfers:  # money sent to this identity before it had an account
            request.session["flash"] = t("claimed", count=len(opened.claimed_transfers))
    except errors.IdentityAlreadyLinked:  # opened meanwhile, in another tab
        account_id = (await envoi(request, "resolve_identity", identity)).account_id
    request.session.pop("new_user")
    request.session["account_id"] = account_id
    return _onward(request)


async def sign_out(request: Request):
    if await checked_form(request) is None:
        return render(request, "message.html", 403, message=t_of(request)("csrf"))
    _new_session(request)
    return redirect("/")


async def switch_language(request: Request):
    form = await checked_form(request)
    if form is None:
        return render(request, "message.html", 403, message=t_of(request)("csrf"))
    request.session["lang"] = i18n.language(form.get("lang"))
    return redirect(local_path(form.get("back")))
