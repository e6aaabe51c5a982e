"""envoi.v1.CollectionService: open a collection, read its totals, close or cancel it.

Paying into a collection is an ordinary payment (TransferService, with
to_collection_hashtag or to_collection_id): see core/collection_ledger.py and
docs/collections.md.

Who may act for an owner: the wallet backend for people and associations,
a merchant's token for its own account, an admin for anyone (access.py).
"""

import os

from envoi.client import errors
from envoi.core.api import page_tokens, proto_rows
from envoi.core.api.mutations import mutation
from envoi.core.api.request_validation import RequestCheck
from envoi.core.auth.access import require_money_access, require_own_account
from envoi.core.auth.caller import current_caller
from envoi.core.enums import AccountKind, CollectionState
from envoi.core.ledger import accounts, collections
from envoi.core.ledger.transactions import run_in_transaction
from envoi.core.policy import transfer_policy
from envoi.core.runtime import Runtime
from envoi.v1 import collection_service_pb2, collection_service_pb2_grpc

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 100


def reserved_hashtags(env=os.environ) -> tuple[str, ...]:
    """The channel payment keywords: the defaults, and ENVOI_CHANNEL_KEYWORDS."""
    configured = (env.get("ENVOI_CHANNEL_KEYWORDS") or "").split(",")
    return collections.DEFAULT_RESERVED_HASHTAGS + tuple(
        word.strip().removeprefix("#") for word in configured if word.strip()
    )


