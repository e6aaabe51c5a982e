"""Every error reason of envoi.client.errors, provoked through a real gRPC call.

Each case checks the wire (gRPC code, exactly one ErrorInfo in domain "envoi",
a BadRequest for the INVALID_ARGUMENT family), the typed exception the client
makes of it, and that the failed call left the ledger as it was.

Not provoked here: INTERNAL (only an unexpected server bug raises it, and a
test that could trigger one would be a bug report) and UNAVAILABLE (it needs
the database to go away under a running server; the client's retry of it is
a transport matter). UNAUTHENTICATED and PERMISSION_DENIED get one simple
case each; the roles tests cover who may call what. TRANSFER_EXPIRED needs a
short confirmation timeout: tests/test_expiry_errors.py.
"""

import math
import re
import types
import uuid
from pathlib import Path

import grpc
import pytest
from error_status import SPEC, assert_envoi_error, bearer, expect_failure, failed_call, ledger_state

from envoi.client import errors
from envoi.core import config
from envoi.core.config import Settings
from envoi.core.testing import TEST_CODE_KEY, TEST_PROVIDER_ENV
from envoi.providers import signatures
from envoi.providers.sandbox import bank_transfers, callbacks, cards
from envoi.v1 import (
    account_pb2,
    account_service_pb2_grpc,
    collection_pb2,
    funding_service_pb2_grpc,
    identity_pb2,
    money_pb2,
    payout_pb2,
    payout_service_pb2_grpc,
    top_up_pb2,
    transfer_pb2,
    transfer_service_pb2_grpc,
)
from envoi.v1 import (
    account_service_pb2 as accounts_pb,
)
from envoi.v1 import (
    funding_service_pb2 as funding_pb,
)
from envoi.v1 import (
    payout_service_pb2 as payouts_pb,
)
from envoi.v1 import (
    transfer_service_pb2 as transfers_pb,
)

ERRORS_DOC = Path(__file__).resolve().parent.parent / "docs" / "errors.md"
SANDBOX_SECRET = TEST_PROVIDER_ENV["ENVOI_SANDBOX_WEBHOOK_SECRET"].encode()


@pytest.fixture(scope="module")
def settings(database_url):
    # USD too, so that a USD account can be opened and paid in the wrong currency.
    return Settings(database_url=database_url, code_key=TEST_CODE_KEY, currencies=("EUR", "USD"))


@pytest.fixture(scope="module")
def rpc(grpc_channel):
    """The generated stubs' methods, called directly to see the raw status."""
    accounts = account_service_pb2_grpc.AccountServiceStub(grpc_channel)
    transfers = transfer_service_pb2_grpc.TransferServiceStub(grpc_channel)
    funding = funding_service_pb2_grpc.FundingServiceStub(grpc_channel)
    payouts = payout_service_pb2_grpc.PayoutServiceStub(grpc_channel)
    return types.SimpleNamespace(
        **{
            name: getattr(stub, name)
            for stub in (accounts, transfers, funding, payouts)
            for name in dir(stub)
            if name[0].isupper()
        }
    )


@pytest.fixture(scope="module")
def auth(make_token):
    """Bearer metadata per role."""
    return types.SimpleNamespace(
        wallet=bearer(make_token("wallet")),
        admin=bearer(make_token("admin")),
        channel=bearer(make_token("channel", channel_name="twitter")),
    )


@pytest.fixture(scope="module")
def parties(open_account, wallet):
    """Alice (funded) and Bob, EUR persons, and a pending transfer between them."""
    alice = open_account(balance_cents=100_000)
    bob = open_account()
    pending = wallet.initiate_transfer(alice, bob, 100).transfer_id
    return types.SimpleNamespace(alice=alice, bob=bob, pending=pending)


def new_request_id() -> str:
    return f"test-errors:{uuid.uuid4()}"


def money(amount_cents, currency_code="EUR") -> money_pb2.Money:
    return money_pb2.Money(currency_code=currency_code, amount_cents=amount_cents)


def unknown_id() -> str:
    return str(uuid.uuid4())


# Valid requests, one field changed per case (**changes).


def initiate(p, **changes):
    fields = dict(
        request_id=new_request_id(),
        from_account_id=p.alice,
        to_account_id=p.bob,
        amount=money(100),
        memo="lunch",
    )
    return transfers_pb.InitiateTransferRequest(**{**fields, **changes})


def confirm(p, **changes):
    fields = dict(request_id=new_request_id(), transfer_id=p.pending, code="123456")
    return transfers_pb.ConfirmTransferRequest(**{**fields, **changes})


def cancel(p, **changes):
    fields = dict(request_id=new_request_id(), transfer_id=p.pending)
    return transfers_pb.CancelTransferRequest(**{**fields, **changes})


def get_transfer(p, **changes):
    return transfers_pb.GetTransferRequest(**{"transfer_id": p.pending, **changes})


def list_transfers(p, **changes):
    return transfers_pb.ListTransfersRequest(**{"account_id": p.alice, **changes})


def open_account_request(p, **changes):
    fields = dict(
        request_id=new_request_id(),
        kind=account_pb2.ACCOUNT_KIND_PERSON,
        display_name="Zoé",
        code="123456",
        currency_code="EUR",
    )
    return accounts_pb.OpenAccountRequest(**{**fields, **changes})


def get_account(p, **changes):
    return accounts_pb.GetAccountRequest(**{"account_id": p.alice, **changes})


def get_balance(p, **changes):
    return accounts_pb.GetBalanceRequest(**{"account_id": p.alice, **changes})


