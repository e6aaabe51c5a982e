"""Who may call what: every RPC by every kind of caller, the ownership rules,
the public health and reflection services, and docs/roles.md against the code."""

import dataclasses
import datetime
import pathlib
import re
import secrets
import time
import uuid

import grpc
import psycopg
import pytest
import rpc_catalog
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from envoi.client import errors
from envoi.core.auth import api_tokens, roles
from envoi.core.testing import TEST_SIREN, settings_with
from envoi.providers.sandbox import bank_transfers, cards
from envoi.v1 import (
    account_pb2,
    account_service_pb2,
    account_service_pb2_grpc,
    identity_pb2,
    transfer_pb2,
)

ROLES_DOC = pathlib.Path(__file__).parent.parent / "docs" / "roles.md"


def a_day_ago() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=1)


@pytest.fixture(scope="module")
def settings(database_url):
    # Every subject below leaves a payment started by the channel waiting on
    # the module's one merchant account: no cap on those here (tests of the
    # cap are in test_channel_holds.py).
    return settings_with(
        database_url, channel_pending_max_count=1_000_000, channel_pending_max_cents=10**12
    )


# Written out by hand, not read from core/roles.py: it is what the tests expect.
EXPECTED_ALLOWED_ROLES = {
    "/envoi.v1.AccountService/OpenAccount": {"wallet", "admin"},
    "/envoi.v1.AccountService/GetAccount": {"wallet", "merchant", "admin"},
    "/envoi.v1.AccountService/GetBalance": {"wallet", "merchant", "admin"},
    "/envoi.v1.AccountService/ChangeCode": {"wallet"},
    "/envoi.v1.AccountService/ResetCode": {"admin"},
    "/envoi.v1.AccountService/CreditAccount": {"admin"},
    "/envoi.v1.AccountService/LinkIdentity": {"wallet", "admin"},
    "/envoi.v1.AccountService/UnlinkIdentity": {"wallet", "admin"},
    "/envoi.v1.AccountService/ResolveIdentity": {"channel", "wallet", "admin"},
    "/envoi.v1.AccountService/SetAccountTier": {"admin"},
    "/envoi.v1.AccountService/SetNotificationPreference": {"wallet", "merchant"},
    "/envoi.v1.AccountService/SetBusinessProfile": {"admin"},
    "/envoi.v1.AccountService/SetMerchantFees": {"admin"},
    "/envoi.v1.AccountService/SetDebitMandate": {"admin"},
    "/envoi.v1.AccountService/ListStatement": {"wallet", "merchant", "admin"},
    "/envoi.v1.AccountService/FreezeAccount": {"admin"},
    "/envoi.v1.AccountService/UnfreezeAccount": {"admin"},
    "/envoi.v1.AccountService/CloseAccount": {"wallet", "admin"},
    "/envoi.v1.TransferService/InitiateTransfer": {"channel", "wallet", "merchant"},
    "/envoi.v1.TransferService/ConfirmTransfer": {"wallet", "merchant"},
    "/envoi.v1.TransferService/CancelTransfer": {"wallet", "merchant", "admin"},
    "/envoi.v1.TransferService/GetTransfer": {"channel", "wallet", "merchant", "admin"},
    "/envoi.v1.TransferService/ListTransfers": {"wallet", "merchant", "admin"},
    "/envoi.v1.TransferService/ListPendingConfirmations": {"wallet", "merchant"},
    "/envoi.v1.TransferService/CreateTransfers": {"admin", "ledger"},
    "/envoi.v1.TransferService/RefundTransfer": {"merchant", "wallet"},
    "/envoi.v1.EventService/ListEvents": {"channel", "admin"},
    "/envoi.v1.EventService/WatchEvents": {"wallet", "merchant", "admin"},
    "/envoi.v1.FundingService/TopUp": {"wallet"},
    "/envoi.v1.FundingService/GetTopUp": {"wallet", "admin"},
    "/envoi.v1.FundingService/CompleteTopUp": {"wallet", "admin"},
    "/envoi.v1.PayoutService/Withdraw": {"wallet", "merchant"},
    "/envoi.v1.PayoutService/GetPayout": {"wallet", "merchant", "admin"},
    "/envoi.v1.PayoutService/CompletePayout": {"wallet", "admin"},
    "/envoi.v1.PaymentRequestService/RequestPayment": {"merchant"},
    "/envoi.v1.PaymentRequestService/RequestMoney": {"channel", "wallet"},
    "/envoi.v1.ApiKeyService/CreateApiKey": {"merchant", "admin"},
    "/envoi.v1.ApiKeyService/ListApiKeys": {"merchant", "admin"},
    "/envoi.v1.ApiKeyService/RotateApiKey": {"merchant", "admin"},
    "/envoi.v1.ApiKeyService/RevokeApiKey": {"merchant", "admin"},
    "/envoi.v1.CollectionService/CreateCollection": {"wallet", "admin"},
    "/envoi.v1.CollectionService/GetCollection": {"channel", "wallet", "merchant", "admin"},
    "/envoi.v1.CollectionService/CloseCollection": {"wallet", "admin"},
    "/envoi.v1.CollectionService/CancelCollection": {"wallet", "admin"},
    "/envoi.v1.CollectionService/ListCollections": {"wallet", "admin"},
    "/envoi.v1.WebhookService/CreateWebhookEndpoint": {"merchant"},
    "/envoi.v1.WebhookService/ListWebhookEndpoints": {"merchant", "admin"},
    "/envoi.v1.WebhookService/DeleteWebhookEndpoint": {"merchant"},
    "/envoi.v1.WebhookService/RotateWebhookSecret": {"merchant"},
    "/envoi.v1.WebhookService/ListWebhookDeliveries": {"merchant", "admin"},
    "/envoi.v1.WebhookService/Redeliver": {"merchant"},
}
ROLE_CALLERS = ("channel", "wallet", "merchant", "admin", "ledger")
UNAUTHENTICATED_CALLERS = ("no_token", "unknown_token", "revoked_token")