class CollectionService(collection_service_pb2_grpc.CollectionServiceServicer):
    SERVICE = collection_service_pb2.DESCRIPTOR.services_by_name["CollectionService"]

    def __init__(self, runtime: Runtime):
        self.runtime = runtime
        self.settings = runtime.settings
        self.reserved = reserved_hashtags()

    @mutation
    def CreateCollection(self, request, once):
        caller = current_caller.get()
        check = RequestCheck()
        check.request_id(request.request_id)
        check.uuid("owner_account_id", request.owner_account_id)
        check.text("title", request.title, max_length=collections.MAX_TITLE_LENGTH, required=True)
        hashtag = collections.normalize_hashtag(request.hashtag)
        problem = collections.hashtag_problem(hashtag, self.reserved)
        if problem:
            check.fail("hashtag", problem)
        if request.HasField("target"):
            check.money("target", request.target, self.settings.currencies)
        deadline_time = check.timestamp("deadline_time", request)
        check.raise_if_any()
        require_own_account(caller, request.owner_account_id)

        def work(conn):
            owner = accounts.get_account(conn, request.owner_account_id)
            require_money_access(caller, owner["kind"])
            transfer_policy.refuse_settlement(conn, owner["kind"], "owner_account_id")
            if owner["kind"] == AccountKind.MERCHANT:
                # Its contributions would reach it without its fee: a merchant
                # is paid by payments and payment requests, which bear it.
                raise errors.InvalidArgument(
                    "a merchant cannot own a collection",
                    field_violations={"owner_account_id": "must be a person or an association"},
                )
            # An association's papers first.
            transfer_policy.check_recipient_verified(conn, owner["account_id"])
            if request.HasField("target"):
                transfer_policy.check_currency(
                    conn,
                    owner["currency_code"],
                    request.target.currency_code,
                    "the owner",
                    field="target.currency_code",
                )
            if (
                deadline_time is not None
                and conn.execute("SELECT %s <= now()", (deadline_time,)).fetchone()[0]
            ):
                raise errors.InvalidArgument(
                    "invalid request: deadline_time",
                    field_violations={"deadline_time": "must be in the future"},
                )
            row = collections.create(
                conn,
                owner=owner,
                title=request.title,
                hashtag=hashtag,
                target_cents=request.target.amount_cents if request.HasField("target") else None,
                deadline_time=deadline_time,
                initiated_by=caller.principal,
            )
            return collection_service_pb2.CreateCollectionResponse(
                collection=proto_rows.collection(row)
            )

        return once(work)

    def GetCollection(self, request, context):
        check = RequestCheck()
        hashtag = collections.normalize_hashtag(request.hashtag)
        if bool(request.collection_id) == bool(request.hashtag):
            check.fail("collection_id", "give exactly one of collection_id and hashtag")
        elif request.collection_id:
            check.uuid("collection_id", request.collection_id)
        elif collections.hashtag_problem(hashtag, ()):
            check.fail("hashtag", collections.hashtag_problem(hashtag, ()))
        check.raise_if_any()
        # A collection is public: whoever is asked to pay into it may read it.
        row = run_in_transaction(
            self.runtime.pool,
            lambda conn: collections.get(
                conn, collection_id=request.collection_id or None, hashtag=hashtag or None
            ),
        )
        return collection_service_pb2.GetCollectionResponse(collection=proto_rows.collection(row))

    @mutation
    def CloseCollection(self, request, once):
        def close(conn, collection):
            # The owner is paid like any recipient: within its tier's maximum balance.
            owner = accounts.get_account(conn, str(collection["owner_account_id"]), lock=True)
            transfer_policy.check_max_balance(
                conn,
                self.settings,
                owner["account_id"],
                collections.balance_cents(conn, collection),
            )
            row = collections.resolve(
                conn, collection, CollectionState.CLOSED, current_caller.get().principal
            )
            return collection_service_pb2.CloseCollectionResponse(
                collection=proto_rows.collection(row)
            )

        return self._resolve(request, once, close)

    @mutation
    def CancelCollection(self, request, once):
        def cancel(conn, collection):
            row = collections.resolve(
                conn, collection, CollectionState.CANCELLED, current_caller.get().principal
            )
            return collection_service_pb2.CancelCollectionResponse(
                collection=proto_rows.collection(row),
                refund_count=collections.refund_count(conn, row["collection_id"]),
            )

        return self._resolve(request, once, cancel)

    def ListCollections(self, request, context):
        caller = current_caller.get()
        check = RequestCheck()
        check.uuid("owner_account_id", request.owner_account_id)
        if not 0 <= request.page_size <= MAX_PAGE_SIZE:
            check.fail("page_size", f"must be between 0 and {MAX_PAGE_SIZE}")
        check.raise_if_any()
        require_own_account(caller, request.owner_account_id)
        digest = page_tokens.filters_digest("collections", request.owner_account_id)
        before_seq = page_tokens.decode(request.page_token, digest)
        page_size = request.page_size or DEFAULT_PAGE_SIZE

        def read(conn):
            owner = accounts.get_account(conn, request.owner_account_id)
            require_money_access(caller, owner["kind"])
            if owner["kind"] == AccountKind.MERCHANT:
                # Its contributions would reach it without its fee: a merchant
                # is paid by payments and payment requests, which bear it.
                raise errors.InvalidArgument(
                    "a merchant cannot own a collection",
                    field_violations={"owner_account_id": "must be a person or an association"},
                )
            # An association's papers first.
            transfer_policy.check_recipient_verified(conn, owner["account_id"])
            return collections.list_owned(
                conn, request.owner_account_id, before_seq=before_seq, limit=page_size + 1
            )

        rows = run_in_transaction(self.runtime.pool, read)
        response = collection_service_pb2.ListCollectionsResponse(
            collections=[proto_rows.collection(row) for row in rows[:page_size]]
        )
        if len(rows) > page_size:
            response.next_page_token = page_tokens.encode(rows[page_size - 1]["seq"], digest)
        return response

    def _resolve(self, request, once, resolve):
        caller = current_caller.get()
        check = RequestCheck()
        check.request_id(request.request_id)
        check.uuid("collection_id", request.collection_id)
        check.raise_if_any()

        def work(conn):
            collection = collections.lock(conn, request.collection_id)
            require_own_account(caller, str(collection["owner_account_id"]))
            require_money_access(caller, collection["owner_kind"])
            return resolve(conn, collection)

        return once(work)
