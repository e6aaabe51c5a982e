import datetime

from envoi.v1 import money_pb2 as _money_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class PayoutState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PAYOUT_STATE_UNSPECIFIED: _ClassVar[PayoutState]
    PAYOUT_STATE_PENDING: _ClassVar[PayoutState]
    PAYOUT_STATE_SETTLED: _ClassVar[PayoutState]
    PAYOUT_STATE_FAILED: _ClassVar[PayoutState]
PAYOUT_STATE_UNSPECIFIED: PayoutState
PAYOUT_STATE_PENDING: PayoutState
PAYOUT_STATE_SETTLED: PayoutState
PAYOUT_STATE_FAILED: PayoutState

class Payout(_message.Message):
    __slots__ = ("payout_id", "account_id", "amount", "state", "provider", "provider_reference", "iban_masked", "beneficiary_name", "failure_reason", "transfer_id", "create_time", "resolve_time")
    PAYOUT_ID_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_REFERENCE_FIELD_NUMBER: _ClassVar[int]
    IBAN_MASKED_FIELD_NUMBER: _ClassVar[int]
    BENEFICIARY_NAME_FIELD_NUMBER: _ClassVar[int]
    FAILURE_REASON_FIELD_NUMBER: _ClassVar[int]
    TRANSFER_ID_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    RESOLVE_TIME_FIELD_NUMBER: _ClassVar[int]
    payout_id: str
    account_id: str
    amount: _money_pb2.Money
    state: PayoutState
    provider: str
    provider_reference: str
    iban_masked: str
    beneficiary_name: str
    failure_reason: str
    transfer_id: str
    create_time: _timestamp_pb2.Timestamp
    resolve_time: _timestamp_pb2.Timestamp
    def __init__(self, payout_id: _Optional[str] = ..., account_id: _Optional[str] = ..., amount: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., state: _Optional[_Union[PayoutState, str]] = ..., provider: _Optional[str] = ..., provider_reference: _Optional[str] = ..., iban_masked: _Optional[str] = ..., beneficiary_name: _Optional[str] = ..., failure_reason: _Optional[str] = ..., transfer_id: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., resolve_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