PERSON_CODE = "123456"
MERCHANT_CODE = "424242"  # the code conftest's `merchant` fixture opens its account with


def all_rpcs() -> set[str]:
    """The full method name of every RPC in the contract, from its descriptors."""
    return set(rpc_catalog.methods_by_path())


def state_of_everything(db) -> tuple:
    """A fingerprint of every row an RPC can change, to show a refused call changed none."""
    return db.execute(
        "SELECT (SELECT md5(coalesce(string_agg(a::text, ',' ORDER BY account_id), ''))"
        "        FROM accounts a),"
        "       (SELECT md5(coalesce(string_agg(t::text, ',' ORDER BY transfer_id), ''))"
        "        FROM transfers t),"
        "       (SELECT count(*) FROM postings),"
        "       (SELECT count(*) FROM outbox_events),"
        "       (SELECT count(*) FROM idempotency_keys),"
        "       (SELECT md5(coalesce(string_agg(k::text, ',' ORDER BY token_id), ''))"
        "        FROM api_tokens k)"
    ).fetchone()


def assert_refused(call, error_class, reason, db):
    before = state_of_everything(db)
    with pytest.raises(error_class) as refused:
        call()
    assert refused.value.reason == reason
    assert state_of_everything(db) == before


def money_of(client, account_id) -> tuple[int, int, int]:
    balance = client.get_balance(account_id)
    return (balance.balance.amount_cents, balance.held.amount_cents, balance.available.amount_cents)


# The role table


def test_the_expected_table_is_the_one_the_server_enforces():
    assert EXPECTED_ALLOWED_ROLES == roles.ALLOWED_ROLES_BY_METHOD


def test_the_table_covers_every_rpc_and_names_only_real_roles():
    assert set(EXPECTED_ALLOWED_ROLES) == all_rpcs() == set(CALLS)
    assert set(ROLE_CALLERS) == set(api_tokens.ROLES)
    assert all(allowed <= set(ROLE_CALLERS) for allowed in EXPECTED_ALLOWED_ROLES.values())


def test_docs_roles_md_table_is_the_enforced_table():
    documented = {}
    header = None
    for line in ROLES_DOC.read_text().splitlines():
        cells = [cell.strip().strip("`") for cell in line.strip().strip("|").split("|")]
        if cells[0] == "RPC":
            header = cells[1:]
        elif re.fullmatch(r"\w+Service/\w+", cells[0]):
            assert len(cells) == 6 and set(cells[1:]) <= {"allowed", "denied"}, line
            assert "/envoi.v1." + cells[0] not in documented, line
            documented["/envoi.v1." + cells[0]] = {
                role
                for role, verdict in zip(header, cells[1:], strict=True)
                if verdict == "allowed"
            }
    assert header == list(ROLE_CALLERS)
    assert documented == roles.ALLOWED_ROLES_BY_METHOD


@dataclasses.dataclass(frozen=True)
class Subject:
    """What one call works on: an account the caller may reach, and a pending
    transfer from it to `payee_id` that the caller may see."""

    account_id: str
    code: str
    payee_id: str
    pending_transfer_id: str
    identity: identity_pb2.Identity  # linked to account_id
    top_up_id: str  # of a person's account (account_id, or payee_id for a merchant)
    top_up_callback: tuple[bytes, str]  # resolves a pending top-up
    payout_id: str  # a pending payout from account_id
    payout_callback: tuple[bytes, str]  # settles it
    merchant_id: str  # the module's merchant (the `merchant` caller's own account)
    api_key_id: str  # a live API key of merchant_id, made for this call
    collection_id: str  # an open collection owned by account_id
    # How the caller names account_id as a payment's sender: a channel by the
    # identity that posted, everyone else by the account id.
    sender: "str | identity_pb2.Identity"
    settlement_id: str  # a funded settlement account: what batches debit
    # A completed payment the caller may refund, and the code it takes: to the
    # merchant for the merchant (its key has the refunds scope), else to an
    # association (the wallet gives its code).
    refundable: tuple[str, str]
    payee_identity: identity_pb2.Identity  # linked to payee_id: whom a request asks
    # A live webhook endpoint of merchant_id, and a delivery of it.
    webhook: tuple[str, str]
    empty_id: str  # a person's account, empty: frozen or closed by the call
    frozen_id: str  # a person's account an admin froze
    caller: str  # who calls: an owner closes with the code, an admin with a reason


