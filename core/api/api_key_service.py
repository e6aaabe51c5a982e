"""envoi.v1.ApiKeyService: merchants' API keys.

An admin manages the keys of any merchant account (and creates a merchant's
first); a merchant key those of its own account only. A secret is in the
answer to CreateApiKey or RotateApiKey and nowhere else: the answer kept for
a retry of the same request_id has it removed.
"""

from envoi.client import errors
from envoi.core.api import proto_rows
from envoi.core.api.mutations import mutation
from envoi.core.api.request_validation import RequestCheck
from envoi.core.auth import api_keys, api_tokens
from envoi.core.auth.access import require_own_account
from envoi.core.auth.caller import Caller, current_caller
from envoi.core.enums import Role
from envoi.core.ledger.transactions import run_in_transaction
from envoi.core.runtime import Runtime
from envoi.v1 import api_key_service_pb2, api_key_service_pb2_grpc


def without_secret(response):
    kept = type(response)()
    kept.CopyFrom(response)
    kept.ClearField("secret")
    return kept


def require_key_manager(caller: Caller) -> None:
    """A rotated key in its grace period still pays and reads, but manages no
    keys: a key it made would outlive its revocation."""
    if caller.in_grace_period:
        raise errors.PermissionDenied(
            "this key was rotated and works only for its grace period: it cannot manage"
            " API keys; use the new key"
        )


def require_own_key(caller: Caller, key: dict) -> None:
    if (
        caller.role == Role.MERCHANT
        and str(key["merchant_account_id"]) != caller.merchant_account_id
    ):
        raise errors.PermissionDenied("a merchant key manages only its own merchant's keys")


class ApiKeyService(api_key_service_pb2_grpc.ApiKeyServiceServicer):
    SERVICE = api_key_service_pb2.DESCRIPTOR.services_by_name["ApiKeyService"]

    def __init__(self, runtime: Runtime):
        self.runtime = runtime

    @mutation
    def CreateApiKey(self, request, once):
        caller = current_caller.get()
        check = RequestCheck()
        check.request_id(request.request_id)
        check.uuid("account_id", request.account_id)
        check.text("label", request.label, max_length=api_keys.MAX_LABEL_LENGTH)
        scopes = tuple(request.scopes)
        if not set(scopes) <= set(api_tokens.SCOPES) or len(set(scopes)) != len(scopes):
            check.fail("scopes", f"each at most once, among: {', '.join(api_tokens.SCOPES)}")
        check.raise_if_any()
        require_key_manager(caller)
        require_own_account(caller, request.account_id)
        if caller.role == Role.MERCHANT and not set(scopes) <= caller.scopes:
            # Least privilege: a leaked key cannot mint a more powerful one.
            raise errors.PermissionDenied("a merchant's key grants only the scopes it holds")

        def work(conn):
            row, secret = api_keys.create(conn, request.account_id, request.label, scopes)
            return api_key_service_pb2.CreateApiKeyResponse(
                api_key=proto_rows.api_key(row), secret=secret
            )

        return once(work, redact=without_secret)

    def ListApiKeys(self, request, context):
        caller = current_caller.get()
        check = RequestCheck()
        check.uuid("account_id", request.account_id)
        check.raise_if_any()
        require_key_manager(caller)
        require_own_account(caller, request.account_id)
        rows = run_in_transaction(
            self.runtime.pool, lambda conn: api_keys.list_keys(conn, request.account_id)
        )
        return api_key_service_pb2.ListApiKeysResponse(
            api_keys=[proto_rows.api_key(row) for row in rows]
        )

    @mutation
    def RotateApiKey(self, request, once):
        caller = current_caller.get()
        check = RequestCheck()
        check.request_id(request.request_id)
        check.uuid("api_key_id", request.api_key_id)
        if not 0 <= request.grace_period_s <= api_keys.MAX_GRACE_PERIOD_S:
            check.fail("grace_period_s", f"0 to {api_keys.MAX_GRACE_PERIOD_S} seconds")
        check.raise_if_any()
        require_key_manager(caller)

        def work(conn):
            key = api_keys.get(conn, request.api_key_id, lock=True)
            require_own_key(caller, key)
            new, secret, old = api_keys.rotate(conn, key, request.grace_period_s)
            return api_key_service_pb2.RotateApiKeyResponse(
                api_key=proto_rows.api_key(new),
                secret=secret,
                rotated_api_key=proto_rows.api_key(old),
            )

        return once(work, redact=without_secret)

    @mutation
    def RevokeApiKey(self, request, once):
        caller = current_caller.get()
        check = RequestCheck()
        check.request_id(request.request_id)
        check.uuid("api_key_id", request.api_key_id)
        check.raise_if_any()
        require_key_manager(caller)

        def work(conn):
            key = api_keys.get(conn, request.api_key_id, lock=True)
            require_own_key(caller, key)
            return api_key_service_pb2.RevokeApiKeyResponse(
                api_key=proto_rows.api_key(api_keys.revoke(conn, key))
            )

        return once(work)
