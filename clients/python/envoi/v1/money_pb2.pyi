from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class Money(_message.Message):
    __slots__ = ("currency_code", "amount_cents")
    CURRENCY_CODE_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_CENTS_FIELD_NUMBER: _ClassVar[int]
    currency_code: str
    amount_cents: int
    def __init__(self, currency_code: _Optional[str] = ..., amount_cents: _Optional[int] = ...) -> None: ...