def change_code(p, **changes):
    fields = dict(
        request_id=new_request_id(), account_id=p.alice, current_code="123456", new_code="123456"
    )
    return accounts_pb.ChangeCodeRequest(**{**fields, **changes})


def credit(p, **changes):
    fields = dict(request_id=new_request_id(), account_id=p.alice, amount=money(100), memo="")
    return accounts_pb.CreditAccountRequest(**{**fields, **changes})


def top_up(p, **changes):
    fields = dict(
        request_id=new_request_id(),
        account_id=p.alice,
        amount=money(100),
        provider="sandbox",
        card_token=cards.tokenize_card(cards.SUCCEEDS),
    )
    return funding_pb.TopUpRequest(**{**fields, **changes})


def withdraw(p, **changes):
    fields = dict(
        request_id=new_request_id(),
        account_id=p.alice,
        amount=money(100),
        iban=bank_transfers.SETTLES,
        beneficiary_name="Alice",
        code="123456",
        provider="sandbox",
    )
    return payouts_pb.WithdrawRequest(**{**fields, **changes})


def complete_top_up(p, payload_and_signature, **changes):
    payload, signature = payload_and_signature
    fields = dict(
        request_id=new_request_id(), provider="sandbox", payload=payload, signature=signature
    )
    return funding_pb.CompleteTopUpRequest(**{**fields, **changes})


def complete_payout(p, payload_and_signature, **changes):
    payload, signature = payload_and_signature
    fields = dict(
        request_id=new_request_id(), provider="sandbox", payload=payload, signature=signature
    )
    return payouts_pb.CompletePayoutRequest(**{**fields, **changes})


def signed_garbage() -> tuple[bytes, str]:
    """Signed with the sandbox's secret, but not a callback the sandbox sends."""
    return b"not json", signatures.sign(SANDBOX_SECRET, b"not json")


MAX_AMOUNT_CENTS = 10**15
ALL_INITIATE_FIELDS = [
    "request_id",
    "from_account_id",
    "to_account_id",
    "amount.amount_cents",
    "amount.currency_code",
    "memo",
]