# One valid request per RPC, which succeeds for every role allowed to call it.
CALLS = {
    "/envoi.v1.AccountService/OpenAccount": lambda client, s: client.open_account(
        "PERSON", "Roles test", PERSON_CODE
    ),
    "/envoi.v1.AccountService/GetAccount": lambda client, s: client.get_account(s.account_id),
    "/envoi.v1.AccountService/GetBalance": lambda client, s: client.get_balance(s.account_id),
    "/envoi.v1.AccountService/ListStatement": lambda client, s: client.list_statement(
        s.account_id, a_day_ago()
    ),
    # The same code again: the merchant's account is shared by the whole module.
    "/envoi.v1.AccountService/ChangeCode": lambda client, s: client.change_code(
        s.account_id, s.code, s.code
    ),
    "/envoi.v1.AccountService/ResetCode": lambda client, s: client.reset_code(
        s.account_id, s.code, "roles test: the owner forgot the code"
    ),
    "/envoi.v1.AccountService/CreditAccount": lambda client, s: client.credit_account(
        s.account_id, 100
    ),
    "/envoi.v1.TransferService/InitiateTransfer": lambda client, s: client.initiate_transfer(
        s.sender, s.payee_id, 100
    ),
    "/envoi.v1.TransferService/ConfirmTransfer": lambda client, s: client.confirm_transfer(
        s.pending_transfer_id, s.code
    ),
    "/envoi.v1.TransferService/CancelTransfer": lambda client, s: client.cancel_transfer(
        s.pending_transfer_id
    ),
    "/envoi.v1.TransferService/GetTransfer": lambda client, s: client.get_transfer(
        s.pending_transfer_id
    ),
    "/envoi.v1.TransferService/ListTransfers": lambda client, s: client.list_transfers(
        s.account_id
    ),
    "/envoi.v1.AccountService/LinkIdentity": lambda client, s: client.link_identity(
        s.account_id, new_identity()
    ),
    "/envoi.v1.AccountService/UnlinkIdentity": lambda client, s: client.unlink_identity(
        s.account_id, s.identity
    ),
    "/envoi.v1.AccountService/ResolveIdentity": lambda client, s: client.resolve_identity(
        s.identity
    ),
    "/envoi.v1.EventService/ListEvents": lambda client, s: client.list_events(),
    "/envoi.v1.AccountService/SetNotificationPreference": lambda client, s: (
        client.set_notification_preference(s.account_id, "PUBLIC_REPLY")
    ),
    "/envoi.v1.AccountService/SetAccountTier": lambda client, s: client.set_account_tier(
        s.account_id, "UNVERIFIED"
    ),
    # The profile and fee the module's merchant already has: other tests see no change.
    "/envoi.v1.AccountService/SetBusinessProfile": lambda client, s: client.set_business_profile(
        s.merchant_id, "Roles Test SAS", TEST_SIREN
    ),
    "/envoi.v1.AccountService/SetMerchantFees": lambda client, s: client.set_merchant_fees(
        s.merchant_id, 0, 0
    ),
    "/envoi.v1.AccountService/FreezeAccount": lambda client, s: client.freeze_account(
        s.empty_id, "roles test"
    ),
    "/envoi.v1.AccountService/UnfreezeAccount": lambda client, s: client.unfreeze_account(
        s.frozen_id, "roles test"
    ),
    "/envoi.v1.AccountService/CloseAccount": lambda client, s: client.close_account(
        s.empty_id, **({"reason": "roles test"} if s.caller == "admin" else {"code": s.code})
    ),
    # A revocation of a mandate the merchant does not have: other tests see no change.
    "/envoi.v1.AccountService/SetDebitMandate": lambda client, s: client.set_debit_mandate(
        s.merchant_id, active=False, reason="roles test"
    ),
    "/envoi.v1.TransferService/ListPendingConfirmations": lambda client, s: (
        client.list_pending_confirmations(s.account_id)
    ),
    # A stream: its first event (the pending transfer's), then the call is cancelled.
    "/envoi.v1.EventService/WatchEvents": lambda client, s: first_event(
        client.watch_events(s.account_id, timeout_s=10)
    ),
    "/envoi.v1.FundingService/TopUp": lambda client, s: client.top_up(
        s.account_id, 100, provider="sandbox", card_token=cards.tokenize_card(cards.SUCCEEDS)
    ),
    "/envoi.v1.FundingService/GetTopUp": lambda client, s: client.get_top_up(s.top_up_id),
    "/envoi.v1.FundingService/CompleteTopUp": lambda client, s: client.complete_top_up(
        "sandbox", *s.top_up_callback
    ),
    "/envoi.v1.PayoutService/Withdraw": lambda client, s: client.withdraw(
        s.account_id,
        100,
        iban=bank_transfers.SETTLES,
        beneficiary_name="Roles Test",
        code=s.code,
        provider="sandbox",
    ),
    "/envoi.v1.PayoutService/GetPayout": lambda client, s: client.get_payout(s.payout_id),
    "/envoi.v1.PayoutService/CompletePayout": lambda client, s: client.complete_payout(
        "sandbox", *s.payout_callback
    ),
    "/envoi.v1.PaymentRequestService/RequestPayment": lambda client, s: client.request_payment(
        s.merchant_id, s.payee_id, 100, merchant_reference=f"order-{uuid.uuid4()}"
    ),
    # The account's owner (a channel: the identity that posted) asks the payee.
    "/envoi.v1.PaymentRequestService/RequestMoney": lambda client, s: client.request_money(
        s.sender, s.payee_identity, 100
    ),
    "/envoi.v1.ApiKeyService/CreateApiKey": lambda client, s: client.create_api_key(
        s.merchant_id, label="roles test"
    ),
    "/envoi.v1.ApiKeyService/ListApiKeys": lambda client, s: client.list_api_keys(s.merchant_id),
    "/envoi.v1.ApiKeyService/RotateApiKey": lambda client, s: client.rotate_api_key(s.api_key_id),
    "/envoi.v1.ApiKeyService/RevokeApiKey": lambda client, s: client.revoke_api_key(s.api_key_id),
    "/envoi.v1.CollectionService/CreateCollection": lambda client, s: client.create_collection(
        s.account_id, "Roles test", "Roles" + secrets.token_hex(8)
    ),
    "/envoi.v1.CollectionService/GetCollection": lambda client, s: client.get_collection(
        s.collection_id
    ),
    "/envoi.v1.CollectionService/CloseCollection": lambda client, s: client.close_collection(
        s.collection_id
    ),
    "/envoi.v1.CollectionService/CancelCollection": lambda client, s: client.cancel_collection(
        s.collection_id
    ),
    "/envoi.v1.CollectionService/ListCollections": lambda client, s: client.list_collections(
        s.account_id
    ),
    "/envoi.v1.TransferService/RefundTransfer": lambda client, s: client.refund_transfer(
        s.refundable[0], 100, code=s.refundable[1]
    ),
    "/envoi.v1.WebhookService/CreateWebhookEndpoint": lambda client, s: (
        client.create_webhook_endpoint(
            s.merchant_id, "https://shop.example/envoi-hooks", ["TRANSFER_COMPLETED"]
        )
    ),
    "/envoi.v1.WebhookService/ListWebhookEndpoints": lambda client, s: (
        client.list_webhook_endpoints(s.merchant_id)
    ),
    "/envoi.v1.WebhookService/DeleteWebhookEndpoint": lambda client, s: (
        client.delete_webhook_endpoint(s.webhook[0])
    ),
    "/envoi.v1.WebhookService/RotateWebhookSecret": lambda client, s: client.rotate_webhook_secret(
        s.webhook[0]
    ),
    "/envoi.v1.WebhookService/ListWebhookDeliveries": lambda client, s: (
        client.list_webhook_deliveries(s.webhook[0])
    ),
    "/envoi.v1.WebhookService/Redeliver": lambda client, s: client.redeliver(s.webhook[1]),
    "/envoi.v1.TransferService/CreateTransfers": lambda client, s: client.create_transfers(
        [{"from_account_id": s.settlement_id, "to_account_id": s.payee_id, "amount_cents": 100}],
        mode="ALL_OR_NOTHING",
    ),
}


