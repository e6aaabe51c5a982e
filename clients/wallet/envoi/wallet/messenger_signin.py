"""Sign in from Messenger: Messenger's account linking.

The page's "log in" button opens the wallet with an account_linking_token;
the Graph API says, for the page's access token, which person (page-scoped
id, PSID) it belongs to. The token works once; the person is then sent back
to Messenger's redirect_uri with an authorization_code, which tells Messenger
the linking is done.
"""

from __future__ import annotations

import re

import httpx

from envoi.wallet.settings import Settings
from envoi.wallet.x_signin import MAX_ANSWER_BYTES, TIMEOUT_S, SignInFailed

TOKEN = re.compile(r"[A-Za-z0-9_=-]{8,512}")
PSID = re.compile(r"[0-9]{1,64}")


def psid_of(settings: Settings, account_linking_token: str) -> str:
    """The PSID behind the token, asked of the Graph API with the page's token."""
    if not TOKEN.fullmatch(account_linking_token):
        raise SignInFailed("not an account_linking_token")
    url = f"{settings.messenger_api_url}/{settings.messenger_api_version}/me"
    try:
        with httpx.Client(timeout=TIMEOUT_S, trust_env=False) as http:
            answer = http.get(
                url,
                params={"fields": "recipient", "account_linking_token": account_linking_token},
                headers={"Authorization": f"Bearer {settings.messenger_page_token}"},
            )
    except httpx.HTTPError as error:
        raise SignInFailed(f"Messenger did not answer: {type(error).__name__}") from None
    if answer.status_code != 200 or len(answer.content) > MAX_ANSWER_BYTES:
        raise SignInFailed(f"Messenger answered {answer.status_code}")
    try:
        psid = answer.json().get("recipient")
    except (ValueError, AttributeError):
        raise SignInFailed("Messenger's answer is not a JSON object") from None
    if not isinstance(psid, str) or not PSID.fullmatch(psid):
        raise SignInFailed("Messenger did not say who signed in")
    return psid