# (method, role, request(parties), the fields its BadRequest must name)
INVALID_REQUESTS = {
    "initiate: no request_id": (
        "InitiateTransfer",
        "wallet",
        lambda p: initiate(p, request_id=""),
        ["request_id"],
    ),
    "initiate: request_id of 129 characters": (
        "InitiateTransfer",
        "wallet",
        lambda p: initiate(p, request_id="r" * 129),
        ["request_id"],
    ),
    "initiate: request_id not ASCII": (
        "InitiateTransfer",
        "wallet",
        lambda p: initiate(p, request_id="café"),
        ["request_id"],
    ),
    "initiate: from_account_id not an id": (
        "InitiateTransfer",
        "wallet",
        lambda p: initiate(p, from_account_id="alice"),
        ["from_account_id"],
    ),
    "initiate: from_account_id in braces": (
        "InitiateTransfer",
        "wallet",
        lambda p: initiate(p, from_account_id="{%s}" % p.alice),
        ["from_account_id"],
    ),
    # Ids are the lower-case form the server returns. Upper case used to pass,
    # and then an account paying itself (ids compared as strings) got INTERNAL.
    "initiate: to_account_id in upper case": (
        "InitiateTransfer",
        "wallet",
        lambda p: initiate(p, to_account_id=p.bob.upper()),
        ["to_account_id"],
    ),
    "initiate: to itself, in upper case": (
        "InitiateTransfer",
        "wallet",
        lambda p: initiate(p, to_account_id=p.alice.upper()),
        ["to_account_id"],
    ),
    "initiate: no to_account_id": (
        "InitiateTransfer",
        "wallet",
        lambda p: initiate(p, to_account_id=""),
        ["to_account_id"],
    ),
    "initiate: zero amount": (
        "InitiateTransfer",
        "wallet",
        lambda p: initiate(p, amount=money(0)),
        ["amount.amount_cents"],
    ),
    "initiate: negative amount": (
        "InitiateTransfer",
        "wallet",
        lambda p: initiate(p, amount=money(-100)),
        ["amount.amount_cents"],
    ),
    "initiate: amount above 10^15": (
        "InitiateTransfer",
        "wallet",
        lambda p: initiate(p, amount=money(MAX_AMOUNT_CENTS + 1)),
        ["amount.amount_cents"],
    ),
    "initiate: unknown currency": (
        "InitiateTransfer",
        "wallet",
        lambda p: initiate(p, amount=money(100, "GBP")),
        ["amount.currency_code"],
    ),
    "initiate: lower-case currency": (
        "InitiateTransfer",
        "wallet",
        lambda p: initiate(p, amount=money(100, "eur")),
        ["amount.currency_code"],
    ),
    "initiate: no amount": (
        "InitiateTransfer",
        "wallet",
        lambda p: initiate(p, amount=None),
        ["amount.amount_cents", "amount.currency_code"],
    ),
    "initiate: memo of 281 characters": (
        "InitiateTransfer",
        "wallet",
        lambda p: initiate(p, memo="m" * 281),
        ["memo"],
    ),
    "initiate: memo with a control character": (
        "InitiateTransfer",
        "wallet",
        lambda p: initiate(p, memo="a\nb"),
        ["memo"],
    ),
    # Every problem is reported at once, not the first one only.
    "initiate: every field wrong": (
        "InitiateTransfer",
        "wallet",
        lambda p: transfers_pb.InitiateTransferRequest(
            from_account_id="x", to_account_id="y", amount=money(-1, "XXX"), memo="m" * 281
        ),
        ALL_INITIATE_FIELDS,
    ),
    "confirm: no request_id": (
        "ConfirmTransfer",
        "wallet",
        lambda p: confirm(p, request_id=""),
        ["request_id"],
    ),
    "confirm: transfer_id not an id": (
        "ConfirmTransfer",
        "wallet",
        lambda p: confirm(p, transfer_id="42"),
        ["transfer_id"],
    ),
    "confirm: code of 5 digits": (
        "ConfirmTransfer",
        "wallet",
        lambda p: confirm(p, code="12345"),
        ["code"],
    ),
    "confirm: code of 7 digits": (
        "ConfirmTransfer",
        "wallet",
        lambda p: confirm(p, code="1234567"),
        ["code"],
    ),
    "confirm: code with a letter": (
        "ConfirmTransfer",
        "wallet",
        lambda p: confirm(p, code="12345a"),
        ["code"],
    ),
    "confirm: code in Arabic-Indic digits": (
        "ConfirmTransfer",
        "wallet",
        lambda p: confirm(p, code="١٢٣٤٥٦"),
        ["code"],
    ),
    "confirm: code in full-width digits": (
        "ConfirmTransfer",
        "wallet",
        lambda p: confirm(p, code="１２３４５６"),
        ["code"],
    ),
    "confirm: code with a space": (
        "ConfirmTransfer",
        "wallet",
        lambda p: confirm(p, code=" 12345"),
        ["code"],
    ),
    "confirm: no code": ("ConfirmTransfer", "wallet", lambda p: confirm(p, code=""), ["code"]),
    "cancel: no request_id": (
        "CancelTransfer",
        "wallet",
        lambda p: cancel(p, request_id=""),
        ["request_id"],
    ),
    "cancel: transfer_id not an id": (
        "CancelTransfer",
        "wallet",
        lambda p: cancel(p, transfer_id="nope"),
        ["transfer_id"],
    ),
    "get transfer: no transfer_id": (
        "GetTransfer",
        "wallet",
        lambda p: get_transfer(p, transfer_id=""),
        ["transfer_id"],
    ),
    "get transfer: transfer_id as 32 hex digits": (
        "GetTransfer",
        "wallet",
        lambda p: get_transfer(p, transfer_id=p.pending.replace("-", "")),
        ["transfer_id"],
    ),
    "list: account_id not an id": (
        "ListTransfers",
        "wallet",
        lambda p: list_transfers(p, account_id="me"),
        ["account_id"],
    ),
    "list: negative page_size": (
        "ListTransfers",
        "wallet",
        lambda p: list_transfers(p, page_size=-1),
        ["page_size"],
    ),
    "list: page_size 501": (
        "ListTransfers",
        "wallet",
        lambda p: list_transfers(p, page_size=501),
        ["page_size"],
    ),
    "list: unknown state number": (
        "ListTransfers",
        "wallet",
        lambda p: list_transfers(p, states=[2, 99]),
        ["states"],
    ),
    "list: state UNSPECIFIED": (
        "ListTransfers",
        "wallet",
        lambda p: list_transfers(p, states=[0]),
        ["states"],
    ),
    "list: unknown direction number": (
        "ListTransfers",
        "wallet",
        lambda p: list_transfers(p, direction=7),
        ["direction"],
    ),
    "open: no request_id": (
        "OpenAccount",
        "wallet",
        lambda p: open_account_request(p, request_id=""),
        ["request_id"],
    ),
    "open: kind UNSPECIFIED": (
        "OpenAccount",
        "wallet",
        lambda p: open_account_request(p, kind=0),
        ["kind"],
    ),
    "open: kind SYSTEM": (
        "OpenAccount",
        "wallet",
        lambda p: open_account_request(p, kind=account_pb2.ACCOUNT_KIND_SYSTEM),
        ["kind"],
    ),
    "open: unknown kind number": (
        "OpenAccount",
        "wallet",
        lambda p: open_account_request(p, kind=99),
        ["kind"],
    ),
    "open: empty display_name": (
        "OpenAccount",
        "wallet",
        lambda p: open_account_request(p, display_name=""),
        ["display_name"],
    ),
    "open: blank display_name": (
        "OpenAccount",
        "wallet",
        lambda p: open_account_request(p, display_name="   "),
        ["display_name"],
    ),
    "open: display_name of 101 characters": (
        "OpenAccount",
        "wallet",
        lambda p: open_account_request(p, display_name="d" * 101),
        ["display_name"],
    ),
    "open: code with a letter": (
        "OpenAccount",
        "wallet",
        lambda p: open_account_request(p, code="12345a"),
        ["code"],
    ),
    "open: code in Arabic-Indic digits": (
        "OpenAccount",
        "wallet",
        lambda p: open_account_request(p, code="١٢٣٤٥٦"),
        ["code"],
    ),
    "open: unknown currency": (
        "OpenAccount",
        "wallet",
        lambda p: open_account_request(p, currency_code="GBP"),
        ["currency_code"],
    ),
    "get account: account_id not an id": (
        "GetAccount",
        "wallet",
        lambda p: get_account(p, account_id="1"),
        ["account_id"],
    ),
    "get balance: no account_id": (
        "GetBalance",
        "wallet",
        lambda p: get_balance(p, account_id=""),
        ["account_id"],
    ),
    "get balance: account_id in upper case": (
        "GetBalance",
        "wallet",
        lambda p: get_balance(p, account_id=p.alice.upper()),
        ["account_id"],
    ),
    "change code: no request_id": (
        "ChangeCode",
        "wallet",
        lambda p: change_code(p, request_id=""),
        ["request_id"],
    ),
    "change code: account_id not an id": (
        "ChangeCode",
        "wallet",
        lambda p: change_code(p, account_id="alice"),
        ["account_id"],
    ),
    "change code: no current_code": (
        "ChangeCode",
        "wallet",
        lambda p: change_code(p, current_code=""),
        ["current_code"],
    ),
    "change code: new_code in Arabic-Indic digits": (
        "ChangeCode",
        "wallet",
        lambda p: change_code(p, new_code="١٢٣٤٥٦"),
        ["new_code"],
    ),
    "credit: no request_id": (
        "CreditAccount",
        "admin",
        lambda p: credit(p, request_id=""),
        ["request_id"],
    ),
    "credit: account_id not an id": (
        "CreditAccount",
        "admin",
        lambda p: credit(p, account_id="alice"),
        ["account_id"],
    ),
    "credit: zero amount": (
        "CreditAccount",
        "admin",
        lambda p: credit(p, amount=money(0)),
        ["amount.amount_cents"],
    ),
    "credit: negative amount": (
        "CreditAccount",
        "admin",
        lambda p: credit(p, amount=money(-5)),
        ["amount.amount_cents"],
    ),
    "credit: unknown currency": (
        "CreditAccount",
        "admin",
        lambda p: credit(p, amount=money(100, "JPY")),
        ["amount.currency_code"],
    ),
    "credit: memo of 281 characters": (
        "CreditAccount",
        "admin",
        lambda p: credit(p, memo="m" * 281),
        ["memo"],
    ),
    "top up: a card number as the token": (
        "TopUp",
        "wallet",
        lambda p: top_up(p, card_token="4242 4242 4242 4242"),
        ["card_token"],
    ),
    "top up: a token the provider did not issue": (
        "TopUp",
        "wallet",
        lambda p: top_up(p, card_token="tok_visa"),
        ["card_token"],
    ),
    "top up: a provider the server does not have": (
        "TopUp",
        "wallet",
        lambda p: top_up(p, provider="stripe"),
        ["provider"],
    ),
    "top up: every field wrong": (
        "TopUp",
        "wallet",
        lambda p: funding_pb.TopUpRequest(account_id="x", amount=money(0, "XXX")),
        [
            "request_id",
            "account_id",
            "amount.amount_cents",
            "amount.currency_code",
            "provider",
            "card_token",
        ],
    ),
    "get top-up: top_up_id not an id": (
        "GetTopUp",
        "wallet",
        lambda p: funding_pb.GetTopUpRequest(top_up_id="1"),
        ["top_up_id"],
    ),
    "complete top-up: no payload, no signature": (
        "CompleteTopUp",
        "wallet",
        lambda p: complete_top_up(p, (b"", "")),
        ["payload", "signature"],
    ),
    "complete top-up: signed, but not a callback": (
        "CompleteTopUp",
        "wallet",
        lambda p: complete_top_up(p, signed_garbage()),
        ["payload"],
    ),
    "withdraw: an IBAN with wrong check digits": (
        "Withdraw",
        "wallet",
        lambda p: withdraw(p, iban="DE89370400440532013001"),
        ["iban"],
    ),
    "withdraw: beneficiary_name of 71 characters": (
        "Withdraw",
        "wallet",
        lambda p: withdraw(p, beneficiary_name="b" * 71),
        ["beneficiary_name"],
    ),
    "withdraw: every field wrong": (
        "Withdraw",
        "wallet",
        lambda p: payouts_pb.WithdrawRequest(
            account_id="x", amount=money(-1, "XXX"), iban="FR00", code="1", provider="bank"
        ),
        [
            "request_id",
            "account_id",
            "amount.amount_cents",
            "amount.currency_code",
            "iban",
            "beneficiary_name",
            "code",
            "provider",
        ],
    ),
    "get payout: payout_id not an id": (
        "GetPayout",
        "wallet",
        lambda p: payouts_pb.GetPayoutRequest(payout_id="payout"),
        ["payout_id"],
    ),
    "complete payout: signed, but not a callback": (
        "CompletePayout",
        "admin",
        lambda p: complete_payout(p, signed_garbage()),
        ["payload"],
    ),
}


