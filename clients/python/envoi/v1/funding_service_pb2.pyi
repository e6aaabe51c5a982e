from envoi.v1 import money_pb2 as _money_pb2
from envoi.v1 import top_up_pb2 as _top_up_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class TopUpRequest(_message.Message):
    __slots__ = ("request_id", "account_id", "amount", "provider", "card_token")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    CARD_TOKEN_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    account_id: str
    amount: _money_pb2.Money
    provider: str
    card_token: str
    def __init__(self, request_id: _Optional[str] = ..., account_id: _Optional[str] = ..., amount: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., provider: _Optional[str] = ..., card_token: _Optional[str] = ...) -> None: ...

class TopUpResponse(_message.Message):
    __slots__ = ("top_up",)
    TOP_UP_FIELD_NUMBER: _ClassVar[int]
    top_up: _top_up_pb2.TopUp
    def __init__(self, top_up: _Optional[_Union[_top_up_pb2.TopUp, _Mapping]] = ...) -> None: ...

class GetTopUpRequest(_message.Message):
    __slots__ = ("top_up_id",)
    TOP_UP_ID_FIELD_NUMBER: _ClassVar[int]
    top_up_id: str
    def __init__(self, top_up_id: _Optional[str] = ...) -> None: ...

class GetTopUpResponse(_message.Message):
    __slots__ = ("top_up",)
    TOP_UP_FIELD_NUMBER: _ClassVar[int]
    top_up: _top_up_pb2.TopUp
    def __init__(self, top_up: _Optional[_Union[_top_up_pb2.TopUp, _Mapping]] = ...) -> None: ...

class CompleteTopUpRequest(_message.Message):
    __slots__ = ("request_id", "provider", "payload", "signature")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    provider: str
    payload: bytes
    signature: str
    def __init__(self, request_id: _Optional[str] = ..., provider: _Optional[str] = ..., payload: _Optional[bytes] = ..., signature: _Optional[str] = ...) -> None: ...

class CompleteTopUpResponse(_message.Message):
    __slots__ = ("top_up",)
    TOP_UP_FIELD_NUMBER: _ClassVar[int]
    top_up: _top_up_pb2.TopUp
    def __init__(self, top_up: _Optional[_Union[_top_up_pb2.TopUp, _Mapping]] = ...) -> None: ...