def first_event(stream):
    with stream:
        return next(iter(stream))


def new_identity() -> identity_pb2.Identity:
    return identity_pb2.Identity(
        namespace="twitter", subject_id=secrets.token_hex(8), handle="roles_test"
    )


@pytest.fixture(scope="module")
def revoked_token(database_url):
    """An admin token, the strongest role, revoked."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        token_id, token = api_tokens.create_token(conn, "admin")
        assert api_tokens.revoke_token(conn, token_id)
    return token


@pytest.fixture(scope="module")
def callers(twitter_channel, wallet, merchant, admin, client_for, make_token, revoked_token):
    return {
        "ledger": client_for(make_token("ledger")),
        "channel": twitter_channel,
        "wallet": wallet,
        "merchant": merchant[1],
        "admin": admin,
        "no_token": client_for(None),
        "unknown_token": client_for(api_tokens.TOKEN_PREFIX + secrets.token_urlsafe(32)),
        "revoked_token": client_for(revoked_token),
    }


SUBJECT_KEY_LABEL = "roles test subject"


def new_subject_api_key(database_url, merchant_id: str) -> str:
    """A live key of the merchant for one call; the keys made for earlier calls
    are revoked, so that the merchant stays below its number of live keys."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            "UPDATE api_tokens SET revoke_time = now() WHERE merchant_account_id = %s"
            " AND label IN (%s, 'roles test') AND revoke_time IS NULL",
            (merchant_id, SUBJECT_KEY_LABEL),
        )
        return api_tokens.create_token(
            conn, "merchant", merchant_account_id=merchant_id, label=SUBJECT_KEY_LABEL
        )[0]