def test_the_error_classes_match_the_contract():
    """A reason added, renamed or moved to another code must be noticed here and in the docs."""
    assert {reason: (cls, cls.code) for reason, cls in errors.ERRORS_BY_REASON.items()} == SPEC


@pytest.mark.parametrize("case", INVALID_REQUESTS, ids=str)
def test_invalid_requests_name_each_bad_field(case, rpc, auth, parties, db):
    method, role, make_request, fields = INVALID_REQUESTS[case]
    expect_failure(
        db,
        getattr(rpc, method),
        make_request(parties),
        getattr(auth, role),
        "INVALID_ARGUMENT",
        fields=fields,
    )


def test_values_at_the_limits_are_accepted(wallet, parties, db):
    """The boundaries above are exclusive: one step back is valid."""
    wallet.initiate_transfer(parties.alice, parties.bob, 1, memo="m" * 280, request_id="r" * 128)
    wallet.open_account("PERSON", "d" * 100, "000000")
    assert wallet.list_transfers(parties.alice, page_size=500).transfers


def test_the_client_raises_the_typed_exception(wallet, parties):
    """EnvoiClient turns the status into the class of its reason, catchable by its family."""
    with pytest.raises(errors.InvalidArgument) as raised:
        wallet.initiate_transfer(parties.alice, parties.alice, 100)
    assert type(raised.value) is errors.SelfTransfer
    assert raised.value.field_violations == {"to_account_id": "same as the sender"}
    with pytest.raises(errors.AccountNotFound):
        wallet.get_account(unknown_id())


