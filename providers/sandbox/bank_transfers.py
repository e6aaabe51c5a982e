"""Sandbox money out: every payout settles, except to the test IBAN that fails.

Nothing settles by itself: a test (or a person trying envoi) asks for the
settlement callback of a payout when it wants it, and sends it to envoi.
"""

from envoi.providers.provider import PayoutProvider
from envoi.providers.sandbox import callbacks
from envoi.providers.sandbox.config import SandboxConfig

# A valid IBAN whose bank answers that the account is closed.
FAILS = "GB33BUKB20201555555555"
FAILURE_REASON = "account_closed"
SETTLES = "DE89370400440532013000"  # any other valid IBAN settles too
PAYOUT_STATES_BY_CALLBACK_TYPE = {"payout.settled": "SETTLED", "payout.failed": "FAILED"}


class SandboxBankTransfers(PayoutProvider):
    name = "sandbox"

    def __init__(self, config: SandboxConfig):
        self._secret = config.webhook_secret

    def __repr__(self):
        return "SandboxBankTransfers()"

    def submit(
        self,
        *,
        idempotency_key: str,
        iban: str,
        beneficiary_name: str,
        amount_cents: int,
        currency_code: str,
    ) -> str:
        # The outcome travels in the reference, so any process can settle it later.
        outcome = "ko" if iban == FAILS else "ok"
        return f"sbx_po_{outcome}_{idempotency_key}"

    def settlement_callback(self, reference: str) -> tuple[bytes, str]:
        """(body, signature) the sandbox sends when the bank has answered."""
        if reference.startswith("sbx_po_ko_"):
            return callbacks.signed(
                self._secret, "payout.failed", reference, failure_reason=FAILURE_REASON
            )
        return callbacks.signed(self._secret, "payout.settled", reference)

    def parse_callback(self, payload: bytes, signature: str):
        return callbacks.parse(self._secret, payload, signature, PAYOUT_STATES_BY_CALLBACK_TYPE)