def new_subject_webhook(database_url, merchant_id: str) -> tuple[str, str]:
    """A live endpoint of the merchant with one delivery, for one call; those
    made for earlier calls are deleted, so that it stays below its number of
    endpoints."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            "UPDATE webhook_endpoints SET delete_time = now()"
            " WHERE account_id = %s AND delete_time IS NULL",
            (merchant_id,),
        )
        endpoint_id = conn.execute(
            "INSERT INTO webhook_endpoints (account_id, url, event_types)"
            " VALUES (%s, 'https://shop.example/hooks', '{TRANSFER_COMPLETED}')"
            " RETURNING endpoint_id",
            (merchant_id,),
        ).fetchone()[0]
        conn.execute(
            "INSERT INTO webhook_secrets (endpoint_id, secret) VALUES (%s, 'whsec_roles')",
            (endpoint_id,),
        )
        delivery_id = conn.execute(
            "INSERT INTO webhook_deliveries (endpoint_id, event_id, event_type, body)"
            " SELECT %s, max(event_id), 'TRANSFER_COMPLETED', '{}' FROM outbox_events"
            " RETURNING delivery_id",
            (endpoint_id,),
        ).fetchone()[0]
    return str(endpoint_id), str(delivery_id)


def money_in_and_out(wallet, merchant, payment_providers, caller, account_id, payee_id, code):
    """A top-up and a payout of the subject's, with their providers' callbacks."""
    sandbox_cards = payment_providers["funding_providers"]["sandbox"]
    sandbox_bank = payment_providers["payout_providers"]["sandbox"]
    # Cards top up people's accounts; a merchant's payouts need its own token.
    top_up = wallet.top_up(
        payee_id if caller == "merchant" else account_id,
        100,
        provider="sandbox",
        card_token=cards.tokenize_card(cards.THREE_D_SECURE),
    )
    payer = merchant[1] if caller == "merchant" else wallet
    payout = payer.withdraw(
        account_id,
        100,
        iban=bank_transfers.SETTLES,
        beneficiary_name="Roles Test",
        code=code,
        provider="sandbox",
    )
    payout_reference = payer.get_payout(payout.payout_id).provider_reference
    return (
        top_up.top_up_id,
        sandbox_cards.three_d_secure_callback(top_up.provider_reference, authenticated=True),
        payout.payout_id,
        sandbox_bank.settlement_callback(payout_reference),
    )


@pytest.fixture
def subject_for(
    merchant, open_account, twitter_channel, admin, wallet, payment_providers, database_url
):
    def make(caller) -> Subject:
        if caller == "merchant":
            account_id, code = merchant[0], MERCHANT_CODE
            admin.credit_account(account_id, 300)  # what this subject holds and withdraws
        else:
            account_id, code = open_account(balance_cents=5_000, code=PERSON_CODE), PERSON_CODE
        payee_id = open_account()
        identity, payee_identity = new_identity(), new_identity()
        admin.link_identity(account_id, identity)
        admin.link_identity(payee_id, payee_identity)
        # Started by the `channel` caller (from the identity that posted), so
        # that the channel may read it.
        pending = twitter_channel.initiate_transfer(identity, payee_id, 100)
        top_up_id, top_up_callback, payout_id, payout_callback = money_in_and_out(
            wallet, merchant, payment_providers, caller, account_id, payee_id, code
        )
        return Subject(
            account_id,
            code,
            payee_id,
            pending.transfer_id,
            identity,
            top_up_id,
            top_up_callback,
            payout_id,
            payout_callback,
            merchant[0],
            new_subject_api_key(database_url, merchant[0]),
            # No merchant owns a collection: the merchant's subject reads a person's.
            admin.create_collection(
                payee_id if caller == "merchant" else account_id,
                "Roles",
                "Roles" + secrets.token_hex(8),
            ).collection_id,
            identity if caller == "channel" else account_id,
            open_account("SETTLEMENT", balance_cents=100),
            refundable_payment(caller),
            payee_identity,
            new_subject_webhook(database_url, merchant[0]),
            open_account(code=PERSON_CODE),
            frozen_account(),
            caller,
        )

    def frozen_account() -> str:
        account_id = open_account()
        admin.freeze_account(account_id, "roles test")
        return account_id

    def refundable_payment(caller) -> tuple[str, str]:
        payer = open_account(balance_cents=500, code=PERSON_CODE)
        if caller == "merchant":
            payee, code = merchant[0], ""
        else:
            payee, code = open_account("ASSOCIATION", code=MERCHANT_CODE), MERCHANT_CODE
        pending = wallet.initiate_transfer(payer, payee, 300)
        return wallet.confirm_transfer(pending.transfer_id, PERSON_CODE).transfer_id, code

    return make


@pytest.mark.parametrize("caller", ROLE_CALLERS + UNAUTHENTICATED_CALLERS)
@pytest.mark.parametrize(
    "method", sorted(EXPECTED_ALLOWED_ROLES), ids=lambda method: method.rsplit("/", 1)[1]
)
def test_each_rpc_lets_through_exactly_the_roles_of_the_table(
    method, caller, callers, subject_for, db
):
    call = CALLS[method]
    client, subject = callers[caller], subject_for(caller)
    if caller in UNAUTHENTICATED_CALLERS:
        assert_refused(lambda: call(client, subject), errors.Unauthenticated, "UNAUTHENTICATED", db)
    elif caller in EXPECTED_ALLOWED_ROLES[method]:
        call(client, subject)  # a valid request: any error at all fails the test
    else:
        assert_refused(
            lambda: call(client, subject), errors.PermissionDenied, "PERMISSION_DENIED", db
        )


@pytest.fixture(scope="module")
def merchant_keys(merchant, open_account, admin, client_for):
    """Clients holding API keys made through ApiKeyService: the module's merchant
    (A, whose things the calls name) and another merchant (B)."""
    other_id = open_account("MERCHANT", code=MERCHANT_CODE, balance_cents=5_000)
    return {
        "own key": client_for(
            admin.create_api_key(merchant[0], label="own", scopes=("refunds",)).secret
        ),
        "another merchant's key": client_for(admin.create_api_key(other_id, label="B").secret),
    }


# Reads of what is public to whoever is asked to pay: no merchant's own.
PUBLIC_READS = {"/envoi.v1.CollectionService/GetCollection"}


@pytest.mark.parametrize("key", ["another merchant's key", "own key"])
@pytest.mark.parametrize(
    "method", sorted(EXPECTED_ALLOWED_ROLES), ids=lambda method: method.rsplit("/", 1)[1]
)
def test_a_merchant_key_reaches_only_its_own_merchant(method, key, merchant_keys, subject_for, db):
    """Every RPC, on merchant A's account, transfers, payouts and keys: with
    merchant B's key it is refused and changes nothing; with A's own key it
    works wherever the table lets merchants call it."""
    subject = subject_for("merchant")  # merchant A's things
    client = merchant_keys[key]
    if method in PUBLIC_READS or (
        key == "own key" and "merchant" in EXPECTED_ALLOWED_ROLES[method]
    ):
        CALLS[method](client, subject)
    else:
        assert_refused(
            lambda: CALLS[method](client, subject),
            errors.PermissionDenied,
            "PERMISSION_DENIED",
            db,
        )


def test_a_token_works_until_it_is_revoked(database_url, settings, client_for, open_account):
    account_id = open_account()
    with psycopg.connect(database_url, autocommit=True) as conn:
        token_id, token = api_tokens.create_token(conn, "wallet")
        wallet = client_for(token)
        assert wallet.get_account(account_id).account_id == account_id
        assert api_tokens.revoke_token(conn, token_id)
        # A server that saw the token remembers it for token_cache_s at most.
        refused_by = time.monotonic() + settings.token_cache_s + 1.0
        while True:
            try:
                wallet.get_account(account_id)
            except errors.Unauthenticated:
                break
            assert time.monotonic() < refused_by, "a revoked token kept working"
            time.sleep(0.05)
        assert not api_tokens.revoke_token(conn, token_id)  # already revoked


def test_the_token_must_be_sent_as_a_bearer_token(grpc_channel, make_token, open_account):
    account_id, token = open_account(), make_token("admin")
    stub = account_service_pb2_grpc.AccountServiceStub(grpc_channel)
    request = account_service_pb2.GetAccountRequest(account_id=account_id)
    assert (
        stub.GetAccount(
            request, metadata=(("authorization", f"Bearer {token}"),)
        ).account.account_id
        == account_id
    )
    with pytest.raises(grpc.RpcError) as refused:
        stub.GetAccount(request, metadata=(("authorization", token),))
    assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED


# Ownership: what a role may touch once it may call the RPC


@pytest.fixture
def own_merchant(open_account, make_token, client_for):
    """A merchant of this test alone (account id, client)."""
    account_id = open_account("MERCHANT", code=MERCHANT_CODE, balance_cents=5_000)
    return account_id, client_for(make_token("merchant", merchant_account_id=account_id))


# (client, account, counterparty): a call on `account`; a transfer goes to `counterparty`.
MERCHANT_ACCOUNT_CALLS = {
    "GetAccount": lambda client, account, counterparty: client.get_account(account),
    "GetBalance": lambda client, account, counterparty: client.get_balance(account),
    "GetBalance as_of": lambda client, account, counterparty: client.get_balance(
        account, as_of=a_day_ago()
    ),
    "ListStatement": lambda client, account, counterparty: client.list_statement(
        account, a_day_ago()
    ),
    "ListTransfers": lambda client, account, counterparty: client.list_transfers(account),
    "InitiateTransfer": lambda client, account, counterparty: client.initiate_transfer(
        account, counterparty, 100
    ),
}


@pytest.mark.parametrize("call", MERCHANT_ACCOUNT_CALLS.values(), ids=MERCHANT_ACCOUNT_CALLS)
def test_a_merchant_reaches_another_account_never(call, own_merchant, open_account, db):
    merchant_id, merchant = own_merchant
    other_merchant_id = open_account("MERCHANT", balance_cents=5_000)
    # InitiateTransfer: pulling money from the other account into its own.
    assert_refused(
        lambda: call(merchant, other_merchant_id, merchant_id),
        errors.PermissionDenied,
        "PERMISSION_DENIED",
        db,
    )


@pytest.mark.parametrize("call", MERCHANT_ACCOUNT_CALLS.values(), ids=MERCHANT_ACCOUNT_CALLS)
def test_a_merchant_works_on_its_own_account(call, own_merchant, open_account):
    merchant_id, merchant = own_merchant
    call(merchant, merchant_id, open_account())


@pytest.mark.parametrize("merchant_side", ["recipient", "none"])
def test_a_merchant_confirms_only_what_its_account_pays(
    merchant_side, own_merchant, wallet, open_account, db
):
    merchant_id, merchant = own_merchant
    alice = open_account(balance_cents=5_000, code=PERSON_CODE)
    payee = merchant_id if merchant_side == "recipient" else open_account()
    transfer = wallet.initiate_transfer(alice, payee, 300)
    # Refused even with the payer's right code, and no code attempt is counted.
    assert_refused(
        lambda: merchant.confirm_transfer(transfer.transfer_id, PERSON_CODE),
        errors.PermissionDenied,
        "PERMISSION_DENIED",
        db,
    )
    assert (
        wallet.get_transfer(transfer.transfer_id).state
        == transfer_pb2.TRANSFER_STATE_PENDING_CONFIRMATION
    )
    assert money_of(wallet, alice) == (5_000, 300, 4_700)

    own = merchant.initiate_transfer(merchant_id, open_account(), 300)
    assert (
        merchant.confirm_transfer(own.transfer_id, MERCHANT_CODE).state
        == transfer_pb2.TRANSFER_STATE_COMPLETED
    )


@pytest.mark.parametrize(
    "merchant_side, allowed", [("sender", True), ("recipient", True), ("none", False)]
)
@pytest.mark.parametrize("operation", ["cancel", "get"])
def test_a_merchant_cancels_and_reads_only_its_transfers(
    operation, merchant_side, allowed, own_merchant, wallet, open_account, db
):
    merchant_id, merchant = own_merchant
    person = open_account(balance_cents=5_000)
    sender, recipient = {
        "sender": (merchant_id, person),
        "recipient": (person, merchant_id),
        "none": (person, open_account()),
    }[merchant_side]
    initiator = merchant if sender == merchant_id else wallet
    transfer = initiator.initiate_transfer(sender, recipient, 300)
    call = {"cancel": merchant.cancel_transfer, "get": merchant.get_transfer}[operation]
    if allowed:
        assert call(transfer.transfer_id).transfer_id == transfer.transfer_id
    else:
        assert_refused(
            lambda: call(transfer.transfer_id), errors.PermissionDenied, "PERMISSION_DENIED", db
        )


@pytest.mark.parametrize(
    "initiator, allowed",
    [
        ("wallet", False),
        ("another channel", False),
        ("the same channel", True),
        ("another token of the same channel", True),  # a rotated token sees the same transfers
    ],
)
def test_a_channel_reads_only_the_transfers_it_started(
    initiator, allowed, twitter_channel, wallet, make_token, client_for, open_account, posted_by, db
):
    initiators = {
        "wallet": wallet,
        "another channel": client_for(make_token("channel", channel_name="mastodon")),
        "the same channel": twitter_channel,
        "another token of the same channel": client_for(
            make_token("channel", channel_name="twitter")
        ),
    }
    sender = open_account(balance_cents=1_000)
    from_ = {"wallet": sender, "another channel": posted_by(sender, "mastodon")}.get(
        initiator, posted_by(sender)
    )
    transfer = initiators[initiator].initiate_transfer(from_, open_account(), 100)
    if allowed:
        assert twitter_channel.get_transfer(transfer.transfer_id) == transfer
    else:
        assert_refused(
            lambda: twitter_channel.get_transfer(transfer.transfer_id),
            errors.PermissionDenied,
            "PERMISSION_DENIED",
            db,
        )


def test_a_channel_starts_payments_only_from_the_identity_that_posted(
    twitter_channel, posted_by, open_account, db
):
    """Issue 13, finding 7: a channel token could initiate from any
    from_account_id, and four 250 € holds froze a victim's balance and daily cap."""
    victim, payee = open_account(balance_cents=100_000, tier="VERIFIED"), open_account()
    assert_refused(
        lambda: twitter_channel.initiate_transfer(victim, payee, 25_000),
        errors.PermissionDenied,
        "PERMISSION_DENIED",
        db,
    )
    # Another network's identity is not this channel's to speak for.
    mastodon_user = posted_by(victim, "mastodon")
    assert_refused(
        lambda: twitter_channel.initiate_transfer(mastodon_user, payee, 100),
        errors.PermissionDenied,
        "PERMISSION_DENIED",
        db,
    )
    assert twitter_channel.initiate_transfer(posted_by(victim), payee, 100).transfer_id