def test_self_transfer(rpc, auth, parties, db):
    expect_failure(
        db,
        rpc.InitiateTransfer,
        initiate(parties, to_account_id=parties.alice),
        auth.wallet,
        "SELF_TRANSFER",
        fields=["to_account_id"],
    )


def test_currency_mismatch(rpc, auth, parties, open_account, db):
    usd = open_account(currency_code="USD", balance_cents=50_000)
    # EUR to a USD account: the recipient does not hold the amount's currency.
    expect_failure(
        db,
        rpc.InitiateTransfer,
        initiate(parties, to_account_id=usd),
        auth.wallet,
        "CURRENCY_MISMATCH",
        fields=["amount.currency_code"],
    )
    # USD from a EUR account: the sender does not.
    expect_failure(
        db,
        rpc.InitiateTransfer,
        initiate(parties, to_account_id=usd, amount=money(100, "USD")),
        auth.wallet,
        "CURRENCY_MISMATCH",
        fields=["amount.currency_code"],
    )
    # USD from the USD account to a EUR one.
    expect_failure(
        db,
        rpc.InitiateTransfer,
        initiate(parties, from_account_id=usd, amount=money(100, "USD")),
        auth.wallet,
        "CURRENCY_MISMATCH",
        fields=["amount.currency_code"],
    )
    expect_failure(
        db,
        rpc.CreditAccount,
        credit(parties, account_id=usd),
        auth.admin,
        "CURRENCY_MISMATCH",
        fields=["amount.currency_code"],
    )


def test_account_not_found(rpc, auth, parties, db):
    nobody = unknown_id()
    funding_eur = str(
        db.execute(
            "SELECT account_id FROM accounts WHERE kind = 'SYSTEM' AND currency_code = 'EUR'"
        ).fetchone()[0]
    )
    cases = [
        (rpc.GetAccount, get_account(parties, account_id=nobody), auth.wallet),
        (rpc.GetBalance, get_balance(parties, account_id=nobody), auth.wallet),
        (rpc.ChangeCode, change_code(parties, account_id=nobody), auth.wallet),
        (rpc.CreditAccount, credit(parties, account_id=nobody), auth.admin),
        (rpc.ListTransfers, list_transfers(parties, account_id=nobody), auth.wallet),
        (rpc.InitiateTransfer, initiate(parties, to_account_id=nobody), auth.wallet),
        (rpc.InitiateTransfer, initiate(parties, from_account_id=nobody), auth.wallet),
    ]
    for stub_method, request, role_auth in cases:
        expect_failure(
            db,
            stub_method,
            request,
            role_auth,
            "ACCOUNT_NOT_FOUND",
            metadata={"account_id": nobody},
        )
    # System accounts exist but are never shown, nor paid directly.
    expect_failure(
        db,
        rpc.GetAccount,
        get_account(parties, account_id=funding_eur),
        auth.wallet,
        "ACCOUNT_NOT_FOUND",
        metadata={"account_id": funding_eur},
    )
    expect_failure(
        db,
        rpc.InitiateTransfer,
        initiate(parties, to_account_id=funding_eur),
        auth.wallet,
        "ACCOUNT_NOT_FOUND",
        metadata={"account_id": funding_eur},
    )


def test_identity_not_linked(rpc, auth, parties, db):
    stranger = identity_pb2.Identity(
        namespace="twitter", subject_id=f"x{uuid.uuid4().hex[:12]}", handle="stranger"
    )
    metadata = {"namespace": "twitter", "subject_id": stranger.subject_id}
    # A sender must have linked the identity it pays from.
    request = transfers_pb.InitiateTransferRequest(
        request_id=new_request_id(),
        from_identity=stranger,
        to_account_id=parties.bob,
        amount=money(100),
    )
    expect_failure(
        db, rpc.InitiateTransfer, request, auth.channel, "IDENTITY_NOT_LINKED", metadata=metadata
    )
    expect_failure(
        db,
        rpc.ResolveIdentity,
        accounts_pb.ResolveIdentityRequest(identity=stranger),
        auth.channel,
        "IDENTITY_NOT_LINKED",
        metadata={"namespace": "twitter"},
    )
    expect_failure(
        db,
        rpc.UnlinkIdentity,
        accounts_pb.UnlinkIdentityRequest(
            request_id=new_request_id(), account_id=parties.alice, identity=stranger
        ),
        auth.wallet,
        "IDENTITY_NOT_LINKED",
        metadata=metadata,
    )


def test_identity_already_linked(rpc, auth, parties, wallet, db):
    taken = identity_pb2.Identity(
        namespace="twitter", subject_id=f"x{uuid.uuid4().hex[:12]}", handle="taken"
    )
    wallet.link_identity(parties.bob, taken)
    request = accounts_pb.LinkIdentityRequest(
        request_id=new_request_id(), account_id=parties.alice, identity=taken
    )
    expect_failure(
        db,
        rpc.LinkIdentity,
        request,
        auth.wallet,
        "IDENTITY_ALREADY_LINKED",
        metadata={"namespace": "twitter", "subject_id": taken.subject_id},
    )


