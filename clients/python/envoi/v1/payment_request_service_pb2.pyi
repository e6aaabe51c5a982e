from envoi.v1 import identity_pb2 as _identity_pb2
from envoi.v1 import money_pb2 as _money_pb2
from envoi.v1 import transfer_pb2 as _transfer_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class RequestPaymentRequest(_message.Message):
    __slots__ = ("request_id", "account_id", "payer_account_id", "payer_identity", "amount", "merchant_reference", "memo", "expire_after_s")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    PAYER_ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    PAYER_IDENTITY_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    MERCHANT_REFERENCE_FIELD_NUMBER: _ClassVar[int]
    MEMO_FIELD_NUMBER: _ClassVar[int]
    EXPIRE_AFTER_S_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    account_id: str
    payer_account_id: str
    payer_identity: _identity_pb2.Identity
    amount: _money_pb2.Money
    merchant_reference: str
    memo: str
    expire_after_s: int
    def __init__(self, request_id: _Optional[str] = ..., account_id: _Optional[str] = ..., payer_account_id: _Optional[str] = ..., payer_identity: _Optional[_Union[_identity_pb2.Identity, _Mapping]] = ..., amount: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., merchant_reference: _Optional[str] = ..., memo: _Optional[str] = ..., expire_after_s: _Optional[int] = ...) -> None: ...

class RequestPaymentResponse(_message.Message):
    __slots__ = ("transfer",)
    TRANSFER_FIELD_NUMBER: _ClassVar[int]
    transfer: _transfer_pb2.Transfer
    def __init__(self, transfer: _Optional[_Union[_transfer_pb2.Transfer, _Mapping]] = ...) -> None: ...

class RequestMoneyRequest(_message.Message):
    __slots__ = ("request_id", "account_id", "requester_identity", "payer_account_id", "payer_identity", "amount", "memo", "expire_after_s", "channel_reference")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    REQUESTER_IDENTITY_FIELD_NUMBER: _ClassVar[int]
    PAYER_ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    PAYER_IDENTITY_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    MEMO_FIELD_NUMBER: _ClassVar[int]
    EXPIRE_AFTER_S_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_REFERENCE_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    account_id: str
    requester_identity: _identity_pb2.Identity
    payer_account_id: str
    payer_identity: _identity_pb2.Identity
    amount: _money_pb2.Money
    memo: str
    expire_after_s: int
    channel_reference: str
    def __init__(self, request_id: _Optional[str] = ..., account_id: _Optional[str] = ..., requester_identity: _Optional[_Union[_identity_pb2.Identity, _Mapping]] = ..., payer_account_id: _Optional[str] = ..., payer_identity: _Optional[_Union[_identity_pb2.Identity, _Mapping]] = ..., amount: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., memo: _Optional[str] = ..., expire_after_s: _Optional[int] = ..., channel_reference: _Optional[str] = ...) -> None: ...

class RequestMoneyResponse(_message.Message):
    __slots__ = ("transfer",)
    TRANSFER_FIELD_NUMBER: _ClassVar[int]
    transfer: _transfer_pb2.Transfer
    def __init__(self, transfer: _Optional[_Union[_transfer_pb2.Transfer, _Mapping]] = ...) -> None: ...
