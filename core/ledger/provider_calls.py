"""Calls into payment provider plugins, with their exceptions turned into envoi's errors.

Nothing the provider raises is quoted back: its messages may carry a token or
an account number.
"""

from envoi.client import errors
from envoi.providers.provider import (
    CallbackResult,
    InvalidCallback,
    InvalidCardToken,
    InvalidSignature,
    ProviderUnavailable,
)


def charge(provider, *, idempotency_key: str, card_token: str, amount_cents: int, currency_code):
    try:
        return provider.charge(
            idempotency_key=idempotency_key,
            card_token=card_token,
            amount_cents=amount_cents,
            currency_code=currency_code,
        )
    except InvalidCardToken:
        raise errors.InvalidArgument(
            "invalid request: card_token",
            field_violations={"card_token": f"not a card token of the provider {provider.name}"},
        ) from None
    except ProviderUnavailable:
        raise errors.Unavailable(
            "the payment provider is unavailable; retry with the same request_id"
        ) from None


def verified_callback(provider, payload: bytes, signature: str) -> CallbackResult:
    """The callback's news, once its signature is checked; a forged one raises."""
    try:
        result = provider.parse_callback(payload, signature)
    except InvalidSignature:
        raise errors.InvalidSignature(
            f"the callback's signature is not the provider {provider.name}'s; nothing changed"
        ) from None
    except InvalidCallback:
        raise errors.InvalidArgument(
            "invalid request: payload",
            field_violations={"payload": f"not a callback the provider {provider.name} sends"},
        ) from None
    assert isinstance(result, CallbackResult)
    return result
