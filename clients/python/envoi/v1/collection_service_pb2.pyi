import datetime

from envoi.v1 import collection_pb2 as _collection_pb2
from envoi.v1 import money_pb2 as _money_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CreateCollectionRequest(_message.Message):
    __slots__ = ("request_id", "owner_account_id", "title", "hashtag", "target", "deadline_time")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    OWNER_ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    HASHTAG_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    DEADLINE_TIME_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    owner_account_id: str
    title: str
    hashtag: str
    target: _money_pb2.Money
    deadline_time: _timestamp_pb2.Timestamp
    def __init__(self, request_id: _Optional[str] = ..., owner_account_id: _Optional[str] = ..., title: _Optional[str] = ..., hashtag: _Optional[str] = ..., target: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., deadline_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CreateCollectionResponse(_message.Message):
    __slots__ = ("collection",)
    COLLECTION_FIELD_NUMBER: _ClassVar[int]
    collection: _collection_pb2.Collection
    def __init__(self, collection: _Optional[_Union[_collection_pb2.Collection, _Mapping]] = ...) -> None: ...

class GetCollectionRequest(_message.Message):
    __slots__ = ("collection_id", "hashtag")
    COLLECTION_ID_FIELD_NUMBER: _ClassVar[int]
    HASHTAG_FIELD_NUMBER: _ClassVar[int]
    collection_id: str
    hashtag: str
    def __init__(self, collection_id: _Optional[str] = ..., hashtag: _Optional[str] = ...) -> None: ...

class GetCollectionResponse(_message.Message):
    __slots__ = ("collection",)
    COLLECTION_FIELD_NUMBER: _ClassVar[int]
    collection: _collection_pb2.Collection
    def __init__(self, collection: _Optional[_Union[_collection_pb2.Collection, _Mapping]] = ...) -> None: ...

class CloseCollectionRequest(_message.Message):
    __slots__ = ("request_id", "collection_id")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    COLLECTION_ID_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    collection_id: str
    def __init__(self, request_id: _Optional[str] = ..., collection_id: _Optional[str] = ...) -> None: ...

class CloseCollectionResponse(_message.Message):
    __slots__ = ("collection",)
    COLLECTION_FIELD_NUMBER: _ClassVar[int]
    collection: _collection_pb2.Collection
    def __init__(self, collection: _Optional[_Union[_collection_pb2.Collection, _Mapping]] = ...) -> None: ...

class CancelCollectionRequest(_message.Message):
    __slots__ = ("request_id", "collection_id")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    COLLECTION_ID_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    collection_id: str
    def __init__(self, request_id: _Optional[str] = ..., collection_id: _Optional[str] = ...) -> None: ...

class CancelCollectionResponse(_message.Message):
    __slots__ = ("collection", "refund_count")
    COLLECTION_FIELD_NUMBER: _ClassVar[int]
    REFUND_COUNT_FIELD_NUMBER: _ClassVar[int]
    collection: _collection_pb2.Collection
    refund_count: int
    def __init__(self, collection: _Optional[_Union[_collection_pb2.Collection, _Mapping]] = ..., refund_count: _Optional[int] = ...) -> None: ...

class ListCollectionsRequest(_message.Message):
    __slots__ = ("owner_account_id", "page_size", "page_token")
    OWNER_ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    owner_account_id: str
    page_size: int
    page_token: str
    def __init__(self, owner_account_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListCollectionsResponse(_message.Message):
    __slots__ = ("collections", "next_page_token")
    COLLECTIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    collections: _containers.RepeatedCompositeFieldContainer[_collection_pb2.Collection]
    next_page_token: str
    def __init__(self, collections: _Optional[_Iterable[_Union[_collection_pb2.Collection, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...
