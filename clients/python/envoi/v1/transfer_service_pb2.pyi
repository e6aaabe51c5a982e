import datetime

from envoi.v1 import identity_pb2 as _identity_pb2
from envoi.v1 import money_pb2 as _money_pb2
from envoi.v1 import transfer_pb2 as _transfer_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class TransferDirection(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TRANSFER_DIRECTION_UNSPECIFIED: _ClassVar[TransferDirection]
    TRANSFER_DIRECTION_INCOMING: _ClassVar[TransferDirection]
    TRANSFER_DIRECTION_OUTGOING: _ClassVar[TransferDirection]

class BatchMode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    BATCH_MODE_UNSPECIFIED: _ClassVar[BatchMode]
    BATCH_MODE_ALL_OR_NOTHING: _ClassVar[BatchMode]
    BATCH_MODE_INDEPENDENT: _ClassVar[BatchMode]

class CreateTransferStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CREATE_TRANSFER_STATUS_UNSPECIFIED: _ClassVar[CreateTransferStatus]
    CREATE_TRANSFER_STATUS_CREATED: _ClassVar[CreateTransferStatus]
    CREATE_TRANSFER_STATUS_EXISTS: _ClassVar[CreateTransferStatus]
    CREATE_TRANSFER_STATUS_FAILED: _ClassVar[CreateTransferStatus]
TRANSFER_DIRECTION_UNSPECIFIED: TransferDirection
TRANSFER_DIRECTION_INCOMING: TransferDirection
TRANSFER_DIRECTION_OUTGOING: TransferDirection
BATCH_MODE_UNSPECIFIED: BatchMode
BATCH_MODE_ALL_OR_NOTHING: BatchMode
BATCH_MODE_INDEPENDENT: BatchMode
CREATE_TRANSFER_STATUS_UNSPECIFIED: CreateTransferStatus
CREATE_TRANSFER_STATUS_CREATED: CreateTransferStatus
CREATE_TRANSFER_STATUS_EXISTS: CreateTransferStatus
CREATE_TRANSFER_STATUS_FAILED: CreateTransferStatus

class RefundTransferRequest(_message.Message):
    __slots__ = ("request_id", "transfer_id", "amount", "memo", "code")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    TRANSFER_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    MEMO_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    transfer_id: str
    amount: _money_pb2.Money
    memo: str
    code: str
    def __init__(self, request_id: _Optional[str] = ..., transfer_id: _Optional[str] = ..., amount: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., memo: _Optional[str] = ..., code: _Optional[str] = ...) -> None: ...

class RefundTransferResponse(_message.Message):
    __slots__ = ("transfer",)
    TRANSFER_FIELD_NUMBER: _ClassVar[int]
    transfer: _transfer_pb2.Transfer
    def __init__(self, transfer: _Optional[_Union[_transfer_pb2.Transfer, _Mapping]] = ...) -> None: ...

class InitiateTransferRequest(_message.Message):
    __slots__ = ("request_id", "from_account_id", "to_account_id", "amount", "memo", "from_identity", "to_identity", "channel_reference", "to_collection_hashtag", "to_collection_id")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    FROM_ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    TO_ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    MEMO_FIELD_NUMBER: _ClassVar[int]
    FROM_IDENTITY_FIELD_NUMBER: _ClassVar[int]
    TO_IDENTITY_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_REFERENCE_FIELD_NUMBER: _ClassVar[int]
    TO_COLLECTION_HASHTAG_FIELD_NUMBER: _ClassVar[int]
    TO_COLLECTION_ID_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    from_account_id: str
    to_account_id: str
    amount: _money_pb2.Money
    memo: str
    from_identity: _identity_pb2.Identity
    to_identity: _identity_pb2.Identity
    channel_reference: str
    to_collection_hashtag: str
    to_collection_id: str
    def __init__(self, request_id: _Optional[str] = ..., from_account_id: _Optional[str] = ..., to_account_id: _Optional[str] = ..., amount: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., memo: _Optional[str] = ..., from_identity: _Optional[_Union[_identity_pb2.Identity, _Mapping]] = ..., to_identity: _Optional[_Union[_identity_pb2.Identity, _Mapping]] = ..., channel_reference: _Optional[str] = ..., to_collection_hashtag: _Optional[str] = ..., to_collection_id: _Optional[str] = ...) -> None: ...

class InitiateTransferResponse(_message.Message):
    __slots__ = ("transfer",)
    TRANSFER_FIELD_NUMBER: _ClassVar[int]
    transfer: _transfer_pb2.Transfer
    def __init__(self, transfer: _Optional[_Union[_transfer_pb2.Transfer, _Mapping]] = ...) -> None: ...

class ConfirmTransferRequest(_message.Message):
    __slots__ = ("request_id", "transfer_id", "code")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    TRANSFER_ID_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    transfer_id: str
    code: str
    def __init__(self, request_id: _Optional[str] = ..., transfer_id: _Optional[str] = ..., code: _Optional[str] = ...) -> None: ...

class ConfirmTransferResponse(_message.Message):
    __slots__ = ("transfer",)
    TRANSFER_FIELD_NUMBER: _ClassVar[int]
    transfer: _transfer_pb2.Transfer
    def __init__(self, transfer: _Optional[_Union[_transfer_pb2.Transfer, _Mapping]] = ...) -> None: ...

class CancelTransferRequest(_message.Message):
    __slots__ = ("request_id", "transfer_id")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    TRANSFER_ID_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    transfer_id: str
    def __init__(self, request_id: _Optional[str] = ..., transfer_id: _Optional[str] = ...) -> None: ...

class CancelTransferResponse(_message.Message):
    __slots__ = ("transfer",)
    TRANSFER_FIELD_NUMBER: _ClassVar[int]
    transfer: _transfer_pb2.Transfer
    def __init__(self, transfer: _Optional[_Union[_transfer_pb2.Transfer, _Mapping]] = ...) -> None: ...

class GetTransferRequest(_message.Message):
    __slots__ = ("transfer_id", "channel_reference", "channel")
    TRANSFER_ID_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_REFERENCE_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    transfer_id: str
    channel_reference: str
    channel: str
    def __init__(self, transfer_id: _Optional[str] = ..., channel_reference: _Optional[str] = ..., channel: _Optional[str] = ...) -> None: ...

class GetTransferResponse(_message.Message):
    __slots__ = ("transfer",)
    TRANSFER_FIELD_NUMBER: _ClassVar[int]
    transfer: _transfer_pb2.Transfer
    def __init__(self, transfer: _Optional[_Union[_transfer_pb2.Transfer, _Mapping]] = ...) -> None: ...

class ListTransfersRequest(_message.Message):
    __slots__ = ("account_id", "page_size", "page_token", "states", "direction", "start_time", "end_time", "counterpart_account_id", "merchant_reference")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    STATES_FIELD_NUMBER: _ClassVar[int]
    DIRECTION_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    COUNTERPART_ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    MERCHANT_REFERENCE_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    page_size: int
    page_token: str
    states: _containers.RepeatedScalarFieldContainer[_transfer_pb2.TransferState]
    direction: TransferDirection
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    counterpart_account_id: str
    merchant_reference: str
    def __init__(self, account_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., states: _Optional[_Iterable[_Union[_transfer_pb2.TransferState, str]]] = ..., direction: _Optional[_Union[TransferDirection, str]] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., counterpart_account_id: _Optional[str] = ..., merchant_reference: _Optional[str] = ...) -> None: ...

class ListTransfersResponse(_message.Message):
    __slots__ = ("transfers", "next_page_token")
    TRANSFERS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    transfers: _containers.RepeatedCompositeFieldContainer[_transfer_pb2.Transfer]
    next_page_token: str
    def __init__(self, transfers: _Optional[_Iterable[_Union[_transfer_pb2.Transfer, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ListPendingConfirmationsRequest(_message.Message):
    __slots__ = ("account_id", "page_size", "page_token")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    page_size: int
    page_token: str
    def __init__(self, account_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListPendingConfirmationsResponse(_message.Message):
    __slots__ = ("transfers", "next_page_token")
    TRANSFERS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    transfers: _containers.RepeatedCompositeFieldContainer[_transfer_pb2.Transfer]
    next_page_token: str
    def __init__(self, transfers: _Optional[_Iterable[_Union[_transfer_pb2.Transfer, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class TransferToCreate(_message.Message):
    __slots__ = ("transfer_id", "from_account_id", "to_account_id", "amount", "memo")
    TRANSFER_ID_FIELD_NUMBER: _ClassVar[int]
    FROM_ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    TO_ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    MEMO_FIELD_NUMBER: _ClassVar[int]
    transfer_id: str
    from_account_id: str
    to_account_id: str
    amount: _money_pb2.Money
    memo: str
    def __init__(self, transfer_id: _Optional[str] = ..., from_account_id: _Optional[str] = ..., to_account_id: _Optional[str] = ..., amount: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., memo: _Optional[str] = ...) -> None: ...

class CreateTransfersRequest(_message.Message):
    __slots__ = ("request_id", "transfers", "mode")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    TRANSFERS_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    transfers: _containers.RepeatedCompositeFieldContainer[TransferToCreate]
    mode: BatchMode
    def __init__(self, request_id: _Optional[str] = ..., transfers: _Optional[_Iterable[_Union[TransferToCreate, _Mapping]]] = ..., mode: _Optional[_Union[BatchMode, str]] = ...) -> None: ...

class CreateTransferResult(_message.Message):
    __slots__ = ("index", "transfer_id", "status", "reason", "message")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    TRANSFER_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    index: int
    transfer_id: str
    status: CreateTransferStatus
    reason: str
    message: str
    def __init__(self, index: _Optional[int] = ..., transfer_id: _Optional[str] = ..., status: _Optional[_Union[CreateTransferStatus, str]] = ..., reason: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...

class CreateTransfersResponse(_message.Message):
    __slots__ = ("results",)
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[CreateTransferResult]
    def __init__(self, results: _Optional[_Iterable[_Union[CreateTransferResult, _Mapping]]] = ...) -> None: ...
