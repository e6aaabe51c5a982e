import datetime

from envoi.v1 import money_pb2 as _money_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class TopUpState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TOP_UP_STATE_UNSPECIFIED: _ClassVar[TopUpState]
    TOP_UP_STATE_PENDING: _ClassVar[TopUpState]
    TOP_UP_STATE_SUCCEEDED: _ClassVar[TopUpState]
    TOP_UP_STATE_FAILED: _ClassVar[TopUpState]
TOP_UP_STATE_UNSPECIFIED: TopUpState
TOP_UP_STATE_PENDING: TopUpState
TOP_UP_STATE_SUCCEEDED: TopUpState
TOP_UP_STATE_FAILED: TopUpState

class TopUp(_message.Message):
    __slots__ = ("top_up_id", "account_id", "amount", "state", "provider", "provider_reference", "card_last4", "next_action_url", "failure_reason", "transfer_id", "create_time", "resolve_time", "refund")
    TOP_UP_ID_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_REFERENCE_FIELD_NUMBER: _ClassVar[int]
    CARD_LAST4_FIELD_NUMBER: _ClassVar[int]
    NEXT_ACTION_URL_FIELD_NUMBER: _ClassVar[int]
    FAILURE_REASON_FIELD_NUMBER: _ClassVar[int]
    TRANSFER_ID_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    RESOLVE_TIME_FIELD_NUMBER: _ClassVar[int]
    REFUND_FIELD_NUMBER: _ClassVar[int]
    top_up_id: str
    account_id: str
    amount: _money_pb2.Money
    state: TopUpState
    provider: str
    provider_reference: str
    card_last4: str
    next_action_url: str
    failure_reason: str
    transfer_id: str
    create_time: _timestamp_pb2.Timestamp
    resolve_time: _timestamp_pb2.Timestamp
    refund: TopUpRefund
    def __init__(self, top_up_id: _Optional[str] = ..., account_id: _Optional[str] = ..., amount: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., state: _Optional[_Union[TopUpState, str]] = ..., provider: _Optional[str] = ..., provider_reference: _Optional[str] = ..., card_last4: _Optional[str] = ..., next_action_url: _Optional[str] = ..., failure_reason: _Optional[str] = ..., transfer_id: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., resolve_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., refund: _Optional[_Union[TopUpRefund, _Mapping]] = ...) -> None: ...

class TopUpRefund(_message.Message):
    __slots__ = ("amount", "provider_reference", "create_time", "send_time")
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_REFERENCE_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    SEND_TIME_FIELD_NUMBER: _ClassVar[int]
    amount: _money_pb2.Money
    provider_reference: str
    create_time: _timestamp_pb2.Timestamp
    send_time: _timestamp_pb2.Timestamp
    def __init__(self, amount: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., provider_reference: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., send_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
