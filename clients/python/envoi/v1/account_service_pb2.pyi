from envoi.v1 import account_pb2 as _account_pb2
from envoi.v1 import money_pb2 as _money_pb2
from envoi.v1 import transfer_pb2 as _transfer_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class OpenAccountRequest(_message.Message):
    __slots__ = ("request_id", "kind", "display_name", "code", "currency_code")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_CODE_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    kind: _account_pb2.AccountKind
    display_name: str
    code: str
    currency_code: str
    def __init__(self, request_id: _Optional[str] = ..., kind: _Optional[_Union[_account_pb2.AccountKind, str]] = ..., display_name: _Optional[str] = ..., code: _Optional[str] = ..., currency_code: _Optional[str] = ...) -> None: ...

class OpenAccountResponse(_message.Message):
    __slots__ = ("account",)
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    account: _account_pb2.Account
    def __init__(self, account: _Optional[_Union[_account_pb2.Account, _Mapping]] = ...) -> None: ...

class GetAccountRequest(_message.Message):
    __slots__ = ("account_id",)
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    def __init__(self, account_id: _Optional[str] = ...) -> None: ...

class GetAccountResponse(_message.Message):
    __slots__ = ("account",)
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    account: _account_pb2.Account
    def __init__(self, account: _Optional[_Union[_account_pb2.Account, _Mapping]] = ...) -> None: ...

class GetBalanceRequest(_message.Message):
    __slots__ = ("account_id",)
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    def __init__(self, account_id: _Optional[str] = ...) -> None: ...

class GetBalanceResponse(_message.Message):
    __slots__ = ("balance",)
    BALANCE_FIELD_NUMBER: _ClassVar[int]
    balance: _account_pb2.Balance
    def __init__(self, balance: _Optional[_Union[_account_pb2.Balance, _Mapping]] = ...) -> None: ...

class ChangeCodeRequest(_message.Message):
    __slots__ = ("request_id", "account_id", "new_code")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    NEW_CODE_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    account_id: str
    new_code: str
    def __init__(self, request_id: _Optional[str] = ..., account_id: _Optional[str] = ..., new_code: _Optional[str] = ...) -> None: ...

class ChangeCodeResponse(_message.Message):
    __slots__ = ("account",)
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    account: _account_pb2.Account
    def __init__(self, account: _Optional[_Union[_account_pb2.Account, _Mapping]] = ...) -> None: ...

class CreditAccountRequest(_message.Message):
    __slots__ = ("request_id", "account_id", "amount", "memo")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    MEMO_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    account_id: str
    amount: _money_pb2.Money
    memo: str
    def __init__(self, request_id: _Optional[str] = ..., account_id: _Optional[str] = ..., amount: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., memo: _Optional[str] = ...) -> None: ...

class CreditAccountResponse(_message.Message):
    __slots__ = ("transfer", "balance")
    TRANSFER_FIELD_NUMBER: _ClassVar[int]
    BALANCE_FIELD_NUMBER: _ClassVar[int]
    transfer: _transfer_pb2.Transfer
    balance: _account_pb2.Balance
    def __init__(self, transfer: _Optional[_Union[_transfer_pb2.Transfer, _Mapping]] = ..., balance: _Optional[_Union[_account_pb2.Balance, _Mapping]] = ...) -> None: ...
