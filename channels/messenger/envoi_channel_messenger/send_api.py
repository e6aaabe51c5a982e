"""The Send API: one text message to a person, over HTTPS with requests.

The page access token goes in the Authorization header, never in the URL
(urllib3 logs URLs at DEBUG), and never into an exception or a log line.
"""

import logging
import time

import requests

from envoi.channels.channel import RateLimited

log = logging.getLogger("envoi_channel_messenger.send_api")

TIMEOUT_S = 10.0
RATE_LIMIT_CODES = frozenset({4, 17, 32, 613})  # Graph API "too many calls" codes
DEFAULT_RETRY_S = 60.0


class WindowClosed(Exception):
    """The Send API refused: the person's 24-hour window is closed (code 10,
    subcode 2018278), or they cannot be reached any more (code 551)."""


class SendApiError(Exception):
    """Any other refusal: retried later by the gateway."""

    def __init__(self, status: int, code, subcode):
        super().__init__(f"Send API answered {status} (code {code}, subcode {subcode})")
        self.status, self.code, self.subcode = status, code, subcode


class SendApi:
    def __init__(self, graph_api_url: str, version: str, page_access_token: str):
        self.url = f"{graph_api_url}/{version}/me/messages"
        self._session = requests.Session()
        self._session.headers["Authorization"] = f"Bearer {page_access_token}"

    def send_text(self, psid: str, text: str, *, clock=time.time) -> str:
        """Send `text` to the person as a RESPONSE (within their 24-hour window);
        return the message id."""
        response = self._session.post(
            self.url,
            json={
                "recipient": {"id": psid},
                "messaging_type": "RESPONSE",
                "message": {"text": text},
            },
            timeout=TIMEOUT_S,
        )
        if response.status_code == 200:  # sent: whatever the body, never send it again
            try:
                return str(response.json().get("message_id", ""))
            except (ValueError, AttributeError):
                return ""
        try:
            error = response.json().get("error", {})
        except ValueError:
            error = {}
        code, subcode = error.get("code"), error.get("error_subcode")
        if response.status_code == 429 or code in RATE_LIMIT_CODES:
            retry_after = response.headers.get("Retry-After", "")
            wait_s = float(retry_after) if retry_after.isdigit() else DEFAULT_RETRY_S
            raise RateLimited(clock() + wait_s)
        if (code, subcode) == (10, 2018278) or code == 551:
            raise WindowClosed(f"code {code}, subcode {subcode}")
        raise SendApiError(response.status_code, code, subcode)
