"""envoi.v1.AccountService: open accounts, read them, change or reset codes, credit money in,
freeze, unfreeze and close them."""

from envoi.client import errors
from envoi.core.api import proto_rows, statement_rpcs
from envoi.core.api.mutations import mutation
from envoi.core.api.request_validation import MAX_DISPLAY_NAME_LENGTH, MAX_MEMO_LENGTH, RequestCheck
from envoi.core.auth.access import require_account_access, require_money_access, require_own_account
from envoi.core.auth.caller import current_caller
from envoi.core.enums import (
    AccountKind,
    AccountTier,
    NotificationPreference,
    Role,
    proto_names,
)
from envoi.core.ledger import (
    account_status,
    accounts,
    code_resets,
    debit_mandates,
    identities,
    statements,
    transfers,
)
from envoi.core.ledger.transactions import run_in_transaction
from envoi.core.policy import business_profiles, merchant_fees
from envoi.core.runtime import Runtime
from envoi.v1 import account_pb2, account_service_pb2, account_service_pb2_grpc, identity_pb2

TIERS = proto_names(AccountTier)
PREFERENCES = proto_names(NotificationPreference)
OPENABLE_KINDS = proto_names(
    # SETTLEMENT: envoi's own clearing accounts; only an admin opens one (the wallet, people).
    (AccountKind.PERSON, AccountKind.ASSOCIATION, AccountKind.MERCHANT, AccountKind.SETTLEMENT)
)


def identity_ref(identity: identity_pb2.Identity) -> identities.IdentityRef:
    return identities.IdentityRef(identity.namespace, identity.subject_id, identity.handle)


