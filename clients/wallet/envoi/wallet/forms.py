"""The pattern of the wallet's small forms: signed in, CSRF checked, envoi's
refusals explained in the person's words, a flash message on success."""

from __future__ import annotations

import re
import uuid
from typing import Awaitable, Callable

from starlette.datastructures import FormData
from starlette.requests import Request

from envoi.client import errors
from envoi.wallet.security import checked_form
from envoi.wallet.web import account_of, redirect, render, t_of

AMOUNT = re.compile(r"([0-9]{1,7})(?:[.,]([0-9]{1,2}))?")
CODE = re.compile(r"[0-9]{6}")
REQUEST_ID = re.compile(r"[0-9a-f-]{36}")

# envoi's refusal -> (HTTP status, message key)
EXPLAINED = (
    (errors.InvalidCode, 400, "invalid_code"),
    (errors.CodeLocked, 423, "code_locked"),
    (errors.InsufficientFunds, 409, "insufficient_funds"),
    (errors.LimitExceeded, 409, "limit_exceeded"),
    (errors.CollectionNotFound, 404, "collection_not_found"),
    (errors.CollectionNotOpen, 409, "collection_not_found"),
    (errors.InvalidArgument, 400, "invalid_input"),
    (errors.Unavailable, 503, "try_again"),
)


class Refused(Exception):
    """Bad input: re-show the form with the message (a key of i18n.MESSAGES)."""

    def __init__(self, key: str, status: int = 400):
        super().__init__(key)
        self.key, self.status = key, status


def amount_cents(value: object) -> int:
    """ "10", "10,5", "10.50" -> cents; anything else (floats included) is Refused."""
    match = AMOUNT.fullmatch(value.strip()) if isinstance(value, str) else None
    if not match:
        raise Refused("amount_format")
    cents = int(match.group(1)) * 100 + int((match.group(2) or "0").ljust(2, "0"))
    if cents <= 0:
        raise Refused("amount_format")
    return cents


def code(value: object) -> str:
    if not isinstance(value, str) or not CODE.fullmatch(value):
        raise Refused("code_format")
    return value


def request_id(form: FormData) -> str:
    """The form's idempotency key, made when it was shown: a form sent twice acts once."""
    value = form.get("request_id")
    return value if isinstance(value, str) and REQUEST_ID.fullmatch(value) else str(uuid.uuid4())


Handler = Callable[[Request, FormData, str], Awaitable["str | object"]]


async def form_page(request: Request, template: str, handle: Handler, **values):
    """GET shows the form; POST runs handle(request, form, account_id), which
    returns the flash text (then back home) or a response of its own."""
    account_id = account_of(request)
    if not account_id:
        return redirect(f"/signin/x?next={request.url.path}")
    t = t_of(request)
    if request.method == "GET":
        return render(request, template, error=None, request_id=uuid.uuid4(), **values)
    form = await checked_form(request)
    if form is None:
        return render(request, template, 403, error=t("csrf"), **values)
    try:
        outcome = await handle(request, form, account_id)
    except Refused as refused:
        return render(request, template, refused.status, error=t(refused.key), **values)
    except errors.EnvoiError as error:
        for kind, status, key in EXPLAINED:
            if isinstance(error, kind):
                return render(request, template, status, error=t(key), **values)
        raise
    if not isinstance(outcome, str):
        return outcome
    request.session["flash"] = outcome
    return redirect("/")
