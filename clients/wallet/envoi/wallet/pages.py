"""The home page (balance, payments to confirm, history) and the confirmation page."""

from __future__ import annotations

import re
import time

from starlette.requests import Request

from envoi.client import errors
from envoi.v1 import transfer_pb2
from envoi.wallet import metrics, views
from envoi.wallet.forms import CODE
from envoi.wallet.money import money
from envoi.wallet.security import checked_form
from envoi.wallet.web import account_of, envoi, lang_of, redirect, render, t_of

HISTORY_PAGE_SIZE = 10
TRANSFER_ID = re.compile(r"[0-9a-fA-F-]{36}")
PAGE_TOKEN = re.compile(r"[A-Za-z0-9_=+/-]{1,512}")
PENDING = transfer_pb2.TRANSFER_STATE_PENDING_CONFIRMATION


async def home(request: Request):
    account_id = account_of(request)
    if not account_id:
        return render(request, "landing.html")
    lang, t = lang_of(request), t_of(request)
    # The live feed brings what happens after this moment (before the reads below:
    # an event between the two may show twice, never be missed).
    since_ms = int(time.time() * 1000)
    page_token = request.query_params.get("page", "")
    if page_token and not PAGE_TOKEN.fullmatch(page_token):
        page_token = ""
    balance = await envoi(request, "get_balance", account_id)
    waiting = await envoi(request, "list_pending_confirmations", account_id, page_size=50)
    try:
        history = await envoi(
            request,
            "list_transfers",
            account_id,
            page_size=HISTORY_PAGE_SIZE,
            page_token=page_token,
        )
    except errors.InvalidPageToken:
        return redirect("/")
    return render(
        request,
        "home.html",
        balance=balance_texts(balance, lang),
        pending=[views.pending(tr, lang, t) for tr in waiting.transfers],
        history=[views.row(tr, account_id, lang, t) for tr in history.transfers],
        next_page=history.next_page_token,
        first_page=not page_token,
        flash=request.session.pop("flash", None),
        since_ms=since_ms,
    )


def balance_texts(balance, lang: str) -> dict:
    code = balance.balance.currency_code
    return {
        "balance": money(balance.balance.amount_cents, code, lang),
        "held": money(balance.held.amount_cents, code, lang),
        "available": money(balance.available.amount_cents, code, lang),
    }


async def _own_pending(request: Request, transfer_id: str):
    """(transfer, None) when it waits for this person's code, else (None, a page)."""
    t = t_of(request)
    if not TRANSFER_ID.fullmatch(transfer_id):
        return None, render(request, "message.html", 404, message=t("not_found"))
    try:
        transfer = await envoi(request, "get_transfer", transfer_id)
    except (errors.TransferNotFound, errors.InvalidArgument):
        return None, render(request, "message.html", 404, message=t("not_found"))
    if transfer.from_account_id != account_of(request):  # same answer: reveal nothing
        return None, render(request, "message.html", 404, message=t("not_found"))
    if transfer.state != PENDING:
        return None, render(request, "message.html", 409, message=t("not_pending"))
    return transfer, None


def _confirm_page(request: Request, transfer, status: int = 200, error: str | None = None):
    lang, t = lang_of(request), t_of(request)
    view = views.pending(transfer, lang, t)
    intro = "requested_intro" if transfer.requested else "confirm_intro"
    return render(
        request,
        "confirm.html",
        status,
        transfer=view,
        intro=t(intro, amount=view["amount"], payee=view["payee"]),
        error=error,
    )


async def confirm(request: Request):
    transfer_id = request.path_params["transfer_id"]
    if not account_of(request):
        return redirect(f"/signin/x?next=/confirm/{transfer_id}")
    transfer, refused = await _own_pending(request, transfer_id)
    if refused:
        return refused
    if request.method == "GET":
        return _confirm_page(request, transfer)
    form = await checked_form(request)
    if form is None:
        return _confirm_page(request, transfer, 403, t_of(request)("csrf"))
    if form.get("action") == "decline":
        return await _decline(request, transfer)
    return await _confirm(request, transfer, form.get("code"))


async def _confirm(request: Request, transfer, code):
    t = t_of(request)
    if not isinstance(code, str) or not CODE.fullmatch(code):
        return _confirm_page(request, transfer, 400, t("code_format"))
    try:  # envoi compares the code: the wallet never keeps nor logs it
        done = await envoi(request, "confirm_transfer", transfer.transfer_id, code)
    except errors.InvalidCode:
        metrics.CONFIRMATIONS.labels("invalid_code").inc()
        return _confirm_page(request, transfer, 400, t("invalid_code"))
    except errors.CodeLocked:
        metrics.CONFIRMATIONS.labels("code_locked").inc()
        return _confirm_page(request, transfer, 423, t("code_locked"))
    except (errors.InsufficientFunds, errors.LimitExceeded):
        metrics.CONFIRMATIONS.labels("refused").inc()
        return _confirm_page(request, transfer, 409, t("insufficient_funds"))
    except errors.TransferNotPending:
        return render(request, "message.html", 409, message=t("not_pending"))
    metrics.CONFIRMATIONS.labels("confirmed").inc()
    amount = money(done.amount.amount_cents, done.amount.currency_code, lang_of(request))
    request.session["flash"] = t("confirmed", amount=amount)
    return redirect("/")


async def _decline(request: Request, transfer):
    t = t_of(request)
    try:
        await envoi(request, "cancel_transfer", transfer.transfer_id)
    except errors.TransferNotPending:
        return render(request, "message.html", 409, message=t("not_pending"))
    metrics.CONFIRMATIONS.labels("declined").inc()
    request.session["flash"] = t("declined")
    return redirect("/")
