import datetime

from envoi.v1 import account_pb2 as _account_pb2
from envoi.v1 import collection_pb2 as _collection_pb2
from envoi.v1 import payout_pb2 as _payout_pb2
from envoi.v1 import top_up_pb2 as _top_up_pb2
from envoi.v1 import transfer_pb2 as _transfer_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class EventType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    EVENT_TYPE_UNSPECIFIED: _ClassVar[EventType]
    EVENT_TYPE_CONFIRMATION_REQUIRED: _ClassVar[EventType]
    EVENT_TYPE_TRANSFER_COMPLETED: _ClassVar[EventType]
    EVENT_TYPE_TRANSFER_CANCELLED: _ClassVar[EventType]
    EVENT_TYPE_TRANSFER_EXPIRED: _ClassVar[EventType]
    EVENT_TYPE_TRANSFER_AWAITING_CLAIM: _ClassVar[EventType]
    EVENT_TYPE_TRANSFER_CLAIMED: _ClassVar[EventType]
    EVENT_TYPE_TRANSFER_REFUNDED: _ClassVar[EventType]
    EVENT_TYPE_TOP_UP_SUCCEEDED: _ClassVar[EventType]
    EVENT_TYPE_TOP_UP_FAILED: _ClassVar[EventType]
    EVENT_TYPE_PAYOUT_REQUESTED: _ClassVar[EventType]
    EVENT_TYPE_PAYOUT_SETTLED: _ClassVar[EventType]
    EVENT_TYPE_PAYOUT_FAILED: _ClassVar[EventType]
    EVENT_TYPE_COLLECTION_CLOSED: _ClassVar[EventType]
    EVENT_TYPE_COLLECTION_CANCELLED: _ClassVar[EventType]
    EVENT_TYPE_CODE_RESET: _ClassVar[EventType]
    EVENT_TYPE_WEBHOOK_ENDPOINT_DISABLED: _ClassVar[EventType]
    EVENT_TYPE_ACCOUNT_FROZEN: _ClassVar[EventType]
    EVENT_TYPE_ACCOUNT_UNFROZEN: _ClassVar[EventType]
    EVENT_TYPE_ACCOUNT_CLOSED: _ClassVar[EventType]
EVENT_TYPE_UNSPECIFIED: EventType
EVENT_TYPE_CONFIRMATION_REQUIRED: EventType
EVENT_TYPE_TRANSFER_COMPLETED: EventType
EVENT_TYPE_TRANSFER_CANCELLED: EventType
EVENT_TYPE_TRANSFER_EXPIRED: EventType
EVENT_TYPE_TRANSFER_AWAITING_CLAIM: EventType
EVENT_TYPE_TRANSFER_CLAIMED: EventType
EVENT_TYPE_TRANSFER_REFUNDED: EventType
EVENT_TYPE_TOP_UP_SUCCEEDED: EventType
EVENT_TYPE_TOP_UP_FAILED: EventType
EVENT_TYPE_PAYOUT_REQUESTED: EventType
EVENT_TYPE_PAYOUT_SETTLED: EventType
EVENT_TYPE_PAYOUT_FAILED: EventType
EVENT_TYPE_COLLECTION_CLOSED: EventType
EVENT_TYPE_COLLECTION_CANCELLED: EventType
EVENT_TYPE_CODE_RESET: EventType
EVENT_TYPE_WEBHOOK_ENDPOINT_DISABLED: EventType
EVENT_TYPE_ACCOUNT_FROZEN: EventType
EVENT_TYPE_ACCOUNT_UNFROZEN: EventType
EVENT_TYPE_ACCOUNT_CLOSED: EventType

class Event(_message.Message):
    __slots__ = ("event_id", "type", "transfer", "create_time", "sender_notification_preference", "recipient_notification_preference", "top_up", "payout", "collection", "code_reset", "webhook_endpoint_id", "account_status_change")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    TRANSFER_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    SENDER_NOTIFICATION_PREFERENCE_FIELD_NUMBER: _ClassVar[int]
    RECIPIENT_NOTIFICATION_PREFERENCE_FIELD_NUMBER: _ClassVar[int]
    TOP_UP_FIELD_NUMBER: _ClassVar[int]
    PAYOUT_FIELD_NUMBER: _ClassVar[int]
    COLLECTION_FIELD_NUMBER: _ClassVar[int]
    CODE_RESET_FIELD_NUMBER: _ClassVar[int]
    WEBHOOK_ENDPOINT_ID_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_STATUS_CHANGE_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    type: EventType
    transfer: _transfer_pb2.Transfer
    create_time: _timestamp_pb2.Timestamp
    sender_notification_preference: _account_pb2.NotificationPreference
    recipient_notification_preference: _account_pb2.NotificationPreference
    top_up: _top_up_pb2.TopUp
    payout: _payout_pb2.Payout
    collection: _collection_pb2.Collection
    code_reset: _account_pb2.CodeReset
    webhook_endpoint_id: str
    account_status_change: _account_pb2.AccountStatusChange
    def __init__(self, event_id: _Optional[str] = ..., type: _Optional[_Union[EventType, str]] = ..., transfer: _Optional[_Union[_transfer_pb2.Transfer, _Mapping]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., sender_notification_preference: _Optional[_Union[_account_pb2.NotificationPreference, str]] = ..., recipient_notification_preference: _Optional[_Union[_account_pb2.NotificationPreference, str]] = ..., top_up: _Optional[_Union[_top_up_pb2.TopUp, _Mapping]] = ..., payout: _Optional[_Union[_payout_pb2.Payout, _Mapping]] = ..., collection: _Optional[_Union[_collection_pb2.Collection, _Mapping]] = ..., code_reset: _Optional[_Union[_account_pb2.CodeReset, _Mapping]] = ..., webhook_endpoint_id: _Optional[str] = ..., account_status_change: _Optional[_Union[_account_pb2.AccountStatusChange, _Mapping]] = ...) -> None: ...