# (wallet, merchant account, a pending transfer the merchant pays)
WALLET_ON_MERCHANT_MONEY = {
    "GetBalance": lambda wallet, account, transfer: wallet.get_balance(account),
    "ListStatement": lambda wallet, account, transfer: wallet.list_statement(account, a_day_ago()),
    "ChangeCode": lambda wallet, account, transfer: wallet.change_code(
        account, MERCHANT_CODE, "999999"
    ),
    "ListTransfers": lambda wallet, account, transfer: wallet.list_transfers(account),
    "InitiateTransfer": lambda wallet, account, transfer: wallet.initiate_transfer(
        account, transfer.to_account_id, 100
    ),
    "ConfirmTransfer": lambda wallet, account, transfer: wallet.confirm_transfer(
        transfer.transfer_id, MERCHANT_CODE
    ),
    "CancelTransfer": lambda wallet, account, transfer: wallet.cancel_transfer(
        transfer.transfer_id
    ),
}


@pytest.mark.parametrize("call", WALLET_ON_MERCHANT_MONEY.values(), ids=WALLET_ON_MERCHANT_MONEY)
def test_the_wallet_never_reaches_a_merchants_money(call, wallet, own_merchant, open_account, db):
    # Otherwise a wallet token could reset a merchant's code and pay out of it.
    merchant_id, merchant = own_merchant
    transfer = merchant.initiate_transfer(merchant_id, open_account(), 300)
    assert_refused(
        lambda: call(wallet, merchant_id, transfer),
        errors.PermissionDenied,
        "PERMISSION_DENIED",
        db,
    )
    # It still shows the merchant's public face, and pays it.
    assert wallet.get_account(merchant_id).display_name
    payer = open_account(balance_cents=1_000, code=PERSON_CODE)
    payment = wallet.initiate_transfer(payer, merchant_id, 100)
    assert (
        wallet.confirm_transfer(payment.transfer_id, PERSON_CODE).state
        == transfer_pb2.TRANSFER_STATE_COMPLETED
    )