def test_transfer_not_found(rpc, auth, parties, db):
    nothing = unknown_id()
    for stub_method, request in (
        (rpc.GetTransfer, get_transfer(parties, transfer_id=nothing)),
        (rpc.ConfirmTransfer, confirm(parties, transfer_id=nothing)),
        (rpc.CancelTransfer, cancel(parties, transfer_id=nothing)),
    ):
        expect_failure(
            db,
            stub_method,
            request,
            auth.wallet,
            "TRANSFER_NOT_FOUND",
            metadata={"transfer_id": nothing},
        )


def test_insufficient_funds_counts_held_money(rpc, auth, wallet, open_account, db):
    alice, bob = open_account(balance_cents=1_000), open_account()
    p = types.SimpleNamespace(alice=alice, bob=bob)
    expect_failure(
        db,
        rpc.InitiateTransfer,
        initiate(p, amount=money(1_001)),
        auth.wallet,
        "INSUFFICIENT_FUNDS",
    )
    # 600 held by a pending transfer leaves 400 to spend, though the balance is 1000.
    wallet.initiate_transfer(alice, bob, 600)
    expect_failure(
        db, rpc.InitiateTransfer, initiate(p, amount=money(401)), auth.wallet, "INSUFFICIENT_FUNDS"
    )
    assert wallet.initiate_transfer(alice, bob, 400).amount.amount_cents == 400


@pytest.mark.parametrize(
    "kind, cap_cents", [("PERSON", 25_000), ("ASSOCIATION", 50_000), ("MERCHANT", 50_000)]
)
def test_per_transfer_cap_by_recipient_kind(kind, cap_cents, rpc, auth, wallet, open_account, db):
    p = types.SimpleNamespace(alice=open_account(balance_cents=60_000), bob=open_account(kind))
    expect_failure(
        db,
        rpc.InitiateTransfer,
        initiate(p, amount=money(cap_cents + 1)),
        auth.wallet,
        "LIMIT_EXCEEDED",
        metadata={"limit": "PER_TRANSFER", "limit_cents": str(cap_cents)},
    )
    # The cap itself is allowed.
    assert wallet.initiate_transfer(p.alice, p.bob, cap_cents).amount.amount_cents == cap_cents


def test_daily_cap_counts_pending_and_completed_payments(rpc, auth, wallet, open_account, db):
    # The default daily cap: 100000 cents per sender over any 24 hours.
    p = types.SimpleNamespace(
        alice=open_account(balance_cents=200_000, tier="VERIFIED"), bob=open_account()
    )
    first = wallet.initiate_transfer(p.alice, p.bob, 25_000)
    wallet.confirm_transfer(first.transfer_id, "123456")
    for amount_cents in (25_000, 25_000, 24_000):  # pending: 99000 spent in all
        wallet.initiate_transfer(p.alice, p.bob, amount_cents)
    expect_failure(
        db,
        rpc.InitiateTransfer,
        initiate(p, amount=money(1_001)),
        auth.wallet,
        "LIMIT_EXCEEDED",
        metadata={"limit": "DAILY", "limit_cents": "100000", "remaining_cents": "1000"},
    )
    wallet.initiate_transfer(p.alice, p.bob, 1_000)
    expect_failure(
        db,
        rpc.InitiateTransfer,
        initiate(p, amount=money(1)),
        auth.wallet,
        "LIMIT_EXCEEDED",
        metadata={"limit": "DAILY", "limit_cents": "100000", "remaining_cents": "0"},
    )


def test_wrong_codes_count_attempts_then_lock(rpc, auth, wallet, admin, open_account, db):
    alice, bob = open_account(balance_cents=5_000, code="111111"), open_account()
    transfer = wallet.initiate_transfer(alice, bob, 1_000)
    p = types.SimpleNamespace(alice=alice, bob=bob, pending=transfer.transfer_id)

    first_try = confirm(p, code="999999")
    for attempts_left in (2, 1, 0):
        request = first_try if attempts_left == 2 else confirm(p, code="999999")
        before = ledger_state(db)
        assert_envoi_error(
            failed_call(rpc.ConfirmTransfer, request, auth.wallet),
            "INVALID_CODE",
            metadata={"attempts_left": str(attempts_left)},
        )
        # By design the one change: a counted attempt on the sender, and the
        # answer kept for the request_id. No money moves; the transfer stays pending.
        after = ledger_state(db)
        counted = [
            row[:3] + (row[3] + 1,) + row[4:] if str(row[0]) == alice else row
            for row in before["accounts"]
        ]
        assert after == {
            **before,
            "accounts": counted,
            "idempotency_keys": before["idempotency_keys"] + 1,
        }

    # A retry of the first request_id gets the first answer again and counts nothing.
    expect_failure(
        db,
        rpc.ConfirmTransfer,
        first_try,
        auth.wallet,
        "INVALID_CODE",
        metadata={"attempts_left": "2"},
    )
    # Locked: even the right code is refused, and nothing moves.
    expect_failure(db, rpc.ConfirmTransfer, confirm(p, code="111111"), auth.wallet, "CODE_LOCKED")
    assert (
        wallet.get_transfer(transfer.transfer_id).state
        == transfer_pb2.TRANSFER_STATE_PENDING_CONFIRMATION
    )
    # What the caller is told to do: an admin's ResetCode; once its hold is
    # over (moved into the past here), confirm with a new request_id.
    admin.reset_code(alice, "222222", "test: the owner forgot the code")
    db.execute("UPDATE accounts SET code_hold_end_time = now() WHERE account_id = %s", (alice,))
    confirmed = wallet.confirm_transfer(transfer.transfer_id, "222222")
    assert confirmed.state == transfer_pb2.TRANSFER_STATE_COMPLETED


