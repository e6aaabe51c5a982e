"""The states, kinds and roles of envoi, each named once.

A member's value is the text the database stores. Where a proto enum of the
same name exists, its values are that text with the enum's prefix
(TransferState.PENDING_CONFIRMATION <-> TRANSFER_STATE_PENDING_CONFIRMATION),
so the conversions are derived by name, not written out.
"""

import enum
import re

from envoi.v1 import (
    account_pb2,
    collection_pb2,
    event_pb2,
    payout_pb2,
    top_up_pb2,
    transfer_pb2,
    transfer_service_pb2,
    webhook_pb2,
)


class TextEnum(str, enum.Enum):
    """Compares, hashes and formats as its text: a member is usable wherever the
    database's string was (SQL parameters, f-strings, sets of plain strings)."""

    __str__ = str.__str__
    __format__ = str.__format__
    __hash__ = str.__hash__

    @classmethod
    def _proto_enum(cls):
        return PROTO_ENUMS[cls]

    @classmethod
    def _proto_prefix(cls) -> str:
        """TransferState -> "TRANSFER_STATE_"."""
        return re.sub(r"(?<!^)(?=[A-Z])", "_", cls._proto_enum().DESCRIPTOR.name).upper() + "_"

    def proto_name(self) -> str:
        """TransferState.COMPLETED -> "TRANSFER_STATE_COMPLETED"."""
        return self._proto_prefix() + self.value

    def proto(self) -> int:
        """The proto enum number of this member."""
        return self._proto_enum().Value(self.proto_name())

    @classmethod
    def from_proto(cls, number: int):
        """The member of a proto enum number (ValueError for UNSPECIFIED)."""
        return cls(cls._proto_enum().Name(number).removeprefix(cls._proto_prefix()))


def proto_names(members) -> dict[int, str]:
    """{proto number: proto name} of members: what a request may name (RequestCheck.enum)."""
    return {member.proto(): member.proto_name() for member in members}


class AccountKind(TextEnum):
    PERSON = "PERSON"
    ASSOCIATION = "ASSOCIATION"
    MERCHANT = "MERCHANT"
    SYSTEM = "SYSTEM"
    COLLECTION = "COLLECTION"
    SETTLEMENT = "SETTLEMENT"


class AccountTier(TextEnum):
    UNVERIFIED = "UNVERIFIED"
    VERIFIED = "VERIFIED"


class NotificationPreference(TextEnum):
    PUBLIC_REPLY = "PUBLIC_REPLY"
    PRIVATE_MESSAGE = "PRIVATE_MESSAGE"
    APP_ONLY = "APP_ONLY"


class TransferState(TextEnum):
    PENDING_CONFIRMATION = "PENDING_CONFIRMATION"
    COMPLETED = "COMPLETED"
    CANCELLED = "CANCELLED"
    EXPIRED = "EXPIRED"
    AWAITING_CLAIM = "AWAITING_CLAIM"
    REFUNDED = "REFUNDED"


class TransferKind(TextEnum):
    PAYMENT = "PAYMENT"
    FUNDING = "FUNDING"
    PAYOUT = "PAYOUT"
    LEDGER = "LEDGER"
    COLLECTION_PAYOUT = "COLLECTION_PAYOUT"
    COLLECTION_REFUND = "COLLECTION_REFUND"
    REFUND = "REFUND"


class CollectionState(TextEnum):
    OPEN = "OPEN"
    CLOSED = "CLOSED"
    CANCELLED = "CANCELLED"


class PayoutState(TextEnum):
    PENDING = "PENDING"
    SETTLED = "SETTLED"
    FAILED = "FAILED"


class TopUpState(TextEnum):
    PENDING = "PENDING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


class EventType(TextEnum):
    CONFIRMATION_REQUIRED = "CONFIRMATION_REQUIRED"
    TRANSFER_COMPLETED = "TRANSFER_COMPLETED"
    TRANSFER_CANCELLED = "TRANSFER_CANCELLED"
    TRANSFER_EXPIRED = "TRANSFER_EXPIRED"
    TRANSFER_AWAITING_CLAIM = "TRANSFER_AWAITING_CLAIM"
    TRANSFER_CLAIMED = "TRANSFER_CLAIMED"
    TRANSFER_REFUNDED = "TRANSFER_REFUNDED"
    TOP_UP_SUCCEEDED = "TOP_UP_SUCCEEDED"
    TOP_UP_FAILED = "TOP_UP_FAILED"
    PAYOUT_REQUESTED = "PAYOUT_REQUESTED"
    PAYOUT_SETTLED = "PAYOUT_SETTLED"
    PAYOUT_FAILED = "PAYOUT_FAILED"
    COLLECTION_CLOSED = "COLLECTION_CLOSED"
    COLLECTION_CANCELLED = "COLLECTION_CANCELLED"
    CODE_RESET = "CODE_RESET"
    WEBHOOK_ENDPOINT_DISABLED = "WEBHOOK_ENDPOINT_DISABLED"
    ACCOUNT_FROZEN = "ACCOUNT_FROZEN"
    ACCOUNT_UNFROZEN = "ACCOUNT_UNFROZEN"
    ACCOUNT_CLOSED = "ACCOUNT_CLOSED"


class WebhookDeliveryState(TextEnum):
    PENDING = "PENDING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


class CreateTransferStatus(TextEnum):
    """What CreateTransfers did with one transfer of a batch."""

    CREATED = "CREATED"
    EXISTS = "EXISTS"
    FAILED = "FAILED"


class Role(TextEnum):
    """Who a token or an API key speaks for (core/auth/roles.py: what each may call)."""

    CHANNEL = "channel"
    WALLET = "wallet"
    MERCHANT = "merchant"
    ADMIN = "admin"
    LEDGER = "ledger"


PROTO_ENUMS = {
    AccountKind: account_pb2.AccountKind,
    AccountTier: account_pb2.AccountTier,
    NotificationPreference: account_pb2.NotificationPreference,
    TransferState: transfer_pb2.TransferState,
    TransferKind: transfer_pb2.TransferKind,
    CollectionState: collection_pb2.CollectionState,
    PayoutState: payout_pb2.PayoutState,
    TopUpState: top_up_pb2.TopUpState,
    EventType: event_pb2.EventType,
    CreateTransferStatus: transfer_service_pb2.CreateTransferStatus,
    WebhookDeliveryState: webhook_pb2.WebhookDeliveryState,
}
