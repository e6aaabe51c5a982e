"""What a payment provider plugin implements, and what it answers.

envoi calls a provider outside any database transaction and with an
idempotency key of its own (the top-up or payout id): a call repeated after a
timeout or a crash must return the first answer and move no money twice.
"""

import abc
import dataclasses


class ProviderUnavailable(Exception):
    """The provider could not be reached or did not answer in time: retry later."""


class InvalidSignature(Exception):
    """A callback whose signature is not the provider's: it must change nothing."""


class InvalidCallback(Exception):
    """A correctly signed callback envoi cannot read (a provider bug, or a new format)."""


class InvalidCardToken(Exception):
    """The card token is not one this provider issued."""


@dataclasses.dataclass(frozen=True)
class ChargeResult:
    """The provider's answer to a charge of a card."""

    reference: str  # the provider's id of the charge; callbacks name it
    state: str  # SUCCEEDED, FAILED, or PENDING (a 3-D Secure step first)
    card_last4: str  # the only digits of the card envoi keeps
    failure_reason: str = ""  # FAILED: the provider's code, e.g. card_declined
    next_action_url: str = ""  # PENDING: where the person authenticates

    def __post_init__(self):
        assert self.state in ("SUCCEEDED", "FAILED", "PENDING"), self.state
        assert (self.state == "FAILED") == bool(self.failure_reason), self.failure_reason


@dataclasses.dataclass(frozen=True)
class CallbackResult:
    """What a signed callback says about one charge or payout."""

    reference: str
    state: str  # SUCCEEDED or FAILED (charges); SETTLED or FAILED (payouts)
    failure_reason: str = ""

    def __post_init__(self):
        assert (self.state == "FAILED") == bool(self.failure_reason), self.failure_reason


class FundingProvider(abc.ABC):
    """Charges bank cards. `name` is how requests choose it (lower case, up to 32)."""

    name: str

    @abc.abstractmethod
    def charge(
        self, *, idempotency_key: str, card_token: str, amount_cents: int, currency_code: str
    ) -> ChargeResult:
        """Charge the card behind card_token; raise InvalidCardToken or ProviderUnavailable."""

    @abc.abstractmethod
    def refund(
        self, *, idempotency_key: str, charge_reference: str, amount_cents: int, currency_code: str
    ) -> str:
        """Give amount_cents of the charge named by charge_reference (a ChargeResult's
        reference) back to its card; return your reference for the refund. envoi
        refunds a whole charge that succeeded but could not be credited (the account's
        maximum balance), perhaps more than once with the same key: refund once.
        Raise ProviderUnavailable to be retried."""

    @abc.abstractmethod
    def parse_callback(self, payload: bytes, signature: str) -> CallbackResult:
        """Verify and read a callback about a PENDING charge, from the raw body the
        provider sent; raise InvalidSignature (first) or InvalidCallback."""


class PayoutProvider(abc.ABC):
    """Sends bank transfers to IBANs."""

    name: str

    @abc.abstractmethod
    def submit(
        self,
        *,
        idempotency_key: str,
        iban: str,
        beneficiary_name: str,
        amount_cents: int,
        currency_code: str,
    ) -> str:
        """Hand a payout to the provider; return its reference. Settlement comes
        later, by callback. Raise ProviderUnavailable to be retried."""

    @abc.abstractmethod
    def parse_callback(self, payload: bytes, signature: str) -> CallbackResult:
        """Verify and read a callback saying a payout SETTLED or FAILED."""
