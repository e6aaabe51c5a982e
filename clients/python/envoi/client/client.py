"""EnvoiClient: the envoi.v1 services behind plain Python methods.

It adds what every caller of a payment API needs: a request_id on every
mutating call (kept across retries, so a retry never pays twice), retries of
UNAVAILABLE with backoff (gRPC's retry policy, envoi.client.retry_policy), a
deadline on every call, and typed exceptions (envoi.client.errors) instead of
raw grpc.RpcError.
"""

import datetime
import json
import uuid
from collections.abc import Iterator

import grpc

from envoi.client import errors, retry_policy
from envoi.client.event_stream import EventStream
from envoi.v1 import (
    account_pb2,
    account_service_pb2,
    account_service_pb2_grpc,
    api_key_service_pb2,
    api_key_service_pb2_grpc,
    collection_pb2,
    collection_service_pb2,
    collection_service_pb2_grpc,
    event_pb2,
    event_service_pb2,
    event_service_pb2_grpc,
    funding_service_pb2,
    funding_service_pb2_grpc,
    identity_pb2,
    money_pb2,
    payment_request_service_pb2,
    payment_request_service_pb2_grpc,
    payout_pb2,
    payout_service_pb2,
    payout_service_pb2_grpc,
    top_up_pb2,
    transfer_pb2,
    transfer_service_pb2,
    transfer_service_pb2_grpc,
    webhook_service_pb2,
    webhook_service_pb2_grpc,
)

DEFAULT_TARGET = "localhost:50051"
DEFAULT_MAX_ATTEMPTS = 4
DEFAULT_RETRY_BACKOFF_S = 0.1
# After a call's deadline passed: how long to look whether the channel is
# connected, to tell a lost server (Unavailable) from a slow call.
LOST_CONNECTION_CHECK_S = 0.5
SERVICE_MODULES = (
    account_service_pb2,
    api_key_service_pb2,
    collection_service_pb2,
    event_service_pb2,
    funding_service_pb2,
    payment_request_service_pb2,
    payout_service_pb2,
    transfer_service_pb2,
    webhook_service_pb2,
)


def account_kind(kind) -> int:
    """AccountKind from an enum value or a name such as "PERSON"."""
    if isinstance(kind, str):
        return account_pb2.AccountKind.Value("ACCOUNT_KIND_" + kind.upper())
    return kind


def transfer_state(state) -> int:
    if isinstance(state, str):
        return transfer_pb2.TransferState.Value("TRANSFER_STATE_" + state.upper())
    return state


def event_type(value) -> int:
    """EventType from an enum value or a name such as "TRANSFER_COMPLETED"."""
    if isinstance(value, str):
        return event_pb2.EventType.Value("EVENT_TYPE_" + value.upper())
    return value


def transfer_direction(direction) -> int:
    if isinstance(direction, str):
        return transfer_service_pb2.TransferDirection.Value(
            "TRANSFER_DIRECTION_" + direction.upper()
        )
    return direction


# gRPC waits 1 s after a failed connection, then longer, up to 2 minutes: a
# client started a moment before its server (the gateway beside `envoi
# serve`), or one whose server restarted, sat idle that long. envoi's servers
# are near their clients, so try again sooner.
CHANNEL_OPTIONS = (
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.min_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 5_000),
)


# A target of several servers (ipv4:10.0.0.1:50051,10.0.0.2:50051, or a DNS
# name with several addresses): a connection to each, and the calls spread
# over those ready, in turn. gRPC's default (pick_first) would send them all
# to the first, and move only when it fails. One address: the same as before.
LOAD_BALANCING = {"loadBalancingConfig": [{"round_robin": {}}]}


def channel_options(
    max_attempts: int = DEFAULT_MAX_ATTEMPTS, retry_backoff_s: float = DEFAULT_RETRY_BACKOFF_S
) -> tuple:
    """The options of a channel for EnvoiClient: quick reconnects, and the retry
    policy (the retries live on the channel: a channel of your own needs these)."""
    config = json.loads(retry_policy.service_config(SERVICE_MODULES, max_attempts, retry_backoff_s))
    config.update(LOAD_BALANCING)
    return CHANNEL_OPTIONS + (
        ("grpc.enable_retries", 1),
        ("grpc.service_config", json.dumps(config)),
    )