class AccountService(account_service_pb2_grpc.AccountServiceServicer):
    SERVICE = account_service_pb2.DESCRIPTOR.services_by_name["AccountService"]

    def __init__(self, runtime: Runtime):
        self.runtime = runtime
        self.settings = runtime.settings

    @mutation
    def OpenAccount(self, request, once):
        caller = current_caller.get()
        check = RequestCheck()
        check.request_id(request.request_id)
        check.enum("kind", request.kind, OPENABLE_KINDS)
        check.text(
            "display_name", request.display_name, max_length=MAX_DISPLAY_NAME_LENGTH, required=True
        )
        check.code("code", request.code)
        if request.HasField("identity"):
            check.identity("identity", request.identity)
        currency_code = request.currency_code or self.settings.default_currency
        if currency_code not in self.settings.currencies:
            check.fail("currency_code", f"must be one of: {', '.join(self.settings.currencies)}")
        check.raise_if_any()
        if caller.role == Role.WALLET and request.kind != account_pb2.ACCOUNT_KIND_PERSON:
            raise errors.PermissionDenied("the wallet role opens PERSON accounts only")
        kind = AccountKind.from_proto(request.kind)

        def work(conn):
            row = accounts.open_account(
                conn,
                self.settings,
                self.runtime.code_key,
                kind=kind,
                display_name=request.display_name,
                currency_code=currency_code,
                code=request.code,
            )
            claimed = []
            if request.HasField("identity"):
                claimed = identities.link_identity(
                    conn, self.settings, str(row["account_id"]), identity_ref(request.identity)
                )
            return account_service_pb2.OpenAccountResponse(
                account=self._account(conn, row),
                claimed_transfers=[proto_rows.transfer(t) for t in claimed],
            )

        return once(work)

    def _account(self, conn, row: dict):
        """The Account message of a row, with its linked identities."""
        return proto_rows.account(
            row,
            self.settings.code_max_attempts,
            identities.account_identities(conn, row["account_id"]),
        )

    def _readable_account(self, request) -> dict:
        check = RequestCheck()
        check.uuid("account_id", request.account_id)
        check.raise_if_any()
        require_own_account(current_caller.get(), request.account_id)
        return run_in_transaction(
            self.runtime.pool, lambda conn: accounts.get_account(conn, request.account_id)
        )

    def GetAccount(self, request, context):
        caller = current_caller.get()
        check = RequestCheck()
        check.uuid("account_id", request.account_id)
        check.raise_if_any()
        require_own_account(caller, request.account_id)

        def read(conn):
            row = accounts.get_account(conn, request.account_id)
            require_account_access(caller, row["kind"])
            return account_service_pb2.GetAccountResponse(account=self._account(conn, row))

        return run_in_transaction(self.runtime.pool, read)

    def GetBalance(self, request, context):
        check = RequestCheck()
        as_of = statement_rpcs.check_time(check, "as_of", request)
        check.raise_if_any()
        row = self._readable_account(request)
        require_money_access(current_caller.get(), row["kind"])
        if as_of is None:
            return account_service_pb2.GetBalanceResponse(balance=proto_rows.balance(row))
        # Autocommit: each statement sees what committed before it (statements.py).
        with self.runtime.pool.connection() as conn:
            balance = statement_rpcs.balance_as_of(conn, row, as_of, self.settings.history_settle_s)
        return account_service_pb2.GetBalanceResponse(balance=balance)

    def ListStatement(self, request, context):
        query = statement_rpcs.StatementQuery(request)
        row = self._readable_account(request)
        require_money_access(current_caller.get(), row["kind"])
        with self.runtime.pool.connection() as conn:
            query.resolve_end(conn, self.settings.history_settle_s)
            page = statements.statement_page(
                conn, request.account_id, query.start, query.end, query.after, query.page_size
            )
        return statement_rpcs.statement_response(query, row["currency_code"], page)

    @mutation
    def ChangeCode(self, request, once):
        caller = current_caller.get()
        check = RequestCheck()
        check.request_id(request.request_id)
        check.uuid("account_id", request.account_id)
        check.code("current_code", request.current_code)
        check.code("new_code", request.new_code)
        check.raise_if_any()
        require_own_account(caller, request.account_id)

        def work(conn):
            account = accounts.get_account(conn, request.account_id, lock=True)
            require_money_access(caller, account["kind"])
            row = accounts.change_code(
                conn,
                self.settings,
                self.runtime.code_key,
                account,
                request.current_code,
                request.new_code,
            )
            return account_service_pb2.ChangeCodeResponse(account=self._account(conn, row))

        return once(work)

    @mutation
    def ResetCode(self, request, once):
        caller = current_caller.get()
        check = RequestCheck()
        check.request_id(request.request_id)
        check.uuid("account_id", request.account_id)
        check.code("new_code", request.new_code)
        check.text(
            "reason", request.reason, max_length=code_resets.MAX_REASON_LENGTH, required=True
        )
        check.raise_if_any()

        def work(conn):
            reset = code_resets.reset(
                conn,
                self.runtime.code_key,
                self.settings.code_reset_hold_s,
                account=accounts.get_account(conn, request.account_id, lock=True),
                new_code=request.new_code,
                reason=request.reason,
                by=caller,
            )
            return account_service_pb2.ResetCodeResponse(
                account=self._account(conn, accounts.get_account(conn, request.account_id)),
                code_reset=proto_rows.code_reset(reset),
            )

        return once(work)

    @mutation
    def CreditAccount(self, request, once):
        caller = current_caller.get()
        check = RequestCheck()
        check.request_id(request.request_id)
        check.uuid("account_id", request.account_id)
        check.money("amount", request.amount, self.settings.currencies)
        check.text("memo", request.memo, max_length=MAX_MEMO_LENGTH)
        check.raise_if_any()

        def work(conn):
            transfer = transfers.credit(
                conn,
                self.settings,
                request.account_id,
                request.amount.amount_cents,
                request.amount.currency_code,
                request.memo,
                caller.principal,
            )
            account = accounts.get_account(conn, request.account_id)
            return account_service_pb2.CreditAccountResponse(
                transfer=proto_rows.transfer(transfer), balance=proto_rows.balance(account)
            )

        return once(work)

    @mutation
    def LinkIdentity(self, request, once):
        caller = current_caller.get()
        check = RequestCheck()
        check.request_id(request.request_id)
        check.uuid("account_id", request.account_id)
        check.identity("identity", request.identity)
        check.raise_if_any()

        def work(conn):
            require_money_access(caller, accounts.get_account(conn, request.account_id)["kind"])
            claimed = identities.link_identity(
                conn, self.settings, request.account_id, identity_ref(request.identity)
            )
            return account_service_pb2.LinkIdentityResponse(
                account=self._account(conn, accounts.get_account(conn, request.account_id)),
                claimed_transfers=[proto_rows.transfer(t) for t in claimed],
            )

        return once(work)

    @mutation
    def UnlinkIdentity(self, request, once):
        caller = current_caller.get()
        check = RequestCheck()
        check.request_id(request.request_id)
        check.uuid("account_id", request.account_id)
        check.identity("identity", request.identity)
        check.raise_if_any()

        def work(conn):
            require_money_access(caller, accounts.get_account(conn, request.account_id)["kind"])
            identities.unlink_identity(conn, request.account_id, identity_ref(request.identity))
            return account_service_pb2.UnlinkIdentityResponse(
                account=self._account(conn, accounts.get_account(conn, request.account_id))
            )

        return once(work)

    @mutation
    def SetAccountTier(self, request, once):
        check = RequestCheck()
        check.request_id(request.request_id)
        check.uuid("account_id", request.account_id)
        check.enum("tier", request.tier, TIERS)
        check.raise_if_any()
        tier = AccountTier.from_proto(request.tier)

        def work(conn):
            claimed = accounts.set_tier(conn, self.settings, request.account_id, tier)
            return account_service_pb2.SetAccountTierResponse(
                account=self._account(conn, accounts.get_account(conn, request.account_id)),
                claimed_transfers=[proto_rows.transfer(t) for t in claimed],
            )

        return once(work)

    @mutation
    def SetNotificationPreference(self, request, once):
        caller = current_caller.get()
        check = RequestCheck()
        check.request_id(request.request_id)
        check.uuid("account_id", request.account_id)
        check.enum("notification_preference", request.notification_preference, PREFERENCES)
        check.raise_if_any()
        require_own_account(caller, request.account_id)
        preference = NotificationPreference.from_proto(request.notification_preference)

        def work(conn):
            require_money_access(caller, accounts.get_account(conn, request.account_id)["kind"])
            accounts.set_notification_preference(conn, request.account_id, preference)
            return account_service_pb2.SetNotificationPreferenceResponse(
                account=self._account(conn, accounts.get_account(conn, request.account_id))
            )

        return once(work)

    @mutation
    def SetBusinessProfile(self, request, once):
        check = RequestCheck()
        check.request_id(request.request_id)
        check.uuid("account_id", request.account_id)
        business_profiles.check_profile(check, "business_profile", request.business_profile)
        check.raise_if_any()

        def work(conn):
            account = accounts.get_account(conn, request.account_id, lock=True)
            business_profiles.set_profile(conn, account, request.business_profile)
            return account_service_pb2.SetBusinessProfileResponse(
                account=self._account(conn, accounts.get_account(conn, request.account_id))
            )

        return once(work)

    @mutation
    def SetMerchantFees(self, request, once):
        check = RequestCheck()
        check.request_id(request.request_id)
        check.uuid("account_id", request.account_id)
        fees = request.merchant_fees
        if not 0 <= fees.basis_points <= merchant_fees.MAX_BASIS_POINTS:
            check.fail(
                "merchant_fees.basis_points",
                f"must be between 0 and {merchant_fees.MAX_BASIS_POINTS} (100 %)",
            )
        if not 0 <= fees.fixed_cents <= merchant_fees.MAX_FIXED_CENTS:
            limit = merchant_fees.MAX_FIXED_CENTS
            check.fail("merchant_fees.fixed_cents", f"must be between 0 and {limit}")
        check.raise_if_any()

        def work(conn):
            account = accounts.get_account(conn, request.account_id, lock=True)
            merchant_fees.set_fees(conn, account, fees.basis_points, fees.fixed_cents)
            return account_service_pb2.SetMerchantFeesResponse(
                account=self._account(conn, accounts.get_account(conn, request.account_id))
            )

        return once(work)

    @mutation
    def SetDebitMandate(self, request, once):
        caller = current_caller.get()
        check = RequestCheck()
        check.request_id(request.request_id)
        check.uuid("account_id", request.account_id)
        check.text("reason", request.reason, max_length=MAX_MEMO_LENGTH, required=True)
        check.raise_if_any()

        def work(conn):
            account = accounts.get_account(conn, request.account_id, lock=True)
            debit_mandates.set_mandate(
                conn, account, active=request.active, reason=request.reason, caller=caller
            )
            return account_service_pb2.SetDebitMandateResponse(
                account=self._account(conn, accounts.get_account(conn, request.account_id))
            )

        return once(work)

    @mutation
    def FreezeAccount(self, request, once):
        return self._status_change(
            request, once, account_status.FROZEN, account_service_pb2.FreezeAccountResponse
        )

    @mutation
    def UnfreezeAccount(self, request, once):
        return self._status_change(
            request, once, account_status.UNFROZEN, account_service_pb2.UnfreezeAccountResponse
        )

    @mutation
    def CloseAccount(self, request, once):
        caller = current_caller.get()
        check = RequestCheck()
        if caller.role == Role.ADMIN:
            if request.code:
                check.fail("code", "an admin gives a reason, not the owner's code")
        else:
            check.code("code", request.code)
        return self._status_change(
            request,
            once,
            account_status.CLOSED,
            account_service_pb2.CloseAccountResponse,
            check=check,
            reason_required=caller.role == Role.ADMIN,
        )

    def _status_change(
        self, request, once, change, response_class, *, check=None, reason_required=True
    ):
        """A freeze, an unfreeze or a close: validated, then applied under the
        account's lock (account_status.change); the owner's code first when
        the owner closes."""
        caller = current_caller.get()
        check = check or RequestCheck()
        check.request_id(request.request_id)
        check.uuid("account_id", request.account_id)
        check.text(
            "reason",
            request.reason,
            max_length=account_status.MAX_REASON_LENGTH,
            required=reason_required,
        )
        check.raise_if_any()
        require_own_account(caller, request.account_id)

        def work(conn):
            account_status.lock(conn, request.account_id)
            account = accounts.get_account(conn, request.account_id)
            require_money_access(caller, account["kind"])
            if change == account_status.CLOSED and caller.role != Role.ADMIN:
                accounts.verify_code(
                    conn, self.settings, self.runtime.code_key, account, request.code
                )
            row = account_status.change(conn, request.account_id, change, request.reason, caller)
            return response_class(
                account=self._account(conn, accounts.get_account(conn, request.account_id)),
                account_status_change=proto_rows.account_status_change(row),
            )

        return once(work)

    def ResolveIdentity(self, request, context):
        check = RequestCheck()
        check.identity("identity", request.identity, need_subject_id=False)
        if not request.identity.subject_id and not request.identity.handle:
            check.fail("identity.subject_id", "give subject_id, or else handle")
        check.raise_if_any()
        row = run_in_transaction(
            self.runtime.pool,
            lambda conn: identities.resolve_identity(
                conn,
                request.identity.namespace,
                subject_id=request.identity.subject_id,
                handle=request.identity.handle,
            ),
        )
        return account_service_pb2.ResolveIdentityResponse(
            account_id=str(row["account_id"]),
            display_name=row["display_name"],
            kind=AccountKind(row["kind"]).proto(),
            identity=proto_rows.identity(row["namespace"], row["subject_id"], row["handle"]),
        )
