"""Sandbox money in: test cards that succeed, are declined, or ask for 3-D Secure.

In production the app hands the card to the provider's own SDK and envoi only
ever sees a token; tokenize_card plays that part here. The token says how the
card behaves and its last four digits, nothing more.

Like a card network's dashboard, the object remembers (in memory, for the
process) what it charged and what it refunded, so that tests can check that
every cent charged was credited or given back.
"""

import re
import secrets
import string

from envoi.providers.provider import ChargeResult, FundingProvider, InvalidCardToken
from envoi.providers.sandbox import callbacks
from envoi.providers.sandbox.config import SandboxConfig

# Test card numbers (the usual ones of card sandboxes) and how each behaves.
SUCCEEDS = "4242424242424242"
DECLINED = "4000000000000002"
THREE_D_SECURE = "4000002760003184"  # PENDING until its 3-D Secure callback
BEHAVIOUR_BY_CARD = {SUCCEEDS: "succeeds", DECLINED: "declined", THREE_D_SECURE: "3ds"}
TOKEN = re.compile(r"tok_sandbox_(succeeds|declined|3ds)_([0-9]{4})_[a-z]{16}")
CHARGE_STATES_BY_CALLBACK_TYPE = {"charge.succeeded": "SUCCEEDED", "charge.failed": "FAILED"}


def tokenize_card(number: str) -> str:
    """A token for a test card number, as the provider's app SDK would return it."""
    digits = re.sub(r"[ -]", "", number)
    behaviour = BEHAVIOUR_BY_CARD.get(digits)
    if behaviour is None:
        raise ValueError("not a sandbox test card")
    # Letters only: a long run of digits is what a card number looks like.
    unique = "".join(secrets.choice(string.ascii_lowercase) for _ in range(16))
    return f"tok_sandbox_{behaviour}_{digits[-4:]}_{unique}"


class SandboxCards(FundingProvider):
    name = "sandbox"

    def __init__(self, config: SandboxConfig):
        self._secret = config.webhook_secret
        # What was charged: charge reference -> cents (3-D Secure ones once authenticated).
        self.charged_cents_by_reference = {}
        self._pending_cents_by_reference = {}
        # What was refunded: refund idempotency key -> (charge reference, cents, currency).
        self.refunds = {}

    def __repr__(self):
        return "SandboxCards()"

    def charge(
        self, *, idempotency_key: str, card_token: str, amount_cents: int, currency_code: str
    ) -> ChargeResult:
        match = TOKEN.fullmatch(card_token)
        if match is None:
            raise InvalidCardToken("not a sandbox card token")
        behaviour, last4 = match.groups()
        # The same key always gets the same reference: a repeated charge is the first one.
        reference = f"sbx_ch_{idempotency_key}"
        if behaviour == "succeeds":
            self.charged_cents_by_reference[reference] = amount_cents
            return ChargeResult(reference, "SUCCEEDED", last4)
        if behaviour == "declined":
            return ChargeResult(reference, "FAILED", last4, failure_reason="card_declined")
        self._pending_cents_by_reference[reference] = amount_cents
        return ChargeResult(
            reference, "PENDING", last4, next_action_url=f"https://sandbox.invalid/3ds/{reference}"
        )

    def three_d_secure_callback(self, reference: str, *, authenticated: bool) -> tuple[bytes, str]:
        """(body, signature) the sandbox sends once the person passed or failed 3-D Secure."""
        if authenticated:
            if reference in self._pending_cents_by_reference:
                self.charged_cents_by_reference[reference] = self._pending_cents_by_reference[
                    reference
                ]
            return callbacks.signed(self._secret, "charge.succeeded", reference)
        return callbacks.signed(
            self._secret, "charge.failed", reference, failure_reason="authentication_failed"
        )

    def refund(
        self, *, idempotency_key: str, charge_reference: str, amount_cents: int, currency_code: str
    ) -> str:
        if not charge_reference.startswith("sbx_ch_"):
            raise ValueError("not a sandbox charge")
        # The same key is the same refund: the card gets the money back once.
        self.refunds.setdefault(idempotency_key, (charge_reference, amount_cents, currency_code))
        return f"sbx_re_{idempotency_key}"

    def parse_callback(self, payload: bytes, signature: str):
        return callbacks.parse(self._secret, payload, signature, CHARGE_STATES_BY_CALLBACK_TYPE)