class EnvoiClient:
    """A client for one envoi server and one bearer token.

    timeout_s is the deadline of each call, its retries included;
    connect_timeout_s bounds the wait for the server's connection (at most
    timeout_s): a server that is not there raises Unavailable naming the
    target, not a deadline exceeded after timeout_s. max_attempts
    counts the first try and the retries after UNAVAILABLE (at most 5, gRPC's
    cap), spaced by up to retry_backoff_s doubling each time. A channel given
    retries as its own options say: make it with channel_options().
    """

    def __init__(
        self,
        target: str = DEFAULT_TARGET,
        token: str | None = None,
        *,
        timeout_s: float = 10.0,
        connect_timeout_s: float = 5.0,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        retry_backoff_s: float = DEFAULT_RETRY_BACKOFF_S,
        channel: grpc.Channel | None = None,
        credentials: grpc.ChannelCredentials | None = None,
    ):
        self.target = target if channel is None else "the channel given"
        if channel is None:
            options = channel_options(max_attempts, retry_backoff_s)
            channel = (
                grpc.secure_channel(target, credentials, options)
                if credentials
                else grpc.insecure_channel(target, options)
            )
        self._channel = channel
        self.connect_timeout_s = min(connect_timeout_s, timeout_s)
        self._connected = False  # once, the channel was ready
        self._metadata = (("authorization", f"Bearer {token}"),) if token else ()
        self.timeout_s = timeout_s
        self.max_attempts = max_attempts
        self.retry_backoff_s = retry_backoff_s
        self.accounts = account_service_pb2_grpc.AccountServiceStub(channel)
        self.transfers = transfer_service_pb2_grpc.TransferServiceStub(channel)
        self.events = event_service_pb2_grpc.EventServiceStub(channel)
        self.funding = funding_service_pb2_grpc.FundingServiceStub(channel)
        self.payouts = payout_service_pb2_grpc.PayoutServiceStub(channel)
        self.payment_requests = payment_request_service_pb2_grpc.PaymentRequestServiceStub(channel)
        self.api_keys = api_key_service_pb2_grpc.ApiKeyServiceStub(channel)
        self.collections = collection_service_pb2_grpc.CollectionServiceStub(channel)
        self.webhooks = webhook_service_pb2_grpc.WebhookServiceStub(channel)

    def close(self):
        self._channel.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def call(self, method, request):
        """Call a stub method with deadline, retries and typed errors.

        The channel's retry policy resends the request object unchanged, so a
        mutating request keeps its request_id across retries.
        """
        if not self._connected:
            self._wait_for_connection(self.connect_timeout_s)
        try:
            # wait_for_ready: a call made while the connection is (re)establishing
            # waits for it, within the deadline, instead of failing at once.
            return method(
                request, timeout=self.timeout_s, metadata=self._metadata, wait_for_ready=True
            )
        except grpc.RpcError as rpc_error:
            if rpc_error.code() == grpc.StatusCode.DEADLINE_EXCEEDED:
                # The deadline passed waiting for a connection lost since: say so.
                self._wait_for_connection(LOST_CONNECTION_CHECK_S)
            raise errors.from_rpc_error(rpc_error) from None

    def _wait_for_connection(self, timeout_s: float) -> None:
        """Return once the channel is ready, else raise Unavailable naming the target."""
        ready = grpc.channel_ready_future(self._channel)
        try:
            ready.result(timeout=timeout_s)
        except grpc.FutureTimeoutError:
            raise errors.Unavailable(
                f"no connection to envoi at {self.target} within {timeout_s:g} s: is the "
                "server running there? (the target: ENVOI_TARGET or --target)",
                metadata={"target": self.target},
            ) from None
        finally:
            ready.cancel()
        self._connected = True

    @staticmethod
    def _request_id(request_id: str | None) -> str:
        return request_id or str(uuid.uuid4())

    # AccountService

    def open_account(
        self,
        kind,
        display_name: str,
        code: str,
        *,
        currency_code: str = "",
        identity: identity_pb2.Identity | None = None,
        request_id: str | None = None,
    ) -> account_pb2.Account:
        """Open an account; with a verified identity, link it and claim what waits for it
        (open_account_response() returns the claimed transfers too)."""
        return self.open_account_response(
            kind,
            display_name,
            code,
            currency_code=currency_code,
            identity=identity,
            request_id=request_id,
        ).account

    def open_account_response(
        self,
        kind,
        display_name: str,
        code: str,
        *,
        currency_code: str = "",
        identity: identity_pb2.Identity | None = None,
        request_id: str | None = None,
    ) -> account_service_pb2.OpenAccountResponse:
        request = account_service_pb2.OpenAccountRequest(
            request_id=self._request_id(request_id),
            kind=account_kind(kind),
            display_name=display_name,
            code=code,
            currency_code=currency_code,
            identity=identity,
        )
        return self.call(self.accounts.OpenAccount, request)

    def get_account(self, account_id: str) -> account_pb2.Account:
        request = account_service_pb2.GetAccountRequest(account_id=account_id)
        return self.call(self.accounts.GetAccount, request).account

    def get_balance(
        self, account_id: str, *, as_of: datetime.datetime | None = None
    ) -> account_pb2.Balance:
        """The balance now; or, with as_of (a timezone-aware datetime), the
        balance then, from the postings dated before it: only `balance` is set.
        A time within moments of now may get HISTORY_NOT_SETTLED (retried as
        UNAVAILABLE). docs/statements.md."""
        request = account_service_pb2.GetBalanceRequest(account_id=account_id)
        if as_of is not None:
            request.as_of.FromDatetime(as_of)
        return self.call(self.accounts.GetBalance, request).balance

    def list_statement(
        self,
        account_id: str,
        start_time: datetime.datetime,
        end_time: datetime.datetime | None = None,
        *,
        page_size: int = 0,
        page_token: str = "",
    ) -> account_service_pb2.ListStatementResponse:
        """One page of the account's statement over [start_time, end_time)
        (end_time None: up to the latest settled time), oldest line first,
        with the opening and closing balances."""
        request = account_service_pb2.ListStatementRequest(
            account_id=account_id, page_size=page_size, page_token=page_token
        )
        request.start_time.FromDatetime(start_time)
        if end_time is not None:
            request.end_time.FromDatetime(end_time)
        return self.call(self.accounts.ListStatement, request)

    def iter_statement(
        self, account_id: str, start_time: datetime.datetime, end_time=None, *, page_size=0
    ) -> Iterator[account_service_pb2.ListStatementResponse]:
        """Every page of the statement, in order (the same end_time on each)."""
        page_token = ""
        while True:
            page = self.list_statement(
                account_id, start_time, end_time, page_size=page_size, page_token=page_token
            )
            yield page
            if not page.next_page_token:
                return
            page_token = page.next_page_token

    def change_code(
        self,
        account_id: str,
        current_code: str,
        new_code: str,
        *,
        request_id: str | None = None,
    ) -> account_pb2.Account:
        """Wallet: a wrong current_code counts toward the lock (INVALID_CODE)."""
        request = account_service_pb2.ChangeCodeRequest(
            request_id=self._request_id(request_id),
            account_id=account_id,
            current_code=current_code,
            new_code=new_code,
        )
        return self.call(self.accounts.ChangeCode, request).account

    def reset_code(
        self, account_id: str, new_code: str, reason: str, *, request_id: str | None = None
    ) -> account_service_pb2.ResetCodeResponse:
        """Admin: set a forgotten or locked code; money out of the account is
        held for the server's cooling-off period, and its owner is told."""
        request = account_service_pb2.ResetCodeRequest(
            request_id=self._request_id(request_id),
            account_id=account_id,
            new_code=new_code,
            reason=reason,
        )
        return self.call(self.accounts.ResetCode, request)

    def credit_account(
        self,
        account_id: str,
        amount_cents: int,
        *,
        currency_code: str = "EUR",
        memo: str = "",
        request_id: str | None = None,
    ) -> account_service_pb2.CreditAccountResponse:
        request = account_service_pb2.CreditAccountRequest(
            request_id=self._request_id(request_id),
            account_id=account_id,
            amount=money_pb2.Money(currency_code=currency_code, amount_cents=amount_cents),
            memo=memo,
        )
        return self.call(self.accounts.CreditAccount, request)

    def link_identity(
        self, account_id: str, identity: identity_pb2.Identity, *, request_id: str | None = None
    ) -> account_service_pb2.LinkIdentityResponse:
        request = account_service_pb2.LinkIdentityRequest(
            request_id=self._request_id(request_id), account_id=account_id, identity=identity
        )
        return self.call(self.accounts.LinkIdentity, request)

    def unlink_identity(
        self, account_id: str, identity: identity_pb2.Identity, *, request_id: str | None = None
    ) -> account_pb2.Account:
        request = account_service_pb2.UnlinkIdentityRequest(
            request_id=self._request_id(request_id), account_id=account_id, identity=identity
        )
        return self.call(self.accounts.UnlinkIdentity, request).account

    def set_account_tier(
        self, account_id: str, tier, *, request_id: str | None = None
    ) -> account_service_pb2.SetAccountTierResponse:
        """Admin: move an account to a tier (an AccountTier value or "VERIFIED")."""
        if isinstance(tier, str):
            tier = account_pb2.AccountTier.Value("ACCOUNT_TIER_" + tier.upper())
        request = account_service_pb2.SetAccountTierRequest(
            request_id=self._request_id(request_id), account_id=account_id, tier=tier
        )
        return self.call(self.accounts.SetAccountTier, request)

    def set_notification_preference(
        self, account_id: str, preference, *, request_id: str | None = None
    ) -> account_pb2.Account:
        """How channels tell the owner about payments: a NotificationPreference
        value or "PUBLIC_REPLY", "PRIVATE_MESSAGE", "APP_ONLY"."""
        if isinstance(preference, str):
            preference = account_pb2.NotificationPreference.Value(
                "NOTIFICATION_PREFERENCE_" + preference.upper()
            )
        request = account_service_pb2.SetNotificationPreferenceRequest(
            request_id=self._request_id(request_id),
            account_id=account_id,
            notification_preference=preference,
        )
        return self.call(self.accounts.SetNotificationPreference, request).account

    def set_business_profile(
        self,
        account_id: str,
        legal_name: str,
        registration_number: str,
        *,
        registration_country_code: str = "FR",
        verified: bool = True,
        request_id: str | None = None,
    ) -> account_pb2.Account:
        """Admin: a merchant's or an association's legal identity (SIREN or
        SIRET), verified or not; payments to it need it verified."""
        request = account_service_pb2.SetBusinessProfileRequest(
            request_id=self._request_id(request_id),
            account_id=account_id,
            business_profile=account_pb2.BusinessProfile(
                legal_name=legal_name,
                registration_country_code=registration_country_code,
                registration_number=registration_number,
                verified=verified,
            ),
        )
        return self.call(self.accounts.SetBusinessProfile, request).account

    def set_merchant_fees(
        self,
        account_id: str,
        basis_points: int,
        fixed_cents: int = 0,
        *,
        request_id: str | None = None,
    ) -> account_pb2.Account:
        """Admin: a merchant's fee on the payments initiated from now on:
        basis_points of the amount (150 = 1.5 %, rounded half up) + fixed_cents."""
        request = account_service_pb2.SetMerchantFeesRequest(
            request_id=self._request_id(request_id),
            account_id=account_id,
            merchant_fees=account_pb2.MerchantFees(
                basis_points=basis_points, fixed_cents=fixed_cents
            ),
        )
        return self.call(self.accounts.SetMerchantFees, request).account

    def set_debit_mandate(
        self, account_id: str, *, active: bool, reason: str, request_id: str | None = None
    ) -> account_pb2.Account:
        """Admin: let CreateTransfers batches debit a merchant's or an
        association's account (active=True), or stop them (False); reason is kept."""
        request = account_service_pb2.SetDebitMandateRequest(
            request_id=self._request_id(request_id),
            account_id=account_id,
            active=active,
            reason=reason,
        )
        return self.call(self.accounts.SetDebitMandate, request).account

    def freeze_account(
        self, account_id: str, reason: str, *, request_id: str | None = None
    ) -> account_service_pb2.FreezeAccountResponse:
        """Admin: no money leaves the account by any path until it is unfrozen
        (money in still arrives); reason is kept and its owner told."""
        request = account_service_pb2.FreezeAccountRequest(
            request_id=self._request_id(request_id), account_id=account_id, reason=reason
        )
        return self.call(self.accounts.FreezeAccount, request)

    def unfreeze_account(
        self, account_id: str, reason: str, *, request_id: str | None = None
    ) -> account_service_pb2.UnfreezeAccountResponse:
        """Admin: lift a freeze; reason is kept and the owner told."""
        request = account_service_pb2.UnfreezeAccountRequest(
            request_id=self._request_id(request_id), account_id=account_id, reason=reason
        )
        return self.call(self.accounts.UnfreezeAccount, request)

    def close_account(
        self,
        account_id: str,
        *,
        code: str = "",
        reason: str = "",
        request_id: str | None = None,
    ) -> account_service_pb2.CloseAccountResponse:
        """Close an account that holds and waits for nothing: its owner gives
        the code, an admin a reason. No money goes in or out again; its
        identities are unlinked. AccountNotEmpty names what is left."""
        request = account_service_pb2.CloseAccountRequest(
            request_id=self._request_id(request_id),
            account_id=account_id,
            code=code,
            reason=reason,
        )
        return self.call(self.accounts.CloseAccount, request)

    def resolve_identity(
        self, identity: identity_pb2.Identity
    ) -> account_service_pb2.ResolveIdentityResponse:
        request = account_service_pb2.ResolveIdentityRequest(identity=identity)
        return self.call(self.accounts.ResolveIdentity, request)

    # TransferService

    def initiate_transfer(
        self,
        sender: "str | identity_pb2.Identity",
        recipient: "str | identity_pb2.Identity",
        amount_cents: int,
        *,
        currency_code: str = "EUR",
        memo: str = "",
        channel_reference: str = "",
        request_id: str | None = None,
    ) -> transfer_pb2.Transfer:
        """Hold amount_cents on the sender. Sender and recipient are account ids,
        or Identity messages (a recipient nobody has linked is paid into escrow);
        a recipient "#TelethonACF" is the open collection with that hashtag."""
        request = transfer_service_pb2.InitiateTransferRequest(
            request_id=self._request_id(request_id),
            amount=money_pb2.Money(currency_code=currency_code, amount_cents=amount_cents),
            memo=memo,
            channel_reference=channel_reference,
        )
        for side, party in (("from", sender), ("to", recipient)):
            if isinstance(party, identity_pb2.Identity):
                getattr(request, f"{side}_identity").CopyFrom(party)
            elif side == "to" and party.startswith("#"):
                request.to_collection_hashtag = party
            else:
                setattr(request, f"{side}_account_id", party)
        return self.call(self.transfers.InitiateTransfer, request).transfer

    def confirm_transfer(
        self, transfer_id: str, code: str, *, request_id: str | None = None
    ) -> transfer_pb2.Transfer:
        request = transfer_service_pb2.ConfirmTransferRequest(
            request_id=self._request_id(request_id), transfer_id=transfer_id, code=code
        )
        return self.call(self.transfers.ConfirmTransfer, request).transfer

    def cancel_transfer(
        self, transfer_id: str, *, request_id: str | None = None
    ) -> transfer_pb2.Transfer:
        request = transfer_service_pb2.CancelTransferRequest(
            request_id=self._request_id(request_id), transfer_id=transfer_id
        )
        return self.call(self.transfers.CancelTransfer, request).transfer

    def refund_transfer(
        self,
        transfer_id: str,
        amount_cents: int,
        *,
        currency_code: str = "EUR",
        memo: str = "",
        code: str = "",
        request_id: str | None = None,
    ) -> transfer_pb2.Transfer:
        """Give back amount_cents of a completed payment to its payer: the REFUND
        transfer. A merchant's key needs the refunds scope; the wallet gives the
        association's code."""
        request = transfer_service_pb2.RefundTransferRequest(
            request_id=self._request_id(request_id),
            transfer_id=transfer_id,
            amount=money_pb2.Money(currency_code=currency_code, amount_cents=amount_cents),
            memo=memo,
            code=code,
        )
        return self.call(self.transfers.RefundTransfer, request).transfer

    def get_transfer(self, transfer_id: str) -> transfer_pb2.Transfer:
        request = transfer_service_pb2.GetTransferRequest(transfer_id=transfer_id)
        return self.call(self.transfers.GetTransfer, request).transfer

    def get_channel_transfer(
        self, channel_reference: str, *, channel: str = ""
    ) -> transfer_pb2.Transfer:
        """What became of a post: the transfer a channel started for it, by its
        channel_reference ("post:<post id>"). A channel's token reads its own
        channel's (channel may stay empty); others name the channel."""
        request = transfer_service_pb2.GetTransferRequest(
            channel_reference=channel_reference, channel=channel
        )
        return self.call(self.transfers.GetTransfer, request).transfer

    def list_transfers(
        self,
        account_id: str,
        *,
        states=(),
        direction=0,
        start_time: datetime.datetime | None = None,
        end_time: datetime.datetime | None = None,
        counterpart_account_id: str = "",
        merchant_reference: str = "",
        page_size: int = 0,
        page_token: str = "",
    ) -> transfer_service_pb2.ListTransfersResponse:
        """One page of the account's history, newest first. start_time and end_time
        are timezone-aware datetimes (created at or after, and before);
        merchant_reference keeps only the payment requests with it."""
        request = transfer_service_pb2.ListTransfersRequest(
            account_id=account_id,
            states=[transfer_state(s) for s in states],
            direction=transfer_direction(direction),
            counterpart_account_id=counterpart_account_id,
            merchant_reference=merchant_reference,
            page_size=page_size,
            page_token=page_token,
        )
        if start_time is not None:
            request.start_time.FromDatetime(start_time)
        if end_time is not None:
            request.end_time.FromDatetime(end_time)
        return self.call(self.transfers.ListTransfers, request)

    def list_pending_confirmations(
        self, account_id: str, *, page_size: int = 0, page_token: str = ""
    ) -> transfer_service_pb2.ListPendingConfirmationsResponse:
        """The account's payments waiting for its code, oldest first."""
        request = transfer_service_pb2.ListPendingConfirmationsRequest(
            account_id=account_id, page_size=page_size, page_token=page_token
        )
        return self.call(self.transfers.ListPendingConfirmations, request)

    def iter_transfers(self, account_id: str, **filters) -> Iterator[transfer_pb2.Transfer]:
        """Every transfer of the account, newest first, fetching page after page."""
        page_token = ""
        while True:
            page = self.list_transfers(account_id, page_token=page_token, **filters)
            yield from page.transfers
            page_token = page.next_page_token
            if not page_token:
                return

    def create_transfers(
        self,
        transfers,
        *,
        mode="ALL_OR_NOTHING",
        currency_code: str = "EUR",
        request_id: str | None = None,
    ) -> transfer_service_pb2.CreateTransfersResponse:
        """Post up to 8,000 transfers at once (admin or ledger token): COMPLETED, no code.

        transfers: TransferToCreate messages, or dicts with from_account_id,
        to_account_id, amount_cents and optionally transfer_id (a new UUID if
        absent), currency_code and memo. mode: "ALL_OR_NOTHING" (one failure
        raises BatchRejected and nothing is applied) or "INDEPENDENT" (one
        result per transfer: CREATED, EXISTS or FAILED with a reason). Keep
        the transfer ids to retry safely: the same ids report EXISTS.
        """
        if isinstance(mode, str):
            mode = transfer_service_pb2.BatchMode.Value("BATCH_MODE_" + mode.upper())
        request = transfer_service_pb2.CreateTransfersRequest(
            request_id=self._request_id(request_id), mode=mode
        )
        for transfer in transfers:
            if isinstance(transfer, transfer_service_pb2.TransferToCreate):
                request.transfers.append(transfer)
                continue
            request.transfers.add(
                transfer_id=transfer.get("transfer_id") or str(uuid.uuid4()),
                from_account_id=transfer["from_account_id"],
                to_account_id=transfer["to_account_id"],
                amount=money_pb2.Money(
                    currency_code=transfer.get("currency_code", currency_code),
                    amount_cents=transfer["amount_cents"],
                ),
                memo=transfer.get("memo", ""),
            )
        return self.call(self.transfers.CreateTransfers, request)

    # EventService

    def list_events(
        self, after_cursor: str = "", *, page_size: int = 0
    ) -> event_service_pb2.ListEventsResponse:
        request = event_service_pb2.ListEventsRequest(
            after_cursor=after_cursor, page_size=page_size
        )
        return self.call(self.events.ListEvents, request)

    def watch_events(
        self, account_id: str, after_cursor: str = "", *, timeout_s: float | None = None
    ) -> EventStream:
        """One account's events, oldest first, then live: iterate the EventStream.
        after_cursor is the event_id of the last event already handled ("" for
        all of them). The stream has no deadline unless timeout_s is given."""

        def open_call(cursor: str):
            request = event_service_pb2.WatchEventsRequest(
                account_id=account_id, after_cursor=cursor
            )
            return self.events.WatchEvents(
                request, timeout=timeout_s, metadata=self._metadata, wait_for_ready=True
            )

        return EventStream(
            open_call,
            after_cursor,
            max_attempts=self.max_attempts,
            retry_backoff_s=self.retry_backoff_s,
        )

    # FundingService

    def top_up(
        self,
        account_id: str,
        amount_cents: int,
        *,
        provider: str,
        card_token: str,
        currency_code: str = "EUR",
        request_id: str | None = None,
    ) -> top_up_pb2.TopUp:
        """Charge a card (by the provider's token, never its number) and credit the
        account: SUCCEEDED, FAILED, or PENDING until the 3-D Secure step is done."""
        request = funding_service_pb2.TopUpRequest(
            request_id=self._request_id(request_id),
            account_id=account_id,
            amount=money_pb2.Money(currency_code=currency_code, amount_cents=amount_cents),
            provider=provider,
            card_token=card_token,
        )
        return self.call(self.funding.TopUp, request).top_up

    def get_top_up(self, top_up_id: str) -> top_up_pb2.TopUp:
        request = funding_service_pb2.GetTopUpRequest(top_up_id=top_up_id)
        return self.call(self.funding.GetTopUp, request).top_up

    def complete_top_up(
        self, provider: str, payload: bytes, signature: str, *, request_id: str | None = None
    ) -> top_up_pb2.TopUp:
        """Relay a provider's callback about a top-up, its body byte for byte."""
        request = funding_service_pb2.CompleteTopUpRequest(
            request_id=self._request_id(request_id),
            provider=provider,
            payload=payload,
            signature=signature,
        )
        return self.call(self.funding.CompleteTopUp, request).top_up

    # PayoutService

    def withdraw(
        self,
        account_id: str,
        amount_cents: int,
        *,
        iban: str,
        beneficiary_name: str,
        code: str,
        provider: str,
        currency_code: str = "EUR",
        request_id: str | None = None,
    ) -> payout_pb2.Payout:
        """Hold amount_cents and send it to the IBAN; the provider settles it later."""
        request = payout_service_pb2.WithdrawRequest(
            request_id=self._request_id(request_id),
            account_id=account_id,
            amount=money_pb2.Money(currency_code=currency_code, amount_cents=amount_cents),
            iban=iban,
            beneficiary_name=beneficiary_name,
            code=code,
            provider=provider,
        )
        return self.call(self.payouts.Withdraw, request).payout

    def get_payout(self, payout_id: str) -> payout_pb2.Payout:
        request = payout_service_pb2.GetPayoutRequest(payout_id=payout_id)
        return self.call(self.payouts.GetPayout, request).payout

    def complete_payout(
        self, provider: str, payload: bytes, signature: str, *, request_id: str | None = None
    ) -> payout_pb2.Payout:
        """Relay a provider's callback about a payout, its body byte for byte."""
        request = payout_service_pb2.CompletePayoutRequest(
            request_id=self._request_id(request_id),
            provider=provider,
            payload=payload,
            signature=signature,
        )
        return self.call(self.payouts.CompletePayout, request).payout

    # PaymentRequestService

    def request_payment(
        self,
        account_id: str,
        payer: "str | identity_pb2.Identity",
        amount_cents: int,
        *,
        merchant_reference: str,
        currency_code: str = "EUR",
        memo: str = "",
        expire_after_s: int = 0,
        request_id: str | None = None,
    ) -> transfer_pb2.Transfer:
        """Ask the payer (an account id, or an Identity they linked) to pay the
        merchant account `account_id`: a pending transfer the payer confirms
        in the wallet app. Nothing is held on the payer until they confirm."""
        request = payment_request_service_pb2.RequestPaymentRequest(
            request_id=self._request_id(request_id),
            account_id=account_id,
            amount=money_pb2.Money(currency_code=currency_code, amount_cents=amount_cents),
            merchant_reference=merchant_reference,
            memo=memo,
            expire_after_s=expire_after_s,
        )
        _set_side(request, payer, "payer_account_id", "payer_identity")
        return self.call(self.payment_requests.RequestPayment, request).transfer

    def request_money(
        self,
        requester: "str | identity_pb2.Identity",
        payer: "str | identity_pb2.Identity",
        amount_cents: int,
        *,
        currency_code: str = "EUR",
        memo: str = "",
        expire_after_s: int = 0,
        channel_reference: str = "",
        request_id: str | None = None,
    ) -> transfer_pb2.Transfer:
        """Ask the payer (an account id, or an Identity they linked) to pay the
        requester (an account id from the wallet; the post's author's Identity
        from a channel): a pending transfer the payer confirms with their code,
        or declines (cancel_transfer). Nothing is held until they confirm; it
        expires after expire_after_s (0: 7 days)."""
        request = payment_request_service_pb2.RequestMoneyRequest(
            request_id=self._request_id(request_id),
            amount=money_pb2.Money(currency_code=currency_code, amount_cents=amount_cents),
            memo=memo,
            expire_after_s=expire_after_s,
            channel_reference=channel_reference,
        )
        _set_side(request, requester, "account_id", "requester_identity")
        _set_side(request, payer, "payer_account_id", "payer_identity")
        return self.call(self.payment_requests.RequestMoney, request).transfer

    # ApiKeyService

    def create_api_key(
        self,
        account_id: str,
        *,
        label: str = "",
        scopes: tuple[str, ...] = (),
        request_id: str | None = None,
    ) -> api_key_service_pb2.CreateApiKeyResponse:
        """A new key of a merchant account: .api_key, and .secret (shown only here).
        scopes: ("refunds",) lets it refund payments (RefundTransfer)."""
        request = api_key_service_pb2.CreateApiKeyRequest(
            request_id=self._request_id(request_id),
            account_id=account_id,
            label=label,
            scopes=scopes,
        )
        return self.call(self.api_keys.CreateApiKey, request)

    def list_api_keys(self, account_id: str) -> list:
        request = api_key_service_pb2.ListApiKeysRequest(account_id=account_id)
        return list(self.call(self.api_keys.ListApiKeys, request).api_keys)

    def rotate_api_key(
        self, api_key_id: str, *, grace_period_s: int = 0, request_id: str | None = None
    ) -> api_key_service_pb2.RotateApiKeyResponse:
        """A new key in place of this one: .api_key, .secret, and .rotated_api_key
        (the old one, which stops working after grace_period_s)."""
        request = api_key_service_pb2.RotateApiKeyRequest(
            request_id=self._request_id(request_id),
            api_key_id=api_key_id,
            grace_period_s=grace_period_s,
        )
        return self.call(self.api_keys.RotateApiKey, request)

    def revoke_api_key(self, api_key_id: str, *, request_id: str | None = None):
        request = api_key_service_pb2.RevokeApiKeyRequest(
            request_id=self._request_id(request_id), api_key_id=api_key_id
        )
        return self.call(self.api_keys.RevokeApiKey, request).api_key

    # CollectionService

    def create_collection(
        self,
        owner_account_id: str,
        title: str,
        hashtag: str,
        *,
        target_cents: int | None = None,
        currency_code: str = "EUR",
        deadline_time: datetime.datetime | None = None,
        request_id: str | None = None,
    ) -> collection_pb2.Collection:
        """Open a collection; target and deadline are optional."""
        request = collection_service_pb2.CreateCollectionRequest(
            request_id=self._request_id(request_id),
            owner_account_id=owner_account_id,
            title=title,
            hashtag=hashtag,
        )
        if target_cents is not None:
            request.target.CopyFrom(
                money_pb2.Money(currency_code=currency_code, amount_cents=target_cents)
            )
        if deadline_time is not None:
            request.deadline_time.FromDatetime(deadline_time)
        return self.call(self.collections.CreateCollection, request).collection

    def get_collection(
        self, collection_id: str = "", *, hashtag: str = ""
    ) -> collection_pb2.Collection:
        """By id, or by hashtag (the open collection with it)."""
        request = collection_service_pb2.GetCollectionRequest(
            collection_id=collection_id, hashtag=hashtag
        )
        return self.call(self.collections.GetCollection, request).collection

    def close_collection(
        self, collection_id: str, *, request_id: str | None = None
    ) -> collection_pb2.Collection:
        """Pay everything collected to the owner."""
        request = collection_service_pb2.CloseCollectionRequest(
            request_id=self._request_id(request_id), collection_id=collection_id
        )
        return self.call(self.collections.CloseCollection, request).collection

    def cancel_collection(
        self, collection_id: str, *, request_id: str | None = None
    ) -> collection_service_pb2.CancelCollectionResponse:
        """Pay every contribution back; the response has the collection and refund_count."""
        request = collection_service_pb2.CancelCollectionRequest(
            request_id=self._request_id(request_id), collection_id=collection_id
        )
        return self.call(self.collections.CancelCollection, request)

    def list_collections(
        self, owner_account_id: str, *, page_size: int = 0, page_token: str = ""
    ) -> collection_service_pb2.ListCollectionsResponse:
        """One page of an owner's collections, newest first."""
        request = collection_service_pb2.ListCollectionsRequest(
            owner_account_id=owner_account_id, page_size=page_size, page_token=page_token
        )
        return self.call(self.collections.ListCollections, request)

    # WebhookService

    def create_webhook_endpoint(
        self, account_id: str, url: str, event_types, *, request_id: str | None = None
    ) -> webhook_service_pb2.CreateWebhookEndpointResponse:
        """A new endpoint of a merchant account: .endpoint, and .secret (shown
        only here; verify deliveries with envoi.client.verify_webhook).
        event_types: names such as "TRANSFER_COMPLETED", or EventType values."""
        request = webhook_service_pb2.CreateWebhookEndpointRequest(
            request_id=self._request_id(request_id),
            account_id=account_id,
            url=url,
            event_types=[event_type(t) for t in event_types],
        )
        return self.call(self.webhooks.CreateWebhookEndpoint, request)

    def list_webhook_endpoints(self, account_id: str) -> list:
        request = webhook_service_pb2.ListWebhookEndpointsRequest(account_id=account_id)
        return list(self.call(self.webhooks.ListWebhookEndpoints, request).endpoints)

    def delete_webhook_endpoint(self, endpoint_id: str, *, request_id: str | None = None) -> None:
        request = webhook_service_pb2.DeleteWebhookEndpointRequest(
            request_id=self._request_id(request_id), endpoint_id=endpoint_id
        )
        self.call(self.webhooks.DeleteWebhookEndpoint, request)

    def rotate_webhook_secret(
        self, endpoint_id: str, *, request_id: str | None = None
    ) -> webhook_service_pb2.RotateWebhookSecretResponse:
        """A new secret (.secret, shown only here); for 24 hours deliveries are
        signed with both the new and the previous one."""
        request = webhook_service_pb2.RotateWebhookSecretRequest(
            request_id=self._request_id(request_id), endpoint_id=endpoint_id
        )
        return self.call(self.webhooks.RotateWebhookSecret, request)

    def list_webhook_deliveries(
        self, endpoint_id: str, *, page_size: int = 0, page_token: str = ""
    ) -> webhook_service_pb2.ListWebhookDeliveriesResponse:
        """One page of an endpoint's deliveries, newest first, with their attempts."""
        request = webhook_service_pb2.ListWebhookDeliveriesRequest(
            endpoint_id=endpoint_id, page_size=page_size, page_token=page_token
        )
        return self.call(self.webhooks.ListWebhookDeliveries, request)

    def redeliver(self, delivery_id: str, *, request_id: str | None = None):
        """Queue a delivery's event again (same event id); the new delivery."""
        request = webhook_service_pb2.RedeliverRequest(
            request_id=self._request_id(request_id), delivery_id=delivery_id
        )
        return self.call(self.webhooks.Redeliver, request).delivery


def _set_side(
    request, side: "str | identity_pb2.Identity", account_field: str, identity_field: str
):
    """Name one side of a request by account id or by Identity, as given."""
    if isinstance(side, identity_pb2.Identity):
        getattr(request, identity_field).CopyFrom(side)
    else:
        setattr(request, account_field, side)
