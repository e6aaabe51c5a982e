"""The person's settings: their code (the old one required) and how channels tell them."""

from __future__ import annotations

from starlette.requests import Request

from envoi.v1 import account_pb2
from envoi.wallet.forms import Refused, code, form_page
from envoi.wallet.web import envoi, t_of

PREFERENCES = ("PUBLIC_REPLY", "PRIVATE_MESSAGE", "APP_ONLY")


async def change_code(request: Request):
    async def handle(request, form, account_id):
        current, new = code(form.get("current_code")), code(form.get("new_code"))
        if form.get("new_code_again") != new:
            raise Refused("codes_differ")
        # envoi checks the current code (a wrong one counts toward the lock).
        await envoi(request, "change_code", account_id, current, new)
        return t_of(request)("code_changed")

    return await form_page(request, "code.html", handle)


async def notifications(request: Request):
    async def handle(request, form, account_id):
        choice = form.get("preference")
        if choice not in PREFERENCES:
            raise Refused("invalid_input")
        await envoi(request, "set_notification_preference", account_id, choice)
        return t_of(request)("preference_saved")

    current = ""
    if request.session.get("account_id"):
        account = await envoi(request, "get_account", request.session["account_id"])
        current = account_pb2.NotificationPreference.Name(account.notification_preference)
    return await form_page(
        request,
        "notifications.html",
        handle,
        preferences=PREFERENCES,
        current=current.removeprefix("NOTIFICATION_PREFERENCE_"),
    )