def test_transfer_not_pending_names_the_state(rpc, auth, wallet, open_account, db):
    alice, bob = open_account(balance_cents=5_000), open_account()
    completed = wallet.initiate_transfer(alice, bob, 100)
    wallet.confirm_transfer(completed.transfer_id, "123456")
    cancelled = wallet.initiate_transfer(alice, bob, 100)
    wallet.cancel_transfer(cancelled.transfer_id)
    funding = next(
        t for t in wallet.iter_transfers(alice) if t.kind == transfer_pb2.TRANSFER_KIND_FUNDING
    )
    for transfer_id, state in (
        (completed.transfer_id, "COMPLETED"),
        (cancelled.transfer_id, "CANCELLED"),
        (funding.transfer_id, "COMPLETED"),
    ):
        p = types.SimpleNamespace(pending=transfer_id)
        for stub_method, request in (
            (rpc.ConfirmTransfer, confirm(p)),
            (rpc.CancelTransfer, cancel(p)),
        ):
            expect_failure(
                db,
                stub_method,
                request,
                auth.wallet,
                "TRANSFER_NOT_PENDING",
                metadata={"transfer_id": transfer_id, "state": state},
            )


def test_invalid_page_token(rpc, auth, wallet, open_account, db):
    alice, bob = open_account(balance_cents=5_000), open_account(balance_cents=5_000)
    for _ in range(3):
        wallet.initiate_transfer(alice, bob, 100)
    token = wallet.list_transfers(alice, page_size=1, direction="OUTGOING").next_page_token
    assert token
    p = types.SimpleNamespace(alice=alice)
    for garbage in ("garbage", "!!!", "djE6MTox", "é", token[:-4]):
        expect_failure(
            db,
            rpc.ListTransfers,
            list_transfers(p, page_token=garbage, direction=2),
            auth.wallet,
            "INVALID_PAGE_TOKEN",
            fields=["page_token"],
        )
    # A real token with other filters than the page it came from.
    for other_filters in (
        dict(direction=1),
        dict(direction=0),
        dict(direction=2, states=[transfer_pb2.TRANSFER_STATE_COMPLETED]),
        dict(direction=2, account_id=bob),
    ):
        expect_failure(
            db,
            rpc.ListTransfers,
            list_transfers(p, page_token=token, **other_filters),
            auth.wallet,
            "INVALID_PAGE_TOKEN",
            fields=["page_token"],
        )
    # The same filters go on; page_size may change between pages.
    next_page = wallet.list_transfers(alice, page_size=5, direction="OUTGOING", page_token=token)
    assert len(next_page.transfers) == 2


def test_idempotency_key_reused(rpc, auth, wallet, parties, db):
    request_id = new_request_id()
    first = wallet.initiate_transfer(parties.alice, parties.bob, 100, request_id=request_id)
    # Same request_id, other amount; then on another method.
    expect_failure(
        db,
        rpc.InitiateTransfer,
        initiate(parties, request_id=request_id, amount=money(200)),
        auth.wallet,
        "IDEMPOTENCY_KEY_REUSED",
        fields=["request_id"],
    )
    expect_failure(
        db,
        rpc.CancelTransfer,
        cancel(parties, request_id=request_id, transfer_id=first.transfer_id),
        auth.wallet,
        "IDEMPOTENCY_KEY_REUSED",
        fields=["request_id"],
    )
    # The same request again is a retry: the first answer, nothing new.
    before = ledger_state(db)
    again = wallet.initiate_transfer(parties.alice, parties.bob, 100, request_id=request_id)
    assert again == first
    assert ledger_state(db) == before


def test_unauthenticated(rpc, parties, db):
    for auth in ((), bearer("envoi_not-a-real-token")):
        expect_failure(db, rpc.InitiateTransfer, initiate(parties), auth, "UNAUTHENTICATED")


def test_permission_denied(rpc, auth, parties, db):
    # A channel may start a payment but never confirm one: only the wallet has the code.
    expect_failure(db, rpc.ConfirmTransfer, confirm(parties), auth.channel, "PERMISSION_DENIED")


# Money in and out: the provider's callbacks.


def test_invalid_signature(rpc, auth, parties, wallet, db):
    pending = wallet.top_up(
        parties.alice, 100, provider="sandbox", card_token=cards.tokenize_card(cards.THREE_D_SECURE)
    )
    forged = callbacks.signed(b"a guess at the secret, 32 bytes or more", "charge.succeeded", "r")
    tampered = (
        b'{"reference": "%s", "type": "charge.succeeded"}' % pending.provider_reference.encode(),
        "00" * 32,
    )
    for payload_and_signature in (forged, tampered):
        expect_failure(
            db,
            rpc.CompleteTopUp,
            complete_top_up(parties, payload_and_signature),
            auth.wallet,
            "INVALID_SIGNATURE",
        )
        expect_failure(
            db,
            rpc.CompletePayout,
            complete_payout(parties, payload_and_signature),
            auth.admin,
            "INVALID_SIGNATURE",
        )


