from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class Identity(_message.Message):
    __slots__ = ("namespace", "subject_id", "handle")
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_ID_FIELD_NUMBER: _ClassVar[int]
    HANDLE_FIELD_NUMBER: _ClassVar[int]
    namespace: str
    subject_id: str
    handle: str
    def __init__(self, namespace: _Optional[str] = ..., subject_id: _Optional[str] = ..., handle: _Optional[str] = ...) -> None: ...