def test_the_wallet_reads_no_transfer_of_merchants_alone(
    wallet, admin, own_merchant, open_account, db
):
    """Issue 13: GetTransfer let a wallet token read any merchant's transfer by id.
    The wallet reads a transfer only when a person or an association is a side of it."""
    merchant_id, merchant = own_merchant
    credit = admin.credit_account(merchant_id, 700).transfer
    between_merchants = merchant.initiate_transfer(merchant_id, open_account("MERCHANT"), 300)
    for transfer in (credit, between_merchants):
        assert_refused(
            lambda t=transfer: wallet.get_transfer(t.transfer_id),
            errors.PermissionDenied,
            "PERMISSION_DENIED",
            db,
        )
        assert merchant.get_transfer(transfer.transfer_id).transfer_id == transfer.transfer_id
    person = open_account()
    paid_by_merchant = merchant.initiate_transfer(merchant_id, person, 200)
    assert wallet.get_transfer(paid_by_merchant.transfer_id).to_account_id == person
    paying_merchant = wallet.initiate_transfer(open_account(balance_cents=500), merchant_id, 200)
    assert wallet.get_transfer(paying_merchant.transfer_id).to_account_id == merchant_id


@pytest.mark.parametrize("kind", ["ASSOCIATION", "MERCHANT"])
def test_the_wallet_opens_person_accounts_only(kind, wallet, admin, db):
    assert_refused(
        lambda: wallet.open_account(kind, "Not a person", PERSON_CODE),
        errors.PermissionDenied,
        "PERMISSION_DENIED",
        db,
    )
    assert admin.open_account(
        kind, "Opened by the operator", PERSON_CODE
    ).kind == account_pb2.AccountKind.Value(f"ACCOUNT_KIND_{kind}")
    assert wallet.open_account("PERSON", "A person", PERSON_CODE).account_id


