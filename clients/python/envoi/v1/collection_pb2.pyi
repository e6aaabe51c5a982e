import datetime

from envoi.v1 import money_pb2 as _money_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CollectionState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    COLLECTION_STATE_UNSPECIFIED: _ClassVar[CollectionState]
    COLLECTION_STATE_OPEN: _ClassVar[CollectionState]
    COLLECTION_STATE_CLOSED: _ClassVar[CollectionState]
    COLLECTION_STATE_CANCELLED: _ClassVar[CollectionState]
COLLECTION_STATE_UNSPECIFIED: CollectionState
COLLECTION_STATE_OPEN: CollectionState
COLLECTION_STATE_CLOSED: CollectionState
COLLECTION_STATE_CANCELLED: CollectionState

class Collection(_message.Message):
    __slots__ = ("collection_id", "owner_account_id", "title", "hashtag", "target", "deadline_time", "state", "collected", "contributor_count", "progress_basis_points", "accepting_payments", "create_time", "resolve_time", "payout_transfer_id")
    COLLECTION_ID_FIELD_NUMBER: _ClassVar[int]
    OWNER_ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    HASHTAG_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    DEADLINE_TIME_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    COLLECTED_FIELD_NUMBER: _ClassVar[int]
    CONTRIBUTOR_COUNT_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_BASIS_POINTS_FIELD_NUMBER: _ClassVar[int]
    ACCEPTING_PAYMENTS_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    RESOLVE_TIME_FIELD_NUMBER: _ClassVar[int]
    PAYOUT_TRANSFER_ID_FIELD_NUMBER: _ClassVar[int]
    collection_id: str
    owner_account_id: str
    title: str
    hashtag: str
    target: _money_pb2.Money
    deadline_time: _timestamp_pb2.Timestamp
    state: CollectionState
    collected: _money_pb2.Money
    contributor_count: int
    progress_basis_points: int
    accepting_payments: bool
    create_time: _timestamp_pb2.Timestamp
    resolve_time: _timestamp_pb2.Timestamp
    payout_transfer_id: str
    def __init__(self, collection_id: _Optional[str] = ..., owner_account_id: _Optional[str] = ..., title: _Optional[str] = ..., hashtag: _Optional[str] = ..., target: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., deadline_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., state: _Optional[_Union[CollectionState, str]] = ..., collected: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., contributor_count: _Optional[int] = ..., progress_basis_points: _Optional[int] = ..., accepting_payments: _Optional[bool] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., resolve_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., payout_transfer_id: _Optional[str] = ...) -> None: ...
