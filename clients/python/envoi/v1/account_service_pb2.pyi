import datetime

from envoi.v1 import account_pb2 as _account_pb2
from envoi.v1 import identity_pb2 as _identity_pb2
from envoi.v1 import money_pb2 as _money_pb2
from envoi.v1 import transfer_pb2 as _transfer_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class OpenAccountRequest(_message.Message):
    __slots__ = ("request_id", "kind", "display_name", "code", "currency_code", "identity")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_CODE_FIELD_NUMBER: _ClassVar[int]
    IDENTITY_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    kind: _account_pb2.AccountKind
    display_name: str
    code: str
    currency_code: str
    identity: _identity_pb2.Identity
    def __init__(self, request_id: _Optional[str] = ..., kind: _Optional[_Union[_account_pb2.AccountKind, str]] = ..., display_name: _Optional[str] = ..., code: _Optional[str] = ..., currency_code: _Optional[str] = ..., identity: _Optional[_Union[_identity_pb2.Identity, _Mapping]] = ...) -> None: ...

class OpenAccountResponse(_message.Message):
    __slots__ = ("account", "claimed_transfers")
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    CLAIMED_TRANSFERS_FIELD_NUMBER: _ClassVar[int]
    account: _account_pb2.Account
    claimed_transfers: _containers.RepeatedCompositeFieldContainer[_transfer_pb2.Transfer]
    def __init__(self, account: _Optional[_Union[_account_pb2.Account, _Mapping]] = ..., claimed_transfers: _Optional[_Iterable[_Union[_transfer_pb2.Transfer, _Mapping]]] = ...) -> None: ...

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
    __slots__ = ("account_id", "as_of")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    AS_OF_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    as_of: _timestamp_pb2.Timestamp
    def __init__(self, account_id: _Optional[str] = ..., as_of: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class GetBalanceResponse(_message.Message):
    __slots__ = ("balance",)
    BALANCE_FIELD_NUMBER: _ClassVar[int]
    balance: _account_pb2.Balance
    def __init__(self, balance: _Optional[_Union[_account_pb2.Balance, _Mapping]] = ...) -> None: ...

class ChangeCodeRequest(_message.Message):
    __slots__ = ("request_id", "account_id", "new_code", "current_code")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    NEW_CODE_FIELD_NUMBER: _ClassVar[int]
    CURRENT_CODE_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    account_id: str
    new_code: str
    current_code: str
    def __init__(self, request_id: _Optional[str] = ..., account_id: _Optional[str] = ..., new_code: _Optional[str] = ..., current_code: _Optional[str] = ...) -> None: ...

class ChangeCodeResponse(_message.Message):
    __slots__ = ("account",)
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    account: _account_pb2.Account
    def __init__(self, account: _Optional[_Union[_account_pb2.Account, _Mapping]] = ...) -> None: ...

class ResetCodeRequest(_message.Message):
    __slots__ = ("request_id", "account_id", "new_code", "reason")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    NEW_CODE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    account_id: str
    new_code: str
    reason: str
    def __init__(self, request_id: _Optional[str] = ..., account_id: _Optional[str] = ..., new_code: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class ResetCodeResponse(_message.Message):
    __slots__ = ("account", "code_reset")
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    CODE_RESET_FIELD_NUMBER: _ClassVar[int]
    account: _account_pb2.Account
    code_reset: _account_pb2.CodeReset
    def __init__(self, account: _Optional[_Union[_account_pb2.Account, _Mapping]] = ..., code_reset: _Optional[_Union[_account_pb2.CodeReset, _Mapping]] = ...) -> None: ...

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

class LinkIdentityRequest(_message.Message):
    __slots__ = ("request_id", "account_id", "identity")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    IDENTITY_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    account_id: str
    identity: _identity_pb2.Identity
    def __init__(self, request_id: _Optional[str] = ..., account_id: _Optional[str] = ..., identity: _Optional[_Union[_identity_pb2.Identity, _Mapping]] = ...) -> None: ...

class LinkIdentityResponse(_message.Message):
    __slots__ = ("account", "claimed_transfers")
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    CLAIMED_TRANSFERS_FIELD_NUMBER: _ClassVar[int]
    account: _account_pb2.Account
    claimed_transfers: _containers.RepeatedCompositeFieldContainer[_transfer_pb2.Transfer]
    def __init__(self, account: _Optional[_Union[_account_pb2.Account, _Mapping]] = ..., claimed_transfers: _Optional[_Iterable[_Union[_transfer_pb2.Transfer, _Mapping]]] = ...) -> None: ...

class UnlinkIdentityRequest(_message.Message):
    __slots__ = ("request_id", "account_id", "identity")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    IDENTITY_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    account_id: str
    identity: _identity_pb2.Identity
    def __init__(self, request_id: _Optional[str] = ..., account_id: _Optional[str] = ..., identity: _Optional[_Union[_identity_pb2.Identity, _Mapping]] = ...) -> None: ...

class UnlinkIdentityResponse(_message.Message):
    __slots__ = ("account",)
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    account: _account_pb2.Account
    def __init__(self, account: _Optional[_Union[_account_pb2.Account, _Mapping]] = ...) -> None: ...

class ResolveIdentityRequest(_message.Message):
    __slots__ = ("identity",)
    IDENTITY_FIELD_NUMBER: _ClassVar[int]
    identity: _identity_pb2.Identity
    def __init__(self, identity: _Optional[_Union[_identity_pb2.Identity, _Mapping]] = ...) -> None: ...

class ResolveIdentityResponse(_message.Message):
    __slots__ = ("account_id", "display_name", "kind", "identity")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    IDENTITY_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    display_name: str
    kind: _account_pb2.AccountKind
    identity: _identity_pb2.Identity
    def __init__(self, account_id: _Optional[str] = ..., display_name: _Optional[str] = ..., kind: _Optional[_Union[_account_pb2.AccountKind, str]] = ..., identity: _Optional[_Union[_identity_pb2.Identity, _Mapping]] = ...) -> None: ...

class SetAccountTierRequest(_message.Message):
    __slots__ = ("request_id", "account_id", "tier")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    TIER_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    account_id: str
    tier: _account_pb2.AccountTier
    def __init__(self, request_id: _Optional[str] = ..., account_id: _Optional[str] = ..., tier: _Optional[_Union[_account_pb2.AccountTier, str]] = ...) -> None: ...

class SetAccountTierResponse(_message.Message):
    __slots__ = ("account", "claimed_transfers")
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    CLAIMED_TRANSFERS_FIELD_NUMBER: _ClassVar[int]
    account: _account_pb2.Account
    claimed_transfers: _containers.RepeatedCompositeFieldContainer[_transfer_pb2.Transfer]
    def __init__(self, account: _Optional[_Union[_account_pb2.Account, _Mapping]] = ..., claimed_transfers: _Optional[_Iterable[_Union[_transfer_pb2.Transfer, _Mapping]]] = ...) -> None: ...

class SetNotificationPreferenceRequest(_message.Message):
    __slots__ = ("request_id", "account_id", "notification_preference")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    NOTIFICATION_PREFERENCE_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    account_id: str
    notification_preference: _account_pb2.NotificationPreference
    def __init__(self, request_id: _Optional[str] = ..., account_id: _Optional[str] = ..., notification_preference: _Optional[_Union[_account_pb2.NotificationPreference, str]] = ...) -> None: ...

class SetNotificationPreferenceResponse(_message.Message):
    __slots__ = ("account",)
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    account: _account_pb2.Account
    def __init__(self, account: _Optional[_Union[_account_pb2.Account, _Mapping]] = ...) -> None: ...

class SetBusinessProfileRequest(_message.Message):
    __slots__ = ("request_id", "account_id", "business_profile")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    BUSINESS_PROFILE_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    account_id: str
    business_profile: _account_pb2.BusinessProfile
    def __init__(self, request_id: _Optional[str] = ..., account_id: _Optional[str] = ..., business_profile: _Optional[_Union[_account_pb2.BusinessProfile, _Mapping]] = ...) -> None: ...

class SetBusinessProfileResponse(_message.Message):
    __slots__ = ("account",)
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    account: _account_pb2.Account
    def __init__(self, account: _Optional[_Union[_account_pb2.Account, _Mapping]] = ...) -> None: ...

class SetMerchantFeesRequest(_message.Message):
    __slots__ = ("request_id", "account_id", "merchant_fees")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    MERCHANT_FEES_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    account_id: str
    merchant_fees: _account_pb2.MerchantFees
    def __init__(self, request_id: _Optional[str] = ..., account_id: _Optional[str] = ..., merchant_fees: _Optional[_Union[_account_pb2.MerchantFees, _Mapping]] = ...) -> None: ...

class SetMerchantFeesResponse(_message.Message):
    __slots__ = ("account",)
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    account: _account_pb2.Account
    def __init__(self, account: _Optional[_Union[_account_pb2.Account, _Mapping]] = ...) -> None: ...

class SetDebitMandateRequest(_message.Message):
    __slots__ = ("request_id", "account_id", "active", "reason")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    account_id: str
    active: bool
    reason: str
    def __init__(self, request_id: _Optional[str] = ..., account_id: _Optional[str] = ..., active: _Optional[bool] = ..., reason: _Optional[str] = ...) -> None: ...

class SetDebitMandateResponse(_message.Message):
    __slots__ = ("account",)
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    account: _account_pb2.Account
    def __init__(self, account: _Optional[_Union[_account_pb2.Account, _Mapping]] = ...) -> None: ...

class ListStatementRequest(_message.Message):
    __slots__ = ("account_id", "start_time", "end_time", "page_size", "page_token")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    page_size: int
    page_token: str
    def __init__(self, account_id: _Optional[str] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListStatementResponse(_message.Message):
    __slots__ = ("account_id", "opening_balance", "closing_balance", "lines", "next_page_token", "start_time", "end_time")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    OPENING_BALANCE_FIELD_NUMBER: _ClassVar[int]
    CLOSING_BALANCE_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    opening_balance: _money_pb2.Money
    closing_balance: _money_pb2.Money
    lines: _containers.RepeatedCompositeFieldContainer[StatementLine]
    next_page_token: str
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    def __init__(self, account_id: _Optional[str] = ..., opening_balance: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., closing_balance: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., lines: _Optional[_Iterable[_Union[StatementLine, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class StatementLine(_message.Message):
    __slots__ = ("post_time", "amount", "balance_after", "transfer_id", "kind", "counterparty_display_name", "counterparty_account_id", "memo", "posting_id")
    POST_TIME_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    BALANCE_AFTER_FIELD_NUMBER: _ClassVar[int]
    TRANSFER_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    COUNTERPARTY_DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    COUNTERPARTY_ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    MEMO_FIELD_NUMBER: _ClassVar[int]
    POSTING_ID_FIELD_NUMBER: _ClassVar[int]
    post_time: _timestamp_pb2.Timestamp
    amount: _money_pb2.Money
    balance_after: _money_pb2.Money
    transfer_id: str
    kind: _transfer_pb2.TransferKind
    counterparty_display_name: str
    counterparty_account_id: str
    memo: str
    posting_id: int
    def __init__(self, post_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., amount: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., balance_after: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., transfer_id: _Optional[str] = ..., kind: _Optional[_Union[_transfer_pb2.TransferKind, str]] = ..., counterparty_display_name: _Optional[str] = ..., counterparty_account_id: _Optional[str] = ..., memo: _Optional[str] = ..., posting_id: _Optional[int] = ...) -> None: ...

class FreezeAccountRequest(_message.Message):
    __slots__ = ("request_id", "account_id", "reason")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    account_id: str
    reason: str
    def __init__(self, request_id: _Optional[str] = ..., account_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class FreezeAccountResponse(_message.Message):
    __slots__ = ("account", "account_status_change")
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_STATUS_CHANGE_FIELD_NUMBER: _ClassVar[int]
    account: _account_pb2.Account
    account_status_change: _account_pb2.AccountStatusChange
    def __init__(self, account: _Optional[_Union[_account_pb2.Account, _Mapping]] = ..., account_status_change: _Optional[_Union[_account_pb2.AccountStatusChange, _Mapping]] = ...) -> None: ...

class UnfreezeAccountRequest(_message.Message):
    __slots__ = ("request_id", "account_id", "reason")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    account_id: str
    reason: str
    def __init__(self, request_id: _Optional[str] = ..., account_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class UnfreezeAccountResponse(_message.Message):
    __slots__ = ("account", "account_status_change")
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_STATUS_CHANGE_FIELD_NUMBER: _ClassVar[int]
    account: _account_pb2.Account
    account_status_change: _account_pb2.AccountStatusChange
    def __init__(self, account: _Optional[_Union[_account_pb2.Account, _Mapping]] = ..., account_status_change: _Optional[_Union[_account_pb2.AccountStatusChange, _Mapping]] = ...) -> None: ...

class CloseAccountRequest(_message.Message):
    __slots__ = ("request_id", "account_id", "code", "reason")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    account_id: str
    code: str
    reason: str
    def __init__(self, request_id: _Optional[str] = ..., account_id: _Optional[str] = ..., code: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class CloseAccountResponse(_message.Message):
    __slots__ = ("account", "account_status_change")
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_STATUS_CHANGE_FIELD_NUMBER: _ClassVar[int]
    account: _account_pb2.Account
    account_status_change: _account_pb2.AccountStatusChange
    def __init__(self, account: _Optional[_Union[_account_pb2.Account, _Mapping]] = ..., account_status_change: _Optional[_Union[_account_pb2.AccountStatusChange, _Mapping]] = ...) -> None: ...