@pytest.mark.parametrize(
    "refusal", ["channel confirms", "other merchant confirms", "other merchant cancels"]
)
def test_a_refused_confirm_or_cancel_moves_no_money(
    refusal, twitter_channel, wallet, own_merchant, open_account, posted_by
):
    _, other_merchant = own_merchant
    alice, bob = open_account(balance_cents=5_000, code=PERSON_CODE), open_account()
    transfer = twitter_channel.initiate_transfer(posted_by(alice), bob, 1_200)
    refused_call = {
        # The channel has the right code too: still refused, the code is for the wallet app.
        "channel confirms": lambda: twitter_channel.confirm_transfer(
            transfer.transfer_id, PERSON_CODE
        ),
        "other merchant confirms": lambda: other_merchant.confirm_transfer(
            transfer.transfer_id, PERSON_CODE
        ),
        "other merchant cancels": lambda: other_merchant.cancel_transfer(transfer.transfer_id),
    }[refusal]
    with pytest.raises(errors.PermissionDenied):
        refused_call()
    assert (
        wallet.get_transfer(transfer.transfer_id).state
        == transfer_pb2.TRANSFER_STATE_PENDING_CONFIRMATION
    )
    assert money_of(wallet, alice) == (5_000, 1_200, 3_800)
    assert money_of(wallet, bob) == (0, 0, 0)
    # The transfer is untouched: its owner can still confirm it.
    assert (
        wallet.confirm_transfer(transfer.transfer_id, PERSON_CODE).state
        == transfer_pb2.TRANSFER_STATE_COMPLETED
    )
    assert money_of(wallet, bob) == (1_200, 0, 1_200)


# Public services


def test_health_checking_needs_no_token(grpc_channel):
    health = health_pb2_grpc.HealthStub(grpc_channel)
    for service in ("", "envoi.v1.AccountService", "envoi.v1.TransferService"):
        assert (
            health.Check(health_pb2.HealthCheckRequest(service=service), timeout=10).status
            == health_pb2.HealthCheckResponse.SERVING
        )


def test_reflection_needs_no_token(grpc_channel):
    reflection = reflection_pb2_grpc.ServerReflectionStub(grpc_channel)
    responses = reflection.ServerReflectionInfo(
        iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=10
    )
    listed = {
        service.name
        for response in responses
        for service in response.list_services_response.service
    }
    assert {"envoi.v1.AccountService", "envoi.v1.TransferService"} <= listed
