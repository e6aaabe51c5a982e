"""Checks on request fields. Every problem is collected, then one
INVALID_ARGUMENT names each bad field (google.rpc.BadRequest)."""

import datetime
import re
import uuid

from schwifty import IBAN
from schwifty import exceptions as iban_errors

from envoi.client import errors
from envoi.core.policy import confirmation_codes

MAX_REQUEST_ID_LENGTH = 128
MAX_MEMO_LENGTH = 280
MAX_DISPLAY_NAME_LENGTH = 100
MAX_CHANNEL_REFERENCE_LENGTH = 128
IDENTITY_NAMESPACE = re.compile(r"[a-z][a-z0-9_-]{0,31}")
MAX_AMOUNT_CENTS = 10**15  # far above any cap; keeps sums far from int64 overflow
MAX_CARD_TOKEN_LENGTH = 256
MAX_BENEFICIARY_NAME_LENGTH = 70  # what SEPA carries
MAX_CALLBACK_PAYLOAD_BYTES = 64 * 1024
MAX_SIGNATURE_LENGTH = 512
# 12 to 19 digits, maybe grouped by spaces or dashes: what a card number looks like.
CARD_NUMBER_LIKE = re.compile(r"[0-9](?:[ -]?[0-9]){11,18}")
# Our own words for schwifty's exceptions: theirs may quote the IBAN.
IBAN_PROBLEMS = (
    (iban_errors.InvalidChecksumDigits, "check digits do not match: a character is wrong"),
    (iban_errors.InvalidCountryCode, "unknown country code (the first two letters)"),
    (iban_errors.InvalidLength, "wrong length for its country"),
    (iban_errors.InvalidStructure, "not the IBAN format of its country"),
    (iban_errors.InvalidBBANChecksum, "the national check digits do not match"),
)


class RequestCheck:
    """Collects field violations; raise_if_any() raises them as one error."""

    def __init__(self):
        self.violations: dict[str, str] = {}

    def fail(self, field: str, description: str) -> None:
        self.violations.setdefault(field, description)

    def request_id(self, value: str) -> None:
        if not value:
            self.fail("request_id", "required: a unique id for this request (AIP-155)")
        elif len(value) > MAX_REQUEST_ID_LENGTH or not value.isprintable() or not value.isascii():
            self.fail("request_id", f"at most {MAX_REQUEST_ID_LENGTH} printable ASCII characters")

    def uuid(self, field: str, value: str) -> None:
        # Only the canonical lower-case form the server returns: services compare
        # ids as strings (an account paying itself, a merchant's own account).
        try:
            if str(uuid.UUID(value)) == value:
                return
        except ValueError:
            pass
        self.fail(field, "must be an id such as 0b5f1e2c-8a8e-4a54-9d6e-3c1f6d1f2a10")

    def code(self, field: str, value: str) -> None:
        if not confirmation_codes.is_well_formed(value):
            self.fail(field, "must be exactly 6 digits")

    def text(self, field: str, value: str, *, max_length: int, required: bool = False) -> None:
        if required and not value.strip():
            self.fail(field, "required")
        elif len(value) > max_length:
            self.fail(field, f"at most {max_length} characters")
        elif not value.isprintable():
            self.fail(field, "must not contain control characters")

    def money(self, field: str, money, currencies: tuple[str, ...]) -> None:
        if money.amount_cents <= 0:
            self.fail(f"{field}.amount_cents", "must be positive")
        elif money.amount_cents > MAX_AMOUNT_CENTS:
            self.fail(f"{field}.amount_cents", f"must be at most {MAX_AMOUNT_CENTS}")
        if money.currency_code not in currencies:
            self.fail(f"{field}.currency_code", f"must be one of: {', '.join(currencies)}")

    def enum(self, field: str, value: int, allowed: dict[int, str]) -> None:
        if value not in allowed:
            self.fail(field, f"must be one of: {', '.join(allowed.values())}")

    def timestamp(self, field: str, request) -> datetime.datetime | None:
        """An optional google.protobuf.Timestamp field of `request`, as an aware
        datetime; None when unset or invalid (then the check fails)."""
        if not request.HasField(field):
            return None
        try:
            return getattr(request, field).ToDatetime(datetime.timezone.utc)
        except (ValueError, OverflowError):  # nanos out of range, or before year 1 / after 9999
            self.fail(field, "must be a valid time between years 1 and 9999")
            return None

    def identity(self, field: str, identity, *, need_subject_id: bool = True) -> None:
        if not IDENTITY_NAMESPACE.fullmatch(identity.namespace):
            self.fail(f"{field}.namespace", "must be a channel namespace such as twitter")
        if need_subject_id or identity.subject_id:
            if (
                not 1 <= len(identity.subject_id) <= 64
                or not identity.subject_id.isascii()
                or not identity.subject_id.isprintable()
            ):
                self.fail(f"{field}.subject_id", "1 to 64 printable ASCII characters")
        if len(identity.handle) > 64 or not identity.handle.isprintable():
            self.fail(f"{field}.handle", "at most 64 printable characters")

    def provider(self, field: str, name: str, configured) -> None:
        if name not in configured:
            names = ", ".join(sorted(configured)) or "none is configured on this server"
            self.fail(field, f"must be a configured payment provider: {names}")

    def card_token(self, field: str, value: str) -> None:
        # A card number must never reach envoi, not even its logs or a request hash.
        if CARD_NUMBER_LIKE.search(value):
            self.fail(field, "a card number is not a token: tokenize the card with the provider")
        elif not 1 <= len(value) <= MAX_CARD_TOKEN_LENGTH:
            self.fail(field, f"required: the provider's token, at most {MAX_CARD_TOKEN_LENGTH}")
        elif not value.isascii() or not value.isprintable():
            self.fail(field, "printable ASCII only")

    def iban(self, field: str, value: str) -> str | None:
        """The IBAN in electronic form (no spaces, upper case), or None if it is invalid."""
        if not value.strip():
            self.fail(field, "required: the IBAN of the bank account to pay")
            return None
        try:
            return IBAN(value).compact
        except iban_errors.SchwiftyException as problem:
            description = next(
                (text for kind, text in IBAN_PROBLEMS if isinstance(problem, kind)),
                "not a valid IBAN",
            )
            self.fail(field, description)
            return None

    def callback(self, payload: bytes, signature: str) -> None:
        if not 1 <= len(payload) <= MAX_CALLBACK_PAYLOAD_BYTES:
            self.fail("payload", f"the callback body: 1 to {MAX_CALLBACK_PAYLOAD_BYTES} bytes")
        if (
            not 1 <= len(signature) <= MAX_SIGNATURE_LENGTH
            or not signature.isascii()
            or not signature.isprintable()
        ):
            self.fail("signature", f"1 to {MAX_SIGNATURE_LENGTH} printable ASCII characters")

    def raise_if_any(self) -> None:
        if self.violations:
            fields = ", ".join(self.violations)
            raise errors.InvalidArgument(
                f"invalid request: {fields}", field_violations=self.violations
            )
