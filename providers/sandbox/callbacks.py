"""The sandbox's callbacks: a small JSON body and its HMAC-SHA256 signature."""

import json

from envoi.providers import signatures
from envoi.providers.provider import CallbackResult, InvalidCallback, InvalidSignature


def signed(secret: bytes, kind: str, reference: str, failure_reason: str = "") -> tuple[bytes, str]:
    """(body, signature) of a callback, as the sandbox would POST it."""
    fields = {"type": kind, "reference": reference}
    if failure_reason:
        fields["failure_reason"] = failure_reason
    body = json.dumps(fields, sort_keys=True).encode()
    return body, signatures.sign(secret, body)


def parse(secret: bytes, payload: bytes, signature: str, states_by_type: dict) -> CallbackResult:
    """Verify the signature first: nothing of an unsigned body is read."""
    if not signatures.is_valid(secret, payload, signature):
        raise InvalidSignature("the signature is not the sandbox's")
    try:
        fields = json.loads(payload)
        state = states_by_type[fields["type"]]
        reference = fields["reference"]
        failure_reason = fields.get("failure_reason", "") if state == "FAILED" else ""
        if not isinstance(reference, str) or not reference or not isinstance(failure_reason, str):
            raise ValueError("reference and failure_reason are strings")
        return CallbackResult(reference, state, failure_reason)
    except (ValueError, KeyError, TypeError, AssertionError) as exc:
        raise InvalidCallback(f"not a sandbox callback: {type(exc).__name__}") from None
