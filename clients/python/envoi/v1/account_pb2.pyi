import datetime

from envoi.v1 import identity_pb2 as _identity_pb2
from envoi.v1 import money_pb2 as _money_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AccountKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ACCOUNT_KIND_UNSPECIFIED: _ClassVar[AccountKind]
    ACCOUNT_KIND_PERSON: _ClassVar[AccountKind]
    ACCOUNT_KIND_ASSOCIATION: _ClassVar[AccountKind]
    ACCOUNT_KIND_MERCHANT: _ClassVar[AccountKind]
    ACCOUNT_KIND_SYSTEM: _ClassVar[AccountKind]
    ACCOUNT_KIND_COLLECTION: _ClassVar[AccountKind]
    ACCOUNT_KIND_SETTLEMENT: _ClassVar[AccountKind]

class AccountTier(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ACCOUNT_TIER_UNSPECIFIED: _ClassVar[AccountTier]
    ACCOUNT_TIER_UNVERIFIED: _ClassVar[AccountTier]
    ACCOUNT_TIER_VERIFIED: _ClassVar[AccountTier]

class NotificationPreference(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    NOTIFICATION_PREFERENCE_UNSPECIFIED: _ClassVar[NotificationPreference]
    NOTIFICATION_PREFERENCE_PUBLIC_REPLY: _ClassVar[NotificationPreference]
    NOTIFICATION_PREFERENCE_PRIVATE_MESSAGE: _ClassVar[NotificationPreference]
    NOTIFICATION_PREFERENCE_APP_ONLY: _ClassVar[NotificationPreference]
ACCOUNT_KIND_UNSPECIFIED: AccountKind
ACCOUNT_KIND_PERSON: AccountKind
ACCOUNT_KIND_ASSOCIATION: AccountKind
ACCOUNT_KIND_MERCHANT: AccountKind
ACCOUNT_KIND_SYSTEM: AccountKind
ACCOUNT_KIND_COLLECTION: AccountKind
ACCOUNT_KIND_SETTLEMENT: AccountKind
ACCOUNT_TIER_UNSPECIFIED: AccountTier
ACCOUNT_TIER_UNVERIFIED: AccountTier
ACCOUNT_TIER_VERIFIED: AccountTier
NOTIFICATION_PREFERENCE_UNSPECIFIED: NotificationPreference
NOTIFICATION_PREFERENCE_PUBLIC_REPLY: NotificationPreference
NOTIFICATION_PREFERENCE_PRIVATE_MESSAGE: NotificationPreference
NOTIFICATION_PREFERENCE_APP_ONLY: NotificationPreference

class Account(_message.Message):
    __slots__ = ("account_id", "kind", "display_name", "currency_code", "create_time", "code_locked", "identities", "tier", "notification_preference", "business_profile", "merchant_fees", "debit_mandate", "code_reset_hold_end_time", "frozen", "freeze_reason", "freeze_time", "close_time")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_CODE_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    CODE_LOCKED_FIELD_NUMBER: _ClassVar[int]
    IDENTITIES_FIELD_NUMBER: _ClassVar[int]
    TIER_FIELD_NUMBER: _ClassVar[int]
    NOTIFICATION_PREFERENCE_FIELD_NUMBER: _ClassVar[int]
    BUSINESS_PROFILE_FIELD_NUMBER: _ClassVar[int]
    MERCHANT_FEES_FIELD_NUMBER: _ClassVar[int]
    DEBIT_MANDATE_FIELD_NUMBER: _ClassVar[int]
    CODE_RESET_HOLD_END_TIME_FIELD_NUMBER: _ClassVar[int]
    FROZEN_FIELD_NUMBER: _ClassVar[int]
    FREEZE_REASON_FIELD_NUMBER: _ClassVar[int]
    FREEZE_TIME_FIELD_NUMBER: _ClassVar[int]
    CLOSE_TIME_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    kind: AccountKind
    display_name: str
    currency_code: str
    create_time: _timestamp_pb2.Timestamp
    code_locked: bool
    identities: _containers.RepeatedCompositeFieldContainer[_identity_pb2.Identity]
    tier: AccountTier
    notification_preference: NotificationPreference
    business_profile: BusinessProfile
    merchant_fees: MerchantFees
    debit_mandate: DebitMandate
    code_reset_hold_end_time: _timestamp_pb2.Timestamp
    frozen: bool
    freeze_reason: str
    freeze_time: _timestamp_pb2.Timestamp
    close_time: _timestamp_pb2.Timestamp
    def __init__(self, account_id: _Optional[str] = ..., kind: _Optional[_Union[AccountKind, str]] = ..., display_name: _Optional[str] = ..., currency_code: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., code_locked: _Optional[bool] = ..., identities: _Optional[_Iterable[_Union[_identity_pb2.Identity, _Mapping]]] = ..., tier: _Optional[_Union[AccountTier, str]] = ..., notification_preference: _Optional[_Union[NotificationPreference, str]] = ..., business_profile: _Optional[_Union[BusinessProfile, _Mapping]] = ..., merchant_fees: _Optional[_Union[MerchantFees, _Mapping]] = ..., debit_mandate: _Optional[_Union[DebitMandate, _Mapping]] = ..., code_reset_hold_end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., frozen: _Optional[bool] = ..., freeze_reason: _Optional[str] = ..., freeze_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., close_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class AccountStatusChange(_message.Message):
    __slots__ = ("account_status_change_id", "account_id", "reason", "change_time")
    ACCOUNT_STATUS_CHANGE_ID_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    CHANGE_TIME_FIELD_NUMBER: _ClassVar[int]
    account_status_change_id: str
    account_id: str
    reason: str
    change_time: _timestamp_pb2.Timestamp
    def __init__(self, account_status_change_id: _Optional[str] = ..., account_id: _Optional[str] = ..., reason: _Optional[str] = ..., change_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class DebitMandate(_message.Message):
    __slots__ = ("reason", "create_time")
    REASON_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    reason: str
    create_time: _timestamp_pb2.Timestamp
    def __init__(self, reason: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CodeReset(_message.Message):
    __slots__ = ("code_reset_id", "account_id", "reset_time", "hold_end_time")
    CODE_RESET_ID_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    RESET_TIME_FIELD_NUMBER: _ClassVar[int]
    HOLD_END_TIME_FIELD_NUMBER: _ClassVar[int]
    code_reset_id: str
    account_id: str
    reset_time: _timestamp_pb2.Timestamp
    hold_end_time: _timestamp_pb2.Timestamp
    def __init__(self, code_reset_id: _Optional[str] = ..., account_id: _Optional[str] = ..., reset_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., hold_end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class BusinessProfile(_message.Message):
    __slots__ = ("legal_name", "registration_country_code", "registration_number", "verified", "verify_time")
    LEGAL_NAME_FIELD_NUMBER: _ClassVar[int]
    REGISTRATION_COUNTRY_CODE_FIELD_NUMBER: _ClassVar[int]
    REGISTRATION_NUMBER_FIELD_NUMBER: _ClassVar[int]
    VERIFIED_FIELD_NUMBER: _ClassVar[int]
    VERIFY_TIME_FIELD_NUMBER: _ClassVar[int]
    legal_name: str
    registration_country_code: str
    registration_number: str
    verified: bool
    verify_time: _timestamp_pb2.Timestamp
    def __init__(self, legal_name: _Optional[str] = ..., registration_country_code: _Optional[str] = ..., registration_number: _Optional[str] = ..., verified: _Optional[bool] = ..., verify_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class MerchantFees(_message.Message):
    __slots__ = ("basis_points", "fixed_cents")
    BASIS_POINTS_FIELD_NUMBER: _ClassVar[int]
    FIXED_CENTS_FIELD_NUMBER: _ClassVar[int]
    basis_points: int
    fixed_cents: int
    def __init__(self, basis_points: _Optional[int] = ..., fixed_cents: _Optional[int] = ...) -> None: ...

class Balance(_message.Message):
    __slots__ = ("account_id", "balance", "held", "available")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    BALANCE_FIELD_NUMBER: _ClassVar[int]
    HELD_FIELD_NUMBER: _ClassVar[int]
    AVAILABLE_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    balance: _money_pb2.Money
    held: _money_pb2.Money
    available: _money_pb2.Money
    def __init__(self, account_id: _Optional[str] = ..., balance: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., held: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., available: _Optional[_Union[_money_pb2.Money, _Mapping]] = ...) -> None: ...
