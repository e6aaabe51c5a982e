"""Money in by card and out to a bank account, through envoi's payment provider.

The wallet never sees a card number: a real provider's app SDK turns the card
into a token in the person's browser. The sandbox provider's test cards are
offered by name and tokenized here the way its SDK would.
"""

from __future__ import annotations

import re
import secrets
import string

from starlette.requests import Request

from envoi.v1 import payout_pb2, top_up_pb2
from envoi.wallet.forms import Refused, amount_cents, code, form_page, request_id
from envoi.wallet.money import money
from envoi.wallet.web import envoi, lang_of, t_of

# The sandbox's test cards: what they do, and their last four digits.
SANDBOX_CARDS = {"succeeds": "4242", "declined": "0002"}
IBAN = re.compile(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{10,30}")


def sandbox_card_token(behaviour: str) -> str:
    unique = "".join(secrets.choice(string.ascii_lowercase) for _ in range(16))
    return f"tok_sandbox_{behaviour}_{SANDBOX_CARDS[behaviour]}_{unique}"


async def top_up(request: Request):
    async def handle(request, form, account_id):
        cents, card = amount_cents(form.get("amount")), form.get("card")
        if card not in SANDBOX_CARDS:
            raise Refused("invalid_input")
        settings = request.app.state.settings
        done = await envoi(
            request,
            "top_up",
            account_id,
            cents,
            provider=settings.provider,
            card_token=sandbox_card_token(card),
            request_id=request_id(form),
        )
        t, text = t_of(request), money(cents, "EUR", lang_of(request))
        if done.state == top_up_pb2.TOP_UP_STATE_FAILED:
            raise Refused("card_refused", 402)
        return t("topped_up", amount=text)

    return await form_page(request, "top_up.html", handle, cards=tuple(SANDBOX_CARDS))


async def withdraw(request: Request):
    async def handle(request, form, account_id):
        cents = amount_cents(form.get("amount"))
        iban = re.sub(r"\s", "", str(form.get("iban", ""))).upper()
        name = str(form.get("beneficiary_name", "")).strip()
        if not IBAN.fullmatch(iban) or not 0 < len(name) <= 70:
            raise Refused("invalid_input")
        payout = await envoi(
            request,
            "withdraw",
            account_id,
            cents,
            iban=iban,
            beneficiary_name=name,
            code=code(form.get("code")),
            provider=request.app.state.settings.provider,
            request_id=request_id(form),
        )
        if payout.state == payout_pb2.PAYOUT_STATE_FAILED:
            raise Refused("payout_refused", 409)
        return t_of(request)("withdrawn", amount=money(cents, "EUR", lang_of(request)))

    return await form_page(request, "withdraw.html", handle)
