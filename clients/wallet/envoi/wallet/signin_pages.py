"""Signing in with X, opening an account for a new person, signing out, the language."""

from __future__ import annotations

import logging
import uuid

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from envoi.client import errors
from envoi.v1 import identity_pb2
from envoi.wallet import i18n, metrics, x_signin
from envoi.wallet.forms import CODE
from envoi.wallet.security import checked_form
from envoi.wallet.web import envoi, local_path, redirect, render, t_of

log = logging.getLogger(__name__)


async def start(request: Request):
    next_path = local_path(request.query_params.get("next"))
    lang = request.session.get("lang")
    request.session.clear()  # a new sign-in starts a new session (no fixation)
    request.session.update({"next": next_path, **({"lang": lang} if lang else {})})
    return redirect(x_signin.authorize_url(request.app.state.settings, request.session))


async def callback(request: Request):
    settings = request.app.state.settings
    try:
        user = await run_in_threadpool(
            x_signin.finish, settings, request.session, request.query_params
        )
    except x_signin.SignInFailed as failure:
        log.warning("sign-in with X failed: %s", failure)
        metrics.SIGN_INS.labels("failed").inc()
        return render(request, "message.html", 400, message=t_of(request)("sign_in_failed"))
    identity = identity_pb2.Identity(
        namespace="twitter", subject_id=user.user_id, handle=user.username
    )
    request.session["handle"] = user.username
    try:
        found = await envoi(request, "resolve_identity", identity)
    except (errors.IdentityNotLinked, errors.AccountNotFound):
        request.session["new_user"] = {"id": user.user_id, "username": user.username}
        metrics.SIGN_INS.labels("new").inc()
        return redirect("/welcome")
    request.session["account_id"] = found.account_id
    metrics.SIGN_INS.labels("known").inc()
    return redirect(local_path(request.session.pop("next", "/")))


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
        namespace="twitter", subject_id=new_user["id"], handle=new_user["username"]
    )
    try:
        opened = await envoi(
            request,
            "open_account_response",
            "PERSON",
            "@" + new_user["username"],
            code,
            identity=identity,
            request_id=request.session.get("open_request_id"),
        )
        account_id = opened.account.account_id
        if opened.claimed_transfers:  # money sent to this X account before it had one
            request.session["flash"] = t("claimed", count=len(opened.claimed_transfers))
    except errors.IdentityAlreadyLinked:  # opened meanwhile, in another tab
        account_id = (await envoi(request, "resolve_identity", identity)).account_id
    except errors.Unavailable:
        return render(request, "welcome.html", 503, error=t("try_again"))
    request.session.pop("new_user")
    request.session["account_id"] = account_id
    return redirect(local_path(request.session.pop("next", "/")))


async def sign_out(request: Request):
    if await checked_form(request) is None:
        return render(request, "message.html", 403, message=t_of(request)("csrf"))
    lang = request.session.get("lang")
    request.session.clear()
    if lang:
        request.session["lang"] = lang
    return redirect("/")


async def switch_language(request: Request):
    form = await checked_form(request)
    if form is None:
        return render(request, "message.html", 403, message=t_of(request)("csrf"))
    request.session["lang"] = i18n.language(form.get("lang"))
    return redirect(local_path(form.get("back")))
