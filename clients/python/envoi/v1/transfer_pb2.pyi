import datetime

from envoi.v1 import identity_pb2 as _identity_pb2
from envoi.v1 import money_pb2 as _money_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class TransferState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TRANSFER_STATE_UNSPECIFIED: _ClassVar[TransferState]
    TRANSFER_STATE_PENDING_CONFIRMATION: _ClassVar[TransferState]
    TRANSFER_STATE_COMPLETED: _ClassVar[TransferState]
    TRANSFER_STATE_CANCELLED: _ClassVar[TransferState]
    TRANSFER_STATE_EXPIRED: _ClassVar[TransferState]
    TRANSFER_STATE_AWAITING_CLAIM: _ClassVar[TransferState]
    TRANSFER_STATE_REFUNDED: _ClassVar[TransferState]

class TransferKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TRANSFER_KIND_UNSPECIFIED: _ClassVar[TransferKind]
    TRANSFER_KIND_PAYMENT: _ClassVar[TransferKind]
    TRANSFER_KIND_FUNDING: _ClassVar[TransferKind]
    TRANSFER_KIND_PAYOUT: _ClassVar[TransferKind]
    TRANSFER_KIND_LEDGER: _ClassVar[TransferKind]
    TRANSFER_KIND_COLLECTION_PAYOUT: _ClassVar[TransferKind]
    TRANSFER_KIND_COLLECTION_REFUND: _ClassVar[TransferKind]
    TRANSFER_KIND_REFUND: _ClassVar[TransferKind]
TRANSFER_STATE_UNSPECIFIED: TransferState
TRANSFER_STATE_PENDING_CONFIRMATION: TransferState
TRANSFER_STATE_COMPLETED: TransferState
TRANSFER_STATE_CANCELLED: TransferState
TRANSFER_STATE_EXPIRED: TransferState
TRANSFER_STATE_AWAITING_CLAIM: TransferState
TRANSFER_STATE_REFUNDED: TransferState
TRANSFER_KIND_UNSPECIFIED: TransferKind
TRANSFER_KIND_PAYMENT: TransferKind
TRANSFER_KIND_FUNDING: TransferKind
TRANSFER_KIND_PAYOUT: TransferKind
TRANSFER_KIND_LEDGER: TransferKind
TRANSFER_KIND_COLLECTION_PAYOUT: TransferKind
TRANSFER_KIND_COLLECTION_REFUND: TransferKind
TRANSFER_KIND_REFUND: TransferKind

class Transfer(_message.Message):
    __slots__ = ("transfer_id", "kind", "state", "from_account_id", "to_account_id", "amount", "memo", "create_time", "expire_time", "resolve_time", "from_identity", "to_identity", "channel", "channel_reference", "claim_expire_time", "from_display_name", "to_display_name", "fee", "net_amount", "merchant_reference", "collection_id", "refund_of", "requested")
    TRANSFER_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    FROM_ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    TO_ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    MEMO_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    RESOLVE_TIME_FIELD_NUMBER: _ClassVar[int]
    FROM_IDENTITY_FIELD_NUMBER: _ClassVar[int]
    TO_IDENTITY_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_REFERENCE_FIELD_NUMBER: _ClassVar[int]
    CLAIM_EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    FROM_DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    TO_DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    FEE_FIELD_NUMBER: _ClassVar[int]
    NET_AMOUNT_FIELD_NUMBER: _ClassVar[int]
    MERCHANT_REFERENCE_FIELD_NUMBER: _ClassVar[int]
    COLLECTION_ID_FIELD_NUMBER: _ClassVar[int]
    REFUND_OF_FIELD_NUMBER: _ClassVar[int]
    REQUESTED_FIELD_NUMBER: _ClassVar[int]
    transfer_id: str
    kind: TransferKind
    state: TransferState
    from_account_id: str
    to_account_id: str
    amount: _money_pb2.Money
    memo: str
    create_time: _timestamp_pb2.Timestamp
    expire_time: _timestamp_pb2.Timestamp
    resolve_time: _timestamp_pb2.Timestamp
    from_identity: _identity_pb2.Identity
    to_identity: _identity_pb2.Identity
    channel: str
    channel_reference: str
    claim_expire_time: _timestamp_pb2.Timestamp
    from_display_name: str
    to_display_name: str
    fee: _money_pb2.Money
    net_amount: _money_pb2.Money
    merchant_reference: str
    collection_id: str
    refund_of: str
    requested: bool
    def __init__(self, transfer_id: _Optional[str] = ..., kind: _Optional[_Union[TransferKind, str]] = ..., state: _Optional[_Union[TransferState, str]] = ..., from_account_id: _Optional[str] = ..., to_account_id: _Optional[str] = ..., amount: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., memo: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., expire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., resolve_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., from_identity: _Optional[_Union[_identity_pb2.Identity, _Mapping]] = ..., to_identity: _Optional[_Union[_identity_pb2.Identity, _Mapping]] = ..., channel: _Optional[str] = ..., channel_reference: _Optional[str] = ..., claim_expire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., from_display_name: _Optional[str] = ..., to_display_name: _Optional[str] = ..., fee: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., net_amount: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., merchant_reference: _Optional[str] = ..., collection_id: _Optional[str] = ..., refund_of: _Optional[str] = ..., requested: _Optional[bool] = ...) -> None: ...