def test_top_up_and_payout_not_found(rpc, auth, parties, db):
    nothing = unknown_id()
    expect_failure(
        db,
        rpc.GetTopUp,
        funding_pb.GetTopUpRequest(top_up_id=nothing),
        auth.wallet,
        "TOP_UP_NOT_FOUND",
        metadata={"top_up_id": nothing},
    )
    expect_failure(
        db,
        rpc.GetPayout,
        payouts_pb.GetPayoutRequest(payout_id=nothing),
        auth.wallet,
        "PAYOUT_NOT_FOUND",
        metadata={"payout_id": nothing},
    )
    # Genuine callbacks about charges and payouts envoi does not know (yet).
    for stub_method, kind, reason in (
        (rpc.CompleteTopUp, "charge.succeeded", "TOP_UP_NOT_FOUND"),
        (rpc.CompletePayout, "payout.settled", "PAYOUT_NOT_FOUND"),
    ):
        request_type = complete_top_up if kind.startswith("charge") else complete_payout
        expect_failure(
            db,
            stub_method,
            request_type(parties, callbacks.signed(SANDBOX_SECRET, kind, "sbx_unknown")),
            auth.wallet,
            reason,
            metadata={"provider": "sandbox", "provider_reference": "sbx_unknown"},
        )


def test_top_up_and_payout_not_pending(rpc, auth, wallet, open_account, db):
    alice = open_account(balance_cents=1_000)
    p = types.SimpleNamespace(alice=alice)
    done = wallet.top_up(
        alice, 100, provider="sandbox", card_token=cards.tokenize_card(cards.SUCCEEDS)
    )
    expect_failure(
        db,
        rpc.CompleteTopUp,
        complete_top_up(
            p,
            callbacks.signed(
                SANDBOX_SECRET, "charge.failed", done.provider_reference, "card_declined"
            ),
        ),
        auth.wallet,
        "TOP_UP_NOT_PENDING",
        metadata={"top_up_id": done.top_up_id, "state": "SUCCEEDED"},
    )
    payout = wallet.withdraw(
        alice,
        100,
        iban=bank_transfers.SETTLES,
        beneficiary_name="Alice",
        code="123456",
        provider="sandbox",
    )
    reference = wallet.get_payout(payout.payout_id).provider_reference
    wallet.complete_payout(
        "sandbox", *callbacks.signed(SANDBOX_SECRET, "payout.settled", reference)
    )
    expect_failure(
        db,
        rpc.CompletePayout,
        complete_payout(
            p, callbacks.signed(SANDBOX_SECRET, "payout.failed", reference, "account_closed")
        ),
        auth.wallet,
        "PAYOUT_NOT_PENDING",
        metadata={"payout_id": payout.payout_id, "state": "SETTLED"},
    )


def test_rate_limited(rpc, auth, parties, wallet, settings, db):
    flooder = identity_pb2.Identity(
        namespace="twitter", subject_id=f"x{uuid.uuid4().hex[:12]}", handle="flooder"
    )
    wallet.link_identity(parties.alice, flooder)

    def payment():
        return transfers_pb.InitiateTransferRequest(
            request_id=new_request_id(),
            from_identity=flooder,
            to_account_id=parties.bob,
            amount=money(1),
        )

    for _ in range(settings.identity_rate_burst):
        rpc.InitiateTransfer(payment(), metadata=auth.channel, timeout=10)
    # The burst is spent in well under a second: the next token is a whole
    # refill period away.
    refill_s = math.ceil(60 / settings.identity_rate_per_min)
    expect_failure(
        db,
        rpc.InitiateTransfer,
        payment(),
        auth.channel,
        "RATE_LIMITED",
        metadata={"retry_after_s": str(refill_s)},
    )


def documented_reasons() -> dict[str, str]:
    """reason -> gRPC code, from the rows of the table in docs/errors.md."""
    rows = re.findall(
        r"^\|\s*`([A-Z_]+)`\s*\|\s*`([A-Z_]+)`\s*\|",
        ERRORS_DOC.read_text(encoding="utf-8"),
        re.MULTILINE,
    )
    assert len(rows) == len(dict(rows)), "a reason has two rows"
    return dict(rows)


def test_the_error_doc_lists_every_reason_with_its_code():
    assert documented_reasons() == {
        reason: cls.code.name for reason, cls in errors.ERRORS_BY_REASON.items()
    }


def test_the_error_doc_names_no_reason_that_does_not_exist():
    # Upper-snake words the doc may name besides reasons: gRPC codes, transfer
    # states, account kinds and tiers, and the names of limits.
    known = (
        set(errors.ERRORS_BY_REASON)
        | {code.name for code in grpc.StatusCode}
        | {name.removeprefix("TRANSFER_STATE_") for name in transfer_pb2.TransferState.keys()}
        | {name.removeprefix("ACCOUNT_KIND_") for name in account_pb2.AccountKind.keys()}
        | {name.removeprefix("ACCOUNT_TIER_") for name in account_pb2.AccountTier.keys()}
        | {name.removeprefix("TOP_UP_STATE_") for name in top_up_pb2.TopUpState.keys()}
        | {name.removeprefix("PAYOUT_STATE_") for name in payout_pb2.PayoutState.keys()}
        | {name.removeprefix("COLLECTION_STATE_") for name in collection_pb2.CollectionState.keys()}
        | {"PER_TRANSFER", "DAILY", "MONTHLY_OUTGOING", "MAX_BALANCE", "API_KEYS", "OPEN_REQUESTS"}
        | {"CHANNEL_PENDING", "WEBHOOK_ENDPOINTS"}
        | {"SHORT_REFERENCE"}  # the envoi command's own (core/cli/api.py)
        # Settings, which `envoi serve --help` lists.
        | {name for name in re.findall(r"ENVOI_[A-Z0-9_]+", config.SETTINGS_HELP)}
    )
    words = set(
        re.findall(
            r"`([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+|[A-Z]{4,})`", ERRORS_DOC.read_text(encoding="utf-8")
        )
    )
    assert words, "the pattern found nothing: the doc changed form"
    assert words - known == set()
