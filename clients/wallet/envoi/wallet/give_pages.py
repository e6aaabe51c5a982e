"""Giving to a collection by its hashtag: the payment is started here and
confirmed with the code on the confirmation page, like any other."""

from __future__ import annotations

import re

from starlette.requests import Request

from envoi.wallet.forms import Refused, amount_cents, form_page, request_id
from envoi.wallet.web import envoi, redirect

HASHTAG = re.compile(r"#?(\w{1,50})")


async def give(request: Request):
    async def handle(request, form, account_id):
        cents = amount_cents(form.get("amount"))
        match = HASHTAG.fullmatch(str(form.get("hashtag", "")).strip())
        if not match:
            raise Refused("collection_not_found", 404)
        await envoi(request, "get_collection", hashtag=match.group(1))  # open, or refused
        pending = await envoi(
            request,
            "initiate_transfer",
            account_id,
            "#" + match.group(1),
            cents,
            request_id=request_id(form),
        )
        return redirect(f"/confirm/{pending.transfer_id}")

    hashtag = request.query_params.get("hashtag", "")
    return await form_page(request, "give.html", handle, hashtag=hashtag[:51])
